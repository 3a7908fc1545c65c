#!/usr/bin/python3
"""A provisioning script of ipvsadm commands replayed against the real dplbd with `dplbctl ipvsadm`,
on a Direct Routing site in namespaces of the test's own (client, director, three nginx real servers
on one segment): each change reaches the wire (new reals and a new VIP take connections, weight 0
takes none), `ipvsadm -S` prints the running table, refusals change nothing, `-R` applies a whole
file or nothing, `status` lists the changes, and a reload goes back to the file."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, run_site, wait_for  # noqa: E402

NET = "10.31.0."
VIP, VIP2 = NET + "100", NET + "101"
RS = {"rs1": NET + "11", "rs2": NET + "12", "rs3": NET + "13"}

CONFIG = """ports:
  - name: lan0
    device: net_af_packet0
    addresses: [%s2/24]
conn_table: {ipv4_entries: 4096, ipv6_entries: 1024}
control: {socket: "{socket}"}
metrics: {listen: "off"}
services:
  - name: web
    vip: %s
    port: 80
    protocol: tcp
    scheduler: rr
    real_servers:
      - ip: %s
""" % (NET, VIP, RS["rs1"])


def body(site):
    site.segment("lan")
    site.host("client")
    site.attach("client", "lan", addrs=[NET + "1/24"])
    for name, ip in RS.items():
        site.host(name)
        site.attach(name, "lan", addrs=[ip + "/24"])
        site.real_server(name, VIP, VIP2)
        site.nginx(name, 'listen 80; location / { default_type text/plain; return 200 "%s\\n"; }' % name)
    site.host("lb")
    site.attach("lb", "lan", addrs=[NET + "2/24"])  # the kernel side of the port resolves the reals
    site.start_dplbd("lb", CONFIG)
    for name in RS:
        check(wait_for(lambda n=name: site.in_ns(n, "curl", "-s", "-m", "1", "http://127.0.0.1/",
                                                 check_rc=False).stdout.strip() == n, 10),
              "nginx answers in " + name)

    def get(vip, n):
        """n requests to vip:80 from the client (a new connection each); the real servers that answered."""
        out = []
        for _ in range(n):
            r = site.in_ns("client", "curl", "-s", "-m", "2", "http://%s/" % vip, check_rc=False)
            out.append(r.stdout.strip() if r.returncode == 0 else "fail(%d)" % r.returncode)
        return out

    def answered_by(vip, want, n=6, limit=15):
        """Polls (bounded) until n requests in a row are all answered by reals in `want`, each of them
        seen at least once; returns the last round."""
        last = []

        def ok():
            last[:] = get(vip, n)
            return set(last) == set(want)
        wait_for(ok, limit, 0.2)
        return last

    def ipvsadm(*args, ok=True, stdin=None):
        r = subprocess.run([site.dplbctl, "-s", site.sock, "ipvsadm"] + list(args), input=stdin or "",
                           capture_output=True, text=True, timeout=10)
        if ok:
            check(r.returncode == 0, "dplbctl ipvsadm %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    got = answered_by(VIP, {"rs1"})
    check(set(got) == {"rs1"}, "before any change only rs1 answers: %s" % got)

    # The provisioning script, one command at a time.
    ipvsadm("-a", "-t", VIP + ":80", "-r", RS["rs2"], "-g", "-w", "1")
    got = answered_by(VIP, {"rs1", "rs2"})
    check(set(got) == {"rs1", "rs2"}, "-a: rs2 takes new connections beside rs1: %s" % got)
    ipvsadm("-A", "-t", VIP2 + ":80", "-s", "wrr")
    ipvsadm("-a", "-t", VIP2 + ":80", "-r", RS["rs3"] + ":80", "-g", "-w", "2")
    got = answered_by(VIP2, {"rs3"})
    check(set(got) == {"rs3"}, "-A/-a: a new VIP answers ARP and goes to rs3: %s" % got)
    ipvsadm("-e", "-t", VIP + ":80", "-r", RS["rs1"], "-w", "0")
    got = answered_by(VIP, {"rs2"})
    check(set(got) == {"rs2"}, "-e -w 0: rs1 takes no new connection: %s" % got)

    saved = ipvsadm("-S", "-n").stdout
    expected = ("-A -t %s:80 -s rr\n"
                "-a -t %s:80 -r %s:80 -g -w 0\n"
                "-a -t %s:80 -r %s:80 -g -w 1\n"
                "-A -t %s:80 -s wrr\n"
                "-a -t %s:80 -r %s:80 -g -w 2\n") % (VIP, VIP, RS["rs1"], VIP, RS["rs2"], VIP2, VIP2, RS["rs3"])
    check(saved == expected, "ipvsadm -S prints the running table:\n" + saved)
    one = ipvsadm("-Ln", "--thresholds", "-t", VIP2 + ":80").stdout
    check(one == site.ctl("list", "-t", VIP2 + ":80", "--thresholds").stdout and "TCP  %s:80 wrr" % VIP2 in one,
          "ipvsadm -Ln --thresholds -t is dplbctl list's view:\n" + one)
    listing = site.ctl("list").stdout
    check("TCP  %s:80 wrr" % VIP2 in listing and "%s:80" % RS["rs3"] in listing, "list shows the new service:\n"
          + listing)

    # -Z: the views count again from 0 for that service (and its reals) only.
    def conns(vip):
        line = [l for l in ipvsadm("-Ln", "--stats", "--exact").stdout.splitlines() if l.startswith("TCP  %s:80" % vip)]
        return int(line[0].split()[2])
    before1, before2 = conns(VIP), conns(VIP2)
    check(before1 > 0 and before2 > 0, "--stats counted connections: %d, %d" % (before1, before2))
    ipvsadm("-Z", "-t", VIP + ":80")
    check(conns(VIP) == 0 and conns(VIP2) == before2, "-Z -t zeroes that service only: %d, %d" % (conns(VIP), conns(VIP2)))
    got = get(VIP, 2)
    check(conns(VIP) == 2, "and it counts again from 0: %d (%s)" % (conns(VIP), got))
    r = ipvsadm("-Z", "-t", VIP + ":99", ok=False)
    check(r.returncode != 0 and "No such service" in r.stderr, "-Z of no service: " + r.stderr.strip())

    # Refusals: IPVS's message, nothing changed.
    r = ipvsadm("-A", "-t", VIP + ":80", "-s", "wlc", ok=False)
    check(r.returncode != 0 and "Service already exists" in r.stderr, "-A twice: " + r.stderr.strip())
    r = ipvsadm("-a", "-t", VIP + ":80", "-r", VIP2, ok=False)
    check(r.returncode != 0 and "is a vip" in r.stderr, "a real on a vip is refused: " + r.stderr.strip())
    r = ipvsadm("-a", "-t", VIP + ":80", "-r", NET + "2", ok=False)
    check(r.returncode != 0 and "director's own address" in r.stderr, "a real on the director's address: " +
          r.stderr.strip())
    r = ipvsadm("-A", "-t", VIP + ":81", "-m", ok=False)
    check(r.returncode != 0 and "Illegal 'forwarding-method' option" in r.stderr, "-m on -A: " + r.stderr.strip())
    check(ipvsadm("-S").stdout == expected, "refused changes left the table as it was")

    # -R: the whole file or nothing.
    rules = "-A -t %s:8080 -s rr\n-a -t %s:8080 -r %s:80 -g -w 1\n-d -t %s:80 -r 10.31.0.99\n" % (
        VIP, VIP, RS["rs3"], VIP)
    r = ipvsadm("-R", ok=False, stdin=rules)
    check(r.returncode != 0 and "stdin:3: No such destination" in r.stderr, "-R with a bad line: " + r.stderr.strip())
    check(ipvsadm("-S").stdout == expected, "-R with a bad line applied none of its lines")
    ipvsadm("-R", stdin=rules.rsplit("-d ", 1)[0])
    check("-A -t %s:8080 -s rr\n" % VIP in ipvsadm("-S").stdout, "-R applied its rules")

    status = site.ctl("status").stdout
    changes = [line for line in status.splitlines() if "since the last reload" in line]
    check(len(changes) == 5 and "ipvsadm -a -t %s:80 -r %s -g -w 1" % (VIP, RS["rs2"]) in changes[0]
          and "(2 lines)" in changes[4], "status lists the 5 applied changes:\n" + status)

    # A reload goes back to the file: one service, rs1 only.
    r = site.ctl("reload")
    check(r.returncode == 0, "reload: " + r.stdout + r.stderr)
    check(ipvsadm("-S").stdout == "-A -t %s:80 -s rr\n-a -t %s:80 -r %s:80 -g -w 1\n" % (VIP, VIP, RS["rs1"]),
          "after the reload the table is the file's")
    check("since the last reload" not in site.ctl("status").stdout, "the reload cleared the list of changes")
    got = answered_by(VIP, {"rs1"})
    check(set(got) == {"rs1"}, "after the reload only rs1 answers: %s" % got)


if __name__ == "__main__":
    run_site("ia", body)
