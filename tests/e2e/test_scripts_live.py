#!/usr/bin/python3
"""vrrp_script, track_script and notify hooks on the real dplbd, in a network namespace of the test's own.

dplbd runs VRRP instance VI_S (priority 100, alone on the link, so it becomes MASTER) tracking two
vrrp_scripts: chk_up (`test -e DIR/up`, weight 0: FAULT while it fails) and chk_prio (`test -e
DIR/prio`, weight -30, run as the user nobody). Notify hooks append to files the test reads.

Checks (also dplb_script_runs_total on /metrics): the hooks say BACKUP then MASTER with keepalived's arguments (INSTANCE VI_S STATE PRIORITY),
each state hook before its `notify`; chk_prio ran as nobody; removing DIR/prio lowers the advertised
priority to 70 (read from the adverts on the wire) while VI_S stays MASTER; removing DIR/up moves VI_S
to FAULT (dplbctl status, the hooks, priority 70 in the notify arguments); putting both back makes it
MASTER at 100 again; a real's TCP_CHECK failing and passing again (its port closed and reopened)
runs notify_down, then notify_up; a reload that points chk_up at a file that is there while VI_S is
in FAULT brings VI_S back; SIGTERM runs notify_stop and `notify ... STOP`.

Usage: test_scripts_live.py BUILD_DIR. Exit 0 pass, 1 fail, 77 where namespaces cannot be made."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, parse_metrics, run, wait_for  # noqa: E402

NET = "10.97.0"
LB_ADDR = NET + ".2"
VIP = NET + ".100"
REAL = NET + ".11"
VRID = 77
METRICS_PORT = 9642  # in the test's namespace
WAIT_S = 15  # master down (3.6 s) plus script intervals, with room for a loaded machine


def config(lab, d, up_file="up"):
    hook = lambda word: "\"/bin/sh -c 'echo %s >> %s/hooks'\"" % (word, d)  # noqa: E731
    return ("ports:\n  - name: lan0\n    device: net_af_packet0\n    addresses: [%s/24]\n" % LB_ADDR +
            "control:\n  socket: %s\nmetrics:\n  listen: 127.0.0.1:%d\n" % (lab.sock, METRICS_PORT) +
            "services:\n  - vip: %s\n    port: 80\n    protocol: tcp\n    delay_loop: 1\n    real_servers:\n"
            "      - ip: %s\n        mac: \"02:00:00:97:00:11\"\n" % (VIP, REAL) +
            "        health_check: {type: tcp, connect_timeout: 1, retry: 0}\n"
            "        notify_up: \"/bin/sh -c 'echo up >> %s/real'\"\n" % d +
            "        notify_down: \"/bin/sh -c 'echo down >> %s/real'\"\n" % d +
            "vrrp_scripts:\n"
            "  - name: chk_up\n    script: /usr/bin/test -e %s/%s\n    interval: 1\n" % (d, up_file) +
            "  - name: chk_prio\n    script: \"/bin/sh -c 'id -u > %s/w/uid; test -e %s/prio'\"\n" % (d, d) +
            "    interval: 1\n    weight: -30\n    user: nobody\n"
            "vrrp_instances:\n"
            "  - name: VI_S\n    interface: lan0\n    state: BACKUP\n    virtual_router_id: %d\n" % VRID +
            "    priority: 100\n    advert_int: 1\n    virtual_ipaddresses: [%s]\n" % VIP +
            "    track_scripts: [chk_up, chk_prio]\n"
            "    notify_master: %s\n    notify_backup: %s\n" % (hook("master"), hook("backup")) +
            "    notify_fault: %s\n    notify_stop: %s\n" % (hook("fault"), hook("stop")) +
            "    notify: %s/notify.sh\n" % d)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Adverts:
    """VRRP adverts (IP protocol 112) for VRID as they arrive on cl0."""

    def __init__(self, lab):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        self.s.bind(("cl0", 0x0800))
        self.s.settimeout(0.2)
        lab.on_close(self.s.close)

    def wait_priority(self, prio, limit):
        """True once an advert for VRID carries `prio` within `limit` seconds."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            try:
                f = self.s.recv(2048)
            except socket.timeout:
                continue
            ihl = (f[14] & 0x0f) * 4
            if len(f) < 14 + ihl + 4 or f[14 + 9] != 112:
                continue
            vrrp = f[14 + ihl:]
            if vrrp[1] == VRID and vrrp[2] == prio:
                return True
        return False


def body(lab):
    d = lab.dir
    os.chmod(d, 0o755)  # chk_prio runs as nobody
    os.makedirs(os.path.join(d, "w"))
    os.chmod(os.path.join(d, "w"), 0o777)
    with open(os.path.join(d, "notify.sh"), "w") as f:
        f.write("#!/bin/sh\necho \"$*\" >> %s/notify.log\n" % d)
    os.chmod(os.path.join(d, "notify.sh"), 0o755)
    for name in ("up", "prio"):
        open(os.path.join(d, name), "w").close()
    lab.exec_ns("ip", "addr", "add", LB_ADDR + "/24", "dev", "lb0")
    lab.exec_ns("ip", "addr", "add", REAL + "/32", "dev", "cl0")

    def listen():  # the real's port 80, for its TCP_CHECK
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((REAL, 80))
        ls.listen(16)
        lab.on_close(ls.close)
        return ls
    listener = listen()
    adverts = Adverts(lab)
    lab.start(config(lab, d))
    notify_log = os.path.join(d, "notify.log")
    hooks = os.path.join(d, "hooks")
    state = lambda: {v["instance"]: v["state"] for v in lab.ctl_json("status").get("vrrp", [])}.get("VI_S")  # noqa: E731

    check(wait_for(lambda: "INSTANCE VI_S MASTER 100" in read(notify_log), WAIT_S),
          "notify says MASTER at 100: %r" % read(notify_log))
    check(read(notify_log).splitlines()[:2] == ["INSTANCE VI_S BACKUP 100", "INSTANCE VI_S MASTER 100"],
          "notify called with INSTANCE VI_S BACKUP 100, then MASTER 100: %r" % read(notify_log))
    check(read(hooks).splitlines()[:2] == ["backup", "master"], "notify_backup, then notify_master: %r" % read(hooks))
    check(state() == "MASTER", "dplbctl status: VI_S MASTER")
    check(read(os.path.join(d, "w", "uid")).strip() == str(65534),
          "chk_prio runs as nobody: uid %r" % read(os.path.join(d, "w", "uid")))
    check(adverts.wait_priority(100, 5), "adverts carry priority 100")

    os.unlink(os.path.join(d, "prio"))
    check(adverts.wait_priority(70, 5), "chk_prio failing (weight -30): adverts carry priority 70")
    check(state() == "MASTER", "VI_S stays MASTER at priority 70 (nobody better on the link)")

    os.unlink(os.path.join(d, "up"))
    check(wait_for(lambda: state() == "FAULT", 5), "chk_up failing (weight 0): VI_S in FAULT")
    check(wait_for(lambda: "INSTANCE VI_S FAULT 70" in read(notify_log), 5),
          "notify says FAULT at 70: %r" % read(notify_log))
    check(wait_for(lambda: read(hooks).splitlines()[-1:] == ["fault"], 5), "notify_fault ran: %r" % read(hooks))

    for name in ("up", "prio"):
        open(os.path.join(d, name), "w").close()
    check(wait_for(lambda: read(notify_log).splitlines()[-1:] == ["INSTANCE VI_S MASTER 100"], WAIT_S),
          "both scripts back: MASTER at 100 again: %r" % read(notify_log))
    check(state() == "MASTER", "dplbctl status: VI_S MASTER again")
    lines = read(notify_log).splitlines()
    # The two scripts come back at their own times: BACKUP at 70 or 100, whichever was first.
    check(lines[-2] in ("INSTANCE VI_S BACKUP 70", "INSTANCE VI_S BACKUP 100"),
          "out of FAULT through BACKUP: %r" % lines)

    def runs(kind, name, outcome):
        series = parse_metrics(lab.scrape(METRICS_PORT)).get("dplb_script_runs_total", [])
        return sum(v for lb, v in series if lb == {"kind": kind, "name": name, "outcome": outcome})
    check(runs("vrrp_script", "chk_up", "success") >= 2 and runs("vrrp_script", "chk_up", "failure") >= 1 and
          runs("vrrp_script", "chk_prio", "failure") >= 1,
          "dplb_script_runs_total counts chk_up's and chk_prio's successes and failures")
    check(wait_for(lambda: runs("notify", "VI_S", "success") == 2 * len(lines), 5),
          "dplb_script_runs_total{kind=notify,name=VI_S,outcome=success}: two hooks per change: %r"
          % runs("notify", "VI_S", "success"))

    # A reload that changes chk_up (it now looks for DIR/up2, which is there, while DIR/up is gone):
    # the new check starts up, and VI_S follows it out of FAULT.
    os.unlink(os.path.join(d, "up"))
    check(wait_for(lambda: state() == "FAULT", 5), "chk_up failing again: VI_S in FAULT")
    open(os.path.join(d, "up2"), "w").close()
    lab.write("lb.yaml", config(lab, d, up_file="up2"))
    r = lab.ctl("reload")
    check(r.returncode == 0, "dplbctl reload: %s%s" % (r.stdout, r.stderr))
    check(wait_for(lambda: state() == "MASTER", WAIT_S),
          "after a reload that changed chk_up, VI_S follows the new check out of FAULT to MASTER")

    # A real's hooks: its check fails when the port closes, passes when it opens again.
    real_log = os.path.join(d, "real")
    check(read(real_log) == "", "the real starts up: no hook yet: %r" % read(real_log))
    listener.close()
    check(wait_for(lambda: read(real_log) == "down\n", 10), "notify_down when its check fails: %r" % read(real_log))
    listener = listen()
    check(wait_for(lambda: read(real_log) == "down\nup\n", 10), "notify_up when it passes: %r" % read(real_log))
    check(wait_for(lambda: runs("notify_real", "TCP %s:80 -> %s:80" % (VIP, REAL), "success") == 2, 5),
          "dplb_script_runs_total{kind=notify_real,name=\"TCP VIP:80 -> REAL:80\"}: 2")

    check(lab.stop() == 0, "dplbd exits 0 on SIGTERM")
    check(wait_for(lambda: read(notify_log).splitlines()[-1:] == ["INSTANCE VI_S STOP 100"], 5),
          "notify ... STOP on the way out: %r" % read(notify_log))
    check(wait_for(lambda: read(hooks).splitlines()[-1:] == ["stop"], 5), "notify_stop ran: %r" % read(hooks))


if __name__ == "__main__":
    run(body)
