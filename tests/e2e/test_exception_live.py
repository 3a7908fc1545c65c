#!/usr/bin/python3
"""The exception path: with `exception_path: tap`, frames that are not for a VIP reach the kernel
through a TAP interface carrying the director's own address, and what the kernel sends goes out of the
port. Here the port is an af_packet veth whose own kernel side is told to ignore everything (as if DPDK
owned the NIC), so a ping and a TCP connection from a client namespace to the director's own address
can only work through dplbd's data plane."""

import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, run  # noqa: E402



def body(lab):
    client = lab.ns + "cl"
    lab.on_close(lambda: subprocess.run(["ip", "netns", "del", client], capture_output=True))
    subprocess.run(["ip", "netns", "add", client], check=True)
    lab.exec_ns("ip", "link", "set", "cl0", "netns", client)
    for cmd in (["ip", "addr", "add", "10.10.0.1/24", "dev", "cl0"], ["ip", "link", "set", "cl0", "up"],
                ["ip", "link", "set", "lo", "up"]):
        subprocess.run(["ip", "netns", "exec", client] + cmd, check=True)
    # lb0's own kernel side stays out of it: no ARP answers, reverse-path filter drops its IP input.
    for key, val in (("net.ipv4.conf.all.rp_filter", "1"), ("net.ipv4.conf.lb0.rp_filter", "1"),
                     ("net.ipv4.conf.lb0.arp_ignore", "8"), ("net.ipv6.conf.lb0.disable_ipv6", "1")):
        lab.exec_ns("sysctl", "-qw", "%s=%s" % (key, val))
    cfg = ("ports:\n  - name: lan0\n    device: net_af_packet0\n    exception_path: tap\n"
           "    addresses: [10.10.0.2/24]\n"
           "conn_table:\n  ipv4_entries: 4096\n  ipv6_entries: 1024\n"
           "control:\n  socket: %s\nmetrics:\n  listen: off\n" % lab.sock +
           "services:\n  - vip: 10.10.0.100\n    port: 80\n    protocol: tcp\n    scheduler: rr\n"
           "    real_servers:\n      - ip: 10.10.0.11\n        mac: \"02:00:00:00:00:11\"\n")
    lab.start(cfg)
    check("exception path dplb-lan0" in lab.read_log(), "TAP dplb-lan0 created")
    addr = lab.exec_ns("ip", "-4", "addr", "show", "dev", "dplb-lan0").stdout
    check("10.10.0.2/24" in addr, "dplb-lan0 carries 10.10.0.2/24")

    r = subprocess.run(["ip", "netns", "exec", client, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.10.0.2"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and " 0% packet loss" in r.stdout and "DUP" not in r.stdout,
          "ping from the client to the director's own address:\n" + r.stdout + r.stderr)

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("10.10.0.2", 2222))
    srv.listen(4)
    srv.settimeout(15)
    lab.on_close(srv.close)

    def serve():
        try:
            c, _ = srv.accept()
            c.sendall(b"hello from the director\n")
            c.close()
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    code = ("import socket; s = socket.create_connection(('10.10.0.2', 2222), timeout=10); "
            "print(s.recv(100).decode().strip())")
    r = subprocess.run(["ip", "netns", "exec", client, "/usr/bin/python3", "-c", code],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.strip() == "hello from the director",
          "TCP connection to the director's own address: %r %s" % (r.stdout.strip(), r.stderr.strip()))
    j = lab.ctl_json("list", "--stats")
    check(j["to_kernel"] > 0 and j["from_kernel"] > 0,
          "frames crossed the exception path both ways (to %d, from %d)" % (j["to_kernel"], j["from_kernel"]))
    check(lab.stop() == 0, "dplbd exits 0")
    gone = lab.exec_ns("ip", "link", "show", "dplb-lan0", check_rc=False).returncode != 0
    check(gone, "the TAP is gone after dplbd stops")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run(body)
