#!/usr/bin/python3
"""/metrics of the real dplbd (net_af_packet port in a namespace of its own) under real traffic:
- `promtool check metrics` finds nothing to say about a live scrape (at start and at the end);
- every received frame is counted under exactly one outcome: after a known mix (new TCP flows to a
  VIP, an ARP request for it, a frame for the kernel, a frame for another host's MAC, a cut IPv4
  header, an ACK and an ICMP error forwarded by Maglev, an ICMP error forwarded by its flow's entry) each outcome moved by what was sent, and sum(outcomes) == received;
- dplb_build_info carries the version `dplbd --version` prints;
- process_* are there and sane (started during this test, resident memory > 0, descriptors);
- connection-table entries rise with new connections; capacity is the configured size per worker;
- a real whose check fails: up 0, the failure counter and result="failure" histogram move, drained 0;
  a real without a check is up; `dplbctl drain` sets drained 1 and leaves up 1;
- VRRP: one dplb_vrrp_state series per state, exactly one at 1, agreeing with dplb_vrrp_state_code."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Wire, check, die, parse_metrics, run  # noqa: E402

VIP = "10.10.0.100"
VIP2 = "10.10.0.200"   # the VRRP instance's (a service of its own, no traffic)
VIP3 = "10.10.0.103"   # scheduler mh: forwards without an entry
LB_ADDR = "10.10.0.2"  # the director's kernel address on its port
MAC = {"10.10.0.11": "02:00:00:00:00:11", "10.10.0.12": "02:00:00:00:00:12", "10.10.0.13": "02:00:00:00:00:13"}
VRID = 61
IPV4_ENTRIES, IPV6_ENTRIES = 4096, 1024
METRICS_PORT = 21000 + os.getpid() % 1000
STATES = ("init", "backup", "master", "fault")
FAMILIES = ("dplb_connections", "dplb_connections_total", "dplb_packets_total", "dplb_bytes_total", "dplb_real_up",
            "dplb_real_drained", "dplb_real_weight", "dplb_dataplane_received_packets_total",
            "dplb_dataplane_transmitted_packets_total", "dplb_dataplane_from_kernel_packets_total",
            "dplb_dataplane_packets_total", "dplb_drops_total", "dplb_connection_events_total",
            "dplb_conn_table_entries", "dplb_conn_table_capacity", "dplb_port_rx_packets_total",
            "dplb_port_tx_packets_total", "dplb_port_rx_missed_total", "dplb_port_rx_bytes_total",
            "dplb_port_tx_bytes_total", "dplb_port_rx_errors_total", "dplb_port_tx_errors_total",
            "dplb_port_rx_nombuf_total", "dplb_health_check_duration_seconds", "dplb_health_check_failures_total",
            "dplb_vrrp_state", "dplb_vrrp_state_code", "dplb_config_reloads_total",
            "dplb_config_last_reload_successful", "dplb_config_last_reload_timestamp_seconds", "dplb_build_info",
            "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
            "process_open_fds", "process_max_fds", "process_start_time_seconds")
OUTCOMES = ("forwarded", "forwarded_stateless", "icmp_error_forwarded", "fragment_forwarded", "arp_reply",
            "to_kernel", "not_for_us", "dropped")




def series(m, name, **want):
    return [v for labels, v in m.get(name, []) if all(labels.get(k) == w for k, w in want.items())]


def one(m, name, **want):
    """The value of the one series of `name` with these labels (fails when there is not exactly one)."""
    vals = series(m, name, **want)
    if len(vals) != 1:
        die("%s%s: %d series, expected 1" % (name, want, len(vals)))
    return vals[0]


def poll(fn, limit):
    """fn() until it returns something true, at most `limit` seconds; returns the last value."""
    end = time.time() + limit
    while True:
        v = fn()
        if v or time.time() >= end:
            return v
        time.sleep(0.1)


def promtool(text):
    """promtool check metrics on a scrape: (exit status, what it printed)."""
    with tempfile.TemporaryFile("w+") as f:
        f.write(text)
        f.seek(0)
        r = subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True, text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).strip()


def config(lab):
    reals = ""
    for ip in ("10.10.0.11", "10.10.0.12"):
        reals += ('      - ip: %s\n        mac: "%s"\n        health_check:\n          type: tcp\n'
                  '          connect_timeout: 1\n          retry: 0\n' % (ip, MAC[ip]))
    reals += '      - ip: 10.10.0.13\n        mac: "%s"\n' % MAC["10.10.0.13"]
    return ("ports:\n  - name: lan0\n    device: net_af_packet0\n    addresses: [%s/24]\n" % LB_ADDR +
            "conn_table:\n  ipv4_entries: %d\n  ipv6_entries: %d\n" % (IPV4_ENTRIES, IPV6_ENTRIES) +
            "control:\n  socket: %s\nmetrics:\n  listen: 127.0.0.1:%d\n" % (lab.sock, METRICS_PORT) +
            "services:\n"
            "  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    delay_loop: 1\n"
            "    real_servers:\n%s" % (VIP, reals) +
            "  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    real_servers:\n"
            '      - ip: 10.10.0.13\n        mac: "%s"\n' % (VIP2, MAC["10.10.0.13"]) +
            "  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: mh\n    real_servers:\n"
            '      - ip: 10.10.0.13\n        mac: "%s"\n' % (VIP3, MAC["10.10.0.13"]) +
            "vrrp_instances:\n"
            "  - name: VI_M\n    interface: lan0\n    state: BACKUP\n    virtual_router_id: %d\n"
            "    priority: 100\n    advert_int: 1\n    virtual_ipaddresses: [%s]\n" % (VRID, VIP2))


def body(lab):
    from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw
    if shutil.which("promtool") is None:
        die("promtool not found (Debian package prometheus)")
    lab.exec_ns("ip", "addr", "add", LB_ADDR + "/24", "dev", "lb0")
    for ip in ("10.10.0.11", "10.10.0.12"):
        lab.exec_ns("ip", "addr", "add", ip + "/32", "dev", "cl0")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # .11 passes its check, .12 has none
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("10.10.0.11", 80))
    listener.listen(16)
    lab.on_close(listener.close)
    t_start = time.time()
    lab.start(config(lab))
    wire = Wire(lab)
    scrape = lambda: parse_metrics(lab.scrape(METRICS_PORT))  # noqa: E731

    rc, out = promtool(lab.scrape(METRICS_PORT))
    check(rc == 0 and out == "", "promtool check metrics on a live scrape: exit %d, %r" % (rc, out))

    # Build and process.
    m = scrape()
    version = subprocess.run([os.path.join(lab.build, "controlplane/dplbd"), "--version"], capture_output=True,
                             text=True, timeout=10).stdout.split()
    check(len(version) == 2 and version[0] == "dplbd", "dplbd --version prints 'dplbd VERSION': %r" % version)
    info = [(labels, v) for labels, v in m.get("dplb_build_info", [])]
    check(info == [({"version": version[1]}, 1.0)], "dplb_build_info{version=%r} 1: %r" % (version[1], info))
    start = one(m, "process_start_time_seconds")
    check(t_start - 1 <= start <= time.time() + 1, "process_start_time_seconds %.1f within the test's run (%.1f..)"
          % (start, t_start))
    rss, vsz = one(m, "process_resident_memory_bytes"), one(m, "process_virtual_memory_bytes")
    check(1 << 20 < rss <= vsz, "process_resident_memory_bytes %d > 1 MiB, <= virtual %d" % (rss, vsz))
    fds, max_fds = one(m, "process_open_fds"), one(m, "process_max_fds")
    check(3 <= fds < max_fds, "process_open_fds %d, below process_max_fds %d" % (fds, max_fds))
    check(one(m, "process_cpu_seconds_total") > 0, "process_cpu_seconds_total > 0 (a polling worker)")

    # Connection table: capacity as configured, entries rise with connections.
    cap4 = one(m, "dplb_conn_table_capacity", worker="0", family="ipv4")
    cap6 = one(m, "dplb_conn_table_capacity", worker="0", family="ipv6")
    check((cap4, cap6) == (IPV4_ENTRIES, IPV6_ENTRIES), "dplb_conn_table_capacity ipv4 %d, ipv6 %d (configured %d, %d)"
          % (cap4, cap6, IPV4_ENTRIES, IPV6_ENTRIES))
    check(len(m.get("dplb_conn_table_capacity", [])) == 2, "one worker: capacity series for ipv4 and ipv6 only")
    entries0 = one(m, "dplb_conn_table_entries", worker="0", family="ipv4")

    # Wait for .12's check to fail (no listener) so new flows have only .11 and .13.
    poll(lambda: one(scrape(), "dplb_real_up", vip=VIP + ":80", protocol="tcp", real="10.10.0.12:80") == 0, 10)

    # A known mix of frames, each with one outcome.
    def outcomes():
        mm = scrape()
        return mm, {o: one(mm, "dplb_dataplane_packets_total", outcome=o) for o in OUTCOMES}

    def quiet_identity(limit=5):
        """Scrapes until sum(outcomes) == received (a quiet director); returns that scrape."""
        last = [None]

        def ok():
            mm, o = outcomes()
            last[0] = (mm, o)
            return sum(o.values()) == one(mm, "dplb_dataplane_received_packets_total")
        good = poll(ok, limit)
        mm, o = last[0]
        check(good, "sum(dplb_dataplane_packets_total) %d == dplb_dataplane_received_packets_total %d"
              % (sum(o.values()), one(mm, "dplb_dataplane_received_packets_total")))
        return mm, o

    m0, o0 = quiet_identity()
    rx0 = one(m0, "dplb_dataplane_received_packets_total")
    flows = 20
    client = "02:00:00:00:00:aa"
    frames = [Ether(dst=lab.lb_mac, src=client) / IP(src="192.0.2.9", dst=VIP) / TCP(sport=40000 + i, dport=80, flags="S")
              for i in range(flows)]
    frames.append(Ether(dst="ff:ff:ff:ff:ff:ff", src=client) /
                  ARP(op=1, hwsrc=client, psrc="10.10.0.50", pdst=VIP))                       # arp_reply
    frames.append(Ether(dst=lab.lb_mac, src=client) / IP(src="10.10.0.50", dst=LB_ADDR) / UDP(sport=5000, dport=9))
    frames.append(Ether(dst="02:00:00:00:00:bb", src=client) / IP(src="192.0.2.9", dst=VIP) /
                  TCP(sport=39999, dport=80, flags="S"))                                      # not_for_us
    frames.append(Ether(dst=lab.lb_mac, src=client, type=0x0800) / Raw(b"\x45\x00\x00"))      # a cut IPv4 header
    # Forwarded without an entry: an ACK to the mh service (forwarded_stateless), an ICMP error about
    # a flow of it (icmp_error_forwarded, by Maglev) and one about a flow opened above (by its entry).
    frames.append(Ether(dst=lab.lb_mac, src=client) / IP(src="192.0.2.9", dst=VIP3) /
                  TCP(sport=41000, dport=80, flags="A"))
    for vip, port in ((VIP3, 41001), (VIP, 40000)):
        quote = bytes(IP(src=vip, dst="192.0.2.9") / TCP(sport=80, dport=port, flags="SA"))[:28]
        frames.append(Ether(dst=lab.lb_mac, src=client) / IP(src="198.51.100.1", dst=vip) /
                      ICMP(type=3, code=4, nexthopmtu=1400) / Raw(quote))
    wire.send(frames)
    poll(lambda: one(scrape(), "dplb_dataplane_received_packets_total") >= rx0 + len(frames), 5)
    m1, o1 = quiet_identity()
    d = {o: o1[o] - o0[o] for o in OUTCOMES}
    rx = one(m1, "dplb_dataplane_received_packets_total") - rx0
    check(rx >= len(frames), "received moved by at least the %d frames sent: %d" % (len(frames), rx))
    check(d["forwarded"] == flows, "outcome forwarded moved by the %d new flows: %d" % (flows, d["forwarded"]))
    check(d["forwarded_stateless"] == 1, "outcome forwarded_stateless moved by 1 (the ACK to the mh service): %d"
          % d["forwarded_stateless"])
    check(d["icmp_error_forwarded"] == 2, "outcome icmp_error_forwarded moved by 2 (by Maglev, by an entry): %d"
          % d["icmp_error_forwarded"])
    # Fragments: not here. net_af_packet's sockets ask the kernel to reassemble (a fanout group with
    # PACKET_FANOUT_FLAG_DEFRAG): a fragmented datagram reaches the port whole and is forwarded as
    # one frame. tests/test_hostile_pcap.cc counts fragment_forwarded on a net_pcap port.
    check(d["fragment_forwarded"] == 0, "outcome fragment_forwarded did not move: %d" % d["fragment_forwarded"])
    check(d["arp_reply"] == 1, "outcome arp_reply moved by 1 (the ARP request for the VIP): %d" % d["arp_reply"])
    check(d["to_kernel"] >= 1, "outcome to_kernel moved (the frame for the director's own address): %d"
          % d["to_kernel"])
    check(d["not_for_us"] == 1, "outcome not_for_us moved by 1 (the frame for another MAC): %d" % d["not_for_us"])
    check(d["dropped"] >= 1, "outcome dropped moved (the cut IPv4 header): %d" % d["dropped"])
    check(one(m1, "dplb_drops_total", reason="ipv4_truncated") > one(m0, "dplb_drops_total", reason="ipv4_truncated"),
          "dplb_drops_total{reason=ipv4_truncated} moved")
    check(sum(d.values()) == rx, "the outcomes' deltas add up to the frames received: %d == %d" % (sum(d.values()), rx))
    tx = one(m1, "dplb_dataplane_transmitted_packets_total") - one(m0, "dplb_dataplane_transmitted_packets_total")
    check(tx >= flows + 4, "transmitted moved by the forwarded frames and the ARP reply: %d" % tx)

    entries = poll(lambda: one(scrape(), "dplb_conn_table_entries", worker="0", family="ipv4") >= entries0 + flows and
                   one(scrape(), "dplb_conn_table_entries", worker="0", family="ipv4"), 5)
    check(entries == entries0 + flows, "dplb_conn_table_entries ipv4 rose by the %d connections: %d -> %s"
          % (flows, entries0, entries))
    check(one(m1, "dplb_conn_table_entries", worker="0", family="ipv6") == 0, "no IPv6 entries")

    # Health checks: .12 fails, .11 passes, .13 has no check.
    def health_ok():
        mm = scrape()
        fail = series(mm, "dplb_health_check_failures_total", vip=VIP + ":80", protocol="tcp", real="10.10.0.12:80",
                      check="tcp")
        hist = series(mm, "dplb_health_check_duration_seconds_count", vip=VIP + ":80", protocol="tcp",
                      real="10.10.0.12:80", check="tcp", result="failure")
        return fail and fail[0] >= 2 and hist and hist[0] >= fail[0] - 1 and mm
    m2 = poll(health_ok, 10)
    if not m2:
        m2 = scrape()
        die("health-check failures for .12: failures_total %r, duration count{result=failure} %r" % (
            series(m2, "dplb_health_check_failures_total", real="10.10.0.12:80"),
            series(m2, "dplb_health_check_duration_seconds_count", real="10.10.0.12:80")))
    check(True, "dplb_health_check_failures_total and duration{result=failure} count .12's failed checks")
    ok11 = series(m2, "dplb_health_check_duration_seconds_count", real="10.10.0.11:80", check="tcp", result="success")
    check(ok11 and ok11[0] >= 1, ".11's passed checks in the histogram under result=success: %r" % ok11)
    check(series(m2, "dplb_health_check_failures_total", real="10.10.0.11:80") == [0.0],
          ".11's failure counter is there, at 0")
    check(series(m2, "dplb_health_check_duration_seconds_count", real="10.10.0.11:80", result="failure") == [],
          "no result=failure histogram for .11")
    real = lambda mm, name, ip: one(mm, name, vip=VIP + ":80", protocol="tcp", real=ip + ":80")  # noqa: E731
    got = {ip: (real(m2, "dplb_real_up", ip), real(m2, "dplb_real_drained", ip))
           for ip in ("10.10.0.11", "10.10.0.12", "10.10.0.13")}
    check(got == {"10.10.0.11": (1, 0), "10.10.0.12": (0, 0), "10.10.0.13": (1, 0)},
          "(up, drained): .11 passes (1, 0), .12 fails (0, 0), .13 has no check (1, 0): %r" % got)

    lab.ctl_ok("drain", "10.10.0.11:80")
    m3 = poll(lambda: (lambda mm: real(mm, "dplb_real_drained", "10.10.0.11") == 1 and mm)(scrape()), 5) or scrape()
    got = (real(m3, "dplb_real_up", "10.10.0.11"), real(m3, "dplb_real_drained", "10.10.0.11"),
           real(m3, "dplb_real_weight", "10.10.0.11"))
    check(got == (1, 1, 0), "after dplbctl drain .11: up 1, drained 1, weight 0: %r" % (got,))
    check(real(m3, "dplb_real_drained", "10.10.0.13") == 0, ".13 not drained")

    # VRRP: a lone BACKUP becomes MASTER; one series per state, exactly one at 1.
    def vrrp():
        mm = scrape()
        st = {s: series(mm, "dplb_vrrp_state", vrrp_instance="VI_M", vrid=str(VRID), state=s) for s in STATES}
        code = series(mm, "dplb_vrrp_state_code", vrrp_instance="VI_M", vrid=str(VRID))
        return mm, st, code
    poll(lambda: vrrp()[1]["master"] == [1.0], 10)
    mm, st, code = vrrp()
    check(all(len(v) == 1 for v in st.values()) and len(mm.get("dplb_vrrp_state", [])) == len(STATES),
          "dplb_vrrp_state: one series per state for VI_M vrid %d: %r" % (VRID, st))
    check(sorted(v[0] for v in st.values()) == [0, 0, 0, 1] and st["master"] == [1.0],
          "exactly one state at 1, master: %r" % st)
    check(code == [2.0], "dplb_vrrp_state_code 2 (master): %r" % code)

    rc, out = promtool(lab.scrape(METRICS_PORT))
    check(rc == 0 and out == "", "promtool check metrics at the end (histograms, VRRP, drain): exit %d, %r"
          % (rc, out))
    names = {line.split()[2] for line in lab.scrape(METRICS_PORT).splitlines() if line.startswith("# TYPE ")}
    missing = sorted(set(FAMILIES) - names)
    check(not missing, "every documented family is exposed (%d): missing %r" % (len(FAMILIES), missing))


if __name__ == "__main__":
    run(body)
