#!/usr/bin/python3
"""dplbd as a systemd service, without systemd: the real dplbd on a net_af_packet port in a namespace
of its own, its notifications read from an AF_UNIX datagram socket of the test's own ($NOTIFY_SOCKET):
- READY=1 (with STATUS) only once it serves: at that moment the start-up lines are logged, dplbctl
  status answers and /metrics is up; RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP (STATUS
  says whether the reload failed; a failed one keeps the running configuration); STOPPING=1 on
  SIGTERM, exit 0; an abstract socket ("@name") works as a path does;
- $JOURNAL_STREAM naming the file dplbd logs to: every dplbd line carries its sd-daemon priority
  (<3> error, <4> warning, <5> notice, <6> info); without it, no prefix and the text of old;
- `--version`, `--help`, `--check-config` without a file, an unknown option: no EAL, no daemon."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Lab, check, die, wait_for  # noqa: E402

VIP = "10.10.0.100"
METRICS_PORT = 19000 + (os.getpid() + 500) % 1000
DEFAULT_CONFIG = "/etc/dplb/dplb.yaml"


def config(lab, weight):
    return ("ports:\n  - name: lan0\n    device: net_af_packet0\n"
            "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
            "control:\n  socket: %s\n" % lab.sock +
            "metrics:\n  listen: 127.0.0.1:%d\n" % METRICS_PORT +
            "services:\n  - vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    real_servers:\n"
            '      - ip: 10.10.0.11\n        mac: "02:00:00:00:00:11"\n        weight: %d\n' % (VIP, weight))


def tool(build, name):
    return os.path.join(build, "controlplane", name)


def expected_version(build):
    """DPLB_VERSION from the header the build generated."""
    with open(os.path.join(build, "controlplane/version.h")) as f:
        m = re.search(r'#define DPLB_VERSION "([^"]+)"', f.read())
    if not m:
        die("no DPLB_VERSION in controlplane/version.h")
    return m.group(1)


def cli_checks(build):
    dplbd, dplbctl = tool(build, "dplbd"), tool(build, "dplbctl")
    version = expected_version(build)
    check(re.match(r"^\d+\.\d+\.\d+", version) is not None, "DPLB_VERSION looks like a version: " + version)

    # --version among EAL options and before dplbd's own: answered before EAL, the configuration or
    # the control socket are touched (EAL would make /var/run/dpdk/PREFIX; the file does not exist).
    prefix = "dplbsysv%d" % os.getpid()
    r = subprocess.run([dplbd, "--no-huge", "--no-pci", "-m", "256", "--file-prefix", prefix, "--version", "--",
                        "--config", "/nonexistent/dplb.yaml"], capture_output=True, text=True, timeout=20)
    check(r.returncode == 0 and r.stdout == "dplbd %s\n" % version,
          "dplbd --version prints 'dplbd %s' and exits 0: rc %d %r %r" % (version, r.returncode, r.stdout, r.stderr))
    check(not os.path.exists("/var/run/dpdk/" + prefix), "dplbd --version starts no EAL (no /var/run/dpdk/%s)" % prefix)
    r = subprocess.run([dplbctl, "-s", "/nonexistent/dplb.sock", "--version"], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 0 and r.stdout == "dplbctl %s\n" % version,
          "dplbctl --version prints 'dplbctl %s' and exits 0 without a daemon: rc %d %r %r"
          % (version, r.returncode, r.stdout, r.stderr))

    for flag in ("--help", "-h"):
        r = subprocess.run([dplbd, flag], capture_output=True, text=True, timeout=20)
        check(r.returncode == 0 and "--config FILE" in r.stdout and DEFAULT_CONFIG in r.stdout and
              "--check-config" in r.stdout and "--eal-help" in r.stdout and "SIGHUP" in r.stdout,
              "dplbd %s: exit 0, explains --config, the default %s, --check-config, --eal-help, signals: rc %d\n%s"
              % (flag, DEFAULT_CONFIG, r.returncode, r.stdout + r.stderr))

    r = subprocess.run([dplbd, "--", "--bogus"], capture_output=True, text=True, timeout=20)
    check(r.returncode == 2 and "unknown option '--bogus'" in r.stderr and "usage: dplbd" in r.stderr,
          "unknown dplbd option: error, usage, exit 2: rc %d %r" % (r.returncode, r.stderr))

    r = subprocess.run([dplbd, "--check-config"], capture_output=True, text=True, timeout=20)
    if os.path.exists(DEFAULT_CONFIG):
        check(DEFAULT_CONFIG in r.stdout + r.stderr,
              "--check-config without FILE reads %s: %r" % (DEFAULT_CONFIG, r.stdout + r.stderr))
    else:
        check(r.returncode == 1 and DEFAULT_CONFIG + ": cannot open" in r.stderr,
              "--check-config without FILE checks the absent %s: rc %d %r" % (DEFAULT_CONFIG, r.returncode, r.stderr))


class Notifications:
    """An AF_UNIX datagram socket dplbd sends its sd_notify messages to."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.got = []

    def next(self, limit):
        """The next message as {key: value}, or None after `limit` seconds."""
        self.sock.settimeout(limit)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        msg = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        self.got.append(msg)
        return msg

    def close(self):
        self.sock.close()


def start(lab, log_name, env_extra):
    """dplbd as netlab's Lab.start runs it, with env_extra in its environment; output to log_name.
    Returns at once (the caller waits for READY=1 or the control socket)."""
    lab.config = lab.write("lb.yaml", config(lab, 1))
    lab.log = open(os.path.join(lab.dir, log_name), "w+")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    env.update(env_extra)
    cmd = ["ip", "netns", "exec", lab.ns, tool(lab.build, "dplbd"), "-l", "0,1", "--no-huge", "--no-pci", "-m",
           "256", "--file-prefix", lab.ns, "--log-level", "lib.eal:error", "--vdev", "net_af_packet0,iface=lb0",
           "--", "--config", lab.config, "--idle-sleep-us", "50"]
    lab.proc = subprocess.Popen(cmd, stdout=lab.log, stderr=subprocess.STDOUT, env=env)


def wait_ready(lab, note, what):
    """Waits (15 s at most) for the first message; it must be READY=1, and dplbd must serve by then."""
    msg = note.next(15)
    if msg is None:
        die("%s: no READY=1 within 15 s (exited: %s):\n%s" % (what, lab.proc.poll(), lab.read_log()))
    check(msg.get("READY") == "1", "%s: the first notification is READY=1: %s" % (what, msg))
    # At the moment READY=1 arrives everything is up: the start-up lines are logged, the control
    # socket answers at once, /metrics is served.
    log = lab.read_log()
    up = "port lan0 (net_af_packet0) up" in log and "worker(s) running" in log and "control socket" in log
    check(up, "%s: ports, workers and control socket logged before READY=1%s" % (what, "" if up else ":\n" + log))
    r = subprocess.run([tool(lab.build, "dplbctl"), "-s", lab.sock, "-t", "2", "status"], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 0, "%s: dplbctl status answers when READY=1 arrives: %s" % (what, r.stderr))
    check("dplb_" in lab.scrape(METRICS_PORT), "%s: /metrics answers when READY=1 arrives" % what)
    check(msg.get("STATUS") == "1 port(s) up, 1 worker(s), 1 service(s)",
          "%s: READY=1 comes with STATUS naming ports, workers, services: %s" % (what, msg))


def weight_shown(lab):
    m = re.search(r"10\.10\.0\.11:80\s+Route\s+(\d+)", lab.ctl_ok("list"))
    return int(m.group(1)) if m else None


def reload_checks(lab, note):
    # A valid file: RELOADING=1 stamped with CLOCK_MONOTONIC (Python's monotonic clock on Linux), then
    # READY=1 once applied.
    lab.write("lb.yaml", config(lab, 3))
    before = int(time.monotonic() * 1e6)
    lab.proc.send_signal(signal.SIGHUP)
    msg = note.next(10)
    after = int(time.monotonic() * 1e6)
    check(msg is not None and msg.get("RELOADING") == "1", "SIGHUP: RELOADING=1 first: %s" % msg)
    usec = msg.get("MONOTONIC_USEC", "")
    check(usec.isdigit() and before <= int(usec) <= after,
          "RELOADING=1 carries MONOTONIC_USEC=%r, CLOCK_MONOTONIC between %d and %d" % (usec, before, after))
    msg = note.next(10)
    check(msg is not None and msg.get("READY") == "1" and msg.get("STATUS", "").startswith("reloaded "),
          "valid reload: READY=1 with STATUS=reloaded ...: %s" % msg)
    check(weight_shown(lab) == 3, "the valid reload applied weight 3 by the time READY=1 came")

    # A broken file: RELOADING=1, then READY=1 saying it failed; the running configuration stays.
    lab.write("lb.yaml", config(lab, 5).replace("weight: 5", "weight: ten"))
    lab.proc.send_signal(signal.SIGHUP)
    msg = note.next(10)
    check(msg is not None and msg.get("RELOADING") == "1" and msg.get("MONOTONIC_USEC", "").isdigit(),
          "SIGHUP with a broken file: RELOADING=1 with MONOTONIC_USEC: %s" % msg)
    msg = note.next(10)
    check(msg is not None and msg.get("READY") == "1" and
          msg.get("STATUS") == "reload failed, running configuration kept",
          "broken reload: READY=1 with STATUS=reload failed, running configuration kept: %s" % msg)
    check(lab.proc.poll() is None and weight_shown(lab) == 3, "after the broken reload dplbd serves weight 3 still")


def stop_checks(lab, note, what):
    lab.proc.send_signal(signal.SIGTERM)
    msg = note.next(10)
    check(msg is not None and msg.get("STOPPING") == "1", "%s: SIGTERM: STOPPING=1: %s" % (what, msg))
    try:
        rc = lab.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        die("%s: dplbd did not exit within 15 s of SIGTERM" % what)
    check(rc == 0, "%s: dplbd exits 0 after SIGTERM (%s)" % (what, rc))
    check(note.next(0.2) is None, "%s: nothing after STOPPING=1: %s" % (what, note.got[-1]))


def body(lab):
    # 1. $NOTIFY_SOCKET a path; no $JOURNAL_STREAM: plain lines.
    note = Notifications(os.path.join(lab.dir, "notify"))
    lab.on_close(note.close)
    start(lab, "plain.log", {"NOTIFY_SOCKET": os.path.join(lab.dir, "notify")})
    wait_ready(lab, note, "path socket")
    reload_checks(lab, note)
    stop_checks(lab, note, "path socket")
    log = lab.read_log()
    plain = ("dplbd: reload failed, running configuration kept:\n" in log and "\ndplbd: reloaded " in log and
             "\ndplbd: control socket " in log)
    check(plain, "without the journal the lines are as before" + ("" if plain else ":\n" + log))
    bare = re.search(r"^<\d>", log, re.M) is None
    check(bare, "without $JOURNAL_STREAM no line has a priority prefix" + ("" if bare else ":\n" + log))

    # 2. $JOURNAL_STREAM naming dplbd's log file; $NOTIFY_SOCKET a path nobody listens on (a warning,
    # never fatal): every dplbd line carries its priority.
    log_path = os.path.join(lab.dir, "journal.log")
    open(log_path, "w").close()
    st = os.stat(log_path)
    start(lab, "journal.log", {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino),
                               "NOTIFY_SOCKET": os.path.join(lab.dir, "nobody-listens")})
    if not wait_for(lambda: lab.proc.poll() is not None or lab.ctl("status").returncode == 0, 15, 0.1) or \
            lab.proc.poll() is not None:
        die("dplbd with $JOURNAL_STREAM did not serve:\n" + lab.read_log())
    lab.write("lb.yaml", config(lab, 5).replace("weight: 5", "weight: ten"))
    lab.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in lab.read_log(), 10)
    lab.write("lb.yaml", config(lab, 4))
    lab.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: weight_shown(lab) == 4, 10)
    check(lab.stop() == 0, "dplbd under the journal exits 0 (failed notifications are not fatal)")
    log = lab.read_log()
    lines = log.splitlines()
    want = [r"^<6>dplbd: port lan0 \(net_af_packet0\) up", r"^<6>dplbd: \d+ worker\(s\) running",
            r"^<6>dplbd: control socket ", r"^<4>dplbd: sd_notify: .*nobody-listens",
            r"^<3>dplbd: reload failed, running configuration kept:$", r"^<3>.*weight",
            r"^<5>dplbd: reloaded ", r"^<6>dplbd: stopping; rx ", r"^<6>TCP  10\.10\.0\.100:80 rr$"]
    for pattern in want:
        found = any(re.search(pattern, line) for line in lines)
        check(found, "under the journal a line matches %s%s" % (pattern, "" if found else " in:\n" + log))
    bare = [line for line in lines if "dplbd" in line and not re.match(r"^<[3-6]>", line)]
    check(not bare, "under the journal every dplbd line has a priority: %s" % bare)
    i = next(n for n, line in enumerate(lines) if "reload failed" in line)
    check(lines[i + 1].startswith("<3>"), "every line of the multi-line reload error has <3>: %r" % lines[i + 1])

    # 3. $NOTIFY_SOCKET in the abstract namespace ("@name").
    name = "dplb-systemd-test-%d" % os.getpid()
    abstract = Notifications("\0" + name)
    lab.on_close(abstract.close)
    start(lab, "abstract.log", {"NOTIFY_SOCKET": "@" + name})
    wait_ready(lab, abstract, "abstract socket")
    stop_checks(lab, abstract, "abstract socket")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    cli_checks(build)
    lab = Lab(build)
    try:
        body(lab)
        print("1 passed, 0 failed")
    except SystemExit:
        if lab.log:
            print("--- dplbd log ---\n" + lab.read_log())
        raise
    finally:
        lab.close()


if __name__ == "__main__":
    main()
