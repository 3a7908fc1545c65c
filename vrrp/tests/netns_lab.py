"""A throwaway lab of network namespaces on one bridge, for the VRRP interop test and the tool that
captures keepalived's adverts as golden fixtures. Every name carries the PID; everything made here
(namespaces, with their veths and bridge, processes, files) goes away in close(), which also runs at
exit. Traffic never leaves these namespaces: the bridge lives in a namespace of its own."""

import atexit
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from checks import SKIP, check, die  # noqa: E402,F401 (shared with tests/e2e)


def wait_for(pred, timeout, step=0.05):
    """Polls pred() until it returns something true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


class Lab:
    """Namespaces `<prefix><name>` joined by veths to a bridge in `<prefix>sw`. Inside each member
    namespace the veth is called `lan0`."""

    def __init__(self, tag="vr"):
        self.prefix = "%s%d" % (tag, os.getpid())
        self.namespaces = []
        self.procs = []  # (label, Popen, log file)
        self.extra_pids = []  # pids we learnt from pid files (keepalived's children)
        self.closed = False
        if os.geteuid() != 0 or shutil.which("ip") is None:
            print("SKIP: needs root and iproute2 to create network namespaces", flush=True)
            sys.exit(SKIP)
        self.sw = self.prefix + "sw"
        if subprocess.run(["ip", "netns", "add", self.sw], capture_output=True).returncode != 0:
            print("SKIP: this machine cannot create network namespaces", flush=True)
            sys.exit(SKIP)
        self.namespaces.append(self.sw)
        self.dir = tempfile.mkdtemp(prefix="dplb-vrrp-")
        atexit.register(self.close)
        # meson stops a test that runs over its time with SIGTERM: clean up on the way out then too.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
        self.sh("ip", "-n", self.sw, "link", "set", "lo", "up")
        self.sh("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0",
                "mcast_snooping", "0")
        self.sh("ip", "-n", self.sw, "link", "set", "br0", "up")
        self.ports = 0

    # --- plumbing -------------------------------------------------------------------------------

    def sh(self, *args, check_rc=True, timeout=30):
        r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
        if check_rc and r.returncode != 0:
            die("%s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def ns(self, name):
        return self.prefix + name

    def in_ns(self, name, *args, check_rc=True, timeout=30):
        return self.sh("ip", "netns", "exec", self.ns(name), *args, check_rc=check_rc, timeout=timeout)

    def add_host(self, name, mac, ipv4=None, ipv6=None):
        """A namespace with `lan0` (MAC `mac`) on the bridge, its addresses, offloads off."""
        ns = self.ns(name)
        self.sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        self.ports += 1
        port = "p%d" % self.ports
        self.sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.sh("ip", "link", "add", "lan0", "netns", ns, "address", mac, "type", "veth",
                "peer", "name", port, "netns", self.sw)
        self.sh("ip", "-n", self.sw, "link", "set", port, "master", "br0")
        self.sh("ip", "-n", self.sw, "link", "set", port, "up")
        if ipv4:
            self.sh("ip", "-n", ns, "addr", "add", ipv4, "dev", "lan0")
        if ipv6:
            self.sh("ip", "-n", ns, "addr", "add", ipv6, "dev", "lan0", "nodad")
        self.in_ns(name, "ethtool", "-K", "lan0", "tx", "off", "tso", "off", "gso", "off", check_rc=False)
        self.sh("ip", "-n", ns, "link", "set", "lan0", "up")
        return ns

    def wait_link_local(self, name, timeout=5):
        """Waits until lan0 has a usable (not tentative) IPv6 link-local address."""
        def ready():
            out = self.in_ns(name, "ip", "-6", "addr", "show", "dev", "lan0", "scope", "link").stdout
            return "fe80" in out and "tentative" not in out
        if not wait_for(ready, timeout):
            die("%s: no IPv6 link-local address on lan0 after %ds" % (name, timeout))

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def spawn(self, label, ns_name, args, **kw):
        """Starts `args` inside a namespace; stdout and stderr go to <dir>/<label>.log."""
        log = open(self.path(label + ".log"), "w+")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(ns_name)] + list(args), stdout=log,
                             stderr=subprocess.STDOUT, **kw)
        self.procs.append((label, p, log))
        return p

    def log_text(self, label):
        with open(self.path(label + ".log"), errors="replace") as f:
            return f.read()

    def kill(self, proc, sig=signal.SIGTERM, timeout=5):
        """Signals one process we started (by its PID) and reaps it; SIGKILL if it lingers."""
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def close(self):
        if self.closed:
            return
        self.closed = True
        for pid in self.extra_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for _, p, log in reversed(self.procs):
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            log.close()
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if os.environ.get("DPLB_KEEP_LAB_DIR"):
            print("lab files kept in " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- tools ----------------------------------------------------------------------------------

    def tcpdump(self, label, ns_name, pcap_filter=""):
        """tcpdump on lan0 of a namespace into <dir>/<label>.pcap; returns once it listens."""
        args = ["tcpdump", "-i", "lan0", "-U", "-n", "-w", self.path(label + ".pcap")]
        if pcap_filter:
            args.append(pcap_filter)
        p = self.spawn(label, ns_name, args)
        if not wait_for(lambda: "listening on" in self.log_text(label) or p.poll() is not None, 10):
            die("tcpdump did not start: " + self.log_text(label))
        if p.poll() is not None:
            die("tcpdump exited: " + self.log_text(label))
        return p

    def keepalived(self, label, ns_name, conf_text):
        """keepalived in the foreground inside a namespace, with its own pid files."""
        conf = self.write(label + ".conf", conf_text)
        args = ["keepalived", "-n", "-l", "-D", "--dont-respawn", "-f", conf, "-p", self.path(label + ".pid"),
                "-r", self.path(label + ".vrrp.pid"), "-c", self.path(label + ".checkers.pid")]
        return self.spawn(label, ns_name, args)

    def keepalived_vrrp_pid(self, label, timeout=10):
        """The PID of keepalived's VRRP child, from its pid file."""
        path = self.path(label + ".vrrp.pid")

        def read():
            try:
                with open(path) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        pid = wait_for(read, timeout)
        if not pid:
            die("keepalived wrote no VRRP pid file:\n" + self.log_text(label))
        self.extra_pids.append(pid)
        return pid


def read_pcap(path):
    """[(timestamp_seconds, frame_bytes)] from a classic pcap file (microsecond or nanosecond)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        endian = "<"
    else:
        endian = ">"
        magic = struct.unpack(">I", data[:4])[0]
    scale = 1e-9 if magic == 0xa1b23c4d else 1e-6
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            break  # a record still being written
        out.append((sec + frac * scale, data[off:off + caplen]))
        off += caplen
    return out


def vrrp_of(frame):
    """(src_ip_bytes, vrrp_bytes, ttl) of a VRRP frame (IPv4 or IPv6, no extension headers), else None."""
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    if et == 0x0800 and len(frame) >= 34 and frame[23] == 112:
        ihl = (frame[14] & 15) * 4
        total = struct.unpack("!H", frame[16:18])[0]
        return frame[26:30], frame[14 + ihl:14 + total], frame[22]
    if et == 0x86dd and len(frame) >= 54 and frame[20] == 112:
        plen = struct.unpack("!H", frame[18:20])[0]
        return frame[22:38], frame[54:54 + plen], frame[21]
    return None


def is_garp(frame, vip4):
    """An ARP request (gratuitous) announcing the IPv4 address `vip4` (4 bytes)."""
    return (len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x01"
            and frame[28:32] == vip4 and frame[38:42] == vip4)


def is_unsolicited_na(frame, vip6):
    """An ICMPv6 Neighbor Advertisement for `vip6` (16 bytes) to ff02::1."""
    return (len(frame) >= 78 and frame[12:14] == b"\x86\xdd" and frame[20] == 58 and frame[54] == 136
            and frame[38:54] == bytes.fromhex("ff020000000000000000000000000001") and frame[62:78] == vip6)


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def run_against_keepalived(make_test, tools):
    """main() of a test of dplb-vrrpd (argv[1]) against keepalived: skip (77) when one of `tools` is
    missing, run make_test(path).run(), close its lab whatever happens, print PASS."""
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        die("usage: %s PATH/TO/dplb-vrrpd" % os.path.basename(sys.argv[0]))
    for tool in tools:
        if shutil.which(tool) is None:
            print("SKIP: %s is not installed" % tool, flush=True)
            sys.exit(SKIP)
    t = make_test(os.path.abspath(sys.argv[1]))
    try:
        t.run()
    finally:
        t.lab.close()
    print("PASS", flush=True)
