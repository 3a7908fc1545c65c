#!/usr/bin/python3
"""The Debian package, installed and run as systemd would run it, then purged.

usage: test_package.py [DEB]   (or $DPLB_DEB; without either, scripts/package.sh builds one)

1. dpkg -i: the binaries answer --version with the package's upstream version, the five man pages
   render, dplbctl's bash completion completes its commands and options, /etc/dplb/dplb.yaml and
   /etc/default/dplb are conffiles, the example configuration passes dplbd --check-config, the units
   are installed, pass systemd-analyze verify and are not enabled.
2. dplbd run from the installed dplbd.service: its ExecStartPre, ExecStart and ExecReload with the
   variables of /etc/default/dplb, only DPLBD_EAL_OPTS replaced (a veth in a namespace of the test's
   own, no hugepages), $NOTIFY_SOCKET a datagram socket of the test's, /run/dplb made as
   RuntimeDirectory= makes it: READY=1 only when dplbctl status answers on /run/dplb/dplb.sock;
   ExecReload gives RELOADING=1 then READY=1; a broken file fails ExecStartPre with the reason and
   its reload keeps the running configuration; SIGTERM gives STOPPING=1 and exit 0.
3. dpkg --purge: no file of the package, no /etc/dplb, /usr/share/doc/dplb, /run/dplb, dpkg record,
   namespace or veth is left.
Needs root. Exits 1 on the first failed check (everything it made is removed either way)."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TAG = "dplbpk%d" % (os.getpid() % 100000)
NS = TAG
VETH_A, VETH_B = TAG + "a", TAG + "b"
CONFIG = "/etc/dplb/dplb.yaml"
SOCK = "/run/dplb/dplb.sock"
RUNDIR = "/run/dplb"


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)
    print("ok - " + what.split("\n")[0], flush=True)


def run(args, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def upstream_version():
    """The version the package says it holds, from debian/changelog (not from the binaries)."""
    r = run(["dpkg-parsechangelog", "-l", os.path.join(ROOT, "debian/changelog"), "-S", "Version"])
    if r.returncode != 0:
        raise Failed("dpkg-parsechangelog: " + r.stderr)
    return r.stdout.strip()


def installed(pkg):
    r = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return r.returncode == 0 and "installed" in r.stdout.split()[-1:]


def unit_file(name):
    for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def unit_settings(path):
    """[Service] key -> list of values, as systemd reads them (comments and sections skipped)."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            k, _, v = line.partition("=")
            out.setdefault((section, k.strip()), []).append(v.strip())
    return out


def env_file(path):
    """KEY=VALUE lines of an EnvironmentFile (quotes removed), as systemd reads them."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            k, _, v = line.partition("=")
            env[k.strip()] = shlex.split(v)[0] if shlex.split(v) else ""
    return env


def expand(cmdline, env):
    """A unit's command line as systemd runs it: prefixes dropped, $VAR split into words, ${VAR} one."""
    words = shlex.split(cmdline)
    words[0] = words[0].lstrip("+-@!:")
    out = []
    for w in words:
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
        if m:
            out.extend(env.get(m.group(1), "").split())
        else:
            out.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda mm: env.get(mm.group(1), ""), w))
    return out


class Notifications:
    """The datagram socket $NOTIFY_SOCKET names."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def expect(self, key, limit, proc):
        """The next message holding `key`; fails after `limit` s or when the daemon exits first."""
        deadline = time.monotonic() + limit
        seen = []
        while time.monotonic() < deadline:
            self.sock.settimeout(0.2)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                if proc.poll() is not None:
                    raise Failed("dplbd exited (rc %s) waiting for %s; got %r" % (proc.returncode, key, seen))
                continue
            msg = dict(l.split("=", 1) for l in data.split("\n") if "=" in l)
            seen.append(msg)
            if key in msg:
                return msg
        raise Failed("no %s within %s s; got %r" % (key, limit, seen))

    def close(self):
        self.sock.close()


def package_checks(version, files):
    for tool in ("dplbd", "dplbctl"):
        path = "/usr/sbin/" + tool
        r = run([path, "--version"])
        check(r.returncode == 0 and r.stdout == "%s %s\n" % (tool, version),
              "%s --version prints '%s %s': rc %d %r %r" % (path, tool, version, r.returncode, r.stdout, r.stderr))
    for tool in ("dplb-hugepages", "dplb-realserver"):
        path = "/usr/sbin/" + tool
        check(os.access(path, os.X_OK), path + " installed, executable")
    r = run(["/usr/sbin/dplb-realserver"])
    check(r.returncode == 2 and "usage" in r.stderr, "dplb-realserver without arguments prints its usage, exit 2")

    for page, section in (("dplbd", 8), ("dplbctl", 8), ("dplb.yaml", 5), ("dplb-hugepages", 8),
                          ("dplb-realserver", 8)):
        path = "/usr/share/man/man%d/%s.%d.gz" % (section, page, section)
        check(path in files, "%s is in the package" % path)
        r = run(["man", "-l", path], env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0", PAGER="cat"))
        text = re.sub(".\b", "", r.stdout)
        check(r.returncode == 0 and re.search(r"^NAME\n\s+%s - " % re.escape(page), text, re.M)
              and "SEE ALSO" in text and not r.stderr.strip(),
              "man -l %s renders (NAME, SEE ALSO, no warnings): rc %d %r" % (path, r.returncode, r.stderr))

    r = run(["dpkg-query", "-W", "-f=${Conffiles}", "dplb"])
    conffiles = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    for path in (CONFIG, "/etc/default/dplb", "/etc/default/dplb-realserver"):
        check(path in conffiles, "%s is a conffile (%s)" % (path, conffiles))
    r = run(["/usr/sbin/dplbd", "--check-config", CONFIG])
    check(r.returncode == 0 and "configuration ok" in r.stdout,
          "dplbd --check-config %s: the installed example is valid: rc %d %r" % (CONFIG, r.returncode, r.stdout + r.stderr))
    r = run(["/usr/sbin/dplbd", "--check-config"])
    check(r.returncode == 0 and CONFIG in r.stdout, "dplbd --check-config without FILE reads " + CONFIG)
    with open("/usr/share/doc/dplb/examples/dplb.yaml") as a, open(CONFIG) as b:
        check(a.read() == b.read(), "the example under /usr/share/doc/dplb/examples is the installed " + CONFIG)

    units = []
    for name in ("dplbd.service", "dplb-hugepages.service", "dplb-realserver.service"):
        path = unit_file(name)
        check(path is not None and path in files, "unit %s installed by the package (%s)" % (name, path))
        units.append(path)
        enabled = [os.path.join(d, name) for d in ("/etc/systemd/system/multi-user.target.wants",)
                   if os.path.lexists(os.path.join(d, name))]
        check(not enabled, "%s is not enabled on install (%r)" % (name, enabled))
    r = run(["systemd-analyze", "verify", "--man=no"] + units)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          "systemd-analyze verify: no complaint about the units: rc %d %r" % (r.returncode, r.stdout + r.stderr))

    completion_checks()


def completion_checks():
    """dplbctl's completion run through bash-completion as an interactive shell would."""
    lib = "/usr/share/bash-completion/bash_completion"
    comp = "/usr/share/bash-completion/completions/dplbctl"
    check(os.path.exists(comp), comp + " installed")
    check(os.path.exists(lib), lib + " present (bash-completion installed) to run the completion")

    def complete(line):
        words = line.split(" ")
        script = ("source %s; source %s; COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%s; COMP_POINT=${#COMP_LINE};"
                  " _dplbctl dplbctl %s %s; printf '%%s\\n' \"${COMPREPLY[@]}\""
                  % (lib, comp, " ".join(shlex.quote(w) for w in words), len(words) - 1, shlex.quote(line),
                     shlex.quote(words[-1]), shlex.quote(words[-2])))
        r = run(["bash", "-c", script])
        if r.returncode != 0:
            raise Failed("completing %r: rc %d %s" % (line, r.returncode, r.stderr))
        return sorted(w for w in r.stdout.split("\n") if w)

    usage = run(["/usr/sbin/dplbctl", "--help"])
    commands = ["drain", "help", "import-ipvsadm", "import-keepalived", "ipvsadm", "list", "maintenance", "plan", "reload",
                "status", "timeouts", "weight"]
    for c in commands:
        check(re.search(r"\b%s\b" % re.escape(c), usage.stdout + usage.stderr), "dplbctl --help names " + c)
    got = complete("dplbctl ")
    check(got == commands, "completion of 'dplbctl ' is every command: %r" % got)
    check(complete("dplbctl -s /tmp/x re") == ["reload"], "completion skips -s SOCKET: 're' -> reload")
    check(complete("dplbctl maintenance ") == ["off", "on"], "completion of 'dplbctl maintenance ' is on / off")
    got = complete("dplbctl list --")
    list_usage = (usage.stdout + usage.stderr).split("  list ", 1)[1].split("\n  timeouts", 1)[0]
    list_opts = sorted(set(re.findall(r"--[a-z][a-z-]+", list_usage)) | {"--json"})
    check(got == list_opts, "completion of 'list --' is every option --help gives list: %r vs %r" % (got, list_opts))
    ka_usage = (usage.stdout + usage.stderr).split("  import-keepalived ", 1)[1].split("\n  import-ipvsadm", 1)[0]
    ka_opts = sorted(set(re.findall(r"--[a-z][a-z-]+", ka_usage)))
    got = complete("dplbctl import-keepalived --")
    check(ka_opts and got == ka_opts,
          "completion of 'import-keepalived --' is every option --help gives it: %r vs %r" % (got, ka_opts))
    plan_usage = (usage.stdout + usage.stderr).split("  plan ", 1)[1].split("\ndefault socket", 1)[0]
    plan_opts = sorted(set(re.findall(r"--[a-z][a-z-]+", plan_usage)))
    got = complete("dplbctl plan --")
    check(set(plan_opts) <= set(got), "completion of 'plan --' has every option --help lists: %r vs %r" % (got, plan_opts))


def service_run(tmp):
    unit = unit_settings(unit_file("dplbd.service"))
    svc = lambda k: unit.get(("[Service]", k), [])
    check(svc("Type") == ["notify"], "dplbd.service is Type=notify")
    check(svc("RuntimeDirectory") == ["dplb"], "dplbd.service has RuntimeDirectory=dplb (%s)" % SOCK)
    env_files = [e.lstrip("-") for e in svc("EnvironmentFile")]
    check(env_files == ["/etc/default/dplb"], "dplbd.service reads /etc/default/dplb: %r" % env_files)
    env = env_file("/etc/default/dplb")
    check("DPLBD_EAL_OPTS" in env, "/etc/default/dplb sets DPLBD_EAL_OPTS")
    # What the test must change: the port (a veth of its own) and memory (no hugepages here).
    env["DPLBD_EAL_OPTS"] = ("-l 0,1 --no-huge --no-pci -m 256 --file-prefix %s --log-level lib.eal:error "
                             "--vdev net_af_packet0,iface=%s" % (TAG, VETH_A))
    pre = [expand(c, env) for c in svc("ExecStartPre")]
    start = expand(svc("ExecStart")[0], env)
    reload_line = svc("ExecReload")[0]
    check(len(pre) == 1 and pre[0][:2] == ["/usr/sbin/dplbd", "--check-config"],
          "ExecStartPre checks the configuration: %r" % pre)
    check(start[0] == "/usr/sbin/dplbd" and "--" in start and CONFIG in start, "ExecStart: %r" % start)

    r = run(pre[0])
    check(r.returncode == 0, "ExecStartPre passes with the installed configuration: %r" % (r.stdout + r.stderr))

    subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(["ip", "-n", NS, "link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B], check=True)
    for dev in ("lo", VETH_A, VETH_B):
        subprocess.run(["ip", "-n", NS, "link", "set", dev, "up"], check=True)
    # RuntimeDirectory=dplb: systemd makes /run/dplb (0755, root) before ExecStartPre.
    os.mkdir(RUNDIR, 0o755)

    notify_path = os.path.join(tmp, "notify")
    notes = Notifications(notify_path)
    env_run = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "DPLB_SOCKET")}
    env_run.update({k: v for k, v in env.items()})
    env_run["NOTIFY_SOCKET"] = notify_path
    log_path = os.path.join(tmp, "dplbd.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(["ip", "netns", "exec", NS] + start, stdout=log, stderr=subprocess.STDOUT, env=env_run)
    state = {"proc": proc}
    try:
        ready = notes.expect("READY", 60, proc)
        check(ready.get("READY") == "1", "READY=1 from the service's ExecStart (STATUS=%s)" % ready.get("STATUS"))
        r = run(["/usr/sbin/dplbctl", "status"], timeout=30)
        check(r.returncode == 0 and CONFIG in r.stdout and "reloads 0 ok / 0 failed" in r.stdout,
              "dplbctl status (default socket %s) answers at READY: %r" % (SOCK, r.stdout + r.stderr))
        r = run(["/usr/sbin/dplbctl", "list"], timeout=30)
        check(r.returncode == 0 and "10.0.0.100:80" in r.stdout,
              "dplbctl list shows the example's service: %r" % (r.stdout + r.stderr))
        r = run(["ip", "netns", "exec", NS, sys.executable, "-c",
                 "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9642/metrics', timeout=10)"
                 ".read().decode())"], timeout=30)
        check(r.returncode == 0 and "dplb_" in r.stdout, "metrics served on the example's metrics.listen")
        with open("/proc/%d/comm" % proc.pid) as f:
            check(f.read().strip() == "dplbd", "$MAINPID is dplbd's pid")

        reload_cmd = expand(reload_line, dict(env, MAINPID=str(proc.pid)))
        check(reload_cmd[-1] == str(proc.pid) and "-HUP" in reload_cmd, "ExecReload signals $MAINPID: %r" % reload_cmd)
        r = run(reload_cmd)
        check(r.returncode == 0, "ExecReload ran: %r" % r.stderr)
        notes.expect("RELOADING", 30, proc)
        msg = notes.expect("READY", 30, proc)
        check("failed" not in msg.get("STATUS", ""), "ExecReload: RELOADING=1 then READY=1 (%s)" % msg.get("STATUS"))
        r = run(["/usr/sbin/dplbctl", "status"], timeout=30)
        check("reloads 1 ok / 0 failed" in r.stdout, "dplbctl status counts the reload: %r" % r.stdout)

        with open(CONFIG) as f:
            original = f.read()
        state["original"] = original
        with open(CONFIG, "w") as f:
            # Port 80 -> 8080, and a key the schema does not have: the whole file is refused.
            f.write(original.replace("    port: 80\n", "    port: 8080\n    bogus_key: 1\n", 1))
        r = run(pre[0])
        check(r.returncode != 0 and "bogus_key" in r.stdout + r.stderr,
              "ExecStartPre fails on a broken file, naming the problem: rc %d %r" % (r.returncode, r.stdout + r.stderr))
        r = run(reload_cmd)
        notes.expect("RELOADING", 30, proc)
        msg = notes.expect("READY", 30, proc)
        check("failed" in msg.get("STATUS", ""), "a broken file's reload: READY=1, STATUS says it failed (%s)"
              % msg.get("STATUS"))
        r = run(["/usr/sbin/dplbctl", "status"], timeout=30)
        check(proc.poll() is None and "reloads 1 ok / 1 failed" in r.stdout,
              "dplbd still runs and counts the failed reload: %r" % r.stdout)
        r = run(["/usr/sbin/dplbctl", "list"], timeout=30)
        check("10.0.0.100:80" in r.stdout and "8080" not in r.stdout,
              "the running configuration is kept (port 80, not the broken file's 8080): %r" % r.stdout)
        with open(log_path) as f:
            check("bogus_key" in f.read(), "dplbd logged why the reload failed")
        with open(CONFIG, "w") as f:
            f.write(original)
        state.pop("original")
        r = run(["dpkg", "--verify", "dplb"])
        check(r.returncode == 0 and not r.stdout.strip(), "dpkg --verify dplb: nothing changed: %r" % r.stdout)

        proc.send_signal(signal.SIGTERM)  # systemctl stop: KillSignal=SIGTERM
        msg = notes.expect("STOPPING", 30, proc)
        rc = proc.wait(timeout=30)
        check(rc == 0, "SIGTERM: STOPPING=1 and exit 0 (rc %d)" % rc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        notes.close()
        if "original" in state:
            with open(CONFIG, "w") as f:
                f.write(state["original"])
        # What systemd removes when the unit stops (RuntimeDirectory=), and EAL's runtime files.
        shutil.rmtree(RUNDIR, ignore_errors=True)
        shutil.rmtree("/var/run/dpdk/" + TAG, ignore_errors=True)
        if proc.returncode not in (0, None):
            with open(log_path) as f:
                print(f.read()[-4000:], file=sys.stderr)


def purge_checks(files):
    r = run(["dpkg", "--purge", "dplb"], timeout=120)
    check(r.returncode == 0, "dpkg --purge dplb: rc %d %s" % (r.returncode, r.stderr))
    check(not installed("dplb"), "dpkg no longer knows dplb as installed")
    left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
    check(not left, "no file of the package is left: %r" % left)
    for d in ("/etc/dplb", "/usr/share/doc/dplb", RUNDIR, "/var/run/dpdk/" + TAG, "/var/lib/dpkg/info/dplb.list",
              "/var/lib/dpkg/info/dplb.conffiles", "/var/lib/dpkg/info/dplb.md5sums"):
        check(not os.path.lexists(d), d + " is gone")


def main():
    if os.geteuid() != 0:
        print("test_package: needs root (dpkg -i, namespaces)", file=sys.stderr)
        return 1
    if installed("dplb"):
        print("test_package: dplb is already installed here; the test installs and purges it, so it "
              "will not run over an installation it did not make", file=sys.stderr)
        return 1
    if os.path.exists(RUNDIR):
        print("test_package: %s exists (a dplbd running?); not touching it" % RUNDIR, file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="dplb-pkgtest.")
    made_install = False
    try:
        deb = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DPLB_DEB", "")
        if not deb:
            r = subprocess.run([os.path.join(ROOT, "scripts/package.sh"), os.path.join(tmp, "dist")], timeout=1800)
            check(r.returncode == 0, "scripts/package.sh built the package (lintian: no errors)")
            version = upstream_version()
            deb = os.path.join(tmp, "dist", "dplb_%s_amd64.deb" % version)
        check(os.path.isfile(deb), "package file " + deb)
        full = upstream_version()
        version = full.split("-")[0]
        r = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture"])
        check(r.stdout.split() == ["Package:", "dplb", "Version:", full, "Architecture:", "amd64"],
              "package dplb %s amd64: %r" % (full, r.stdout))
        made_install = True
        r = run(["dpkg", "-i", deb], timeout=300)
        check(r.returncode == 0, "dpkg -i %s: %s" % (deb, r.stdout[-2000:] + r.stderr[-2000:]))
        files = [l for l in run(["dpkg", "-L", "dplb"]).stdout.splitlines() if l.startswith("/")]
        package_checks(version, files)
        service_run(tmp)
        made_install = False
        purge_checks(files)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        check(not os.path.exists("/run/netns/" + NS), "namespace %s removed" % NS)
        check(run(["ip", "link", "show", VETH_A]).returncode != 0, "no veth %s left" % VETH_A)
        print("test_package: all checks passed")
        return 0
    except Failed as e:
        print("FAIL - " + str(e), file=sys.stderr)
        return 1
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        if made_install and installed("dplb"):
            subprocess.run(["dpkg", "--purge", "dplb"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
