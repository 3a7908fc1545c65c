#include "scheduler.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <tuple>

#include "flow_hash.h"

namespace dplb {

namespace {

// The longest wrr cycle we precompute (2 MB of dest ids). Weights are 16-bit and a service may
// have thousands of reals, so sum(weight)/gcd can reach hundreds of millions; past this length the
// weights are scaled down (see build_wrr) and shares become approximate instead of exact.
constexpr uint64_t kMaxWrrCycle = 1000000;

constexpr uint32_t kShBuckets = 256;  // as IPVS sh's default table

// Two independent hashes of a real give its Maglev permutation. Fixed seeds: every director that
// has the same reals must build the same table.
constexpr uint64_t kMhOffsetSeed = 0x6d682d6f66667365ULL;
constexpr uint64_t kMhSkipSeed = 0x6d682d736b697021ULL;

bool usable(const std::vector<Dest>& dests, uint16_t id) {
    return id < dests.size() && dests[id].in_use && dests[id].weight > 0;
}

struct Weighted {
    uint16_t id;
    uint32_t weight;  // reduced by the gcd; build_wrr and build_mh may scale it further
};

// The reals that may take new connections, in svc.dests order, with weights divided by their gcd
// (the proportions are all that matters to wrr, sh and mh, and smaller numbers interleave finer).
std::vector<Weighted> positive_reals(const Service& svc, const std::vector<Dest>& dests) {
    std::vector<Weighted> out;
    uint32_t g = 0;
    for (uint16_t id : svc.dests) {
        if (!usable(dests, id)) continue;
        out.push_back({id, dests[id].weight});
        g = std::gcd(g, uint32_t{dests[id].weight});
    }
    for (Weighted& w : out) w.weight /= g;
    return out;
}

// Order by address and port, so that the table does not depend on the order the configuration
// lists its reals in. The id only breaks ties between duplicate ip:port entries.
void sort_by_address(std::vector<Weighted>& reals, const std::vector<Dest>& dests) {
    std::sort(reals.begin(), reals.end(), [&](const Weighted& a, const Weighted& b) {
        const Dest& x = dests[a.id];
        const Dest& y = dests[b.id];
        return std::tie(x.ip.family, x.ip.b, x.port, a.id) < std::tie(y.ip.family, y.ip.b, y.port, b.id);
    });
}

// IPVS's interleaved wrr, unrolled into one full cycle. With weights reduced by their gcd, the
// current weight walks max, max-1, ..., 1; at each step every real (in service order) whose weight
// reaches the current weight gets one connection. A real of weight w is thus listed w times per
// cycle, and the cycle is sum(w) long.
std::vector<uint16_t> build_wrr(std::vector<Weighted> reals) {
    std::vector<uint16_t> seq;
    if (reals.empty()) return seq;

    uint64_t total = 0;
    for (const Weighted& r : reals) total += r.weight;
    if (total > kMaxWrrCycle) {
        // Too long to store: scale every weight by the same factor (rounding down, but never to 0),
        // which keeps each real's share within about 1/weight of exact. The headroom of one per
        // real pays for the "never to 0" bumps, so the result stays within the cap.
        const uint64_t target = kMaxWrrCycle - reals.size();
        uint32_t g = 0;
        for (Weighted& r : reals) {
            r.weight = static_cast<uint32_t>(std::max<uint64_t>(1, r.weight * target / total));
            g = std::gcd(g, r.weight);
        }
        for (Weighted& r : reals) r.weight /= g;
    }

    // Passes visit reals in service order; keep the positions of those already eligible sorted and
    // add the rest as the current weight falls, so the work is the cycle length, not max * reals.
    std::vector<uint32_t> by_weight(reals.size());
    std::iota(by_weight.begin(), by_weight.end(), 0u);
    std::stable_sort(by_weight.begin(), by_weight.end(),
                     [&](uint32_t a, uint32_t b) { return reals[a].weight > reals[b].weight; });
    std::vector<uint32_t> eligible;  // positions in `reals`, ascending
    size_t added = 0;
    uint64_t cycle = 0;
    for (const Weighted& r : reals) cycle += r.weight;
    seq.reserve(cycle);
    for (uint32_t cw = reals[by_weight[0]].weight; cw > 0; --cw) {
        while (added < by_weight.size() && reals[by_weight[added]].weight >= cw) {
            uint32_t pos = by_weight[added++];
            eligible.insert(std::lower_bound(eligible.begin(), eligible.end(), pos), pos);
        }
        for (uint32_t pos : eligible) seq.push_back(reals[pos].id);
    }
    return seq;
}

// How many of `slots` entries each real gets: its exact share, weight / sum of weights, rounded so
// that the counts add up to `slots` (largest remainders round up; ties go to the earlier real).
// Filling in rounds alone would leave the last, partial round to whoever comes first, and a weight
// larger than the table would let one real take it all (as IPVS sh does); quotas avoid both.
std::vector<uint32_t> quotas(const std::vector<Weighted>& reals, uint32_t slots) {
    uint64_t total = 0;
    for (const Weighted& r : reals) total += r.weight;
    std::vector<uint32_t> q(reals.size());
    std::vector<uint64_t> rem(reals.size());
    uint64_t given = 0;
    for (size_t i = 0; i < reals.size(); ++i) {
        uint64_t exact = uint64_t{slots} * reals[i].weight;  // < 2^48
        q[i] = static_cast<uint32_t>(exact / total);
        rem[i] = exact % total;
        given += q[i];
    }
    std::vector<uint32_t> order(reals.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return rem[a] > rem[b]; });
    for (uint64_t k = 0; given + k < slots; ++k) ++q[order[k]];  // fewer than reals.size() left over
    return q;
}

// Source-hash buckets: the reals take turns, each filling up to `weight` consecutive buckets per
// turn (IPVS sh's weighted fill), until each has its quota. The bucket a source lands in is
// uniform, so only the counts matter; the layout just has to be deterministic.
std::vector<uint16_t> build_sh(std::vector<Weighted> reals, const std::vector<Dest>& dests) {
    std::vector<uint16_t> table;
    if (reals.empty()) return table;
    sort_by_address(reals, dests);
    std::vector<uint32_t> left = quotas(reals, kShBuckets);
    table.reserve(kShBuckets);
    while (table.size() < kShBuckets) {
        for (size_t i = 0; i < reals.size(); ++i) {
            uint32_t take = std::min(reals[i].weight, left[i]);
            table.insert(table.end(), take, reals[i].id);
            left[i] -= take;
        }
    }
    return table;
}

bool is_prime(uint32_t n) {
    if (n < 2) return false;
    for (uint32_t d = 2; uint64_t{d} * d <= n; ++d)
        if (n % d == 0) return false;
    return true;
}

// Maglev: each real walks its own permutation of the slots (offset, offset+skip, ... mod M, a full
// cycle because M is prime and 0 < skip < M) and claims the first free slot it meets. Reals take
// turns; in each round a real claims up to `weight` slots (IPVS mh style), stopping at its quota,
// so every real ends within one slot of its exact weighted share.
std::vector<uint16_t> build_mh(std::vector<Weighted> reals, const std::vector<Dest>& dests, uint32_t size) {
    std::vector<uint16_t> table;
    if (reals.empty()) return table;
    // A non-prime size would leave permutations that never reach some slots (and the fill would
    // never end). The control plane validates the size; should one slip through, use the next
    // prime rather than hang.
    while (!is_prime(size)) ++size;
    sort_by_address(reals, dests);
    std::vector<uint32_t> left = quotas(reals, size);

    // Turns of many slots let the first reals take their quota before the others have chosen any:
    // the later ones then get leftovers instead of their preferred slots, and a table rebuilt after
    // a small weight change moves more flows. Keep a round to a small part of the table by scaling
    // the turns (the quotas, not the turns, decide the shares).
    const uint64_t round_cap = std::max<uint32_t>(1, size / 64);
    uint64_t round = 0;
    for (const Weighted& r : reals) round += r.weight;
    if (round > round_cap)
        for (Weighted& r : reals)
            r.weight = static_cast<uint32_t>(std::max<uint64_t>(1, r.weight * round_cap / round));

    struct Walker {
        uint64_t pos;
        uint64_t skip;
    };
    std::vector<Walker> walk;
    walk.reserve(reals.size());
    for (const Weighted& r : reals) {
        const Dest& d = dests[r.id];
        uint8_t key[19];  // family, address (16 bytes, IPv4 zero-padded), port big-endian
        key[0] = d.ip.family;
        std::memcpy(key + 1, d.ip.b.data(), 16);
        key[17] = static_cast<uint8_t>(d.port >> 8);
        key[18] = static_cast<uint8_t>(d.port);
        walk.push_back({hash_bytes(key, sizeof key, kMhOffsetSeed) % size,
                        hash_bytes(key, sizeof key, kMhSkipSeed) % (size - 1) + 1});
    }

    table.assign(size, kNoDest);
    uint32_t filled = 0;
    while (filled < size) {  // the quotas add up to `size`, so this ends with every slot taken
        for (size_t i = 0; i < reals.size(); ++i) {
            uint32_t take = std::min(reals[i].weight, left[i]);
            left[i] -= take;
            filled += take;
            Walker& w = walk[i];
            for (; take > 0; --take) {
                while (table[w.pos] != kNoDest) {
                    w.pos += w.skip;
                    if (w.pos >= size) w.pos -= size;
                }
                table[w.pos] = reals[i].id;
            }
        }
    }
    return table;
}

// IPVS's OVERLOAD flag as this core keeps it (Processor::bind_limit). Read only for services with
// limits: Limits = false compiles every check away, so services without them pay nothing.
template <bool Limits>
bool overloaded(const DestCounters* load, uint16_t id) {
    return Limits && load && load[id].overloaded;
}

// A real that may take a new connection now: usable and not overloaded.
template <bool Limits>
bool open_for_new(const std::vector<Dest>& dests, const DestCounters* load, uint16_t id) {
    return usable(dests, id) && !overloaded<Limits>(load, id);
}

template <bool Limits>
uint16_t pick_rr(const Service& svc, const std::vector<Dest>& dests, SchedCursor& cursor, const DestCounters* load) {
    const uint32_t n = static_cast<uint32_t>(svc.dests.size());
    if (n == 0) return kNoDest;
    uint32_t i = cursor.next < n ? cursor.next : 0;  // the service may have shrunk since
    for (uint32_t tried = 0; tried < n; ++tried) {
        uint16_t id = svc.dests[i];
        if (++i == n) i = 0;
        if (open_for_new<Limits>(dests, load, id)) {
            cursor.next = i;
            return id;
        }
    }
    return kNoDest;
}

// wrr: the next entry of the cycle; an overloaded real's turns are passed over (IPVS's wrr skips it
// and goes on round the weights), at most one whole cycle.
template <bool Limits>
uint16_t pick_wrr(const Service& svc, SchedCursor& cursor, const DestCounters* load) {
    const auto& seq = svc.tables->wrr_seq;
    const uint32_t n = static_cast<uint32_t>(seq.size());
    if (n == 0) return kNoDest;
    uint32_t i = cursor.next < n ? cursor.next : 0;
    for (uint32_t tried = 0; tried < n; ++tried) {
        uint16_t id = seq[i];
        if (++i == n) i = 0;
        if (!overloaded<Limits>(load, id)) {
            cursor.next = i;
            return id;
        }
        if (!Limits) break;
    }
    return kNoDest;
}

uint64_t overhead(const DestCounters* load, uint16_t id) {
    if (!load) return 0;  // no counters: every real looks idle
    // An established connection costs far more than one in another state (IPVS's weighting).
    return uint64_t{load[id].active} * 256 + load[id].inactive;
}

template <bool Limits>
uint16_t pick_lc(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load) {
    uint16_t best = kNoDest;
    uint64_t best_oh = 0;
    for (uint16_t id : svc.dests) {
        if (!open_for_new<Limits>(dests, load, id)) continue;
        uint64_t oh = overhead(load, id);
        if (best == kNoDest || oh < best_oh) {  // strict: ties keep the earlier real
            best = id;
            best_oh = oh;
        }
    }
    return best;
}

template <bool Limits>
uint16_t pick_wlc(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load) {
    uint16_t best = kNoDest;
    uint64_t best_oh = 0;
    uint64_t best_w = 1;
    for (uint16_t id : svc.dests) {
        if (!open_for_new<Limits>(dests, load, id)) continue;
        uint64_t oh = overhead(load, id);
        uint64_t w = dests[id].weight;
        // oh/w < best_oh/best_w without division; fits in 64 bits (< 2^41 * 2^16).
        if (best == kNoDest || best_oh * w > oh * best_w) {
            best = id;
            best_oh = oh;
            best_w = w;
        }
    }
    return best;
}

// sed and nq: the expected delay of one more connection, IPVS's (active + 1) / weight.
uint64_t sed_overhead(const DestCounters* load, uint16_t id) { return (load ? uint64_t{load[id].active} : 0) + 1; }

template <bool Limits>
uint16_t pick_sed(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load, bool never_queue) {
    uint16_t best = kNoDest;
    uint64_t best_oh = 0, best_w = 1;
    for (uint16_t id : svc.dests) {
        if (!open_for_new<Limits>(dests, load, id)) continue;
        if (never_queue && (!load || load[id].active == 0)) return id;  // nq: an idle real at once
        uint64_t oh = sed_overhead(load, id), w = dests[id].weight;
        if (best == kNoDest || best_oh * w > oh * best_w) {
            best = id;
            best_oh = oh;
            best_w = w;
        }
    }
    return best;
}

// fo: the usable real of the highest weight (the first of equals); ovf: the same among those whose
// active connections do not exceed their weight (the weight is the real's connection limit).
template <bool Limits>
uint16_t pick_highest_weight(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load,
                             bool overflow) {
    uint16_t best = kNoDest;
    for (uint16_t id : svc.dests) {
        if (!open_for_new<Limits>(dests, load, id)) continue;
        if (overflow && load && load[id].active > dests[id].weight) continue;
        if (best == kNoDest || dests[id].weight > dests[best].weight) best = id;
    }
    return best;
}

uint64_t next_random(SchedCursor& c) {  // xorshift64*
    c.rng ^= c.rng >> 12;
    c.rng ^= c.rng << 25;
    c.rng ^= c.rng >> 27;
    return c.rng * 0x2545f4914f6cdd1dULL;
}

// twos: two reals drawn at random in proportion to their weights; the one with the lower
// overhead/weight (wlc's overhead) takes the connection, the first drawn on a tie.
template <bool Limits>
uint16_t pick_twos(const Service& svc, const std::vector<Dest>& dests, SchedCursor& cursor, const DestCounters* load) {
    uint64_t total = 0;
    for (uint16_t id : svc.dests)
        if (open_for_new<Limits>(dests, load, id)) total += dests[id].weight;
    if (total == 0) return kNoDest;
    auto draw = [&] {
        uint64_t r = next_random(cursor) % total;
        for (uint16_t id : svc.dests) {
            if (!open_for_new<Limits>(dests, load, id)) continue;
            if (r < dests[id].weight) return id;
            r -= dests[id].weight;
        }
        return kNoDest;  // not reached: r < total
    };
    uint16_t a = draw(), b = draw();
    uint64_t oa = overhead(load, a), ob = overhead(load, b);
    return oa * dests[b].weight > ob * dests[a].weight ? b : a;
}

// sh, dh and mh: the table's entry for the key. An overloaded real there gives nothing (IPVS's sh,
// dh and mh return no destination), unless the service has the fallback flag (sh-fallback,
// mh-fallback): then the next entries of the table are tried in turn (IPVS walks its table from
// that bucket) and the first real not overloaded takes the connection. Weight-0 and removed reals
// are not in dplb's tables at all (they are rebuilt without them), so only the limits remain.
template <bool Limits>
uint16_t pick_hashed(const std::vector<uint16_t>& t, uint64_t key, bool fallback, const Service& svc,
                     const std::vector<Dest>& dests, const DestCounters* load) {
    if (t.empty()) return kNoDest;
    const size_t n = t.size();
    size_t b = key % n;
    uint16_t id = t[b];
    if (!overloaded<Limits>(load, id)) return id;
    if (!fallback) return kNoDest;
    // Every real overloaded: say so at once rather than walk the whole table.
    bool any = false;
    for (uint16_t d : svc.dests) any = any || open_for_new<true>(dests, load, d);
    if (!any) return kNoDest;
    for (size_t k = 1; k < n; ++k) {
        if (++b == n) b = 0;
        if (!overloaded<true>(load, t[b])) return t[b];
    }
    return kNoDest;
}

template <bool Limits>
uint16_t pick(const Service& svc, const std::vector<Dest>& dests, SchedCursor& cursor, const DestCounters* load,
              uint64_t key, LblcTable* lblc, uint32_t now_ms) {
    const bool fallback = svc.sched_flags & kSchedFlagFallback;
    switch (svc.sched) {
    case Sched::rr: return pick_rr<Limits>(svc, dests, cursor, load);
    case Sched::wrr: return pick_wrr<Limits>(svc, cursor, load);
    case Sched::lc: return pick_lc<Limits>(svc, dests, load);
    case Sched::wlc: return pick_wlc<Limits>(svc, dests, load);
    case Sched::sh: return pick_hashed<Limits>(svc.tables->sh, key, fallback, svc, dests, load);
    case Sched::dh: return pick_hashed<Limits>(svc.tables->sh, key, false, svc, dests, load);  // no flags in IPVS
    case Sched::mh: return pick_hashed<Limits>(svc.tables->mh, key, fallback, svc, dests, load);
    case Sched::sed: return pick_sed<Limits>(svc, dests, load, false);
    case Sched::nq: return pick_sed<Limits>(svc, dests, load, true);
    case Sched::fo: return pick_highest_weight<Limits>(svc, dests, load, false);
    case Sched::ovf: return pick_highest_weight<Limits>(svc, dests, load, true);
    case Sched::twos: return pick_twos<Limits>(svc, dests, cursor, load);
    case Sched::lblc:
    case Sched::lblcr: return lblc ? lblc->pick(svc, dests, load, key, now_ms) : pick_wlc<Limits>(svc, dests, load);
    }
    return kNoDest;
}

}  // namespace

uint64_t mh_fingerprint(const std::vector<uint16_t>& mh, const std::vector<Dest>& dests) {
    if (mh.empty()) return 0;
    constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL, kFnvPrime = 0x100000001b3ULL;
    auto fnv = [](uint64_t h, const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * kFnvPrime;
        return h;
    };
    // Each real's key hashed once; a slot then costs one step.
    uint16_t top = 0;
    for (uint16_t id : mh) top = std::max(top, id);
    std::vector<uint64_t> real_hash(static_cast<size_t>(top) + 1, 0);
    for (size_t id = 0; id < real_hash.size(); id++) {
        uint8_t key[19];
        if (id >= dests.size()) {
            std::memset(key, 0xff, sizeof key);
        } else {
            const Dest& d = dests[id];
            key[0] = d.ip.family;
            std::memcpy(key + 1, d.ip.b.data(), 16);
            key[17] = static_cast<uint8_t>(d.port >> 8);
            key[18] = static_cast<uint8_t>(d.port);
        }
        real_hash[id] = fnv(kFnvOffset, key, sizeof key);
    }
    const uint32_t size = static_cast<uint32_t>(mh.size());
    const uint8_t size_be[4] = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
                                static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
    uint64_t h = fnv(kFnvOffset, size_be, sizeof size_be);
    for (uint16_t id : mh) h = (h ^ real_hash[id]) * kFnvPrime;
    return h;
}

std::string format_fingerprint(uint64_t fingerprint) {
    static const char kHex[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; i--, fingerprint >>= 4) s[static_cast<size_t>(i)] = kHex[fingerprint & 0xf];
    return s;
}

void build_sched_tables(Service& svc, const std::vector<Dest>& dests, uint32_t mh_size) {
    std::vector<Weighted> reals = positive_reals(svc, dests);
    // All three, whatever svc.sched says: mh also forwards stateless traffic for every service.
    auto t = std::make_shared<SchedTables>();
    t->wrr_seq = build_wrr(reals);
    t->sh = build_sh(reals, dests);
    t->mh = build_mh(std::move(reals), dests, mh_size);
    if (svc.sched == Sched::mh) t->mh_fingerprint = mh_fingerprint(t->mh, dests);
    for (uint16_t id : svc.dests) t->limits = t->limits || (id < dests.size() && dests[id].u_threshold != 0);
    svc.tables = std::move(t);
}

uint16_t sched_pick(const Service& svc, const std::vector<Dest>& dests, SchedCursor& cursor,
                    const DestCounters* load, uint64_t key, LblcTable* lblc, uint32_t now_ms) {
    return svc.tables->limits ? pick<true>(svc, dests, cursor, load, key, lblc, now_ms)
                              : pick<false>(svc, dests, cursor, load, key, lblc, now_ms);
}

uint16_t least_connection(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load) {
    return svc.tables->limits ? pick_wlc<true>(svc, dests, load) : pick_wlc<false>(svc, dests, load);
}

}  // namespace dplb
