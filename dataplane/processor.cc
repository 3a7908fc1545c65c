#include "processor.h"

#include <rte_errno.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "flow_hash.h"

namespace dplb {

std::unique_ptr<Processor> Processor::create(const ProcessorConfig& cfg, std::string& err) {
    std::unique_ptr<Processor> p(new Processor());
    p->workers_ = cfg.workers ? cfg.workers : 1;
    p->counters_ = std::make_unique<CoreCounters>();
    p->lblc_.count_full_in(&p->counters_->lblc_full);
    char name[32];
    std::snprintf(name, sizeof name, "conn4_%u", cfg.id);
    if (!p->t4_.init(name, cfg.ipv4_entries, sizeof(ConnKey4), cfg.socket)) {
        err = std::string("cannot make the IPv4 connection table (") + std::to_string(cfg.ipv4_entries) +
              " entries): " + rte_strerror(rte_errno);
        return nullptr;
    }
    std::snprintf(name, sizeof name, "conn6_%u", cfg.id);
    if (!p->t6_.init(name, cfg.ipv6_entries, sizeof(ConnKey6), cfg.socket)) {
        err = std::string("cannot make the IPv6 connection table (") + std::to_string(cfg.ipv6_entries) +
              " entries): " + rte_strerror(rte_errno);
        return nullptr;
    }
    return p;
}

namespace {

inline bool is_tcp(const Parsed& p) { return p.proto == kProtoTcp; }

// Two 8-byte stores, the padding zero (the hash reads it). Little-endian layout of ConnKey4.
inline void make_key4(ConnKey4& k, const Parsed& p) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ConnKey4 written as two little-endian words");
    const uint64_t lo = uint64_t{p.dst4_be} << 32 | p.src4_be;
    const uint64_t hi = uint64_t{p.proto} << 32 | uint32_t{p.dport} << 16 | p.sport;
    std::memcpy(reinterpret_cast<uint8_t*>(&k), &lo, 8);
    std::memcpy(reinterpret_cast<uint8_t*>(&k) + 8, &hi, 8);
}

inline void make_key6(ConnKey6& k, const Parsed& p) {
    k = ConnKey6{};
    std::memcpy(k.src, p.src6, 16);
    std::memcpy(k.dst, p.dst6, 16);
    k.sport = p.sport;
    k.dport = p.dport;
    k.proto = p.proto;
}

inline uint64_t flow_hash(const Parsed& p) {
    return p.family == 4 ? flow_hash4(p.src4_be, p.dst4_be, p.sport, p.dport, p.proto)
                         : flow_hash6(p.src6, p.dst6, p.sport, p.dport, p.proto);
}

// The client's address, and its port too with the service's port flag (sh-port, mh-port).
inline uint64_t source_key(const Parsed& p, bool with_port) {
    if (p.family == 4) return with_port ? src_port_hash4(p.src4_be, p.sport) : src_hash4(p.src4_be);
    return with_port ? src_port_hash6(p.src6, p.sport) : src_hash6(p.src6);
}

// What a service's Maglev table is indexed by. An mh service hashes as IPVS's mh does: the source
// address, and the source port with mh-port. The table of any other service forwards only flows
// that found the connection table full (their SYN and their later packets alike): by the whole flow.
// Scheduling a new flow and forwarding one without an entry both use this key, so they agree.
inline uint64_t mh_key(const Service& svc, const Parsed& p) {
    if (svc.sched == Sched::mh) return source_key(p, svc.sched_flags & kSchedFlagPort);
    return flow_hash(p);
}

// The key of the hashing schedulers (sched_pick): sh the source (sh-port: and its port), dh the
// destination address, mh its Maglev key (`mk`, already computed); the others use none.
inline uint64_t sched_key(const Service& svc, const Parsed& p, uint64_t mk) {
    switch (svc.sched) {
    case Sched::sh: return source_key(p, svc.sched_flags & kSchedFlagPort);
    case Sched::dh:
    case Sched::lblc:
    case Sched::lblcr: return p.family == 4 ? src_hash4(p.dst4_be) : src_hash6(p.dst6);
    case Sched::mh: return mk;
    default: return 0;
    }
}

// persistence_granularity: the client address with only its first `len` bits kept (1..128; 0 keeps
// it whole), so a whole client network shares one template, as IPVS's netmask does.
inline void mask_prefix(uint8_t* a, unsigned bytes, uint8_t len) {
    if (len == 0) return;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned keep = len > i * 8 ? len - i * 8 : 0;
        if (keep < 8) a[i] &= static_cast<uint8_t>(0xff00u >> keep);
    }
}

// A MAC's 6 bytes as the low bytes of a word, to compare with a frame's destination in two loads.
inline uint64_t mac_word(const uint8_t* p) {
    uint32_t a;
    uint16_t b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + 4, 2);
    return uint64_t{b} << 32 | a;
}

// The TTL (IPv4) or hop limit (IPv6) of a parsed IP frame.
inline uint8_t hops_left(const uint8_t* frame, const Parsed& p) { return frame[p.l3_off + (p.family == 4 ? 8 : 7)]; }

// TTL - 1 with the header checksum updated in place, RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), where m
// is the 16-bit word of TTL and protocol; m' = m - 0x0100, so ~m + m' = 0xfeff (ones' complement).
inline void ipv4_decrement_ttl(uint8_t* ip) {
    uint32_t sum = (~static_cast<uint32_t>(ip[10] << 8 | ip[11]) & 0xffff) + 0xfeff;
    sum = (sum & 0xffff) + (sum >> 16);
    uint16_t hc = static_cast<uint16_t>(~sum);
    ip[8]--;
    ip[10] = static_cast<uint8_t>(hc >> 8);
    ip[11] = static_cast<uint8_t>(hc);
}

}  // namespace

void Processor::process(Frame* frames, uint16_t n, Verdict* verdicts, uint32_t now_ms, const MacAddr& port_mac) {
    Parsed parsed[kMaxBurst];
    const Service* svcs[kMaxBurst];
    ConnKey4 k4[kMaxBurst];
    ConnKey6 k6[kMaxBurst];
    const void* k4p[kMaxBurst];
    const void* k6p[kMaxBurst];
    uint16_t i4[kMaxBurst], i6[kMaxBurst];
    int32_t pos[kMaxBurst];
    unsigned n4 = 0, n6 = 0;
    const Snapshot& snap = *snap_;
    CoreCounters& c = *counters_;
    if (n > kMaxBurst) n = kMaxBurst;
    c.rx_packets += n;
    now_ms_ = now_ms;
    uint64_t later = 0;  // bit i: frame i is a later fragment of a VIP's datagram, for pass 2
    dests_ = snap.dests.data();
    ndests_ = static_cast<uint32_t>(snap.dests.size());
    moved_frames_ = false;
    // A burst goes mostly to a few services: the last IPv4 (VIP, port, protocol) looked up, its
    // service (or none) and its VIP's ownership are kept for the frames after it (ownership and
    // snapshot do not change within a burst). Protocol 0 is no frame's here (TCP or UDP only).
    const uint64_t our_mac = mac_word(port_mac.b.data());
    uint32_t memo_dst = 0;
    uint16_t memo_port = 0;
    uint8_t memo_proto = 0;
    const Service* memo_svc = nullptr;
    Drop memo_why = Drop::count;

    // Pass 1: classify every frame; gather the connection keys to look up in bulk.
    for (uint16_t i = 0; i < n; i++) {
        Frame& f = frames[i];
        Parsed& p = parsed[i];
        if (!parse_common(p, f.data, f.len, f.wire_len)) p = parse_frame_general(f.data, f.len, f.wire_len);
        svcs[i] = nullptr;
        if (p.kind == Kind::drop) {
            verdicts[i] = drop(p.drop);
            continue;
        }
        if (!p.dst_mac_broadcast_or_multicast && mac_word(f.data) != our_mac) {
            c.not_for_us++;  // a promiscuous port sees other hosts' unicast
            verdicts[i] = Verdict::drop;
            continue;
        }
        switch (p.kind) {
        case Kind::arp_request: verdicts[i] = answer_arp(f, p, port_mac); continue;
        case Kind::nd_solicit: verdicts[i] = answer_nd(f, p, port_mac); continue;
        case Kind::fragment: {
            int slot = p.family == 4 ? snap.vip_slot4(p.dst4_be) : snap.vip_slot6(p.dst6);
            if (slot < 0 || p.dst_mac_broadcast_or_multicast) verdicts[i] = to_kernel();
            else if (Drop why = vip_withheld(static_cast<uint16_t>(slot)); why != Drop::count) verdicts[i] = drop(why);
            else if (hops_left(f.data, p) <= 1) verdicts[i] = drop(Drop::ttl_exceeded);
            else later |= uint64_t{1} << i;  // after any first fragment before it in this burst
            continue;
        }
        case Kind::icmp_error: verdicts[i] = icmp_error(f, p, now_ms, port_mac); continue;
        case Kind::l4: break;
        default: verdicts[i] = to_kernel(); continue;
        }
        const Service* svc;
        Drop why;
        if (p.family == 4) {
            if (p.dst4_be != memo_dst || p.dport != memo_port || p.proto != memo_proto) {
                memo_dst = p.dst4_be;
                memo_port = p.dport;
                memo_proto = p.proto;
                memo_svc = snap.find_service4(p.dst4_be, p.dport, p.proto);
                memo_why = memo_svc ? vip_withheld(memo_svc->vip_slot) : Drop::count;
            }
            svc = memo_svc;
            why = memo_why;
        } else {
            svc = snap.find_service6(p.dst6, p.dport, p.proto);
            why = svc ? vip_withheld(svc->vip_slot) : Drop::count;
        }
        if (!svc || p.dst_mac_broadcast_or_multicast) {
            verdicts[i] = to_kernel();
            continue;
        }
        if (why != Drop::count) {
            verdicts[i] = drop(why);
            continue;
        }
        if (hops_left(f.data, p) <= 1) {  // would leave with 0: a router drops it (no entry made)
            verdicts[i] = drop(Drop::ttl_exceeded);
            continue;
        }
        svcs[i] = svc;
        if (p.family == 4) {
            make_key4(k4[n4], p);
            k4p[n4] = &k4[n4];
            i4[n4++] = i;
        } else {
            make_key6(k6[n6], p);
            k6p[n6] = &k6[n6];
            i6[n6++] = i;
        }
    }

    // Pass 2: bulk lookups, then each flow in arrival order.
    int32_t bulk4[kMaxBurst], bulk6[kMaxBurst];
    if (n4) t4_.lookup_bulk(k4p, n4, bulk4);
    if (n6) t6_.lookup_bulk(k6p, n6, bulk6);
    removed_in_burst_ = false;
    added_in_burst_ = 0;
    // The bulk lookup saw the table as it was before this burst: an earlier packet may have added
    // this flow (a miss is stale) or removed an entry whose position an add then reused.
    auto flow = [&](uint16_t i, ConnTable& table, const void* key, int32_t p) __attribute__((always_inline)) {
        if (removed_in_burst_ || p < 0) p = recheck(table, key, p);
        verdicts[i] = handle_l4(frames[i], parsed[i], *svcs[i], table, key, p, now_ms, port_mac);
    };
    // No prefetch of the entries: each is in its key's slot, which the lookup's key compare read.
    if (n4 == n) {  // the usual burst: every frame an IPv4 flow of a service, so frame j is key j
        for (uint16_t i = 0; i < n; i++) flow(i, t4_, k4p[i], bulk4[i]);
        return;
    }
    const void* keyp[kMaxBurst];
    for (unsigned j = 0; j < n4; j++) pos[i4[j]] = bulk4[j], keyp[i4[j]] = k4p[j];
    for (unsigned j = 0; j < n6; j++) pos[i6[j]] = bulk6[j], keyp[i6[j]] = k6p[j];
    for (uint16_t i = 0; i < n; i++) {
        if (later >> i & 1) verdicts[i] = later_fragment(frames[i], parsed[i], port_mac);
        if (svcs[i]) flow(i, parsed[i].family == 4 ? t4_ : t6_, keyp[i], pos[i]);
    }
}

// A miss is stale only if an earlier add in this burst had the same key, so the same hash: the adds'
// hashes are marked in added_in_burst_ (64 bits, no false negatives), and a miss looks again only on
// a marked bit (a SYN flood's misses used to look again after the burst's first add, ~130
// instructions each). Only a miss computes its key's hash, which its add then uses. Out of line, so
// that a hit's path stays as short as it was.
int32_t Processor::recheck(ConnTable& table, const void* key, int32_t pos) {
    if (removed_in_burst_) pos = table.lookup(key);
    if (pos < 0) {
        miss_sig_ = table.hash(key);
        if (!removed_in_burst_ && (added_in_burst_ >> (miss_sig_ & 63) & 1)) pos = table.lookup(key, miss_sig_);
    }
    return pos;
}

// The packet path's common case, inline in the burst loop: a live entry of this service's real, on
// which the packet goes on (hit); anything else is a miss, out of line.
inline Verdict Processor::handle_l4(Frame& f, const Parsed& p, const Service& svc, ConnTable& table,
                                    const void* key, int32_t pos, uint32_t now_ms, const MacAddr& port_mac) {
    if (pos >= 0) {
        ConnEntry& e = table.at(pos);
        if (!time_reached(now_ms, e.expire_ms) && entry_matches(e, svc) && !cut_nodest(e) &&
            !(is_tcp(p) && reuse_port(p, e, svc)))
            return hit(f, p, svc, e, now_ms, port_mac);
    }
    return miss(f, p, svc, table, key, pos, now_ms, port_mac);
}

Verdict Processor::miss(Frame& f, const Parsed& p, const Service& svc, ConnTable& table, const void* key,
                        int32_t pos, uint32_t now_ms, const MacAddr& port_mac) {
    if (pos >= 0) {  // expired, its real gone, or a new connection on the port
        ConnEntry& e = table.at(pos);
        // A live entry whose real id now names another real: never forward by it.
        if (!time_reached(now_ms, e.expire_ms) && !entry_matches(e, svc)) counters_->stale++;
        expire_at(table, pos);
        miss_sig_ = table.hash(key);  // the lookup hit: its hash was not computed for an add
    }
    // ops: no entry is ever made, so this is every datagram (an entry made before a reload turned
    // ops on serves its flow until it expires). Checked on the miss path only: hits pay nothing.
    if (svc.ops) return one_packet(f, p, svc, now_ms, port_mac);
    // A peer's flow (a SYN opens a connection of its own): adopted with the real the peer chose.
    if (synced_ && !(is_tcp(p) && (p.tcp_flags & (kTcpSyn | kTcpRst)) == kTcpSyn)) {
        if (int32_t a = adopt(p, svc, table, key, now_ms); a >= 0) return hit(f, p, svc, table.at(a), now_ms, port_mac);
    }
    uint64_t fh = mh_key(svc, p);
    if (is_tcp(p) && (!(p.tcp_flags & kTcpSyn) || (p.tcp_flags & kTcpRst))) {
        // Only a SYN opens a connection. Under mh the table choice is the scheduler's choice, so a
        // flow that another director (or an expired entry) started still reaches its real; while the
        // table is full (or was, kFullWindowMs), so does one whose SYN found no room.
        if (svc.sched != Sched::mh && !table.full_recently(now_ms, kFullWindowMs)) return drop(Drop::tcp_no_conn);
        return forward_stateless(f, p, svc, fh, port_mac);
    }
    pos = table.add(key, miss_sig_);
    if (pos < 0) pos = add_evicting(table, key, now_ms);
    if (pos < 0) {
        counters_->table_full++;
        return forward_stateless(f, p, svc, fh, port_mac);
    }
    ConnEntry& e = table.at(pos);
    if (e.state != kFreeEntry) {  // added earlier in this burst
        if (entry_matches(e, svc)) return hit(f, p, svc, e, now_ms, port_mac);
        return drop(Drop::no_dest);  // cannot happen within one burst (one snapshot); never guess
    }
    added_in_burst_ |= uint64_t{1} << (miss_sig_ & 63);
    // Under pressure the entry may be evicted before the handshake completes, and the flow's later
    // packets then go by Maglev: its first real is Maglev's choice too (persistence aside: its template
    // decides), so evicted or not, the connection stays on one real.
    uint16_t dest = svc.persistence_ms == 0 && table.full_recently(now_ms, kFullWindowMs)
                        ? mh_lookup(svc, fh)
                        : choose_dest(svc, table, p, fh, now_ms);
    if (dest == kNoDest) {
        table.remove(pos);
        return drop(Drop::no_dest);
    }
    uint8_t state = is_tcp(p) ? static_cast<uint8_t>(tcp_next_state(TcpState::none, p.tcp_flags)) : kUdpState;
    e = ConnEntry{now_ms + svc.timeouts.ms[state], dest, state, snap_->dests[dest].gen};
    DestCounters& dc = counters_->dest[dest];
    dc.conns++;
    dc.refs++;
    (state_is_active(state) ? dc.active : dc.inactive)++;
    if (snap_->dests[dest].u_threshold) limit_on_bind(dc, snap_->dests[dest], workers_);
    counters_->svc[svc.id].conns++;
    if (sync_ring_) sync_out(p, svc, e);
    return forward(f, p, svc.id, dest, port_mac);
}

// ops (IPVS's one-packet scheduling, UDP): each datagram is scheduled on its own and no entry is
// made, so nothing lingers per datagram; a persistence template still binds the client when the
// service has persistence. Counted as a connection of its real, as IPVS counts each one.
Verdict Processor::one_packet(Frame& f, const Parsed& p, const Service& svc, uint32_t now_ms,
                              const MacAddr& port_mac) {
    ConnTable& table = p.family == 4 ? t4_ : t6_;
    uint16_t dest = choose_dest(svc, table, p, mh_key(svc, p), now_ms);
    if (dest == kNoDest) return drop(Drop::no_dest);
    counters_->one_packet++;
    counters_->dest[dest].conns++;
    counters_->svc[svc.id].conns++;
    return forward(f, p, svc.id, dest, port_mac);
}


// An ICMP error about a VIP's flow reached the director (the real's packet left from the VIP, so the
// error comes back to it): forwarded as it is, to the real that flow's entry names (it holds the
// socket: a TCP real lowers its path MTU on "fragmentation needed" / "packet too big"), as IPVS does
// for DR (ip_vs_in_icmp). The entry is only read: no state change, no new timeout. Without a live
// entry, where the flow's own packets would go without one: Maglev on mh services and while the
// table is full (as a non-SYN miss); else the kernel, as before.
Verdict Processor::icmp_error(Frame& f, const Parsed& p, uint32_t now_ms, const MacAddr& port_mac) {
    const Service* svc = p.family == 4 ? snap_->find_service4(p.dst4_be, p.dport, p.proto)
                                       : snap_->find_service6(p.dst6, p.dport, p.proto);
    if (!svc || p.dst_mac_broadcast_or_multicast || vip_withheld(svc->vip_slot) != Drop::count) return to_kernel();
    if (hops_left(f.data, p) <= 1) return drop(Drop::ttl_exceeded);
    ConnTable& table = p.family == 4 ? t4_ : t6_;
    int32_t pos;
    if (p.family == 4) {
        ConnKey4 k;
        make_key4(k, p);
        pos = table.lookup(&k);
    } else {
        ConnKey6 k;
        make_key6(k, p);
        pos = table.lookup(&k);
    }
    if (pos >= 0) {
        const ConnEntry& e = table.at(pos);
        if (!time_reached(now_ms, e.expire_ms) && entry_matches(e, *svc) && !cut_nodest(e)) {
            Verdict v = forward(f, p, svc->id, e.dest, port_mac);
            if (v == Verdict::tx) counters_->icmp_forwarded++;
            return v;
        }
    }
    if (svc->sched != Sched::mh && !table.full_recently(now_ms, kFullWindowMs)) return to_kernel();
    uint16_t dest = mh_lookup(*svc, mh_key(*svc, p));
    if (dest == kNoDest) return to_kernel();
    Verdict v = forward(f, p, svc->id, dest, port_mac);
    if (v == Verdict::tx) {
        counters_->icmp_forwarded++;
        counters_->icmp_stateless++;
        counters_->stateless++;
    }
    return v;
}

inline Verdict Processor::hit(Frame& f, const Parsed& p, const Service& svc, ConnEntry& e, uint32_t now_ms,
                              const MacAddr& port_mac) {
    if (is_tcp(p)) {
        uint8_t next = static_cast<uint8_t>(tcp_next_state(static_cast<TcpState>(e.state), p.tcp_flags));
        if (next != e.state) change_state(p, svc, e, next);
    }
    e.expire_ms = now_ms + svc.timeouts.ms[e.state];
    return rewrite(f, p, svc.id, e.dest, port_mac);
}

// A few times per connection: out of line, so a hit whose state stays pays nothing for it (the sync
// call in here would otherwise cost hit() registers saved on every packet).
void Processor::change_state(const Parsed& p, const Service& svc, ConnEntry& e, uint8_t next) {
    bool was = state_is_active(e.state), now = state_is_active(next);
    if (was != now) {
        DestCounters& dc = counters_->dest[e.dest];
        (was ? dc.active : dc.inactive)--;
        (now ? dc.active : dc.inactive)++;
    }
    e.state = next;
    if (sync_ring_ && sync_worthy(next)) sync_out(p, svc, e);
}

void Processor::sync_out(const Parsed& p, const Service& svc, const ConnEntry& e) {
    SyncRecord r{};
    r.family = p.family;
    r.proto = p.proto;
    r.state = e.state;
    r.gen = e.gen;
    r.dest = e.dest;
    r.cport = p.sport;
    r.vport = p.dport;
    r.svc = svc.id;
    if (p.family == 4) {
        std::memcpy(r.caddr, &p.src4_be, 4);
        std::memcpy(r.vaddr, &p.dst4_be, 4);
    } else {
        std::memcpy(r.caddr, p.src6, 16);
        std::memcpy(r.vaddr, p.dst6, 16);
    }
    push_sync(r);
}

int32_t Processor::adopt(const Parsed& p, const Service& svc, ConnTable& table, const void* key, uint32_t now_ms) {
    ConnEntry s;
    if (!synced_->find(key, p.family == 6, s) || time_reached(now_ms, s.expire_ms)) return -1;
    // The real the peer chose, as this snapshot knows it: still of this service, the same real (its
    // id not handed to another since the control thread resolved it), not draining.
    if (!entry_matches(s, svc) || snap_->dests[s.dest].draining) return -1;
    if (is_tcp(p) ? s.state >= kTcpStateCount : s.state != kUdpState) return -1;
    int32_t pos = table.add(key, miss_sig_);
    if (pos < 0) pos = add_evicting(table, key, now_ms);
    if (pos < 0) return -1;
    ConnEntry& e = table.at(pos);
    if (e.state != kFreeEntry) return pos;  // added earlier in this burst
    added_in_burst_ |= uint64_t{1} << (miss_sig_ & 63);
    e = ConnEntry{now_ms + svc.timeouts.ms[s.state], s.dest, s.state, s.gen};
    DestCounters& dc = counters_->dest[s.dest];
    dc.refs++;
    (state_is_active(s.state) ? dc.active : dc.inactive)++;
    if (snap_->dests[s.dest].u_threshold) limit_on_bind(dc, snap_->dests[s.dest], workers_);
    counters_->sync_adopted++;
    return pos;
}

Verdict Processor::forward_stateless(Frame& f, const Parsed& p, const Service& svc, uint64_t fh,
                                     const MacAddr& port_mac) {
    uint16_t dest = mh_lookup(svc, fh);
    if (dest == kNoDest) return drop(Drop::no_dest);
    Verdict v = forward(f, p, svc.id, dest, port_mac);
    if (v == Verdict::tx) counters_->stateless++;  // a part of forwarded: not a frame dropped as no_dest_mac
    return v;
}

// Direct Routing: the real's MAC as destination, the port's as source, and one hop off the TTL or
// hop limit as a router (and IPVS, ip_vs_xmit.c decrement_ttl) does; pass 1 dropped those at 1 or 0.
// A first fragment leaves its real for the rest of its datagram (frag_table.h). A real with a VLAN
// of its own (Dest::vlan) costs untagged traffic that keeps its tag one compare: the rest is retag().
Verdict Processor::forward(Frame& f, const Parsed& p, uint16_t svc_id, uint16_t dest, const MacAddr& port_mac) {
    return rewrite(f, p, svc_id, dest, port_mac);
}

inline Verdict Processor::rewrite(Frame& f, const Parsed& p, uint16_t svc_id, uint16_t dest, const MacAddr& port_mac) {
    const Dest& d = dests_[dest];
    if (!d.has_mac) return drop(Drop::no_dest_mac);
    const uint32_t in_len = f.wire_len;  // counted as it came in
    int l3_off = p.l3_off;
    if (d.vlan != kVlanAsReceived) {
        const int moved = retag(f, p.l3_off > kEthHeaderLen, d.vlan);  // the parser reads one tag at most
        if (moved == kNoHeadroom) return drop(Drop::vlan_no_headroom);
        l3_off += moved;
        moved_frames_ |= moved != 0;
    }
    if (p.frag == kFragFirst) frags_.put(p, dest, d.gen, svc_id, now_ms_);
    std::memcpy(f.data, d.mac.b.data(), 6);
    // Out of the port the real is on, with that port's MAC (IPVS: the device of the route to it).
    const bool other_port = d.egress < nports_;
    f.out_port = other_port ? d.egress : kIngressPort;
    std::memcpy(f.data + 6, (other_port ? port_macs_[d.egress] : port_mac).b.data(), 6);
    uint8_t* ip = f.data + l3_off;
    if (p.family == 4) ipv4_decrement_ttl(ip);
    else ip[7]--;
    CoreCounters& c = *counters_;
    c.forwarded++;
    c.svc[svc_id].inpkts++;
    c.svc[svc_id].inbytes += in_len;
    c.dest[dest].inpkts++;
    c.dest[dest].inbytes += in_len;
    return Verdict::tx;
}

// The real's VLAN (Dest::vlan, not kVlanAsReceived) on a frame before its MACs are rewritten (so
// they need not move): a tag pushed in front of the ethertype (the start moves 4 bytes back into the
// headroom), taken off (4 bytes on), or its VLAN id rewritten with the priority bits kept. Returns how
// far the IP header moved from the frame's start, or kNoHeadroom (nothing changed).
int Processor::retag(Frame& f, bool tagged, uint16_t vlan) {
    if (vlan == kVlanUntagged) {
        if (!tagged) return 0;
        f.data += kVlanTagLen;
        f.len -= kVlanTagLen;
        f.wire_len -= kVlanTagLen;
        f.headroom += kVlanTagLen;
        return -static_cast<int>(kVlanTagLen);
    }
    int moved = 0;
    if (!tagged) {
        if (f.headroom < kVlanTagLen) return kNoHeadroom;
        f.data -= kVlanTagLen;
        f.len += kVlanTagLen;
        f.wire_len += kVlanTagLen;
        f.headroom -= kVlanTagLen;
        f.data[12] = kEtherVlan >> 8;
        f.data[13] = kEtherVlan & 0xff;
        f.data[14] = 0;  // priority 0, DEI 0
        moved = kVlanTagLen;
    }
    f.data[14] = static_cast<uint8_t>((f.data[14] & 0xf0) | (vlan >> 8 & 0x0f));
    f.data[15] = static_cast<uint8_t>(vlan & 0xff);
    return moved;
}

// A later fragment (no ports) goes where its datagram's first fragment went, while that real still
// has the id it had then (in use, same generation and service); a real that is draining or at weight
// 0 still gets the rest of a datagram it has the start of. Without an entry it is dropped: a first
// fragment that comes after it, or never, cannot be waited for without holding the frame.
Verdict Processor::later_fragment(Frame& f, const Parsed& p, const MacAddr& port_mac) {
    const FragEntry* e = frags_.find(p, now_ms_);
    // An IPv6 fragment of no TCP/UDP datagram we forwarded (ICMPv6, say) is the kernel's, as its
    // whole packet would be.
    if (!e && p.proto != kProtoTcp && p.proto != kProtoUdp) return to_kernel();
    if (!e || e->dest >= snap_->dests.size()) return drop(Drop::fragment);
    const Dest& d = snap_->dests[e->dest];
    if (!d.in_use || d.gen != e->gen || d.svc != e->svc) return drop(Drop::fragment);
    Verdict v = forward(f, p, e->svc, e->dest, port_mac);
    if (v == Verdict::tx) counters_->fragments++;
    return v;
}

uint16_t Processor::choose_dest(const Service& svc, ConnTable& table, const Parsed& p, uint64_t mk, uint32_t now_ms) {
    const std::vector<Dest>& dests = snap_->dests;
    uint64_t key = sched_key(svc, p, mk);
    if (svc.persistence_ms == 0) return sched_pick(svc, dests, cursors_[svc.id], counters_->dest, key, &lblc_, now_ms);

    // Persistence: a template (client address, VIP, service port, proto 0) binds the client to a real.
    ConnKey4 t4{};
    ConnKey6 t6{};
    const void* tkey;
    if (p.family == 4) {
        t4.src = p.src4_be;
        t4.dst = p.dst4_be;
        t4.dport = svc.port;
        mask_prefix(reinterpret_cast<uint8_t*>(&t4.src), 4, svc.persistence_prefix_len);
        tkey = &t4;
    } else {
        std::memcpy(t6.src, p.src6, 16);
        std::memcpy(t6.dst, p.dst6, 16);
        t6.dport = svc.port;
        mask_prefix(t6.src, 16, svc.persistence_prefix_len);
        tkey = &t6;
    }
    int32_t pos = table.lookup(tkey);
    if (pos >= 0) {
        ConnEntry& e = table.at(pos);
        if (!time_reached(now_ms, e.expire_ms) && entry_matches(e, svc) && !dests[e.dest].draining) {
            e.expire_ms = now_ms + svc.persistence_ms;
            return e.dest;
        }
        expire_at(table, pos);
    }
    uint16_t dest = sched_pick(svc, dests, cursors_[svc.id], counters_->dest, key, &lblc_, now_ms);
    if (dest == kNoDest) return dest;
    pos = table.add(tkey);
    if (pos >= 0 && table.at(pos).state == kFreeEntry) {
        table.at(pos) = ConnEntry{now_ms + svc.persistence_ms, dest, kTemplateState, dests[dest].gen};
        counters_->dest[dest].persist++;
        counters_->dest[dest].refs++;
    }
    return dest;
}

Verdict Processor::answer_arp(Frame& f, const Parsed& p, const MacAddr& port_mac) {
    uint8_t* a = f.data + p.l3_off;
    uint8_t* sender_mac = a + 8;
    uint8_t* sender_ip = a + 14;
    uint8_t* target_mac = a + 18;
    uint8_t* target_ip = a + 24;
    // A gratuitous ARP (sender = target) announces, it does not ask.
    if (std::memcmp(sender_ip, target_ip, 4) == 0) return to_kernel();
    int slot = snap_->vip_slot4(p.arp_target_be);
    if (slot < 0 || !snap_->vips[slot].answer_arp) return to_kernel();
    if (Drop why = vip_withheld(static_cast<uint16_t>(slot)); why != Drop::count)
        return why == Drop::control_stalled ? drop(why) : to_kernel();
    std::memcpy(f.data, sender_mac, 6);
    std::memcpy(f.data + 6, port_mac.b.data(), 6);
    a[7] = 2;  // op: reply
    std::memcpy(target_mac, sender_mac, 6);
    std::memcpy(target_ip, sender_ip, 4);
    std::memcpy(sender_mac, port_mac.b.data(), 6);
    std::memcpy(sender_ip, &p.arp_target_be, 4);
    counters_->arp_replies++;
    return Verdict::tx;
}

namespace {

// RFC 4443 §2.3: the ICMPv6 checksum covers a pseudo-header (addresses, length, next header 58).
uint16_t icmp6_checksum(const uint8_t* src, const uint8_t* dst, const uint8_t* msg, uint32_t len) {
    uint32_t sum = 0;
    auto add = [&sum](const uint8_t* p, uint32_t n) {
        for (uint32_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
        if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
    };
    add(src, 16);
    add(dst, 16);
    sum += len;
    sum += 58;
    add(msg, len);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

}  // namespace

// A neighbour advertisement for an owned IPv6 VIP (RFC 4861 §7.2.4), written over the solicitation:
// solicited + override, with our MAC as the target link-layer address. Only the common 32-byte
// solicitation (with a source link-layer option) is answered in place, so the frame keeps its length;
// anything else, and duplicate address detection (source ::), is left to the kernel.
Verdict Processor::answer_nd(Frame& f, const Parsed& p, const MacAddr& port_mac) {
    uint8_t* ip6 = f.data + p.l3_off;
    uint8_t* icmp = f.data + p.l4_off;
    static const uint8_t kUnspecified[16] = {};
    uint32_t icmp_len = static_cast<uint32_t>(ip6[4] << 8 | ip6[5]);
    if (icmp_len != 32 || std::memcmp(ip6 + 8, kUnspecified, 16) == 0) return to_kernel();
    int slot = snap_->vip_slot6(p.nd_target);
    if (slot < 0 || !snap_->vips[slot].answer_arp) return to_kernel();
    if (Drop why = vip_withheld(static_cast<uint16_t>(slot)); why != Drop::count)
        return why == Drop::control_stalled ? drop(why) : to_kernel();
    uint8_t target[16];
    std::memcpy(target, p.nd_target, 16);
    std::memcpy(f.data, f.data + 6, 6);  // to the solicitor's MAC
    std::memcpy(f.data + 6, port_mac.b.data(), 6);
    std::memcpy(ip6 + 24, ip6 + 8, 16);  // destination := the solicitor
    std::memcpy(ip6 + 8, target, 16);    // source := the VIP
    ip6[7] = 255;
    icmp[0] = 136;  // neighbour advertisement
    icmp[1] = 0;
    icmp[2] = icmp[3] = 0;
    icmp[4] = 0x60;  // solicited, override
    icmp[5] = icmp[6] = icmp[7] = 0;
    std::memcpy(icmp + 8, target, 16);
    icmp[24] = 2;  // option: target link-layer address
    icmp[25] = 1;
    std::memcpy(icmp + 26, port_mac.b.data(), 6);
    uint16_t c = icmp6_checksum(ip6 + 8, ip6 + 24, icmp, 32);
    icmp[2] = static_cast<uint8_t>(c >> 8);
    icmp[3] = static_cast<uint8_t>(c);
    counters_->arp_replies++;
    return Verdict::tx;
}

void Processor::release(const ConnEntry& e, bool evicted) {
    DestCounters& dc = counters_->dest[e.dest];
    if (e.state == kTemplateState) dc.persist--;
    else if (state_is_active(e.state)) dc.active--;
    else dc.inactive--;
    dc.refs--;
    if (dc.overloaded && e.state != kTemplateState) limit_on_unbind(dc, snap_->dests[e.dest], workers_);
    (evicted ? counters_->evicted : counters_->expired)++;
}

namespace {

// A TCP entry that has seen no ACK completing the handshake: what a SYN flood leaves behind.
inline bool never_established(uint8_t state) {
    switch (static_cast<TcpState>(state)) {
    case TcpState::none:
    case TcpState::syn_sent:
    case TcpState::syn_recv:
    case TcpState::synack: return true;
    default: return false;
    }
}

}  // namespace

// add() failed: mark the table full, make room by removing one entry that never completed a
// handshake (or one that expired) near the eviction cursor, and try once more.
int32_t Processor::add_evicting(ConnTable& table, const void* key, uint32_t now_ms) {
    table.note_full(now_ms);
    int32_t victim = table.find_victim(now_ms, kEvictScanSlots, never_established);
    if (victim < 0) return -1;
    const ConnEntry& v = table.at(victim);
    release(v, !time_reached(now_ms, v.expire_ms));
    table.remove(victim);
    removed_in_burst_ = true;  // later packets of this burst look their entries up again
    return table.add(key, miss_sig_);
}

void Processor::expire_at(ConnTable& table, int32_t pos) {
    release(table.at(pos));
    table.remove(pos);
    removed_in_burst_ = true;
}

uint32_t Processor::expire(uint32_t now_ms, uint32_t budget) {
    auto on_expire = [this](const ConnEntry& e) { release(e); };
    uint32_t n = t4_.sweep(now_ms, budget, on_expire) + t6_.sweep(now_ms, budget, on_expire);
    if (DumpRequest* req = dump_.load(std::memory_order_acquire)) serve_dump(*req, now_ms);
    return n;
}

namespace {

IpAddr key_addr(uint32_t be) { return IpAddr::from_v4_be(be); }
IpAddr key_addr(const uint8_t (&a)[16]) { return IpAddr::from_v6(a); }

// The 5-tuple of the entry at `pos`, from the hash's key store.
template <class Key>
bool fill_addresses(const ConnTable& t, uint32_t pos, ConnInfo& c) {
    Key k;
    if (!t.get_key(static_cast<int32_t>(pos), &k)) return false;
    c.src = key_addr(k.src);
    c.dst = key_addr(k.dst);
    c.sport = k.sport;
    c.dport = k.dport;
    c.proto = k.proto;
    return true;
}

}  // namespace

uint32_t Processor::sweep_budget(const ConnTable& t, uint32_t elapsed_ms, bool reclaiming) {
    uint32_t live = t.size();
    if (live == 0) return 0;
    // Over 3/4 full and the last sweep found expired entries: reclaim on every pass, as fast as new
    // flows arrive. A full table of live flows finds nothing and stays on the calm, timed pace.
    if (reclaiming && uint64_t{live} * 4 > uint64_t{t.capacity()} * 3) return kPressureSweepSlots;
    if (elapsed_ms == 0) return 0;
    uint64_t slots = uint64_t{t.capacity()} * elapsed_ms / kSweepPeriodMs;
    return static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(slots, 1), kMaxSweepSlots));
}

uint32_t Processor::expire_paced(uint32_t now_ms) {
    uint32_t elapsed = std::min<uint32_t>(now_ms - last_sweep_ms_, kSweepPeriodMs);
    if (elapsed > 0) last_sweep_ms_ = now_ms;
    auto on_expire = [this](const ConnEntry& e) { release(e); };
    // Sync on: live entries are looked at for a refresh too (one branch per call when off).
    auto sweep = [&](ConnTable& t, uint32_t budget) {
        if (!sync_ring_) return t.sweep(now_ms, budget, on_expire);
        const bool v6 = &t == &t6_;
        return t.sweep(now_ms, budget, on_expire, [&](int32_t pos, const ConnEntry& e) {
            if (refresh_worthy(e.state)) refresh(t, v6, pos, e);
        });
    };
    uint32_t n4 = 0, n6 = 0;
    if (uint32_t b = sweep_budget(t4_, elapsed, reclaiming4_)) reclaiming4_ = (n4 = sweep(t4_, b)) > 0;
    if (uint32_t b = sweep_budget(t6_, elapsed, reclaiming6_)) reclaiming6_ = (n6 = sweep(t6_, b)) > 0;
    // Loaded once: the control thread may withdraw the request between two loads.
    if (DumpRequest* req = dump_.load(std::memory_order_acquire)) serve_dump(*req, now_ms);
    return n4 + n6;
}

namespace {

// A worker's sync record of the flow keyed `k` (the client's and the VIP's side of it).
template <class Key>
void record_from_key(const Key& k, SyncRecord& r) {
    r.proto = k.proto;
    r.cport = k.sport;
    r.vport = k.dport;
    std::memcpy(r.caddr, &k.src, sizeof k.src);
    std::memcpy(r.vaddr, &k.dst, sizeof k.dst);
}

}  // namespace

// Refresh (kRefreshDivisor): the sweep visits every slot once a round, and the rounds' spans tile
// time (ConnTable::round_from_ms). A live entry is re-sent when the span of the last whole round holds
// a moment t with (t + offset) % interval == 0, interval = its state's timeout / kRefreshDivisor, and
// offset a hash of its slot: each such moment lies in exactly one span, so the entry is re-sent once
// per interval, at most two rounds after that moment (the round after the one that holds it; a round
// lasts about kSweepPeriodMs, far less than any interval; a round longer than an interval sends once
// for all the moments it holds). This holds however fast the
// rounds go (a pressure sweep runs them faster, and each then holds fewer such moments), so the rate
// stays about live entries / interval. The offset spreads those moments over the interval, so a table
// of flows made together is not re-sent in one round. Where the 32-bit ms clock wraps (every 49.7
// days) the phase jumps once: one re-send may come early or late by up to an interval.
// The service is found from the entry's real by its id (Snapshot::service_of: one load, not a lookup
// by address for every live entry of every round), so nothing is read from the hash's key store unless
// the entry is due; an entry whose real or service is gone is skipped.
void Processor::refresh(const ConnTable& t, bool v6, int32_t pos, const ConnEntry& e) {
    if (e.dest >= snap_->dests.size()) return;
    const Dest& d = snap_->dests[e.dest];
    if (!d.in_use || d.gen != e.gen) return;
    const Service* svc = snap_->service_of(d.svc);
    if (!svc) return;
    const uint32_t interval = svc->timeouts.ms[e.state] / kRefreshDivisor;
    if (interval == 0) return;
    const uint32_t span = t.round_to_ms() - t.round_from_ms();
    const uint32_t offset = static_cast<uint32_t>(pos) * 2654435761u % interval;  // Knuth's multiplicative hash
    const uint32_t phase = static_cast<uint32_t>((uint64_t{t.round_from_ms()} + offset) % interval);
    const uint32_t next = phase ? interval - phase : 0;  // from `from` to the first such moment
    if (next >= span) return;
    SyncRecord r{};
    r.family = v6 ? 6 : 4;
    r.state = e.state;
    r.gen = e.gen;
    r.dest = e.dest;
    r.svc = svc->id;
    if (v6) {
        ConnKey6 k;
        if (!t.get_key(pos, &k)) return;
        record_from_key(k, r);
    } else {
        ConnKey4 k;
        if (!t.get_key(pos, &k)) return;
        record_from_key(k, r);
    }
    if (push_sync(r)) counters_->sync_refreshed++;
}

void Processor::serve_dump(DumpRequest& req, uint32_t now_ms) {
    constexpr uint32_t kSlotsPerPass = 4096;
    auto take = [&](ConnTable& t, uint32_t& cursor, bool v6) {
        uint32_t end = std::min(t.capacity(), cursor + kSlotsPerPass);
        for (; cursor < end && req.out.size() < req.out.capacity(); cursor++) {
            const ConnEntry& e = t.at(static_cast<int32_t>(cursor));
            // An entry past its time stays listed (expiring in 0 s) until the sweep removes it: the
            // ActiveConn / InActConn counts fall only then, and the listing agrees with them, as
            // IPVS lists a connection until its timer removes it.
            if (e.state == kFreeEntry) continue;
            ConnInfo c;
            bool ok = v6 ? fill_addresses<ConnKey6>(t, cursor, c) : fill_addresses<ConnKey4>(t, cursor, c);
            if (!ok) continue;
            c.state = e.state;
            c.dest = e.dest;
            c.expires_in_ms = time_reached(now_ms, e.expire_ms) ? 0 : e.expire_ms - now_ms;
            req.out.push_back(c);
        }
        return cursor >= t.capacity() || req.out.size() >= req.out.capacity();
    };
    bool full = req.out.size() >= req.out.capacity();
    bool done4 = full || take(t4_, req.cursor4, false);
    bool done6 = done4 && (req.out.size() >= req.out.capacity() || take(t6_, req.cursor6, true));
    if (done4 && done6) {
        // Only if it is still the pending request (a withdrawn one is not ours to clear).
        DumpRequest* expected = &req;
        dump_.compare_exchange_strong(expected, nullptr, std::memory_order_relaxed);
        req.done.store(true, std::memory_order_release);
    }
}

}  // namespace dplb
