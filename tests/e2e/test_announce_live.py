#!/usr/bin/python3
"""The announce state handed to BIRD, end to end, in namespaces of the test's own: a director
(dplbd on af_packet with an `announce:` section, and BIRD with config/examples/bird/dplb-director.conf),
a router running BIRD with config/examples/bird/router.conf, one nginx real server, on one segment.
Checked on the router's kernel table (`ip route show VIP`): the VIP is learnt while the real is
healthy and a request from the router reaches it through the director; withdrawn after `dplbctl
maintenance on` and back after `off`; withdrawn when the real's nginx stops (its quorum lost) and back
when it starts; withdrawn when dplbd stops on SIGTERM, with the director's table 201 empty too. A route
a killed dplbd left in table 201 is gone once dplbd starts. `dplbctl status`, its JSON and /metrics
(dplb_vip_announced, dplb_maintenance, dplb_vip_withdrawals_total, dplb_maglev_fingerprint_info)
show each state. A reload that moves the table is refused by name; `maintenance:` in the file
applies on reload."""

import os
import re
import signal
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import Site, check, die, metric_value, nginx_command, run_site, wait_for  # noqa: E402

NET = "10.34.0."
ROUTER, LB, RS1 = NET + "1", NET + "2", NET + "11"
VIP = "10.35.0.100"   # outside the segment: the router reaches it only by the route BGP gives it
STALE = "10.35.0.199"  # what a killed dplbd left in table 201
TABLE = "201"
METRICS = "127.0.0.1:%d" % (23000 + os.getpid() % 1000)
BIRD = shutil.which("bird") or "/usr/sbin/bird"
# BGP and BFD come up in a few seconds; a withdrawal reaches the router at once; a health check
# notices nginx gone within delay_loop 1 + connect_timeout 1. Room for a loaded machine.
LIMIT = 30.0


def templated(name, subs):
    """A shipped BIRD template with `subs` (pattern -> replacement, each must match) applied."""
    with open(os.path.join(Site.ROOT, "config/examples/bird", name)) as f:
        text = f.read()
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text, flags=re.M)
        if n == 0:
            die("%s: no line matches %r: the template changed, update this test" % (name, pattern))
    return text


def config():
    return """ports:
  - name: lan0
    device: net_af_packet0
    addresses: [%s/24]
conn_table: {ipv4_entries: 4096, ipv6_entries: 1024}
control: {socket: "{socket}"}
metrics: {listen: "%s"}
announce:
  table: %s
services:
  - name: web
    vip: %s
    port: 80
    protocol: tcp
    scheduler: mh
    delay_loop: 1
    real_servers:
      - ip: %s
        health_check: {type: tcp, connect_timeout: 1, retry: 0}
""" % (LB, METRICS, TABLE, VIP, RS1)


def body(site):
    if not os.access(BIRD, os.X_OK):
        die("no bird (BIRD 2): scripts/setup.sh installs bird2")
    site.segment("lan")
    site.host("rtr")
    site.attach("rtr", "lan", addrs=[ROUTER + "/24"])
    site.host("rs1")
    site.attach("rs1", "lan", addrs=[RS1 + "/24"])
    site.real_server("rs1", VIP)
    site.in_ns("rs1", "ip", "route", "add", "default", "via", ROUTER)
    site.host("lb")
    site.attach("lb", "lan", addrs=[LB + "/24"])

    conf = 'listen 80; location / { default_type text/plain; return 200 "rs1\\n"; }'
    nginx = [site.spawn("nginx-rs1", "rs1", nginx_command(site.path("nginx-rs1"), conf))]
    check(wait_for(lambda: site.in_ns("rs1", "curl", "-s", "-m", "1", "http://127.0.0.1/",
                                      check_rc=False).stdout.strip() == "rs1", 10), "nginx answers in rs1")

    # BIRD on both sides, from the shipped templates.
    lb_conf = templated("dplb-director.conf", [
        (r"^define DPLB_ROUTER4 = .*;", "define DPLB_ROUTER4 = %s;" % ROUTER),
        (r"^define DPLB_TABLE = .*;", "define DPLB_TABLE = %s;" % TABLE),
        (r"^router id .*;", "router id %s;" % LB),
        (r"^log syslog all;", "log stderr all;")])
    rtr_conf = templated("router.conf", [
        (r"^router id .*;", "router id %s;" % ROUTER),
        (r"^protocol bgp director1 from director .*$",
         "protocol bgp director1 from director { neighbor %s as DPLB_DIRECTOR_AS; }" % LB),
        (r"^protocol bgp director[23] from director .*\n", ""),
        (r"^log syslog all;", "log stderr all;")])
    for host, text in (("lb", lb_conf), ("rtr", rtr_conf)):
        path = site.path("bird-%s.conf" % host)
        with open(path, "w") as f:
            f.write(text)
        site.spawn("bird-" + host, host, [BIRD, "-f", "-c", path, "-s", site.path("bird-%s.ctl" % host),
                                          "-P", site.path("bird-%s.pid" % host)])

    def router_route():
        return site.in_ns("rtr", "ip", "route", "show", VIP, check_rc=False).stdout.strip()

    def learnt():
        return ("via " + LB) in router_route()

    def lb_table():
        return site.in_ns("lb", "ip", "route", "show", "table", TABLE, check_rc=False).stdout

    def status():
        return site.ctl("status").stdout

    def timed(what, pred):
        """Polls pred (bounded by LIMIT); prints how long it took as a figure; returns pred's value."""
        start = time.monotonic()
        ok = wait_for(pred, LIMIT, 0.02)
        print("figure: %s: %.0f ms" % (what, (time.monotonic() - start) * 1000), flush=True)
        return ok

    def metric(name, **labels):
        return metric_value(site.scrape(METRICS), name, **labels)

    # A route left in our table by a dplbd that was killed.
    site.in_ns("lb", "ip", "route", "add", "blackhole", STALE + "/32", "table", TABLE, "proto", "201")
    site.start_dplbd("lb", config())

    check(wait_for(learnt, LIMIT, 0.1), "the router learns %s from the director within %.0f s: %r"
          % (VIP, LIMIT, router_route()))
    check(STALE not in lb_table(), "the killed run's route is gone from table %s:\n%s" % (TABLE, lb_table()))
    check(wait_for(lambda: STALE not in site.in_ns("rtr", "ip", "route", check_rc=False).stdout, 5, 0.1),
          "the router never keeps the stale VIP")
    check(re.search(r"blackhole %s proto 201" % re.escape(VIP), lb_table()) is not None,
          "the director's table %s holds the VIP as a blackhole of protocol 201:\n%s" % (TABLE, lb_table()))
    st = status()
    check("announce: table %s, maintenance off" % TABLE in st and "announce %s announced" % VIP in st,
          "status: announce table and the VIP announced:\n" + st)
    m = re.search(r"maglev TCP %s:80 fingerprint ([0-9a-f]{16})" % re.escape(VIP), st)
    check(m is not None, "status shows the Maglev fingerprint:\n" + st)
    js = site.ctl_json("status")
    check(js["announce"]["table"] == int(TABLE) and js["announce"]["vips"] ==
          [{"vip": VIP, "announced": True, "reason": ""}], "status --json: %s" % js.get("announce"))
    check(metric("dplb_vip_announced", vip=VIP) == 1 and metric("dplb_maintenance") == 0,
          "metrics: dplb_vip_announced 1, dplb_maintenance 0")
    check(metric("dplb_maglev_fingerprint_info", vip=VIP + ":80", fingerprint=m.group(1)) == 1,
          "metrics: dplb_maglev_fingerprint_info with the same fingerprint")
    # The path works: the router's request goes to the director by the learnt route, the director
    # forwards it to the real, the real answers the router directly.
    got = wait_for(lambda: site.in_ns("rtr", "curl", "-s", "-m", "2", "http://%s/" % VIP,
                                      check_rc=False).stdout.strip(), 10, 0.2)
    check(got == "rs1", "a request from the router to the VIP is answered by rs1: %r" % got)

    # Maintenance: withdrawn, then back.
    check(site.ctl("maintenance", "on").returncode == 0, "dplbctl maintenance on")
    check(timed("maintenance on -> gone from the router", lambda: not learnt()), "withdrawn from the router after maintenance on: %r"
          % router_route())
    check(VIP not in lb_table(), "gone from the director's table %s too" % TABLE)
    st = status()
    check("maintenance on" in st and "announce %s withdrawn (maintenance)" % VIP in st, "status:\n" + st)
    check(metric("dplb_maintenance") == 1 and metric("dplb_vip_announced", vip=VIP) == 0 and
          metric("dplb_vip_withdrawals_total") == 1, "metrics: maintenance 1, announced 0, 1 withdrawal")
    check(site.ctl("maintenance", "off").returncode == 0, "dplbctl maintenance off")
    check(timed("maintenance off -> learnt by the router", learnt), "learnt again after maintenance off: %r" % router_route())
    # A reload may set maintenance from the file, never move the table.
    original = open(site.config).read()
    with open(site.config, "w") as f:
        f.write(original.replace("  table: %s\n" % TABLE, "  table: 202\n"))
    r = site.ctl("reload")
    check(r.returncode != 0 and "announce.table cannot change while dplbd runs" in r.stderr,
          "a reload that moves the table is refused by name: %r" % r.stderr)
    check(learnt(), "the VIP stays announced after the refused reload")
    with open(site.config, "w") as f:
        f.write(original.replace("  table: %s\n" % TABLE, "  table: %s\n  maintenance: true\n" % TABLE))
    check(site.ctl("reload").returncode == 0, "a reload with maintenance: true applies")
    check(wait_for(lambda: not learnt(), LIMIT, 0.05), "withdrawn by the reload's maintenance: %r" % router_route())
    with open(site.config, "w") as f:
        f.write(original)
    check(site.ctl("reload").returncode == 0, "a reload with maintenance back to false applies")
    check(wait_for(learnt, LIMIT, 0.05), "learnt again: %r" % router_route())
    bad = site.ctl("maintenance", "sideways")
    check(bad.returncode != 0 and "usage: maintenance on|off" in bad.stderr, "a bad argument is refused: %r"
          % bad.stderr)

    # The real's nginx stops: its check fails, the quorum (1) is lost, the VIP is withdrawn.
    site.stop(nginx.pop())
    check(wait_for(lambda: not learnt(), LIMIT, 0.1), "withdrawn when the only real is down: %r" % router_route())
    st = status()
    check("announce %s withdrawn (quorum lost on %s:80/tcp)" % (VIP, VIP) in st, "status names the reason:\n" + st)
    check(metric("dplb_vip_withdrawals_total") == 3, "metrics: 3 withdrawals (maintenance twice, the quorum once)")
    nginx.append(site.spawn("nginx-rs1-again", "rs1", nginx_command(site.path("nginx-rs1-again"), conf)))
    check(wait_for(learnt, LIMIT, 0.1), "learnt again once nginx is back: %r" % router_route())
    check("announce %s announced" % VIP in status(), "status: announced again")

    # Shutdown: the route leaves the director's table and the router before dplbd exits.
    stopping = time.monotonic()
    check(site.stop(site.lb) == 0, "dplbd exits 0 on SIGTERM")
    print("figure: SIGTERM -> dplbd exited: %.0f ms" % ((time.monotonic() - stopping) * 1000), flush=True)
    check(VIP not in lb_table(), "no route left in the director's table %s after the stop:\n%s"
          % (TABLE, lb_table()))
    check(timed("dplbd exited -> gone from the router", lambda: not learnt()), "withdrawn from the router after the stop: %r"
          % router_route())
    check("announce: %s withdrawn (shutdown)" % VIP in site.log_text("dplbd"), "the log says why")

    # A dplbd that dies without its SIGTERM path leaves its route, and BIRD goes on announcing it:
    # `dplbd --withdraw FILE` (the unit's ExecStopPost) removes it.
    site.start_dplbd("lb", config())
    check(wait_for(learnt, LIMIT, 0.1), "learnt again after a restart: %r" % router_route())
    check(site.stop(site.lb, signal.SIGKILL) == -signal.SIGKILL, "dplbd killed")
    check(VIP in lb_table() and learnt(), "a killed dplbd's route stays (BIRD still announces it): %r" % lb_table())
    w = site.in_ns("lb", site.dplbd, "--withdraw", site.config, check_rc=False)
    check(w.returncode == 0 and "no route of protocol 201 left" in w.stdout,
          "dplbd --withdraw exits 0: %r %r" % (w.stdout, w.stderr))
    check(VIP not in lb_table(), "table %s empty after --withdraw:\n%s" % (TABLE, lb_table()))
    check(timed("dplbd --withdraw -> gone from the router", lambda: not learnt()),
          "withdrawn from the router after --withdraw: %r" % router_route())
    # And a dplbd started after the kill announces again (the closing check stops it by SIGTERM).
    site.start_dplbd("lb", config())
    check(wait_for(learnt, LIMIT, 0.1), "learnt again after a start that follows a kill: %r" % router_route())


if __name__ == "__main__":
    run_site("an", body)
