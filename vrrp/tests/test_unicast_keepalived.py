#!/usr/bin/python3
"""Unicast VRRP between dplb's engine (dplb-vrrpd) and keepalived, each the other's only peer
(keepalived's unicast_peer / unicast_src_ip, dplb's unicast_peers / unicast_src_ip), in network
namespaces of the test's own: `dp` runs dplb-vrrpd, `ka` keepalived, `cl` is a client on the same
bridge that also plays a stranger. Two routers at once: VRRPv2 with auth_type PASS for an IPv4
address (dplb's source given by unicast_src_ip), VRRPv3 for an IPv6 one (dplb's source left to its
default, the interface's global address). keepalived runs with check_unicast_src, so it refuses
adverts whose source is not the one it lists for dplb.

  A. keepalived MASTER, dplb BACKUP: dplb stays BACKUP; keepalived is killed (no priority 0); dplb
     takes both addresses within 3 x advert + skew (+ margin) and the client's neighbour entries
     follow its gratuitous ARP / unsolicited NA.
  B. dplb MASTER (with unicast_ttl 64), keepalived BACKUP: keepalived stays BACKUP; the client, not
     a peer, sends dplb a higher-priority advert by unicast (which would make a multicast router
     yield): dplb stays MASTER and counts it refused (not_peer); dplb is killed and keepalived takes
     over in time.
  Throughout, captured on the bridge ports of both directors: every advert goes by unicast to the
  other director, none to 224.0.0.18 / ff02::12, dplb's with TTL / hop limit 255 (64 in B).

    test_unicast_keepalived.py PATH/TO/dplb-vrrpd

Exits 77 (skipped) where namespaces cannot be made or keepalived / tcpdump are missing."""

import os
import re
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_lab import (check, die, is_garp, is_unsolicited_na, Lab, mac_bytes, read_pcap,  # noqa: E402
                       run_against_keepalived, vrrp_of, wait_for)

DP_MAC, KA_MAC, CL_MAC = "02:00:00:00:0d:02", "02:00:00:00:0a:02", "02:00:00:00:0c:02"
DP_IP, KA_IP, CL_IP = "10.78.0.2", "10.78.0.3", "10.78.0.10"
DP_IP6, KA_IP6 = "2001:db8:78::2", "2001:db8:78::3"
VIP4, VIP6 = "10.78.0.100", "2001:db8:78::100"
VRID4, VRID6 = 44, 45
ADVERT_S = 1.0
MARGIN_S = 0.5  # timer and scheduling slack allowed on top of the RFC's figures
PASSWORD = "uni-pass"
UNICAST_TTL_B = 64  # dplb's unicast_ttl in B (keepalived checks no TTL in unicast mode)


def skew(priority):
    return (256 - priority) * ADVERT_S / 256  # RFC 5798 §6.1


def master_down(priority):
    return 3 * ADVERT_S + skew(priority)


def dplb_yaml(priority, state, ttl=None):
    return """ports:
  - name: lan0
    device: net_af_packet0
    addresses: [%(ip)s/24, %(ip6)s/64]
services:
  - name: web4
    vip: %(vip4)s
    port: 80
    protocol: tcp
    real_servers:
      - ip: 10.78.0.11
  - name: web6
    vip: %(vip6)s
    port: 80
    protocol: tcp
    real_servers:
      - ip: 2001:db8:78::11
vrrp_instances:
  - name: VI_4
    interface: lan0
    state: %(state)s
    virtual_router_id: %(vrid4)d
    priority: %(prio)d
    advert_int: 1
    authentication: {type: PASS, password: "%(pw)s"}
    virtual_ipaddresses: [%(vip4)s]
    unicast_src_ip: %(ip)s
    unicast_peers: [%(peer)s]%(ttl)s
  - name: VI_6
    interface: lan0
    state: %(state)s
    virtual_router_id: %(vrid6)d
    priority: %(prio)d
    advert_int: 1
    version: 3
    virtual_ipaddresses: [%(vip6)s]
    unicast_peers: [%(peer6)s]%(ttl)s
""" % dict(ip=DP_IP, ip6=DP_IP6, vip4=VIP4, vip6=VIP6, vrid4=VRID4, vrid6=VRID6, prio=priority, state=state,
           peer=KA_IP, peer6=KA_IP6, pw=PASSWORD, ttl="\n    unicast_ttl: %d" % ttl if ttl else "")


def keepalived_conf(priority, state):
    return """global_defs {
  router_id unicast
}
vrrp_instance VI_4 {
  state %(state)s
  interface lan0
  virtual_router_id %(vrid4)d
  priority %(prio)d
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass %(pw)s
  }
  unicast_src_ip %(ip)s
  check_unicast_src
  unicast_peer {
    %(peer)s
  }
  virtual_ipaddress {
    %(vip4)s
  }
}
vrrp_instance VI_6 {
  state %(state)s
  version 3
  interface lan0
  virtual_router_id %(vrid6)d
  priority %(prio)d
  advert_int 1
  unicast_src_ip %(ip6)s
  check_unicast_src
  unicast_peer {
    %(peer6)s
  }
  virtual_ipaddress {
    %(vip6)s
  }
}
""" % dict(ip=KA_IP, ip6=KA_IP6, vip4=VIP4, vip6=VIP6, vrid4=VRID4, vrid6=VRID6, prio=priority, state=state,
           peer=DP_IP, peer6=DP_IP6, pw=PASSWORD)


def ip_bytes(ip):
    return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)


def dst_of(frame):
    """The IP destination address (bytes) of an IPv4 or IPv6 frame."""
    et = struct.unpack("!H", frame[12:14])[0]
    return frame[30:34] if et == 0x0800 else frame[38:54]


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def stranger_advert_v2(priority):
    """A VRRPv2 advert for VI_4 (RFC 3768 §5.1), right password and addresses, from a non-peer."""
    head = struct.pack("!BBBBBBH", 0x21, VRID4, priority, 1, 1, 1, 0) + ip_bytes(VIP4)
    pw = PASSWORD.encode()[:8].ljust(8, b"\0")
    body = head + pw
    csum = inet_checksum(body)
    return body[:6] + struct.pack("!H", csum) + body[8:]


# Run inside the client's namespace: sends the advert to dplb by unicast with TTL 255, as a peer would.
SEND_STRANGER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
payload = bytes.fromhex(sys.argv[2])
for _ in range(int(sys.argv[3])):
    s.sendto(payload, (sys.argv[1], 0))
"""


class Unicast:
    def __init__(self, vrrpd):
        self.vrrpd = vrrpd
        self.lab = Lab("vru")
        lab = self.lab
        lab.add_host("dp", DP_MAC, DP_IP + "/24", DP_IP6 + "/64")  # bridge port p1
        lab.add_host("ka", KA_MAC, KA_IP + "/24", KA_IP6 + "/64")  # p2
        lab.add_host("cl", CL_MAC, CL_IP + "/24", "2001:db8:78::10/64")  # p3
        for h in ("dp", "ka", "cl"):
            lab.wait_link_local(h)
        # Unicast frames between the directors never reach the client's port once the bridge has
        # learnt their MACs: capture on the directors' own bridge ports.
        self.captures = {"dp": self.port_capture("cap_dp", "p1"), "ka": self.port_capture("cap_ka", "p2")}
        self.dp = self.ka = None
        self.dp_runs = self.ka_runs = 0
        self.takeovers = []

    def port_capture(self, label, port):
        lab = self.lab
        p = lab.spawn(label, "sw", ["tcpdump", "-i", port, "-U", "-n", "-w", lab.path(label + ".pcap"),
                                    "arp or ip proto 112 or ip6 proto 112 or icmp6"])
        if not wait_for(lambda: "listening on" in lab.log_text(label) or p.poll() is not None, 10):
            die("tcpdump did not start: " + lab.log_text(label))
        if p.poll() is not None:
            die("tcpdump exited: " + lab.log_text(label))
        return lab.path(label + ".pcap")

    # --- processes ------------------------------------------------------------------------------

    def start_dplb(self, priority, state, ttl=None):
        self.dp_runs += 1
        label = "dplb%d" % self.dp_runs
        cfg = self.lab.write(label + ".yaml", dplb_yaml(priority, state, ttl))
        self.dp = self.lab.spawn(label, "dp", [self.vrrpd, "--config", cfg])
        self.dp_label = label
        if not wait_for(lambda: "ready" in self.lab.log_text(label) or self.dp.poll() is not None, 10):
            die("dplb-vrrpd did not start:\n" + self.lab.log_text(label))
        if self.dp.poll() is not None:
            die("dplb-vrrpd exited:\n" + self.lab.log_text(label))

    def start_keepalived(self, priority, state):
        self.ka_runs += 1
        label = "keepalived%d" % self.ka_runs
        self.ka = self.lab.keepalived(label, "ka", keepalived_conf(priority, state))
        self.ka_label = label
        self.ka_vrrp = self.lab.keepalived_vrrp_pid(label)

    def kill_keepalived_hard(self):
        """SIGKILL to keepalived's VRRP process (then its parent): no priority 0, a dead master."""
        os.kill(self.ka_vrrp, signal.SIGKILL)
        self.lab.kill(self.ka, signal.SIGKILL)

    def dplb_states(self, instance):
        out = []
        for line in self.lab.log_text(self.dp_label).splitlines():
            m = re.match(r"(\d+) (\S+) (INIT|BACKUP|MASTER|FAULT)\b", line)
            if m and m.group(2) == instance:
                out.append((int(m.group(1)), m.group(3)))
        return out

    def dplb_state(self, instance):
        s = self.dplb_states(instance)
        return s[-1][1] if s else None

    def dplb_counters(self):
        """{instance: {counter: value}} from the last counters lines dplb-vrrpd printed (SIGUSR1)."""
        out = {}
        for line in self.lab.log_text(self.dp_label).splitlines():
            if line.startswith("counters "):
                parts = line.split()
                out[parts[1]] = dict(kv.split("=") for kv in parts[2:])
        return out

    def ka_entered(self, instance, state):
        return self.lab.log_text(self.ka_label).count("(%s) Entering %s STATE" % (instance, state))

    # --- what the bridge saw --------------------------------------------------------------------

    def frames(self, who):
        return read_pcap(self.captures[who])

    def adverts(self, who, vrid, since=0.0):
        """[(t, priority, dst bytes, ttl)] of adverts for `vrid` sent by director `who`."""
        mac = mac_bytes(DP_MAC if who == "dp" else KA_MAC)
        out = []
        for t, f in self.frames(who):
            v = vrrp_of(f)
            if t >= since and v and f[6:12] == mac and len(v[1]) > 3 and v[1][1] == vrid:
                out.append((t, v[1][2], dst_of(f), v[2]))
        return out

    def announcements(self, who, since):
        mac = mac_bytes(DP_MAC if who == "dp" else KA_MAC)
        fr = [(t, f) for t, f in self.frames(who) if t >= since and f[6:12] == mac]
        garps = [t for t, f in fr if is_garp(f, ip_bytes(VIP4))]
        nas = [t for t, f in fr if is_unsolicited_na(f, ip_bytes(VIP6))]
        return garps, nas

    def neighbour(self, vip):
        out = self.lab.in_ns("cl", "ip", "neigh", "show", vip, "dev", "lan0").stdout
        m = re.search(r"lladdr ([0-9a-f:]{17})", out)
        return m.group(1) if m else None

    # --- checks ---------------------------------------------------------------------------------

    def check_unicast_only(self, what, t_b):
        """Every advert either director sent went to the other one, none to the group; dplb's with
        TTL / hop limit 255 in A (unicast_ttl's default, keepalived's too), UNICAST_TTL_B from `t_b`."""
        for who, peer4, peer6 in (("dp", KA_IP, KA_IP6), ("ka", DP_IP, DP_IP6)):
            for vrid, peer in ((VRID4, peer4), (VRID6, peer6)):
                ads = self.adverts(who, vrid)
                wrong = sorted({socket.inet_ntop(socket.AF_INET6 if len(d) == 16 else socket.AF_INET, d)
                                for _, _, d, _ in ads if d != ip_bytes(peer)})
                check(ads and not wrong, "%s: %d adverts of %s for VRID %d, all to %s, none to the group %s"
                      % (what, len(ads), "dplb" if who == "dp" else "keepalived", vrid, peer, wrong or ""))
                if who == "dp":
                    ttl_a = sorted({ttl for t, _, _, ttl in ads if t < t_b})
                    ttl_b = sorted({ttl for t, _, _, ttl in ads if t >= t_b})
                    check(ttl_a == [255] and ttl_b == [UNICAST_TTL_B],
                          "%s: dplb's adverts for VRID %d go with TTL / hop limit 255 by default (%s), "
                          "unicast_ttl %d when given (%s)" % (what, vrid, ttl_a, UNICAST_TTL_B, ttl_b))

    def check_takeover(self, what, old, new, new_prio, t_stop):
        """The new master's first adverts follow the old master's last ones within
        Master_Down_Interval (+ margin), and come with gratuitous ARP / NA the client follows."""
        bound = master_down(new_prio) + MARGIN_S
        for vrid, vip, name in ((VRID4, VIP4, "IPv4/VRRPv2"), (VRID6, VIP6, "IPv6/VRRPv3")):
            first = wait_for(lambda: [a for a in self.adverts(new, vrid, since=t_stop) if a[1] > 0], bound + 3)
            if not first:
                die("%s %s: no advert from the new master within %.1f s" % (what, name, bound + 3))
            t_new = first[0][0]
            old_ads = [t for t, p, _, _ in self.adverts(old, vrid, since=t_stop - 3) if t < t_new and p > 0]
            t_old = max(old_ads or [t_stop])
            took = t_new - t_old
            print("takeover %s %s: %.3f s after the old master's last advert; bound %.3f s" % (what, name, took, bound),
                  flush=True)
            self.takeovers.append((what, name, took))
            check(3 * ADVERT_S - 0.1 <= took <= bound, "%s %s: taken over after 3 x advert + skew (%.3f <= %.3f s)"
                  % (what, name, took, bound))
            index = 0 if vip == VIP4 else 1
            wait_for(lambda: len(self.announcements(new, t_new - 0.01)[index]) >= 5, 2)
            got = self.announcements(new, t_new - 0.01)[index]
            check(len(got) >= 5, "%s %s: the new master announced %s %d times" % (what, name, vip, len(got)))
            entry = wait_for(lambda: self.neighbour(vip) == (DP_MAC if new == "dp" else KA_MAC), 3)
            check(entry, "%s %s: the client's neighbour entry for %s follows the new master (now %s)"
                  % (what, name, vip, self.neighbour(vip)))

    def send_stranger(self, priority, count):
        script = self.lab.write("stranger.py", SEND_STRANGER)
        self.lab.in_ns("cl", "/usr/bin/python3", script, DP_IP, stranger_advert_v2(priority).hex(), str(count))

    def run(self):
        lab = self.lab

        # A. keepalived MASTER (150) + dplb BACKUP (100), then keepalived dies.
        self.start_keepalived(150, "MASTER")
        if not wait_for(lambda: self.ka_entered("VI_4", "MASTER") and self.ka_entered("VI_6", "MASTER"), 10):
            die("keepalived did not become MASTER:\n" + lab.log_text(self.ka_label))
        self.start_dplb(100, "BACKUP")
        # Long enough for dplb to take over if it did not hear keepalived's unicast adverts.
        deadline = time.monotonic() + master_down(100) + 1.0
        wait_for(lambda: self.dplb_state("VI_4") == "MASTER" or self.dplb_state("VI_6") == "MASTER",
                 deadline - time.monotonic())
        for inst in ("VI_4", "VI_6"):
            check(self.dplb_states(inst) and all(s == "BACKUP" for _, s in self.dplb_states(inst)),
                  "A: dplb %s stays BACKUP behind keepalived's unicast adverts: %s" % (inst, self.dplb_states(inst)))
        lab.in_ns("cl", "ping", "-c", "1", "-W", "2", VIP4, check_rc=False)
        lab.in_ns("cl", "ping", "-6", "-c", "1", "-W", "2", VIP6, check_rc=False)
        check(self.neighbour(VIP4) == KA_MAC and self.neighbour(VIP6) == KA_MAC,
              "A: the client reaches both vips at keepalived's MAC")
        t_stop = time.time()
        self.kill_keepalived_hard()
        if not wait_for(lambda: self.dplb_state("VI_4") == "MASTER" and self.dplb_state("VI_6") == "MASTER",
                        master_down(100) + 3):
            die("A: dplb did not become MASTER:\n" + lab.log_text(self.dp_label))
        self.check_takeover("A keepalived->dplb", "ka", "dp", 100, t_stop)
        lab.kill(self.dp, signal.SIGTERM)
        counters = self.dplb_counters()
        for inst in ("VI_4", "VI_6/v6" if "VI_6/v6" in counters else "VI_6"):
            c = counters.get(inst, {})
            bad = {k: v for k, v in c.items() if k in ("bad_checksum", "bad_version", "bad_ttl", "auth_fail",
                   "interval_mismatch", "address_mismatch", "truncated", "send_errors", "not_peer",
                   "bad_destination") and v != "0"}
            check(c and int(c["accepted"]) > 0 and not bad,
                  "A: dplb %s accepted %s of keepalived's unicast adverts, refused none %s"
                  % (inst, c.get("accepted"), bad or ""))

        # B. dplb MASTER (150) + keepalived BACKUP (100); a stranger's advert; then dplb dies.
        for vip in (VIP4, VIP6):
            lab.in_ns("cl", "ip", "neigh", "replace", vip, "lladdr", "02:00:00:00:ee:ee", "dev", "lan0", "nud", "stale")
        t_b = time.time()
        self.start_dplb(150, "MASTER", UNICAST_TTL_B)
        if not wait_for(lambda: self.dplb_state("VI_4") == "MASTER" and self.dplb_state("VI_6") == "MASTER",
                        master_down(150) + 2):
            die("B: dplb did not become MASTER:\n" + lab.log_text(self.dp_label))
        self.start_keepalived(100, "BACKUP")
        if not wait_for(lambda: self.ka_entered("VI_4", "BACKUP") and self.ka_entered("VI_6", "BACKUP"), 10):
            die("B: keepalived did not start as BACKUP:\n" + lab.log_text(self.ka_label))
        deadline = time.monotonic() + master_down(100) + 1.0
        wait_for(lambda: self.ka_entered("VI_4", "MASTER") or self.ka_entered("VI_6", "MASTER"),
                 deadline - time.monotonic())
        check(not self.ka_entered("VI_4", "MASTER") and not self.ka_entered("VI_6", "MASTER"),
              "B: keepalived (check_unicast_src) stays BACKUP behind dplb's unicast adverts")
        check(wait_for(lambda: self.neighbour(VIP4) == DP_MAC and self.neighbour(VIP6) == DP_MAC, 3),
              "B: dplb's gratuitous ARP / NA gave the client dplb's MAC for both vips")
        # The stranger: priority 254 > 150, right VRID, password and addresses, TTL 255, to dplb.
        self.send_stranger(254, 3)

        def refused():
            self.dp.send_signal(signal.SIGUSR1)  # prints the counters
            time.sleep(0.1)
            return int(self.dplb_counters().get("VI_4", {}).get("not_peer", "0")) >= 3
        check(wait_for(refused, 3), "B: dplb counted the stranger's 3 adverts as not from a peer: %s"
              % self.dplb_counters().get("VI_4"))
        states = [s for _, s in self.dplb_states("VI_4")]
        check(states[states.index("MASTER"):] == ["MASTER"],
              "B: dplb stays MASTER of VI_4 after a higher-priority advert from a non-peer: %s" % states)
        t_stop = time.time()
        lab.kill(self.dp, signal.SIGKILL)
        if not wait_for(lambda: self.ka_entered("VI_4", "MASTER") and self.ka_entered("VI_6", "MASTER"),
                        master_down(100) + 3):
            die("B: keepalived did not become MASTER:\n" + lab.log_text(self.ka_label))
        self.check_takeover("B dplb->keepalived", "dp", "ka", 100, t_stop)
        ka_log = lab.log_text(self.ka_label)
        check("not a unicast peer" not in ka_log and "Expected unicast packet" not in ka_log,
              "B: keepalived refused none of dplb's adverts (source, destination)")
        self.check_unicast_only("A+B", t_b)
        lab.kill(self.ka, signal.SIGTERM, timeout=10)
        print("takeover times: " + "; ".join("%s %s %.3f s" % t for t in self.takeovers), flush=True)


def main():
    run_against_keepalived(Unicast, ("keepalived", "tcpdump", "ping"))


if __name__ == "__main__":
    main()
