#!/usr/bin/python3
"""The real dplbd on a net_af_packet port in a namespace of its own, driven over the wire with scapy
and over its control socket with dplbctl:
- `dplbctl list` is byte for byte the ipvsadm -Ln layout; --stats, --connections, --json agree;
- reload (dplbctl and SIGHUP) under traffic: a bad file changes nothing; a good one applies and no
  established connection changes real, a removed real keeps its connections (drain);
- `dplbctl weight` / `drain`; /metrics scraped over HTTP and parsed."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Wire, check, run, parse_metrics  # noqa: E402

VIP = "10.10.0.100"
RS = {"10.10.0.11": "02:00:00:00:00:11", "10.10.0.12": "02:00:00:00:00:12", "10.10.0.13": "02:00:00:00:00:13"}
METRICS_PORT = 19000 + os.getpid() % 1000


def config(reals, lab, extra=""):
    rs = "".join('      - ip: %s\n        mac: "%s"\n        weight: %d\n' % (ip, RS[ip], w) for ip, w in reals)
    return ("ports:\n  - name: lan0\n    device: net_af_packet0\n"
            "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
            "control:\n  socket: %s\n" % lab.sock +
            "metrics:\n  listen: 127.0.0.1:%d\n" % METRICS_PORT + extra +
            "services:\n  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    real_servers:\n%s"
            % (VIP, rs))




def body(lab):
    from scapy.all import Ether, IP, TCP
    lab.start(config([("10.10.0.11", 1), ("10.10.0.12", 1)], lab))
    wire = Wire(lab)
    mac_to_ip = {v: k for k, v in RS.items()}

    def pkt(sport, flags):
        return Ether(dst=lab.lb_mac, src="02:00:00:00:00:aa") / IP(src="192.0.2.1", dst=VIP) / \
            TCP(sport=sport, dport=80, flags=flags)

    def send_and_map(frames):
        """Sends frames; returns {sport: [real ip of each forwarded frame]}."""
        before = len(wire.got)
        wire.send(frames)
        got = wire.collect(before + len(frames))[before:]
        out = {}
        for p in got:
            if TCP in p:
                out.setdefault(p[TCP].sport, []).append(mac_to_ip.get(p.dst, p.dst))
        return out

    # Four established connections (rr: .11, .12, .11, .12) and two SYN+FIN ones left in TIME_WAIT.
    est = [41000, 41001, 41002, 41003]
    first = send_and_map([pkt(s, "S") for s in est] + [pkt(s, "A") for s in est])
    check(sorted(first) == est and all(len(set(v)) == 1 for v in first.values()),
          "4 established flows forwarded, each to one real: %s" % first)
    owner = {s: first[s][0] for s in est}
    short = send_and_map([pkt(42000, "S"), pkt(42001, "S"), pkt(42000, "FA"), pkt(42001, "FA")])
    check(len(short) == 2, "2 short flows forwarded")

    listing = lab.ctl_ok("list")
    # size= is the entries the workers' tables hold: 4096 IPv4 + 1024 IPv6 per worker.
    size = 5120 * lab.ctl_json("status")["workers"]
    expected = ("IP Virtual Server version 1.2.1 (size=%d)\n" % size +
                "Prot LocalAddress:Port Scheduler Flags\n"
                "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
                "TCP  10.10.0.100:80 rr\n"
                "  -> 10.10.0.11:80                Route   1      2          1         \n"
                "  -> 10.10.0.12:80                Route   1      2          1         \n")
    check(listing == expected, "dplbctl list is the ipvsadm -Ln layout:\n" + listing)
    j = lab.ctl_json("list")
    reals = {r["ip"]: r for r in j["services"][0]["reals"]}
    check(reals["10.10.0.11"]["active_conns"] == 2 and reals["10.10.0.11"]["inactive_conns"] == 1,
          "list --json agrees")
    stats = lab.ctl_ok("list", "--stats")
    check(re.search(r"^TCP  10\.10\.0\.100:80\s+6\s+12\s+0\s+\d+\s+0$", stats, re.M) is not None,
          "list --stats: 6 conns, 12 packets, OutPkts 0 (DR):\n" + stats)
    conns = lab.ctl_ok("list", "--connections")
    check(conns.startswith("IPVS connection entries\npro expire state       source             virtual"
                           "            destination\n") and conns.count("ESTABLISHED") == 4 and
          conns.count("TIME_WAIT") == 2, "list --connections: 4 ESTABLISHED, 2 TIME_WAIT (SYN then FIN):\n" + conns)
    check("Timeout (tcp tcpfin udp): 900 120 300" in lab.ctl_ok("timeouts"), "timeouts shows IPVS defaults")
    check(oct(os.stat(lab.sock).st_mode & 0o777) == "0o600", "control socket mode 0600")
    rate = lab.ctl_ok("list", "--rate")
    check("Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n" in rate,
          "list --rate has ipvsadm's columns")
    check(lab.ctl_json("list", "--connections")["connections"][0]["state"] in ("ESTABLISHED", "TIME_WAIT"),
          "list --connections --json")
    check(lab.ctl_json("status")["reals"][0]["health"] == "up", "status --json shows health")

    # A bad file changes nothing.
    good = open(lab.config).read()
    lab.write("lb.yaml", good.replace("weight: 1", "weight: ten", 1))
    r = lab.ctl("reload")
    check(r.returncode != 0 and "weight: expected integer" in r.stderr, "bad reload refused: " + r.stderr.strip())
    check(lab.ctl_ok("list") == expected, "running configuration unchanged after the bad reload")

    # Remove .12, add .13, and reload under traffic: established flows keep their real.
    lab.write("lb.yaml", config([("10.10.0.11", 1), ("10.10.0.13", 1)], lab))
    r = lab.ctl("reload")
    check(r.returncode == 0, "reload with .12 removed and .13 added: " + r.stdout.strip() + r.stderr.strip())
    after = send_and_map([pkt(s, "A") for s in est])
    check(all(after.get(s) == [owner[s]] for s in est),
          "after reload every established flow kept its real (removed .12 drains): %s" % after)
    listing = lab.ctl_ok("list")
    check("10.10.0.13:80" in listing and "10.10.0.12:80" not in listing, "list shows .11 and .13:\n" + listing)
    new = send_and_map([pkt(43000, "S"), pkt(43001, "S"), pkt(43002, "S")])
    check(set(v[0] for v in new.values()) == {"10.10.0.11", "10.10.0.13"}, "new flows go to .11 and .13 only")

    # SIGHUP reloads too.
    lab.write("lb.yaml", config([("10.10.0.11", 3), ("10.10.0.13", 1)], lab))
    lab.proc.send_signal(signal.SIGHUP)
    for _ in range(50):
        if "Route   3" in lab.ctl_ok("list"):
            break
        time.sleep(0.1)
    check("10.10.0.11:80                Route   3" in lab.ctl_ok("list"), "SIGHUP reload applied weight 3")

    # Operator weight and drain.
    lab.ctl_ok("weight", "10.10.0.100:80", "10.10.0.13:80", "7")
    check("10.10.0.13:80                Route   7" in lab.ctl_ok("list"), "dplbctl weight sets 7")
    lab.ctl_ok("drain", "10.10.0.13:80")
    check("10.10.0.13:80                Route   0" in lab.ctl_ok("list"), "dplbctl drain sets weight 0")
    r = lab.ctl("weight", "10.10.0.100:80", "10.10.0.99:80", "1")
    check(r.returncode != 0 and "no real server" in r.stderr, "weight on an unknown real is an error")
    r = lab.ctl("frobnicate")
    check(r.returncode != 0 and "unknown command" in r.stderr, "unknown command is an error")

    # Prometheus.
    text = lab.scrape(METRICS_PORT)
    if os.environ.get("DPLB_DEBUG"):
        print(text)
    samples = {(name, tuple(sorted(labels.items()))): v
               for name, series in parse_metrics(text).items() for labels, v in series}
    check(samples.get(("dplb_connections", (("protocol", "tcp"), ("real", "10.10.0.11:80"), ("state", "active"),
                                             ("vip", "10.10.0.100:80")))) == 2.0,
          "metrics: dplb_connections{real=10.10.0.11:80,state=active} 2")
    check(samples.get(("dplb_config_reloads_total", (("result", "success"),))) == 2.0,
          "metrics: 2 successful reloads")
    check(samples.get(("dplb_config_reloads_total", (("result", "failure"),))) == 1.0, "metrics: 1 failed reload")
    check(("dplb_drops_total", (("reason", "tcp_no_conn"),)) in samples, "metrics: drops by reason")
    for fam in ("dplb_connections_total", "dplb_packets_total", "dplb_bytes_total", "dplb_real_up",
                "dplb_port_rx_packets_total", "dplb_port_rx_missed_total"):
        check(re.search(r"^# TYPE %s " % fam, text, re.M) is not None, "metrics: family " + fam)
    tel = lab.telemetry("/dplb/services")
    check(tel.get("svc0_name") == "TCP 10.10.0.100:80" and tel.get("svc0_real0_active_conns") == 2,
          "telemetry /dplb/services: %s" % {k: v for k, v in tel.items() if k.startswith("svc0_real0")})
    stats_t = lab.telemetry("/dplb/stats")
    check(stats_t.get("forwarded", 0) > 0 and "drop_tcp_no_conn" in stats_t, "telemetry /dplb/stats")


if __name__ == "__main__":
    run(body)
