#!/usr/bin/python3
"""Reload storm: 200 reloads of a live dplbd under HTTP traffic, in network namespaces of the test's own.

  client (10.89.0.10) ─┐
  lb     (10.89.0.2)  ─┤  dplbd on net_af_packet over its veth; VRRP VI_1 (VIP1, never changes) and,
  rs1    (10.89.0.11) ─┼─ bridge     in half of the configurations, VI_2 (VIP2)
  rs2    (10.89.0.12) ─┤  nginx on each real server, VIP1 and VIP2 on lo, arp_ignore=1 / arp_announce=2
  rs3    (10.89.0.13) ─┘

VIP1:80 (service web1) is served by rs1 and/or rs2, VIP2:80 (web2, present with VI_2) by rs2 and/or rs3,
so a frame for a VIP at a real outside that VIP's service can be seen. The storm cycles through four
configurations: reals removed and added back, weights and schedulers (rr, wlc, mh) changed, VI_2 with
its service added and removed; VI_1's block is the same text in all of them. Meanwhile a client runs 4
keep-alive HTTP connections, 2 loops of one-request connections to VIP1 and one loop to VIP2.

Checks: every reload answers OK and the table matches the file; 0 failed requests to VIP1 and each
keep-alive connection lives through the storm on one real; per tcpdump on the reals' veths, VIP1 frames
reach only VIP1's reals and VIP2 frames only VIP2's, no client flow reaches two reals, and each new flow
goes to a real of the configuration in force (a removed real only keeps its draining flows); VI_1 stays
MASTER from the first time it gets there (dplbd's log, `dplbctl status --json`), and tcpdump on the
director's bridge port sees VI_1 advertise without a gap that would let a backup take over and never
with priority 0; dplbd's RSS grows by at most RSS_BOUND_MIB between reload 20 and reload 200; dplbd
still runs at the end and exits 0 on SIGTERM.

Usage: test_reload_storm_live.py BUILD_DIR. Exit 0 pass, 1 fail, 77 where namespaces cannot be made."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import SKIP  # noqa: E402

NET = "10.89.0"
VIP1, VIP2 = NET + ".100", NET + ".101"
ADDR = {"client": NET + ".10", "lb": NET + ".2", "rs1": NET + ".11", "rs2": NET + ".12", "rs3": NET + ".13"}
MAC = {"client": "02:00:00:89:00:10", "lb": "02:00:00:89:00:02", "rs1": "02:00:00:89:00:11",
       "rs2": "02:00:00:89:00:12", "rs3": "02:00:00:89:00:13"}
HOSTS = ("client", "lb", "rs1", "rs2", "rs3")
REALS = ("rs1", "rs2", "rs3")
VRID1, VRID2 = 51, 52
RELOADS = 200
PERIOD = 0.4                 # seconds between two reloads: 200 reloads in 80 s
STORM_LIMIT = RELOADS * PERIOD + 30
REQUEST_TIMEOUT = 4.0        # a request to VIP1 slower than this counts as failed
MH_TABLE = 131071            # a prime; 256 KiB of Maglev table per service, so a leaked snapshot shows
# The RSS bound: every reload builds a snapshot holding each service's Maglev table (web1: 131071 x 2 B =
# 256 KiB; web2: 65537 x 2 B = 128 KiB), so leaking the snapshot of each reload would add about 50 MiB over
# the 180 reloads between the two samples. What may legitimately grow meanwhile is small: the connection
# table's pages first touched by new entries (4096 entries per core) and malloc's free lists.
RSS_BOUND_MIB = 16
# VI_1's master-down interval as its backup would count it: 3 x advert_int + skew (256-100)/256 s.
MASTER_DOWN_S = 3 + (256 - 100) / 256.0

# The four configurations, cycled: web1's scheduler and {real: weight}; web2's, or None (no VI_2).
CONFIGS = [
    {"web1": ("rr", {"rs1": 1, "rs2": 1}), "web2": None},
    {"web1": ("wlc", {"rs1": 3, "rs2": 1}), "web2": ("wlc", {"rs3": 2})},   # VI_2 added
    {"web1": ("mh", {"rs1": 1}), "web2": ("rr", {"rs2": 1, "rs3": 1})},     # rs2 leaves web1, joins web2
    {"web1": ("rr", {"rs2": 2}), "web2": None},                            # rs1 removed, rs2 back; VI_2 removed
]
VIP_OF = {"web1": VIP1, "web2": VIP2}
# Every real that any configuration gives a VIP: the only reals that may ever see its frames.
ALLOWED = {VIP1: {r for c in CONFIGS for r in c["web1"][1]},
           VIP2: {r for c in CONFIGS if c["web2"] for r in c["web2"][1]}}

RESULTS = []


def expect(cond, msg):
    """One check, printed as checks.py does; the test goes on so that every figure is shown."""
    print(("ok: " if cond else "FAIL: ") + msg, flush=True)
    RESULTS.append(bool(cond))
    return cond


class Fatal(Exception):
    pass


def die(msg):
    raise Fatal(msg)


def wait_for(pred, limit, step=0.05):
    """Polls pred() until it is true or `limit` seconds pass; returns its last value."""
    end = time.time() + limit
    while True:
        v = pred()
        if v or time.time() >= end:
            return v
        time.sleep(step)


def lb_config(c, sock):
    """The director's file for configuration c; the VI_1 block is the same text in every one."""
    y = ("ports:\n  - name: lan0\n    device: net_af_packet0\n    addresses: [%s/24]\n" % ADDR["lb"] +
         "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
         "control:\n  socket: %s\nmetrics:\n  listen: off\n" % sock)
    y += "services:\n"
    for svc in ("web1", "web2"):
        if not c[svc]:
            continue
        sched, reals = c[svc]
        y += ("  - name: %s\n    vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: %s\n"
              % (svc, VIP_OF[svc], sched))
        if svc == "web1":
            y += "    mh_table_size: %d\n" % MH_TABLE
        y += "    real_servers:\n"
        for r, w in sorted(reals.items()):
            y += '      - ip: %s\n        mac: "%s"\n        weight: %d\n' % (ADDR[r], MAC[r], w)
    y += ("vrrp_instances:\n"
          "  - name: VI_1\n    interface: lan0\n    state: BACKUP\n    virtual_router_id: %d\n"
          "    priority: 100\n    advert_int: 1\n    authentication: {type: PASS, password: storm1}\n"
          "    virtual_ipaddresses: [%s]\n" % (VRID1, VIP1))
    if c["web2"]:
        # VRRPv3 at 0.1 s so that VI_2 (added by one reload, removed two reloads later) gets MASTER
        # within its 0.8 s of life (master down 0.36 s) and VIP2 carries traffic for the frame checks.
        y += ("  - name: VI_2\n    interface: lan0\n    state: BACKUP\n    virtual_router_id: %d\n"
              "    priority: 100\n    version: 3\n    advert_int: 0.1\n    virtual_ipaddresses: [%s]\n"
              % (VRID2, VIP2))
    return y


def expected_table(c):
    return sorted((VIP_OF[s], c[s][0], tuple(sorted((ADDR[r], w) for r, w in c[s][1].items())))
                  for s in ("web1", "web2") if c[s])


def running_table(listing):
    return sorted((s["vip"], s["scheduler"], tuple(sorted((r["ip"], r["weight"]) for r in s["reals"])))
                  for s in listing["services"])


CLIENT = r'''
import http.client, json, os, sys, threading, time
vip1, vip2, stop_file, ready_file, out_file = sys.argv[1:6]
deadline, timeout = float(sys.argv[6]), float(sys.argv[7])
MAX = 5000                     # requests per loop at most
stop = threading.Event()
lock = threading.Lock()
out = {"keepalive": [], "new": {"ok": 0, "failed": 0, "reals": {}},
       "vip2": {"ok": 0, "failed": 0, "reals": {}}, "errors": []}
ready = []

def fail(where, e):
    with lock:
        if len(out["errors"]) < 30:
            out["errors"].append([time.time(), where, repr(e)])

def paced(period):
    nxt = time.time()
    for _ in range(MAX):
        if stop.is_set() or time.time() > deadline:
            return
        yield
        nxt += period
        stop.wait(max(0.0, nxt - time.time()))

def get(conn):
    conn.request("GET", "/")
    r = conn.getresponse()
    body = r.read().decode().strip()
    if r.status != 200:
        raise RuntimeError("HTTP %d" % r.status)
    return body, r.will_close

def keepalive(i):
    conns = []
    out["keepalive"].append(conns)
    conn = rec = None
    for _ in paced(0.1):
        try:
            if conn is None:
                rec = None
                conn = http.client.HTTPConnection(vip1, 80, timeout=timeout)
                conn.connect()
                rec = {"lport": conn.sock.getsockname()[1], "ok": 0, "failed": 0, "reals": {},
                       "opened": time.time(), "closed_by_server": False}
                conns.append(rec)
            real, will_close = get(conn)
            rec["ok"] += 1
            rec["reals"][real] = rec["reals"].get(real, 0) + 1
            if i not in ready:
                ready.append(i)
            if will_close:
                rec["closed_by_server"] = True
                conn.close()
                conn = None
        except Exception as e:
            if rec is not None:
                rec["failed"] += 1
            else:  # the connection itself failed
                conns.append({"lport": None, "ok": 0, "failed": 1, "reals": {}, "opened": time.time(),
                              "closed_by_server": False})
            fail("keepalive%d" % i, e)
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()

def oneshot(vip, key, period, tmo):
    for _ in paced(period):
        try:
            conn = http.client.HTTPConnection(vip, 80, timeout=tmo)
            try:
                conn.request("GET", "/", headers={"Connection": "close"})
                r = conn.getresponse()
                real = r.read().decode().strip()
                if r.status != 200:
                    raise RuntimeError("HTTP %d" % r.status)
            finally:
                conn.close()
            with lock:
                out[key]["ok"] += 1
                out[key]["reals"][real] = out[key]["reals"].get(real, 0) + 1
        except Exception as e:
            with lock:
                out[key]["failed"] += 1
            if key == "new":
                fail(key, e)

threads = [threading.Thread(target=keepalive, args=(i,)) for i in range(4)]
threads += [threading.Thread(target=oneshot, args=(vip1, "new", 0.2, timeout)) for _ in range(2)]
threads.append(threading.Thread(target=oneshot, args=(vip2, "vip2", 0.2, 1.0)))
for t in threads:
    t.start()
while not stop.is_set() and time.time() < deadline:
    if len(ready) == 4 and not os.path.exists(ready_file):
        open(ready_file, "w").close()
    if os.path.exists(stop_file):
        stop.set()
    time.sleep(0.05)
stop.set()
for t in threads:
    t.join(timeout + 5)
with open(out_file + ".tmp", "w") as f:
    json.dump(out, f)
os.rename(out_file + ".tmp", out_file)
'''


class Storm:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.dplbd = os.path.join(self.build, "controlplane/dplbd")
        self.dplbctl = os.path.join(self.build, "controlplane/dplbctl")
        self.prefix = "dplbrs%d-" % os.getpid()
        self.namespaces = []
        self.procs = []          # (label, Popen), stopped in reverse order by close()
        self.dir = None
        self.lb = None
        self.log_path = None

    # --- set-up and tear-down -------------------------------------------------------------------

    def ns(self, host):
        return self.prefix + host

    def sh(self, *args, check_rc=True):
        r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
        if check_rc and r.returncode != 0:
            die("%s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def in_ns(self, host, *args, check_rc=True):
        return self.sh("ip", "netns", "exec", self.ns(host), *args, check_rc=check_rc)

    def create(self):
        if os.geteuid() != 0 or shutil.which("ip") is None:
            print("SKIP: needs root and iproute2 to create network namespaces", flush=True)
            sys.exit(SKIP)
        if subprocess.run(["ip", "netns", "add", self.ns("sw")], capture_output=True).returncode != 0:
            print("SKIP: this machine cannot create network namespaces", flush=True)
            sys.exit(SKIP)
        self.namespaces.append(self.ns("sw"))
        self.dir = tempfile.mkdtemp(prefix="dplb-storm-")
        for tool in ("tcpdump", "nginx", "ethtool"):
            if shutil.which(tool) is None:
                die("%s is not installed" % tool)
        for f in (self.dplbd, self.dplbctl):
            if not os.access(f, os.X_OK):
                die("no executable " + f)
        sw = self.ns("sw")
        self.sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        self.sh("ip", "-n", sw, "link", "set", "br0", "up")
        for h in HOSTS:
            self.sh("ip", "netns", "add", self.ns(h))
            self.namespaces.append(self.ns(h))
            self.sh("ip", "link", "add", "eth0", "netns", self.ns(h), "address", MAC[h], "type", "veth",
                    "peer", "name", "v-" + h, "netns", sw)
            self.sh("ip", "-n", sw, "link", "set", "v-" + h, "master", "br0", "up")
            self.in_ns(h, "ip", "link", "set", "lo", "up")
            self.in_ns(h, "ip", "addr", "add", ADDR[h] + "/24", "dev", "eth0")
            self.in_ns(h, "ip", "link", "set", "eth0", "up")
            # veth offloads would leave partial checksums in the frames dplbd forwards (af_packet).
            self.in_ns(h, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
            self.sh("ip", "netns", "exec", sw, "ethtool", "-K", "v-" + h, "tx", "off", "tso", "off", "gso", "off")
        for r in REALS:
            for k, v in (("arp_ignore", 1), ("arp_announce", 2)):
                for dev in ("all", "lo", "eth0"):
                    self.in_ns(r, "sysctl", "-qw", "net.ipv4.conf.%s.%s=%d" % (dev, k, v))
            for vip in (VIP1, VIP2):
                self.in_ns(r, "ip", "addr", "add", vip + "/32", "dev", "lo")
        # VIP2 is owned only for part of each cycle; a static entry spares the client's ARP the
        # failures in between (VIP1 goes through ARP as usual: dplbd answers it while VI_1 is MASTER).
        self.in_ns("client", "ip", "neigh", "replace", VIP2, "lladdr", MAC["lb"], "dev", "eth0", "nud", "permanent")

    def spawn(self, label, host, args, **kw):
        log = open(os.path.join(self.dir, label + ".log"), "w")
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns(host)] + list(args), stdout=log,
                                 stderr=subprocess.STDOUT, **kw)
        finally:
            log.close()
        self.procs.append((label, p))
        return p

    def log_text(self, label):
        try:
            with open(os.path.join(self.dir, label + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, p, sig=signal.SIGTERM, limit=10):
        """Signals one of our processes by its PID; returns its exit status (KILL after `limit` s)."""
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def close(self):
        for label, p in reversed(self.procs):
            try:
                self.stop(p, signal.SIGINT if label.startswith("tcpdump") else signal.SIGTERM, 5)
            except Exception as e:  # cleanup goes on whatever one step says
                print("cleanup %s: %s" % (label, e))
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree("/var/run/dpdk/" + self.ns("lb"), ignore_errors=True)  # EAL's run files for our prefix

    # --- programs -------------------------------------------------------------------------------

    def nginx(self, rs):
        d = os.path.join(self.dir, rs)
        os.makedirs(os.path.join(d, "tmp"))
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                    "events { worker_connections 1024; }\n"
                    "http {\n  access_log off;\n  keepalive_timeout 600s;\n  keepalive_requests 1000000;\n"
                    "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
                    "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
                    "  server { listen 80; location / { default_type text/plain; return 200 \"%s\\n\"; } }\n}\n"
                    % ((d,) * 7 + (rs,)))
        return self.spawn("nginx-" + rs, rs, ["nginx", "-e", os.path.join(d, "error.log"), "-c", conf, "-p", d])

    def tcpdump(self, label, host, iface, pcap_filter):
        pcap = os.path.join(self.dir, label + ".pcap")
        p = self.spawn(label, host, ["tcpdump", "-i", iface, "-p", "-n", "-U", "-Z", "root", "-s", "160", "-w", pcap,
                                     pcap_filter])
        if not wait_for(lambda: "listening on" in self.log_text(label) or p.poll() is not None, 10):
            die("tcpdump %s did not start: %s" % (label, self.log_text(label)))
        if p.poll() is not None:
            die("tcpdump %s exited: %s" % (label, self.log_text(label)))
        return pcap

    def ctl(self, *args, timeout=10):
        return subprocess.run([self.dplbctl, "-s", self.sock] + list(args), capture_output=True, text=True,
                              timeout=timeout)

    def ctl_json(self, *args):
        r = self.ctl(*args, "--json")
        if r.returncode != 0:
            die("dplbctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return json.loads(r.stdout)

    def vrrp_state(self, name):
        r = self.ctl("status", "--json")
        if r.returncode != 0:
            return None
        for v in json.loads(r.stdout).get("vrrp", []):
            if v.get("instance") == name:
                return v.get("state")
        return "absent"

    def write_config(self, c):
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(lb_config(c, self.sock))
        os.rename(tmp, self.config)

    def start_dplbd(self):
        self.sock = os.path.join(self.dir, "dplb.sock")
        self.config = os.path.join(self.dir, "lb.yaml")
        self.write_config(CONFIGS[0])
        self.lb = self.spawn("dplbd", "lb", [
            self.dplbd, "-l", "0,1", "--no-huge", "--no-pci", "-m", "512", "--file-prefix", self.ns("lb"),
            "--log-level", "lib.eal:error", "--vdev", "net_af_packet0,iface=eth0", "--",
            "--config", self.config, "--idle-sleep-us", "100"])
        self.log_path = os.path.join(self.dir, "dplbd.log")
        if not wait_for(lambda: self.lb.poll() is not None or
                        (os.path.exists(self.sock) and self.ctl("status").returncode == 0), 15, 0.1):
            die("dplbd did not open its control socket:\n" + self.log_text("dplbd"))
        if self.lb.poll() is not None:
            die("dplbd exited at start:\n" + self.log_text("dplbd"))

    def rss_kib(self):
        with open("/proc/%d/status" % self.lb.pid) as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1))


# --- captures -------------------------------------------------------------------------------------

def read_pcap(path):
    """[(time, Ether)] of a pcap file, read with scapy; a record cut short at the end is left out."""
    from scapy.layers.l2 import Ether
    from scapy.utils import RawPcapReader
    out = []
    rd = None
    try:
        rd = RawPcapReader(path)
        for data, meta in rd:
            ts = meta.sec + meta.usec / 1e6 if hasattr(meta, "sec") else meta[0] + meta[1] / 1e6
            out.append((ts, Ether(data)))
    except (EOFError, OSError, ValueError) as e:  # scapy.error.Scapy_Exception derives from Exception
        if not out:
            print("note: %s: %s" % (os.path.basename(path), e))
    except Exception as e:
        print("note: %s: %s" % (os.path.basename(path), e))
    finally:
        if rd is not None:
            rd.close()
    return out


def vrrp_adverts(path):
    """[(time, vrid, priority)] of the VRRP adverts the director sent."""
    from scapy.layers.inet import IP
    out = []
    for ts, p in read_pcap(path):
        if IP in p and p[IP].proto == 112 and p[IP].src == ADDR["lb"]:
            raw = bytes(p[IP].payload)
            if len(raw) >= 3:
                out.append((ts, raw[1], raw[2]))
    return out


def tcp_frames(path, rs):
    """[(time, real, (client, cport, vip, vport), flags)] of the TCP frames for a VIP that rs received."""
    from scapy.layers.inet import IP, TCP
    out = []
    for ts, p in read_pcap(path):
        if p.dst.lower() != MAC[rs] or IP not in p or TCP not in p:
            continue
        if p[IP].dst not in (VIP1, VIP2):
            continue
        out.append((ts, rs, (p[IP].src, p[TCP].sport, p[IP].dst, p[TCP].dport), int(p[TCP].flags)))
    return out


SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def flow_checks(frames, windows):
    """frames: every real's frames merged. windows: [(from, to, config)] when each configuration may
    schedule (from its reload's request to the answer of the next reload, plus slack).
    Returns (instances, moved, new_flows, misplaced): a flow instance runs from a SYN to the next SYN
    of the same 5-tuple after a FIN or RST; `moved` lists frames of one instance that reached a real
    other than its first; `misplaced` new flows (first SYN of a 5-tuple) sent to a real that no
    configuration in force at that moment gives its VIP."""
    owner = {}       # 5-tuple -> [real, closed]
    seen = set()
    instances = 0
    moved, misplaced = [], []
    new_flows = 0
    for ts, rs, tup, flags in sorted(frames, key=lambda f: f[0]):
        cur = owner.get(tup)
        is_syn = flags & SYN and not flags & ACK
        if cur is None or (is_syn and cur[1]):
            owner[tup] = cur = [rs, False]
            instances += 1
            if is_syn and tup not in seen:
                new_flows += 1
                svc = "web1" if tup[2] == VIP1 else "web2"
                ok = any(a <= ts <= b and c[svc] and rs in c[svc][1] for a, b, c in windows)
                if not ok:
                    misplaced.append((ts, rs, tup))
            seen.add(tup)
        elif cur[0] != rs:
            moved.append((ts, rs, tup, cur[0], flags))
        if flags & (FIN | RST):
            cur[1] = True
    return instances, moved, new_flows, misplaced


# --- the test -------------------------------------------------------------------------------------

def body(t):
    t.create()
    for rs in REALS:
        t.nginx(rs)
    for rs in REALS:  # each real answers on its own address before anything goes through dplbd
        url = "http://%s/" % ADDR[rs]
        if not wait_for(lambda: t.in_ns("client", "curl", "-s", "--max-time", "1", url,
                                        check_rc=False).stdout.strip() == rs, 10, 0.1):
            die("nginx on %s does not answer: %s" % (rs, t.log_text("nginx-" + rs)))
    pcaps = {rs: t.tcpdump("tcpdump-" + rs, rs, "eth0", "tcp and ether dst %s and (dst host %s or dst host %s)"
                           % (MAC[rs], VIP1, VIP2)) for rs in REALS}
    vrrp_pcap = t.tcpdump("tcpdump-vrrp", "sw", "v-lb", "ip proto 112")

    t.start_dplbd()
    t0 = time.time()
    if wait_for(lambda: t.vrrp_state("VI_1") == "MASTER" or t.lb.poll() is not None, 15, 0.1) is not True:
        die("VI_1 did not become MASTER within 15 s:\n" + t.log_text("dplbd"))
    if t.lb.poll() is not None:
        die("dplbd exited:\n" + t.log_text("dplbd"))
    print("ok: VI_1 MASTER %.1f s after dplbd started (alone on the link)" % (time.time() - t0), flush=True)

    stop_file = os.path.join(t.dir, "client.stop")
    ready_file = os.path.join(t.dir, "client.ready")
    out_file = os.path.join(t.dir, "client.json")
    with open(os.path.join(t.dir, "client.py"), "w") as f:
        f.write(CLIENT)
    client = t.spawn("client", "client", [
        "/usr/bin/python3", os.path.join(t.dir, "client.py"), VIP1, VIP2, stop_file, ready_file, out_file,
        str(time.time() + STORM_LIMIT + 20), str(REQUEST_TIMEOUT)])
    if not wait_for(lambda: os.path.exists(ready_file) or client.poll() is not None, 15, 0.1) or \
            client.poll() is not None:
        die("the client's 4 keep-alive connections did not get a first answer through VIP1:\n" +
            t.log_text("client") + t.log_text("dplbd"))

    # --- the storm ------------------------------------------------------------------------------
    storm_start = time.time()
    windows = []          # (reload requested, reload answered, configuration)
    bad_answers, bad_tables = [], []
    rss = {}
    reload_ms = []
    for i in range(1, RELOADS + 1):
        if t.lb.poll() is not None:
            die("dplbd died during the storm, at reload %d:\n%s" % (i, t.log_text("dplbd")[-4000:]))
        if time.time() - storm_start > STORM_LIMIT:
            die("the storm took longer than %d s (reload %d)" % (STORM_LIMIT, i))
        pause = storm_start + (i - 1) * PERIOD - time.time()
        if pause > 0:
            time.sleep(pause)  # pacing: one reload every PERIOD seconds
        c = CONFIGS[i % len(CONFIGS)]
        t.write_config(c)
        a = time.time()
        r = t.ctl("reload")
        b = time.time()
        reload_ms.append((b - a) * 1000)
        windows.append((a, b, c))
        if r.returncode != 0 or not r.stdout.startswith("reloaded"):
            bad_answers.append((i, r.returncode, (r.stdout + r.stderr).strip()))
        else:
            got = running_table(t.ctl_json("list"))
            if got != expected_table(c):
                bad_tables.append((i, got, expected_table(c)))
        if i in (20, RELOADS):
            rss[i] = t.rss_kib()
    storm_end = time.time()
    print("storm: %d reloads in %.1f s; reload answered in %.1f ms median, %.1f ms max"
          % (RELOADS, storm_end - storm_start, sorted(reload_ms)[len(reload_ms) // 2], max(reload_ms)), flush=True)

    open(stop_file, "w").close()
    if not wait_for(lambda: client.poll() is not None, REQUEST_TIMEOUT + 10, 0.1):
        die("the client did not stop")
    with open(out_file) as f:
        res = json.load(f)

    expect(not bad_answers, "all %d reloads answered OK%s" % (RELOADS, "" if not bad_answers else
                                                                ": %d did not, first %s" % (len(bad_answers), bad_answers[:3])))
    expect(not bad_tables, "after every reload `dplbctl list --json` matches the file%s"
           % ("" if not bad_tables else ": %d did not, first %s" % (len(bad_tables), bad_tables[:2])))

    # --- the client's view ----------------------------------------------------------------------
    ka = [rec for conns in res["keepalive"] for rec in conns]
    ka_ok = sum(r["ok"] for r in ka)
    ka_failed = sum(r["failed"] for r in ka)
    new = res["new"]
    print("client: VIP1 keep-alive requests %d ok / %d failed over %d connection(s); one-shot connections "
          "%d ok / %d failed, by real %s; VIP2 (owned part of the time, not counted) %d ok / %d failed, by real %s"
          % (ka_ok, ka_failed, len(ka), new["ok"], new["failed"], new["reals"], res["vip2"]["ok"],
             res["vip2"]["failed"], res["vip2"]["reals"]), flush=True)
    for ts, where, err in res["errors"][:8]:
        print("  failed at storm+%.1f s (%s): %s" % (ts - storm_start, where, err))
    expect(ka_failed + new["failed"] == 0 and ka_ok > 0 and new["ok"] > 0,
           "0 failed requests to VIP1 (%d keep-alive + %d one-shot ok, %d failed)"
           % (ka_ok, new["ok"], ka_failed + new["failed"]))
    expect(len(ka) == 4 and all(len(r["reals"]) == 1 and not r["closed_by_server"] for r in ka),
           "the 4 keep-alive connections lived through the storm, each answered by one real: %s"
           % ", ".join("port %s: %s" % (r["lport"], r["reals"]) for r in ka[:8]))

    # --- VRRP: VI_1 never left MASTER ---------------------------------------------------------------
    status = t.ctl_json("status")
    states = {v["instance"]: v["state"] for v in status.get("vrrp", [])}
    expect(states.get("VI_1") == "MASTER", "dplbctl status --json after the storm: VI_1 MASTER: %s" % states)
    expect("VI_2" not in states, "dplbctl status --json after the storm does not list VI_2 (removed by the "
           "last reloads): %s" % states)
    lines = re.findall(r"^dplbd: vrrp VI_1: (INIT|BACKUP|MASTER|FAULT) \((.*)\)$", t.log_text("dplbd"), re.M)
    first = next((k for k, (st, _) in enumerate(lines) if st == "MASTER"), None)
    after = lines[first + 1:] if first is not None else []
    expect(first is not None and not after,
           "dplbd's log: VI_1 became MASTER once and never changed state after that (%d change(s) after: %s)"
           % (len(after), "; ".join("%s (%s)" % x for x in after[:6])))
    vi2_lines = re.findall(r"^dplbd: vrrp VI_2: MASTER", t.log_text("dplbd"), re.M)
    print("dplbd's log: VI_2 became MASTER %d time(s) over %d additions" % (len(vi2_lines), RELOADS // 2 // 2))

    rss_growth = (rss[RELOADS] - rss[20]) / 1024.0
    expect(rss_growth <= RSS_BOUND_MIB, "dplbd's RSS after reload 20: %.1f MiB, after reload %d: %.1f MiB "
           "(growth %.1f MiB, bound %d MiB)" % (rss[20] / 1024.0, RELOADS, rss[RELOADS] / 1024.0, rss_growth,
                                                RSS_BOUND_MIB))

    # --- SIGTERM: dplbd exits 0, and a MASTER VI_1 resigns on the wire -------------------------------
    expect(t.lb.poll() is None, "dplbd still runs after the storm")
    master_at_end = t.vrrp_state("VI_1") == "MASTER"
    t_term = time.time()
    rc = t.stop(t.lb, signal.SIGTERM, 10)
    expect(rc == 0, "dplbd exits 0 on SIGTERM (exit status %s)" % rc)
    if master_at_end:
        resigned = wait_for(lambda: any(ts >= t_term and vrid == VRID1 and prio == 0
                                        for ts, vrid, prio in vrrp_adverts(vrrp_pcap)), 5, 0.2)
        expect(resigned, "the bridge capture sees VI_1 resign (priority 0) at SIGTERM: it would see one in the storm")
    else:
        print("note: VI_1 was not MASTER at SIGTERM, so no resignation to look for")
    for label, p in t.procs:
        if label.startswith("tcpdump"):
            t.stop(p, signal.SIGINT, 5)

    adverts = vrrp_adverts(vrrp_pcap)
    during = [(ts, vrid, prio) for ts, vrid, prio in adverts if storm_start <= ts <= storm_end]
    vi1 = [ts for ts, vrid, _ in during if vrid == VRID1]
    vi1_zero = [ts for ts, vrid, prio in during if vrid == VRID1 and prio == 0]
    vi2_zero = [ts for ts, vrid, prio in during if vrid == VRID2 and prio == 0]
    print("bridge capture during the storm: %d VI_1 adverts (%d with priority 0), %d VI_2 adverts (%d with "
          "priority 0, from its removals)" % (len(vi1), len(vi1_zero), sum(1 for _, v, _ in during if v == VRID2),
                                              len(vi2_zero)))
    expect(not vi1_zero, "no VI_1 advert with priority 0 during the storm%s"
           % ("" if not vi1_zero else " (first at storm+%.1f s)" % (vi1_zero[0] - storm_start)))
    edges = [storm_start] + vi1 + [storm_end]
    gap = max(b - a for a, b in zip(edges, edges[1:]))
    expect(gap < 3.0, "VI_1 advertised all through the storm: longest silence %.1f s (a backup takes over after "
           "%.2f s; limit 3 x advert_int)" % (gap, MASTER_DOWN_S))

    # --- what the reals received ----------------------------------------------------------------------
    frames = []
    for rs in REALS:
        frames += tcp_frames(pcaps[rs], rs)
    by = {(vip, rs): 0 for vip in (VIP1, VIP2) for rs in REALS}
    for _, rs, tup, _ in frames:
        by[(tup[2], rs)] += 1
    for vip, name in ((VIP1, "VIP1"), (VIP2, "VIP2")):
        stray = {rs: by[(vip, rs)] for rs in REALS if rs not in ALLOWED[vip] and by[(vip, rs)]}
        expect(not stray and sum(by[(vip, rs)] for rs in ALLOWED[vip]) > 0,
               "%s frames reached only its reals %s: %s" % (name, sorted(ALLOWED[vip]),
                                                             {rs: by[(vip, rs)] for rs in REALS}))
    expect(all(tup[3] == 80 for _, _, tup, _ in frames), "every frame to a VIP was for port 80")
    slack = 0.1  # a worker takes a new snapshot at its next loop pass after the publish
    wins = [(windows[k][0] - slack, (windows[k + 1][1] if k + 1 < len(windows) else 1e18) + slack,
             windows[k][2]) for k in range(len(windows))]
    wins.insert(0, (0.0, windows[0][1] + slack, CONFIGS[0]))  # the start file, until reload 1 answered
    instances, moved, new_flows, misplaced = flow_checks(frames, wins)
    expect(not moved, "no client flow reached two reals: %d flows, %d frames%s"
           % (instances, len(frames), "" if not moved else "; %d frames elsewhere, first %s" % (len(moved), moved[:3])))
    expect(not misplaced and new_flows > 0,
           "each of the %d new flows went to a real of the configuration then in force%s"
           % (new_flows, "" if not misplaced else "; %d did not, first %s" % (len(misplaced), misplaced[:3])))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    t = Storm(build)

    def killed(sig, _frame):  # meson's timeout: clean up all the same
        raise Fatal("stopped by signal %d" % sig)
    signal.signal(signal.SIGTERM, killed)
    signal.signal(signal.SIGINT, killed)
    try:
        body(t)
    except Fatal as e:
        print("FAIL: " + str(e), flush=True)
        RESULTS.append(False)
    except SystemExit:
        raise
    except BaseException as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), flush=True)
        RESULTS.append(False)
    finally:
        if not all(RESULTS) and t.dir:
            log = t.log_text("dplbd")
            vr = [l for l in log.splitlines() if "vrrp" in l]
            print("--- dplbd log: %d line(s), VRRP lines (first 30) ---\n%s\n--- last 20 lines ---\n%s"
                  % (len(log.splitlines()), "\n".join(vr[:30]), "\n".join(log.splitlines()[-20:])), flush=True)
        t.close()
    failed = RESULTS.count(False)
    print("%d passed, %d failed" % (RESULTS.count(True), failed), flush=True)
    sys.exit(1 if failed or not RESULTS else 0)


if __name__ == "__main__":
    main()
