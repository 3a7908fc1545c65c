// The test rig: per worker lcore its own mbuf pool, Processor (connection tables) and queue of one
// net_ring port whose RX ring is its TX ring, pre-filled with client frames; a Wire on each TX queue
// turns what the worker sends back into client frames. The worker loop is dplbd's, unchanged.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "latency.h"
#include "options.h"
#include "port.h"
#include "processor.h"
#include "snapshot.h"
#include "wire.h"
#include "worker.h"

struct rte_mempool;
struct rte_ring;

namespace dplb::bench {

struct WorkerRig {
    unsigned lcore = 0;
    int socket = 0;
    rte_mempool* pool = nullptr;
    rte_ring* ring = nullptr;
    std::unique_ptr<Processor> proc;
    std::unique_ptr<SyncRing> sync_ring;      // --sync
    std::unique_ptr<SyncedTable> synced;      // --sync
    uint64_t capacity = 0;      // IPv4 connection table entries
    uint64_t flows = 0;         // this worker's share of the flows
    uint64_t heap_bytes = 0;    // rte_malloc heap growth while its Processor allocated its tables
    std::unique_ptr<Wire> wire;
    std::unique_ptr<LatencyProbe> probe;  // only once attach_probes() ran
    WorkerContext ctx;
};

// Counters summed over workers at one instant (read without locks, as dplbd's control thread does).
struct Sample {
    double t = 0;  // seconds, steady clock
    uint64_t rx = 0, tx = 0, forwarded = 0, drops = 0, other = 0, conns = 0, table_full = 0, expired = 0;
    uint64_t emitted = 0;
};

class Rig {
public:
    ~Rig();
    // Snapshot, pools, tables, port, wires, pre-filled rings. False with a message in `err`.
    bool build(const Options& opt, std::string& err);
    void launch(bool macswap);
    // Adds a LatencyProbe to every worker's queue (workers stopped); from then on each frame is
    // stamped at RX and timed at TX, and the probes pace what the workers receive.
    bool attach_probes(const Options& opt, std::string& err);
    void stop();
    // Waits until every wire has emitted `target(w)` frames; false if the frames stop circulating.
    bool wait_emitted(const std::vector<uint64_t>& target, double timeout_s);
    Sample sample() const;

    const Snapshot& snapshot() const { return snap_; }
    std::vector<std::unique_ptr<WorkerRig>>& workers() { return workers_; }
    const PortInfo& port() const { return port_; }
    std::atomic<bool>& quit() { return quit_; }
    const std::vector<MacAddr>& real_macs() const { return real_macs_; }

private:
    bool make_worker(WorkerRig& w, size_t index, const Options& opt, std::string& err);
    bool prefill(WorkerRig& w, const Options& opt, std::string& err);

    Snapshot snap_;
    View view_;
    std::atomic<const View*> published_{nullptr};
    std::atomic<bool> quit_{false};
    std::atomic<unsigned> wires_stopped_{0};  // wires past their stop_after (WireConfig::stopped)
    std::vector<std::unique_ptr<WorkerRig>> workers_;
    std::vector<MacAddr> real_macs_;
    PortInfo port_;
    bool port_up_ = false;
};

}  // namespace dplb::bench
