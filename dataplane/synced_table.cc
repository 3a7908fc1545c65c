#include "synced_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>

#include <cstdio>
#include <cstring>

namespace dplb {
namespace {

rte_hash* make(const char* name, uint32_t capacity, uint32_t key_len, int socket) {
    rte_hash_parameters p{};
    p.name = name;
    p.entries = capacity;
    p.key_len = key_len;
    p.hash_func = rte_jhash;
    p.socket_id = socket;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    return rte_hash_create(&p);
}

uint64_t pack(const ConnEntry& e) {
    uint64_t v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

ConnEntry unpack(const void* data) {
    uint64_t v = reinterpret_cast<uintptr_t>(data);
    ConnEntry e;
    std::memcpy(&e, &v, sizeof e);
    return e;
}

}  // namespace

static_assert(sizeof(ConnEntry) == sizeof(uint64_t) && sizeof(void*) == sizeof(uint64_t),
              "a ConnEntry travels in the hash's data pointer");

SyncedTable::~SyncedTable() {
    rte_hash_free(h4_);
    rte_hash_free(h6_);
}

bool SyncedTable::init(const char* name, uint32_t capacity4, uint32_t capacity6, int socket) {
    char n[RTE_HASH_NAMESIZE];
    std::snprintf(n, sizeof n, "%s4", name);
    h4_ = make(n, capacity4, sizeof(ConnKey4), socket);
    std::snprintf(n, sizeof n, "%s6", name);
    h6_ = h4_ ? make(n, capacity6, sizeof(ConnKey6), socket) : nullptr;
    capacity4_ = capacity4;
    capacity6_ = capacity6;
    return h4_ && h6_;
}

bool SyncedTable::find(const void* key, bool v6, ConnEntry& out) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(v6 ? h6_ : h4_, key, &data) < 0) return false;
    out = unpack(data);
    return true;
}

bool SyncedTable::put(const void* key, bool v6, const ConnEntry& e) {
    return rte_hash_add_key_data(v6 ? h6_ : h4_, key, reinterpret_cast<void*>(static_cast<uintptr_t>(pack(e)))) == 0;
}

uint32_t SyncedTable::expire(uint32_t now_ms, uint32_t budget, std::vector<Retired>& retired) {
    uint32_t removed = 0;
    auto sweep = [&](rte_hash* h, uint32_t& cursor, bool v6) {
        const void* key;
        void* data;
        for (uint32_t seen = 0; seen < budget; seen++) {
            int32_t pos = rte_hash_iterate(h, &key, &data, &cursor);
            if (pos < 0) {
                cursor = 0;  // a pass is over; the next call starts another
                return;
            }
            if (!time_reached(now_ms, unpack(data).expire_ms)) continue;
            int32_t del = rte_hash_del_key(h, key);
            if (del >= 0) {
                retired.push_back(Retired{v6, del});
                removed++;
            }
        }
    };
    sweep(h4_, cursor4_, false);
    sweep(h6_, cursor6_, true);
    return removed;
}

void SyncedTable::reclaim(const std::vector<Retired>& retired) {
    for (const Retired& r : retired) rte_hash_free_key_with_position(r.v6 ? h6_ : h4_, r.pos);
}

uint32_t SyncedTable::size() const {
    return static_cast<uint32_t>(rte_hash_count(h4_) + rte_hash_count(h6_));
}

}  // namespace dplb
