#!/usr/bin/python3
"""A service's sorry server end to end, on a Direct Routing site in namespaces of the test's own
(client, director, two nginx real servers and an nginx sorry server on one segment): while a real is
up the sorry server takes nothing and is not listed; with both reals' nginx stopped their TCP checks
fail, the quorum is lost, quorum_down runs and every new connection is answered by the sorry server;
with one real's nginx back, quorum_up runs and new connections go to that real again, while a
connection opened to the sorry server before still ends there; `dplbctl weight` 0 on the one live
real loses the quorum again. `dplbctl status`, `dplbctl list` and /metrics (dplb_service_quorum_up)
show each state."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, metric_value, nginx_command, run_site, wait_for  # noqa: E402

NET = "10.33.0."
VIP = NET + "100"
HOSTS = {"rs1": NET + "11", "rs2": NET + "12", "sorry": NET + "19"}
METRICS = "127.0.0.1:%d" % (22000 + os.getpid() % 1000)
# delay_loop 1 + connect_timeout 1 (retry 0), with room for a loaded machine.
LIMIT = 1 + 1 + 8.0


# A connection held open from the client: the request's first line now, the rest once GO exists;
# the last line of the answer goes to OUT ("sent" is written there first).
HOLD = r"""
import os, socket, sys, time
vip, go, out = sys.argv[1:4]
s = socket.create_connection((vip, 80), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n")
open(out + ".sent", "w").close()
end = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.05)
s.sendall(b"Connection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
with open(out + ".tmp", "w") as f:
    f.write(data.decode(errors="replace").strip().splitlines()[-1] if data.strip() else "(nothing)")
os.rename(out + ".tmp", out)
"""


def config(marks):
    reals = ""
    for name in ("rs1", "rs2"):
        reals += ("      - ip: %s\n        health_check: {type: tcp, connect_timeout: 1, retry: 0}\n"
                  % HOSTS[name])
    return """ports:
  - name: lan0
    device: net_af_packet0
    addresses: [%s2/24]
conn_table: {ipv4_entries: 4096, ipv6_entries: 1024}
control: {socket: "{socket}"}
metrics: {listen: "%s"}
services:
  - name: web
    vip: %s
    port: 80
    protocol: tcp
    scheduler: rr
    delay_loop: 1
    sorry_server: {ip: %s}
    quorum_up: "/usr/bin/touch %s/up"
    quorum_down: "/usr/bin/touch %s/down"
    real_servers:
%s""" % (NET, METRICS, VIP, HOSTS["sorry"], marks, marks, reals)


def body(site):
    site.segment("lan")
    site.host("client")
    site.attach("client", "lan", addrs=[NET + "1/24"])
    nginx = {}

    def serve(name, label=""):
        conf = 'listen 80; location / { default_type text/plain; return 200 "%s\\n"; }' % name
        label = label or "nginx-" + name  # a second start in a directory of its own
        nginx[name] = site.spawn(label, name, nginx_command(site.path(label), conf))
        check(wait_for(lambda: site.in_ns(name, "curl", "-s", "-m", "1", "http://127.0.0.1/",
                                          check_rc=False).stdout.strip() == name, 10),
              "nginx answers in " + name)

    for name, ip in HOSTS.items():
        site.host(name)
        site.attach(name, "lan", addrs=[ip + "/24"])
        site.real_server(name, VIP)
        serve(name)
    site.host("lb")
    site.attach("lb", "lan", addrs=[NET + "2/24"])  # the kernel side of the port resolves the reals
    marks = site.path("marks")
    os.mkdir(marks)
    site.start_dplbd("lb", config(marks))

    def get(n):
        """n requests to the VIP from the client (a new connection each); who answered each."""
        out = []
        for _ in range(n):
            r = site.in_ns("client", "curl", "-s", "-m", "2", "http://%s/" % VIP, check_rc=False)
            out.append(r.stdout.strip() if r.returncode == 0 else "fail(%d)" % r.returncode)
        return out

    def answered_by(want, n=6):
        """Polls (bounded) until n requests in a row are answered by exactly the hosts in `want`."""
        last = []

        def ok():
            last[:] = get(n)
            return set(last) == set(want)
        wait_for(ok, LIMIT + 5, 0.2)
        return last

    def status():
        return site.ctl("status").stdout

    def quorum_metric():
        return metric_value(site.scrape(METRICS), "dplb_service_quorum_up", protocol="tcp", vip=VIP + ":80")

    got = answered_by({"rs1", "rs2"})
    check(set(got) == {"rs1", "rs2"}, "both reals up: the reals answer, never the sorry server: %s" % got)
    check("quorum up" in status() and "sorry server %s:80 idle" % HOSTS["sorry"] in status(),
          "status: quorum up, sorry server idle:\n" + status())
    check(HOSTS["sorry"] not in site.ctl("list").stdout, "list: the idle sorry server is not in the table (as "
          "keepalived removes it):\n" + site.ctl("list").stdout)
    check(quorum_metric() == 1, "dplb_service_quorum_up 1")

    # Both reals' nginx gone: their checks fail, the quorum is lost, the sorry server takes over.
    site.stop(nginx.pop("rs1"))
    site.stop(nginx.pop("rs2"))
    check(wait_for(lambda: "quorum DOWN" in status(), LIMIT, 0.1), "quorum DOWN within %.0f s:\n%s"
          % (LIMIT, status()))
    check("sorry server %s:80 IN USE" % HOSTS["sorry"] in status(), "status: sorry server in use")
    svc = site.ctl_json("status")["services"][0]
    check(svc["quorum"] == "down" and svc["live_weight"] == 0 and svc["sorry_server"] == HOSTS["sorry"] + ":80"
          and svc["sorry_server_in_use"] is True, "status --json says the same: %s" % svc)
    got = answered_by({"sorry"})
    check(set(got) == {"sorry"}, "every new connection is answered by the sorry server: %s" % got)
    listing = site.ctl("list").stdout
    check("-> %s:80" % HOSTS["sorry"] in listing and HOSTS["rs1"] not in listing,
          "list shows the sorry server in place of the reals:\n" + listing)
    check(wait_for(lambda: os.path.exists(os.path.join(marks, "down")), 5), "quorum_down ran")
    check(not os.path.exists(os.path.join(marks, "up")), "quorum_up did not run")
    check(quorum_metric() == 0, "dplb_service_quorum_up 0")
    # A connection to the sorry server that is still open when the reals come back.
    go, held = site.path("go"), site.path("held")
    site.spawn("held", "client", ["/usr/bin/python3", "-c", HOLD, VIP, go, held])
    check(wait_for(lambda: os.path.exists(held + ".sent"), 10), "a connection is held open to the sorry server")

    # One real back: the quorum is regained and new connections go to it, not to the sorry server.
    serve("rs1", "nginx-rs1-again")
    check(wait_for(lambda: "quorum up" in status(), LIMIT, 0.1), "quorum up again within %.0f s:\n%s"
          % (LIMIT, status()))
    got = answered_by({"rs1"})
    check(set(got) == {"rs1"}, "new connections go to the real that came back: %s" % got)
    check(wait_for(lambda: os.path.exists(os.path.join(marks, "up")), 5), "quorum_up ran")
    check(HOSTS["sorry"] not in site.ctl("list").stdout, "list: the sorry server left the table again")
    check(quorum_metric() == 1, "dplb_service_quorum_up back to 1")
    # The held connection ends where it began: the sorry server keeps the flows it has.
    open(go, "w").close()
    check(wait_for(lambda: os.path.exists(held), 10), "the held connection got an answer")
    with open(held) as f:
        answer = f.read()
    check(answer == "sorry", "the connection opened before the reals came back is answered by the sorry "
          "server: %r" % answer)

    # The operator's weight counts too: rs1 (the one live real) at weight 0 loses the quorum.
    check(site.ctl("weight", VIP + ":80", HOSTS["rs1"] + ":80", "0").returncode == 0, "dplbctl weight rs1 0")
    check(wait_for(lambda: "quorum DOWN" in status(), 5, 0.1), "quorum DOWN at live weight 0:\n" + status())
    got = answered_by({"sorry"})
    check(set(got) == {"sorry"}, "the sorry server answers again: %s" % got)
    check(site.ctl("weight", VIP + ":80", HOSTS["rs1"] + ":80", "1").returncode == 0, "dplbctl weight rs1 1")
    check(wait_for(lambda: "quorum up" in status(), 5, 0.1), "quorum up at live weight 1:\n" + status())
    got = answered_by({"rs1"})
    check(set(got) == {"rs1"}, "and rs1 again: %s" % got)


if __name__ == "__main__":
    run_site("sorry", body)
