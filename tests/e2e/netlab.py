"""Helpers for end-to-end tests that run the real dplbd on a net_af_packet port inside a network
namespace of their own, and talk to it with scapy from the same namespace. Everything a test makes
(namespace, veths, processes) is removed when it ends."""

import ctypes
import json
import os
import shutil
import signal
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

from checks import SKIP, check, die  # noqa: F401 (re-exported for the tests)

CLONE_NEWNET = 0x40000000


def sh(*args, check_rc=True, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        die("%s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r


class Lab:
    """A namespace with a veth pair: dplbd's port `lb0` and the test's `cl0`."""

    def __init__(self, build_dir):
        self.build = build_dir
        self.ns = "dplbt%d" % os.getpid()
        self.dir = tempfile.mkdtemp(prefix="dplb-e2e-")
        self.proc = None
        self.log = None
        if os.geteuid() != 0 or shutil.which("ip") is None:
            print("SKIP: needs root and iproute2 to create a network namespace")
            sys.exit(SKIP)
        if subprocess.run(["ip", "netns", "add", self.ns], capture_output=True).returncode != 0:
            print("SKIP: this machine cannot create network namespaces")
            sys.exit(SKIP)
        self.exec_ns("ip", "link", "set", "lo", "up")
        self.exec_ns("ip", "link", "add", "lb0", "type", "veth", "peer", "name", "cl0")
        for dev in ("lb0", "cl0"):
            self.exec_ns("ip", "link", "set", dev, "up")
            self.exec_ns("ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", check_rc=False)
        self.lb_mac = open_ns_file(self.ns, "/sys/class/net/lb0/address").strip()
        # This process joins the namespace for scapy, sockets and HTTP.
        self._orig_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.ns, os.O_RDONLY)
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            die("setns: errno %d" % ctypes.get_errno())
        os.close(fd)
        self.sock = os.path.join(self.dir, "dplb.sock")
        self._cleanups = []

    def on_close(self, fn):
        """Runs `fn` when the lab closes (last registered first)."""
        self._cleanups.append(fn)

    def exec_ns(self, *args, check_rc=True):
        return sh("ip", "netns", "exec", self.ns, *args, check_rc=check_rc)

    def start(self, config_text, name="lb.yaml"):
        self.config = os.path.join(self.dir, name)
        self.write(name, config_text)
        self.log = open(os.path.join(self.dir, "dplbd.log"), "w+")
        cmd = ["ip", "netns", "exec", self.ns, os.path.join(self.build, "controlplane/dplbd"), "-l", "0,1",
               "--no-huge", "--no-pci", "-m", "256", "--file-prefix", self.ns, "--log-level", "lib.eal:error",
               "--vdev", "net_af_packet0,iface=lb0", "--", "--config", self.config, "--idle-sleep-us", "50"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):  # at most 10 s
            if self.proc.poll() is not None:
                die("dplbd exited at start:\n" + self.read_log())
            if os.path.exists(self.sock) and self.ctl("status").returncode == 0:
                return
            time.sleep(0.1)
        die("dplbd did not open its control socket:\n" + self.read_log())

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)
        return os.path.join(self.dir, name)

    def read_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def ctl(self, *args):
        return subprocess.run([os.path.join(self.build, "controlplane/dplbctl"), "-s", self.sock] + list(args),
                              capture_output=True, text=True, timeout=30)

    def ctl_ok(self, *args):
        r = self.ctl(*args)
        if r.returncode != 0:
            die("dplbctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r.stdout

    def ctl_json(self, *args):
        return json.loads(self.ctl_ok(*args, "--json"))

    def scrape(self, port):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            return r.read().decode()

    def stop(self):
        """SIGTERM to dplbd; returns its exit status (the same status again if already stopped)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def close(self):
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # cleanup goes on whatever one step says
                print("cleanup: %s" % e)
        self._cleanups = []
        self.stop()
        if getattr(self, "_orig_ns", None) is not None:
            ctypes.CDLL(None).setns(self._orig_ns, CLONE_NEWNET)
            os.close(self._orig_ns)
            self._orig_ns = None
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree("/var/run/dpdk/" + self.ns, ignore_errors=True)  # EAL's run files for our prefix

    def telemetry(self, command):
        """One DPDK telemetry command (as dpdk-telemetry.py sends it); returns the decoded answer."""
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % self.ns)
        s.recv(1024)  # greeting
        s.send(command.encode())
        answer = json.loads(s.recv(65536).decode())
        s.close()
        return answer[command]


def nginx_command(d, server_conf):
    """Writes a foreground nginx's configuration under the new folder `d`, with `server_conf` as its
    server block's body; returns the command line that runs it."""
    os.makedirs(os.path.join(d, "tmp"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                "events { worker_connections 1024; }\n"
                "http {\n  access_log off;\n"
                "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
                "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
                "  server {\n%s\n  }\n}\n" % ((d,) * 7 + (server_conf,)))
    return ["nginx", "-e", os.path.join(d, "error.log"), "-c", conf, "-p", d]


def open_ns_file(ns, path):
    return subprocess.run(["ip", "netns", "exec", ns, "cat", path], capture_output=True, text=True).stdout


def run(body):
    """Runs body(lab) on a fresh Lab: prints dplbd's log when a check fails, checks that dplbd exits 0,
    prints the closing line, and removes everything the test made."""
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    lab = Lab(build)
    try:
        body(lab)
        check(lab.stop() == 0, "dplbd exits 0")
        print("1 passed, 0 failed")
    except SystemExit:
        if lab.log:
            print("--- dplbd log ---\n" + lab.read_log())
        raise
    finally:
        lab.close()


class Wire:
    """Sends client frames on cl0 and collects what dplbd transmits back on it."""

    def __init__(self, lab):
        from scapy.all import AsyncSniffer, conf
        conf.verb = 0
        self.lab = lab
        self.got = []
        self.sniffer = AsyncSniffer(iface="cl0", store=False, prn=self.got.append,
                                    lfilter=lambda p: p.src == lab.lb_mac and not p.dst.startswith("33:33:"))
        self.sniffer.start()
        lab.on_close(self.close)
        time.sleep(0.3)

    def send(self, frames):
        from scapy.all import sendp
        sendp(frames, iface="cl0", verbose=False)

    def collect(self, count, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end and len(self.got) < count:
            time.sleep(0.05)
        return list(self.got)

    def close(self):
        try:
            self.sniffer.stop()
        except Exception:
            pass


def wait_for(pred, limit, step=0.05):
    """Polls pred() until it returns something true or `limit` seconds pass; returns its last value."""
    end = time.monotonic() + limit
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def parse_metrics(text):
    """Prometheus text format -> {name: [(labels dict, value)]}; a line that does not parse fails the test."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            die("unparsable metrics line: " + line)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return out


def metric_value(text, name, **labels):
    """One sample of a Prometheus text exposition: the value of `name` whose labels include `labels`
    (the sum when several samples match), None when none does."""
    total = None
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all('%s="%s"' % kv in head for kv in labels.items()):
            total = (total or 0.0) + float(value)
    return total


class Site:
    """A site of several network namespaces of the test's own: `host` makes a namespace, `segment` a
    bridge (in the site's switch namespace), `attach` gives a host a veth on a segment and `link` joins
    two hosts with a veth pair of their own (a router's link). Offloads are off on every veth (dplbd on
    net_af_packet would forward partial checksums). Processes started by `spawn` are stopped by their
    PID, and every namespace removed, by `close`. Exits 77 where a namespace cannot be made at all."""

    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def __init__(self, build_dir, tag):
        self.build = os.path.abspath(build_dir)
        self.prefix = "dplb%s%d-" % (tag, os.getpid())
        self.namespaces, self.procs, self.lb = [], [], None
        self._veths = 0
        if os.geteuid() != 0 or shutil.which("ip") is None:
            print("SKIP: needs root and iproute2 to create network namespaces", flush=True)
            sys.exit(SKIP)
        if subprocess.run(["ip", "netns", "add", self.ns("sw")], capture_output=True).returncode != 0:
            print("SKIP: this machine cannot create network namespaces", flush=True)
            sys.exit(SKIP)
        self.namespaces.append(self.ns("sw"))
        self.dir = tempfile.mkdtemp(prefix="dplb-%s-" % tag)
        self.dplbd = os.path.join(self.build, "controlplane/dplbd")
        self.dplbctl = os.path.join(self.build, "controlplane/dplbctl")
        for f in (self.dplbd, self.dplbctl):
            if not os.access(f, os.X_OK):
                die("no executable " + f)

    # --- namespaces and links ---------------------------------------------------------------------

    def ns(self, host):
        return self.prefix + host

    def in_ns(self, host, *args, check_rc=True):
        return sh("ip", "netns", "exec", self.ns(host), *args, check_rc=check_rc, timeout=30)

    def host(self, name, forwarding=False):
        sh("ip", "netns", "add", self.ns(name))
        self.namespaces.append(self.ns(name))
        self.in_ns(name, "ip", "link", "set", "lo", "up")
        if forwarding:
            self.in_ns(name, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")

    def segment(self, name):
        sh("ip", "-n", self.ns("sw"), "link", "add", name, "type", "bridge")
        sh("ip", "-n", self.ns("sw"), "link", "set", name, "up")

    def _veth_end(self, host, ifname, mac, addrs, mtu):
        if mac:
            self.in_ns(host, "ip", "link", "set", ifname, "address", mac)
        if mtu:
            self.in_ns(host, "ip", "link", "set", ifname, "mtu", str(mtu))
        for a in addrs:  # "10.0.0.1/24" or "2001:db8::1/64" (no duplicate address detection)
            self.in_ns(host, "ip", "addr", "add", a, "dev", ifname, *(["nodad"] if ":" in a else []))
        self.in_ns(host, "ethtool", "-K", ifname, "tx", "off", "tso", "off", "gso", "off")
        self.in_ns(host, "ip", "link", "set", ifname, "up")

    def attach(self, host, segment, ifname="eth0", mac=None, addrs=(), mtu=None):
        """A veth from `host` (as `ifname`) to the bridge `segment`."""
        self._veths += 1
        port = "p%d" % self._veths
        sh("ip", "link", "add", ifname, "netns", self.ns(host), "type", "veth", "peer", "name", port,
           "netns", self.ns("sw"))
        self._veth_end("sw", port, None, (), mtu)
        sh("ip", "-n", self.ns("sw"), "link", "set", port, "master", segment)
        self._veth_end(host, ifname, mac, addrs, mtu)

    def link(self, a, a_if, b, b_if, mtu=None, a_addrs=(), b_addrs=()):
        """A veth pair between two hosts, both ends with MTU `mtu`."""
        sh("ip", "link", "add", a_if, "netns", self.ns(a), "type", "veth", "peer", "name", b_if, "netns", self.ns(b))
        self._veth_end(a, a_if, None, a_addrs, mtu)
        self._veth_end(b, b_if, None, b_addrs, mtu)

    def real_server(self, host, *vips):
        """Direct Routing as scripts/realserver-setup.sh sets up a real host: VIPs on lo, arp_ignore=1,
        arp_announce=2."""
        self.in_ns(host, os.path.join(self.ROOT, "scripts/realserver-setup.sh"), "add", *vips)

    # --- processes --------------------------------------------------------------------------------

    def spawn(self, label, host, args, **kw):
        """Starts args in `host`'s namespace (`ip netns exec` execs it: the Popen's pid is the
        program's), output to LABEL.log unless stdout is given."""
        log = open(self.path(label + ".log"), "w")
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns(host)] + list(args), stderr=log,
                                 **({"stdout": log} if "stdout" not in kw else {}), **kw)
        finally:
            log.close()
        self.procs.append((label, p))
        return p

    def path(self, name):
        return os.path.join(self.dir, name)

    def log_text(self, label):
        try:
            with open(self.path(label + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @staticmethod
    def stop(p, sig=signal.SIGTERM, limit=10):
        """Signals one of our processes by its PID; returns its exit status (KILL after `limit` s)."""
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def nginx(self, host, server_conf):
        """nginx in `host`, in the foreground (stopped by its PID), with `server_conf` as its server
        block's body."""
        return self.spawn("nginx-" + host, host, nginx_command(self.path("nginx-" + host), server_conf))

    # --- dplbd ------------------------------------------------------------------------------------

    def start_dplbd(self, host, config_text, iface="eth0", more_ifaces=()):
        """dplbd on net_af_packet over `iface` in `host` (and net_af_packet1, 2, ... over
        `more_ifaces`); config_text's "{socket}" becomes its control socket. Returns once `dplbctl
        status` answers."""
        self.lb_host = host
        self.sock = self.path("dplb.sock")
        self.config = self.path("lb.yaml")
        with open(self.config, "w") as f:
            f.write(config_text.replace("{socket}", self.sock))
        self.lb = self.spawn("dplbd", host, [
            self.dplbd, "-l", "0,1", "--no-huge", "--no-pci", "-m", "256", "--file-prefix", self.ns(host),
            "--log-level", "lib.eal:error", "--vdev", "net_af_packet0,iface=" + iface] +
            [a for i, f in enumerate(more_ifaces) for a in ("--vdev", "net_af_packet%d,iface=%s" % (i + 1, f))] + [
            "--",
            "--config", self.config, "--idle-sleep-us", "100"])
        if not wait_for(lambda: self.lb.poll() is not None or
                        (os.path.exists(self.sock) and self.ctl("status").returncode == 0), 15, 0.1):
            die("dplbd did not open its control socket:\n" + self.log_text("dplbd"))
        if self.lb.poll() is not None:
            die("dplbd exited at start:\n" + self.log_text("dplbd"))

    def ctl(self, *args, timeout=10):
        return subprocess.run([self.dplbctl, "-s", self.sock] + list(args), capture_output=True, text=True,
                              timeout=timeout)

    def ctl_json(self, *args):
        r = self.ctl(*args, "--json")
        if r.returncode != 0:
            die("dplbctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return json.loads(r.stdout)

    def scrape(self, listen):
        """dplbd's /metrics, fetched from inside its namespace."""
        r = self.in_ns(self.lb_host, "curl", "-s", "--max-time", "5", "http://%s/metrics" % listen, check_rc=False)
        if r.returncode != 0:
            die("curl http://%s/metrics in %s: exit %d %s" % (listen, self.lb_host, r.returncode, r.stderr))
        return r.stdout

    def rss_kib(self):
        """dplbd's VmRSS."""
        with open("/proc/%d/status" % self.lb.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        die("no VmRSS for dplbd")

    def close(self):
        for label, p in reversed(self.procs):
            try:
                self.stop(p, signal.SIGTERM, 5)
            except Exception as e:  # cleanup goes on whatever one step says
                print("cleanup %s: %s" % (label, e))
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.lb is not None:
            shutil.rmtree("/var/run/dpdk/" + self.ns(self.lb_host), ignore_errors=True)  # EAL's run files


def run_site(tag, body):
    """Runs body(site) on a fresh Site: the build directory is argv[1], body may read argv[2:]. Prints
    dplbd's log when a check fails, checks that dplbd exits 0 on SIGTERM, prints the closing line, and
    removes everything the test made, also when meson's timeout stops it (SIGTERM)."""
    build = sys.argv[1] if len(sys.argv) > 1 else "build"

    def stopped(sig, _frame):
        die("stopped by signal %d" % sig)
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    site = Site(build, tag)
    try:
        body(site)
        check(site.lb is not None and site.stop(site.lb) == 0, "dplbd exits 0 on SIGTERM")
        print("1 passed, 0 failed", flush=True)
    except SystemExit:
        if site.lb is not None:
            print("--- dplbd log (last 40 lines) ---\n" + "\n".join(site.log_text("dplbd").splitlines()[-40:]))
        raise
    finally:
        site.close()
