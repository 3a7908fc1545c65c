// DataplaneApi over DPDK worker lcores: one pointer the workers load at the top of each pass, and
// DPDK's QSBR (rte_rcu_qsbr) for grace periods. The argument that a replaced View is never freed
// while a worker reads it: the control thread stores the new pointer, then rte_rcu_qsbr_start()
// bumps the token with release order; a worker reports quiescence (rte_rcu_qsbr_quiescent: token
// loaded with acquire, its counter stored with release) only at the end of a pass, after its last
// use of the view it loaded at the top. A worker whose counter shows the new token has therefore
// finished every pass that could hold the old pointer, and every later load sees the new one.
// Workers go offline when they stop, so shutdown never waits on (or frees under) a stopped worker.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dataplane_api.h"
#include "worker.h"

struct rte_rcu_qsbr;

namespace dplb {

class EalDataplane final : public DataplaneApi {
public:
    // Registers each context (proc set) with a new QSBR variable and points it at this object's
    // view and heartbeat. Call before the workers are launched. nullptr and `err` on failure.
    static std::unique_ptr<EalDataplane> create(const std::vector<WorkerContext*>& workers, std::string& err);
    ~EalDataplane() override;

    size_t worker_count() const override { return workers_.size(); }
    void publish(const View* view) override { view_.store(view, std::memory_order_release); }
    uint64_t grace_start() override;
    bool grace_done(uint64_t token) override;
    const CoreCounters& counters(size_t worker) const override { return workers_[worker]->proc->counters(); }
    void request_dump(size_t worker, DumpRequest* req) override { workers_[worker]->proc->request_dump(req); }
    void heartbeat() override;
    SyncRing* sync_ring(size_t worker) override { return workers_[worker]->proc->sync_ring(); }
    bool conn_table_fill(size_t worker, ConnTableFill& out) const override {
        const Processor& p = *workers_[worker]->proc;
        out = ConnTableFill{p.table4().size(), p.table4().capacity(), p.table6().size(), p.table6().capacity()};
        return true;
    }

private:
    EalDataplane() = default;
    std::vector<WorkerContext*> workers_;
    rte_rcu_qsbr* qsbr_ = nullptr;
    std::atomic<const View*> view_{nullptr};
    alignas(64) std::atomic<uint32_t> heartbeat_ms_{0};
};

}  // namespace dplb
