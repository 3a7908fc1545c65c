#!/usr/bin/python3
"""monitoring/ against the lab: Prometheus scrapes both directors, the dashboard's queries and the
rules' selectors return series, and the alerts fire and resolve on real events.

Usage (root): test_monitoring_lab.py BUILD_ROOT      (BUILD_ROOT holds controlplane/dplbd, dplbctl)

The lab (scripts/lab up: lb1/lb2 with VRRP, nginx on rs1/rs2, namespaces dplb-*) runs Debian's
prometheus in dplb-client with 1 s scrape and evaluation intervals. The rules are
monitoring/dplb.rules.yml with every `for:` divided by FOR_DIVISOR (at least MIN_FOR_S seconds) so
the test takes a few minutes instead of hours; the expressions are the file's own, unchanged.
Steps: health (rs1 down, then both), failover (lb1 stopped), split brain (VRRP dropped on the
bridge), failed reload. DPLB_PLOTS=DIR renders monitoring/plot.py's PNGs of the run into DIR.
DPLB_MONITORING_RULES / DPLB_MONITORING_DASHBOARD replace the files under test (to check that the
test fails on a broken rule or panel).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = "/tmp/dplb-lab"
LABSCRIPT = os.path.join(ROOT, "scripts/lab")
RULES = os.environ.get("DPLB_MONITORING_RULES", os.path.join(ROOT, "monitoring/dplb.rules.yml"))
DASHBOARD = os.environ.get("DPLB_MONITORING_DASHBOARD", os.path.join(ROOT, "monitoring/grafana/dplb.json"))
PROM = "http://127.0.0.1:9090"
LB = {"lb1": "10.77.0.2:9642", "lb2": "10.77.0.3:9642"}
RS = {"rs1": "10.77.0.11:80", "rs2": "10.77.0.12:80"}
VRID = "77"
FOR_DIVISOR = 10
MIN_FOR_S = 3
TEST_LIMIT_S = 480          # the whole test, cleanup included, is bounded by SIGALRM

failures = []
events = []                 # [unix time, what happened], drawn on the plots


def event(what):
    events.append([time.time(), what])


def say(msg):
    print(msg, flush=True)


def check(cond, what):
    say(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)
    return cond


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout(f"test ran past {TEST_LIMIT_S} s")


def run(*cmd, timeout=60, check_rc=True, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stdout}{r.stderr}")
    return r


def in_ns(host, *cmd, **kw):
    return run("ip", "netns", "exec", "dplb-" + host, *cmd, **kw)


def api(path, **params):
    """GET Prometheus' HTTP API from inside dplb-client; the decoded 'data', or raises."""
    args = ["curl", "-sS", "-m", "5", "--get"]
    for k, v in params.items():
        args += ["--data-urlencode", f"{k}={v}"]
    r = in_ns("client", *args, PROM + path, timeout=15)
    body = json.loads(r.stdout)
    if body.get("status") != "success":
        raise RuntimeError(f"{path} {params}: {body}")
    return body["data"]


def query(expr):
    return api("/api/v1/query", query=expr)["result"]


def alerts(name):
    return [a for a in api("/api/v1/alerts")["alerts"] if a["labels"].get("alertname") == name]


def matching(alist, labels):
    return [a for a in alist if all(a["labels"].get(k) == v for k, v in labels.items())]


def poll(cond, deadline_s, what, interval=0.5):
    """cond() until it returns something true, at most deadline_s; check() records the outcome."""
    end = time.monotonic() + deadline_s
    last_err = None
    while time.monotonic() < end:
        try:
            v = cond()
            if v:
                return check(True, what)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            last_err = e
        time.sleep(interval)
    return check(False, what + (f" (last error: {last_err})" if last_err else f" (not within {deadline_s} s)"))


def wait_alert(name, labelsets, deadline_s, need_pending=True, forbid=None):
    """Wait until alert `name` fires for every label set in labelsets (one dict or a list), each seen
    pending first when need_pending. forbid: (alertname, labels) that must not be firing at any
    poll meanwhile."""
    if isinstance(labelsets, dict):
        labelsets = [labelsets]
    seen_pending = [False] * len(labelsets)
    forbidden_seen = []

    def cond():
        if forbid and [a for a in matching(alerts(forbid[0]), forbid[1]) if a["state"] == "firing"]:
            forbidden_seen.append(time.monotonic())
        current = alerts(name)
        firing = True
        for i, labels in enumerate(labelsets):
            states = {a["state"] for a in matching(current, labels)}
            seen_pending[i] |= "pending" in states
            firing &= "firing" in states
        return firing

    fired = poll(cond, deadline_s, f"{name} {labelsets} fires", interval=0.3)
    if need_pending and fired:
        for labels, seen in zip(labelsets, seen_pending):
            check(seen, f"{name} {labels} was pending before firing")
    if forbid:
        check(not forbidden_seen, f"{forbid[0]} {forbid[1]} never fired meanwhile")
    return fired


def wait_resolved(name, labels, deadline_s):
    return poll(lambda: not matching(alerts(name), labels), deadline_s, f"{name} {labels} resolves")


def shortened_rules(text):
    """The rules file with each `for: D` divided by FOR_DIVISOR (MIN_FOR_S at least); the rest as is."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def repl(m):
        secs = sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", m.group(2)))
        return f"{m.group(1)}{max(MIN_FOR_S, secs // FOR_DIVISOR)}s"
    out, n = re.subn(r"^(\s+for:\s*)(\S+)\s*$", repl, text, flags=re.M)
    return out, n


def rule_selectors(expr):
    """The vector selectors (metric name and matchers) of a PromQL expression."""
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    keywords = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset"}
    sels = []
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^}]*\})?(\s*\()?", e):
        name, matchers, call = m.group(1), m.group(2), m.group(3)
        if not name and not matchers:
            continue
        if name and (call or name in keywords):
            continue
        sel = (name or "") + (matchers or "")
        if sel not in sels:
            sels.append(sel)
    return sels


def dashboard_exprs(dash):
    subst = {"$__rate_interval": "5s", "${datasource}": "prometheus", "$instance": ".+", "$vip": ".+"}
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            e = t["expr"]
            for k, v in subst.items():
                e = e.replace(k, v)
            check("$" not in e, f"panel '{p['title']}': every template variable substituted")
            out.append((p["title"], e))
    return out


def lab(*args, timeout=120):
    env = dict(os.environ, DPLB_BUILD=BUILD)
    return run(LABSCRIPT, *args, timeout=timeout, env=env)


def lab_free(deadline_s):
    """Another lab (namespaces dplb-*) may be running on this machine: wait for it to go. A lab
    whose recorded processes are all dead is stale and `scripts/lab up` replaces it."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        nss = [n for n in run("ip", "netns", "list").stdout.split() if n.startswith("dplb-")]
        if not nss:
            return True
        alive = False
        if os.path.isdir(LAB):
            for dirpath, _, files in os.walk(LAB):
                for f in files:
                    if f.endswith(".pid"):
                        try:
                            os.kill(int(open(os.path.join(dirpath, f)).read().strip()), 0)
                            alive = True
                        except (ValueError, OSError):
                            pass
        if not alive:
            return True
        time.sleep(2)
    return False


def nginx_pid(rs):
    return int(open(f"{LAB}/{rs}/nginx.pid").read().strip())


def nginx_stop(rs):
    pid = nginx_pid(rs)
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    raise RuntimeError(f"nginx on {rs} (pid {pid}) did not stop")


def nginx_start(rs):
    in_ns(rs, "nginx", "-c", f"{LAB}/{rs}/nginx.conf", "-p", f"{LAB}/{rs}")


def mac_of(host):
    out = run("ip", "-n", "dplb-" + host, "-o", "link", "show", "eth0").stdout
    return out.split("link/ether ")[1].split()[0]


def vip_mac():
    """The MAC the client's neighbour table holds for the VIP ("" when none)."""
    out = run("ip", "-n", "dplb-client", "neigh", "show", "10.77.0.100").stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else ""


def vrrp_masters():
    """{director address: 1 or 0} for state master of VRID, as Prometheus has it now."""
    return {r["metric"]["instance"]: float(r["value"][1])
            for r in query(f'dplb_vrrp_state{{job="dplb", vrid="{VRID}", state="master"}}')}


TRAFFIC = r"""
import sys, time, urllib.request
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        urllib.request.urlopen("http://10.77.0.100/", timeout=1).read()
    except Exception:
        pass
    time.sleep(0.1)
"""


def main():
    global BUILD
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    BUILD = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        say("FAIL  needs root (network namespaces)")
        return 1
    for tool in ("prometheus", "promtool", "nft", "nginx", "curl"):
        if not shutil.which(tool):
            say(f"FAIL  {tool} is not installed (scripts/setup.sh installs it)")
            return 1
    for b in ("dplbd", "dplbctl"):
        if not os.access(os.path.join(BUILD, "controlplane", b), os.X_OK):
            say(f"FAIL  {BUILD}/controlplane/{b} missing: build it first")
            return 1

    tmp = tempfile.mkdtemp(prefix="dplb-monitoring-")
    prom = traffic = None
    lb1_yaml = None
    started = False
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_LIMIT_S)
    try:
        # ------------------------------------------------------------------ static checks
        rules_text = open(RULES).read()
        short, n_for = shortened_rules(rules_text)
        check(n_for > 0, f"rules file has `for:` durations ({n_for})")
        rules_file = os.path.join(tmp, "dplb.rules.yml")
        open(rules_file, "w").write(short)
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}\n"
                    f"rule_files: [{rules_file}]\n"
                    "scrape_configs:\n  - job_name: dplb\n    static_configs:\n" +
                    "".join(f"      - targets: ['{a}']\n        labels: {{director: {lb}}}\n" for lb, a in LB.items()))
        r = run("promtool", "check", "rules", RULES, check_rc=False)
        check(r.returncode == 0, "promtool check rules monitoring/dplb.rules.yml" + ("" if r.returncode == 0 else ": " + r.stdout + r.stderr))
        r = run("promtool", "check", "config", os.path.join(ROOT, "monitoring/prometheus.yml"), check_rc=False)
        check(r.returncode == 0, "promtool check config monitoring/prometheus.yml" + ("" if r.returncode == 0 else ": " + r.stdout + r.stderr))
        r = run("promtool", "check", "config", cfg, check_rc=False)
        check(r.returncode == 0, "promtool check config (the test's, shortened for:)" + ("" if r.returncode == 0 else ": " + r.stdout + r.stderr))
        r = run("promtool", "test", "rules", os.path.join(ROOT, "monitoring/dplb.rules.test.yml"), check_rc=False)
        check(r.returncode == 0, "promtool test rules monitoring/dplb.rules.test.yml" + ("" if r.returncode == 0 else ": " + r.stdout + r.stderr))
        import yaml
        rules = [rule for g in yaml.safe_load(rules_text)["groups"] for rule in g["rules"] if "alert" in rule]
        dash = json.load(open(DASHBOARD))

        # ------------------------------------------------------------------ lab and prometheus
        if not lab_free(240):
            raise RuntimeError("another lab (namespaces dplb-*) kept running for 240 s")
        started = True
        lab("up")
        lb1_yaml = open(f"{LAB}/lb1.yaml").read()
        prom = subprocess.Popen(
            ["ip", "netns", "exec", "dplb-client", "prometheus", f"--config.file={cfg}",
             f"--storage.tsdb.path={tmp}/data", "--web.listen-address=127.0.0.1:9090",
             "--storage.tsdb.retention.time=1d", "--log.level=warn"],
            stdout=open(os.path.join(tmp, "prometheus.log"), "w"), stderr=subprocess.STDOUT)
        t_start = time.time()
        traffic = subprocess.Popen(["ip", "netns", "exec", "dplb-client", "/usr/bin/python3", "-c", TRAFFIC,
                                    str(TEST_LIMIT_S)])
        poll(lambda: prom.poll() is None and len([x for x in query('up{job="dplb"} == 1')]) == 2, 60,
             "prometheus scrapes both directors (up == 1)")
        poll(lambda: sum(vrrp_masters().values()) == 1 and vrrp_masters().get(LB["lb1"]) == 1, 30,
             "lb1 is the one VRRP MASTER")
        # rate() over 5 s needs samples spanning it
        poll(lambda: query(f'rate(dplb_packets_total{{job="dplb", real="{RS["rs1"]}"}}[5s]) > 0'), 30,
             "client traffic reaches the VIP (dplb_packets_total rising)")

        # ------------------------------------------------------------------ health: rs1 down
        event("rs1 nginx stopped")
        nginx_stop("rs1")
        wait_alert("DplbRealDown", [{"instance": a, "real": RS["rs1"]} for a in LB.values()], 40)
        check(not alerts("DplbServiceAllRealsDown"), "DplbServiceAllRealsDown stays quiet with rs2 up")
        check(not matching(alerts("DplbRealDown"), {"real": RS["rs2"]}), "DplbRealDown quiet for rs2")
        event("rs1 nginx started")
        nginx_start("rs1")
        wait_resolved("DplbRealDown", {"real": RS["rs1"]}, 30)
        # ------------------------------------------------------------------ health: both down
        event("rs1+rs2 stopped")
        nginx_stop("rs1")
        nginx_stop("rs2")
        wait_alert("DplbServiceAllRealsDown",
                   [{"instance": a, "vip": "10.77.0.100:80", "protocol": "tcp"} for a in LB.values()], 40)
        event("rs1+rs2 started")
        nginx_start("rs1")
        nginx_start("rs2")
        wait_resolved("DplbServiceAllRealsDown", {}, 30)
        wait_resolved("DplbRealDown", {}, 30)

        # ------------------------------------------------------------------ every selector has series
        # (after the health step, so that health-check failure counters have been created)
        for title, e in dashboard_exprs(dash):
            try:
                res = query(e)
            except RuntimeError as err:
                res, e = [], f"{e} ({err})"
            check(bool(res), f"panel '{title}': {e} returns series")
        for rule in rules:
            for sel in rule_selectors(rule["expr"]):
                check(bool(query(sel)), f"rule {rule['alert']}: {sel} returns series")

        # ------------------------------------------------------------------ failover
        event("lb1 stopped")
        lab("stop", "lb1")
        wait_alert("DplbDirectorDown", {"instance": LB["lb1"]}, 40,
                   forbid=("DplbVrrpNoMaster", {"vrid": VRID}))
        check(vrrp_masters() == {LB["lb2"]: 1.0}, f"lb2 alone is MASTER while lb1 is down: {vrrp_masters()}")
        check(not alerts("DplbVrrpNoMaster"), "DplbVrrpNoMaster neither pending nor firing")
        check(not matching(alerts("DplbDirectorDown"), {"instance": LB["lb2"]}), "DplbDirectorDown quiet for lb2")
        event("lb1 started")
        lab("start", "lb1")
        wait_resolved("DplbDirectorDown", {}, 30)
        poll(lambda: vrrp_masters() == {LB["lb1"]: 1.0, LB["lb2"]: 0.0}, 30, "lb1 MASTER again, lb2 BACKUP")

        # ------------------------------------------------------------------ split brain
        event("VRRP dropped")
        run("ip", "netns", "exec", "dplb-sw", "nft", "add table bridge dplbmon; "
            "add chain bridge dplbmon vrrpdrop { type filter hook forward priority 0; policy accept; }; "
            "add rule bridge dplbmon vrrpdrop ip protocol 112 drop")
        wait_alert("DplbVrrpMultipleMasters", {"vrid": VRID}, 40)
        check(sum(vrrp_masters().values()) == 2, f"both directors MASTER: {vrrp_masters()}")
        # lb2's gratuitous ARPs (it became MASTER; lb1 heard nothing and sent none) moved the client
        poll(lambda: vip_mac() == mac_of("lb2"), 15, "the client's ARP entry for the VIP follows lb2 during the split")
        event("VRRP passes")
        run("ip", "netns", "exec", "dplb-sw", "nft", "delete table bridge dplbmon")
        healed = time.time()
        poll(lambda: vrrp_masters() == {LB["lb1"]: 1.0, LB["lb2"]: 0.0}, 30, "one MASTER again (lb1)")
        # lb1 announces the VIP again on hearing lb2's lower advert: the client is back on lb1 within a
        # few adverts, not when its ARP entry expires (15-45 s)
        poll(lambda: vip_mac() == mac_of("lb1"), max(1.0, healed + 5 - time.time()),
             "the client's ARP entry for the VIP is back on lb1 within 5 s of VRRP passing")
        wait_resolved("DplbVrrpMultipleMasters", {}, 30)

        # ------------------------------------------------------------------ failed reload
        with open(f"{LAB}/lb1.yaml", "w") as f:
            f.write(lb1_yaml.replace("scheduler:", "scheduler: no-such-scheduler\n    # broken:", 1))
        event("broken reload")
        r = run(os.path.join(BUILD, "controlplane/dplbctl"), "-s", f"{LAB}/lb1.sock", "reload", check_rc=False)
        check(r.returncode != 0, "dplbctl reload of a broken lb1.yaml fails")
        wait_alert("DplbConfigReloadFailed", {"instance": LB["lb1"]}, 40)
        check(not matching(alerts("DplbConfigReloadFailed"), {"instance": LB["lb2"]}), "DplbConfigReloadFailed quiet for lb2")
        with open(f"{LAB}/lb1.yaml", "w") as f:
            f.write(lb1_yaml)
        event("fixed reload")
        r = run(os.path.join(BUILD, "controlplane/dplbctl"), "-s", f"{LAB}/lb1.sock", "reload", check_rc=False)
        check(r.returncode == 0, "dplbctl reload of the fixed lb1.yaml succeeds")
        wait_resolved("DplbConfigReloadFailed", {}, 30)

        # ------------------------------------------------------------------ nothing left firing
        firing = [a["labels"]["alertname"] for a in api("/api/v1/alerts")["alerts"] if a["state"] == "firing"]
        check(not firing, f"no alert firing at the end: {firing}")
        check(prom.poll() is None, "prometheus still running")

        plots = os.environ.get("DPLB_PLOTS")
        if plots:
            os.makedirs(plots, exist_ok=True)
            with open(os.path.join(tmp, "events.json"), "w") as f:
                json.dump(events, f)
            r = in_ns("client", "/usr/bin/python3", os.path.join(ROOT, "monitoring/plot.py"), "--url", PROM,
                      "--dashboard", DASHBOARD, "--start", str(int(t_start)), "--end", str(int(time.time()) + 1),
                      "--step", "1", "--out", plots, "--events", os.path.join(tmp, "events.json"), timeout=180, check_rc=False)
            check(r.returncode == 0, f"plot.py renders into {plots}" + ("" if r.returncode == 0 else ": " + r.stdout + r.stderr))
    except Timeout as e:
        check(False, str(e))
    except Exception as e:  # any error is a failure, reported, and cleaned up after
        check(False, f"{type(e).__name__}: {e}")
    finally:
        signal.alarm(0)
        for p in (traffic, prom):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        if failures and os.path.exists(os.path.join(tmp, "prometheus.log")):
            say("prometheus log (tail):\n" + open(os.path.join(tmp, "prometheus.log")).read()[-2000:])
        if started:
            try:
                lab("down")
            except Exception as e:
                check(False, f"scripts/lab down: {e}")
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"{len(failures)} failure(s)" if failures else "monitoring lab: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
