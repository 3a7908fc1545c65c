#!/usr/bin/python3
"""Fail-safe: a stalled control thread withholds the VRRP VIPs, in network namespaces of the test's own.

  client (10.93.0.10) ─┐
  lb     (10.93.0.2)  ─┤  dplbd on net_af_packet over its veth; VRRP VI_1 (advert_int 1, priority 100,
  rs1    (10.93.0.11) ─┼─ bridge     alone on the link, so MASTER) owns VIP1; VIP2 is in no VRRP instance
  rs2    (10.93.0.12) ─┘  nginx on each real server, VIP1 and VIP2 on lo, arp_ignore=1 / arp_announce=2

VIP1:80 (web1) and VIP2:80 (web2) are both served by rs1 and rs2. The test stops only dplbd's control
thread (the main thread, tid = pid) with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT on that tid: the other
threads, the worker lcore among them, go on) and lets it run again with PTRACE_DETACH.

Checks: before the stall VIP1 and VIP2 answer HTTP and ARP for either is answered by the director's MAC
only; during the stall (main thread 't', worker 'R'/'S' per /proc/PID/task/*/stat) VIP1 stops answering
ARP and new TCP connections to it time out within the fail-safe interval (2 x advert_int = 2 s) plus a
bound that leaves a backup no room to take over first, and not much sooner, while VIP2 keeps answering
ARP and HTTP through the data plane; after PTRACE_DETACH VIP1 answers again within RESUME_BOUND_S, VI_1 is
still MASTER and never left it, and /metrics counts the dropped frames as
dplb_drops_total{reason="control_stalled"}; dplbd exits 0 on SIGTERM.

Usage: test_failsafe_live.py BUILD_DIR. Exit 0 pass, 1 fail, 77 where namespaces cannot be made."""

import ctypes
import errno
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import SKIP  # noqa: E402

NET = "10.93.0"
VIP1, VIP2 = NET + ".100", NET + ".101"
ADDR = {"client": NET + ".10", "lb": NET + ".2", "rs1": NET + ".11", "rs2": NET + ".12"}
MAC = {"client": "02:00:00:93:00:10", "lb": "02:00:00:93:00:02", "rs1": "02:00:00:93:00:11",
       "rs2": "02:00:00:93:00:12"}
HOSTS = ("client", "lb", "rs1", "rs2")
REALS = ("rs1", "rs2")
VRID1 = 61
METRICS = "127.0.0.1:9642"    # in the director's namespace
ADVERT_S = 1.0
FAILSAFE_S = 2 * ADVERT_S     # director.cc failsafe_for(): 2 x the shortest advert_int
# A backup takes over 3 x advert_int + (256 - priority) / 256 s after the last advert it heard, and the
# stalled thread sent its last advert up to one advert_int before it stopped: VIP1 must be withheld by then.
MASTER_DOWN_S = 3 * ADVERT_S + (256 - 100) / 256.0
WITHHELD_BY_S = MASTER_DOWN_S - ADVERT_S
# Not much sooner than the fail-safe interval: the heartbeat beats every 100 ms, so its last beat is at
# most 0.1 s older than the stall; 0.3 s of slack for the probes' own timing.
WITHHELD_NOT_BEFORE_S = FAILSAFE_S - 0.4
SETTLE_S = FAILSAFE_S + 1.0   # from the stall: VIP1 is surely withheld
RESUME_BOUND_S = 3.0          # from PTRACE_DETACH: VIP1 answers ARP and HTTP again
PROBES = 4                    # probes of each kind in the settled stall

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000             # __WALL

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


def lb_config(sock):
    y = ("ports:\n  - name: lan0\n    device: net_af_packet0\n    addresses: [%s/24]\n" % ADDR["lb"] +
         "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
         "control:\n  socket: %s\nmetrics:\n  listen: \"%s\"\n" % (sock, METRICS))
    y += "services:\n"
    for svc, vip in (("web1", VIP1), ("web2", VIP2)):
        y += "  - name: %s\n    vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n" % (svc, vip)
        y += "    real_servers:\n"
        for r in REALS:
            y += '      - ip: %s\n        mac: "%s"\n        weight: 1\n' % (ADDR[r], MAC[r])
    y += ("vrrp_instances:\n"
          "  - name: VI_1\n    interface: lan0\n    state: BACKUP\n    virtual_router_id: %d\n"
          "    priority: 100\n    advert_int: 1\n    authentication: {type: PASS, password: fsafe1}\n"
          "    virtual_ipaddresses: [%s]\n" % (VRID1, VIP1))
    return y


# The client's prober, one process in the client namespace: a JSON command a line on stdin, a JSON
# answer a line on stdout. "arp": one ARP request on a raw socket (the kernel's neighbour cache is not
# involved), the repliers' MACs within `timeout` (the first one only unless `all`). "http": one new TCP
# connection and GET /, with the stage that failed and whether it was a timeout.
PROBER = r'''
import json, socket, struct, sys, time, http.client
my_mac = bytes.fromhex(sys.argv[1].replace(":", ""))
my_ip = socket.inet_aton(sys.argv[2])
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
raw.bind(("eth0", 0x0806))

def arp(ip, timeout, all_):
    raw.setblocking(False)
    while True:  # replies to earlier probes
        try:
            raw.recv(2048)
        except BlockingIOError:
            break
    tpa = socket.inet_aton(ip)
    frame = (b"\xff" * 6 + my_mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
             my_mac + my_ip + b"\x00" * 6 + tpa)
    sent = time.time()
    raw.send(frame.ljust(60, b"\x00"))
    end = sent + timeout
    macs = []
    while True:
        left = end - time.time()
        if left <= 0:
            break
        raw.settimeout(left)
        try:
            f = raw.recv(2048)
        except (socket.timeout, BlockingIOError):
            break
        if len(f) < 42 or f[12:14] != b"\x08\x06" or f[20:22] != b"\x00\x02" or f[28:32] != tpa:
            continue
        macs.append(":".join("%02x" % b for b in f[22:28]))
        if not all_:
            break
    return {"sent": sent, "macs": macs}

def http_get(ip, timeout):
    sent = time.time()
    conn = http.client.HTTPConnection(ip, 80, timeout=timeout)
    stage = "connect"
    try:
        conn.connect()
        stage = "request"
        conn.request("GET", "/", headers={"Connection": "close"})
        r = conn.getresponse()
        body = r.read().decode().strip()
        if r.status != 200:
            return {"sent": sent, "ok": False, "stage": "status", "err": "HTTP %d" % r.status}
        return {"sent": sent, "ok": True, "body": body}
    except Exception as e:
        return {"sent": sent, "ok": False, "stage": stage, "err": repr(e),
                "timeout": isinstance(e, (socket.timeout, TimeoutError))}
    finally:
        conn.close()

for line in sys.stdin:
    c = json.loads(line)
    if c["op"] == "arp":
        out = arp(c["ip"], c["timeout"], c.get("all", False))
    else:
        out = http_get(c["ip"], c["timeout"])
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
'''


class Test:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.dplbd = os.path.join(self.build, "controlplane/dplbd")
        self.dplbctl = os.path.join(self.build, "controlplane/dplbctl")
        self.prefix = "dplbfs%d-" % os.getpid()
        self.namespaces = []
        self.procs = []          # (label, Popen), stopped in reverse order by close()
        self.dir = None
        self.lb = None
        self.prober = None
        self.seized = None       # the tid while this process traces it
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.restype = ctypes.c_long
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]

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
        self.dir = tempfile.mkdtemp(prefix="dplb-failsafe-")
        for tool in ("nginx", "ethtool", "curl"):
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

    def spawn(self, label, host, args, **kw):
        log = open(os.path.join(self.dir, label + ".log"), "w")
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns(host)] + list(args), stderr=log,
                                 **({"stdout": log} if "stdout" not in kw else {}), **kw)
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
        if self.seized is not None:  # never leave dplbd's control thread stopped
            try:
                self.resume()
            except Exception as e:
                print("cleanup: detaching from %d: %s" % (self.seized, e))
        if self.prober is not None and self.prober.stdin:
            try:
                self.prober.stdin.close()
            except OSError:
                pass
        for label, p in reversed(self.procs):
            try:
                self.stop(p, signal.SIGTERM, 5)
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
                    "http {\n  access_log off;\n"
                    "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
                    "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
                    "  server { listen 80; location / { default_type text/plain; return 200 \"%s\\n\"; } }\n}\n"
                    % ((d,) * 7 + (rs,)))
        return self.spawn("nginx-" + rs, rs, ["nginx", "-e", os.path.join(d, "error.log"), "-c", conf, "-p", d])

    def ctl(self, *args, timeout=10):
        return subprocess.run([self.dplbctl, "-s", self.sock] + list(args), capture_output=True, text=True,
                              timeout=timeout)

    def vrrp_state(self, name):
        r = self.ctl("status", "--json")
        if r.returncode != 0:
            return None
        for v in json.loads(r.stdout).get("vrrp", []):
            if v.get("instance") == name:
                return v.get("state")
        return "absent"

    def start_dplbd(self):
        self.sock = os.path.join(self.dir, "dplb.sock")
        self.config = os.path.join(self.dir, "lb.yaml")
        with open(self.config, "w") as f:
            f.write(lb_config(self.sock))
        # `ip netns exec` execs dplbd: the Popen's pid is dplbd's, and so the tid of its main thread.
        self.lb = self.spawn("dplbd", "lb", [
            self.dplbd, "-l", "0,1", "--no-huge", "--no-pci", "-m", "512", "--file-prefix", self.ns("lb"),
            "--log-level", "lib.eal:error", "--vdev", "net_af_packet0,iface=eth0", "--",
            "--config", self.config, "--idle-sleep-us", "100"])
        if not wait_for(lambda: self.lb.poll() is not None or
                        (os.path.exists(self.sock) and self.ctl("status").returncode == 0), 15, 0.1):
            die("dplbd did not open its control socket:\n" + self.log_text("dplbd"))
        if self.lb.poll() is not None:
            die("dplbd exited at start:\n" + self.log_text("dplbd"))

    def start_prober(self):
        path = os.path.join(self.dir, "prober.py")
        with open(path, "w") as f:
            f.write(PROBER)
        self.prober = self.spawn("prober", "client", ["/usr/bin/python3", "-u", path, MAC["client"], ADDR["client"]],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.prober_buf = b""

    def probe(self, **cmd):
        """One prober command; its answer, or Fatal when none comes in time."""
        self.prober.stdin.write((json.dumps(cmd) + "\n").encode())
        self.prober.stdin.flush()
        end = time.time() + cmd["timeout"] + 5
        fd = self.prober.stdout.fileno()
        while b"\n" not in self.prober_buf:
            left = end - time.time()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                die("the prober did not answer %s: %s" % (cmd, self.log_text("prober")))
            chunk = os.read(fd, 65536)
            if not chunk:
                die("the prober exited: %s" % self.log_text("prober"))
            self.prober_buf += chunk
        line, self.prober_buf = self.prober_buf.split(b"\n", 1)
        return json.loads(line)

    def arp(self, ip, timeout, all_=False):
        return self.probe(op="arp", ip=ip, timeout=timeout, all=all_)

    def http(self, ip, timeout):
        return self.probe(op="http", ip=ip, timeout=timeout)

    def client_neigh(self, ip):
        return self.in_ns("client", "ip", "neigh", "show", ip, "dev", "eth0").stdout.strip()

    def metric(self, name, labels):
        """The value of one sample of dplbd's /metrics, None when it is not there, Fatal when /metrics fails."""
        r = self.in_ns("lb", "curl", "-s", "--max-time", "3", "http://%s/metrics" % METRICS, check_rc=False)
        if r.returncode != 0:
            die("curl http://%s/metrics in the director's namespace: exit %d %s" % (METRICS, r.returncode, r.stderr))
        m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), r.stdout, re.M)
        return float(m.group(1)) if m else None

    # --- the control thread, by ptrace ------------------------------------------------------------

    def ptrace(self, req, tid, data=0):
        ctypes.set_errno(0)
        if self.libc.ptrace(req, tid, None, ctypes.c_void_p(data)) == -1:
            e = ctypes.get_errno()
            raise OSError(e, "ptrace(%#x, %d): %s" % (req, tid, os.strerror(e)))

    def stop_thread(self, tid):
        """Stops that one thread (PTRACE_SEIZE + PTRACE_INTERRUPT); returns once waitpid sees it stopped."""
        self.ptrace(PTRACE_SEIZE, tid)
        self.seized = tid
        self.ptrace(PTRACE_INTERRUPT, tid)
        end = time.time() + 5
        while True:
            # WNOHANG: bounded. dplbd is also this process's child, so nothing else may wait for it
            # meanwhile (Popen.poll() would take the stop for an exit): alive() reads /proc instead.
            pid, status = os.waitpid(tid, WALL | os.WNOHANG)
            if pid == tid:
                if os.WIFSTOPPED(status):
                    return
                self.seized = None
                die("dplbd's main thread did not stop but ended (wait status %#x)" % status)
            if time.time() >= end:
                die("dplbd's main thread did not stop within 5 s of PTRACE_INTERRUPT")
            time.sleep(0.001)

    def resume(self):
        tid = self.seized
        try:
            self.ptrace(PTRACE_DETACH, tid)
        except OSError as e:
            if e.errno != errno.ESRCH:
                raise
            # ESRCH: not in a ptrace stop (or gone); stop it again so that it can be detached
            try:
                self.ptrace(PTRACE_INTERRUPT, tid)
            except OSError as e2:
                if e2.errno == errno.ESRCH:
                    self.seized = None
                    return
                raise
            wait_for(lambda: os.waitpid(tid, WALL | os.WNOHANG)[0] == tid, 5, 0.001)
            self.ptrace(PTRACE_DETACH, tid)
        self.seized = None

    def threads(self):
        """{tid: (comm, state)} of dplbd's threads, from /proc/PID/task/*/stat."""
        out = {}
        base = "/proc/%d/task" % self.lb.pid
        for t in os.listdir(base):
            try:
                with open("%s/%s/stat" % (base, t)) as f:
                    s = f.read()
            except OSError:
                continue
            comm = s[s.index("(") + 1:s.rindex(")")]
            out[int(t)] = (comm, s[s.rindex(")") + 2])
        return out

    def alive(self):
        """dplbd runs (not a zombie), read from /proc without waiting for it."""
        try:
            with open("/proc/%d/stat" % self.lb.pid) as f:
                s = f.read()
            return s[s.rindex(")") + 2] not in "ZX"
        except OSError:
            return False


WORKER = re.compile(r"^(lcore-worker-\d+|dpdk-worker\d+|rte-worker-\d+)$")


def vip_answers(t, vip, arp_timeout, http_timeout):
    """(ARP answered by the director's MAC, HTTP answered) for one probe of each."""
    a = t.arp(vip, arp_timeout)
    h = t.http(vip, http_timeout)
    return MAC["lb"] in a["macs"], h["ok"], a, h


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

    t.start_dplbd()
    t0 = time.time()
    if wait_for(lambda: t.vrrp_state("VI_1") == "MASTER" or t.lb.poll() is not None, 15, 0.1) is not True:
        die("VI_1 did not become MASTER within 15 s:\n" + t.log_text("dplbd"))
    if t.lb.poll() is not None:
        die("dplbd exited:\n" + t.log_text("dplbd"))
    print("ok: VI_1 MASTER %.1f s after dplbd started (alone on the link)" % (time.time() - t0), flush=True)
    t.start_prober()

    # --- before the stall ---------------------------------------------------------------------------
    for vip, name in ((VIP1, "VIP1 (VI_1)"), (VIP2, "VIP2 (no VRRP)")):
        a = t.arp(vip, 0.5, all_=True)
        expect(a["macs"] and set(a["macs"]) == {MAC["lb"]},
               "before the stall, ARP for %s is answered by the director's MAC only: %s" % (name, a["macs"]))
    t.in_ns("client", "ip", "neigh", "flush", "to", VIP1, "dev", "eth0", check_rc=False)
    flushed = t.client_neigh(VIP1)
    h1 = t.http(VIP1, 2.0)  # the client's kernel asks ARP for VIP1 first
    expect(MAC["lb"] not in flushed and h1["ok"] and h1["body"] in REALS and MAC["lb"] in t.client_neigh(VIP1),
           "before the stall, with the client's neighbour entry flushed (%r), GET http://VIP1/ answers (%s) and "
           "the client's kernel resolves VIP1 to the director (%s)"
           % (flushed, h1.get("body") or h1.get("err"), t.client_neigh(VIP1)))
    h2 = t.http(VIP2, 2.0)
    expect(h2["ok"] and h2["body"] in REALS, "before the stall, GET http://VIP2/ answers: %s"
           % (h2.get("body") or h2.get("err")))
    stalled0 = t.metric("dplb_drops_total", 'reason="control_stalled"')
    expect(stalled0 is not None, "/metrics has dplb_drops_total{reason=\"control_stalled\"} (before the stall: %s)"
           % stalled0)
    shown0 = "absent" if stalled0 is None else stalled0
    stalled0 = stalled0 or 0.0
    # From here on the client sends VIP1's frames to the director without asking ARP: the TCP probes test
    # the forwarding path, the ARP probes (raw socket) the ARP path, each on its own.
    t.in_ns("client", "ip", "neigh", "replace", VIP1, "lladdr", MAC["lb"], "dev", "eth0", "nud", "permanent")
    t.in_ns("client", "ip", "neigh", "replace", VIP2, "lladdr", MAC["lb"], "dev", "eth0", "nud", "permanent")

    pid = t.lb.pid
    before = t.threads()
    workers = {tid: c for tid, (c, _) in before.items() if WORKER.match(c)}
    if not workers:
        die("no worker lcore thread among dplbd's threads: %s" % before)
    print("dplbd's threads: %s" % ", ".join("%d %s %s" % (k, c, s) for k, (c, s) in sorted(before.items())))

    # --- the stall ----------------------------------------------------------------------------------
    t.stop_thread(pid)
    stall = time.time()
    states = t.threads()
    expect(states[pid][1] in "tT" and all(states[w][1] in "RS" for w in workers),
           "PTRACE_INTERRUPT on tid %d stopped only the control thread: %s" % (pid, ", ".join(
               "%s %s" % (c, s) for _, (c, s) in sorted(states.items()))))
    worker_states = set()

    # VIP1 withheld: probe ARP and HTTP back to back until both fail three times in a row.
    arp_log, http_log = [], []   # (seconds into the stall at the probe's send, answered)
    end = stall + WITHHELD_BY_S + 2.0
    while time.time() < end:
        ok_a, ok_h, a, h = vip_answers(t, VIP1, 0.1, 0.25)
        arp_log.append((a["sent"] - stall, ok_a))
        http_log.append((h["sent"] - stall, ok_h))
        worker_states |= {t.threads().get(w, ("?", "gone"))[1] for w in workers}
        if len(arp_log) >= 3 and not any(ok for _, ok in arp_log[-3:]) and not any(ok for _, ok in http_log[-3:]):
            break
        time.sleep(0.02)

    def withheld_at(log):
        """(last answered, first unanswered after it) in seconds into the stall; None where none."""
        last_ok = max((s for s, ok in log if ok), default=None)
        first_fail = min((s for s, ok in log if not ok and (last_ok is None or s > last_ok)), default=None)
        return last_ok, first_fail

    a_ok, a_fail = withheld_at(arp_log)
    h_ok, h_fail = withheld_at(http_log)
    fig = lambda x: "never" if x is None else "%.3f s" % x  # noqa: E731
    print("VIP1 in the stall: ARP last answered at %s, unanswered from %s; HTTP last answered at %s, "
          "failing from %s (%d probes of each)" % (fig(a_ok), fig(a_fail), fig(h_ok), fig(h_fail), len(arp_log)),
          flush=True)
    expect(a_fail is not None and a_fail <= WITHHELD_BY_S and h_fail is not None and h_fail <= WITHHELD_BY_S,
           "VIP1 withheld within %.2f s of the stall (a backup takes over %.2f s after the last advert): ARP "
           "unanswered from %s, new TCP connections failing from %s" % (WITHHELD_BY_S, MASTER_DOWN_S, fig(a_fail),
                                                                        fig(h_fail)))
    expect(a_ok is not None and a_ok >= WITHHELD_NOT_BEFORE_S and h_ok is not None and h_ok >= WITHHELD_NOT_BEFORE_S,
           "VIP1 kept working until close to the fail-safe interval (%.1f s): ARP last answered at %s, HTTP at %s "
           "(not before %.1f s)" % (FAILSAFE_S, fig(a_ok), fig(h_ok), WITHHELD_NOT_BEFORE_S))

    # The settled stall: VIP1 withheld, VIP2 served, the worker running.
    if time.time() < stall + SETTLE_S:
        time.sleep(stall + SETTLE_S - time.time())  # not synchronisation: the check is "still withheld later"
    settled = [t.arp(VIP1, 0.3) for _ in range(PROBES)]
    expect(not any(a["macs"] for a in settled),
           "%.1f s into the stall, %d ARP requests for VIP1 get no reply: %s"
           % (settled[0]["sent"] - stall, PROBES, [a["macs"] for a in settled]))
    tcp = [t.http(VIP1, 0.5) for _ in range(PROBES)]
    expect(all(not h["ok"] and h["stage"] == "connect" and h.get("timeout") for h in tcp),
           "%d new TCP connections to VIP1 time out at connect (0.5 s each): %s"
           % (PROBES, [h.get("err") or h.get("body") for h in tcp]))
    a2 = t.arp(VIP2, 0.5, all_=True)
    expect(set(a2["macs"]) == {MAC["lb"]}, "during the stall ARP for VIP2 (no VRRP) is answered by the director: %s"
           % a2["macs"])
    v2 = []
    for _ in range(2 * PROBES):
        v2.append(t.http(VIP2, 1.0))
        worker_states |= {t.threads().get(w, ("?", "gone"))[1] for w in workers}
    expect(all(h["ok"] and h["body"] in REALS for h in v2),
           "during the stall %d new connections to VIP2 (no VRRP) are forwarded by the data plane and answered: %s"
           % (len(v2), sorted({h.get("body") or h.get("err") for h in v2})))
    states = t.threads()
    expect(states[pid][1] in "tT" and worker_states <= set("RS") and t.alive(),
           "%.1f s into the stall the control thread is still stopped (%s) and the worker ran all along (states "
           "seen: %s)" % (time.time() - stall, states[pid][1], "".join(sorted(worker_states))))

    # --- resume ---------------------------------------------------------------------------------------
    t.resume()
    detach = time.time()
    # ARP first, at a fine grain (the resume figure), then a new connection; each answered, in that order.
    arp_back = http_back = None
    tries = 0
    while time.time() < detach + RESUME_BOUND_S + 2.0:
        tries += 1
        if arp_back is None:
            a = t.arp(VIP1, 0.03)
            if MAC["lb"] in a["macs"]:
                arp_back = a["sent"] - detach
        if arp_back is not None:
            h = t.http(VIP1, 0.25)
            if h["ok"]:
                http_back = h["sent"] - detach
                break
        time.sleep(0.01)
    expect(arp_back is not None and http_back is not None and http_back <= RESUME_BOUND_S,
           "after PTRACE_DETACH VIP1 answers again within %.1f s: the first answered ARP request was sent %s after "
           "it, the first answered new connection %s after it (%d tries)"
           % (RESUME_BOUND_S, "never" if arp_back is None else "%.0f ms" % (arp_back * 1000),
              "never" if http_back is None else "%.0f ms" % (http_back * 1000), tries))
    expect(t.threads()[pid][1] not in "tT", "the control thread runs again (%s)" % t.threads()[pid][1])
    state = t.vrrp_state("VI_1")
    expect(state == "MASTER", "VI_1 is still MASTER after the stall (dplbctl status: %s)" % state)
    lines = re.findall(r"^dplbd: vrrp VI_1: (INIT|BACKUP|MASTER|FAULT) \((.*)\)$", t.log_text("dplbd"), re.M)
    first = next((k for k, (st, _) in enumerate(lines) if st == "MASTER"), None)
    after = lines[first + 1:] if first is not None else []
    expect(first is not None and not after, "dplbd's log: VI_1 became MASTER once and never changed state after "
           "(%d change(s) after: %s)" % (len(after), "; ".join("%s (%s)" % x for x in after[:6])))
    stalled = t.metric("dplb_drops_total", 'reason="control_stalled"')
    # Frames certainly seen and dropped: each unanswered ARP request for VIP1, and at least one SYN of each
    # failed connection (the client's neighbour entry for VIP1 is permanent, so every SYN went out).
    arps = PROBES + sum(1 for _, ok in arp_log if not ok)
    syns = PROBES + sum(1 for _, ok in http_log if not ok)
    expect(stalled is not None and stalled - stalled0 >= arps + syns,
           "/metrics: dplb_drops_total{reason=\"control_stalled\"} went from %s to %s (at least the %d unanswered "
           "ARP requests and %d SYNs for VIP1)" % (shown0, "absent" if stalled is None else stalled, arps, syns))

    # The kernel's own ARP for VIP1 works again too.
    t.in_ns("client", "ip", "neigh", "del", VIP1, "dev", "eth0", check_rc=False)
    h = t.http(VIP1, 2.0)
    expect(h["ok"] and MAC["lb"] in t.client_neigh(VIP1),
           "after the stall, with the client's neighbour entry removed, GET http://VIP1/ answers (%s) and VIP1 "
           "resolves to the director (%s)" % (h.get("body") or h.get("err"), t.client_neigh(VIP1)))

    expect(t.lb.poll() is None, "dplbd still runs after the stall")
    rc = t.stop(t.lb, signal.SIGTERM, 10)
    expect(rc == 0, "dplbd exits 0 on SIGTERM (exit status %s)" % rc)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    t = Test(build)

    def killed(sig, _frame):  # meson's timeout: clean up all the same
        raise Fatal("stopped by signal %d" % sig)
    signal.signal(signal.SIGTERM, killed)
    signal.signal(signal.SIGINT, killed)
    start = time.time()
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
            print("--- dplbd log, last 30 of %d line(s) ---\n%s" % (len(log.splitlines()),
                                                                    "\n".join(log.splitlines()[-30:])), flush=True)
        t.close()
    failed = RESULTS.count(False)
    print("%d passed, %d failed in %.1f s" % (RESULTS.count(True), failed, time.time() - start), flush=True)
    sys.exit(1 if failed or not RESULTS else 0)


if __name__ == "__main__":
    main()
