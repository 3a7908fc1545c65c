// The worker loop, the same on every worker lcore: RX burst, prefetch, process, buffered TX,
// periodic flush and expiry sweep, snapshot pick-up at the top of each pass.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "net_types.h"
#include "processor.h"

struct rte_eth_dev_tx_buffer;
struct rte_rcu_qsbr;

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

// One per worker lcore, cache-line aligned: nothing a worker writes shares a line with another's.
struct alignas(64) WorkerContext {
    Processor* proc = nullptr;
    std::vector<WorkerQueue> queues;
    const std::atomic<const View*>* view = nullptr;  // published by the control thread
    // The worker reports a quiescent state here at the end of every pass (rte_rcu_qsbr; the control
    // thread frees a replaced View only after every worker has). nullptr: not registered (benchmarks).
    rte_rcu_qsbr* qsbr = nullptr;
    unsigned qsbr_id = 0;
    // The control thread's heartbeat (now_ms() of its last beat). While it is older than the View's
    // failsafe_ms, VIPs owned through VRRP are withheld: a stuck control thread sends no adverts, its
    // peer takes the VIPs, and two directors must not answer for them. nullptr: never stalled.
    const std::atomic<uint32_t>* heartbeat_ms = nullptr;
    const std::atomic<bool>* quit = nullptr;
    uint32_t idle_sleep_us = 0;   // sleep this long after a pass that received nothing (0 = busy poll)
    bool macswap_only = false;    // bench/ I/O ceiling: swap MACs and send back instead of processing
};

// Allocates the TX buffers of ctx.queues on `socket`; false on allocation failure.
bool worker_prepare(WorkerContext& ctx, int socket);
void worker_release(WorkerContext& ctx);
// Runs until *ctx.quit; suitable for rte_eal_remote_launch (arg = WorkerContext*).
int worker_main(void* arg);

// Whether a heartbeat last seen at `beat_ms` is stale at `now_ms` under a fail-safe of `failsafe_ms` (0 = off).
inline bool heartbeat_stale(uint32_t now_ms, uint32_t beat_ms, uint32_t failsafe_ms) {
    return failsafe_ms != 0 && static_cast<int32_t>(now_ms - beat_ms) > static_cast<int32_t>(failsafe_ms);
}

// Milliseconds since an arbitrary origin, from the TSC (wraps after 49 days; compares are wrap-safe).
uint32_t now_ms();

}  // namespace dplb
