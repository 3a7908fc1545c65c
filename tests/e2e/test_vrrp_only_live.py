#!/usr/bin/python3
"""A VRRP-only site on the real dplbd: keepalived + nginx on the same two hosts, with dplbd in
keepalived's place and no service at all.

Namespaces of the test's own on one bridge: client (10.98.0.10), lb1 (10.98.0.2) and lb2 (10.98.0.3),
each director running nginx on its kernel side (answering "lb1" / "lb2") and dplbd on
net_af_packet over its eth0, with one VRRP instance VI_WEB (lb1 priority 150, lb2 100) whose
address 10.98.0.100/24 (label web) is no service's vip, tracking a vrrp_script that fetches
http://127.0.0.1/ from the host's own nginx.

Checks: lb1 becomes MASTER and holds the address on eth0 (with its label), lb2 does not; the client
fetches "lb1" from http://VIP/; nginx killed on lb1 -> its script fails -> lb1 FAULT, lb2 MASTER,
lb2's gratuitous ARP moves the client's neighbour entry, the client fetches "lb2", the address is gone from lb1's eth0 and on lb2's; nginx back on lb1 -> lb1
preempts and the address moves back; dplbd on lb1 stopped (SIGTERM) -> the address leaves lb1 with
it; dplbd on lb2 killed (SIGKILL) while MASTER leaves the address behind, and the next dplbd there
(with another address) removes it at start; a reload that changes the label relabels the address in
place, one that changes the address replaces it.

Usage: test_vrrp_only_live.py BUILD_DIR. Exit 0 pass, 1 fail, 77 without root, namespaces, nginx or curl."""

import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import SKIP, check, die, metric_value, nginx_command, wait_for  # noqa: E402

NET = "10.98.0"
VIP = NET + ".100"
VIP2 = NET + ".101"
HOSTS = {"lb1": (NET + ".2", 150), "lb2": (NET + ".3", 100)}
WAIT_S = 15  # master down (3.6 s), a script's run, a loaded machine


def config(site, host, vip=VIP, label="web"):
    addr, prio = HOSTS[host]
    return ("ports:\n  - name: eth0\n    device: net_af_packet0\n    addresses: [%s/24]\n" % addr +
            "control:\n  socket: %s\n" % site.path(host + ".sock") +
            "vrrp_scripts:\n  - name: chk_nginx\n"
            "    script: /usr/bin/curl -sf -o /dev/null --max-time 1 http://127.0.0.1/\n"
            "    interval: 1\n    timeout: 2\n"
            "vrrp_instances:\n  - name: VI_WEB\n    interface: eth0\n    state: BACKUP\n"
            "    virtual_router_id: 98\n    priority: %d\n    advert_int: 1\n" % prio +
            "    virtual_ipaddresses: [{address: %s/24, label: %s}]\n" % (vip, label) +
            "    track_scripts: [chk_nginx]\n")


def start_dplbd(site, host, vip=VIP):
    """dplbd in `host` on net_af_packet over eth0; returns its Popen once dplbctl status answers."""
    cfg = site.path(host + ".yaml")
    with open(cfg, "w") as f:
        f.write(config(site, host, vip))
    sock = site.path(host + ".sock")
    if os.path.exists(sock):
        os.unlink(sock)
    p = site.spawn("dplbd-" + host, host, [
        site.dplbd, "-l", "0,1", "--no-huge", "--no-pci", "-m", "256", "--file-prefix", site.ns(host),
        "--log-level", "lib.eal:error", "--vdev", "net_af_packet0,iface=eth0", "--",
        "--config", cfg, "--idle-sleep-us", "100"])
    if not wait_for(lambda: p.poll() is not None or (os.path.exists(sock) and ctl(site, host, "status").returncode == 0),
                    15, 0.1):
        die("dplbd in %s did not open its control socket:\n%s" % (host, site.log_text("dplbd-" + host)))
    if p.poll() is not None:
        die("dplbd in %s exited at start:\n%s" % (host, site.log_text("dplbd-" + host)))
    site.lb_host = host  # Site.close removes its EAL run files (the other host's: body_with_logs)
    return p


def ctl(site, host, *args):
    return subprocess.run([site.dplbctl, "-s", site.path(host + ".sock")] + list(args), capture_output=True,
                          text=True, timeout=10)


def state(site, host):
    import json
    r = ctl(site, host, "status", "--json")
    if r.returncode != 0:
        return None
    return {v["instance"]: v["state"] for v in json.loads(r.stdout).get("vrrp", [])}.get("VI_WEB")


def addresses(site, host):
    """The IPv4 addresses on the host's eth0 as `ip -o -4 address` lists them: {"10.98.0.100/24": "eth0:web"}."""
    out = site.in_ns(host, "ip", "-o", "-4", "address", "show", "dev", "eth0").stdout
    found = {}
    for line in out.splitlines():
        words = line.split("\\")[0].split()  # "3: eth0 inet A/N scope global secondary LABEL\ valid_lft ..."
        if "inet" in words:
            found[words[words.index("inet") + 1]] = words[-1]
    return found


def holds(site, host, vip=VIP):
    return (vip + "/24") in addresses(site, host)


def fetch(site):
    r = site.in_ns("client", "curl", "-s", "--max-time", "1", "http://%s/" % VIP, check_rc=False)
    return r.stdout.strip() if r.returncode == 0 else None


def body(site):
    for tool in ("nginx", "curl"):
        if shutil.which(tool) is None:
            print("SKIP: needs %s" % tool)
            sys.exit(SKIP)
    site.segment("br0")
    site.host("client")
    site.attach("client", "br0", addrs=(NET + ".10/24",))
    for host, (addr, _) in HOSTS.items():
        site.host(host)
        site.attach(host, "br0", addrs=(addr + "/24",))
    nginx = {}

    def start_nginx(host):
        conf_dir = site.path("nginx-%s-%d" % (host, len(site.procs)))
        nginx[host] = site.spawn("nginx-" + host, host, nginx_command(
            conf_dir, "    listen 80;\n    location / { return 200 \"%s\\n\"; }" % host))
        check(wait_for(lambda: site.in_ns(host, "curl", "-sf", "--max-time", "1", "http://127.0.0.1/",
                                          check_rc=False).returncode == 0, 10),
              "nginx answers on %s" % host)
    start_nginx("lb1")
    start_nginx("lb2")

    lb1 = start_dplbd(site, "lb1")
    site.lb = lb1  # run_site checks that it exits 0 on SIGTERM
    check(wait_for(lambda: state(site, "lb1") == "MASTER", WAIT_S), "lb1 becomes MASTER: %s" % state(site, "lb1"))
    lb2 = start_dplbd(site, "lb2")
    check(wait_for(lambda: state(site, "lb2") == "BACKUP", WAIT_S), "lb2 is BACKUP: %s" % state(site, "lb2"))
    check(wait_for(lambda: holds(site, "lb1"), 5), "the address is on lb1's eth0: %s" % addresses(site, "lb1"))
    check(addresses(site, "lb1").get(VIP + "/24") == "eth0:web",
          "with the label eth0:web: %s" % addresses(site, "lb1"))
    check(not holds(site, "lb2"), "and not on lb2's: %s" % addresses(site, "lb2"))
    check(wait_for(lambda: fetch(site) == "lb1", 10), "the client fetches lb1's page from the VIP: %r" % fetch(site))
    # No service: the listing is ipvsadm's header alone, the metrics still say the VRRP state.
    r = ctl(site, "lb1", "list")
    check(r.returncode == 0 and "Prot LocalAddress:Port" in r.stdout and VIP not in r.stdout,
          "dplbctl list without services: %r %r" % (r.stdout, r.stderr))
    m = site.in_ns("lb1", "curl", "-s", "--max-time", "5", "http://127.0.0.1:9642/metrics", check_rc=False).stdout
    check(metric_value(m, "dplb_vrrp_state_code", vrrp_instance="VI_WEB") == 2.0,
          "dplb_vrrp_state_code{vrrp_instance=VI_WEB} is 2 (MASTER)")

    # nginx dies on lb1: its script fails, lb1 goes to FAULT, lb2 takes over.
    site.stop(nginx["lb1"])
    check(wait_for(lambda: state(site, "lb1") == "FAULT", WAIT_S), "lb1 in FAULT: %s" % state(site, "lb1"))
    check(wait_for(lambda: state(site, "lb2") == "MASTER", WAIT_S), "lb2 MASTER: %s" % state(site, "lb2"))
    check(wait_for(lambda: not holds(site, "lb1"), 5), "the address left lb1's eth0: %s" % addresses(site, "lb1"))
    check(wait_for(lambda: holds(site, "lb2"), 5), "the address is on lb2's eth0: %s" % addresses(site, "lb2"))
    # Before the client sends anything, lb2's gratuitous ARPs have moved its neighbour entry.
    lb2_mac = site.in_ns("lb2", "cat", "/sys/class/net/eth0/address").stdout.strip()
    neigh = lambda: site.in_ns("client", "ip", "neigh", "show", VIP).stdout  # noqa: E731
    check(wait_for(lambda: lb2_mac in neigh(), 5), "gratuitous ARP: the client's entry for the VIP is lb2's %s: %r"
          % (lb2_mac, neigh()))
    check(wait_for(lambda: fetch(site) == "lb2", 10), "the client fetches lb2's page: %r" % fetch(site))

    # nginx back on lb1: it preempts, the address moves back.
    start_nginx("lb1")
    check(wait_for(lambda: state(site, "lb1") == "MASTER", WAIT_S), "lb1 MASTER again: %s" % state(site, "lb1"))
    check(wait_for(lambda: state(site, "lb2") == "BACKUP", WAIT_S), "lb2 BACKUP again: %s" % state(site, "lb2"))
    check(wait_for(lambda: holds(site, "lb1") and not holds(site, "lb2"), 5),
          "the address is back on lb1 only: lb1 %s, lb2 %s" % (addresses(site, "lb1"), addresses(site, "lb2")))
    check(wait_for(lambda: fetch(site) == "lb1", 10), "the client fetches lb1's page again: %r" % fetch(site))

    # dplbd on lb1 stops: it takes the address with it, lb2 takes over.
    check(site.stop(lb1) == 0, "dplbd on lb1 exits 0 on SIGTERM")
    check(not holds(site, "lb1"), "the address left lb1 when its dplbd stopped: %s" % addresses(site, "lb1"))
    check(wait_for(lambda: state(site, "lb2") == "MASTER", WAIT_S), "lb2 MASTER: %s" % state(site, "lb2"))
    check(wait_for(lambda: fetch(site) == "lb2", 10), "the client fetches lb2's page: %r" % fetch(site))

    # dplbd on lb2 killed while MASTER: the address stays behind, until the next dplbd there starts
    # (configured with another address, so only the clean-up at start can remove this one).
    site.stop(lb2, signal.SIGKILL)
    check(holds(site, "lb2"), "a killed dplbd leaves its address: %s" % addresses(site, "lb2"))
    lb2 = start_dplbd(site, "lb2", vip=VIP2)
    site.lb = lb2
    check(wait_for(lambda: not holds(site, "lb2"), 5),
          "the next dplbd removes the address left from before: %s" % addresses(site, "lb2"))
    check(wait_for(lambda: holds(site, "lb2", VIP2), WAIT_S),
          "and, alone on the link, holds its own: %s" % addresses(site, "lb2"))
    check("left from before" in site.log_text("dplbd-lb2"), "its log says it removed an address left from before")

    # Reloads: a new label changes the address in place (the instance stays MASTER); another
    # address replaces the old one on the interface.
    def reload(vip, label):
        with open(site.path("lb2.yaml"), "w") as f:
            f.write(config(site, "lb2", vip, label))
        r = ctl(site, "lb2", "reload")
        check(r.returncode == 0, "dplbctl reload: %s%s" % (r.stdout, r.stderr))
    reload(VIP2, "api")
    check(wait_for(lambda: addresses(site, "lb2").get(VIP2 + "/24") == "eth0:api", 5),
          "a reload relabels the address: %s" % addresses(site, "lb2"))
    check(state(site, "lb2") == "MASTER", "and the instance stays MASTER: %s" % state(site, "lb2"))
    reload(VIP, "web")
    check(wait_for(lambda: holds(site, "lb2") and not holds(site, "lb2", VIP2), WAIT_S),
          "a reload that drops the address removes it, the new one is added once MASTER: %s" % addresses(site, "lb2"))


def body_with_logs(site):
    """body, printing both directors' logs when a check fails."""
    try:
        body(site)
    except SystemExit:
        for host in HOSTS:
            print("--- dplbd on %s (last 30 lines) ---\n%s" %
                  (host, "\n".join(site.log_text("dplbd-" + host).splitlines()[-30:])))
        raise
    finally:
        for host in HOSTS:
            shutil.rmtree("/var/run/dpdk/" + site.ns(host), ignore_errors=True)  # EAL's run files


if __name__ == "__main__":
    from netlab import run_site
    run_site("vo", body_with_logs)
