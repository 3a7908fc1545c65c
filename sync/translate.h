// Between the data plane's view of a connection and the wire's: a worker's SyncRecord becomes a
// record to send (the real's address from the snapshot), and a peer's record becomes an entry of the
// synced table (its service and real looked up in our snapshot, by address, since dest ids are each
// director's own). Pure: no sockets, no clock of its own.
#pragma once

#include <cstdint>
#include <optional>

#include "conn_table.h"
#include "snapshot.h"
#include "sync/codec.h"
#include "sync_ring.h"

namespace dplb::sync {

// The record to send for what a worker saw, or nullopt when its real's id no longer names the real
// the entry was made for (handed to another since) or the state has no IPVS number.
std::optional<SyncConn> to_wire(const SyncRecord& r, const Snapshot& snap);

// Why a peer's record is not stored (dplb_sync_dropped_total{reason=...}).
#define DPLB_SYNC_RX_DROPS(X)                                                    \
    X(syncid, "message of another syncid")                                       \
    X(not_connection, "persistence template or a protocol other than TCP/UDP")   \
    X(bad_state, "state number unknown for its protocol")                        \
    X(no_service, "vaddr:vport/protocol is none of our services")                \
    X(no_real, "daddr:dport is none of the service's reals (or it is draining)") \
    X(table_full, "synced-connection table full")

enum class RxDrop : uint8_t {
#define DPLB_X(name, text) name,
    DPLB_SYNC_RX_DROPS(DPLB_X)
#undef DPLB_X
        count
};
constexpr unsigned kRxDropCount = static_cast<unsigned>(RxDrop::count);
const char* rx_drop_name(RxDrop d);

// A peer's connection as the synced table keeps it: the key the workers' tables use, and the entry
// (our dest id and generation, the state, when it expires).
struct Resolved {
    bool v6 = false;
    ConnKey4 k4{};
    ConnKey6 k6{};
    ConnEntry entry{};
    const void* key() const { return v6 ? static_cast<const void*>(&k6) : static_cast<const void*>(&k4); }
};

// The longest a synced entry lives without news from its peer (a bound on a peer's timeout).
constexpr uint32_t kMaxSyncedTimeoutS = 86400;

// RxDrop::count when `c` names one of our services and reals, with `out` filled; else why not.
// The entry expires at now_ms + the record's timeout (the service's timeout for the state when 0).
RxDrop resolve(const SyncConn& c, const Snapshot& snap, uint32_t now_ms, Resolved& out);

}  // namespace dplb::sync
