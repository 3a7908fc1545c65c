// A worker's own connection table: an rte_hash keyed by the 5-tuple. Each 8-byte entry lives in its
// key's slot of the hash's key store, in the word rte_hash keeps beside every key for its user's data
// (what rte_hash_lookup_data returns), so the lookup that compares the key has brought the entry into
// the cache with it: one cache miss fewer per packet once the table is larger than the cache than with
// entries in an array of their own (and 8 bytes less per connection). Where that word lies is found
// and checked when the table is made (init; see locate_slots). Single writer (its worker), no locks.
// Entries leave by an incremental sweep (bounded work per loop pass) or when a packet finds them
// expired: no timer per connection.
#pragma once

#include <cstddef>
#include <cstdint>

struct rte_hash;

namespace dplb {

// Keys have no member initialisers (a burst's worth live on the worker's stack): value-initialise
// them (`ConnKey4 k{}`) so the padding, which the hash reads, is zero.
struct ConnKey4 {
    uint32_t src, dst;      // network order
    uint16_t sport, dport;  // host order
    uint8_t proto;          // 0 marks a persistence template
    uint8_t pad[3];
};
static_assert(sizeof(ConnKey4) == 16, "ConnKey4 must stay 16 bytes");

struct ConnKey6 {
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint8_t proto;
    uint8_t pad[3];
};
static_assert(sizeof(ConnKey6) == 40, "ConnKey6 must stay 40 bytes");

constexpr uint8_t kFreeEntry = 0xff;

struct ConnEntry {
    uint32_t expire_ms;  // the entry is gone once now_ms reaches this (wrap-safe compare)
    uint16_t dest;       // dest id in the snapshot
    uint8_t state;       // TcpState, kUdpState, kTemplateState, or kFreeEntry
    uint8_t gen;         // Dest::gen of `dest` when the entry was made
};
static_assert(sizeof(ConnEntry) == 8, "ConnEntry must stay 8 bytes");

inline bool time_reached(uint32_t now_ms, uint32_t deadline_ms) {
    return static_cast<int32_t>(now_ms - deadline_ms) >= 0;
}

class ConnTable {
public:
    ConnTable() = default;
    ~ConnTable();
    ConnTable(const ConnTable&) = delete;
    ConnTable& operator=(const ConnTable&) = delete;

    // Allocates the hash and the entry array on `socket`. Returns false (and sets rte_errno) on failure.
    bool init(const char* name, uint32_t capacity, uint32_t key_len, int socket);

    // The key's signature, as rte_hash would compute it (rte_hash_crc, seed 0), with the key length
    // known here: cheaper than rte_hash's own call through its hash function pointer. A miss's add
    // computes it again rather than keeping the lookup's for every packet of the burst: keeping them
    // cost hits ~7 instructions each, recomputing costs a new connection ~10 (callgrind).
    uint32_t hash(const void* key) const;
    int32_t lookup(const void* key) const { return lookup(key, hash(key)); }  // position, or negative when absent
    int32_t lookup(const void* key, uint32_t sig) const;
    // Up to 64 keys; positions[i] < 0 when absent.
    void lookup_bulk(const void** keys, uint32_t n, int32_t* positions) const;
    // Position of a key the caller found absent, its entry free (state kFreeEntry) for the caller to
    // fill; negative when full. (rte_hash would give a present key's position and clear its data.)
    int32_t add(const void* key) { return add(key, hash(key)); }
    int32_t add(const void* key, uint32_t sig);
    // Removes the key at `pos`, which must hold one (a live entry, or one add() just gave).
    void remove(int32_t pos);

    ConnEntry& at(int32_t pos) { return *reinterpret_cast<ConnEntry*>(slot(pos)); }
    const ConnEntry& at(int32_t pos) const { return *reinterpret_cast<const ConnEntry*>(slot(pos)); }
    // The key of the entry at `pos`; false for a free entry.
    bool get_key(int32_t pos, void* key_out) const;
    uint32_t capacity() const { return capacity_; }
    uint32_t size() const;
    // Bytes actually allocated for the table: hash buckets, key store, free-slot rings, entries.
    size_t memory_bytes() const;

    // Looks at up to `budget` positions from where the last call stopped; each expired entry is
    // handed to on_expire(entry) and removed, each live one to on_live(pos, entry). Returns the number
    // removed.
    template <class F, class L>
    uint32_t sweep(uint32_t now_ms, uint32_t budget, F&& on_expire, L&& on_live) {
        uint32_t removed = 0;
        for (uint32_t i = 0; i < budget && capacity_ > 0; i++) {
            uint32_t pos = cursor_;
            if (cursor_ + 1 == capacity_) {  // a round ends, the next begins
                cursor_ = 0;
                round_from_ms_ = rounds_++ ? round_to_ms_ : now_ms;
                round_to_ms_ = now_ms;
            } else {
                cursor_++;
            }
            ConnEntry& e = at(static_cast<int32_t>(pos));
            if (e.state == kFreeEntry) continue;
            if (!time_reached(now_ms, e.expire_ms)) {
                on_live(static_cast<int32_t>(pos), e);
                continue;
            }
            on_expire(e);
            remove(static_cast<int32_t>(pos));
            removed++;
        }
        return removed;
    }
    template <class F>
    uint32_t sweep(uint32_t now_ms, uint32_t budget, F&& on_expire) {
        return sweep(now_ms, budget, on_expire, [](int32_t, const ConnEntry&) {});
    }
    // The span [from, to) of the sweep's last whole round: `to` is when the cursor last wrapped to slot
    // 0, `from` when it wrapped before that (empty until it has wrapped twice). Successive spans tile
    // time, so a moment lies in exactly one of them (ms clock: use differences, wrap-safe).
    uint32_t round_from_ms() const { return round_from_ms_; }
    uint32_t round_to_ms() const { return round_to_ms_; }

    // An entry to give up when add() fails (IPVS's drop_entry, net/netfilter/ipvs/ip_vs_conn.c): looks at
    // up to `budget` slots from where the last call stopped and returns an expired entry if it meets
    // one, else the live entry for which evictable(state) holds that expires soonest (the oldest, for
    // entries of one timeout), or -1. The next call starts just past the slot returned: a slot freed
    // here is where the next add() lands (rte_hash reuses the freed key slot), so the entry that took
    // it is not looked at again before a whole pass of the table, and eviction goes oldest first.
    template <class F>
    int32_t find_victim(uint32_t now_ms, uint32_t budget, F&& evictable) {
        int32_t best = -1;
        uint32_t best_left = UINT32_MAX, pos = evict_cursor_, after_best = pos;
        for (uint32_t i = 0; i < budget && capacity_ > 0; i++) {
            const ConnEntry& e = at(static_cast<int32_t>(pos));
            uint32_t next = pos + 1 == capacity_ ? 0 : pos + 1;
            if (e.state != kFreeEntry) {
                if (time_reached(now_ms, e.expire_ms)) {
                    best = static_cast<int32_t>(pos);
                    after_best = next;
                    break;
                }
                uint32_t left = e.expire_ms - now_ms;
                if (evictable(e.state) && left < best_left) {
                    best = static_cast<int32_t>(pos);
                    best_left = left;
                    after_best = next;
                }
            }
            pos = next;
        }
        evict_cursor_ = best >= 0 ? after_best : pos;
        return best;
    }

    // Pressure: add() failed at `now_ms` (the table was full, or the key's buckets were).
    // full_recently() holds while the table is still as full as it was then, and for `window_ms` after
    // it was last seen so. Costs a ring count (rte_hash_count); meant for misses, not for every packet.
    void note_full(uint32_t now_ms) {
        full_seen_ = true;
        full_at_ms_ = now_ms;
        full_size_ = size();
    }
    bool full_recently(uint32_t now_ms, uint32_t window_ms) {
        if (!full_seen_) return false;
        if (size() >= full_size_) {
            full_at_ms_ = now_ms;
            return true;
        }
        if (now_ms - full_at_ms_ < window_ms) return true;
        full_seen_ = false;  // so the 32-bit clock's wrap never brings an old mark back
        return false;
    }

    // Visits every live entry (control-plane listing; not for the hot path).
    template <class F>
    void for_each(F&& fn) const {
        for (uint32_t pos = 0; pos < capacity_; pos++) {
            const ConnEntry& e = at(static_cast<int32_t>(pos));
            if (e.state != kFreeEntry) fn(static_cast<int32_t>(pos), e);
        }
    }

private:
    // Finds where rte_hash keeps position 0's data word (slots_) and how far apart positions' are
    // (stride_), from probe keys, and checks it; false (rte_errno ENOTSUP) if this rte_hash does not
    // keep them as expected.
    bool locate_slots();
    // Position `pos`'s slot: its entry (rte_hash's data word), then its key.
    uint8_t* slot(int32_t pos) const { return slots_ + size_t(uint32_t(pos)) * stride_; }
    const uint8_t* key_at(int32_t pos) const { return slot(pos) + sizeof(void*); }

    rte_hash* hash_ = nullptr;
    uint8_t* slots_ = nullptr;  // the entry of position p is at slots_ + p * stride_
    size_t stride_ = 0;
    uint32_t capacity_ = 0;
    uint32_t key_len_ = 0;
    uint32_t cursor_ = 0;
    uint32_t round_from_ms_ = 0, round_to_ms_ = 0, rounds_ = 0;
    uint32_t evict_cursor_ = 0;
    uint32_t full_at_ms_ = 0;
    uint32_t full_size_ = 0;
    bool full_seen_ = false;
};

}  // namespace dplb
