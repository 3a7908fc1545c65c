// The sync channel's own counters (the workers' side is in CoreCounters: sync_queued, sync_ring_full,
// sync_adopted). Written by the control thread, read by the metrics exposer's threads: relaxed atomics.
#pragma once

#include <atomic>
#include <cstdint>

#include "sync/codec.h"
#include "sync/translate.h"

namespace dplb::sync {

struct Stats {
    std::atomic<uint64_t> sent_messages{0}, sent_conns{0}, send_errors{0};
    std::atomic<uint64_t> stale_records{0};  // worker records whose real was gone when drained
    std::atomic<uint64_t> received_messages{0}, received_conns{0}, stored{0}, own_messages{0};
    std::atomic<uint64_t> expired{0};  // synced entries removed by timeout
    std::atomic<uint64_t> skipped{0};  // records with an unknown mandatory parameter
    std::atomic<uint64_t> malformed[static_cast<unsigned>(DecodeError::count)]{};  // whole datagrams
    std::atomic<uint64_t> dropped[kRxDropCount]{};                                  // single records
    std::atomic<uint64_t> synced_entries{0};  // entries in the synced table now (a gauge)
};

}  // namespace dplb::sync
