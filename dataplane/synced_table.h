// Connections that peer directors synchronised to us (sync/receiver.h), for the workers to adopt.
//
// One writer, lock-free readers: the control thread adds, updates and removes entries; a worker looks
// one up only when a packet misses its own table (so the established hit path is unchanged) and, on a
// hit here, copies it into its own table (Processor::adopt). The argument that a reader never sees a
// torn or recycled entry:
// - the tables are rte_hash with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF: lookups take no lock and
//   retry when the writer moved a key under them (the hash's change counter); the value is one 64-bit
//   word (a ConnEntry) stored in the hash's data pointer, written and read whole (atomic store/load in
//   rte_hash), so an update is seen entirely or not at all;
// - a removed key's slot is not handed out again by rte_hash (with that flag rte_hash_del_key does not
//   free it): remove() returns its position, and the control thread frees it with reclaim() only after
//   a grace period (DataplaneApi::grace_start / grace_done, the workers' rte_rcu_qsbr quiescent points)
//   started after the removal is done. A worker reports quiescence at the end of a loop pass, after its
//   last lookup of that pass, so no lookup that could have seen the old key is still running.
// Entries expire by their timeout: a worker ignores an entry past expire_ms, and the control thread's
// sweep (expire) removes them.
#pragma once

#include <cstdint>
#include <vector>

#include "conn_table.h"

struct rte_hash;

namespace dplb {

class SyncedTable {
public:
    SyncedTable() = default;
    ~SyncedTable();
    SyncedTable(const SyncedTable&) = delete;
    SyncedTable& operator=(const SyncedTable&) = delete;

    // Allocates the IPv4 and IPv6 tables. False (rte_errno set) on failure.
    bool init(const char* name, uint32_t capacity4, uint32_t capacity6, int socket);

    // Worker side: the entry for `key` (a ConnKey4 or ConnKey6 as the worker's own table keys it).
    bool find(const void* key, bool v6, ConnEntry& out) const;

    // Control side (the one writer). put() adds or replaces; false when the table is full.
    bool put(const void* key, bool v6, const ConnEntry& e);
    // A removed slot waiting for a grace period before reclaim().
    struct Retired {
        bool v6;
        int32_t pos;
    };
    // Removes up to `budget` entries (looked at from where the last call stopped) whose time has
    // come; their slots are appended to `retired`. Returns how many were removed.
    uint32_t expire(uint32_t now_ms, uint32_t budget, std::vector<Retired>& retired);
    // Hands retired slots back to the hash: only once no worker can still be reading them.
    void reclaim(const std::vector<Retired>& retired);

    uint32_t size() const;
    uint32_t capacity() const { return capacity4_ + capacity6_; }

private:
    rte_hash* h4_ = nullptr;
    rte_hash* h6_ = nullptr;
    uint32_t capacity4_ = 0, capacity6_ = 0;
    uint32_t cursor4_ = 0, cursor6_ = 0;
};

}  // namespace dplb
