// The worker loop, the same on every worker lcore: RX burst, prefetch, process, buffered TX,
// periodic flush and expiry sweep, snapshot pick-up at the top of each pass.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "net_types.h"
#include "processor.h"

struct rte_eth_dev_tx_buffer;

namespace dplb {

constexpr uint16_t kNoPort = 0xffff;

struct WorkerQueue {
    uint16_t port_id = 0;
    uint16_t queue = 0;
    MacAddr mac;
    rte_eth_dev_tx_buffer* tx = nullptr;
    // Exception path: the kernel TAP port paired with this port (kNoPort = none). Frames not for a
    // VIP go to its queue `queue`; what the kernel sends there goes out of `port_id`.
    uint16_t exc_port = kNoPort;
    rte_eth_dev_tx_buffer* exc_tx = nullptr;
};

struct WorkerContext {
    Processor* proc = nullptr;
    std::vector<WorkerQueue> queues;
    const std::atomic<const Snapshot*>* snapshot = nullptr;  // published by the control thread
    std::atomic<uint64_t> quiescent{0};  // bumped every pass: the control thread waits on it to free snapshots
    const std::atomic<bool>* quit = nullptr;
    uint32_t idle_sleep_us = 0;   // sleep this long after a pass that received nothing (0 = busy poll)
    bool macswap_only = false;    // bench/ I/O ceiling: swap MACs and send back instead of processing
};

// Allocates the TX buffers of ctx.queues on `socket`; false on allocation failure.
bool worker_prepare(WorkerContext& ctx, int socket);
void worker_release(WorkerContext& ctx);
// Runs until *ctx.quit; suitable for rte_eal_remote_launch (arg = WorkerContext*).
int worker_main(void* arg);

// Milliseconds since an arbitrary origin, from the TSC (wraps after 49 days; compares are wrap-safe).
uint32_t now_ms();

}  // namespace dplb
