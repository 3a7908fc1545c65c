#!/usr/bin/python3
"""IPv6 VIPs are reachable: dplbd answers a neighbour solicitation for an owned IPv6 VIP with a
neighbour advertisement that the kernel accepts (the client's neighbour cache learns dplbd's MAC for
the VIP), and forwards TCP to the VIP's real server."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Wire, check, run  # noqa: E402


def body(lab):
    from scapy.all import Ether, IPv6, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, TCP, raw
    lab.exec_ns("ip", "-6", "addr", "add", "2001:db8::1/64", "dev", "cl0", "nodad")
    cfg = ("ports:\n  - name: lan0\n    device: net_af_packet0\n"
           "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
           "control:\n  socket: %s\nmetrics:\n  listen: off\n" % lab.sock +
           "services:\n  - vip: \"2001:db8::100\"\n    port: 80\n    protocol: tcp\n    scheduler: rr\n"
           "    real_servers:\n      - ip: \"2001:db8::11\"\n        mac: \"02:00:00:00:00:11\"\n")
    lab.start(cfg)
    wire = Wire(lab)
    cl_mac = lab.exec_ns("cat", "/sys/class/net/cl0/address").stdout.strip()
    ns = (Ether(dst="33:33:ff:00:01:00", src=cl_mac) / IPv6(src="2001:db8::1", dst="ff02::1:ff00:100", hlim=255) /
          ICMPv6ND_NS(tgt="2001:db8::100") / ICMPv6NDOptSrcLLAddr(lladdr=cl_mac))
    wire.send([ns])
    got = [p for p in wire.collect(1) if ICMPv6ND_NA in p]
    check(len(got) == 1, "a neighbour advertisement came back")
    na = got[0]
    sent_sum = na[ICMPv6ND_NA].cksum
    na[ICMPv6ND_NA].cksum = None
    check(IPv6(raw(na[IPv6]))[ICMPv6ND_NA].cksum == sent_sum, "its ICMPv6 checksum is right")
    check(na[ICMPv6ND_NA].S == 1 and na[ICMPv6ND_NA].O == 1 and na[ICMPv6ND_NA].tgt == "2001:db8::100"
          and na[IPv6].hlim == 255, "solicited, override, target the VIP, hop limit 255")
    # The kernel's own resolution of the VIP through the same wire.
    lab.exec_ns("ping", "-6", "-c", "1", "-W", "1", "2001:db8::100", check_rc=False)
    neigh = ""
    for _ in range(20):
        neigh = lab.exec_ns("ip", "-6", "neigh", "show", "2001:db8::100", "dev", "cl0").stdout
        if lab.lb_mac in neigh:
            break
        time.sleep(0.1)
    check(lab.lb_mac in neigh, "the client kernel's neighbour cache maps the VIP to dplbd's port: " + neigh.strip())
    before = len(wire.got)
    wire.send([Ether(dst=lab.lb_mac, src=cl_mac) / IPv6(src="2001:db8::1", dst="2001:db8::100") /
               TCP(sport=40000, dport=80, flags="S")])
    fwd = [p for p in wire.collect(before + 1)[before:] if TCP in p]
    check(len(fwd) == 1 and fwd[0].dst == "02:00:00:00:00:11", "a SYN to [2001:db8::100]:80 goes to the real")


if __name__ == "__main__":
    run(body)
