"""Helpers for end-to-end tests that run the real dplbd on a net_af_packet port inside a network
namespace of their own, and talk to it with scapy from the same namespace. Everything a test makes
(namespace, veths, processes) is removed when it ends."""

import ctypes
import json
import os
import shutil
import signal
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
