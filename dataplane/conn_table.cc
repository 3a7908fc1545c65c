#include "conn_table.h"

#include <rte_cpuflags.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <cstring>

namespace dplb {

ConnTable::~ConnTable() {
    if (hash_) rte_hash_free(hash_);
}

bool ConnTable::init(const char* name, uint32_t capacity, uint32_t key_len, int socket) {
#if defined(RTE_ARCH_X86_64)
    if (!rte_cpu_get_flag_enabled(RTE_CPUFLAG_SSE4_2)) {  // crc_words() uses its crc32 instruction
        rte_errno = ENOTSUP;
        return false;
    }
#endif
    rte_hash_parameters params{};
    params.name = name;
    params.entries = capacity;
    params.key_len = key_len;
    params.hash_func = rte_hash_crc;  // SSE4.2 CRC32: cheaper than jhash for 16/40-byte keys
    params.hash_func_init_val = 0;
    params.socket_id = socket;
    // One writer, no concurrent readers: no locks, no RCU. Extendable buckets: without them an add
    // fails once a key's two buckets and its short cuckoo paths are full, from ~99.6% of the capacity
    // at 262144 entries, and removing one entry to make room for another (Processor::add_evicting)
    // worked for only ~80% of new keys in a full table of that size (measured); with them every key
    // fits until all `capacity` slots hold one, and an eviction always makes room. About 8.5 bytes more
    // per entry (an equal number of extra buckets and their free ring; see memory_bytes()).
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    hash_ = rte_hash_create(&params);
    if (!hash_) return false;
    key_len_ = key_len;
    if (!locate_slots()) {
        rte_hash_free(hash_);
        hash_ = nullptr;
        return false;
    }
    capacity_ = capacity;
    for (uint32_t i = 0; i < capacity; i++) at(static_cast<int32_t>(i)) = ConnEntry{0, 0, kFreeEntry, 0};
    return true;
}

// rte_hash keeps each key in a slot of its key store, after one word of the user's data (the value
// rte_hash_lookup_data returns), slot k + 1 for position k. Two probe keys give the word of two
// positions (just before the key rte_hash_get_key_with_position points at), so the first position's
// and the distance between positions; each is then checked: a value written into the word is the one
// rte_hash returns as the key's data, and the key follows the word. The probes are removed again.
bool ConnTable::locate_slots() {
    uint8_t k1[sizeof(ConnKey6)], k2[sizeof(ConnKey6)];
    std::memset(k1, 0xa5, sizeof k1);
    std::memset(k2, 0x5a, sizeof k2);
    const int32_t p1 = rte_hash_add_key_with_hash(hash_, k1, hash(k1));
    const int32_t p2 = rte_hash_add_key_with_hash(hash_, k2, hash(k2));
    void* key1 = nullptr;
    void* key2 = nullptr;
    bool ok = p1 >= 0 && p2 > p1 && rte_hash_get_key_with_position(hash_, p1, &key1) == 0 &&
              rte_hash_get_key_with_position(hash_, p2, &key2) == 0 && key1 && key2;
    if (ok) {
        uint8_t* w1 = static_cast<uint8_t*>(key1) - sizeof(void*);
        uint8_t* w2 = static_cast<uint8_t*>(key2) - sizeof(void*);
        const ptrdiff_t apart = w2 - w1, positions = p2 - p1;
        ok = apart > 0 && apart % positions == 0 && size_t(apart / positions) >= sizeof(void*) + key_len_;
        if (ok) {
            stride_ = static_cast<size_t>(apart / positions);
            slots_ = w1 - size_t(p1) * stride_;
            const ConnEntry e1{0x01020304, 0x0506, 7, 8}, e2{0x11121314, 0x1516, 17, 18};
            at(p1) = e1;
            at(p2) = e2;
            void *d1 = nullptr, *d2 = nullptr;
            uint64_t want1 = 0, want2 = 0;
            std::memcpy(&want1, &e1, sizeof e1);
            std::memcpy(&want2, &e2, sizeof e2);
            ok = rte_hash_lookup_with_hash_data(hash_, k1, hash(k1), &d1) == p1 &&
                 rte_hash_lookup_with_hash_data(hash_, k2, hash(k2), &d2) == p2 &&
                 reinterpret_cast<uintptr_t>(d1) == want1 && reinterpret_cast<uintptr_t>(d2) == want2 &&
                 std::memcmp(key_at(p1), k1, key_len_) == 0 && std::memcmp(key_at(p2), k2, key_len_) == 0;
        }
    }
    if (p1 >= 0) rte_hash_del_key_with_hash(hash_, k1, hash(k1));
    if (p2 >= 0) rte_hash_del_key_with_hash(hash_, k2, hash(k2));
    if (!ok) {
        slots_ = nullptr;
        rte_errno = ENOTSUP;
    }
    return ok;
}

namespace {

// rte_hash_crc over a key of N 8-byte words, without its per-call test of which CRC the CPU has
// (init() made sure it has SSE4.2's crc32, which rte_hash_crc would pick): the same value.
template <unsigned N>
inline uint32_t crc_words(const void* key) {
    const auto* p = static_cast<const uint8_t*>(key);
    uint32_t crc = 0;
    for (unsigned i = 0; i < N; i++) {
        uint64_t w;
        std::memcpy(&w, p + 8 * i, 8);
#if defined(RTE_ARCH_X86_64)
        crc = crc32c_sse42_u64(w, crc);
#else
        crc = rte_hash_crc_8byte(w, crc);
#endif
    }
    return crc;
}

}  // namespace

// The signatures computed here, with the key length known at compile time, are the ones rte_hash
// would compute through its hash_func pointer (the same rte_hash_crc, seed 0), for less: the call
// through the pointer, the generic loop, the tail cases and the test of the CPU's CRC go.
uint32_t ConnTable::hash(const void* key) const {
    return key_len_ == sizeof(ConnKey4) ? crc_words<2>(key) : crc_words<5>(key);
}

int32_t ConnTable::lookup(const void* key, uint32_t sig) const { return rte_hash_lookup_with_hash(hash_, key, sig); }

void ConnTable::lookup_bulk(const void** keys, uint32_t n, int32_t* positions) const {
    hash_sig_t sigs[RTE_HASH_LOOKUP_BULK_MAX];
    if (key_len_ == sizeof(ConnKey4)) {
        for (uint32_t i = 0; i < n; i++) sigs[i] = crc_words<2>(keys[i]);
    } else {
        for (uint32_t i = 0; i < n; i++) sigs[i] = crc_words<5>(keys[i]);
    }
    rte_hash_lookup_with_hash_bulk(hash_, keys, sigs, n, positions);
}

int32_t ConnTable::add(const void* key, uint32_t sig) {
    int32_t pos = rte_hash_add_key_with_hash(hash_, key, sig);
    // rte_hash may hand out positions up to its key-store size; the sweep looks at `capacity_`.
    if (pos >= static_cast<int32_t>(capacity_)) {
        rte_hash_del_key_with_hash(hash_, key, sig);
        return -ENOSPC;
    }
    if (pos >= 0) at(pos) = ConnEntry{0, 0, kFreeEntry, 0};  // rte_hash cleared the word: free until filled
    return pos;
}

void ConnTable::remove(int32_t pos) {
    uint8_t key[sizeof(ConnKey6)];
    std::memcpy(key, key_at(pos), key_len_);
    rte_hash_del_key_with_hash(hash_, key, hash(key));
    at(pos).state = kFreeEntry;
}

// The key follows its entry in the slot; a free entry's slot holds no key of the table.
bool ConnTable::get_key(int32_t pos, void* key_out) const {
    if (pos < 0 || static_cast<uint32_t>(pos) >= capacity_ || at(pos).state == kFreeEntry) return false;
    std::memcpy(key_out, key_at(pos), key_len_);
    return true;
}

uint32_t ConnTable::size() const { return static_cast<uint32_t>(rte_hash_count(hash_)); }

size_t ConnTable::memory_bytes() const {
    if (!hash_) return 0;
    // rte_hash does not report its footprint; this mirrors rte_hash_create's allocations for a
    // single-writer table with extendable buckets: 64-byte buckets of 8 slots (power of two >=
    // entries/8) and as many extension buckets with a free ring of 4-byte indexes (power of two >
    // buckets), a key store of (entries + 1) slots of key+8 bytes rounded to 16, and a free-slot ring
    // of 4-byte indexes (power of two > entries). Our 8-byte entries live in the key slots' data words.
    auto pow2 = [](uint64_t v) {
        uint64_t p = 1;
        while (p < v) p <<= 1;
        return p;
    };
    uint64_t buckets = pow2((capacity_ + 7) / 8);
    uint64_t key_slot = (key_len_ + 8 + 15) / 16 * 16;
    uint64_t bytes = 2 * buckets * 64 + pow2(buckets + 1) * 4 + (uint64_t{capacity_} + 1) * key_slot +
                     pow2(uint64_t{capacity_} + 1) * 4;
    return static_cast<size_t>(bytes);
}

}  // namespace dplb
