#!/usr/bin/python3
"""Connection sync between two active directors (IPVS sync protocol v1), in network namespaces of the
test's own:

  client (10.94.0.10) ─┐
  lba    (10.94.0.2)  ─┤  dplbd on net_af_packet over eth0, `wlc` service VIP:80 -> rs1, rs2; sync: eth0,
  lbb    (10.94.0.3)  ─┼─ bridge   syncid 7 (224.0.0.81:8848); both directors own the VIP (no VRRP)
  rs1    (10.94.0.11) ─┤  nginx answering its own name, keep-alive; VIP on lo, arp_ignore/announce
  rs2    (10.94.0.12) ─┘

The client's neighbour entry for the VIP decides which director its frames reach (both would answer ARP).
Steps, each checked: the client opens N keep-alive connections through director A (one request each:
both reals used, as wlc spreads them); B's synced table holds them (2 records each: SYN_RECV, then
ESTABLISHED, polled with a deadline); the client's entry for the VIP moves to B's MAC; a second request
on each same connection (same local port, no reconnect) is answered by the same real through B, with 0
resets (the client kernel's Tcp EstabResets unchanged, no exception) and B counts N adopted flows and
forwarded the requests; A saw none of the second round. Both directors exit 0 on SIGTERM.

Kernel IPVS is not in this environment, so interoperability with `ipvsadm --start-daemon` is not tested
here (the codec's golden tests are written from the kernel's layouts instead).

Usage: test_sync_live.py BUILD_DIR. Exit 0 pass, 1 fail, 77 where namespaces cannot be made."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, die  # noqa: E402
from netlab import Site, nginx_command, wait_for  # noqa: E402

NET = "10.94.0."
VIP = NET + "100"
ADDR = {"client": NET + "10", "lba": NET + "2", "lbb": NET + "3", "rs1": NET + "11", "rs2": NET + "12"}
MAC = {"client": "02:00:00:94:00:10", "lba": "02:00:00:94:00:02", "lbb": "02:00:00:94:00:03",
       "rs1": "02:00:00:94:00:11", "rs2": "02:00:00:94:00:12"}
N = 8             # keep-alive connections
SYNC_LIMIT_S = 5  # from the last first-round answer until B holds every connection

# The client, one process in its namespace: "open" opens N connections and sends one request on each;
# "again" sends one more on each same connection. Each answer is a JSON line: per connection its local
# port, who answered (the body), or the error's name.
CLIENT = r'''
import http.client, json, sys
n, vip = int(sys.argv[1]), sys.argv[2]
conns = []
def get(c):
    try:
        c.request("GET", "/", headers={"Connection": "keep-alive"})
        r = c.getresponse()
        body = r.read().decode().strip()
        return {"port": c.sock.getsockname()[1] if c.sock else None, "real": body}
    except Exception as e:
        return {"port": None, "error": type(e).__name__ + ": " + str(e)}
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "open":
        conns = [http.client.HTTPConnection(vip, 80, timeout=3) for _ in range(n)]
        out = []
        for c in conns:
            c.connect()
            port = c.sock.getsockname()[1]
            res = get(c)
            res["opened"] = port
            out.append(res)
    elif cmd == "again":
        out = [get(c) for c in conns]
    else:
        break
    print(json.dumps(out), flush=True)
'''


def config(host, sock):
    reals = "".join('      - ip: %s\n        mac: "%s"\n' % (ADDR[r], MAC[r]) for r in ("rs1", "rs2"))
    return ("ports:\n  - name: lan0\n    device: net_af_packet0\n    addresses: [%s/24]\n" % ADDR[host] +
            "conn_table: {ipv4_entries: 4096, ipv6_entries: 1024}\n"
            "control: {socket: %s}\nmetrics: {listen: off}\n" % sock +
            "sync:\n  interface: eth0\n  syncid: 7\n"
            "services:\n  - name: web\n    vip: %s\n    port: 80\n    protocol: tcp\n    scheduler: wlc\n"
            "    real_servers:\n%s" % (VIP, reals))


class Director:
    """dplbd in `host` on net_af_packet over eth0, as Site.start_dplbd starts one, with its own socket."""

    def __init__(self, site, host):
        self.site, self.host = site, host
        self.sock = site.path(host + ".sock")
        cfg = site.path(host + ".yaml")
        with open(cfg, "w") as f:
            f.write(config(host, self.sock))
        self.proc = site.spawn("dplbd-" + host, host, [
            site.dplbd, "-l", "0,1", "--no-huge", "--no-pci", "-m", "256", "--file-prefix", site.ns(host),
            "--log-level", "lib.eal:error", "--vdev", "net_af_packet0,iface=eth0", "--",
            "--config", cfg, "--idle-sleep-us", "100"])
        if not wait_for(lambda: self.proc.poll() is not None or
                        (os.path.exists(self.sock) and self.ctl("status").returncode == 0), 15, 0.1):
            die("dplbd in %s did not open its control socket:\n%s" % (host, site.log_text("dplbd-" + host)))
        if self.proc.poll() is not None:
            die("dplbd in %s exited at start:\n%s" % (host, site.log_text("dplbd-" + host)))

    def ctl(self, *args):
        return subprocess.run([self.site.dplbctl, "-s", self.sock] + list(args), capture_output=True, text=True,
                              timeout=10)

    def status(self):
        r = self.ctl("status", "--json")
        if r.returncode != 0:
            die("dplbctl status in %s: %s%s" % (self.host, r.stdout, r.stderr))
        return json.loads(r.stdout)

    def sync(self):
        s = self.status()["sync"]
        if s is None:
            die("%s: status shows no sync" % self.host)
        return s

    def forwarded(self):
        """What this director forwarded: frames in all, and per service and real. Not the whole listing:
        rx_packets, to_kernel and not_for_us move with any frame the bridge floods (the client's first
        frame to B's MAC before the bridge learns it, ARP, multicast), which is not forwarding."""
        r = self.ctl("list", "--stats", "--json")
        if r.returncode != 0:
            die("dplbctl list in %s: %s" % (self.host, r.stderr))
        s = json.loads(r.stdout)
        return (s["forwarded"], [(v["inpkts"], [d["inpkts"] for d in v["reals"]]) for v in s["services"]])


def estab_resets(site):
    """The client kernel's Tcp EstabResets (connections reset from ESTABLISHED or CLOSE_WAIT)."""
    lines = [l.split() for l in site.in_ns("client", "cat", "/proc/net/snmp").stdout.splitlines()
             if l.startswith("Tcp:")]
    return int(lines[1][lines[0].index("EstabResets")])


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"

    def stopped(sig, _frame):
        die("stopped by signal %d" % sig)
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    site = Site(build, "sy")
    directors = []
    client = None
    try:
        site.segment("lan")
        for h in ("client", "lba", "lbb", "rs1", "rs2"):
            site.host(h)
            site.attach(h, "lan", mac=MAC[h], addrs=[ADDR[h] + "/24"])
        for r in ("rs1", "rs2"):
            site.real_server(r, VIP)
            conf = ('listen 80; keepalive_timeout 300s; keepalive_requests 10000; '
                    'location / { default_type text/plain; return 200 "%s\\n"; }' % r)
            site.spawn("nginx-" + r, r, nginx_command(site.path("nginx-" + r), conf))
            check(wait_for(lambda: site.in_ns(r, "curl", "-s", "-m", "1", "http://127.0.0.1/",
                                              check_rc=False).stdout.strip() == r, 10), "nginx answers in " + r)
        a, b = Director(site, "lba"), Director(site, "lbb")
        directors = [a, b]
        check(a.sync()["syncid"] == 7 and b.sync()["group"] == "224.0.0.81", "both directors run sync (syncid 7)")
        site.in_ns("client", "ip", "neigh", "replace", VIP, "lladdr", MAC["lba"], "dev", "eth0", "nud", "permanent")

        client = site.spawn("client", "client", [sys.executable, "-c", CLIENT, str(N), VIP],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def ask(cmd):
            client.stdin.write(cmd + "\n")
            client.stdin.flush()
            line = client.stdout.readline()
            if not line:
                die("the client exited:\n" + site.log_text("client"))
            return json.loads(line)

        resets0 = estab_resets(site)
        first = ask("open")
        errors = [c["error"] for c in first if "error" in c]
        check(not errors, "%d keep-alive connections through A answered (%s)" % (N, errors or "no errors"))
        reals = sorted(c["real"] for c in first)
        check(set(reals) == {"rs1", "rs2"}, "wlc spread them over both reals: %s" % reals)

        def b_holds_all():
            s = b.sync()
            return s["stored"] >= 2 * N and s["synced_entries"] >= N
        check(wait_for(b_holds_all, SYNC_LIMIT_S, 0.05),
              "B stored A's %d connections (SYN_RECV and ESTABLISHED each) within %d s: %s" %
              (N, SYNC_LIMIT_S, b.sync()))
        sa = a.sync()
        check(sa["sent_conns"] >= 2 * N and sa["dropped"] == 0 and sa["malformed"] == 0 and sa["ring_full"] == 0,
              "A sent them, nothing dropped: %s" % sa)
        # The client's last ACKs of the first round may still be on their way to A (delayed ACK): A's
        # counters are taken once they stand still for a poll step.
        last = [None]

        def a_settled():
            now = a.forwarded()
            settled = now == last[0]
            last[0] = now
            return settled
        check(wait_for(a_settled, 5, 0.3), "A's counters settle after the first round")
        a_list = last[0]

        site.in_ns("client", "ip", "neigh", "replace", VIP, "lladdr", MAC["lbb"], "dev", "eth0", "nud", "permanent")
        second = ask("again")
        errors = [c["error"] for c in second if "error" in c]
        check(not errors, "a second request on each connection through B answered (%s)" % (errors or "no errors"))
        same_conn = [c1["opened"] == c2["port"] for c1, c2 in zip(first, second)]
        check(all(same_conn), "each on its same connection (same local port, no reconnect)")
        moved = [(c1["real"], c2["real"]) for c1, c2 in zip(first, second) if c1["real"] != c2["real"]]
        check(not moved, "each answered by the same real as before (%d of %d)" % (N - len(moved), N))
        resets = estab_resets(site) - resets0
        check(resets == 0, "0 connections reset (client Tcp EstabResets +%d)" % resets)
        sb = b.sync()
        check(sb["adopted"] == N, "B adopted exactly the %d synced flows: %s" % (N, sb))
        check(a.forwarded() == a_list, "A forwarded nothing of the second round")
        print("figures: %d connections, B stored %d records, adopted %d, resets %d" %
              (N, sb["stored"], sb["adopted"], resets), flush=True)
        client.stdin.close()
        site.stop(client)
        for d in directors:
            check(site.stop(d.proc) == 0, "dplbd in %s exits 0 on SIGTERM" % d.host)
        print("1 passed, 0 failed", flush=True)
    except SystemExit:
        for d in directors:
            print("--- dplbd %s log (last 30 lines) ---\n%s" %
                  (d.host, "\n".join(site.log_text("dplbd-" + d.host).splitlines()[-30:])))
        raise
    finally:
        site.close()
        for h in ("lba", "lbb"):
            shutil.rmtree("/var/run/dpdk/" + site.ns(h), ignore_errors=True)


if __name__ == "__main__":
    main()
