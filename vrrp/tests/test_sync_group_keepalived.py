#!/usr/bin/python3
"""vrrp_sync_group against keepalived 2.2 in network namespaces of the test's own. `dp` runs
dplb-vrrpd with two instances in one sync group, VI_1 on lan0 and VI_2 on a second interface lan1;
`ka` runs keepalived with the same two instances in a sync group of its own, both on its lan0; `cl`
watches the wire with tcpdump. dplb has the higher priority and preempts.

  1. keepalived alone becomes MASTER of both; dplb starts and takes both over, together (its group
     goes MASTER once both members want it), and keepalived goes BACKUP for both.
  2. dplb's lan1 goes down: VI_2 FAULT (interface down) pulls VI_1 into FAULT although lan0 is up;
     VI_1 resigns with priority 0 and keepalived becomes MASTER of both routers: on the wire only
     keepalived advertises either VRID, dplb stays silent on VRID 1.
  3. lan1 comes back: the group leaves FAULT, both members go BACKUP, then MASTER together, and
     keepalived goes BACKUP again for both.
Every wait is bounded by the protocol's own intervals plus a margin.

    test_sync_group_keepalived.py PATH/TO/dplb-vrrpd

Exits 77 (skipped) where namespaces cannot be made or keepalived / tcpdump are missing."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_lab import (check, die, Lab, mac_bytes, read_pcap, run_against_keepalived, vrrp_of, wait_for)  # noqa: E402

DP_MAC, DP_MAC1, KA_MAC, CL_MAC = "02:00:00:00:1d:01", "02:00:00:00:1d:02", "02:00:00:00:1a:01", "02:00:00:00:1c:01"
DP_IP, DP_IP1, KA_IP = "10.78.0.2", "10.79.0.2", "10.78.0.3"
VIP1, VIP2 = "10.78.0.100", "10.79.0.100"
VRID1, VRID2 = 51, 52
ADVERT_S = 1.0
MARGIN_S = 1.5


def master_down(priority):
    return 3 * ADVERT_S + (256 - priority) * ADVERT_S / 256


DPLB_YAML = """ports:
  - {name: lan0, device: net_af_packet0, addresses: [%(ip)s/24]}
  - {name: lan1, device: net_af_packet1, addresses: [%(ip1)s/24]}
services:
  - {name: front, vip: %(vip1)s, port: 80, protocol: tcp, real_servers: [{ip: 10.78.0.11}]}
  - {name: back, vip: %(vip2)s, port: 53, protocol: udp, real_servers: [{ip: 10.79.0.11}]}
vrrp_instances:
  - {name: VI_1, interface: lan0, virtual_router_id: %(vrid1)d, priority: 150, advert_int: 1,
     virtual_ipaddresses: [%(vip1)s]}
  - {name: VI_2, interface: lan1, virtual_router_id: %(vrid2)d, priority: 150, advert_int: 1,
     virtual_ipaddresses: [%(vip2)s]}
vrrp_sync_groups:
  - {name: G, instances: [VI_1, VI_2]}
""" % dict(ip=DP_IP, ip1=DP_IP1, vip1=VIP1, vip2=VIP2, vrid1=VRID1, vrid2=VRID2)

KEEPALIVED_CONF = """global_defs {
  router_id syncgroup
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  state BACKUP
  interface lan0
  virtual_router_id %(vrid1)d
  priority 100
  advert_int 1
  virtual_ipaddress {
    %(vip1)s
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface lan0
  virtual_router_id %(vrid2)d
  priority 100
  advert_int 1
  virtual_ipaddress {
    %(vip2)s
  }
}
""" % dict(vip1=VIP1, vip2=VIP2, vrid1=VRID1, vrid2=VRID2)


class SyncGroupLab:
    def __init__(self, vrrpd):
        self.vrrpd = vrrpd
        self.lab = Lab("vsg")
        lab = self.lab
        lab.add_host("dp", DP_MAC, DP_IP + "/24")
        # dp's second interface, on the same bridge: VI_2 lives there and fails with it.
        lab.sh("ip", "link", "add", "lan1", "netns", lab.ns("dp"), "address", DP_MAC1, "type", "veth",
               "peer", "name", "p9", "netns", lab.sw)
        lab.sh("ip", "-n", lab.sw, "link", "set", "p9", "master", "br0")
        lab.sh("ip", "-n", lab.sw, "link", "set", "p9", "up")
        lab.sh("ip", "-n", lab.ns("dp"), "addr", "add", DP_IP1 + "/24", "dev", "lan1")
        lab.sh("ip", "-n", lab.ns("dp"), "link", "set", "lan1", "up")
        lab.add_host("ka", KA_MAC, KA_IP + "/24")
        lab.add_host("cl", CL_MAC, "10.78.0.10/24")
        lab.tcpdump("capture", "cl", "ip proto 112")

    def start_keepalived(self):
        self.ka = self.lab.keepalived("keepalived", "ka", KEEPALIVED_CONF)
        self.lab.keepalived_vrrp_pid("keepalived")

    def start_dplb(self):
        cfg = self.lab.write("dplb.yaml", DPLB_YAML)
        self.dp = self.lab.spawn("dplb", "dp", [self.vrrpd, "--config", cfg])
        if not wait_for(lambda: "ready" in self.lab.log_text("dplb") or self.dp.poll() is not None, 10):
            die("dplb-vrrpd did not start:\n" + self.lab.log_text("dplb"))
        if self.dp.poll() is not None:
            die("dplb-vrrpd exited:\n" + self.lab.log_text("dplb"))

    def dplb_lines(self, name):
        """[(ms, STATE, reason)] of one instance, or of `group G`."""
        out = []
        for line in self.lab.log_text("dplb").splitlines():
            if name.startswith("group "):
                m = re.match(r"(\d+) group (\S+) (INIT|BACKUP|MASTER|FAULT)$", line)
                if m and "group " + m.group(2) == name:
                    out.append((int(m.group(1)), m.group(3), ""))
            else:
                m = re.match(r"(\d+) (\S+) (INIT|BACKUP|MASTER|FAULT) ?(.*)$", line)
                if m and m.group(2) == name:
                    out.append((int(m.group(1)), m.group(3), m.group(4)))
        return out

    def dplb_state(self, name):
        s = self.dplb_lines(name)
        return s[-1][1] if s else None

    def dplb_both(self, state):
        return self.dplb_state("VI_1") == state and self.dplb_state("VI_2") == state

    def ka_entered(self, instance, state):
        return self.lab.log_text("keepalived").count("(%s) Entering %s STATE" % (instance, state))

    def adverts(self, vrid, src_mac, since):
        """[(t, priority)] seen by the client for `vrid` from `src_mac` after `since`."""
        out = []
        for t, f in read_pcap(self.lab.path("capture.pcap")):
            v = vrrp_of(f)
            if t >= since and v and f[6:12] == mac_bytes(src_mac) and len(v[1]) > 3 and v[1][1] == vrid:
                out.append((t, v[1][2]))
        return out

    def run(self):
        lab = self.lab
        # 1. keepalived alone: MASTER of both. dplb (150) preempts both, together.
        self.start_keepalived()
        if not wait_for(lambda: self.ka_entered("VI_1", "MASTER") and self.ka_entered("VI_2", "MASTER"),
                        master_down(100) + 5):
            die("keepalived did not become MASTER:\n" + lab.log_text("keepalived"))
        self.start_dplb()
        if not wait_for(lambda: self.dplb_both("MASTER") and self.dplb_state("group G") == "MASTER",
                        2 * master_down(150) + MARGIN_S):
            die("1: dplb did not take over both:\n" + lab.log_text("dplb"))
        print("ok: 1: dplb is MASTER of VI_1 and VI_2, group G MASTER", flush=True)
        reasons = [r for name in ("VI_1", "VI_2") for _, s, r in self.dplb_lines(name) if s == "MASTER"]
        check(len(reasons) == 2 and all(r.startswith("sync group") for r in reasons),
              "1: both became MASTER by the group's decision: %s" % reasons)
        check(wait_for(lambda: self.ka_entered("VI_1", "BACKUP") and self.ka_entered("VI_2", "BACKUP"), 3),
              "1: keepalived went BACKUP for both")

        # 2. lan1 down: VI_2 FAULT pulls VI_1, whose own link is up, into FAULT.
        t_down = time.time()
        lab.in_ns("dp", "ip", "link", "set", "lan1", "down")
        check(wait_for(lambda: self.dplb_both("FAULT"), 3), "2: both dplb instances FAULT: %s / %s"
              % (self.dplb_lines("VI_1")[-1:], self.dplb_lines("VI_2")[-1:]))
        vi1 = self.dplb_lines("VI_1")[-1][2]
        check("sync group G: VI_2 in FAULT" in vi1, "2: VI_1 is in FAULT because of its group: %r" % vi1)
        check(self.dplb_state("group G") == "FAULT", "2: group G FAULT")
        check(wait_for(lambda: self.ka_entered("VI_1", "MASTER") >= 2 and self.ka_entered("VI_2", "MASTER") >= 2,
                       master_down(100) + MARGIN_S),
              "2: keepalived became MASTER of both again")
        zero = wait_for(lambda: [p for _, p in self.adverts(VRID1, DP_MAC, t_down) if p == 0], 2)
        check(zero, "2: dplb VI_1 resigned with priority 0 on the wire")
        ka1 = wait_for(lambda: self.adverts(VRID1, KA_MAC, t_down), 3)
        ka2 = wait_for(lambda: self.adverts(VRID2, KA_MAC, t_down), 3)
        check(ka1 and ka2, "2: keepalived advertises both VRIDs after the fault (%d, %d adverts)"
              % (len(ka1 or []), len(ka2 or [])))
        time.sleep(2 * ADVERT_S)  # a window in which a wrongly kept MASTER would advertise
        late = [p for t, p in self.adverts(VRID1, DP_MAC, t_down) if p != 0]
        check(not late, "2: dplb sent no VRID %d advert of its own while its group is in FAULT: %s" % (VRID1, late))

        # 3. lan1 up: the group leaves FAULT, and dplb preempts both again, together.
        t_up = time.time()
        lab.in_ns("dp", "ip", "link", "set", "lan1", "up")
        check(wait_for(lambda: self.dplb_both("BACKUP") or self.dplb_both("MASTER"), 3),
              "3: dplb leaves FAULT for both")
        if not wait_for(lambda: self.dplb_both("MASTER") and self.dplb_state("group G") == "MASTER",
                        2 * master_down(150) + MARGIN_S):
            die("3: dplb did not take over both again:\n" + lab.log_text("dplb"))
        states = [s for _, s, _ in self.dplb_lines("group G")]
        check(states[-3:] == ["FAULT", "BACKUP", "MASTER"], "3: group G went FAULT, BACKUP, MASTER: %s" % states)
        check(wait_for(lambda: self.ka_entered("VI_1", "BACKUP") >= 2 and self.ka_entered("VI_2", "BACKUP") >= 2,
                       3), "3: keepalived went BACKUP for both again")
        check(wait_for(lambda: self.adverts(VRID2, DP_MAC1, t_up), 2 * ADVERT_S + MARGIN_S),
              "3: dplb VI_2 advertises again from lan1")

        rc = lab.kill(self.dp, signal.SIGTERM)
        check(rc == 0, "dplb-vrrpd exits 0 on SIGTERM")
        lab.kill(self.ka, signal.SIGTERM, timeout=10)


def main():
    run_against_keepalived(SyncGroupLab, ("keepalived", "tcpdump"))


if __name__ == "__main__":
    main()
