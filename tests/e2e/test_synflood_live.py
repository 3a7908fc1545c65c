#!/usr/bin/python3
"""SYN flood: 2,000,000 random-source SYNs against a dplbd with a 16,384-entry connection table while a
client's 100 requests to an `rr` service and 100 to an `mh` service all succeed, in namespaces of the
test's own.

  client (10.91.0.10) ─┐  4 threads of HTTP requests, a new TCP connection each
  flood  (10.91.0.20) ─┤  synflood (tests/e2e/synflood.cc): SYNs from 198.18.0.0/15 to both VIPs
  slow   (10.91.0.30) ─┤  scapy: handshakes whose ACK comes 2 s after the SYN-ACK
  lb     (10.91.0.2)  ─┼─ bridge   dplbd on net_af_packet; web-rr VIP1:80 (rr), web-mh VIP2:80 (mh)
  rs1    (10.91.0.11) ─┤  nginx, VIP1 and VIP2 on lo, arp_ignore=1 / arp_announce=2 (Direct Routing);
  rs2    (10.91.0.12) ─┘  rp_filter=1 drops the flood's unroutable sources at once

The flood comes in two parts: 200,000 frames as fast as they go, to fill the table and every buffer
(then dplbd's RSS is sampled), and 1,800,000 at FLOOD_RATE while the client makes its 200 requests and
the slow handshakes run. When the table is full a new SYN evicts the oldest half-open entry, and a
non-SYN miss follows Maglev while the table is (or was within 10 s) full (dataplane/processor.h).

Checks: every client request answers 200 from a real of its service, and at least half of them started
while the flood was on. The slow handshakes' ACKs, sent after a whole table's worth of flood SYNs had
evicted their entries, were forwarded by Maglev and none dropped as tcp_no_conn, and each completes on
the real that answered its SYN, on mh and on rr alike (under pressure new connections are scheduled by
Maglev whatever the scheduler, so the ACK's Maglev choice is the SYN's real). dplbd counted the flood
into its table (every SYN past its size evicted a half-open entry or found none) and its books balance
(entries made - evicted - expired = entries held <= the table's size); the reals received what dplbd
forwarded; dplbd's RSS grew by less than RSS_BOUND_KIB between the end of part 1 and the end; dplbd
still runs and exits 0 on SIGTERM.

Usage: test_synflood_live.py BUILD_DIR SYNFLOOD. Exit 0 pass, 1 fail, 77 where namespaces cannot be made."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, die, metric_value, run_site, wait_for  # noqa: E402

NET = "10.91.0"
VIP1, VIP2 = NET + ".100", NET + ".101"
ADDR = {"client": NET + ".10", "flood": NET + ".20", "slow": NET + ".30", "lb": NET + ".2", "rs1": NET + ".11",
        "rs2": NET + ".12"}
MAC = {"client": "02:00:00:91:00:10", "flood": "02:00:00:91:00:20", "slow": "02:00:00:91:00:30",
       "lb": "02:00:00:91:00:02", "rs1": "02:00:00:91:00:11", "rs2": "02:00:00:91:00:12"}
REALS = ("rs1", "rs2")
REAL_OF_MAC = {MAC[rs]: rs for rs in REALS}
# ipv4 entries per worker core (dplbd runs one worker). A client's half-open entry is evicted after a
# table's worth of flood SYNs: 16,384 at FLOOD_RATE is ~270 ms, far longer than a handshake here even on
# a loaded machine. With 4,096 at ~120,000 SYNs/s (~35 ms) 1 or 2 of the client's 200 handshakes outlived
# their entry in 3 runs of 5; such a flow's ACK goes by Maglev, which on rr is another real half the
# time (a reset, a failed request): the slow handshakes below do that on purpose, and show it.
TABLE = 16384
SLOW_PER_VIP = 8             # slow handshakes per service
SLOW_DELAY = 2.0             # seconds from the SYN-ACK to the ACK: several tables' worth of flood SYNs
WARMUP_FRAMES = 200000
FLOOD_FRAMES = 1800000       # 2,000,000 in all
REQUESTS = 100               # per service
# Part 1 goes as fast as the socket takes it (130,000 to 440,000 frames/s here, with the load of the
# machine). Part 2 is paced below what dplbd's worker takes on a shared 2-core machine: above it,
# dplbd's af_packet ring overflows and drops frames at random, the client's SYNs among them (each loss a
# 1, 2, 4 s retransmission), which measures the machine, not the director. 60,000 SYNs/s make part 2
# last 30 s; the client's 4 threads make 50 requests each, 0.25 s apart (13 s and any retransmissions).
FLOOD_RATE = 60000
CLIENT_THREADS = 4
REQUEST_PERIOD = 0.25
METRICS = "127.0.0.1:9642"   # inside the director's namespace
# dplbd's memory is all allocated at start (connection table, mbuf pool, rings): once the first part of
# the flood has filled the table and cycled every mbuf, nothing should grow with the number of frames.
# What may: malloc's arenas for the control thread's scrapes and dplbctl answers. 2 MiB is ~3% of its
# RSS here; a leak of even 2 bytes a frame over 1.8M frames would exceed it.
RSS_BOUND_KIB = 2048

LB_CONFIG = """ports:
  - name: lan0
    device: net_af_packet0
    addresses: [%(lb)s/24]
conn_table:
  ipv4_entries: %(table)d
  ipv6_entries: 1024
control:
  socket: {socket}
metrics:
  listen: %(metrics)s
services:
""" % {"lb": ADDR["lb"], "table": TABLE, "metrics": METRICS} + "".join(
    """  - name: %s
    vip: %s
    port: 80
    protocol: tcp
    scheduler: %s
    timeouts: {syn_recv: 600}
    real_servers:
      - ip: %s
        mac: "%s"
      - ip: %s
        mac: "%s"
""" % (name, vip, sched, ADDR["rs1"], MAC["rs1"], ADDR["rs2"], MAC["rs2"])
    for name, vip, sched in (("web-rr", VIP1, "rr"), ("web-mh", VIP2, "mh")))
# syn_recv 600 s: no flood entry expires during the test, so the table stays full after the flood too
# and the books below are read from counters that nothing moves meanwhile.

# The client, in its own namespace: COUNT requests per VIP, each on a new connection, from THREADS
# threads that take the VIPs in turn, each waiting PERIOD seconds between two requests (so that one
# request slowed by a lost SYN holds up only its own thread).
CLIENT = r'''
import http.client, json, os, sys, threading, time
vips, count, threads, period, out_file = (sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3]),
                                          float(sys.argv[4]), sys.argv[5])
res = []
lock = threading.Lock()

def worker(k):
    for i in range(k, count * len(vips), threads):
        vip = vips[i % len(vips)]
        if i >= threads:
            time.sleep(period)
        rec = {"vip": vip, "start": time.time()}
        try:
            conn = http.client.HTTPConnection(vip, 80, timeout=20)
            try:
                conn.request("GET", "/", headers={"Connection": "close"})
                r = conn.getresponse()
                rec["status"], rec["real"] = r.status, r.read().decode().strip()
            finally:
                conn.close()
        except Exception as e:
            rec["error"] = repr(e)
        rec["end"] = time.time()
        with lock:
            res.append(rec)

ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
res.sort(key=lambda r: r["start"])
with open(out_file + ".tmp", "w") as f:
    json.dump(res, f)
os.rename(out_file + ".tmp", out_file)
'''

# Slow handshakes, with scapy from a namespace without the address it sends from (so its kernel never
# answers the reals with a reset): SYNs to both VIPs, then the handshake's ACK with the request only
# DELAY seconds after the real's SYN-ACK, when the flood has evicted the flow's half-open entry. Prints
# JSON: per flow the VIP, the MAC that sent the SYN-ACK, and the answer to the request (the real's
# MAC with "200 <body>" or "rst"), or None.
SLOW = r'''
import json, random, sys, threading, time
from scapy.all import AsyncSniffer, Ether, IP, TCP, Raw, conf, sendp
conf.verb = 0
iface, lb_mac, src, vips, per_vip, delay, out_file = (sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(","),
                                                      int(sys.argv[5]), float(sys.argv[6]), sys.argv[7])
my_mac = open("/sys/class/net/%s/address" % iface).read().strip()
flows = [{"vip": vip, "sport": 30000 + i, "isn": random.randrange(1 << 31)}
         for i, vip in enumerate(vips * per_vip)]
by_port = {f["sport"]: f for f in flows}
lock = threading.Lock()

def seen(p):
    if IP not in p or TCP not in p or p[IP].dst != src or p[TCP].sport != 80:
        return
    f = by_port.get(p[TCP].dport)
    if f is None or p[IP].src != f["vip"]:
        return
    flags = int(p[TCP].flags)
    with lock:
        if flags & 0x12 == 0x12 and "synack" not in f:
            f["synack"], f["srv_isn"] = p.src, p[TCP].seq
        elif "acked" in f and flags & 0x04:
            f.setdefault("answer", [p.src, "rst"])
        elif "acked" in f and Raw in p:
            data = bytes(p[Raw].load).decode(errors="replace")
            if data.startswith("HTTP/1.1 "):
                f.setdefault("answer", [p.src, data.split(" ")[1] + " " + data.rstrip().split("\n")[-1]])

started = threading.Event()
sniffer = AsyncSniffer(iface=iface, store=False, prn=seen, filter="tcp and dst host %s" % src,
                       started_callback=started.set)
sniffer.start()
started.wait(10)

def l2(f, **tcp):
    return Ether(src=my_mac, dst=lb_mac) / IP(src=src, dst=f["vip"]) / TCP(sport=f["sport"], dport=80, **tcp)

def until(pred, limit, resend):
    end = time.time() + limit
    nxt = 0
    while time.time() < end:
        with lock:
            missing = [f for f in flows if not pred(f)]
        if not missing:
            return True
        if time.time() >= nxt:  # (re)send for the flows still waiting, once a second
            sendp([resend(f) for f in missing], iface=iface)
            nxt = time.time() + 1.0
        time.sleep(0.02)
    return False

until(lambda f: "synack" in f, 8, lambda f: l2(f, flags="S", seq=f["isn"], window=64240))
t_synack = time.time()
time.sleep(delay)  # the point of the exercise: a handshake slower than a table's worth of flood SYNs
t_ack = time.time()
req = b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n"
for f in flows:
    f["acked"] = True
until(lambda f: "answer" in f or "synack" not in f, 8,
      lambda f: l2(f, flags="PA", seq=f["isn"] + 1, ack=f["srv_isn"] + 1, window=64240) / Raw(req))
sniffer.stop()
# Reset what the reals still hold (through dplbd, as any segment of these flows).
sendp([l2(f, flags="R", seq=f["isn"] + 1 + len(req)) for f in flows if "synack" in f], iface=iface)
with open(out_file, "w") as fh:
    json.dump({"t_synack": t_synack, "t_ack": t_ack,
               "flows": [{"vip": f["vip"], "synack": f.get("synack"), "answer": f.get("answer")} for f in flows]}, fh)
'''


def iface_rx(site, host):
    return int(site.in_ns(host, "cat", "/sys/class/net/eth0/statistics/rx_packets").stdout)


def counters(site):
    """dplbd's figures from one scrape of /metrics."""
    text = site.scrape(METRICS)
    fwd = {k: metric_value(text, "dplb_dataplane_packets_total", outcome=k) for k in
           ("forwarded", "forwarded_stateless", "icmp_error_forwarded", "fragment_forwarded")}
    # every frame sent to a real, as the checks below mean it (the outcome "forwarded" is by an entry only)
    out = {"forwarded": None if None in fwd.values() else sum(fwd.values()),
           "forwarded_stateless": fwd["forwarded_stateless"],
           "received": metric_value(text, "dplb_dataplane_received_packets_total"),
           "transmitted": metric_value(text, "dplb_dataplane_transmitted_packets_total"),
           "table_full": metric_value(text, "dplb_connection_events_total", event="table_full"),
           "half_open_evicted": metric_value(text, "dplb_connection_events_total", event="half_open_evicted")}
    out["missed"] = metric_value(text, "dplb_port_rx_missed_total")
    out["made"] = metric_value(text, "dplb_connections_total")
    out["held"] = metric_value(text, "dplb_connections")
    out["tcp_no_conn"] = metric_value(text, "dplb_drops_total", reason="tcp_no_conn")
    out["expired"] = site.ctl_json("list", "--stats")["expired"]  # not on /metrics
    if None in out.values():
        die("a figure is missing from /metrics: %s" % out)
    return out


def flood(site, synflood, label, frames, rate, seed):
    out = site.path(label + ".json")
    with open(out, "w") as f:
        p = site.spawn(label, "flood", [synflood, "eth0", MAC["lb"], str(frames), str(rate), "120", str(seed),
                                        VIP1 + ":80", VIP2 + ":80"], stdout=f)
    return p, out


def flood_result(site, p, out, label):
    if not wait_for(lambda: p.poll() is not None, 130, 0.1):
        die("%s did not finish" % label)
    with open(out) as f:
        text = f.read()
    if p.returncode != 0 or not text.strip():
        die("%s failed (exit %s): %s %s" % (label, p.returncode, text, site.log_text(label)))
    return json.loads(text)


def script(site, label, host, text, args):
    """Starts a Python script (text) in `host`; it writes its JSON result to LABEL.json."""
    path = site.path(label + ".py")
    with open(path, "w") as f:
        f.write(text)
    out = site.path(label + ".json")
    return site.spawn(label, host, ["/usr/bin/python3", path] + list(args) + [out]), out


def script_result(site, p, out, label, limit=150):
    if not wait_for(lambda: p.poll() is not None, limit, 0.1):
        die("%s did not finish within %d s" % (label, limit))
    if p.returncode != 0 or not os.path.exists(out):
        die("%s failed (exit %s): %s" % (label, p.returncode, site.log_text(label)))
    with open(out) as f:
        return json.load(f)


def requests(site, count, threads, period, label):
    return script(site, label, "client", CLIENT, [VIP1 + "," + VIP2, str(count), str(threads), str(period)])


def failures(res):
    return [r for r in res if r.get("status") != 200 or r.get("real") not in REALS]


def body(site):
    if len(sys.argv) < 3 or not os.access(sys.argv[2], os.X_OK):
        die("usage: test_synflood_live.py BUILD_DIR SYNFLOOD (the generator, built by meson)")
    synflood = sys.argv[2]
    site.segment("lan")
    for h in ("client", "flood", "slow", "lb") + REALS:
        site.host(h)
        site.attach(h, "lan", "eth0", MAC[h], [ADDR[h] + "/24"] if h != "slow" else [])
    for rs in REALS:
        site.real_server(rs, VIP1, VIP2)
        site.in_ns(rs, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.eth0.rp_filter=1")
        site.in_ns(rs, "ip", "neigh", "replace", ADDR["slow"], "lladdr", MAC["slow"], "dev", "eth0", "nud", "permanent")
        site.nginx(rs, '    listen 80;\n    location / { default_type text/plain; return 200 "%s\\n"; }' % rs)
    for rs in REALS:
        if not wait_for(lambda: site.in_ns("client", "curl", "-s", "--max-time", "1", "http://%s/" % ADDR[rs],
                                           check_rc=False).stdout.strip() == rs, 10, 0.1):
            die("nginx on %s does not answer: %s" % (rs, site.log_text("nginx-" + rs)))
    site.start_dplbd("lb", LB_CONFIG)
    rss_start = site.rss_kib()

    warm = script_result(site, *requests(site, 5, 1, 0, "client-warmup"), "client-warmup")
    check(not failures(warm), "before the flood, 5 requests to each VIP succeed: %s"
          % sorted((r["vip"], r.get("real", r.get("error"))) for r in warm))

    # --- part 1: fill the table and every buffer ------------------------------------------------
    rx_reals0 = sum(iface_rx(site, rs) for rs in REALS)
    rx_lb0 = iface_rx(site, "lb")
    c0 = counters(site)
    f1 = flood_result(site, *flood(site, synflood, "synflood-1", WARMUP_FRAMES, 0, 1), "synflood-1")
    # The worker drains what is still in its ring; the evictions show the table full.
    wait_for(lambda: counters(site)["half_open_evicted"] > c0["half_open_evicted"], 10, 0.1)
    c1 = counters(site)
    print("part 1: %d frames in %.2f s (%.0f frames/s); dplbd received %d, evicted %d, holds %d entries"
          % (f1["sent"], f1["seconds"], f1["rate"], c1["received"] - c0["received"],
             c1["half_open_evicted"] - c0["half_open_evicted"], c1["held"]), flush=True)
    check(c1["half_open_evicted"] > c0["half_open_evicted"] and c1["held"] == TABLE,
          "the first %d SYNs filled the table (%d of %d entries held, %d evicted)"
          % (WARMUP_FRAMES, c1["held"], TABLE, c1["half_open_evicted"] - c0["half_open_evicted"]))
    rss0 = site.rss_kib()

    # --- part 2: the flood, with the client's requests and the slow handshakes through it ---------
    fp, fout = flood(site, synflood, "synflood-2", FLOOD_FRAMES, FLOOD_RATE, 2)
    t_flood = time.time()
    cl = requests(site, REQUESTS, CLIENT_THREADS, REQUEST_PERIOD, "client")
    sl = script(site, "slow", "slow", SLOW, ["eth0", MAC["lb"], ADDR["slow"], VIP1 + "," + VIP2, str(SLOW_PER_VIP),
                                             str(SLOW_DELAY)])
    f2 = flood_result(site, fp, fout, "synflood-2")
    t_flood_end = t_flood + f2["seconds"]
    res = script_result(site, *cl, "client")
    slow = script_result(site, *sl, "slow", 60)
    rss1 = site.rss_kib()
    c2 = counters(site)
    rx_reals = sum(iface_rx(site, rs) for rs in REALS) - rx_reals0
    rx_lb = iface_rx(site, "lb") - rx_lb0
    d = {k: c2[k] - c0[k] for k in c2}
    sent = f1["sent"] + f2["sent"]
    print("part 2: %d frames in %.2f s (%.0f frames/s, %d send retries); in all %d SYNs sent, dplbd's veth took "
          "%d frames, dplbd received %d (%d missed by the port), forwarded %d (%d by Maglev without an entry), "
          "evicted %d, table_full %d, expired %d, dropped as tcp_no_conn %d; the reals received %d"
          % (f2["sent"], f2["seconds"], f2["rate"], f2["send_errors"], sent, rx_lb, d["received"], d["missed"],
             d["forwarded"], d["forwarded_stateless"], d["half_open_evicted"], d["table_full"], d["expired"],
             d["tcp_no_conn"], rx_reals), flush=True)

    bad = failures(res)
    by = {}
    for r in res:
        key = ("rr" if r["vip"] == VIP1 else "mh", r.get("real"))
        by[key] = by.get(key, 0) + 1
    took = sorted(r["end"] - r["start"] for r in res)
    under = sum(1 for r in res if r["start"] < t_flood_end)
    print("client: %d requests in %.1f s, %d started while the flood was on; by service and real %s; "
          "slowest %.2f s, median %.3f s" % (len(res), res[-1]["end"] - res[0]["start"], under, sorted(by.items()),
                                             took[-1], took[len(took) // 2]), flush=True)
    check(sent == WARMUP_FRAMES + FLOOD_FRAMES, "the generator sent all %d SYNs (%.0f frames/s in part 2)"
          % (sent, f2["rate"]))
    check(len(res) == 2 * REQUESTS and not bad,
          "all %d + %d requests (rr, mh) answered 200 from a real: %d failed%s"
          % (REQUESTS, REQUESTS, len(bad), "" if not bad else ", first %s" % bad[:3]))
    check(under >= REQUESTS, "at least %d of the requests started while the flood was on (%d)" % (REQUESTS, under))
    check(all(by.get(("rr", rs), 0) > 0 for rs in REALS), "rr still spread the client over both reals: %s" % by)

    # The slow handshakes: each ACK came after its half-open entry was evicted, and found the table full.
    flows = slow["flows"]
    mh = [f for f in flows if f["vip"] == VIP2]
    rr = [f for f in flows if f["vip"] == VIP1]

    def show(fs):
        return ", ".join("%s->%s" % (REAL_OF_MAC.get(f["synack"], f["synack"]),
                                     "none" if not f["answer"] else
                                     "%s %s" % (REAL_OF_MAC.get(f["answer"][0], f["answer"][0]), f["answer"][1]))
                         for f in fs)
    print("slow handshakes (ACK %.1f s after the SYN-ACK, %.1f s before the flood ended): mh %s; rr %s"
          % (SLOW_DELAY, t_flood_end - slow["t_ack"], show(mh), show(rr)), flush=True)
    check(slow["t_ack"] < t_flood_end, "the slow handshakes' ACKs went out while the flood was on")
    for name, fs in (("mh", mh), ("rr", rr)):
        check(all(f["synack"] in REAL_OF_MAC and f["answer"] == [f["synack"], "200 " + REAL_OF_MAC[f["synack"]]]
                  for f in fs),
              "%s: all %d slow handshakes completed on the real that answered their SYN (Maglev): %d reset"
              % (name, len(fs), sum(1 for f in fs if f["answer"] and f["answer"][1] == "rst")))
    check(d["forwarded_stateless"] >= len(flows) and d["tcp_no_conn"] == 0,
          "non-SYN misses followed Maglev while the table was full: %d forwarded without an entry, none dropped "
          "as tcp_no_conn" % d["forwarded_stateless"])

    # What dplbd's counters say of the flood.
    received = d["received"]
    check(received >= sent // 2, "dplbd received at least half the flood (%d of %d frames)" % (received, sent))
    other = 10 * (len(res) + len(flows))  # the client's and the slow handshakes' frames, generously
    check(d["half_open_evicted"] + d["table_full"] >= received - TABLE - other,
          "the flood went through the table: each SYN past its %d entries evicted a half-open one or found none "
          "to evict (%d evicted + %d table_full, %d frames received)"
          % (TABLE, d["half_open_evicted"], d["table_full"], received))
    check(c2["made"] - c2["half_open_evicted"] - c2["expired"] == c2["held"] <= TABLE,
          "the books balance: entries made %d - evicted %d - expired %d = %d held (<= %d)"
          % (c2["made"], c2["half_open_evicted"], c2["expired"], c2["held"], TABLE))
    check(0.98 * d["forwarded"] <= rx_reals <= 1.02 * d["forwarded"] + 1000,
          "the reals received what dplbd forwarded (%d frames; dplbd forwarded %d)" % (rx_reals, d["forwarded"]))
    growth = rss1 - rss0
    check(growth < RSS_BOUND_KIB, "dplbd's RSS at start %d KiB, after part 1: %d KiB, at the end: %d KiB (growth %d "
          "KiB over 1.8M SYNs, bound %d KiB)" % (rss_start, rss0, rss1, growth, RSS_BOUND_KIB))
    check(site.lb.poll() is None, "dplbd still runs")


if __name__ == "__main__":
    run_site("sf", body)
