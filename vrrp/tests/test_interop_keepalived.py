#!/usr/bin/python3
"""Interop of dplb's VRRP engine (dplb-vrrpd) with keepalived in network namespaces of the test's own:
`dp` runs dplb-vrrpd, `ka` keepalived, `cl` is a client that watches with tcpdump; all three on one
bridge. Two routers run at once, with the same VRIDs on both sides: VRRPv2 with auth_type PASS for
an IPv4 address, VRRPv3 for an IPv6 one.

  A. keepalived MASTER, dplb BACKUP: dplb stays BACKUP (it accepts keepalived's adverts); keepalived
     is killed (no priority 0); dplb takes both addresses within 3 x advert + skew (+ margin), sends
     gratuitous ARP / unsolicited NA, and the client's neighbour entries point to dplb.
  B. dplb MASTER, keepalived BACKUP: the same the other way round.
  C. dplb preempts keepalived; a fault of its own (set_fault) and then a clean stop each send
     priority 0, and keepalived takes over within Skew_Time.
  Along the way dplb goes FAULT while its interface is down, and counts no refused advert.

    test_interop_keepalived.py PATH/TO/dplb-vrrpd

Exits 77 (skipped) where namespaces cannot be made or keepalived / tcpdump are missing."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_lab import (check, die, is_garp, is_unsolicited_na, Lab, mac_bytes, read_pcap,  # noqa: E402
                       run_against_keepalived, vrrp_of, wait_for)

DP_MAC, KA_MAC, CL_MAC = "02:00:00:00:0d:01", "02:00:00:00:0a:01", "02:00:00:00:0c:01"
DP_IP, KA_IP = "10.77.0.2", "10.77.0.3"
VIP4, VIP6 = "10.77.0.100", "2001:db8:77::100"
VRID4, VRID6 = 42, 43
ADVERT_S = 1.0
MARGIN_S = 0.5  # timer and scheduling slack allowed on top of the RFC's figures


def skew(priority):
    return (256 - priority) * ADVERT_S / 256  # RFC 5798 §6.1


def master_down(priority):
    return 3 * ADVERT_S + skew(priority)


def dplb_yaml(priority, state):
    return """ports:
  - name: lan0
    device: net_af_packet0
    addresses: [%(ip)s/24, 2001:db8:77::2/64]
services:
  - name: web4
    vip: %(vip4)s
    port: 80
    protocol: tcp
    real_servers:
      - ip: 10.77.0.11
  - name: web6
    vip: %(vip6)s
    port: 80
    protocol: tcp
    real_servers:
      - ip: 2001:db8:77::11
vrrp_instances:
  - name: VI_4
    interface: lan0
    state: %(state)s
    virtual_router_id: %(vrid4)d
    priority: %(prio)d
    advert_int: 1
    authentication: {type: PASS, password: "interop-pass"}
    virtual_ipaddresses: [%(vip4)s]
  - name: VI_6
    interface: lan0
    state: %(state)s
    virtual_router_id: %(vrid6)d
    priority: %(prio)d
    advert_int: 1
    version: 3
    virtual_ipaddresses: [%(vip6)s]
""" % dict(ip=DP_IP, vip4=VIP4, vip6=VIP6, vrid4=VRID4, vrid6=VRID6, prio=priority, state=state)


def keepalived_conf(priority, state):
    return """global_defs {
  router_id interop
}
vrrp_instance VI_4 {
  state %(state)s
  interface lan0
  virtual_router_id %(vrid4)d
  priority %(prio)d
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass interop-pass
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
  virtual_ipaddress {
    %(vip6)s
  }
}
""" % dict(vip4=VIP4, vip6=VIP6, vrid4=VRID4, vrid6=VRID6, prio=priority, state=state)


class Interop:
    def __init__(self, vrrpd):
        self.vrrpd = vrrpd
        self.lab = Lab("vri")
        lab = self.lab
        lab.add_host("dp", DP_MAC, DP_IP + "/24", "2001:db8:77::2/64")
        lab.add_host("ka", KA_MAC, KA_IP + "/24", "2001:db8:77::3/64")
        lab.add_host("cl", CL_MAC, "10.77.0.10/24", "2001:db8:77::10/64")
        for h in ("dp", "ka", "cl"):
            lab.wait_link_local(h)
        lab.tcpdump("capture", "cl", "arp or ip proto 112 or ip6 proto 112 or icmp6")
        self.dp = self.ka = None
        self.dp_runs = 0
        self.ka_runs = 0

    # --- processes ------------------------------------------------------------------------------

    def start_dplb(self, priority, state):
        self.dp_runs += 1
        label = "dplb%d" % self.dp_runs
        cfg = self.lab.write(label + ".yaml", dplb_yaml(priority, state))
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
        """[(ms, STATE)] from dplb-vrrpd's output for one instance (VI_4 or VI_6)."""
        out = []
        for line in self.lab.log_text(self.dp_label).splitlines():
            m = re.match(r"(\d+) (\S+) (INIT|BACKUP|MASTER|FAULT)\b", line)
            if m and m.group(2) == instance:
                out.append((int(m.group(1)), m.group(3)))
        return out

    def dplb_state(self, instance):
        s = self.dplb_states(instance)
        return s[-1][1] if s else None

    def ka_entered(self, instance, state):
        return self.lab.log_text(self.ka_label).count("(%s) Entering %s STATE" % (instance, state))

    # --- what the client saw --------------------------------------------------------------------

    def frames(self):
        return read_pcap(self.lab.path("capture.pcap"))

    def adverts(self, vrid, src_mac, since=0.0):
        """[(t, priority)] of adverts for `vrid` from the host with `src_mac`, after `since`."""
        out = []
        for t, f in self.frames():
            v = vrrp_of(f)
            if t >= since and v and f[6:12] == mac_bytes(src_mac) and len(v[1]) > 3 and v[1][1] == vrid:
                out.append((t, v[1][2]))
        return out

    def announcements(self, src_mac, since):
        garps = [t for t, f in self.frames() if t >= since and f[6:12] == mac_bytes(src_mac)
                 and is_garp(f, bytes(int(x) for x in VIP4.split(".")))]
        nas = [t for t, f in self.frames() if t >= since and f[6:12] == mac_bytes(src_mac)
               and is_unsolicited_na(f, bytes.fromhex("20010db8007700000000000000000100"))]
        return garps, nas

    def neighbour(self, vip):
        out = self.lab.in_ns("cl", "ip", "neigh", "show", vip, "dev", "lan0").stdout
        m = re.search(r"lladdr ([0-9a-f:]{17})", out)
        return m.group(1) if m else None

    # --- checks ---------------------------------------------------------------------------------

    def check_takeover(self, what, old_mac, new_mac, old_prio, new_prio, t_stop, graceful):
        """The new master's first adverts follow the old master's last ones within the RFC's bound,
        come with gratuitous ARP / NA, and the client's entries move to the new master."""
        bound = (skew(new_prio) if graceful else master_down(new_prio)) + MARGIN_S
        for vrid, vip, name in ((VRID4, VIP4, "IPv4/VRRPv2"), (VRID6, VIP6, "IPv6/VRRPv3")):
            first = wait_for(lambda: self.adverts(vrid, new_mac, since=t_stop), bound + 3)
            if not first:
                die("%s %s: no advert from the new master within %.1f s" % (what, name, bound + 3))
            t_new = first[0][0]
            old = [(t, p) for t, p in self.adverts(vrid, old_mac, since=t_stop - 3) if t < t_new]
            # Graceful: the old master's priority-0 advert starts the clock; else its last advert.
            zero = [t for t, p in old if p == 0 and t >= t_stop - 0.05]
            t_old = zero[0] if graceful and zero else max([t for t, p in old if p != 0] or [t_stop])
            took = t_new - t_old
            print("takeover %s %s: %.3f s after the old master's %s (%.3f s after it was stopped); bound %.3f s"
                  % (what, name, took, "priority 0" if graceful else "last advert", t_new - t_stop, bound),
                  flush=True)
            self.takeovers.append((what, name, took))
            if graceful:
                check(zero, "%s %s: the old master sent priority 0" % (what, name))
            check(took <= bound, "%s %s: taken over within %s + margin (%.3f <= %.3f s)"
                  % (what, name, "Skew_Time" if graceful else "3 x advert + skew", took, bound))
            if not graceful:
                check(took >= 3 * ADVERT_S - 0.1, "%s %s: not before the Master_Down_Interval (%.3f s)"
                      % (what, name, took))
            check(t_new - t_stop <= bound + (0 if graceful else ADVERT_S),
                  "%s %s: new master within the bound of the stop (%.3f s)" % (what, name, t_new - t_stop))
            wait_for(lambda: len(self.announcements(new_mac, t_new - 0.01)[0 if vip == VIP4 else 1]) >= 5, 2)
            garps, nas = self.announcements(new_mac, t_new - 0.01)
            got = garps if vip == VIP4 else nas
            check(len(got) >= 5 and got[0] - t_new < 0.5,
                  "%s %s: the client saw %d %s from the new master, the first %.0f ms after its advert"
                  % (what, name, len(got), "gratuitous ARPs" if vip == VIP4 else "unsolicited NAs",
                     ((got[0] - t_new) * 1000) if got else -1))
            entry = wait_for(lambda: self.neighbour(vip) == new_mac, 3)
            check(entry, "%s %s: the client's neighbour entry for %s points to the new master %s (now %s)"
                  % (what, name, vip, new_mac, self.neighbour(vip)))

    def run(self):
        lab = self.lab
        self.takeovers = []

        # A. keepalived MASTER (150) + dplb BACKUP (100), then keepalived dies.
        self.start_keepalived(150, "MASTER")
        if not wait_for(lambda: self.ka_entered("VI_4", "MASTER") and self.ka_entered("VI_6", "MASTER"), 10):
            die("keepalived did not become MASTER:\n" + lab.log_text(self.ka_label))
        check(self.ka_entered("VI_4", "MASTER") > 0 and self.ka_entered("VI_6", "MASTER") > 0,
              "A: keepalived is MASTER of both routers")
        self.start_dplb(100, "BACKUP")
        time.sleep(master_down(100) + 1.0)  # long enough for dplb to take over if it ignored keepalived
        for inst in ("VI_4", "VI_6"):
            check(self.dplb_states(inst) and all(s == "BACKUP" for _, s in self.dplb_states(inst)),
                  "A: dplb %s stays BACKUP behind keepalived for %.1f s: %s"
                  % (inst, master_down(100) + 1.0, self.dplb_states(inst)))
        # dplb's own interface going down puts it in FAULT, coming back up in BACKUP again.
        lab.in_ns("dp", "ip", "link", "set", "lan0", "down")
        check(wait_for(lambda: self.dplb_state("VI_4") == "FAULT" and self.dplb_state("VI_6") == "FAULT", 3),
              "A: dplb goes FAULT when its interface goes down")
        lab.in_ns("dp", "ip", "link", "set", "lan0", "up")
        check(wait_for(lambda: self.dplb_state("VI_4") == "BACKUP" and self.dplb_state("VI_6") == "BACKUP", 3),
              "A: and BACKUP when it comes back")
        lab.wait_link_local("dp")
        # The client talks to the vips, so it has keepalived's MAC for them.
        lab.in_ns("cl", "ping", "-c", "1", "-W", "2", VIP4, check_rc=False)
        lab.in_ns("cl", "ping", "-6", "-c", "1", "-W", "2", VIP6, check_rc=False)
        check(self.neighbour(VIP4) == KA_MAC and self.neighbour(VIP6) == KA_MAC,
              "A: the client reaches both vips at keepalived's MAC")
        t_stop = time.time()
        self.kill_keepalived_hard()
        if not wait_for(lambda: self.dplb_state("VI_4") == "MASTER" and self.dplb_state("VI_6") == "MASTER",
                        master_down(100) + 3):
            die("A: dplb did not become MASTER:\n" + lab.log_text(self.dp_label))
        self.check_takeover("A keepalived->dplb", KA_MAC, DP_MAC, 150, 100, t_stop, graceful=False)
        lab.kill(self.dp, signal.SIGTERM)

        # B. dplb MASTER (150) + keepalived BACKUP (100), then dplb dies.
        # The client's entries point elsewhere; only dplb's announcements can fix them (a host keeps
        # no entry from an unsolicited announcement it has no entry for, so one is planted).
        for vip in (VIP4, VIP6):
            lab.in_ns("cl", "ip", "neigh", "replace", vip, "lladdr", "02:00:00:00:ee:ee", "dev", "lan0", "nud", "stale")
        self.start_dplb(150, "MASTER")
        if not wait_for(lambda: self.dplb_state("VI_4") == "MASTER" and self.dplb_state("VI_6") == "MASTER",
                        master_down(150) + 2):
            die("B: dplb did not become MASTER:\n" + lab.log_text(self.dp_label))
        check(self.dplb_state("VI_4") == "MASTER" and self.dplb_state("VI_6") == "MASTER",
              "B: dplb is MASTER of both routers")
        self.start_keepalived(100, "BACKUP")
        time.sleep(master_down(100) + 1.0)
        check(self.ka_entered("VI_4", "BACKUP") and self.ka_entered("VI_6", "BACKUP")
              and not self.ka_entered("VI_4", "MASTER") and not self.ka_entered("VI_6", "MASTER"),
              "B: keepalived stays BACKUP behind dplb for %.1f s" % (master_down(100) + 1.0))
        check(wait_for(lambda: self.neighbour(VIP4) == DP_MAC and self.neighbour(VIP6) == DP_MAC, 3),
              "B: dplb's gratuitous ARP / NA gave the client dplb's MAC for both vips")
        t_stop = time.time()
        lab.kill(self.dp, signal.SIGKILL)
        if not wait_for(lambda: self.ka_entered("VI_4", "MASTER") and self.ka_entered("VI_6", "MASTER"),
                        master_down(100) + 3):
            die("B: keepalived did not become MASTER:\n" + lab.log_text(self.ka_label))
        self.check_takeover("B dplb->keepalived", DP_MAC, KA_MAC, 150, 100, t_stop, graceful=False)

        # C. dplb (150) comes back and preempts keepalived (100), then stops cleanly: priority 0.
        self.start_dplb(150, "BACKUP")
        if not wait_for(lambda: self.dplb_state("VI_4") == "MASTER" and self.dplb_state("VI_6") == "MASTER",
                        master_down(150) + 3):
            die("C: dplb did not preempt keepalived:\n" + lab.log_text(self.dp_label))
        check(wait_for(lambda: self.ka_entered("VI_4", "BACKUP") >= 2 and self.ka_entered("VI_6", "BACKUP") >= 2, 3),
              "C: dplb preempts, keepalived goes back to BACKUP")
        # A fault of dplb's own (what a failed track_services would cause): priority 0, keepalived
        # takes over within Skew_Time; when it clears, dplb preempts again.
        time.sleep(1.5)
        t_stop = time.time()
        self.dp.send_signal(signal.SIGUSR2)
        check(wait_for(lambda: self.dplb_state("VI_4") == "FAULT" and self.dplb_state("VI_6") == "FAULT", 3),
              "C: dplb goes FAULT on an external fault")
        self.check_takeover("C dplb fault->keepalived (priority 0)", DP_MAC, KA_MAC, 150, 100, t_stop, graceful=True)
        self.dp.send_signal(signal.SIGUSR2)
        if not wait_for(lambda: self.dplb_state("VI_4") == "MASTER" and self.dplb_state("VI_6") == "MASTER",
                        master_down(150) + 3):
            die("C: dplb did not take over again once its fault cleared:\n" + lab.log_text(self.dp_label))
        check(wait_for(lambda: self.neighbour(VIP4) == DP_MAC and self.neighbour(VIP6) == DP_MAC, 3),
              "C: fault cleared, dplb preempts again and the client follows")
        time.sleep(1.5)
        t_stop = time.time()
        rc = lab.kill(self.dp, signal.SIGTERM)
        check(rc == 0, "C: dplb-vrrpd exits 0 on SIGTERM")
        self.check_takeover("C dplb->keepalived (priority 0)", DP_MAC, KA_MAC, 150, 100, t_stop, graceful=True)

        # What dplb counted in C: keepalived's adverts all accepted, none refused.
        counters = [l for l in lab.log_text(self.dp_label).splitlines() if l.startswith("counters ")]
        check(len(counters) == 2, "C: dplb-vrrpd printed its counters")
        for line in counters:
            fields = dict(kv.split("=") for kv in line.split()[2:])
            bad = {k: v for k, v in fields.items()
                   if k in ("bad_checksum", "bad_version", "bad_ttl", "auth_fail", "interval_mismatch",
                            "address_mismatch", "truncated", "send_errors") and v != "0"}
            check(int(fields["accepted"]) > 0 and not bad,
                  "C: %s accepted %s adverts from keepalived, refused none %s" % (line.split()[1], fields["accepted"],
                                                                                  bad or ""))
        lab.kill(self.ka, signal.SIGTERM, timeout=10)
        print("takeover times: " + "; ".join("%s %s %.3f s" % t for t in self.takeovers), flush=True)


def main():
    run_against_keepalived(Interop, ("keepalived", "tcpdump", "ping"))


if __name__ == "__main__":
    main()
