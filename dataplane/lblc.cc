#include "lblc.h"

#include "flow_hash.h"
#include "scheduler.h"

namespace dplb {

namespace {

bool older_than(uint32_t now_ms, uint32_t then_ms, uint32_t age_ms) { return now_ms - then_ms >= age_ms; }

uint64_t overhead(const DestCounters* load, uint16_t id) {
    return load ? uint64_t{load[id].active} * 256 + load[id].inactive : 0;  // IPVS's conn_overhead
}

// ip_vs_lblc.c / ip_vs_lblcr.c is_overloaded: the real has more active connections than its weight
// while some real of the service is below half of its own.
bool lblc_overloaded(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load, uint16_t id) {
    if (!load || load[id].active <= dests[id].weight) return false;
    for (uint16_t d : svc.dests)
        if (uint64_t{load[d].active} * 2 < dests[d].weight) return true;
    return false;
}

}  // namespace

LblcTable::LblcTable(uint32_t entries) : slots_(entries), mask_(entries - 1) {}

LblcTable::Entry* LblcTable::find(uint16_t svc, uint64_t key, uint32_t now_ms) {
    for (unsigned i = 0; i < kProbe; i++) {
        Entry& e = slots_[(mix64(key ^ svc) + i) & mask_];
        if (e.size && e.key == key && e.svc == svc) {
            if (older_than(now_ms, e.lastuse, kExpirationMs)) {
                e.size = 0;  // expired: as if swept
                return nullptr;
            }
            return &e;
        }
    }
    return nullptr;
}

// A free slot (or an expired one, or one unused for kEntryTimeoutMs) near the key; nullptr: full.
LblcTable::Entry* LblcTable::make(uint16_t svc, uint64_t key, uint32_t now_ms) {
    Entry* victim = nullptr;
    for (unsigned i = 0; i < kProbe; i++) {
        Entry& e = slots_[(mix64(key ^ svc) + i) & mask_];
        if (!e.size || older_than(now_ms, e.lastuse, kExpirationMs)) {
            victim = &e;
            break;
        }
        if (!victim && older_than(now_ms, e.lastuse, kEntryTimeoutMs)) victim = &e;
    }
    if (!victim) {
        (*full_)++;
        return nullptr;
    }
    *victim = Entry{};
    victim->key = key;
    victim->svc = svc;
    victim->lastuse = victim->lastmod = now_ms;
    return victim;
}

// Members whose id went to another real, left the service or were removed are no members (IPVS
// takes a removed real out of its sets).
void LblcTable::drop_stale_members(Entry& e, const Service& svc, const std::vector<Dest>& dests) {
    uint8_t n = 0;
    for (uint8_t i = 0; i < e.size; i++) {
        uint16_t id = e.dest[i];
        bool ok = id < dests.size() && dests[id].in_use && dests[id].gen == e.gen[i] && dests[id].svc == svc.id &&
                  !dests[id].draining;
        if (!ok) continue;
        e.dest[n] = id;
        e.gen[n++] = e.gen[i];
    }
    e.size = n;
}

uint16_t LblcTable::pick(const Service& svc, const std::vector<Dest>& dests, const DestCounters* load,
                         uint64_t daddr_hash, uint32_t now_ms) {
    const bool replicated = svc.sched == Sched::lblcr;
    Entry* e = find(svc.id, daddr_hash, now_ms);
    if (e) {
        e->lastuse = now_ms;
        drop_stale_members(*e, svc, dests);
        const bool limits = svc.tables->limits;
        // lblc: the cached real, if it has weight and is not overloaded in lblc's sense.
        // lblcr: the least loaded member (weight > 0, not over its u_threshold), after the set lost
        // its most loaded member if it has not grown for kExpirationMs.
        uint16_t best = kNoDest;
        if (!replicated) {
            if (e->size && dests[e->dest[0]].weight > 0) best = e->dest[0];
        } else {
            uint64_t best_oh = 0, best_w = 1;
            for (uint8_t i = 0; i < e->size; i++) {
                uint16_t id = e->dest[i];
                uint64_t w = dests[id].weight;
                if (w == 0 || (limits && load && load[id].overloaded)) continue;
                uint64_t oh = overhead(load, id);
                if (best == kNoDest || best_oh * w > oh * best_w) best = id, best_oh = oh, best_w = w;
            }
            if (e->size > 1 && now_ms - e->lastmod > kExpirationMs) {  // IPVS: time_after(now, lastmod + exp)
                int most = -1;
                uint64_t most_oh = 0, most_w = 1;
                for (uint8_t i = 0; i < e->size; i++) {
                    uint64_t w = dests[e->dest[i]].weight;
                    if (w == 0) continue;
                    uint64_t oh = overhead(load, e->dest[i]);
                    if (most < 0 || most_oh * w < oh * most_w) most = i, most_oh = oh, most_w = w;
                }
                if (most >= 0) {
                    for (uint8_t i = static_cast<uint8_t>(most); i + 1 < e->size; i++) {
                        e->dest[i] = e->dest[i + 1];
                        e->gen[i] = e->gen[i + 1];
                    }
                    e->size--;
                }
            }
        }
        if (best != kNoDest && !lblc_overloaded(svc, dests, load, best)) return best;
    }
    uint16_t d = least_connection(svc, dests, load);
    if (d == kNoDest) return d;
    if (!e) e = make(svc.id, daddr_hash, now_ms);
    if (!e) return d;  // no room: the real chosen all the same
    if (!replicated) {
        e->size = 1;
        e->dest[0] = d;
        e->gen[0] = dests[d].gen;
        return d;
    }
    for (uint8_t i = 0; i < e->size; i++)
        if (e->dest[i] == d) return d;
    if (e->size == kMaxSet) {
        (*full_)++;
        return d;
    }
    e->dest[e->size] = d;
    e->gen[e->size++] = dests[d].gen;
    e->lastmod = now_ms;
    return d;
}

}  // namespace dplb
