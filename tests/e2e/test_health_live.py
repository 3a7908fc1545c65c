#!/usr/bin/python3
"""Health checks end to end: dplbd checks real TCP listeners (in the test's namespace); a real whose
listener is gone leaves the rotation within delay_loop + (retry+1) x connect_timeout +
retry x delay_before_retry, new flows then avoid it, and it returns when its listener does.
`dplbctl status` and /metrics show the state."""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Wire, check, run  # noqa: E402

VIP = "10.10.0.100"
METRICS_PORT = 20000 + os.getpid() % 1000
# delay_loop 1 + (retry 1 + 1) x connect_timeout 1 + retry 1 x delay_before_retry 1
BOUND = 1 + 2 * 1 + 1 * 1
MARGIN = 2.0


def listener(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, 80))
    s.listen(16)
    return s


def body(lab):
    listeners = {}
    lab.on_close(lambda: [s.close() for s in listeners.values()])
    from scapy.all import Ether, IP, TCP
    # The reals' addresses live on cl0; the director's kernel reaches them over the veth.
    lab.exec_ns("ip", "addr", "add", "10.10.0.2/24", "dev", "lb0")
    for ip in ("10.10.0.11", "10.10.0.12"):
        lab.exec_ns("ip", "addr", "add", ip + "/32", "dev", "cl0")
    listeners["10.10.0.11"] = listener("10.10.0.11")
    reals = ""
    for ip, mac in (("10.10.0.11", "02:00:00:00:00:11"), ("10.10.0.12", "02:00:00:00:00:12")):
        reals += ('      - ip: %s\n        mac: "%s"\n        health_check:\n          type: tcp\n'
                  '          connect_timeout: 1\n          retry: 1\n          delay_before_retry: 1\n' % (ip, mac))
    cfg = ("ports:\n  - name: lan0\n    device: net_af_packet0\n"
           "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
           "control:\n  socket: %s\nmetrics:\n  listen: 127.0.0.1:%d\n" % (lab.sock, METRICS_PORT) +
           "services:\n  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    delay_loop: 1\n"
           "    real_servers:\n%s" % (VIP, reals))
    t0 = time.time()
    lab.start(cfg)
    wire = Wire(lab)

    def wait_for(pred, what, limit):
        start = time.time()
        while time.time() - start < limit:
            if pred():
                took = time.time() - start
                check(took <= limit and pred(), "%s after %.1f s (bound %.1f s)" % (what, took, limit))
                return took
            time.sleep(0.1)
        check(False, what + " within %.1f s:\n%s" % (limit, lab.ctl_ok("status")))

    wait_for(lambda: "10.10.0.12:80 DOWN" in lab.ctl_ok("status"), ".12 (no listener) DOWN", BOUND + MARGIN + (time.time() - t0))
    check("10.10.0.12:80" not in lab.ctl_ok("list"), ".12 left the table")

    sport = [45000]

    def new_flows(n):
        frames = []
        for _ in range(n):
            sport[0] += 1
            frames.append(Ether(dst=lab.lb_mac, src="02:00:00:00:00:aa") / IP(src="192.0.2.7", dst=VIP) /
                          TCP(sport=sport[0], dport=80, flags="S"))
        before = len(wire.got)
        wire.send(frames)
        got = {}
        for p in wire.collect(before + n)[before:]:
            got[p.dst] = got.get(p.dst, 0) + 1
        return got

    # Counts, not just which reals: rr over the reals that are up, every flow forwarded once.
    check(new_flows(6) == {"02:00:00:00:00:11": 6}, "new flows go only to .11 while .12 is down")

    listeners["10.10.0.12"] = listener("10.10.0.12")
    wait_for(lambda: "10.10.0.12:80 up" in lab.ctl_ok("status"), ".12 back UP", 1 + 1 + MARGIN)
    check(new_flows(6) == {"02:00:00:00:00:11": 3, "02:00:00:00:00:12": 3}, "new flows reach both reals again, 3 / 3")

    listeners.pop("10.10.0.11").close()
    wait_for(lambda: "10.10.0.11:80 DOWN" in lab.ctl_ok("status"), ".11 DOWN after its listener closed",
             BOUND + MARGIN)
    check(new_flows(6) == {"02:00:00:00:00:12": 6}, "no new flow goes to .11 once it is down")

    text = lab.scrape(METRICS_PORT)
    check(re.search(r'^dplb_real_up\{[^}]*real="10\.10\.0\.11:80"[^}]*\} 0$', text, re.M) is not None,
          "metrics: dplb_real_up 0 for .11")
    check(re.search(r'^dplb_health_check_duration_seconds_count\{[^}]*real="10\.10\.0\.12:80"[^}]*\} [1-9]',
                    text, re.M) is not None, "metrics: health check duration histogram for .12")
    log = lab.read_log()
    check(log.count("10.10.0.11:80 is DOWN") == 1, "the state change is logged once, with its reason:\n" +
          "\n".join(l for l in log.splitlines() if "health" in l))


if __name__ == "__main__":
    run(body)
