// What the control plane may do to the workers, and nothing more: publish a View, wait (without
// blocking) for a grace period, read counters, ask for a connection listing, beat the heartbeat.
// Director talks to the data plane only through this, so its logic is tested with a fake
// (tests/fake_dataplane.h) and runs on DPDK workers through EalDataplane.
#pragma once

#include <cstddef>
#include <cstdint>

#include "counters.h"
#include "processor.h"
#include "snapshot.h"

namespace dplb {

// A worker's connection tables: live entries (templates included) and capacity, per family.
struct ConnTableFill {
    uint32_t entries4 = 0, capacity4 = 0, entries6 = 0, capacity6 = 0;
};

class DataplaneApi {
public:
    virtual ~DataplaneApi() = default;

    virtual size_t worker_count() const = 0;
    // Every worker reads `view` from its next pass on. The caller keeps it (and whatever it replaced)
    // alive until a grace period started after this call is done.
    virtual void publish(const View* view) = 0;
    // Starts a grace period and returns its token; grace_done(token) is true once every worker has
    // passed a quiescent point (or stopped) since. Never blocks.
    virtual uint64_t grace_start() = 0;
    virtual bool grace_done(uint64_t token) = 0;
    // A worker's own counters (read without locks; aligned 64/32-bit loads).
    virtual const CoreCounters& counters(size_t worker) const = 0;
    // Hands a listing request to a worker, served a chunk per pass; nullptr withdraws the pending one
    // (keep it alive until a grace period started after that is done).
    virtual void request_dump(size_t worker, DumpRequest* req) = 0;
    // The control thread is alive (see WorkerContext::heartbeat_ms).
    virtual void heartbeat() = 0;
    // A worker's connection-sync ring (sync_ring.h); nullptr where sync is off.
    virtual SyncRing* sync_ring(size_t worker) {
        (void)worker;
        return nullptr;
    }
    // A worker's table fill (read without locks: ring counts, a moment's figure); false where the
    // data plane has no tables to report.
    virtual bool conn_table_fill(size_t worker, ConnTableFill& out) const {
        (void)worker;
        (void)out;
        return false;
    }
};

}  // namespace dplb
