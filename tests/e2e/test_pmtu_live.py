#!/usr/bin/python3
"""Path MTU discovery through the director, in namespaces of the test's own:

  client ── r1 ══ r2 ── site bridge ─┬─ lb   (dplbd on net_af_packet; VIP, VIP6 :80, rr)
  1500    1500 1280 1500             ├─ rs1  nginx, VIP and VIP6 on lo (Direct Routing)
                                     └─ rs2

Every link has MTU 1500 but the one between the routers (1280), so the client's SYN offers an MSS
for 1500-byte packets and the real sends them. r2 cannot forward those: it sends "fragmentation
needed" (IPv4) / "packet too big" (IPv6) to their source, the VIP, which only dplbd answers for.
dplbd must hand the error to the real that owns the flow (Processor::icmp_error); the real lowers its
path MTU and the transfer completes. Without that the real's full-size segments are lost for good
(TCP MTU probing is off on the reals) and the download times out.

For each family: a 1 MiB download completes with the right bytes; r2 sent the error, dplbd counted it
(icmp_error_forwarded), the real that served the flow received it and now has path MTU 1280 for the
client, and the other real received none. Before the downloads no real has a path MTU for the client.

Usage: test_pmtu_live.py BUILD_DIR. Exit 0 pass, 1 fail, 77 where namespaces cannot be made."""

import hashlib
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, die, metric_value, run_site, wait_for  # noqa: E402

VIP, VIP6 = "10.92.0.100", "fd92::100"
CLIENT, CLIENT6 = "10.92.1.10", "fd92:1::10"
SITE = {"lb": ("10.92.0.2", "fd92::2", "02:00:00:92:00:02"),
        "rs1": ("10.92.0.11", "fd92::11", "02:00:00:92:00:11"),
        "rs2": ("10.92.0.12", "fd92::12", "02:00:00:92:00:12")}
REALS = ("rs1", "rs2")
SMALL_MTU = 1280
SIZE = 1 << 20
METRICS = "127.0.0.1:9642"

LB_CONFIG = """ports:
  - name: lan0
    device: net_af_packet0
    addresses: [10.92.0.2/24]
conn_table:
  ipv4_entries: 4096
  ipv6_entries: 4096
control:
  socket: {socket}
metrics:
  listen: %s
services:
""" % METRICS + "".join(
    """  - name: %s
    vip: "%s"
    port: 80
    protocol: tcp
    scheduler: rr
    real_servers:
""" % (name, vip) + "".join('      - ip: "%s"\n        mac: "%s"\n' % (SITE[rs][fam], SITE[rs][2]) for rs in REALS)
    for name, vip, fam in (("web4", VIP, 0), ("web6", VIP6, 1)))


def snmp(site, host, family, field):
    """A counter of /proc/net/snmp (IPv4 Icmp) or /proc/net/snmp6 in `host`'s namespace."""
    if family == 4:
        lines = [l.split() for l in site.in_ns(host, "cat", "/proc/net/snmp").stdout.splitlines() if
                 l.startswith("Icmp:")]
        return int(dict(zip(lines[0][1:], lines[1][1:]))[field])
    for line in site.in_ns(host, "cat", "/proc/net/snmp6").stdout.splitlines():
        k, v = line.split()
        if k == field:
            return int(v)
    die("no %s in %s's /proc/net/snmp6" % (field, host))


def path_mtu(site, host, family):
    """The path MTU `host` has cached for the client (None when it has none)."""
    out = site.in_ns(host, "ip", "-%d" % family, "route", "get", CLIENT if family == 4 else CLIENT6).stdout
    m = re.search(r"\bmtu (\d+)", out)
    return int(m.group(1)) if m else None


def download(site, family):
    """GET /big through the VIP from the client: (HTTP status, the real's name, body bytes)."""
    url = "http://%s/big" % (VIP if family == 4 else "[%s]" % VIP6)
    body, head = site.path("big-%d.out" % family), site.path("big-%d.head" % family)
    r = site.in_ns("client", "curl", "-s", "-%d" % family, "--max-time", "20", "-D", head, "-o", body,
                   "-w", "%{http_code}", url, check_rc=False)
    real = None
    if os.path.exists(head):
        m = re.search(r"^X-Real: (\S+)", open(head).read(), re.M | re.I)
        real = m.group(1) if m else None
    data = open(body, "rb").read() if os.path.exists(body) else b""
    return r.stdout.strip() or "curl exit %d" % r.returncode, real, data


def body(site):
    for h in ("client", "r1", "r2", "lb") + REALS:
        site.host(h, forwarding=h in ("r1", "r2"))
    site.segment("site")
    site.link("client", "eth0", "r1", "c0", a_addrs=[CLIENT + "/24", CLIENT6 + "/64"],
              b_addrs=["10.92.1.1/24", "fd92:1::1/64"])
    site.link("r1", "w0", "r2", "w0", mtu=SMALL_MTU, a_addrs=["10.92.2.1/24", "fd92:2::1/64"],
              b_addrs=["10.92.2.2/24", "fd92:2::2/64"])
    site.attach("r2", "site", "eth0", addrs=["10.92.0.1/24", "fd92::1/64"])
    for h in ("lb",) + REALS:
        v4, v6, mac = SITE[h]
        site.attach(h, "site", "eth0", mac, [v4 + "/24"] + ([v6 + "/64"] if h in REALS else []))
    site.in_ns("client", "ip", "route", "add", "default", "via", "10.92.1.1")
    site.in_ns("client", "ip", "-6", "route", "add", "default", "via", "fd92:1::1")
    site.in_ns("r1", "ip", "route", "add", "10.92.0.0/24", "via", "10.92.2.2")
    site.in_ns("r1", "ip", "-6", "route", "add", "fd92::/64", "via", "fd92:2::2")
    site.in_ns("r2", "ip", "route", "add", "10.92.1.0/24", "via", "10.92.2.1")
    site.in_ns("r2", "ip", "-6", "route", "add", "fd92:1::/64", "via", "fd92:2::1")

    www = site.path("www")
    os.makedirs(www)
    payload = os.urandom(SIZE)
    with open(os.path.join(www, "big"), "wb") as f:
        f.write(payload)
    # nginx's worker runs as an unprivileged user: let it reach the file (the test's folder is 0700).
    os.chmod(site.dir, 0o711)
    os.chmod(www, 0o755)
    os.chmod(os.path.join(www, "big"), 0o644)
    for rs in REALS:
        site.real_server(rs, VIP, VIP6)
        site.in_ns(rs, "ip", "route", "add", "default", "via", "10.92.0.1")
        site.in_ns(rs, "ip", "-6", "route", "add", "default", "via", "fd92::1")
        # No MTU probing: a real that never hears the router's error could not find the path MTU itself.
        site.in_ns(rs, "sysctl", "-qw", "net.ipv4.tcp_mtu_probing=0")
        site.nginx(rs, "    listen 80;\n    listen [::]:80;\n    root %s;\n    add_header X-Real %s;\n"
                       "    location / { default_type application/octet-stream; }" % (www, rs))
    for rs in REALS:  # nginx answers on the real's own address (through the site bridge, from r2)
        if not wait_for(lambda: site.in_ns("r2", "curl", "-s", "--max-time", "1", "-o", "/dev/null", "-w",
                                           "%{http_code}", "http://%s/big" % SITE[rs][0],
                                           check_rc=False).stdout == "200", 10, 0.1):
            die("nginx on %s does not answer: %s" % (rs, site.log_text("nginx-" + rs)))
    site.start_dplbd("lb", LB_CONFIG)

    mtus = {h: int(site.in_ns(h, "cat", "/sys/class/net/eth0/mtu").stdout) for h in ("client", "lb") + REALS}
    link = int(site.in_ns("r1", "cat", "/sys/class/net/w0/mtu").stdout)
    check(all(m == 1500 for m in mtus.values()) and link == SMALL_MTU,
          "only the routers' link is small: eth0 MTUs %s, r1-r2 %d" % (mtus, link))

    for family in (4, 6):
        name = "IPv%d" % family
        # Small requests fit any path: the VIP answers before the large one.
        small = site.in_ns("client", "curl", "-s", "-%d" % family, "--max-time", "10", "-o", "/dev/null", "-w",
                          "%{http_code}", "http://%s/" % (VIP if family == 4 else "[%s]" % VIP6) + "nonexistent",
                          check_rc=False).stdout
        check(small == "404", "%s: a small request through the VIP is answered (%s)" % (name, small))
        before = {rs: path_mtu(site, rs, family) for rs in REALS}
        check(all(m is None for m in before.values()),
              "%s: no real has a path MTU for the client before the download: %s" % (name, before))
        err_field = ("OutDestUnreachs", "InDestUnreachs") if family == 4 else ("Icmp6OutPktTooBigs",
                                                                             "Icmp6InPktTooBigs")
        r2_out0 = snmp(site, "r2", family, err_field[0])
        real_in0 = {rs: snmp(site, rs, family, err_field[1]) for rs in REALS}
        fwd0 = metric_value(site.scrape(METRICS), "dplb_dataplane_packets_total", outcome="icmp_error_forwarded")

        status, real, data = download(site, family)
        fwd = metric_value(site.scrape(METRICS), "dplb_dataplane_packets_total", outcome="icmp_error_forwarded") - fwd0
        r2_out = snmp(site, "r2", family, err_field[0]) - r2_out0
        real_in = {rs: snmp(site, rs, family, err_field[1]) - real_in0[rs] for rs in REALS}
        after = {rs: path_mtu(site, rs, family) for rs in REALS}
        print("%s: HTTP %s from %s, %d bytes; r2 sent %d %s, dplbd forwarded %d ICMP error(s), the reals received "
              "%s; path MTU for the client now %s" % (name, status, real, len(data), r2_out, err_field[0], fwd,
                                                      real_in, after), flush=True)
        check(status == "200" and real in REALS and len(data) == SIZE and
              hashlib.sha256(data).digest() == hashlib.sha256(payload).digest(),
              "%s: the 1 MiB download through the %d-byte link completes with the right bytes (%s, %d bytes)"
              % (name, SMALL_MTU, status, len(data)))
        other = [rs for rs in REALS if rs != real][0] if real in REALS else None
        check(r2_out > 0, "%s: r2 sent the error to the VIP (%d)" % (name, r2_out))
        check(fwd > 0, "%s: dplbd counted it in icmp_error_forwarded (%d)" % (name, fwd))
        check(real in REALS and real_in[real] > 0 and real_in[other] == 0,
              "%s: the real that served the flow (%s) received it, the other none: %s" % (name, real, real_in))
        check(real in REALS and after[real] == SMALL_MTU,
              "%s: %s's path MTU for the client is now %s" % (name, real, after.get(real)))


if __name__ == "__main__":
    run_site("pm", body)
