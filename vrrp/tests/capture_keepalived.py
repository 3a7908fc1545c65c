#!/usr/bin/python3
"""Makes the golden fixtures of tests/test_vrrp_codec.cc: runs keepalived with
tests/fixtures/vrrp/keepalived.conf in a namespace of its own, captures what it sends with tcpdump
in another namespace on the same bridge, and writes one hex file per interesting frame (an advert of
each instance, its priority-0 advert on shutdown, a gratuitous ARP, an unsolicited NA).

    sudo /usr/bin/python3 vrrp/tests/capture_keepalived.py [OUTPUT_DIR]

OUTPUT_DIR defaults to tests/fixtures/vrrp next to this tree. Every instance of the configuration
is alone on the link, so each becomes MASTER after its Master_Down_Interval and advertises."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_lab import Lab, die, is_garp, is_unsolicited_na, read_pcap, vrrp_of, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KA_MAC = "02:00:00:00:0a:02"

# (file stem, VRID, what the comment says)
ADVERTS = [
    ("v2_pass", 51, "VRRPv2, auth_type PASS, auth_pass 'secret123456' (sent as 'secret12'), 2 addresses"),
    ("v2_noauth", 52, "VRRPv2 without authentication, 1 address, advert_int 2"),
    ("v3_ipv4", 53, "VRRPv3 over IPv4, advert_int 0.5 (50 cs), 1 address"),
    ("v3_ipv6", 54, "VRRPv3 over IPv6, advert_int 1 (100 cs), 2 addresses, from the link-local address"),
]


def hexdump(frame):
    return "\n".join(frame[i:i + 16].hex(" ") for i in range(0, len(frame), 16)) + "\n"


def write_fixture(out_dir, stem, comment, frame):
    path = os.path.join(out_dir, stem + ".hex")
    with open(path, "w") as f:
        f.write("# Captured from keepalived %s (keepalived.conf in this directory) by\n" % keepalived_version())
        f.write("# vrrp/tests/capture_keepalived.py.\n# %s\n" % comment)
        f.write("# Whole Ethernet frame, %d bytes, as tcpdump saw it.\n" % len(frame))
        f.write(hexdump(frame))
    print("wrote %s (%d bytes)" % (path, len(frame)))


def keepalived_version():
    r = subprocess.run(["keepalived", "--version"], capture_output=True, text=True)
    first = (r.stdout + r.stderr).splitlines()[0]
    return first.split()[1] if len(first.split()) > 1 else first


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests/fixtures/vrrp")
    with open(os.path.join(ROOT, "tests/fixtures/vrrp/keepalived.conf")) as f:
        conf = f.read()
    lab = Lab("vrcap")
    lab.add_host("ka", KA_MAC, "10.9.0.2/24", "2001:db8:9::2/64")
    lab.add_host("cl", "02:00:00:00:0c:01", "10.9.0.3/24", "2001:db8:9::3/64")
    lab.wait_link_local("ka")
    tcpd = lab.tcpdump("tcpdump", "cl")
    ka = lab.keepalived("keepalived", "ka", conf)
    lab.keepalived_vrrp_pid("keepalived")
    # Every instance alone: MASTER after 3 x advert_int + skew (at most 6.6 s for advert_int 2).
    if not wait_for(lambda: lab.log_text("keepalived").count("Entering MASTER STATE") >= len(ADVERTS), 15):
        die("not every instance became MASTER:\n" + lab.log_text("keepalived"))
    time.sleep(2.5)  # a few regular adverts
    lab.kill(ka, signal.SIGTERM, timeout=10)  # priority 0 from each instance
    time.sleep(0.5)
    lab.kill(tcpd, signal.SIGTERM)
    frames = [f for _, f in read_pcap(lab.path("tcpdump.pcap"))]

    for stem, vrid, comment in ADVERTS:
        got = {}
        for f in frames:
            v = vrrp_of(f)
            if v and len(v[1]) > 3 and v[1][1] == vrid:
                kind = "prio0" if v[1][2] == 0 else "advert"
                got.setdefault(kind, f)
        if set(got) != {"advert", "prio0"}:
            die("instance with VRID %d: captured %s" % (vrid, sorted(got)))
        write_fixture(out_dir, stem, comment, got["advert"])
        write_fixture(out_dir, stem + "_prio0", comment + "; priority 0 on shutdown", got["prio0"])

    garp = next((f for f in frames if is_garp(f, bytes([10, 9, 0, 100]))), None)
    na = next((f for f in frames if is_unsolicited_na(f, bytes.fromhex("20010db8000900000000000000000100"))), None)
    if garp is None or na is None:
        die("no gratuitous ARP for 10.9.0.100 or no unsolicited NA for 2001:db8:9::100 captured")
    write_fixture(out_dir, "garp_ipv4", "Gratuitous ARP for 10.9.0.100 (VRID 51)", garp)
    write_fixture(out_dir, "na_ipv6", "Unsolicited Neighbor Advertisement for 2001:db8:9::100 (VRID 54)", na)
    lab.close()


if __name__ == "__main__":
    main()
