// The packet path under libFuzzer: frames through the real Processor (parse_frame, the connection
// tables, schedulers, TTL, ARP/ND answers, fragments, ICMP errors) on an injected clock, with swaps
// between two fixed snapshots as reloads make them, VIP ownership flips and connection listings.
// The input is a program of operations (packet_ops.h). After every burst and every sweep:
// - every frame has a verdict; a frame not sent out is unchanged; a forwarded frame (tx, not an ARP
//   or ND answer) differs from what came in only in its MAC addresses (the destination a real's, the
//   source the port's), its TTL or hop limit (one less, and it was 2 or more) and, for IPv4, the
//   header checksum, which is valid afterwards exactly when it was before (RFC 1624 keeps the sum);
// - the outcome counters add up: rx_packets moves by the burst's size, and each frame is counted
//   once in forwarded, drops (by reason), to_kernel, not_for_us or arp_replies; tx verdicts are
//   forwarded + arp_replies, kernel verdicts to_kernel, drop verdicts drops + not_for_us; per
//   service and per real, inpkts and inbytes move by what was forwarded;
// - per real id, active, inactive and persist equal the ESTABLISHED, other and template entries
//   of the tables, and refs their sum; each table's hash holds exactly its live entries;
// - a listing returns live entries only, of known ids, within the longest timeout.
// At the end the clock jumps past every timeout and one sweep of each table empties it: every
// gauge is back at zero. Frames live in buffers of exactly their first segment's size, so ASan
// catches a read past it.
#include <rte_eal.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane_fixture.h"
#include "fuzz_input.h"
#include "packet_ops.h"

namespace dplb::fuzz {
namespace {

using test::Bytes;

// Every field of two parses alike (the fast path for the common frame against the general parser).
bool same_parse(const Parsed& a, const Parsed& b) {
    return a.kind == b.kind && a.drop == b.drop && a.family == b.family && a.proto == b.proto &&
           a.tcp_flags == b.tcp_flags && a.frag == b.frag &&
           a.dst_mac_broadcast_or_multicast == b.dst_mac_broadcast_or_multicast && a.l3_off == b.l3_off &&
           a.l4_off == b.l4_off && a.sport == b.sport && a.dport == b.dport && a.frag_id == b.frag_id &&
           a.arp_target_be == b.arp_target_be && a.src4_be == b.src4_be && a.dst4_be == b.dst4_be &&
           a.src6 == b.src6 && a.dst6 == b.dst6 && a.nd_target == b.nd_target;
}

constexpr uint32_t kTable4 = 64;  // small, so a fuzz input fills them: eviction and table-full paths
constexpr uint32_t kTable6 = 32;
constexpr uint32_t kStartMs = 4294000000u;  // 16 minutes before the 32-bit clock wraps
constexpr uint32_t kPastEveryTimeoutMs = 100000000;  // ~28 h: longer than any timeout of the snapshots
constexpr unsigned kVipTables = 4;  // none (every VIP owned), as the specs say, all by VRRP, none owned

// The two snapshots a reload alternates between, as snapshot_builder would make the second from
// the first (ids kept, a removed real draining): the golden tests' snapshot (A), and B, where
// - svc0's real 10.0.0.12 (dest1) left (draining, weight 0) and 10.0.0.15 (dest12, new id) came;
// - dest2's id was handed to another real of svc1 (next generation, another MAC);
// - svc6 left (its real, dest8, drains) and its VIP 10.0.0.104 with it;
// - weights changed (dest5 3, dest6 1), dest11's MAC was resolved;
// - schedulers changed (svc0 wlc, svc1 wrr, svc4 lc, svc7 sh) and expire_nodest_conn is on.
struct World {
    Snapshot snap[2];
    VipTable vips[2][kVipTables];
    size_t ndests = 0;        // real ids either snapshot uses
    size_t nsvcs = 0;         // service ids either snapshot uses
    uint32_t max_timeout_ms = 0;
};

Snapshot make_b(const Snapshot& a) {
    Snapshot b = a;
    b.expire_nodest_conn = true;
    auto drain = [&b](uint16_t id) {
        b.dests[id].draining = true;
        b.dests[id].weight = 0;
        for (Service& s : b.services) s.dests.erase(std::remove(s.dests.begin(), s.dests.end(), id), s.dests.end());
    };
    drain(1);
    b.dests[2].gen++;
    b.dests[2].ip = test::ip("10.0.0.14");
    b.dests[2].mac = test::mac("02:00:00:00:00:14");
    b.dests[5].weight = 3;
    b.dests[6].weight = 1;
    b.dests[11].has_mac = true;
    b.dests[11].mac = test::mac("02:00:00:00:00:13");
    Dest d = b.dests[0];
    d.ip = test::ip("10.0.0.15");
    d.mac = test::mac("02:00:00:00:00:15");
    d.weight = 2;
    b.services[0].dests.push_back(static_cast<uint16_t>(b.dests.size()));
    b.dests.push_back(d);
    drain(8);
    b.services.erase(b.services.begin() + 6);  // svc6; ids of the others stay
    for (Service& s : b.services) {
        if (s.id == 0) s.sched = Sched::wlc;
        if (s.id == 1) s.sched = Sched::wrr;
        if (s.id == 4) s.sched = Sched::lc;
        if (s.id == 7) s.sched = Sched::sh;
        build_sched_tables(s, b.dests, 251);
    }
    assign_vip_slots(b);
    return b;
}

World make_world() {
    World w;
    std::vector<test::ServiceSpec> specs = test::golden_specs();
    w.snap[0] = test::make_snapshot(specs);
    w.snap[1] = make_b(w.snap[0]);
    for (int i = 0; i < 2; i++) {
        const Snapshot& s = w.snap[i];
        w.vips[i][1].flags.assign(s.vips.size(), VipTable::kOwned);  // but for the specs' inactive services
        for (const Service& svc : s.services)
            if (!specs[svc.id].active) w.vips[i][1].flags[svc.vip_slot] = 0;
        w.vips[i][2].flags.assign(s.vips.size(), VipTable::kOwned | VipTable::kVrrp);
        w.vips[i][3].flags.assign(s.vips.size(), 0);
        w.ndests = std::max(w.ndests, s.dests.size());
        for (const Service& svc : s.services) {
            w.nsvcs = std::max<size_t>(w.nsvcs, svc.id + 1u);
            for (uint32_t t : svc.timeouts.ms) w.max_timeout_ms = std::max(w.max_timeout_ms, t);
        }
    }
    return w;
}

const World& world() {
    static const World w = make_world();
    return w;
}

uint32_t ones_sum(const uint8_t* p, size_t n) {
    uint32_t acc = 0;
    for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return acc;
}

// What a burst moved, of the counters that must add up.
struct Totals {
    uint64_t rx, forwarded, stateless, icmp, fragments, arp, kernel, not_for_us, drops;
    uint64_t svc_pkts, svc_bytes, dest_pkts, dest_bytes;
};

Totals totals(const CoreCounters& c) {
    Totals t{c.rx_packets, c.forwarded, c.stateless, c.icmp_forwarded, c.fragments, c.arp_replies,
             c.to_kernel,  c.not_for_us, c.drops_total(), 0, 0, 0, 0};
    for (size_t id = 0; id < world().nsvcs; id++) t.svc_pkts += c.svc[id].inpkts, t.svc_bytes += c.svc[id].inbytes;
    for (size_t id = 0; id < world().ndests; id++) t.dest_pkts += c.dest[id].inpkts, t.dest_bytes += c.dest[id].inbytes;
    return t;
}

struct Received {
    std::unique_ptr<uint8_t[]> data;  // exactly `seg` bytes: the first segment
    Bytes in;                         // as it came in
    uint32_t wire;
};

class Harness {
public:
    Harness() {
        ProcessorConfig pc;
        pc.ipv4_entries = kTable4;
        pc.ipv6_entries = kTable6;
        pc.id = 0;  // one Processor at a time: the previous input's tables are freed
        std::string err;
        proc_ = Processor::create(pc, err);
        FUZZ_CHECK(proc_, "Processor::create: %s", err.c_str());
        apply_view();
    }

    void frame(const uint8_t* p, uint16_t seg, uint32_t wire) {  // seg: a u16 of the input
        if (pending_.size() == kMaxBurst) burst();
        Received r;
        r.data = std::make_unique<uint8_t[]>(seg);
        if (seg) std::memcpy(r.data.get(), p, seg);  // p may be null for an empty frame
        r.in.assign(p, p + seg);
        r.wire = wire;
        last_ = r.in;
        last_wire_ = wire;
        pending_.push_back(std::move(r));
    }

    void resend(uint16_t offset, uint8_t x) {
        Bytes f = last_;
        if (!f.empty()) f[offset % f.size()] ^= x;
        frame(f.data(), static_cast<uint16_t>(f.size()), last_wire_);
    }

    void burst() {
        const World& w = world();
        const uint16_t n = static_cast<uint16_t>(pending_.size());
        Frame frames[kMaxBurst];
        Verdict verdicts[kMaxBurst];
        for (uint16_t i = 0; i < n; i++) {
            frames[i] = Frame{pending_[i].data.get(), static_cast<uint32_t>(pending_[i].in.size()), pending_[i].wire};
            verdicts[i] = static_cast<Verdict>(0xff);
        }
        Totals before = totals(proc_->counters());
        proc_->process(frames, n, verdicts, now_, test::kLbMac);
        Totals after = totals(proc_->counters());

        uint64_t tx = 0, kernel = 0, dropped = 0, forwarded_bytes = 0;
        for (uint16_t i = 0; i < n; i++) {
            const Received& r = pending_[i];
            const uint8_t* out = r.data.get();
            const size_t seg = r.in.size();
            switch (verdicts[i]) {
            case Verdict::tx: tx++; break;
            case Verdict::kernel: kernel++; break;
            case Verdict::drop: dropped++; break;
            default: FUZZ_CHECK(false, "frame %u of %u has no verdict", i, n);
            }
            Parsed p = parse_frame(r.in.data(), static_cast<uint32_t>(seg), r.wire);
            FUZZ_CHECK(same_parse(p, parse_frame_general(r.in.data(), static_cast<uint32_t>(seg), r.wire)),
                       "frame %u: the parser's fast path and its general path disagree", i);
            if (verdicts[i] != Verdict::tx) {
                FUZZ_CHECK(std::equal(r.in.begin(), r.in.end(), out), "frame %u: not sent out, yet changed", i);
                continue;
            }
            if (p.kind == Kind::arp_request || p.kind == Kind::nd_solicit) {
                FUZZ_CHECK(std::memcmp(out + 6, test::kLbMac.b.data(), 6) == 0,
                           "frame %u: answer not from the port MAC", i);
                continue;
            }
            check_forwarded(i, r, p, w.snap[cur_]);
            forwarded_bytes += r.wire;
        }

        auto d = [&](uint64_t Totals::*f) { return after.*f - before.*f; };
        FUZZ_CHECK(d(&Totals::rx) == n, "rx_packets moved by %llu for a burst of %u", ull(d(&Totals::rx)), n);
        FUZZ_CHECK(d(&Totals::forwarded) + d(&Totals::drops) + d(&Totals::kernel) + d(&Totals::not_for_us) +
                           d(&Totals::arp) == n,
                   "a burst of %u: forwarded %llu + drops %llu + to_kernel %llu + not_for_us %llu + arp_replies %llu",
                   n, ull(d(&Totals::forwarded)), ull(d(&Totals::drops)), ull(d(&Totals::kernel)),
                   ull(d(&Totals::not_for_us)), ull(d(&Totals::arp)));
        FUZZ_CHECK(tx == d(&Totals::forwarded) + d(&Totals::arp), "%llu tx verdicts, forwarded %llu + arp_replies %llu",
                   ull(tx), ull(d(&Totals::forwarded)), ull(d(&Totals::arp)));
        FUZZ_CHECK(kernel == d(&Totals::kernel), "%llu kernel verdicts, to_kernel %llu", ull(kernel),
                   ull(d(&Totals::kernel)));
        FUZZ_CHECK(dropped == d(&Totals::drops) + d(&Totals::not_for_us),
                   "%llu drop verdicts, drops %llu + not_for_us %llu", ull(dropped), ull(d(&Totals::drops)),
                   ull(d(&Totals::not_for_us)));
        FUZZ_CHECK(d(&Totals::stateless) + d(&Totals::fragments) <= d(&Totals::forwarded) &&
                       d(&Totals::icmp) + d(&Totals::fragments) <= d(&Totals::forwarded),
                   "stateless %llu, icmp_forwarded %llu, fragments %llu: more than forwarded %llu",
                   ull(d(&Totals::stateless)), ull(d(&Totals::icmp)), ull(d(&Totals::fragments)),
                   ull(d(&Totals::forwarded)));
        FUZZ_CHECK(d(&Totals::svc_pkts) == d(&Totals::forwarded) && d(&Totals::dest_pkts) == d(&Totals::forwarded),
                   "forwarded %llu, services' inpkts %llu, reals' %llu", ull(d(&Totals::forwarded)),
                   ull(d(&Totals::svc_pkts)), ull(d(&Totals::dest_pkts)));
        FUZZ_CHECK(d(&Totals::svc_bytes) == forwarded_bytes && d(&Totals::dest_bytes) == forwarded_bytes,
                   "forwarded %llu bytes, services' inbytes %llu, reals' %llu", ull(forwarded_bytes),
                   ull(d(&Totals::svc_bytes)), ull(d(&Totals::dest_bytes)));
        pending_.clear();
        check_gauges();
    }

    // `step` as packet_ops.h says; 0: one bounded expire() instead of the paced sweep.
    void time(uint16_t step) {
        burst();
        if (step == 0) {
            proc_->expire(now_, 64);
        } else {
            now_ += static_cast<uint32_t>(step & 0x3fff) << (4 * (step >> 14));
            proc_->expire_paced(now_);
        }
        check_gauges();
    }

    void swap() {
        burst();
        cur_ ^= 1;
        apply_view();
    }

    void own(uint8_t bits) {
        burst();
        vip_table_ = bits & 3;
        proc_->set_stalled(bits & 4);
        apply_view();
        if (bits & 8) list(1 + (bits >> 4) * 8u);
    }

    // The end of the input: past every timeout, one sweep of each table leaves nothing.
    void finish() {
        burst();
        now_ += kPastEveryTimeoutMs;
        proc_->expire(now_, std::max(kTable4, kTable6));
        FUZZ_CHECK(proc_->table4().size() == 0 && proc_->table6().size() == 0,
                   "%u + %u entries left after every timeout passed", proc_->table4().size(), proc_->table6().size());
        const CoreCounters& c = proc_->counters();
        for (size_t id = 0; id < world().ndests; id++) {
            const DestCounters& dc = c.dest[id];
            FUZZ_CHECK(dc.active == 0 && dc.inactive == 0 && dc.persist == 0 && dc.refs == 0,
                       "dest%zu after full expiry: active %u inactive %u persist %u refs %u", id, dc.active,
                       dc.inactive, dc.persist, dc.refs);
        }
    }

private:
    static unsigned long long ull(uint64_t v) { return v; }

    void apply_view() {
        const World& w = world();
        proc_->set_snapshot(&w.snap[cur_], vip_table_ ? &w.vips[cur_][vip_table_] : nullptr);
    }

    void check_forwarded(unsigned i, const Received& r, const Parsed& p, const Snapshot& snap) {
        const uint8_t* in = r.in.data();
        const uint8_t* out = r.data.get();
        const size_t seg = r.in.size();
        FUZZ_CHECK(p.kind == Kind::l4 || p.kind == Kind::fragment || p.kind == Kind::icmp_error,
                   "frame %u: forwarded, but it parses as kind %d", i, static_cast<int>(p.kind));
        bool to_real = false;
        for (const Dest& d : snap.dests) to_real |= d.has_mac && std::memcmp(out, d.mac.b.data(), 6) == 0;
        FUZZ_CHECK(to_real, "frame %u: forwarded to a MAC no real of the snapshot has", i);
        FUZZ_CHECK(std::memcmp(out + 6, test::kLbMac.b.data(), 6) == 0, "frame %u: forwarded, source not the port MAC",
                   i);
        const size_t l3 = p.l3_off;
        const size_t hop = l3 + (p.family == 4 ? 8 : 7);
        FUZZ_CHECK(hop < seg, "frame %u: forwarded with its hop field at %zu of %zu bytes", i, hop, seg);
        FUZZ_CHECK(in[hop] >= 2 && out[hop] == in[hop] - 1, "frame %u: TTL/hop limit %u -> %u", i, in[hop], out[hop]);
        for (size_t k = 12; k < seg; k++) {
            if (k == hop || (p.family == 4 && (k == l3 + 10 || k == l3 + 11))) continue;
            FUZZ_CHECK(in[k] == out[k], "frame %u: byte %zu changed (%02x -> %02x) by a forward", i, k, in[k], out[k]);
        }
        if (p.family == 4) {
            size_t ihl = (in[l3] & 0xfu) * 4u;
            bool valid_in = ones_sum(in + l3, ihl) == 0xffff, valid_out = ones_sum(out + l3, ihl) == 0xffff;
            FUZZ_CHECK(valid_in == valid_out, "frame %u: IPv4 header checksum %s before the TTL update, %s after", i,
                       valid_in ? "valid" : "invalid", valid_out ? "valid" : "invalid");
        }
    }

    // Gauges against the tables themselves.
    void check_gauges() {
        const World& w = world();
        std::vector<uint32_t> active(w.ndests), inactive(w.ndests), persist(w.ndests);
        auto count = [&](const ConnTable& t, const char* name) {
            uint32_t live = 0;
            t.for_each([&](int32_t, const ConnEntry& e) {
                FUZZ_CHECK(e.dest < w.ndests, "%s entry names dest id %u, which no snapshot has", name, e.dest);
                live++;
                if (e.state == kTemplateState) persist[e.dest]++;
                else if (state_is_active(e.state)) active[e.dest]++;
                else inactive[e.dest]++;
            });
            FUZZ_CHECK(live == t.size(), "%s: %u entries in the array, %u keys in the hash", name, live, t.size());
        };
        count(proc_->table4(), "IPv4");
        count(proc_->table6(), "IPv6");
        const CoreCounters& c = proc_->counters();
        for (size_t id = 0; id < w.ndests; id++) {
            const DestCounters& dc = c.dest[id];
            FUZZ_CHECK(dc.active == active[id] && dc.inactive == inactive[id] && dc.persist == persist[id] &&
                           dc.refs == active[id] + inactive[id] + persist[id],
                       "dest%zu: counters active %u inactive %u persist %u refs %u; the tables hold %u, %u, %u", id,
                       dc.active, dc.inactive, dc.persist, dc.refs, active[id], inactive[id], persist[id]);
        }
    }

    // A connection listing as the control thread asks for one, served by expire() as the worker does.
    void list(size_t most) {
        const World& w = world();
        DumpRequest req;
        req.out.reserve(most);
        proc_->request_dump(&req);
        for (int pass = 0; pass < 4 && !req.done.load(); pass++) proc_->expire(now_, 0);
        FUZZ_CHECK(req.done.load(), "a listing of %zu tables' slots not served in 4 passes", size_t{kTable4 + kTable6});
        FUZZ_CHECK(req.out.size() <= most, "a listing of at most %zu returned %zu", most, req.out.size());
        // Every entry is listed until the sweep removes it (one past its time expiring in 0 s), so
        // a whole listing counts per real what ActiveConn / InActConn / PersistConn count.
        size_t entries = proc_->table4().size() + proc_->table6().size();
        FUZZ_CHECK(req.out.size() == std::min(most, entries), "a listing of at most %zu returned %zu of %zu entries",
                   most, req.out.size(), entries);
        std::vector<uint32_t> active(w.ndests), inactive(w.ndests), persist(w.ndests);
        for (const ConnInfo& ci : req.out) {
            FUZZ_CHECK(ci.dest < w.ndests && ci.state != kFreeEntry, "listed: dest %u state %u", ci.dest, ci.state);
            FUZZ_CHECK(ci.expires_in_ms <= w.max_timeout_ms, "listed: expires in %u ms, longest timeout %u ms",
                       ci.expires_in_ms, w.max_timeout_ms);
            if (ci.dest >= w.ndests) continue;
            if (ci.state == kTemplateState) persist[ci.dest]++;
            else if (state_is_active(ci.state)) active[ci.dest]++;
            else inactive[ci.dest]++;
        }
        if (req.out.size() < entries) return;
        const CoreCounters& c = proc_->counters();
        for (size_t id = 0; id < w.ndests; id++)
            FUZZ_CHECK(c.dest[id].active == active[id] && c.dest[id].inactive == inactive[id] &&
                           c.dest[id].persist == persist[id],
                       "dest%zu: counters active %u inactive %u persist %u; the listing shows %u, %u, %u", id,
                       c.dest[id].active, c.dest[id].inactive, c.dest[id].persist, active[id], inactive[id], persist[id]);
    }

    std::unique_ptr<Processor> proc_;
    std::vector<Received> pending_;
    Bytes last_;
    uint32_t last_wire_ = 0;
    uint32_t now_ = kStartMs;
    int cur_ = 0;
    unsigned vip_table_ = 0;
};

// EAL (rte_hash, rte_malloc) as tests/eal_main.cc starts it; the CPU affinity EAL gives the main
// thread (lcore 0) is put back, so fuzzers and replay tests run side by side on other CPUs.
void start_eal() {
    cpu_set_t cpus;
    bool had = sched_getaffinity(0, sizeof cpus, &cpus) == 0;
    const char* eal[] = {"fuzz_packet", "--no-huge", "--no-pci", "--no-shconf", "-m", "128",
                         "-l", "0", "--log-level", "lib.eal:error", "--no-telemetry"};
    int n = static_cast<int>(sizeof eal / sizeof eal[0]);
    FUZZ_CHECK(rte_eal_init(n, const_cast<char**>(eal)) >= 0, "EAL initialisation failed");
    if (had) sched_setaffinity(0, sizeof cpus, &cpus);
}

}  // namespace
}  // namespace dplb::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    dplb::fuzz::start_eal();
    dplb::fuzz::world();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dplb::fuzz;
    Reader in(data, size);
    Harness h;
    while (!in.empty()) {
        uint8_t op = in.u8();
        switch (op & 7) {
        case kOpResend: {
            uint16_t off = in.u16();
            h.resend(off, in.u8());
            break;
        }
        case kOpBurst: h.burst(); break;
        case kOpTime: h.time(in.u16()); break;
        case kOpSwap: h.swap(); break;
        case kOpOwn: h.own(in.u8()); break;
        default: {  // kOpFrame, 6, 7
            uint8_t flags = in.u8();
            size_t len = in.u16(), got;
            const uint8_t* p = in.bytes(len, got);
            uint32_t wire = static_cast<uint32_t>(got) + ((flags & 1) ? in.u16() : 0u);
            h.frame(p, static_cast<uint16_t>(got), wire);
            break;
        }
        }
    }
    h.finish();
    return 0;
}
