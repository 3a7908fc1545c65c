#!/usr/bin/python3
"""Real servers without a static MAC get theirs from the kernel's neighbour table: dplbd makes the
kernel resolve them (ARP) through the interface that carries its own address, and forwards to the
MAC the real server answered with. A static MAC in the configuration wins."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Wire, check, run  # noqa: E402

VIP = "10.10.0.100"


def body(lab):
    rs_ns = lab.ns + "rs"
    lab.on_close(lambda: subprocess.run(["ip", "netns", "del", rs_ns], capture_output=True))
    from scapy.all import Ether, IP, TCP
    # A real server in a namespace of its own, one veth away from the director's namespace.
    subprocess.run(["ip", "netns", "add", rs_ns], check=True)
    lab.exec_ns("ip", "link", "add", "lbr0", "type", "veth", "peer", "name", "rs0", "netns", rs_ns)
    lab.exec_ns("ip", "addr", "add", "10.10.0.2/24", "dev", "lbr0")
    lab.exec_ns("ip", "link", "set", "lbr0", "up")
    subprocess.run(["ip", "netns", "exec", rs_ns, "ip", "addr", "add", "10.10.0.11/24", "dev", "rs0"], check=True)
    subprocess.run(["ip", "netns", "exec", rs_ns, "ip", "link", "set", "rs0", "up"], check=True)
    rs_mac = subprocess.run(["ip", "netns", "exec", rs_ns, "cat", "/sys/class/net/rs0/address"],
                            capture_output=True, text=True).stdout.strip()
    cfg = ("ports:\n  - name: lan0\n    device: net_af_packet0\n"
           "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
           "control:\n  socket: %s\nmetrics:\n  listen: off\n" % lab.sock +
           "services:\n  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    real_servers:\n"
           "      - ip: 10.10.0.11\n      - ip: 10.10.0.12\n        mac: \"02:00:00:00:00:12\"\n" % VIP)
    lab.start(cfg)
    wire = Wire(lab)

    def macs():
        return {r["ip"]: r["mac"] for r in lab.ctl_json("list")["services"][0]["reals"]}

    import time
    for _ in range(50):  # at most 5 s
        if macs().get("10.10.0.11"):
            break
        time.sleep(0.1)
    m = macs()
    check(m.get("10.10.0.11") == rs_mac, "10.10.0.11 resolved by ARP to %s (real: %s)" % (m.get("10.10.0.11"), rs_mac))
    check(m.get("10.10.0.12") == "02:00:00:00:00:12", "static MAC kept for 10.10.0.12")
    frames = [Ether(dst=lab.lb_mac, src="02:00:00:00:00:aa") / IP(src="192.0.2.1", dst=VIP) /
              TCP(sport=40000 + i, dport=80, flags="S") for i in range(2)]
    wire.send(frames)
    got = {p.dst for p in wire.collect(2) if TCP in p}
    check(got == {rs_mac, "02:00:00:00:00:12"}, "frames go to the resolved and the static MAC: %s" % got)
    check("neighbour 10.10.0.11 is at " + rs_mac in lab.read_log(), "resolution logged")


if __name__ == "__main__":
    run(body)
