#!/usr/bin/python3
"""The two-arm director with a VLAN on its back port: the back segment carries VLAN 20 (10.35.0.0/24)
tagged and the back port's own subnet (10.36.0.0/24) untagged. tcpdump on the reals' veths shows
what dplbd sends them:
- untagged client SYNs to a real in VLAN 20's subnet leave the back port tagged 20;
- a real in the back port's own subnet gets them untagged, and answers: HTTP through the director,
  its MAC resolved on the back port;
- client SYNs that come tagged (VLAN 10, from scapy) get VLAN 20 instead (priority kept) or lose
  their tag, by the real's subnet;
- `egress: back.20` sends a real's frames tagged 20 whatever its subnet.
The kernel here may lack 802.1Q (no VLAN interfaces), so the VLAN 20 real only captures; the kernel
VLAN interface on the TAP (exception_path: tap) is covered by unit tests of its commands only."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netlab import check, die, metric_value, run_site, wait_for  # noqa: E402

FRONT, V20, BACK = "10.34.0.", "10.35.0.", "10.36.0."
VIP = FRONT + "100"
RS1, RS1_MAC = V20 + "11", "02:00:00:35:00:11"  # in VLAN 20
RS3 = BACK + "13"                              # untagged, on the back port's own subnet
METRICS = FRONT + "2:9642"

CONFIG = """ports:
  - name: front
    device: net_af_packet0
    addresses: [%s2/24]
  - name: back
    device: net_af_packet1
    addresses: [%s2/24]
    vlans:
      - {id: 20, addresses: [%s2/24]}
conn_table: {ipv4_entries: 4096, ipv6_entries: 1024}
control: {socket: "{socket}"}
metrics: {listen: "%s"}
services:
  - vip: %s
    port: 80
    protocol: tcp
    scheduler: rr
    real_servers:
      - {ip: %s, mac: "%s"}
      - {ip: %s}
  - vip: %s
    port: 8080
    protocol: tcp
    scheduler: rr
    real_servers:
      - {ip: %s, egress: back.20}
""" % (FRONT, BACK, V20, METRICS, VIP, RS1, RS1_MAC, RS3, VIP, RS3)


def read_pcap(path):
    """The frames of a pcap file that tcpdump may still be writing (a record cut short is left out)."""
    from scapy.layers.l2 import Ether
    from scapy.utils import RawPcapReader
    out = []
    rd = None
    try:
        rd = RawPcapReader(path)
        for data, _meta in rd:
            out.append(Ether(data))
    except (EOFError, OSError, ValueError):  # a record cut short, or nothing written yet
        pass
    except Exception as e:  # scapy's own: the header not there yet
        if "No data could be read" not in str(e) and "Not a pcap" not in str(e):
            raise
    finally:
        if rd is not None:
            rd.close()
    return out


def syns(path, dport):
    """(vlan id or None, priority, sport, dst MAC, src MAC, ttl) of each TCP SYN to VIP:dport in a capture."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Dot1Q, Ether
    out = []
    for p in read_pcap(path):
        if IP in p and TCP in p and p[IP].dst == VIP and p[TCP].dport == dport and int(p[TCP].flags) & 0x02:
            tag = p[Dot1Q] if Dot1Q in p else None
            out.append((tag.vlan if tag else None, tag.prio if tag else None, p[TCP].sport, p[Ether].dst,
                        p[Ether].src, p[IP].ttl))
    return out


def body(site):
    for tool in ("tcpdump", "nginx", "curl"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print("SKIP: %s is not installed" % tool)
            sys.exit(77)
    site.segment("front")
    site.segment("back")
    site.host("client")
    site.attach("client", "front", addrs=[FRONT + "1/24"])
    site.host("gw", forwarding=True)  # the replies' way back, as in twoarm-live
    site.attach("gw", "front", addrs=[FRONT + "254/24"])
    site.attach("gw", "back", ifname="eth1", addrs=[BACK + "254/24"])
    for k in ("all", "default", "eth0", "eth1"):
        site.in_ns("gw", "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % k)
    site.host("rs1")  # on VLAN 20: it only listens
    site.attach("rs1", "back", mac=RS1_MAC)
    site.host("rs3")
    site.attach("rs3", "back", addrs=[RS3 + "/24"])
    site.in_ns("rs3", "ip", "route", "add", "default", "via", BACK + "254")
    site.real_server("rs3", VIP)
    site.nginx("rs3", 'listen 80; location / { default_type text/plain; return 200 "rs3\\n"; }')
    site.host("lb")
    site.attach("lb", "front", addrs=[FRONT + "2/24"])
    site.attach("lb", "back", ifname="eth1", addrs=[BACK + "2/24"])
    lb_front = site.in_ns("lb", "cat", "/sys/class/net/eth0/address").stdout.strip()
    lb_back = site.in_ns("lb", "cat", "/sys/class/net/eth1/address").stdout.strip()
    rs3_mac = site.in_ns("rs3", "cat", "/sys/class/net/eth0/address").stdout.strip()

    pcaps = {}
    for rs in ("rs1", "rs3"):
        pcaps[rs] = site.path("tcpdump-%s.pcap" % rs)
        p = site.spawn("tcpdump-" + rs, rs, ["tcpdump", "-i", "eth0", "-p", "-n", "-U", "-Z", "root", "-s", "160",
                                              "-w", pcaps[rs]])
        if not wait_for(lambda: "listening on" in site.log_text("tcpdump-" + rs) or p.poll() is not None, 10) \
                or p.poll() is not None:
            die("tcpdump in %s did not start: %s" % (rs, site.log_text("tcpdump-" + rs)))

    site.start_dplbd("lb", CONFIG, more_ifaces=("eth1",))

    def curl(port):
        r = site.in_ns("client", "curl", "-s", "-m", "1", "http://%s:%d/" % (VIP, port), check_rc=False)
        return r.stdout.strip() if r.returncode == 0 else "fail(%d)" % r.returncode

    # rr alternates rs1 (tagged; it never answers) and rs3 (untagged; it does, once its MAC is known).
    check(wait_for(lambda: curl(80) == "rs3", 20, 0.1), "HTTP to the VIP reaches rs3, untagged, through the back port")

    def syns_at(rs, dport, want):
        return wait_for(lambda: (lambda s: s if len(s) >= want else None)(syns(pcaps[rs], dport)), 5)
    got = syns_at("rs1", 80, 1)
    check(got and all(s[0] == 20 and s[3] == RS1_MAC and s[4] == lb_back and s[5] == 63 for s in got),
          "rs1 (VLAN 20's subnet) gets the client's SYNs tagged 20, from the back port's MAC, TTL 63: %s%s"
          % (got, "" if got else "; its capture: %s; %s" % ([p.summary() for p in read_pcap(pcaps["rs1"])][-8:],
                                                            [l for l in site.scrape(METRICS).splitlines()
                                                             if ("drops" in l or "tx_packets" in l or "forwarded" in l)
                                                             and not l.endswith(" 0") and not l.startswith("#")])))
    got = syns_at("rs3", 80, 1)
    check(got and all(s[0] is None and s[3] == rs3_mac and s[4] == lb_back for s in got),
          "rs3 (the back port's own subnet) gets them untagged: %s" % got)

    # Tagged in: VLAN 10, priority 5, from the client's wire. Eight SYNs, rr over both reals.
    sports = list(range(41000, 41008))
    before = {rs: len(syns(pcaps[rs], 80)) for rs in pcaps}
    send = ("from scapy.all import Ether, Dot1Q, IP, TCP, sendp\n"
            "sendp([Ether(src='02:00:00:34:00:01', dst='%s')/Dot1Q(vlan=10, prio=5)/"
            "IP(src='%s1', dst='%s')/TCP(sport=s, dport=80, flags='S', seq=1000) for s in %r], "
            "iface='eth0', verbose=False)\n" % (lb_front, FRONT, VIP, sports))
    site.in_ns("client", "/usr/bin/python3", "-c", send)

    def tagged_in():
        s1 = [s for s in syns(pcaps["rs1"], 80)[before["rs1"]:] if s[2] in sports]
        s3 = [s for s in syns(pcaps["rs3"], 80)[before["rs3"]:] if s[2] in sports]
        return (s1, s3) if len(s1) + len(s3) >= len(sports) else None
    got = wait_for(tagged_in, 5)
    check(got is not None, "the eight tagged SYNs reach the reals: %s" % (got,))
    s1, s3 = got
    check(sorted(s[2] for s in s1 + s3) == sports and len(s1) == 4 and len(s3) == 4,
          "each once, four per real (rr): rs1 %s, rs3 %s" % ([s[2] for s in s1], [s[2] for s in s3]))
    check(all(s[0] == 20 and s[1] == 5 for s in s1), "VLAN 10 -> VLAN 20 for rs1, priority 5 kept: %s" % s1)
    check(all(s[0] is None for s in s3), "VLAN 10 -> untagged for rs3: %s" % s3)

    # egress: back.20 for rs3 on the 8080 service: tagged 20 although its subnet is the untagged one.
    check(curl(8080).startswith("fail"), "8080 on rs3 by VLAN 20 gets no answer (rs3 has no VLAN 20)")
    got = syns_at("rs3", 8080, 1)
    check(got and all(s[0] == 20 and s[3] == rs3_mac for s in got),
          "egress: back.20 -> rs3 gets the 8080 SYNs tagged 20: %s" % got)
    drops = metric_value(site.scrape(METRICS), "dplb_drops_total", reason="vlan_no_headroom")
    check(drops == 0.0, "no frame lacked headroom for its tag (af_packet mbufs have 128 bytes): %s" % drops)


if __name__ == "__main__":
    run_site("tv", body)
