// Hostile traffic through the real dplbd on a net_pcap port (one worker, --no-huge --no-pci). A seeded,
// deterministic pcap of a few thousand frames: headers cut short at every layer, IHL < 5, IPv4 total
// length / IPv6 payload length / UDP length / TCP data offset out of range, long and looping IPv6
// extension chains, two fragment headers, QinQ and double 802.1Q, fragments with and without their
// first one and overlapping, TTL / hop limit 0-2, ICMP errors about live flows and quoting garbage or
// cut headers, 2 KB and 9 KB frames (several mbuf segments: net_pcap chains a frame longer than an
// mbuf's 2048 bytes of room), frames to another MAC, broadcast, random bodies and a mutation pass over
// valid frames, with valid TCP and UDP flows (IPv4, IPv6, rr and mh services, 2 reals each) between them.
//
// Checked: dplbd neither crashes nor hangs and exits 0 on SIGTERM; it received every frame; every
// frame is counted under exactly one outcome (the identity in check_run); every output frame is
// a copy of an input frame, in input order, changed only as Direct Routing says (destination MAC = a
// real of the frame's VIP, source MAC = the port's, TTL / hop limit one less, the IPv4 header checksum
// updated to match), or the ARP reply / ND advertisement for it; every frame built with a known
// outcome (all but the random and mutated ones) had that outcome; a flow's frames, its fragments and
// the ICMP errors about it all reached one real; the per-real counters match the frames that came out.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dplbd_runner.h"
#include "drop_reason.h"
#include "frame_builder.h"
#include "frame_diff.h"
#include "parse.h"  // the TCP flag names only: every expectation here is worked out without parse_frame

namespace dplb::test {
namespace {

using Clock = std::chrono::steady_clock;

const MacAddr kPortMac = mac("02:70:63:61:70:00");  // net_pcap's first port: "\x02pcap\x00"
const MacAddr kClient = mac("02:00:00:00:00:aa");
const MacAddr kOtherHost = mac("02:00:00:00:00:99");
const MacAddr kBroadcast = mac("ff:ff:ff:ff:ff:ff");
const MacAddr kMulticast4 = mac("01:00:5e:00:00:01");
const MacAddr kSolicitedNode = mac("33:33:ff:00:01:00");  // ff02::1:ff00:100's

const char* const kVip4 = "10.10.0.100";
const char* const kVip4Mh = "10.10.0.101";
const char* const kVip6 = "2001:db8::100";
const char* const kNotVip4 = "10.10.0.1";
const char* const kNotVip6 = "2001:db8::1";
const char* const kRouter4 = "198.18.0.1";  // sends the ICMP errors
const char* const kRouter6 = "2001:db8:ffff::1";

struct RealDef {
    const char* ip;
    const char* mac;  // nullptr: none configured (neighbour resolution, which finds nothing here)
};

struct ServiceDef {
    const char* vip;
    uint16_t port;
    uint8_t proto;
    const char* sched;
    std::vector<RealDef> reals;
};

enum Svc : int { kTcp4, kUdp4, kTcp6, kUdp6, kTcp4Mh };

const std::vector<ServiceDef>& services() {
    static const std::vector<ServiceDef> s = {
        {kVip4, 80, kProtoTcp, "rr", {{"10.10.0.11", "02:00:00:00:00:11"}, {"10.10.0.12", "02:00:00:00:00:12"}}},
        {kVip4, 53, kProtoUdp, "rr", {{"10.10.0.13", "02:00:00:00:00:13"}, {"10.10.0.14", "02:00:00:00:00:14"}}},
        {kVip6, 80, kProtoTcp, "rr", {{"2001:db8::11", "02:00:00:00:00:21"}, {"2001:db8::12", "02:00:00:00:00:22"}}},
        {kVip6, 53, kProtoUdp, "rr", {{"2001:db8::13", "02:00:00:00:00:23"}, {"2001:db8::14", "02:00:00:00:00:24"}}},
        {kVip4Mh, 80, kProtoTcp, "mh", {{"10.10.0.15", "02:00:00:00:00:15"}, {"10.10.0.16", "02:00:00:00:00:16"}}},
    };
    return s;
}

std::string config_yaml(const std::vector<ServiceDef>& svcs, uint16_t metrics_port) {
    std::string y =
        "ports:\n  - name: lan0\n    device: net_pcap0\n"
        "conn_table:\n  ipv4_entries: 16384\n  ipv6_entries: 16384\n"
        "metrics:\n  listen: " +
        (metrics_port ? "127.0.0.1:" + std::to_string(metrics_port) : std::string("off")) + "\nservices:\n";
    for (const ServiceDef& s : svcs) {
        y += std::string("  - vip: \"") + s.vip + "\"\n    port: " + std::to_string(s.port) +
             "\n    protocol: " + (s.proto == kProtoTcp ? "tcp" : "udp") + "\n    scheduler: " + s.sched +
             "\n    real_servers:\n";
        for (const RealDef& r : s.reals) {
            y += std::string("      - ip: \"") + r.ip + "\"\n";
            if (r.mac) y += std::string("        mac: \"") + r.mac + "\"\n";
        }
    }
    return y;
}

// ---------------------------------------------------------------------------------------------------
// What a frame should come to: a counter of the stats JSON ("forwarded", "arp_replies" (ND
// advertisements too), "to_kernel", "not_for_us", or a drop reason's name), or kAny for the random and
// mutated frames.

const std::string kAny = "any";
const std::string kFwd = "forwarded";
const std::string kReply = "arp_replies";
const std::string kKernel = "to_kernel";
const std::string kNotForUs = "not_for_us";
std::string dropped(Drop d) { return drop_name(d); }

struct Case {
    Bytes frame;
    std::string category;  // for the tally and for failure messages
    std::string want;
    int group = -1;               // frames that must all reach one real: a flow, its fragments, ICMP about it
    int service = -1;             // the service a forwarded frame belongs to (services() index)
    bool opens = false;           // opens a connection of `service`
    bool stateless = false;       // forwarded by Maglev without an entry
    bool later_fragment = false;  // forwarded by the fragment table
    bool icmp = false;            // an ICMP error forwarded to the real of the flow it is about
};

// Deterministic on every platform: raw mt19937_64 output (the std distributions are not specified).
class Rng {
public:
    explicit Rng(uint64_t seed) : g_(seed) {}
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(g_() % n); }
    bool one_in(uint32_t n) { return below(n) == 0; }
    uint8_t byte() { return static_cast<uint8_t>(g_()); }
    Bytes bytes(size_t n) {
        Bytes b(n);
        for (auto& x : b) x = byte();
        return b;
    }
    template <class T>
    void shuffle(std::vector<T>& v) {
        for (size_t i = v.size(); i > 1; i--) std::swap(v[i - 1], v[below(static_cast<uint32_t>(i))]);
    }

private:
    std::mt19937_64 g_;
};

// ---------------------------------------------------------------------------------------------------
// Byte-level helpers, independent of dataplane/parse.cc.

uint16_t get16(const Bytes& b, size_t o) { return static_cast<uint16_t>(b.at(o) << 8 | b.at(o + 1)); }

void set16(Bytes& b, size_t o, uint32_t v) {
    b.at(o) = static_cast<uint8_t>(v >> 8);
    b.at(o + 1) = static_cast<uint8_t>(v);
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
    return acc;
}

// Ones' complement sum, folded to 16 bits (not inverted).
uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(acc);
}

size_t l2_len(const Bytes& b) { return l3_offset(b); }  // Ethernet and at most one 802.1Q tag

uint16_t ethertype(const Bytes& b) {
    size_t o = l3_offset(b);
    return b.size() >= o ? get16(b, o - 2) : 0;
}

// The IPv4 header checksum computed afresh, when the header is all there.
void ipv4_fix(Bytes& b) {
    size_t o = l3_offset(b);
    size_t ihl = (b.at(o) & 0xf) * 4u;
    if (ihl < 20 || b.size() < o + ihl) return;
    b[o + 10] = b[o + 11] = 0;
    set16(b, o + 10, static_cast<uint16_t>(~fold(sum16(b.data() + o, ihl))));
}

bool ipv4_header_sums_right(const Bytes& b, size_t o) {
    size_t ihl = (b.at(o) & 0xf) * 4u;
    return ihl >= 20 && b.size() >= o + ihl && fold(sum16(b.data() + o, ihl)) == 0xffff;
}

Bytes set_ipv4_total(Bytes b, uint32_t total) {
    set16(b, l3_offset(b) + 2, total);
    ipv4_fix(b);
    return b;
}

Bytes set_ipv6_payload(Bytes b, uint32_t len) {
    set16(b, l3_offset(b) + 4, len);
    return b;
}

// What follows the fixed IP header of a builder frame (IPv4 without options, or IPv6).
Bytes l4_bytes(const Bytes& f) {
    size_t o = l3_offset(f);
    size_t h = (f[o] >> 4) == 4 ? 20 : 40;
    return Bytes(f.begin() + static_cast<long>(o + h), f.end());
}

// Part [from, to) of the IP payload of `whole` (an IPv4 builder frame) as a fragment with offset
// from / 8, MF `more`, identification `id`.
Bytes frag4(const Bytes& whole, size_t from, size_t to, bool more, uint16_t id) {
    size_t o = l3_offset(whole);
    Bytes b(whole.begin(), whole.begin() + static_cast<long>(o + 20));
    b.insert(b.end(), whole.begin() + static_cast<long>(o + 20 + from), whole.begin() + static_cast<long>(o + 20 + to));
    set16(b, o + 2, 20 + (to - from));
    set16(b, o + 4, id);
    set16(b, o + 6, (more ? 0x2000u : 0u) | (from / 8));
    ipv4_fix(b);
    return b;
}

// IPv6 fragment header (RFC 8200 §4.5): next header, reserved, offset << 3 | M, identification.
Bytes frag_header(uint8_t next, size_t offset, bool more, uint32_t id) {
    uint16_t om = static_cast<uint16_t>((offset / 8) << 3 | (more ? 1 : 0));
    return Bytes{next,
                 0,
                 static_cast<uint8_t>(om >> 8),
                 static_cast<uint8_t>(om),
                 static_cast<uint8_t>(id >> 24),
                 static_cast<uint8_t>(id >> 16),
                 static_cast<uint8_t>(id >> 8),
                 static_cast<uint8_t>(id)};
}

// Part [from, to) of the payload of `whole` (an IPv6 builder frame without extension headers) after
// `before` (extension headers ahead of the fragment header, their last one naming 44) and a fragment
// header.
Bytes frag6(const Bytes& whole, size_t from, size_t to, bool more, uint32_t id, const Bytes& before = {},
            uint8_t first_ext = 0) {
    size_t o = l3_offset(whole);
    uint8_t next = whole[o + 6];
    Bytes b(whole.begin(), whole.begin() + static_cast<long>(o + 40));
    b[o + 6] = before.empty() ? 44 : first_ext;
    b.insert(b.end(), before.begin(), before.end());
    Bytes fh = frag_header(next, from, more, id);
    b.insert(b.end(), fh.begin(), fh.end());
    b.insert(b.end(), whole.begin() + static_cast<long>(o + 40 + from), whole.begin() + static_cast<long>(o + 40 + to));
    set16(b, o + 4, before.size() + 8 + (to - from));
    return b;
}

// A fragment of `whole` (IPv4 or IPv6, as its ethertype says); IPv4 keeps the low 16 bits of `id`.
Bytes fragment(const Bytes& whole, size_t from, size_t to, bool more, uint32_t id) {
    if (ethertype(whole) == 0x0800) return frag4(whole, from, to, more, static_cast<uint16_t>(id));
    return frag6(whole, from, to, more, id);
}

// The length of the IP payload of a builder frame (IPv4 without options, or IPv6 without extensions).
size_t ip_payload_len(const Bytes& whole) {
    return whole.size() - l3_offset(whole) - (ethertype(whole) == 0x0800 ? 20 : 40);
}

// An IPv6 extension header with the "next, length in 8-byte units after the first 8" layout
// (hop-by-hop, routing, destination options): 8 * (units + 1) bytes, the rest Pad1 (zero).
Bytes ext(uint8_t next, uint8_t units) {
    Bytes e(8u * (units + 1u), 0);
    e[0] = next;
    e[1] = units;
    return e;
}

// `n` extension headers (hop-by-hop, then destination options) ahead of `last`: the chain's bytes;
// the fixed header's next header is then `chain_first(n, last)`.
Bytes chain(unsigned n, uint8_t last, uint8_t units = 0) {
    Bytes c;
    for (unsigned i = 0; i < n; i++) {
        Bytes e = ext(i + 1 == n ? last : 60, units);
        c.insert(c.end(), e.begin(), e.end());
    }
    return c;
}
uint8_t chain_first(unsigned n, uint8_t last) { return n ? 0 : last; }

// A TCP or UDP frame to an IPv6 address with `n` extension headers before the TCP/UDP header.
Bytes v6_chain_frame(const L2& l2, const char* src, const char* dst, uint8_t proto, uint16_t sport, uint16_t dport,
                     unsigned n, uint8_t units = 0, size_t payload = 0) {
    Bytes plain = proto == kProtoTcp ? tcp(l2, src, dst, sport, dport, kTcpSyn, payload)
                                     : udp(l2, src, dst, sport, dport, payload);
    Bytes body = chain(n, proto, units);
    Bytes l4 = l4_bytes(plain);
    body.insert(body.end(), l4.begin(), l4.end());
    return ipv6(l2, src, dst, chain_first(n, proto), body);
}

// An IPv4 frame with `ihl` (5..15) words of header: options of NOP (1).
Bytes with_ihl(const Bytes& f, unsigned ihl) {
    size_t o = l3_offset(f);
    Bytes b(f.begin(), f.begin() + static_cast<long>(o + 20));
    b.insert(b.end(), (ihl - 5) * 4, 1);
    b.insert(b.end(), f.begin() + static_cast<long>(o + 20), f.end());
    b[o] = static_cast<uint8_t>(0x40 | ihl);
    set16(b, o + 2, get16(f, o + 2) + (ihl - 5) * 4);
    ipv4_fix(b);
    return b;
}

Bytes with_l2(Bytes b, const MacAddr& dst) {
    std::copy(dst.b.begin(), dst.b.end(), b.begin());
    return b;
}

// The 802.1Q tag of `f` replaced by the tags `outer` (TPID, TCI) pairs, e.g. QinQ.
Bytes with_tags(const Bytes& f, std::vector<std::pair<uint16_t, uint16_t>> tags) {
    size_t o = l3_offset(f);
    Bytes b(f.begin(), f.begin() + 12);
    for (auto [tpid, tci] : tags) {
        b.push_back(static_cast<uint8_t>(tpid >> 8));
        b.push_back(static_cast<uint8_t>(tpid));
        b.push_back(static_cast<uint8_t>(tci >> 8));
        b.push_back(static_cast<uint8_t>(tci));
    }
    b.insert(b.end(), f.begin() + static_cast<long>(o - 2), f.end());
    return b;
}

// The frame padded (or extended) to exactly `size` bytes after its IP packet: trailing junk.
Bytes padded(Bytes b, size_t size, uint8_t fill = 0xee) {
    b.resize(size, fill);
    return b;
}

// A TCP frame of exactly `size` bytes: its payload fills the rest.
Bytes tcp_of_size(const L2& l2, const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags,
                  size_t size) {
    size_t hdr = tcp(l2, src, dst, sport, dport, flags, 0).size();
    return tcp(l2, src, dst, sport, dport, flags, size - hdr);
}

Bytes udp_of_size(const L2& l2, const char* src, const char* dst, uint16_t sport, uint16_t dport, size_t size) {
    size_t hdr = udp(l2, src, dst, sport, dport, 0).size();
    return udp(l2, src, dst, sport, dport, size - hdr);
}

std::string v4_addr(const char* prefix, unsigned n) { return prefix + std::to_string(n); }
std::string v6_addr(const char* prefix, unsigned n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%x", prefix, n);
    return buf;
}

// ---------------------------------------------------------------------------------------------------
// What dplbd must send for a frame it answers or forwards, worked out from the rules (RFC 826,
// RFC 4861 §7.2.4, Direct Routing as IPVS does it), not from dataplane code.

// The ARP reply written over an ARP request for a VIP: to the asker's hardware address.
std::optional<Bytes> arp_reply_for(const Bytes& in) {
    size_t o = l3_offset(in);
    if (in.size() < o + 28 || ethertype(in) != 0x0806) return std::nullopt;
    Bytes b = in;
    std::copy(in.begin() + static_cast<long>(o + 8), in.begin() + static_cast<long>(o + 14), b.begin());
    std::copy(kPortMac.b.begin(), kPortMac.b.end(), b.begin() + 6);
    b[o + 6] = 0;
    b[o + 7] = 2;
    std::copy(kPortMac.b.begin(), kPortMac.b.end(), b.begin() + static_cast<long>(o + 8));
    std::copy(in.begin() + static_cast<long>(o + 24), in.begin() + static_cast<long>(o + 28),
              b.begin() + static_cast<long>(o + 14));
    std::copy(in.begin() + static_cast<long>(o + 8), in.begin() + static_cast<long>(o + 14),
              b.begin() + static_cast<long>(o + 18));
    std::copy(in.begin() + static_cast<long>(o + 14), in.begin() + static_cast<long>(o + 18),
              b.begin() + static_cast<long>(o + 24));
    return b;
}

// The neighbour advertisement written over a solicitation for a VIP: solicited + override, the
// port's MAC as target link-layer address, from the VIP to the solicitor.
std::optional<Bytes> na_for(const Bytes& in) {
    size_t o = l3_offset(in);
    if (in.size() < o + 72 || ethertype(in) != 0x86dd || in[o + 6] != 58 || in[o + 40] != 135) return std::nullopt;
    Bytes b = in;
    std::copy(in.begin() + 6, in.begin() + 12, b.begin());
    std::copy(kPortMac.b.begin(), kPortMac.b.end(), b.begin() + 6);
    std::copy(in.begin() + static_cast<long>(o + 48), in.begin() + static_cast<long>(o + 64),
              b.begin() + static_cast<long>(o + 8));  // source: the target
    std::copy(in.begin() + static_cast<long>(o + 8), in.begin() + static_cast<long>(o + 24),
              b.begin() + static_cast<long>(o + 24));  // destination: the solicitor
    b[o + 7] = 255;
    size_t c = o + 40;
    Bytes msg{136, 0, 0, 0, 0x60, 0, 0, 0};
    msg.insert(msg.end(), in.begin() + static_cast<long>(o + 48), in.begin() + static_cast<long>(o + 64));
    msg.push_back(2);
    msg.push_back(1);
    msg.insert(msg.end(), kPortMac.b.begin(), kPortMac.b.end());
    uint32_t acc = sum16(b.data() + o + 8, 32) + 32 + 58;
    set16(msg, 2, static_cast<uint16_t>(~fold(sum16(msg.data(), msg.size(), acc))));
    std::copy(msg.begin(), msg.end(), b.begin() + static_cast<long>(c));
    return b;
}

// `in` as it leaves towards a real: that real's MAC and the port's, one hop less. The IPv4 checksum
// moves as the TTL does (RFC 1624): HC' = HC + 0x0100 in ones' complement, so a header that summed
// right still does and one that did not (a mutated frame: dplbd does not check) is off as before.
Bytes forwarded_copy(const Bytes& in, const MacAddr& real) {
    Bytes b = in;
    std::copy(real.b.begin(), real.b.end(), b.begin());
    std::copy(kPortMac.b.begin(), kPortMac.b.end(), b.begin() + 6);
    size_t o = l3_offset(in);
    if (ethertype(in) == 0x0800) {
        b[o + 8]--;
        uint32_t c = get16(in, o + 10) + 0x0100u;
        set16(b, o + 10, (c & 0xffff) + (c >> 16));
    } else {
        b[o + 7]--;
    }
    return b;
}

enum class Match : uint8_t { none, forwarded, reply };

// Whether `out` is what dplbd may send for `in`.
Match explains(const Bytes& in, const Bytes& out) {
    if (in.size() != out.size() || in.size() < 14) return Match::none;
    bool to_us = std::equal(kPortMac.b.begin(), kPortMac.b.end(), in.begin());
    bool group_addressed = in[0] & 1;
    if (!to_us && !group_addressed) return Match::none;  // another host's: never answered, never forwarded
    uint16_t type = ethertype(in);
    size_t o = l3_offset(in);
    if (type == 0x0806) {
        auto r = arp_reply_for(in);
        return r && *r == out ? Match::reply : Match::none;
    }
    if (type == 0x86dd && in.size() >= o + 41 && in[o + 6] == 58 && in[o + 40] == 135) {
        auto r = na_for(in);
        return r && *r == out ? Match::reply : Match::none;
    }
    if (!to_us) return Match::none;  // broadcast and multicast are the kernel's
    if (type == 0x0800) {
        if (in.size() < o + 20 || (in[o] >> 4) != 4 || in[o + 8] < 2) return Match::none;
    } else if (type == 0x86dd) {
        if (in.size() < o + 40 || (in[o] >> 4) != 6 || in[o + 7] < 2) return Match::none;
    } else {
        return Match::none;
    }
    MacAddr real;
    std::copy(out.begin(), out.begin() + 6, real.b.begin());
    Bytes want = forwarded_copy(in, real);
    if (type == 0x0800) {  // the checksum compared as a number mod 0xffff: 0x0000 and 0xffff are both zero
        uint32_t a = get16(want, o + 10) % 0xffff, b = get16(out, o + 10) % 0xffff;
        if (a != b) return Match::none;
        want[o + 10] = out[o + 10];
        want[o + 11] = out[o + 11];
        if (ipv4_header_sums_right(in, o) && !ipv4_header_sums_right(out, o)) return Match::none;
    }
    return want == out ? Match::forwarded : Match::none;
}

// The destination address of an IP frame, as text.
std::string ip_dst(const Bytes& f) {
    size_t o = l3_offset(f);
    if (ethertype(f) == 0x0800) {
        uint32_t v;
        std::memcpy(&v, f.data() + o + 16, 4);
        return IpAddr::from_v4_be(v).str();
    }
    return IpAddr::from_v6(f.data() + o + 24).str();
}

// ---------------------------------------------------------------------------------------------------
// The traffic.

const L2 kToPort{kPortMac, kClient};
L2 to_port(int vlan = -1) { return L2{kPortMac, kClient, vlan}; }

class Traffic {
public:
    explicit Traffic(uint64_t seed) : rng_(seed) {}

    std::vector<Case> build() {
        make_flows();
        std::vector<Unit> units, late;
        add_truncations(units);
        add_header_fields(units);
        add_ttl(units);
        add_ipv6_chains(units);
        add_l2(units);
        add_fragments(units);
        add_large(units);
        add_random(units, 200);
        add_mutations(units, 1000);
        add_icmp_about_flows(late);
        add_live_flow_ttl(late);
        add_random(late, 60);
        add_mutations(late, 500);
        rng_.shuffle(units);
        rng_.shuffle(late);

        std::vector<Case> out;
        // Phase 1: the valid flows, at most 8 at a time, packet by packet between whole hostile units.
        std::vector<size_t> active;
        size_t next_flow = 0;
        size_t u = 0;
        while (next_flow < flows_.size() || !active.empty() || u < units.size()) {
            bool flows_left = next_flow < flows_.size() || !active.empty();
            if (flows_left && (u == units.size() || rng_.below(100) < 40)) {
                if (next_flow < flows_.size() && (active.empty() || (active.size() < 8 && rng_.one_in(3))))
                    active.push_back(next_flow++);
                size_t a = rng_.below(static_cast<uint32_t>(active.size()));
                Flow& f = flows_[active[a]];
                out.push_back(f.packets[f.next++]);
                if (f.next == f.packets.size()) active.erase(active.begin() + static_cast<long>(a));
            } else {
                for (Case& c : units[u]) out.push_back(std::move(c));
                u++;
            }
        }
        // Phase 2, after every flow is complete: ICMP errors about the flows and frames on them with
        // low TTLs, mixed with more hostile frames. A burst's ICMP errors are handled in its first
        // pass, before its TCP/UDP packets open entries: 64 frames of random bodies first (two bursts
        // of 32) put every flow's packets in an earlier burst than anything about them.
        std::vector<Unit> spacer;
        add_random(spacer, 64);
        for (Unit& s : spacer)
            for (Case& c : s) out.push_back(std::move(c));
        for (Unit& l : late)
            for (Case& c : l) out.push_back(std::move(c));
        return out;
    }

private:
    using Unit = std::vector<Case>;

    struct Flow {
        std::vector<Case> packets;
        size_t next = 0;
        int svc = -1;
        int group = -1;
        std::string client;
        uint16_t sport = 0;
        int vlan = -1;
    };

    int new_group() { return groups_++; }
    uint16_t sport() { return next_sport_++; }
    uint16_t frag_id() { return next_id_++; }

    static Case c(Bytes f, const char* category, const std::string& want, int group = -1, int svc = -1) {
        Case k;
        k.frame = std::move(f);
        k.category = category;
        k.want = want;
        k.group = group;
        k.service = svc;
        return k;
    }
    static Case opens(Case k) {
        k.opens = true;
        return k;
    }
    static Case later(Case k) {
        k.later_fragment = true;
        return k;
    }
    void one(std::vector<Unit>& units, Case k) { units.push_back(Unit{std::move(k)}); }

    // One flow of `svc` swept over a header field: the frame `make(v)` for each of `values`, wanting
    // `want_of(v)`; the first one forwarded opens the connection, the others that are forwarded hit it.
    template <class Make, class Want>
    void sweep(std::vector<Unit>& units, const char* category, int svc, const std::vector<uint32_t>& values, Make make,
               Want want_of) {
        Unit u;
        int g = new_group();
        bool first = true;
        for (uint32_t v : values) {
            std::string want = want_of(v);
            Case k = c(make(v), category, want, g, svc);
            if (want == kFwd && first) {
                k.opens = true;
                first = false;
            }
            u.push_back(std::move(k));
        }
        units.push_back(std::move(u));
    }
    static std::vector<uint32_t> range(uint32_t from, uint32_t to) {  // [from, to]
        std::vector<uint32_t> v;
        for (uint32_t x = from; x <= to; x++) v.push_back(x);
        return v;
    }

    static const char* vip_of(int svc) { return services()[static_cast<size_t>(svc)].vip; }
    static uint16_t port_of(int svc) { return services()[static_cast<size_t>(svc)].port; }
    static bool v6_of(int svc) { return svc == kTcp6 || svc == kUdp6; }

    // -- Valid flows --------------------------------------------------------------------------------

    void make_flows() {
        for (int i = 0; i < 36; i++) flows_.push_back(tcp_flow(kTcp4, i));
        for (int i = 0; i < 36; i++) flows_.push_back(tcp_flow(kTcp6, i));
        for (int i = 0; i < 30; i++) flows_.push_back(udp_flow(kUdp4, i));
        for (int i = 0; i < 30; i++) flows_.push_back(udp_flow(kUdp6, i));
        for (int i = 0; i < 12; i++) flows_.push_back(tcp_flow(kTcp4Mh, i));
        for (int i = 0; i < 12; i++) flows_.push_back(mh_midstream_flow(i));
        rng_.shuffle(flows_);
    }

    Flow flow_base(int svc, int i) {
        Flow f;
        f.svc = svc;
        f.group = new_group();
        f.client = v6_of(svc) ? v6_addr("2001:db8:c::", static_cast<unsigned>(i + 1))
                              : v4_addr("192.0.2.", static_cast<unsigned>(i + 1));
        f.sport = static_cast<uint16_t>(40000 + svc * 1000 + i);
        f.vlan = i % 7 == 3 ? 10 : -1;
        return f;
    }

    Case flow_case(const Flow& f, Bytes b, bool first = false) {
        Case k = c(std::move(b), "valid flow", kFwd, f.group, f.svc);
        k.opens = first;
        return k;
    }

    // SYN, ACK, data, data (1000 B, 2000 B frame, 2048, 2049, 9000, or in IPv4 / IPv6 fragments,
    // overlapping), FIN, ACK.
    Flow tcp_flow(int svc, int i) {
        Flow f = flow_base(svc, i);
        const L2 l2 = to_port(f.vlan);
        const char* src = f.client.c_str();
        const char* vip = vip_of(svc);
        auto seg = [&](uint8_t flags, size_t payload) { return tcp(l2, src, vip, f.sport, 80, flags, payload); };
        f.packets.push_back(flow_case(f, seg(kTcpSyn, 0), true));
        f.packets.push_back(flow_case(f, seg(kTcpAck, 0)));
        f.packets.push_back(flow_case(f, seg(kTcpAck | 0x08, 100)));
        switch (i % 6) {
        case 0: f.packets.push_back(flow_case(f, seg(kTcpAck | 0x08, 1000))); break;
        case 1: f.packets.push_back(flow_case(f, tcp_of_size(l2, src, vip, f.sport, 80, kTcpAck, 2000))); break;
        case 2: f.packets.push_back(flow_case(f, tcp_of_size(l2, src, vip, f.sport, 80, kTcpAck, 2048))); break;
        case 3: f.packets.push_back(flow_case(f, tcp_of_size(l2, src, vip, f.sport, 80, kTcpAck, 2049))); break;
        case 4: f.packets.push_back(flow_case(f, tcp_of_size(l2, src, vip, f.sport, 80, kTcpAck, 9000))); break;
        case 5: {  // first [0, 512), later [512, 1024) and [1024, end), and [504, 600) overlapping both
            Bytes whole = seg(kTcpAck | 0x08, 1200);
            uint32_t id = 0x10000u + frag_id();
            auto piece = [&](size_t from, size_t to, bool more) { return fragment(whole, from, to, more, id); };
            size_t end = ip_payload_len(whole);
            f.packets.push_back(flow_case(f, piece(0, 512, true)));
            f.packets.push_back(later(flow_case(f, piece(512, 1024, true))));
            f.packets.push_back(later(flow_case(f, piece(504, 600, true))));
            f.packets.push_back(later(flow_case(f, piece(1024, end, false))));
            break;
        }
        }
        f.packets.push_back(flow_case(f, seg(kTcpFin | kTcpAck, 0)));
        f.packets.push_back(flow_case(f, seg(kTcpAck, 0)));
        return f;
    }

    // Four datagrams: 20 B, 300 B, a large one (1400 B, a 9000 B frame, 3000 B in fragments, a 2049 B
    // frame, empty), 64 B.
    Flow udp_flow(int svc, int i) {
        Flow f = flow_base(svc, i);
        const L2 l2 = to_port(f.vlan);
        const char* src = f.client.c_str();
        const char* vip = vip_of(svc);
        auto dgram = [&](size_t payload) { return udp(l2, src, vip, f.sport, 53, payload); };
        f.packets.push_back(flow_case(f, dgram(20), true));
        f.packets.push_back(flow_case(f, dgram(300)));
        switch (i % 5) {
        case 0: f.packets.push_back(flow_case(f, dgram(1400))); break;
        case 1: f.packets.push_back(flow_case(f, udp_of_size(l2, src, vip, f.sport, 53, 9000))); break;
        case 2: {
            Bytes whole = dgram(3000);
            uint32_t id = 0x20000u + frag_id();
            auto piece = [&](size_t from, size_t to, bool more) { return fragment(whole, from, to, more, id); };
            f.packets.push_back(flow_case(f, piece(0, 1448, true)));
            f.packets.push_back(later(flow_case(f, piece(1448, 2896, true))));
            f.packets.push_back(later(flow_case(f, piece(2896, 3008, false))));
            break;
        }
        case 3: f.packets.push_back(flow_case(f, udp_of_size(l2, src, vip, f.sport, 53, 2049))); break;
        case 4: f.packets.push_back(flow_case(f, dgram(0))); break;
        }
        f.packets.push_back(flow_case(f, dgram(64)));
        return f;
    }

    // An mh flow seen from the middle (its SYN went through another director): ACKs and data without
    // an entry, each forwarded by Maglev, all to one real.
    Flow mh_midstream_flow(int i) {
        Flow f = flow_base(kTcp4Mh, 100 + i);
        f.client = v4_addr("192.0.2.", static_cast<unsigned>(150 + i));
        for (uint8_t flags : {uint8_t(kTcpAck), uint8_t(kTcpAck | 0x08), uint8_t(kTcpFin | kTcpAck)}) {
            Case k = flow_case(f, tcp(to_port(f.vlan), f.client.c_str(), kVip4Mh, f.sport, 80, flags, 200));
            k.stateless = true;
            f.packets.push_back(std::move(k));
        }
        return f;
    }

    // -- Headers cut short ---------------------------------------------------------------------------

    // Every length from 0 to one short of the whole frame, the length fields left as they were; and,
    // for the TCP/UDP ones, the frame cut inside the TCP/UDP header with the IP length saying so.
    void add_truncations(std::vector<Unit>& units) {
        struct Base {
            Bytes f;
            bool is_arp;
        };
        std::vector<Base> bases = {
            {tcp(kToPort, "203.0.113.1", kVip4, sport(), 80, kTcpSyn), false},
            {tcp(to_port(20), "203.0.113.1", kVip4, sport(), 80, kTcpSyn), false},
            {udp(kToPort, "203.0.113.1", kVip4, sport(), 53), false},
            {tcp(kToPort, "2001:db8:e::1", kVip6, sport(), 80, kTcpSyn), false},
            {udp(to_port(20), "2001:db8:e::1", kVip6, sport(), 53), false},
            {arp(L2{kBroadcast, kClient}, 1, kClient, "203.0.113.1", MacAddr{}, kVip4), true},
        };
        for (const Base& b : bases) {
            size_t l2 = l2_len(b.f);
            bool vlan = l2 == 18;
            uint16_t type = ethertype(b.f);
            for (size_t len = 0; len < b.f.size(); len++) {
                std::string want;
                if (len < 14)
                    want = dropped(Drop::eth_truncated);
                else if (vlan && len < 18)
                    want = dropped(Drop::vlan_truncated);
                else if (b.is_arp)
                    want = len < l2 + 28 ? dropped(Drop::arp_truncated) : kReply;
                else if (type == 0x0800)
                    want = dropped(len < l2 + 20 ? Drop::ipv4_truncated : Drop::ipv4_bad_total_length);
                else
                    want = dropped(len < l2 + 40 ? Drop::ipv6_truncated : Drop::ipv6_bad_payload_length);
                one(units, c(truncate(b.f, len), "cut short", want));
            }
            if (b.is_arp) continue;
            size_t ip = type == 0x0800 ? 20 : 40;
            bool is_tcp = b.f[l2 + (type == 0x0800 ? 9 : 6)] == kProtoTcp;
            for (size_t len = l2 + ip; len < b.f.size(); len++) {
                Bytes f = truncate(b.f, len);
                f = type == 0x0800 ? set_ipv4_total(f, static_cast<uint32_t>(len - l2))
                                   : set_ipv6_payload(f, static_cast<uint32_t>(len - l2 - 40));
                one(units,
                    c(f, "cut short, lengths honest", dropped(is_tcp ? Drop::tcp_truncated : Drop::udp_truncated)));
            }
        }
    }

    // -- Header fields out of range ---------------------------------------------------------------------

    void add_header_fields(std::vector<Unit>& units) {
        // IPv4 version, IHL.
        Bytes syn4 = tcp(kToPort, "203.0.113.2", kVip4, sport(), 80, kTcpSyn);
        size_t o = l3_offset(syn4);
        for (uint8_t v = 0; v < 16; v++) {
            if (v == 4) continue;
            Bytes f = syn4;
            f[o] = static_cast<uint8_t>(v << 4 | 5);
            ipv4_fix(f);
            one(units, c(f, "IP version", dropped(Drop::ipv4_bad_version)));
        }
        Bytes syn6 = tcp(kToPort, "2001:db8:e::2", kVip6, sport(), 80, kTcpSyn);
        for (uint8_t v = 0; v < 16; v++) {
            if (v == 6) continue;
            Bytes f = syn6;
            f[o] = static_cast<uint8_t>(v << 4);
            one(units, c(f, "IP version", dropped(Drop::ipv6_bad_version)));
        }
        for (uint8_t ihl = 0; ihl < 5; ihl++) {
            Bytes f = syn4;
            f[o] = static_cast<uint8_t>(0x40 | ihl);
            ipv4_fix(f);
            one(units, c(f, "IHL", dropped(Drop::ipv4_bad_ihl)));
        }
        // IHL 5..15 with NOP options: one flow.
        Bytes opts = tcp(kToPort, "203.0.113.3", kVip4, sport(), 80, kTcpSyn, 8);
        sweep(
            units, "IHL with options", kTcp4, range(5, 15), [&](uint32_t ihl) { return with_ihl(opts, ihl); },
            [](uint32_t) { return kFwd; });
        Bytes f = syn4;
        f[o] = 0x4f;  // 60 bytes of header in a 40-byte packet
        ipv4_fix(f);
        one(units, c(f, "IHL", dropped(Drop::ipv4_bad_ihl)));
        f = syn4;
        f[o] = 0x46;  // 24 bytes of header: 16 left for TCP
        ipv4_fix(f);
        one(units, c(f, "IHL", dropped(Drop::tcp_truncated)));

        // IPv4 total length: a TCP SYN with 10 bytes of payload, 50 bytes of IP; one flow.
        Bytes t4 = tcp(kToPort, "203.0.113.4", kVip4, sport(), 80, kTcpSyn, 10);
        sweep(
            units, "IPv4 total length", kTcp4, {0, 1, 19, 20, 21, 39, 40, 41, 49, 50, 51, 52, 1500, 65535},
            [&](uint32_t total) { return set_ipv4_total(t4, total); },
            [](uint32_t total) {
                return total < 20 || total > 50 ? dropped(Drop::ipv4_bad_total_length)
                       : total < 40             ? dropped(Drop::tcp_truncated)
                                                : kFwd;
            });
        // UDP in IPv4: 10 bytes of payload (UDP length 18, 38 bytes of IP).
        Bytes u4 = udp(kToPort, "203.0.113.5", kVip4, sport(), 53, 10);
        sweep(
            units, "IPv4 total length", kUdp4, {0, 19, 20, 27, 28, 29, 37, 38, 39, 100},
            [&](uint32_t total) { return set_ipv4_total(u4, total); },
            [](uint32_t total) {
                return total < 20 || total > 38 ? dropped(Drop::ipv4_bad_total_length)
                       : total < 28             ? dropped(Drop::udp_truncated)
                       : total < 38             ? dropped(Drop::udp_bad_length)
                                                : kFwd;
            });
        // UDP length against the 18 bytes the IP header leaves it.
        Bytes ul = udp(kToPort, "203.0.113.6", kVip4, sport(), 53, 10);
        sweep(
            units, "UDP length", kUdp4, {0, 1, 7, 8, 9, 17, 18, 19, 65535},
            [&](uint32_t ulen) {
                Bytes f = ul;
                set16(f, l3_offset(f) + 20 + 4, ulen);
                return f;
            },
            [](uint32_t ulen) { return ulen < 8 || ulen > 18 ? dropped(Drop::udp_bad_length) : kFwd; });
        // IPv6 payload length: TCP SYN with 10 bytes of payload (30 bytes); UDP with 10 (18).
        Bytes t6 = tcp(kToPort, "2001:db8:e::3", kVip6, sport(), 80, kTcpSyn, 10);
        sweep(
            units, "IPv6 payload length", kTcp6, {0, 1, 19, 20, 29, 30, 31, 65535},
            [&](uint32_t len) { return set_ipv6_payload(t6, len); },
            [](uint32_t len) {
                return len > 30   ? dropped(Drop::ipv6_bad_payload_length)
                       : len < 20 ? dropped(Drop::tcp_truncated)
                                  : kFwd;
            });
        Bytes u6 = udp(kToPort, "2001:db8:e::4", kVip6, sport(), 53, 10);
        sweep(
            units, "IPv6 payload length", kUdp6, {0, 7, 8, 17, 18, 19},
            [&](uint32_t len) { return set_ipv6_payload(u6, len); },
            [](uint32_t len) {
                return len > 18   ? dropped(Drop::ipv6_bad_payload_length)
                       : len < 8  ? dropped(Drop::udp_truncated)
                       : len < 18 ? dropped(Drop::udp_bad_length)
                                  : kFwd;
            });
        // TCP data offset 0..15, with 40 bytes after the 20-byte header (room for 15) and with none.
        for (size_t payload : {size_t{40}, size_t{0}}) {
            for (bool v6 : {false, true}) {
                Bytes base = v6 ? tcp(kToPort, "2001:db8:e::5", kVip6, sport(), 80, kTcpSyn, payload)
                                : tcp(kToPort, "203.0.113.7", kVip4, sport(), 80, kTcpSyn, payload);
                size_t l4 = l3_offset(base) + (v6 ? 40 : 20);
                sweep(
                    units, "TCP data offset", v6 ? kTcp6 : kTcp4, range(0, 15),
                    [&](uint32_t doff) {
                        Bytes f = base;
                        f[l4 + 12] = static_cast<uint8_t>(doff << 4);
                        return f;
                    },
                    [&](uint32_t doff) {
                        return doff < 5 || doff * 4 > 20 + payload ? dropped(Drop::tcp_bad_doff) : kFwd;
                    });
            }
        }
    }

    // -- TTL / hop limit ------------------------------------------------------------------------------

    void add_ttl(std::vector<Unit>& units) {
        for (uint8_t t : {0, 1, 2, 3, 255}) {
            Bytes f = with_ttl(tcp(kToPort, "203.0.113.8", kVip4, sport(), 80, kTcpSyn), t);
            if (t <= 1)
                one(units, c(f, "TTL", dropped(Drop::ttl_exceeded)));
            else
                one(units, opens(c(f, "TTL", kFwd, new_group(), kTcp4)));
        }
        for (uint8_t t : {0, 1, 2, 255}) {
            Bytes f = with_ttl(tcp(kToPort, "2001:db8:e::8", kVip6, sport(), 80, kTcpSyn), t);
            if (t <= 1)
                one(units, c(f, "hop limit", dropped(Drop::ttl_exceeded)));
            else
                one(units, opens(c(f, "hop limit", kFwd, new_group(), kTcp6)));
        }
        one(units, c(with_ttl(udp(kToPort, "203.0.113.8", kVip4, sport(), 53), 1), "TTL", dropped(Drop::ttl_exceeded)));
        one(units, c(with_ttl(udp(kToPort, "2001:db8:e::8", kVip6, sport(), 53), 0), "hop limit",
                     dropped(Drop::ttl_exceeded)));
        // Not for a service: the kernel's, whatever the TTL.
        one(units, c(with_ttl(tcp(kToPort, "203.0.113.8", kNotVip4, sport(), 80, kTcpSyn), 1), "TTL", kKernel));
        one(units, c(with_ttl(tcp(kToPort, "203.0.113.8", kVip4, sport(), 22, kTcpSyn), 0), "TTL", kKernel));
        one(units, c(with_ttl(tcp(kToPort, "2001:db8:e::8", kNotVip6, sport(), 80, kTcpSyn), 1), "hop limit", kKernel));
    }

    // -- IPv6 extension headers -----------------------------------------------------------------------

    void add_ipv6_chains(std::vector<Unit>& units) {
        // 1..12 headers before a TCP SYN or a UDP datagram: 8 at most are followed.
        for (uint8_t proto : {kProtoTcp, kProtoUdp}) {
            int svc = proto == kProtoTcp ? kTcp6 : kUdp6;
            uint16_t sp = sport();
            sweep(
                units, "IPv6 extension chain", svc, range(1, 12),
                [&](uint32_t n) {
                    return v6_chain_frame(kToPort, "2001:db8:e::9", kVip6, proto, sp, port_of(svc), n,
                                          static_cast<uint8_t>(n % 3));
                },
                [](uint32_t n) { return n <= 8 ? kFwd : dropped(Drop::ipv6_bad_ext_header); });
        }
        Bytes syn = tcp(kToPort, "2001:db8:e::a", kVip6, sport(), 80, kTcpSyn);
        Bytes tcp_hdr = l4_bytes(syn);
        auto v6 = [&](uint8_t first, const Bytes& body) { return ipv6(kToPort, "2001:db8:e::a", kVip6, first, body); };
        auto cat = [](Bytes a, const Bytes& b) {
            a.insert(a.end(), b.begin(), b.end());
            return a;
        };
        const std::string bad = dropped(Drop::ipv6_bad_ext_header);
        // A loop: every header names a destination options header next, 16 of them.
        one(units, c(v6(60, chain(16, 60)), "IPv6 extension loop", bad));
        // A hop-by-hop header naming itself, 3 then the payload ends.
        one(units, c(v6(0, cat(cat(ext(0, 0), ext(0, 0)), ext(0, 0))), "IPv6 extension loop", bad));
        // Header length past the end: 88 bytes claimed, 28 there.
        one(units, c(v6(60, cat(Bytes{6, 10, 0, 0, 0, 0, 0, 0}, tcp_hdr)), "IPv6 extension past the end", bad));
        // The chain names one more header where the payload ends; and 4 bytes of one.
        one(units, c(v6(60, chain(2, 60)), "IPv6 extension past the end", bad));
        one(units, c(v6(60, cat(chain(1, 60), Bytes{6, 0, 0, 0})), "IPv6 extension past the end", bad));
        // A routing header then No Next Header: nothing to forward.
        one(units, c(v6(43, ext(59, 1)), "IPv6 extension, no next header", kKernel));
        // Two fragment headers.
        one(units, c(v6(44, cat(cat(frag_header(44, 0, true, 7), frag_header(6, 0, true, 7)), tcp_hdr)),
                     "IPv6 two fragment headers", bad));
        one(units, c(v6(44, cat(cat(frag_header(44, 0, false, 8), frag_header(6, 0, false, 8)), tcp_hdr)),
                     "IPv6 two fragment headers", bad));
        one(units, c(v6(0, cat(cat(cat(ext(44, 0), frag_header(60, 0, true, 9)), ext(44, 0)),
                               cat(frag_header(6, 8, false, 9), tcp_hdr))),
                     "IPv6 two fragment headers", bad));
        // A fragment header with 4 bytes.
        one(units, c(v6(44, Bytes{6, 0, 0, 1}), "IPv6 extension past the end", bad));
        // An atomic fragment (offset 0, no more): a whole packet, forwarded.
        Bytes atomic = l4_bytes(tcp(kToPort, "2001:db8:e::a", kVip6, sport(), 80, kTcpSyn));
        one(units, opens(c(v6(44, cat(frag_header(6, 0, false, 10), atomic)), "IPv6 atomic fragment", kFwd, new_group(),
                           kTcp6)));
        // ICMPv6 echo behind two headers: the kernel's.
        one(units, c(v6(0, cat(chain(2, 58), Bytes{128, 0, 0, 0, 0, 1, 0, 1})), "IPv6 extension chain", kKernel));
    }

    // -- Ethernet: VLANs, MACs, ARP, ND -------------------------------------------------------------------

    void add_l2(std::vector<Unit>& units) {
        Bytes syn4 = tcp(to_port(30), "203.0.113.10", kVip4, sport(), 80, kTcpSyn);
        one(units, c(with_tags(syn4, {{0x88a8, 100}, {0x8100, 30}}), "QinQ", kKernel));
        one(units, c(with_tags(syn4, {{0x8100, 100}, {0x8100, 30}}), "VLAN in VLAN", kKernel));
        one(units, c(with_tags(syn4, {{0x8100, 100}, {0x88a8, 30}}), "VLAN in VLAN", kKernel));
        one(units, c(with_tags(syn4, {{0x88a8, 100}}), "QinQ", kKernel));
        one(units, c(with_l2(with_tags(syn4, {{0x88a8, 100}, {0x8100, 30}}), kOtherHost), "QinQ", kNotForUs));
        one(units, c(truncate(with_tags(syn4, {{0x88a8, 100}, {0x8100, 30}}), 20), "QinQ", kKernel));
        {
            int g = new_group();
            Bytes tagged = tcp(to_port(4095), "203.0.113.10", kVip4, sport(), 80, kTcpSyn);
            one(units, opens(c(tagged, "VLAN", kFwd, g, kTcp4)));
            Bytes tagged6 = tcp(to_port(0), "2001:db8:e::10", kVip6, sport(), 80, kTcpSyn);
            one(units, opens(c(tagged6, "VLAN", kFwd, new_group(), kTcp6)));
        }
        for (uint16_t type : {0x88cc, 0x0000, 0xffff, 0x0040, 0x8847, 0x86dd + 1}) {
            Bytes f = padded(Bytes(kPortMac.b.begin(), kPortMac.b.end()), 6);
            f.insert(f.end(), kClient.b.begin(), kClient.b.end());
            f.push_back(static_cast<uint8_t>(type >> 8));
            f.push_back(static_cast<uint8_t>(type));
            Bytes body = rng_.bytes(46);
            f.insert(f.end(), body.begin(), body.end());
            one(units, c(f, "other ethertype", kKernel));
        }
        // Other hosts' unicast; broadcast and multicast.
        one(units, c(with_l2(tcp(kToPort, "203.0.113.11", kVip4, sport(), 80, kTcpSyn), kOtherHost), "another MAC",
                     kNotForUs));
        one(units, c(with_l2(tcp(kToPort, "2001:db8:e::11", kVip6, sport(), 80, kTcpSyn), kOtherHost), "another MAC",
                     kNotForUs));
        one(units, c(with_l2(udp(kToPort, "203.0.113.11", kVip4, sport(), 53), kOtherHost), "another MAC", kNotForUs));
        one(units,
            c(arp(L2{kOtherHost, kClient}, 1, kClient, "203.0.113.11", MacAddr{}, kVip4), "another MAC", kNotForUs));
        {
            Bytes f = with_l2(tcp(kToPort, "203.0.113.11", kVip4, sport(), 80, kTcpSyn), kOtherHost);
            f[l3_offset(f)] = 0x43;  // malformed first: a drop reason, not not_for_us
            one(units, c(f, "another MAC", dropped(Drop::ipv4_bad_ihl)));
        }
        one(units,
            c(with_l2(tcp(kToPort, "203.0.113.12", kVip4, sport(), 80, kTcpSyn), kBroadcast), "broadcast", kKernel));
        one(units, c(with_l2(udp(kToPort, "203.0.113.12", kVip4, sport(), 53), kBroadcast), "broadcast", kKernel));
        one(units,
            c(with_l2(tcp(kToPort, "203.0.113.12", kVip4, sport(), 80, kTcpSyn), kMulticast4), "multicast", kKernel));
        one(units, c(with_l2(tcp(kToPort, "2001:db8:e::12", kVip6, sport(), 80, kTcpSyn), kSolicitedNode), "multicast",
                     kKernel));
        // ARP (RFC 826): requests for VIPs answered, the rest the kernel's or malformed.
        const L2 bcast{kBroadcast, kClient};
        one(units, c(arp(bcast, 1, kClient, "203.0.113.13", MacAddr{}, kVip4), "ARP", kReply));
        one(units, c(arp(bcast, 1, kClient, "203.0.113.13", MacAddr{}, kVip4Mh), "ARP", kReply));
        one(units, c(arp(kToPort, 1, kClient, "203.0.113.13", MacAddr{}, kVip4), "ARP", kReply));
        one(units, c(arp(L2{kBroadcast, kClient, 30}, 1, kClient, "203.0.113.13", MacAddr{}, kVip4), "ARP", kReply));
        one(units, c(arp(bcast, 1, kOtherHost, "203.0.113.13", MacAddr{}, kVip4), "ARP", kReply));
        one(units, c(arp(bcast, 1, kClient, "203.0.113.13", MacAddr{}, kNotVip4), "ARP", kKernel));
        one(units, c(arp(bcast, 1, kClient, kVip4, MacAddr{}, kVip4), "ARP", kKernel));  // gratuitous
        one(units, c(arp(kToPort, 2, kClient, "203.0.113.13", kPortMac, kVip4), "ARP", kKernel));
        Bytes req = arp(bcast, 1, kClient, "203.0.113.13", MacAddr{}, kVip4);
        size_t a = l3_offset(req);
        one(units, c(patch(req, a, {0, 6}), "ARP", dropped(Drop::arp_malformed)));
        one(units, c(patch(req, a + 2, {0x86, 0xdd}), "ARP", dropped(Drop::arp_malformed)));
        one(units, c(patch(req, a + 4, {8}), "ARP", dropped(Drop::arp_malformed)));
        one(units, c(patch(req, a + 5, {16}), "ARP", dropped(Drop::arp_malformed)));
        // Neighbour discovery (RFC 4861): a solicitation for the VIP is answered.
        const L2 sn{kSolicitedNode, kClient};
        const char* sol = "ff02::1:ff00:100";
        one(units, c(nd(sn, "2001:db8:e::13", sol, 135, kVip6, 0, 1, kClient), "ND", kReply));
        one(units, c(nd(kToPort, "2001:db8:e::13", kVip6, 135, kVip6, 0, 1, kClient), "ND", kReply));
        one(units, c(nd(sn, "::", sol, 135, kVip6, 0, 1, kClient), "ND", kKernel));  // duplicate address detection
        one(units, c(nd(sn, "2001:db8:e::13", sol, 135, kNotVip6, 0, 1, kClient), "ND", kKernel));
        one(units, c(with_ttl(nd(sn, "2001:db8:e::13", sol, 135, kVip6, 0, 1, kClient), 64), "ND", kKernel));
        one(units,
            c(with_l2(nd(kToPort, "2001:db8:e::13", kVip6, 135, kVip6, 0, 1, kClient), kOtherHost), "ND", kNotForUs));
        {
            Bytes f = nd(sn, "2001:db8:e::13", sol, 135, kVip6, 0, 1, kClient);
            one(units, c(set_ipv6_payload(truncate(f, f.size() - 8), 24), "ND", kKernel));  // no option: not answered
            one(units, c(truncate(f, f.size() - 8), "ND", dropped(Drop::ipv6_bad_payload_length)));
            one(units, c(padded(f, 3100), "ND, 3 KB frame", kReply));  // the rest in other segments
        }
        // ICMP that is not an error, and an error with less than its 8 bytes.
        one(units, c(ipv4(kToPort, "203.0.113.14", kVip4, 1, Bytes{8, 0, 0, 0, 0, 1, 0, 1}), "ICMP echo", kKernel));
        one(units,
            c(ipv6(kToPort, "2001:db8:e::14", kVip6, 58, Bytes{128, 0, 0, 0, 0, 1, 0, 1}), "ICMP echo", kKernel));
        one(units, c(ipv4(kToPort, kRouter4, kVip4, 1, Bytes{3, 4, 0, 0}), "ICMP error cut short", kKernel));
    }

    // -- Fragments ------------------------------------------------------------------------------------

    void add_fragments(std::vector<Unit>& units) {
        for (bool v6 : {false, true}) {
            const char* client = v6 ? "2001:db8:e::20" : "203.0.113.20";
            const char* vip = v6 ? kVip6 : kVip4;
            int tsvc = v6 ? kTcp6 : kTcp4, usvc = v6 ? kUdp6 : kUdp4;
            auto piece = [&](const Bytes& whole, size_t from, size_t to, bool more, uint16_t id) {
                return fragment(whole, from, to, more, 0x30000u + id);
            };
            auto syn = [&](uint16_t sp, size_t payload, int ttl = 64) {
                return with_ttl(tcp(kToPort, client, vip, sp, 80, kTcpSyn, payload), static_cast<uint8_t>(ttl));
            };
            const std::string fragment = dropped(Drop::fragment);
            {  // first, then two later ones: one group
                Unit u;
                int g = new_group();
                Bytes w = syn(sport(), 200);
                uint16_t id = frag_id();
                u.push_back(opens(c(piece(w, 0, 64, true, id), "fragments", kFwd, g, tsvc)));
                u.push_back(later(c(piece(w, 64, 128, true, id), "fragments", kFwd, g, tsvc)));
                u.push_back(later(c(piece(w, 128, 220, false, id), "fragments", kFwd, g, tsvc)));
                units.push_back(std::move(u));
            }
            {  // a later one that never has a first
                Bytes w = syn(sport(), 200);
                one(units, c(piece(w, 64, 128, true, frag_id()), "fragment without first", fragment));
            }
            {  // a later one before its first (dropped), then the first and another later one
                Unit u;
                int g = new_group();
                Bytes w = syn(sport(), 200);
                uint16_t id = frag_id();
                u.push_back(c(piece(w, 64, 128, true, id), "fragment before first", fragment));
                u.push_back(opens(c(piece(w, 0, 64, true, id), "fragments", kFwd, g, tsvc)));
                u.push_back(later(c(piece(w, 128, 220, false, id), "fragments", kFwd, g, tsvc)));
                units.push_back(std::move(u));
            }
            {  // overlapping later fragments, one twice, and the first twice
                Unit u;
                int g = new_group();
                Bytes w = syn(sport(), 200);
                uint16_t id = frag_id();
                u.push_back(opens(c(piece(w, 0, 64, true, id), "overlapping fragments", kFwd, g, tsvc)));
                u.push_back(later(c(piece(w, 32, 96, true, id), "overlapping fragments", kFwd, g, tsvc)));
                u.push_back(later(c(piece(w, 8, 200, true, id), "overlapping fragments", kFwd, g, tsvc)));
                u.push_back(later(c(piece(w, 32, 96, true, id), "overlapping fragments", kFwd, g, tsvc)));
                u.push_back(c(piece(w, 0, 64, true, id), "overlapping fragments", kFwd, g, tsvc));
                u.push_back(later(c(piece(w, 200, 220, false, id), "overlapping fragments", kFwd, g, tsvc)));
                units.push_back(std::move(u));
            }
            {  // UDP: the first fragment's UDP length counts the whole datagram
                Unit u;
                int g = new_group();
                Bytes w = udp(kToPort, client, vip, sport(), 53, 400);
                uint16_t id = frag_id();
                u.push_back(opens(c(piece(w, 0, 128, true, id), "fragments", kFwd, g, usvc)));
                u.push_back(later(c(piece(w, 128, 408, false, id), "fragments", kFwd, g, usvc)));
                units.push_back(std::move(u));
            }
            {  // UDP first fragment whose length is below 8
                Bytes w = udp(kToPort, client, vip, sport(), 53, 400);
                set16(w, l3_offset(w) + (v6 ? 40 : 20) + 4, 7);
                one(units, c(piece(w, 0, 128, true, frag_id()), "fragments", dropped(Drop::udp_bad_length)));
            }
            {  // first fragment with TTL 1: dropped, and so is its later one
                Unit u;
                Bytes w = syn(sport(), 200, 1);
                uint16_t id = frag_id();
                u.push_back(c(piece(w, 0, 64, true, id), "fragment TTL", dropped(Drop::ttl_exceeded)));
                u.push_back(c(piece(w, 64, 220, false, id), "fragment TTL", dropped(Drop::ttl_exceeded)));
                u.push_back(c(with_ttl(piece(w, 64, 220, false, id), 64), "fragment TTL", fragment));
                units.push_back(std::move(u));
            }
            {  // later fragments with TTL 1 and 0 after a good first; then a good one
                Unit u;
                int g = new_group();
                Bytes w = syn(sport(), 200);
                uint16_t id = frag_id();
                u.push_back(opens(c(piece(w, 0, 64, true, id), "fragment TTL", kFwd, g, tsvc)));
                u.push_back(c(with_ttl(piece(w, 64, 128, true, id), 1), "fragment TTL", dropped(Drop::ttl_exceeded)));
                u.push_back(c(with_ttl(piece(w, 128, 220, false, id), 0), "fragment TTL", dropped(Drop::ttl_exceeded)));
                u.push_back(later(c(with_ttl(piece(w, 128, 220, false, id), 2), "fragment TTL", kFwd, g, tsvc)));
                units.push_back(std::move(u));
            }
            {  // to the VIP on a port without a service: the first is the kernel's, the later has no record
                Unit u;
                Bytes w = tcp(kToPort, client, vip, sport(), 22, kTcpSyn, 200);
                uint16_t id = frag_id();
                u.push_back(c(piece(w, 0, 64, true, id), "fragments, no service", kKernel));
                u.push_back(c(piece(w, 64, 220, false, id), "fragments, no service", fragment));
                units.push_back(std::move(u));
            }
            {  // not to a VIP at all
                Unit u;
                Bytes w = tcp(kToPort, client, v6 ? kNotVip6 : kNotVip4, sport(), 80, kTcpSyn, 200);
                uint16_t id = frag_id();
                u.push_back(c(piece(w, 0, 64, true, id), "fragments, not a VIP", kKernel));
                u.push_back(c(piece(w, 64, 220, false, id), "fragments, not a VIP", kKernel));
                units.push_back(std::move(u));
            }
            {  // ICMP (echo) in fragments: the kernel's
                Unit u;
                Bytes echo{static_cast<uint8_t>(v6 ? 128 : 8), 0, 0, 0, 0, 1, 0, 1};
                echo.resize(200, 0x55);
                Bytes w = v6 ? ipv6(kToPort, client, vip, 58, echo) : ipv4(kToPort, client, vip, 1, echo);
                uint16_t id = frag_id();
                u.push_back(c(piece(w, 0, 64, true, id), "fragments, ICMP", kKernel));
                u.push_back(c(piece(w, 64, 200, false, id), "fragments, ICMP", kKernel));
                units.push_back(std::move(u));
            }
            {  // a first fragment with 8 bytes of TCP header (RFC 1858): dropped, its later one too
                Unit u;
                Bytes w = syn(sport(), 200);
                uint16_t id = frag_id();
                u.push_back(c(piece(w, 0, 8, true, id), "tiny first fragment", dropped(Drop::tcp_truncated)));
                u.push_back(c(piece(w, 8, 220, false, id), "tiny first fragment", fragment));
                units.push_back(std::move(u));
            }
            {  // a first fragment of an ACK with no connection: rr drops it; its later one has no record
                Unit u;
                Bytes w = tcp(kToPort, client, vip, sport(), 80, kTcpAck, 200);
                uint16_t id = frag_id();
                u.push_back(c(piece(w, 0, 64, true, id), "fragments, no connection", dropped(Drop::tcp_no_conn)));
                u.push_back(c(piece(w, 64, 220, false, id), "fragments, no connection", fragment));
                units.push_back(std::move(u));
            }
            {  // later fragments broadcast, or to another MAC
                Unit u;
                int g = new_group();
                Bytes w = syn(sport(), 200);
                uint16_t id = frag_id();
                u.push_back(opens(c(piece(w, 0, 64, true, id), "fragments", kFwd, g, tsvc)));
                u.push_back(c(with_l2(piece(w, 64, 128, true, id), kBroadcast), "fragment broadcast", kKernel));
                u.push_back(c(with_l2(piece(w, 64, 128, true, id), kOtherHost), "fragment to another MAC", kNotForUs));
                u.push_back(later(c(piece(w, 128, 220, false, id), "fragments", kFwd, g, tsvc)));
                units.push_back(std::move(u));
            }
        }
        {  // mh: a first fragment of an ACK without an entry goes by Maglev; its later one follows it
            Unit u;
            int g = new_group();
            Bytes w = tcp(kToPort, "203.0.113.21", kVip4Mh, sport(), 80, kTcpAck, 200);
            uint16_t id = frag_id();
            Case first = c(frag4(w, 0, 64, true, id), "fragments, mh without entry", kFwd, g, kTcp4Mh);
            first.stateless = true;
            u.push_back(first);
            u.push_back(later(c(frag4(w, 64, 220, false, id), "fragments, mh without entry", kFwd, g, kTcp4Mh)));
            units.push_back(std::move(u));
        }
        {  // IPv6: destination options after the fragment header of a first fragment
            Unit u;
            int g = new_group();
            Bytes whole = tcp(kToPort, "2001:db8:e::21", kVip6, sport(), 80, kTcpSyn, 200);
            Bytes body = ext(6, 0);
            Bytes l4 = l4_bytes(whole);
            body.insert(body.end(), l4.begin(), l4.end());
            Bytes w = ipv6(kToPort, "2001:db8:e::21", kVip6, 60, body);  // options, TCP: 228 bytes
            uint32_t id = 0x40000u + frag_id();
            u.push_back(opens(c(frag6(w, 0, 72, true, id), "IPv6 fragment then options", kFwd, g, kTcp6)));
            // Its later fragment names 60 (options) in its fragment header, as RFC 8200 §4.5 says it must:
            // dplbd sends it to the kernel, not after its first (see the disabled test below), so here it
            // is held to the checks every frame gets, not to an outcome.
            u.push_back(c(frag6(w, 72, 228, false, id), "IPv6 fragment then options", kAny));
            // and the fragment header behind a hop-by-hop header
            Bytes w2 = tcp(kToPort, "2001:db8:e::21", kVip6, sport(), 80, kTcpSyn, 200);
            uint32_t id2 = 0x40000u + frag_id();
            int g2 = new_group();
            u.push_back(
                opens(c(frag6(w2, 0, 64, true, id2, ext(44, 0), 0), "IPv6 hop-by-hop then fragment", kFwd, g2, kTcp6)));
            u.push_back(later(
                c(frag6(w2, 64, 220, false, id2, ext(44, 0), 0), "IPv6 hop-by-hop then fragment", kFwd, g2, kTcp6)));
            units.push_back(std::move(u));
        }
    }

    // -- Large frames -----------------------------------------------------------------------------------

    void add_large(std::vector<Unit>& units) {
        Bytes big = tcp_of_size(kToPort, "203.0.113.30", kVip4, sport(), 80, kTcpSyn, 9000);
        one(units, c(with_l2(big, kOtherHost), "9 KB frame", kNotForUs));
        one(units, c(with_l2(big, kBroadcast), "9 KB frame", kKernel));
        one(units, c(set_ipv4_total(big, static_cast<uint32_t>(big.size() - 14 + 1)), "9 KB frame",
                     dropped(Drop::ipv4_bad_total_length)));
        one(units, opens(c(padded(tcp(kToPort, "203.0.113.30", kVip4, sport(), 80, kTcpSyn), 9000),
                           "9 KB frame, short IP packet", kFwd, new_group(), kTcp4)));
        one(units, opens(c(udp_of_size(kToPort, "2001:db8:e::30", kVip6, sport(), 53, 9216), "9 KB frame", kFwd,
                           new_group(), kUdp6)));
        one(units, opens(c(tcp_of_size(to_port(7), "2001:db8:e::30", kVip6, sport(), 80, kTcpSyn, 2100), "2 KB frame",
                           kFwd, new_group(), kTcp6)));
        Bytes rnd = rng_.bytes(9000);
        std::copy(kPortMac.b.begin(), kPortMac.b.end(), rnd.begin());
        one(units, c(rnd, "9 KB random", kAny));
        // IPv6 headers past the first segment (2048 bytes of the first mbuf): not forwarded.
        one(units, c(v6_chain_frame(kToPort, "2001:db8:e::31", kVip6, kProtoTcp, sport(), 80, 1, 255, 100),
                     "IPv6 TCP header past the first segment", dropped(Drop::headers_split)));
        {
            Bytes body = ext(60, 249);  // 2000 bytes, then a header at 2054
            Bytes second = ext(6, 0);
            body.insert(body.end(), second.begin(), second.end());
            Bytes l4 = l4_bytes(tcp(kToPort, "2001:db8:e::31", kVip6, sport(), 80, kTcpSyn));
            body.insert(body.end(), l4.begin(), l4.end());
            one(units, c(ipv6(kToPort, "2001:db8:e::31", kVip6, 60, body), "IPv6 extension past the first segment",
                         dropped(Drop::headers_split)));
        }
        {
            Bytes body = ext(58, 255);
            Bytes quoted = ip_of(tcp(L2{kClient, kPortMac}, kVip6, "2001:db8:c::1", 80, 40000 + kTcp6 * 1000, kTcpAck));
            Bytes err = l4_bytes(icmp_error(kToPort, kRouter6, kVip6, 2, 0, 1280, quoted));
            body.insert(body.end(), err.begin(), err.end());
            one(units, c(ipv6(kToPort, kRouter6, kVip6, 0, body), "ICMPv6 error past the first segment", kKernel));
        }
    }

    // -- Random bodies and mutations --------------------------------------------------------------------

    void add_random(std::vector<Unit>& units, int n) {
        static const uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8};
        for (int i = 0; i < n; i++) {
            uint32_t r = rng_.below(100);
            size_t len = r < 25   ? rng_.below(61)
                         : r < 75 ? 60 + rng_.below(1455)
                         : r < 90 ? 1515 + rng_.below(700)
                                  : 8000 + rng_.below(1217);
            Bytes f = rng_.bytes(len);
            if (len >= 6 && rng_.below(10) < 7) {
                const MacAddr& d = rng_.one_in(7) ? kBroadcast : kPortMac;
                std::copy(d.b.begin(), d.b.end(), f.begin());
            }
            if (len >= 14 && rng_.one_in(2)) set16(f, 12, types[rng_.below(5)]);
            if (len >= 54 && rng_.one_in(3)) {  // a plausible IPv4 header to a VIP, the rest random
                set16(f, 12, 0x0800);
                f[14] = 0x45;
                set16(f, 16, static_cast<uint32_t>(std::min<size_t>(len - 14, 0xffff)));
                f[22] = static_cast<uint8_t>(2 + rng_.below(254));
                f[23] = rng_.one_in(2) ? kProtoTcp : kProtoUdp;
                IpAddr v = ip(rng_.one_in(3) ? kVip4Mh : kVip4);
                std::copy(v.b.begin(), v.b.begin() + 4, f.begin() + 30);
                ipv4_fix(f);
            }
            one(units, c(f, "random body", kAny));
        }
    }

    std::vector<Bytes> mutation_bases() {
        const L2 l2 = kToPort;
        std::vector<Bytes> b;
        b.push_back(tcp(l2, "198.51.100.1", kVip4, 20001, 80, kTcpSyn));
        b.push_back(tcp(l2, "198.51.100.1", kVip4, 20001, 80, kTcpAck | 0x08, 100));
        b.push_back(tcp(to_port(5), "198.51.100.2", kVip4, 20002, 80, kTcpSyn));
        b.push_back(udp(l2, "198.51.100.3", kVip4, 20003, 53, 50));
        b.push_back(tcp(l2, "2001:db8:bad::1", kVip6, 20004, 80, kTcpSyn));
        b.push_back(udp(l2, "2001:db8:bad::2", kVip6, 20005, 53, 50));
        b.push_back(tcp(l2, "198.51.100.4", kVip4Mh, 20006, 80, kTcpAck, 40));
        Bytes w4 = tcp(l2, "198.51.100.5", kVip4, 20007, 80, kTcpSyn, 200);
        b.push_back(frag4(w4, 0, 64, true, 0x7001));
        b.push_back(frag4(w4, 64, 220, false, 0x7001));
        Bytes w6 = udp(l2, "2001:db8:bad::3", kVip6, 20008, 53, 200);
        b.push_back(frag6(w6, 0, 64, true, 0x7002));
        b.push_back(frag6(w6, 64, 208, false, 0x7002));
        b.push_back(
            icmp_error(l2, kRouter4, kVip4, 3, 4, 1400, ip_of(tcp(L2{}, kVip4, "198.51.100.1", 80, 20001, kTcpAck))));
        b.push_back(icmp_error(l2, kRouter6, kVip6, 2, 0, 1280,
                               ip_of(tcp(L2{}, kVip6, "2001:db8:bad::1", 80, 20004, kTcpAck))));
        b.push_back(arp(L2{kBroadcast, kClient}, 1, kClient, "198.51.100.6", MacAddr{}, kVip4));
        b.push_back(nd(L2{kSolicitedNode, kClient}, "2001:db8:bad::4", "ff02::1:ff00:100", 135, kVip6, 0, 1, kClient));
        b.push_back(v6_chain_frame(l2, "2001:db8:bad::5", kVip6, kProtoTcp, 20009, 80, 3));
        b.push_back(with_ihl(tcp(l2, "198.51.100.7", kVip4, 20010, 80, kTcpSyn), 7));
        b.push_back(with_tags(tcp(to_port(5), "198.51.100.8", kVip4, 20011, 80, kTcpSyn), {{0x88a8, 1}, {0x8100, 5}}));
        b.push_back(tcp_of_size(l2, "198.51.100.9", kVip4, 20012, 80, kTcpAck, 2100));
        b.push_back(udp_of_size(l2, "2001:db8:bad::6", kVip6, 20013, 53, 9000));
        return b;
    }

    // Each a valid frame with 1 to 4 of: a bit flipped, a byte set to a boundary value, a 16-bit
    // field set to one, cut short, extended with random bytes. Most changes land in the headers.
    void add_mutations(std::vector<Unit>& units, int n) {
        static const uint8_t bytes[] = {0x00, 0x01, 0x05, 0x06, 0x0f, 0x11, 0x2c, 0x3b, 0x40, 0x45,
                                        0x4f, 0x60, 0x7f, 0x80, 0x81, 0x86, 0x87, 0xdd, 0xfe, 0xff};
        std::vector<Bytes> bases = mutation_bases();
        for (int i = 0; i < n; i++) {
            Bytes f = bases[rng_.below(static_cast<uint32_t>(bases.size()))];
            unsigned ops = 1 + rng_.below(4);
            for (unsigned k = 0; k < ops; k++) {
                auto pos = [&]() -> size_t {
                    if (f.empty()) return 0;
                    size_t head = std::min<size_t>(f.size(), 94);  // Ethernet, IPv6 and TCP headers
                    return rng_.below(4) ? rng_.below(static_cast<uint32_t>(head))
                                         : rng_.below(static_cast<uint32_t>(f.size()));
                };
                switch (rng_.below(5)) {
                case 0:
                    if (!f.empty()) f[pos()] ^= static_cast<uint8_t>(1u << rng_.below(8));
                    break;
                case 1:
                    if (!f.empty()) f[pos()] = bytes[rng_.below(sizeof bytes)];
                    break;
                case 2:
                    if (f.size() >= 2) {
                        size_t p = std::min(pos(), f.size() - 2);
                        static const uint16_t words[] = {0, 1, 7, 8, 20, 40, 0x7fff, 0x8000, 0xffff};
                        set16(f, p,
                              rng_.one_in(3) ? static_cast<uint16_t>(f.size() - rng_.below(60)) : words[rng_.below(9)]);
                    }
                    break;
                case 3: f.resize(rng_.below(static_cast<uint32_t>(f.size() + 1))); break;
                case 4: {
                    Bytes more = rng_.bytes(1 + rng_.below(64));
                    f.insert(f.end(), more.begin(), more.end());
                    break;
                }
                }
            }
            one(units, c(f, "mutated", kAny));
        }
    }

    // -- Phase 2: about the flows, once they all exist ------------------------------------------------

    const Flow* flow(int svc, int nth) const {
        int seen = 0;
        for (const Flow& f : flows_)
            if (f.svc == svc && f.packets.front().opens && seen++ == nth) return &f;
        return nullptr;
    }

    // The flow's packet as its real sends it back (from the VIP), as an ICMP error quotes it.
    static Bytes reply_of(const Flow& f, size_t payload = 0) {
        const char* vip = vip_of(f.svc);
        bool is_tcp = services()[static_cast<size_t>(f.svc)].proto == kProtoTcp;
        return is_tcp ? tcp(L2{}, vip, f.client.c_str(), port_of(f.svc), f.sport, kTcpAck | 0x08, payload)
                      : udp(L2{}, vip, f.client.c_str(), port_of(f.svc), f.sport, payload);
    }

    Case about(const Flow& f, Bytes frame, const char* category, const std::string& want) {
        Case k = c(std::move(frame), category, want, want == kFwd ? f.group : -1, want == kFwd ? f.svc : -1);
        k.icmp = want == kFwd;
        return k;
    }

    void add_icmp_about_flows(std::vector<Unit>& units) {
        for (int svc : {kTcp4, kUdp4, kTcp4Mh}) {
            for (int i = 0; i < 6; i++) {
                const Flow* f = flow(svc, i);
                if (!f) continue;
                Bytes q = ip_of(reply_of(*f, 20));
                static const uint8_t types[][2] = {{3, 4}, {11, 0}, {3, 3}, {3, 1}, {12, 0}, {3, 4}};
                uint8_t type = types[i][0], code = types[i][1];
                // RFC 792: type 12 (parameter problem) is not one dplbd forwards: the kernel's.
                std::string want = type == 12 ? kKernel : kFwd;
                size_t cut = i % 2 ? 28 : q.size();
                one(units, about(*f,
                                 icmp_error(to_port(f->vlan), kRouter4, vip_of(svc), type, code, 1400,
                                            ip_of(reply_of(*f, 20), cut)),
                                 "ICMP error about a flow", want));
            }
        }
        for (int svc : {kTcp6, kUdp6}) {
            for (int i = 0; i < 6; i++) {
                const Flow* f = flow(svc, i);
                if (!f) continue;
                static const uint8_t types[][2] = {{2, 0}, {1, 4}, {3, 0}, {4, 0}, {2, 0}, {1, 3}};
                uint8_t type = types[i][0], code = types[i][1];
                std::string want = type == 4 ? kKernel : kFwd;  // parameter problem: the kernel's
                size_t cut = i % 2 ? 48 : SIZE_MAX;
                one(units,
                    about(*f,
                          icmp_error(to_port(f->vlan), kRouter6, kVip6, type, code, 1280, ip_of(reply_of(*f, 20), cut)),
                          "ICMP error about a flow", want));
            }
        }
        // The quote cut at every length: 28 bytes (IPv4) / 48 (IPv6) at least carry the ports.
        if (const Flow* f = flow(kTcp4, 6)) {
            Bytes q = ip_of(reply_of(*f));
            for (size_t n = 0; n <= q.size(); n++)
                one(units, about(*f, icmp_error(to_port(f->vlan), kRouter4, kVip4, 3, 4, 1400, truncate(q, n)),
                                 "ICMP error quoting a cut header", n < 28 ? kKernel : kFwd));
        }
        if (const Flow* f = flow(kTcp6, 6)) {
            Bytes q = ip_of(reply_of(*f));
            for (size_t n = 0; n <= q.size(); n += 2)
                one(units, about(*f, icmp_error(to_port(f->vlan), kRouter6, kVip6, 2, 0, 1280, truncate(q, n)),
                                 "ICMP error quoting a cut header", n < 48 ? kKernel : kFwd));
        }
        if (const Flow* f = flow(kTcp4, 7)) {
            const L2 l2 = to_port(f->vlan);
            Bytes q = ip_of(reply_of(*f));
            auto err = [&](const Bytes& quoted) { return icmp_error(l2, kRouter4, kVip4, 3, 4, 1400, quoted); };
            // Quoting garbage, a header with IHL 15 in 28 bytes, a later fragment, another sender.
            for (int i = 0; i < 8; i++)
                one(units, about(*f, err(rng_.bytes(8 + rng_.below(60))), "ICMP error quoting garbage", kKernel));
            one(units, about(*f, err(patch(q, 0, {0x4f})), "ICMP error quoting a cut header", kKernel));
            one(units, about(*f, err(patch(q, 0, {0x44})), "ICMP error quoting a cut header", kKernel));
            one(units, about(*f, err(patch(q, 0, {0x65})), "ICMP error quoting garbage", kKernel));
            one(units, about(*f, err(patch(q, 6, {0x00, 0x10})), "ICMP error quoting a later fragment", kKernel));
            one(units, about(*f, err(patch(q, 12, {10, 10, 0, 99})), "ICMP error about another sender", kKernel));
            one(units, about(*f, err(patch(q, 9, {1})), "ICMP error quoting ICMP", kKernel));
            // About the flow, quoting its first fragment (offset 0, MF): the ports are there.
            one(units, about(*f, err(patch(q, 6, {0x20, 0x00})), "ICMP error about a flow", kFwd));
            // TTL of the error itself: 1 and 0 dropped, 2 forwarded.
            one(units, about(*f, with_ttl(err(q), 1), "ICMP error TTL", dropped(Drop::ttl_exceeded)));
            one(units, about(*f, with_ttl(err(q), 0), "ICMP error TTL", dropped(Drop::ttl_exceeded)));
            one(units, about(*f, with_ttl(err(q), 2), "ICMP error TTL", kFwd));
            // Broadcast, another MAC, a length lie, a 9 KB error.
            one(units, about(*f, with_l2(err(q), kBroadcast), "ICMP error broadcast", kKernel));
            one(units, about(*f, with_l2(err(q), kOtherHost), "ICMP error to another MAC", kNotForUs));
            Bytes e = err(q);
            one(units, about(*f, set_ipv4_total(e, static_cast<uint32_t>(e.size() - l2_len(e) + 1)),
                             "ICMP error length lie", dropped(Drop::ipv4_bad_total_length)));
            one(units, about(*f, padded(err(q), 9000), "ICMP error, 9 KB frame", kFwd));
            one(units, about(*f, err(padded(q, 8000)), "ICMP error, 9 KB quote", kFwd));
        }
        if (const Flow* f = flow(kTcp6, 7)) {
            const L2 l2 = to_port(f->vlan);
            auto err = [&](const Bytes& quoted) { return icmp_error(l2, kRouter6, kVip6, 1, 4, 0, quoted); };
            // The quoted packet with extension headers before its TCP header: 8 are followed, 9 are not.
            for (unsigned n : {1u, 2u, 8u, 9u}) {
                Bytes plain = reply_of(*f);
                Bytes body = chain(n, kProtoTcp);
                Bytes l4 = l4_bytes(plain);
                body.insert(body.end(), l4.begin(), l4.end());
                Bytes quoted = ip_of(ipv6(L2{}, kVip6, f->client.c_str(), chain_first(n, kProtoTcp), body));
                one(units,
                    about(*f, err(quoted), "ICMPv6 error, quote with extension headers", n <= 8 ? kFwd : kKernel));
            }
            // A quote whose fragment header makes it a later fragment; garbage; hop limit 1.
            for (int i = 0; i < 8; i++)
                one(units, about(*f, err(rng_.bytes(8 + rng_.below(80))), "ICMP error quoting garbage", kKernel));
            Bytes q = ip_of(reply_of(*f));
            one(units, about(*f, with_ttl(err(q), 1), "ICMP error TTL", dropped(Drop::ttl_exceeded)));
            one(units, about(*f, with_ttl(err(q), 2), "ICMP error TTL", kFwd));
            // The error itself in a first fragment: the kernel's.
            Bytes e = err(q);
            one(units, about(*f, frag6(e, 0, 48, true, 0x50001), "ICMPv6 error in a fragment", kKernel));
        }
        // About flows nobody has: rr leaves it to the kernel, mh sends it by Maglev.
        {
            Bytes q = ip_of(tcp(L2{}, kVip4, "203.0.113.40", 80, 31000, kTcpAck));
            one(units, c(icmp_error(kToPort, kRouter4, kVip4, 3, 4, 1400, q), "ICMP error, no flow", kKernel));
            Bytes qm = ip_of(tcp(L2{}, kVip4Mh, "203.0.113.40", 80, 31001, kTcpAck));
            Case k = c(icmp_error(kToPort, kRouter4, kVip4Mh, 3, 4, 1400, qm), "ICMP error, no flow (mh)", kFwd,
                       new_group(), kTcp4Mh);
            k.icmp = k.stateless = true;
            one(units, k);
        }
    }

    // ACKs on live flows with TTL 1 (dropped, the entry untouched) and 2 (forwarded to the flow's real).
    void add_live_flow_ttl(std::vector<Unit>& units) {
        for (int svc : {kTcp4, kTcp6, kUdp4}) {
            const Flow* f = flow(svc, 8);
            if (!f) continue;
            Bytes p = f->packets[1].frame;  // its ACK (UDP: its second datagram)
            one(units, c(with_ttl(p, 1), "TTL on a live flow", dropped(Drop::ttl_exceeded)));
            one(units, c(with_ttl(p, 2), "TTL on a live flow", kFwd, f->group, f->svc));
        }
    }

    Rng rng_;
    std::vector<Flow> flows_;
    int groups_ = 0;
    uint16_t next_sport_ = 30000;
    uint16_t next_id_ = 0x4000;
};

// ---------------------------------------------------------------------------------------------------
// Running dplbd and reading what it says.

uint16_t free_local_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

// GET `path` from 127.0.0.1:`port` (HTTP/1.0, 5 s); the whole answer, or "" on failure.
std::string http_get(uint16_t port, const std::string& path) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return "";
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    std::string out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if (send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
            char buf[8192];
            ssize_t n;
            while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
        }
    }
    close(fd);
    return out;
}

// The value of the sample `name_and_labels` ("metric{label=\"v\"}") in Prometheus text; -1 if absent.
double metric(const std::string& text, const std::string& name_and_labels) {
    size_t p = text.find("\n" + name_and_labels + " ");
    if (p == std::string::npos) return -1;
    return std::strtod(text.c_str() + p + name_and_labels.size() + 2, nullptr);
}

// Waits (at most `limit`) until dplbd has received all `frames`, its counters have stopped moving
// between two looks 100 ms apart, and out.pcap holds every frame it counts as sent.
bool wait_until_processed(DplbdRunner& d, size_t frames, std::chrono::seconds limit, std::string& why) {
    auto deadline = Clock::now() + limit;
    std::string prev, last;
    while (Clock::now() < deadline) {
        if (!d.running()) {
            why = "dplbd ended (" + d.describe_exit() + ") before it had processed every frame";
            return false;
        }
        bool ok = false;
        std::string s = d.ctl("list --stats --json", &ok);
        if (ok) last = s;
        if (ok && json_number(s, "rx_packets") == frames) {
            if (s == prev && d.output().size() == json_number(s, "tx_packets")) return true;
            prev = s;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    why = "not done within " + std::to_string(limit.count()) + " s (" + std::to_string(frames) +
          " frames sent); last counters: " + (last.empty() ? "none (no answer on the control socket)" : last);
    return false;
}

// The per-counter numbers of a stats JSON: every key below and every drop reason.
std::map<std::string, uint64_t> outcome_counters(const std::string& json, std::vector<std::string>& missing) {
    std::map<std::string, uint64_t> m;
    for (const char* k : {"rx_packets", "tx_packets", "forwarded", "stateless", "table_full", "arp_replies",
                          "to_kernel", "from_kernel", "not_for_us"}) {
        uint64_t v = json_number(json, k);
        if (v == UINT64_MAX) missing.push_back(k);
        m[k] = v;
    }
    size_t drops = json.find("\"drops\":{");
    for (unsigned i = 0; i < kDropCount; i++) {
        std::string name = drop_name(static_cast<Drop>(i));
        uint64_t v = drops == std::string::npos ? UINT64_MAX : json_number(json, name, drops);
        if (v == UINT64_MAX) missing.push_back("drops." + name);
        m[name] = v;
    }
    return m;
}

// Collects failures and reports the first few of each kind, with their count.
class Failures {
public:
    void add(const std::string& kind, const std::string& what) {
        auto& v = by_kind_[kind];
        if (v.size() < 8) v.push_back(what);
        counts_[kind]++;
    }
    bool empty() const { return counts_.empty(); }
    std::string str() const {
        std::string o;
        for (const auto& [kind, n] : counts_) {
            o += kind + ": " + std::to_string(n) + " frame(s)\n";
            for (const std::string& w : by_kind_.at(kind)) o += "  " + w + "\n";
        }
        return o;
    }

private:
    std::map<std::string, std::vector<std::string>> by_kind_;
    std::map<std::string, size_t> counts_;
};

std::string describe(const std::vector<Case>& cases, size_t i) {
    const Case& c = cases[i];
    std::string o = "input #" + std::to_string(i) + " (" + c.category + ", " + std::to_string(c.frame.size()) +
                    " bytes, wants " + c.want + ")";
    std::string fields;
    for (const std::string& f : decode_fields(c.frame)) fields += " " + f;
    return o + ":" + fields;
}

struct RealInfo {
    int svc;
    const RealDef* def;
};

// The checks on one run: frames out against frames in, every known outcome, the counters.
void check_run(const std::vector<Case>& cases, const std::vector<Bytes>& out, const std::string& json,
               const std::string& metrics) {
    const auto& svcs = services();
    std::map<MacAddr, RealInfo, bool (*)(const MacAddr&, const MacAddr&)> reals(
        [](const MacAddr& a, const MacAddr& b) { return a.b < b.b; });
    for (size_t s = 0; s < svcs.size(); s++)
        for (const RealDef& r : svcs[s].reals)
            if (r.mac) reals[mac(r.mac)] = RealInfo{static_cast<int>(s), &r};

    // 1. Output frames are a subsequence of the input, each explained by its input.
    Failures fail;
    std::vector<Match> matched(cases.size(), Match::none);
    std::vector<MacAddr> sent_to(cases.size());
    size_t k = 0;
    for (size_t j = 0; j < out.size(); j++) {
        size_t start = k;
        Match m = Match::none;
        while (k < cases.size() && (m = explains(cases[k].frame, out[j])) == Match::none) k++;
        if (k == cases.size()) {
            // Show it against the first input after `start` that is the same packet up to the rewrite.
            std::string near;
            for (size_t i = start; i < cases.size() && near.empty(); i++) {
                const Bytes& in = cases[i].frame;
                if (in.size() != out[j].size() || in.size() < 14) continue;
                size_t diff = 0;
                for (size_t b = 12; b < in.size() && diff <= 3; b++) diff += in[b] != out[j][b];
                if (diff > 3) continue;
                MacAddr real;
                std::copy(out[j].begin(), out[j].begin() + 6, real.b.begin());
                near = "\nclosest " + describe(cases, i) + "\n" + frame_diff(forwarded_copy(in, real), out[j]);
            }
            std::string fields;
            for (const std::string& f : decode_fields(out[j])) fields += " " + f;
            ADD_FAILURE() << "output frame " << j << " of " << out.size()
                          << " is no allowed rewrite of any input frame after #" << start << ":" << fields << near;
            return;
        }
        matched[k] = m;
        std::copy(out[j].begin(), out[j].begin() + 6, sent_to[k].b.begin());
        k++;
    }

    // 2. Every frame with a known outcome had it; forwarded frames went to a real of their VIP (of
    //    their service), every frame of a group to the same real.
    std::map<int, MacAddr> group_real;
    std::map<MacAddr, std::pair<uint64_t, uint64_t>, bool (*)(const MacAddr&, const MacAddr&)> per_real(
        [](const MacAddr& a, const MacAddr& b) { return a.b < b.b; });
    std::map<std::string, uint64_t> known;  // outcome -> frames built for it
    size_t any = 0, any_out = 0, n_fwd = 0, n_reply = 0;
    size_t later_fwd = 0, icmp_fwd = 0, stateless_fwd = 0, any_to_mh = 0;
    std::vector<uint64_t> opens(svcs.size(), 0);
    std::map<int, std::map<std::string, int>> valid_flow_reals;  // service -> real MAC -> valid flows
    for (size_t i = 0; i < cases.size(); i++) {
        const Case& c = cases[i];
        Match m = matched[i];
        if (m == Match::forwarded) {
            n_fwd++;
            auto it = reals.find(sent_to[i]);
            if (it == reals.end()) {
                fail.add("forwarded to a MAC that is no real's", describe(cases, i) + " -> " + sent_to[i].str());
                continue;
            }
            const ServiceDef& sd = svcs[static_cast<size_t>(it->second.svc)];
            if (ip_dst(c.frame) != IpAddr::parse(sd.vip)->str())
                fail.add("forwarded to a real of another VIP", describe(cases, i) + " -> " + it->second.def->ip);
            if (c.service >= 0 && it->second.svc != c.service)
                fail.add("forwarded to a real of another service", describe(cases, i) + " -> " + it->second.def->ip);
            per_real[sent_to[i]].first++;
            per_real[sent_to[i]].second += c.frame.size();
            if (c.group >= 0) {
                auto [g, fresh] = group_real.emplace(c.group, sent_to[i]);
                if (!fresh && g->second != sent_to[i])
                    fail.add("a flow split between reals",
                             describe(cases, i) + " -> " + sent_to[i].str() + ", earlier ones -> " + g->second.str());
            }
            if (c.want == kAny && svcs[static_cast<size_t>(it->second.svc)].sched == std::string("mh")) any_to_mh++;
        } else if (m == Match::reply) {
            n_reply++;
        }
        if (c.want == kAny) {
            any++;
            any_out += m != Match::none;
            continue;
        }
        known[c.want]++;
        Match want = c.want == kFwd ? Match::forwarded : c.want == kReply ? Match::reply : Match::none;
        if (m != want) {
            std::string got = m == Match::forwarded ? "forwarded" : m == Match::reply ? "answered" : "not sent";
            fail.add("wanted " + c.want + ", " + got, describe(cases, i));
        }
        if (m == Match::forwarded) {
            later_fwd += c.later_fragment;
            icmp_fwd += c.icmp;
            stateless_fwd += c.stateless;
            if (c.opens) opens[static_cast<size_t>(c.service)]++;
            if (c.category == std::string("valid flow") && c.opens) valid_flow_reals[c.service][sent_to[i].str()]++;
        }
    }
    EXPECT_TRUE(fail.empty()) << fail.str();

    // 3. The counters dplbd wrote at exit. Every frame has exactly one outcome, so
    //      rx_packets = forwarded + arp_replies + to_kernel + not_for_us + every drop reason but tx_full
    //    and what was sent is what was forwarded or answered (nothing comes from a kernel here):
    //      tx_packets + tx_full = forwarded + arp_replies + from_kernel, from_kernel = 0.
    //    Each outcome counts at least the frames built for it; what it counts beyond them are random
    //    or mutated frames that did not come out, each counted once.
    std::vector<std::string> missing;
    auto n = outcome_counters(json, missing);
    ASSERT_TRUE(missing.empty()) << "stats JSON lacks " << missing.front() << ":\n" << json;
    EXPECT_EQ(n["rx_packets"], cases.size()) << "rx_packets against frames in the pcap";
    EXPECT_EQ(n["tx_packets"], out.size()) << "tx_packets against frames in out.pcap";
    EXPECT_EQ(n["forwarded"], n_fwd) << "forwarded against forwarded frames in out.pcap";
    EXPECT_EQ(n["arp_replies"], n_reply) << "arp_replies against ARP replies and ND advertisements in out.pcap";
    uint64_t outcomes = n["forwarded"] + n["arp_replies"] + n["to_kernel"] + n["not_for_us"];
    for (unsigned i = 0; i < kDropCount; i++)
        if (static_cast<Drop>(i) != Drop::tx_full) outcomes += n[drop_name(static_cast<Drop>(i))];
    EXPECT_EQ(outcomes, n["rx_packets"]) << "forwarded + arp_replies + to_kernel + not_for_us + drops (but tx_full) "
                                            "against rx_packets:\n"
                                         << json;
    EXPECT_EQ(n["from_kernel"], 0u);
    EXPECT_EQ(n["tx_packets"] + n["tx_full"], n["forwarded"] + n["arp_replies"] + n["from_kernel"]);
    uint64_t beyond = 0;
    std::vector<std::string> not_sent_outcomes = {kKernel, kNotForUs};
    for (unsigned i = 0; i < kDropCount; i++)
        if (static_cast<Drop>(i) != Drop::tx_full) not_sent_outcomes.push_back(drop_name(static_cast<Drop>(i)));
    for (const std::string& o : not_sent_outcomes) {
        EXPECT_GE(n[o], known[o]) << o << ": fewer than the frames built for it";
        if (n[o] >= known[o]) beyond += n[o] - known[o];
    }
    EXPECT_EQ(beyond, any - any_out) << "counted beyond the known frames against random and mutated frames not sent";
    EXPECT_EQ(n["table_full"], 0u) << "the tables are sized so that the expectations hold";

    // Sub-counts of forwarded: at least the frames built for them, at most those plus random and
    // mutated frames forwarded (to an mh service, for stateless).
    EXPECT_GE(n["stateless"], stateless_fwd);
    EXPECT_LE(n["stateless"], stateless_fwd + any_to_mh) << "stateless counts frames that were not forwarded by mh";
    double frag = metric(metrics, "dplb_dataplane_packets_total{outcome=\"fragment_forwarded\"}");
    double icmp = metric(metrics, "dplb_dataplane_packets_total{outcome=\"icmp_error_forwarded\"}");
    EXPECT_GE(frag, static_cast<double>(later_fwd)) << metrics;
    EXPECT_LE(frag, static_cast<double>(later_fwd + any_out));
    EXPECT_GE(icmp, static_cast<double>(icmp_fwd)) << metrics;
    EXPECT_LE(icmp, static_cast<double>(icmp_fwd + any_out));
    EXPECT_EQ(metric(metrics, "dplb_dataplane_received_packets_total"), static_cast<double>(cases.size()));
    double scraped_outcomes = 0;  // every frame under exactly one outcome
    for (const char* o : {"forwarded", "forwarded_stateless", "icmp_error_forwarded", "fragment_forwarded",
                          "arp_reply", "to_kernel", "not_for_us", "dropped"})
        scraped_outcomes += metric(metrics, std::string("dplb_dataplane_packets_total{outcome=\"") + o + "\"}");
    EXPECT_EQ(scraped_outcomes, static_cast<double>(cases.size())) << metrics;
    EXPECT_EQ(metric(metrics, "dplb_port_rx_packets_total{port=\"lan0\",queue=\"0\"}"),
              static_cast<double>(cases.size()));
    EXPECT_EQ(metric(metrics, "dplb_port_tx_packets_total{port=\"lan0\"}"), static_cast<double>(out.size()));

    // 4. Per real and per service: packets and bytes as they came out; connections at least those
    //    the known frames opened; every real of an rr service got some of the valid flows.
    for (size_t s = 0; s < svcs.size(); s++) {
        const ServiceDef& sd = svcs[s];
        std::string key = std::string("\"vip\":\"") + IpAddr::parse(sd.vip)->str() +
                          "\",\"port\":" + std::to_string(sd.port) + ",\"protocol\":\"" +
                          (sd.proto == kProtoTcp ? "TCP" : "UDP") + "\"";
        size_t at = json.find(key);
        ASSERT_NE(at, std::string::npos) << key << "\n" << json;
        uint64_t pk = 0, by = 0, conns = 0;
        for (const RealDef& r : sd.reals) {
            size_t rp = json.find(std::string("\"ip\":\"") + IpAddr::parse(r.ip)->str() + "\"", at);
            ASSERT_NE(rp, std::string::npos) << r.ip;
            auto got = r.mac ? per_real[mac(r.mac)] : std::pair<uint64_t, uint64_t>{0, 0};
            EXPECT_EQ(json_number(json, "inpkts", rp), got.first) << "real " << r.ip << ": inpkts";
            EXPECT_EQ(json_number(json, "inbytes", rp), got.second) << "real " << r.ip << ": inbytes";
            pk += got.first;
            by += got.second;
            conns += json_number(json, "conns", rp);
            if (sd.sched == std::string("rr") && r.mac) {
                EXPECT_GT(valid_flow_reals[static_cast<int>(s)][mac(r.mac).str()], 0)
                    << "rr gave real " << r.ip << " none of the valid flows";
            }
        }
        EXPECT_EQ(json_number(json, "inpkts", at), pk) << "service " << key;
        EXPECT_EQ(json_number(json, "inbytes", at), by) << "service " << key;
        EXPECT_EQ(json_number(json, "conns", at), conns) << "service " << key << ": its reals' conns";
        EXPECT_GE(json_number(json, "conns", at), opens[s]) << "service " << key << ": connections opened";
    }
}

void print_tally(const std::vector<Case>& cases) {
    std::map<std::string, std::map<std::string, size_t>> t;
    for (const Case& c : cases) t[c.category][c.want]++;
    std::map<std::string, size_t> by_want;
    std::printf("%-44s %6s  outcomes\n", "category", "frames");
    for (const auto& [cat, wants] : t) {
        size_t n = 0;
        std::string o;
        for (const auto& [w, k] : wants) {
            n += k;
            o += " " + w + "=" + std::to_string(k);
            by_want[w] += k;
        }
        std::printf("%-44s %6zu %s\n", cat.c_str(), n, o.c_str());
    }
    std::printf("total %zu frames:", cases.size());
    for (const auto& [w, k] : by_want) std::printf(" %s=%zu", w.c_str(), k);
    std::printf("\n");
}

// One run of dplbd over `frames` with `svcs`: waits until it has processed them all, scrapes
// /metrics, stops it with SIGTERM. Fatal failures when it crashes, hangs or does not exit 0.
struct RunResult {
    std::vector<Bytes> out;
    std::string json, metrics;
    long long process_ms = 0, stop_ms = 0;
};

void run_dplbd(const std::vector<Bytes>& frames, const std::vector<ServiceDef>& svcs, RunResult& r) {
    TempDir dir;
    DplbdRunner dplbd(dir.path);
    uint16_t metrics_port = 0;
    std::string why;
    bool done = false;
    auto t0 = Clock::now();
    // The metrics port is found free just before dplbd binds it; should another process take it in
    // between, dplbd exits at start ("metrics: cannot listen"): then again on another port.
    for (int attempt = 0; attempt < 3; attempt++) {
        metrics_port = free_local_port();
        ASSERT_NE(metrics_port, 0);
        t0 = Clock::now();
        ASSERT_TRUE(dplbd.start(frames, config_yaml(svcs, metrics_port)));
        done = wait_until_processed(dplbd, frames.size(), std::chrono::seconds(60), why);
        if (done || dplbd.running() || dplbd.log().find("metrics: cannot listen") == std::string::npos) break;
    }
    r.metrics = done ? http_get(metrics_port, "/metrics") : "";
    auto t1 = Clock::now();
    bool was_running = dplbd.running();
    bool stopped = dplbd.stop(std::chrono::seconds(30));
    auto t2 = Clock::now();
    std::string log = dplbd.log();
    ASSERT_TRUE(done) << why << (was_running && !stopped ? "; nor did it exit within 30 s of SIGTERM (killed)" : "")
                      << "\n"
                      << log;
    ASSERT_TRUE(was_running) << "dplbd ended before SIGTERM (" << dplbd.describe_exit() << "):\n" << log;
    ASSERT_TRUE(stopped) << "dplbd did not exit within 30 s of SIGTERM (killed):\n" << log;
    ASSERT_TRUE(dplbd.exited_cleanly()) << "dplbd " << dplbd.describe_exit() << " after SIGTERM:\n" << log;
    ASSERT_NE(r.metrics.find("dplb_dataplane_packets_total"), std::string::npos) << "no metrics: " << r.metrics;
    // Built with -Db_sanitize=address,undefined: UBSan reports and goes on.
    EXPECT_EQ(log.find("runtime error:"), std::string::npos) << log;
    EXPECT_EQ(log.find("Sanitizer"), std::string::npos) << log;
    r.out = dplbd.output();
    r.json = dplbd.stats_json();
    auto ms = [](Clock::time_point a, Clock::time_point b) {
        return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
    };
    r.process_ms = ms(t0, t1);
    r.stop_ms = ms(t1, t2);
}

TEST(DplbdHostile, SurvivesCountsAndRewritesAHostilePcap) {
    auto t0 = Clock::now();
    std::vector<Case> cases = Traffic(0x686f7374696c65).build();  // "hostile"
    std::vector<Bytes> frames;
    for (const Case& c : cases) frames.push_back(c.frame);
    ASSERT_GE(frames.size(), 3000u);
    print_tally(cases);
    auto t1 = Clock::now();
    RunResult r;
    run_dplbd(frames, services(), r);
    if (HasFatalFailure()) return;
    auto t2 = Clock::now();
    check_run(cases, r.out, r.json, r.metrics);
    std::vector<std::string> missing;
    std::printf("dplbd counted:");
    for (const auto& [k, v] : outcome_counters(r.json, missing))
        if (v) std::printf(" %s=%llu", k.c_str(), static_cast<unsigned long long>(v));
    std::printf("\n");
    auto ms = [](Clock::time_point a, Clock::time_point b) {
        return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
    };
    std::printf(
        "%zu frames in, %zu out; pcap built in %lld ms, dplbd start to all processed %lld ms, SIGTERM to "
        "exit %lld ms, checks %lld ms\n",
        frames.size(), r.out.size(), ms(t0, t1), r.process_ms, r.stop_ms, ms(t2, Clock::now()));
}

// The real's MAC each of `frames` went out to, in order, for a run whose every output frame is a
// forwarded copy of its input; an input not sent gets a zero MAC.
std::vector<MacAddr> reals_of(const std::vector<Bytes>& frames, const std::vector<Bytes>& out) {
    std::vector<MacAddr> to(frames.size());
    size_t k = 0;
    for (const Bytes& o : out) {
        while (k < frames.size() && explains(frames[k], o) != Match::forwarded) k++;
        if (k == frames.size()) {
            ADD_FAILURE() << "an output frame is no forwarded copy of an input frame";
            break;
        }
        std::copy(o.begin(), o.begin() + 6, to[k++].b.begin());
    }
    return to;
}

// A datagram whose fragmentable part starts with a destination options header (RFC 8200 §4.5: then
// every fragment's fragment header names 60, not the transport protocol): its first fragment walks
// the options to the TCP header and goes to a real, and the later fragments must follow it there
// (they once went to the kernel, and the fragment table's key held a protocol they cannot show).
TEST(DplbdHostile, LaterFragmentsFollowAFirstWithOptionsAfterTheFragmentHeader) {
    const std::vector<ServiceDef> svcs = {services()[kTcp6]};
    std::vector<Bytes> frames;
    for (uint16_t sp : {31001, 31002}) {
        Bytes body = ext(6, 0);
        Bytes l4 = l4_bytes(tcp(kToPort, "2001:db8:e::21", kVip6, sp, 80, kTcpSyn, 200));
        body.insert(body.end(), l4.begin(), l4.end());
        Bytes w = ipv6(kToPort, "2001:db8:e::21", kVip6, 60, body);
        frames.push_back(frag6(w, 0, 72, true, sp));
        frames.push_back(frag6(w, 72, 228, false, sp));
    }
    RunResult r;
    run_dplbd(frames, svcs, r);
    if (HasFatalFailure()) return;
    std::vector<MacAddr> to = reals_of(frames, r.out);
    for (size_t i = 0; i < frames.size(); i += 2) {
        EXPECT_FALSE(to[i].is_zero()) << "first fragment " << i << " not forwarded";
        EXPECT_EQ(to[i + 1], to[i]) << "later fragment " << i + 1 << " did not follow its first:\n" << r.json;
    }
}

// forwarded_stateless, icmp_error_forwarded and fragment_forwarded are parts of `forwarded`
// (dataplane/counters.h: "of those"): a frame forward() drops because its real has no MAC yet
// (no_dest_mac) must not be counted in them (it once was). Here an mh service has one real without a
// MAC (its neighbour is never resolved): ACKs without an entry and ICMP errors about flows nobody
// has, from many clients, spread over both reals by Maglev (which hashes the client's address).
TEST(DplbdHostile, SubCountsOfForwardedCountOnlyForwardedFrames) {
    const std::vector<ServiceDef> svcs = {
        {"10.10.0.102", 80, kProtoTcp, "mh", {{"198.18.0.17", "02:00:00:00:00:17"}, {"198.18.0.18", nullptr}}}};
    std::vector<Bytes> frames;
    size_t n_ack = 64, n_icmp = 32;
    for (size_t i = 0; i < n_ack; i++)
        frames.push_back(
            tcp(kToPort, ("203.0.113." + std::to_string(i + 1)).c_str(), "10.10.0.102", static_cast<uint16_t>(32000 + i), 80,
                kTcpAck, 10));
    for (size_t i = 0; i < n_icmp; i++) {
        Bytes q = ip_of(tcp(L2{}, "10.10.0.102", ("203.0.113." + std::to_string(100 + i)).c_str(), 80,
                            static_cast<uint16_t>(33000 + i), kTcpAck));
        frames.push_back(icmp_error(kToPort, kRouter4, "10.10.0.102", 3, 4, 1400, q));
    }
    RunResult r;
    run_dplbd(frames, svcs, r);
    if (HasFatalFailure()) return;
    std::vector<MacAddr> to = reals_of(frames, r.out);
    size_t fwd_icmp = 0;
    for (size_t i = n_ack; i < frames.size(); i++) fwd_icmp += !to[i].is_zero();
    ASSERT_GT(r.out.size(), 0u) << "Maglev sent nothing to the real with a MAC";
    ASSERT_LT(r.out.size(), frames.size()) << "Maglev sent nothing to the real without one";
    std::vector<std::string> missing;
    auto n = outcome_counters(r.json, missing);
    EXPECT_EQ(n["forwarded"], r.out.size());
    EXPECT_EQ(n["forwarded"] + n[drop_name(Drop::no_dest_mac)], frames.size()) << r.json;
    EXPECT_EQ(n["stateless"], r.out.size()) << "every frame forwarded here went by Maglev without an entry; "
                                               "frames dropped as no_dest_mac are not forwarded:\n"
                                            << r.json;
    EXPECT_EQ(metric(r.metrics, "dplb_dataplane_packets_total{outcome=\"icmp_error_forwarded\"}"),
              static_cast<double>(fwd_icmp))
        << r.metrics;
}

}  // namespace
}  // namespace dplb::test
