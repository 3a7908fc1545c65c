#!/usr/bin/python3
"""The two-arm director: VIPs on a front segment, real servers on a back segment that only the
director's second port reaches (as IPVS picks the device by the route to the real). The client's
requests reach nginx on the back reals through dplbd's `back` port, their MACs resolved there, and
the replies come back by a router; one real named onto the front port by `egress:` gets nothing,
and its frames leave by the front port; the port counters say which port sent what."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, metric_value, run_site, wait_for  # noqa: E402

FRONT, BACK = "10.34.0.", "10.35.0."
VIP = FRONT + "100"
RS = {"rs1": BACK + "11", "rs2": BACK + "12"}
METRICS = FRONT + "2:9642"

CONFIG = """ports:
  - name: front
    device: net_af_packet0
    addresses: [%s2/24]
  - name: back
    device: net_af_packet1
    addresses: [%s2/24]
conn_table: {ipv4_entries: 4096, ipv6_entries: 1024}
control: {socket: "{socket}"}
metrics: {listen: "%s"}
services:
  - vip: %s
    port: 80
    protocol: tcp
    scheduler: rr
    real_servers:
      - ip: %s
      - ip: %s
  - vip: %s
    port: 8080
    protocol: tcp
    scheduler: rr
    real_servers:
      - {ip: %s, egress: front}
""" % (FRONT, BACK, METRICS, VIP, RS["rs1"], RS["rs2"], VIP, RS["rs1"])


def body(site):
    site.segment("front")
    site.segment("back")
    site.host("client")
    site.attach("client", "front", addrs=[FRONT + "1/24"])
    site.in_ns("client", "ip", "route", "add", BACK + "0/24", "via", FRONT + "254")
    # The replies' way back: a router between the segments, as a DR site has (no reverse-path filter:
    # the replies come from the VIP, which is on the front side).
    site.host("gw", forwarding=True)
    site.attach("gw", "front", addrs=[FRONT + "254/24"])
    site.attach("gw", "back", ifname="eth1", addrs=[BACK + "254/24"])
    for k in ("all", "default", "eth0", "eth1"):
        site.in_ns("gw", "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % k)
    for name, ip in RS.items():
        site.host(name)
        site.attach(name, "back", addrs=[ip + "/24"])
        site.in_ns(name, "ip", "route", "add", "default", "via", BACK + "254")
        site.real_server(name, VIP)
        site.nginx(name, 'listen 80; location / { default_type text/plain; return 200 "%s\\n"; }' % name)
    site.host("lb")
    site.attach("lb", "front", addrs=[FRONT + "2/24"])
    site.attach("lb", "back", ifname="eth1", addrs=[BACK + "2/24"])
    site.start_dplbd("lb", CONFIG, more_ifaces=("eth1",))

    def get(port, n):
        out = []
        for _ in range(n):
            r = site.in_ns("client", "curl", "-s", "-m", "2", "http://%s:%d/" % (VIP, port), check_rc=False)
            out.append(r.stdout.strip() if r.returncode == 0 else "fail(%d)" % r.returncode)
        return out

    last = []

    def both_answer():
        last[:] = get(80, 4)
        return set(last) == {"rs1", "rs2"}
    check(wait_for(both_answer, 20, 0.2), "requests to the VIP reach both back reals through the back port: %s" % last)
    got = get(80, 10)
    check(set(got) == {"rs1", "rs2"} and got.count("rs1") == 5, "ten more, rr over both: %s" % got)

    def tx(port):
        return metric_value(site.scrape(METRICS), "dplb_port_tx_packets_total", port=port) or 0.0
    front_before, back_before = tx("front"), tx("back")
    got = get(8080, 3)
    check(got == ["fail(28)"] * 3, "the real named onto the front port gets nothing there: %s" % got)
    front_after, back_after = tx("front"), tx("back")
    check(front_after - front_before >= 3 and back_after == back_before,
          "its SYNs left by the front port (tx front +%d, back +%d)" % (front_after - front_before,
                                                                       back_after - back_before))
    got = get(80, 2)
    check(set(got) <= {"rs1", "rs2"} and len(got) == 2, "the back reals still answer: %s" % got)
    check(tx("back") > back_after, "and their frames leave by the back port")


if __name__ == "__main__":
    run_site("ta", body)
