#!/usr/bin/python3
"""The real dplbd on a net_pcap port (no namespace needed), against clients that misbehave:
1. /metrics: 8 TCP connections that send nothing and 4 that send half a request do not keep a
   scrape out; they are closed after the short request timeout; a client that reconnects every
   connection the server closes does not keep /metrics down either.
2. The control socket: 200 idle connections do not keep `dplbctl status` out; dplbd holds at most
   its session cap of them and closes each after the request deadline; `reload` and
   `list --connections` (answered asynchronously) still work. Under `prlimit --nofile=64:64`, with
   the descriptors exhausted by clients that reconnect, the control thread stays idle (no accept
   loop) and dplbd answers again once the clients are gone.
3. A second dplbd with the same configuration (same control socket) exits non-zero at once with a
   clear message, without starting or transmitting on its port; the first keeps its socket; after
   the first is killed (-9) a new one starts over the stale socket and lock.

Usage: test_hardening_live.py BUILD_DIR. Prints ok/FAIL lines and "N passed, M failed"; exit 1 on
a failure, 77 when dplbd cannot run here at all."""

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import SKIP  # noqa: E402

VIP = "10.10.0.100"
PORT_MAC = bytes.fromhex("027063617000")  # net_pcap's first port: "\x02pcap\x00"
CLIENT_MAC = bytes.fromhex("0200000000aa")
REQUEST_DEADLINE_S = 5.0  # dplbd's deadline for a control request (control_server.h)
SESSION_CAP = 64          # dplbd's cap on concurrent control sessions
METRICS_TIMEOUT_S = 2.0   # civetweb's request_timeout_ms in metrics.cc
CLK_TCK = os.sysconf("SC_CLK_TCK")

passed = 0
failed = 0


class Abort(Exception):
    """A prerequisite of the current part failed: the rest of the part cannot run."""


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
        print("ok: " + msg, flush=True)
    else:
        failed += 1
        print("FAIL: " + msg, flush=True)
    return cond


def require(cond, msg):
    if not check(cond, msg):
        raise Abort(msg)


# ---- frames and pcap files -------------------------------------------------------------------

def ip4(s):
    return socket.inet_aton(s)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def tcp_syn(src, dst, sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, ip4(src), ip4(dst))
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    return PORT_MAC + CLIENT_MAC + b"\x08\x00" + iph + tcp


def arp_request(sender_ip, target_ip):
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, CLIENT_MAC, ip4(sender_ip), b"\0" * 6, ip4(target_ip))
    return b"\xff" * 6 + CLIENT_MAC + b"\x08\x06" + arp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1, i, len(fr), len(fr)) + fr)


def pcap_count(path):
    """Records in a pcap file; None when the file does not exist."""
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return None
    n, off = 0, 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        off += 16 + incl
        n += 1
    return n


# ---- dplbd -----------------------------------------------------------------------------------

def config_text(sock, metrics_port):
    return ("ports:\n  - name: lan0\n    device: net_pcap0\n"
            "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
            "control:\n  socket: %s\n" % sock +
            ("metrics:\n  listen: 127.0.0.1:%d\n" % metrics_port if metrics_port else "metrics:\n  listen: off\n") +
            "services:\n  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    real_servers:\n"
            "      - ip: 10.10.0.11\n        mac: \"02:00:00:00:00:11\"\n" % VIP)


class Dplbd:
    """One dplbd on a net_pcap port: frames in from NAME-in.pcap, out to NAME-out.pcap."""
    started = []

    def __init__(self, build, tmp, name, config, frames=(), prefix=()):
        self.build, self.name, self.config = build, name, config
        self.inp = os.path.join(tmp, name + "-in.pcap")
        self.out = os.path.join(tmp, name + "-out.pcap")
        self.logname = os.path.join(tmp, name + ".log")
        write_pcap(self.inp, frames)
        self.sock = None
        for line in open(config):
            if line.strip().startswith("socket:"):
                self.sock = line.split(":", 1)[1].strip()
        vdev = "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (self.inp, self.out)
        self.cmd = list(prefix) + [
            os.path.join(build, "controlplane/dplbd"), "-l", "0,1", "--no-huge", "--no-pci", "--no-shconf",
            "-m", "256", "--no-telemetry", "--file-prefix", "dplbh%d%s" % (os.getpid(), name),
            "--log-level", "lib.eal:error", "--vdev", vdev, "--", "--config", config, "--idle-sleep-us", "100"]
        self.proc = None

    def start(self):
        self.log = open(self.logname, "w+")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        Dplbd.started.append(self)
        return self

    def ctl(self, *args, timeout=30):
        return subprocess.run([os.path.join(self.build, "controlplane/dplbctl"), "-s", self.sock] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def wait_ready(self, seconds=20):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(self.sock):
                try:
                    if self.ctl("status", timeout=max(1, end - time.monotonic())).returncode == 0:
                        return True
                except subprocess.TimeoutExpired:
                    return False
            time.sleep(0.05)
        return False

    def read_log(self):
        self.log.flush()
        with open(self.logname) as f:
            return f.read()

    def fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return -1

    def thread_cpu_ticks(self, tid=None):
        """utime + stime of one thread (the main thread, which is the control thread, by default)."""
        tid = tid or self.proc.pid
        with open("/proc/%d/task/%d/stat" % (self.proc.pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def process_cpu_ticks(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def show_log(d):
    print("--- %s log ---\n%s--- end of log ---" % (d.name, d.read_log()), flush=True)


# ---- misbehaving clients ---------------------------------------------------------------------

def unix_connect(path, timeout=2.0):
    """A connection to a Unix socket, or None. A blocking connect waits while the listener's backlog
    is full (a non-blocking one would fail at once): SO_SNDTIMEO bounds that wait."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sec = int(timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", sec, int((timeout - sec) * 1e6)))
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def tcp_connect(port, payload=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    if payload:
        s.sendall(payload)
    s.setblocking(False)
    return s


def closed_by_peer(s):
    """True when the peer closed s (EOF or reset); reads and drops anything it sent."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait_all_closed(socks, seconds):
    """Polls until the peer has closed every socket in socks or seconds pass; returns the
    (monotonic) time each closed, None for those still open."""
    closed_at = [None] * len(socks)
    end = time.monotonic() + seconds
    while time.monotonic() < end and None in closed_at:
        pending = [s for i, s in enumerate(socks) if closed_at[i] is None]
        r, _, _ = select.select(pending[:500], [], [], min(0.2, max(0, end - time.monotonic())))
        now = time.monotonic()
        for s in r:
            i = socks.index(s)
            if closed_by_peer(s):
                closed_at[i] = now
    return closed_at


class Reconnector(threading.Thread):
    """Keeps `count` connections open: every one the server closes is opened again at once."""

    def __init__(self, connect, count):
        super().__init__(daemon=True)
        self.connect, self.count = connect, count
        self.socks = []
        self.reconnects = 0
        self.failed_connects = 0
        self.stop_flag = threading.Event()

    def fill(self):
        while len(self.socks) < self.count and not self.stop_flag.is_set():
            s = self.connect()
            if s is None:
                self.failed_connects += 1
                return
            self.socks.append(s)

    def run(self):
        self.fill()
        end = time.monotonic() + 120  # bounded whatever the caller does
        while not self.stop_flag.is_set() and time.monotonic() < end:
            r, _, _ = select.select(self.socks, [], [], 0.1) if self.socks else ([], [], [])
            for s in r:
                if closed_by_peer(s):
                    self.socks.remove(s)
                    s.close()
                    self.reconnects += 1
            if len(self.socks) < self.count:
                self.fill()
                if len(self.socks) < self.count:
                    self.stop_flag.wait(0.05)  # the server's backlog is full: try again shortly

    def close(self):
        self.stop_flag.set()
        if self.is_alive():
            self.join(10)
        for s in self.socks:
            s.close()
        self.socks = []


def scrape(port, timeout):
    """GET /metrics with a bound; returns (seconds, body) or (seconds, None) on failure."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(max(0.01, timeout - (time.monotonic() - t0)))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            if time.monotonic() - t0 > timeout:
                raise socket.timeout()
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        ok = data.startswith(b"HTTP/1.1 200") and b"dplb_drops_total" in data
        return time.monotonic() - t0, data if ok else None
    except OSError:
        return time.monotonic() - t0, None


# ---- the parts -------------------------------------------------------------------------------

def part_metrics(build, tmp):
    port = 20000 + os.getpid() % 1000
    cfg = os.path.join(tmp, "metrics.yaml")
    open(cfg, "w").write(config_text(os.path.join(tmp, "metrics.sock"), port))
    d = Dplbd(build, tmp, "metrics", cfg).start()
    socks = []
    rec = None
    try:
        require(d.wait_ready(), "metrics: dplbd starts")
        took, body = scrape(port, 5)
        require(body is not None, "metrics: a scrape answers (%.3f s)" % took)
        socks = [tcp_connect(port) for _ in range(8)]
        socks += [tcp_connect(port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n") for _ in range(4)]
        opened = time.monotonic()
        worst = 0.0
        ok = True
        for _ in range(3):
            took, body = scrape(port, 3.0)
            worst = max(worst, took)
            ok &= body is not None
        check(ok, "metrics: with 8 idle and 4 half-request connections open, 3 scrapes answer within 3 s "
                  "(slowest %.3f s)" % worst)
        closed = wait_all_closed(socks, METRICS_TIMEOUT_S + 8)
        late = [c - opened for c in closed if c is not None]
        check(None not in closed, "metrics: the server closes all 12 idle/half connections by itself (after "
                                  "%.1f..%.1f s; request timeout %.1f s)"
              % (min(late or [0]), max(late or [0]), METRICS_TIMEOUT_S))
        for s in socks:
            s.close()
        socks = []
        # A client that opens a new connection for every one the server closes.
        rec = Reconnector(lambda: tcp_connect(port), 12)
        rec.start()
        # Scrapes, 20 a second, until the server has closed each of the 12 once (its request
        # timeout) and the client has opened them again.
        end = time.monotonic() + 2 * METRICS_TIMEOUT_S + 3
        n, bad, worst = 0, 0, 0.0
        while time.monotonic() < end:
            took, body = scrape(port, 3.0)
            n += 1
            worst = max(worst, took)
            bad += body is None
            if rec.reconnects >= 12 and n >= 5:
                break
            rec.stop_flag.wait(0.05)
        reconnects = rec.reconnects
        rec.close()
        check(bad == 0 and n >= 3, "metrics: with a client keeping 12 idle connections open (reconnecting "
                                   "%d times), %d scrapes answer within 3 s (slowest %.3f s)" % (reconnects, n, worst))
        check(reconnects >= 12, "metrics: the reconnecting client's connections were closed and reopened "
                                "(%d reconnects)" % reconnects)
        took, body = scrape(port, 3.0)
        check(body is not None, "metrics: a scrape after the clients leave (%.3f s)" % took)
    except Abort:
        show_log(d)
    finally:
        if rec:
            rec.close()
        for s in socks:
            s.close()
        rc = d.stop()
        check(rc == 0, "metrics: dplbd exits 0 (%s)" % rc)


def part_control(build, tmp):
    sock = os.path.join(tmp, "control.sock")
    cfg = os.path.join(tmp, "control.yaml")
    open(cfg, "w").write(config_text(sock, None))
    d = Dplbd(build, tmp, "control", cfg).start()
    socks = []
    try:
        require(d.wait_ready(), "control: dplbd starts")
        base_fds = d.fds()
        opened = time.monotonic()
        socks = [unix_connect(sock) for _ in range(200)]
        connected = [s for s in socks if s is not None]
        half = unix_connect(sock)
        if half is not None:
            half.send(b"status\n")  # the request's first line, never its end
            connected.append(half)
        socks = connected
        check(len(socks) == 201, "control: 200 idle and 1 half-request connections made (%d)" % len(socks))
        t0 = time.monotonic()
        r = d.ctl("status", timeout=10)
        took = time.monotonic() - t0
        check(r.returncode == 0 and took < 2.0,
              "control: dplbctl status answers within 2 s with them open (%.3f s, rc %d)" % (took, r.returncode))
        fds = d.fds()
        check(fds <= base_fds + SESSION_CAP + 2,
              "control: dplbd holds at most its %d sessions (%d fds, %d before)" % (SESSION_CAP, fds, base_fds))
        t0 = time.monotonic()
        r = d.ctl("reload", timeout=20)
        check(r.returncode == 0, "control: dplbctl reload (an asynchronous answer) works meanwhile (%.3f s)%s"
              % (time.monotonic() - t0, "" if r.returncode == 0 else ": " + r.stdout + r.stderr))
        r = d.ctl("list", "--connections", timeout=20)
        check(r.returncode == 0 and r.stdout.startswith("IPVS connection entries"),
              "control: dplbctl list --connections (asynchronous) works meanwhile")
        closed = wait_all_closed(socks, REQUEST_DEADLINE_S + 5)
        late = [c - opened for c in closed if c is not None]
        check(None not in closed,
              "control: every idle connection is closed by dplbd, the last %.1f s after it opened (deadline %.0f s; "
              "%d still open)" % (max(late or [0]), REQUEST_DEADLINE_S, closed.count(None)))
        check(closed[-1] is not None and closed[-1] - opened > REQUEST_DEADLINE_S - 1.5,
              "control: the half-request session lasted to its deadline (%.1f s)"
              % ((closed[-1] or opened) - opened))
        for s in socks:
            s.close()
        socks = []
        r = d.ctl("status", timeout=10)
        check(r.returncode == 0, "control: dplbctl status afterwards")
    except Abort:
        show_log(d)
    finally:
        for s in socks:
            s.close()
        rc = d.stop()
        check(rc == 0, "control: dplbd exits 0 (%s)" % rc)


def part_fd_limit(build, tmp):
    if shutil.which("prlimit") is None:
        check(False, "fd limit: prlimit (util-linux) is missing")
        return
    sock = os.path.join(tmp, "fdlimit.sock")
    cfg = os.path.join(tmp, "fdlimit.yaml")
    open(cfg, "w").write(config_text(sock, None))
    d = Dplbd(build, tmp, "fdlimit", cfg, prefix=["prlimit", "--nofile=64:64"]).start()
    rec = None
    try:
        require(d.wait_ready(), "fd limit: dplbd starts under prlimit --nofile=64:64")
        base = d.fds()
        rec = Reconnector(lambda: unix_connect(sock, timeout=0.2), 100)
        rec.start()
        end = time.monotonic() + 10
        while time.monotonic() < end and d.fds() < 63:
            time.sleep(0.05)
        fds = d.fds()
        require(fds >= 63, "fd limit: clients exhaust dplbd's descriptors (%d of 64, %d before)" % (fds, base))
        ctl0, proc0, t0 = d.thread_cpu_ticks(), d.process_cpu_ticks(), time.monotonic()
        end = t0 + 2
        low = fds
        while time.monotonic() < end:  # 2 s, sampling that the descriptors stay exhausted
            low = min(low, d.fds())
            time.sleep(0.1)
        ctl1, proc1, t1 = d.thread_cpu_ticks(), d.process_cpu_ticks(), time.monotonic()
        ctl_cpu = (ctl1 - ctl0) / CLK_TCK / (t1 - t0)
        proc_cpu = (proc1 - proc0) / CLK_TCK / (t1 - t0)
        check(low >= 62, "fd limit: descriptors stay exhausted over the 2 s (at least %d)" % low)
        check(ctl_cpu < 0.05, "fd limit: dplbd's control thread uses %.3f CPU over %.1f s with its descriptors "
                              "exhausted (< 0.05; whole process %.3f, with the polling worker)"
              % (ctl_cpu, t1 - t0, proc_cpu))
        reconnects = rec.reconnects
        rec.close()
        rec = None
        print("   (the clients reconnected %d times)" % reconnects)
        t0 = time.monotonic()
        end = t0 + REQUEST_DEADLINE_S + 10
        answered = False
        while time.monotonic() < end and not answered:
            try:
                answered = d.ctl("status", timeout=max(1, end - time.monotonic())).returncode == 0
            except subprocess.TimeoutExpired:
                break
            if not answered:
                time.sleep(0.1)
        check(answered, "fd limit: dplbctl status answers again once the clients are gone (%.2f s)"
              % (time.monotonic() - t0))
        log = d.read_log()
        n = log.count("Too many open files")
        check(1 <= n <= 3, "fd limit: the exhaustion is logged, not once per retry (%d lines)" % n)
    except Abort:
        show_log(d)
    finally:
        if rec:
            rec.close()
        rc = d.stop()
        check(rc == 0, "fd limit: dplbd exits 0 (%s)" % rc)


def part_second_instance(build, tmp):
    sock = os.path.join(tmp, "second.sock")
    cfg = os.path.join(tmp, "second.yaml")
    open(cfg, "w").write(config_text(sock, None))
    frames = [tcp_syn("192.0.2.1", VIP, 40000, 80), arp_request("10.10.0.1", VIP)]
    a = Dplbd(build, tmp, "first", cfg, frames).start()
    b = c = None
    try:
        require(a.wait_ready(), "second instance: the first dplbd starts")
        end = time.monotonic() + 10
        while time.monotonic() < end and (pcap_count(a.out) or 0) < 2:
            time.sleep(0.05)
        require(pcap_count(a.out) == 2, "second instance: the first forwards the SYN and answers the ARP from its "
                                        "pcap (%s frames out)" % pcap_count(a.out))
        b = Dplbd(build, tmp, "second", cfg, frames).start()
        try:
            rc = b.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - b.t0
        log = b.read_log()
        require(rc is not None, "second instance: the second dplbd exits by itself")
        check(rc != 0 and took < 3.0, "second instance: it exits non-zero within 3 s (rc %s, %.2f s)" % (rc, took))
        check("in use by another dplbd" in log and ("pid %d" % a.proc.pid) in log,
              "second instance: its message names the socket and the first's pid: " + log.strip().replace("\n", " | "))
        n = pcap_count(b.out)
        check(not n, "second instance: it transmitted nothing (%s)" %
              ("no output file: its port was never opened" if n is None else "%d frame(s) out" % n))
        check("port lan0" not in log, "second instance: its port was never started")
        r = a.ctl("status", timeout=10)
        check(r.returncode == 0 and os.path.exists(sock), "second instance: the first keeps its control socket")
        a.kill()  # leaves a stale socket file and lock file behind
        check(os.path.exists(sock), "second instance: the first, killed with -9, left its socket file")
        c = Dplbd(build, tmp, "third", cfg).start()
        check(c.wait_ready(), "second instance: a new dplbd starts over the stale socket and lock")
        rc = c.stop()
        check(rc == 0 and not os.path.exists(sock), "second instance: it exits 0 and removes its socket (%s)" % rc)
    except Abort:
        show_log(a)
        if b:
            show_log(b)
    finally:
        for d in (a, b, c):
            if d:
                d.kill()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    for exe in ("controlplane/dplbd", "controlplane/dplbctl"):
        if not os.access(os.path.join(build, exe), os.X_OK):
            print("SKIP: %s not built in %s" % (exe, build))
            sys.exit(SKIP)
    tmp = tempfile.mkdtemp(prefix="dplb-hardening-")
    only = sys.argv[2:]  # optional part names, for running one part by hand
    try:
        for name, part in (("metrics", part_metrics), ("control", part_control), ("fdlimit", part_fd_limit),
                           ("second", part_second_instance)):
            if not only or name in only:
                part(build, tmp)
    finally:
        for d in Dplbd.started:
            d.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
