#include "eal_dataplane.h"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace dplb {

std::unique_ptr<EalDataplane> EalDataplane::create(const std::vector<WorkerContext*>& workers, std::string& err) {
    std::unique_ptr<EalDataplane> dp(new EalDataplane());
    dp->workers_ = workers;
    uint32_t n = workers.empty() ? 1 : static_cast<uint32_t>(workers.size());
    size_t size = rte_rcu_qsbr_get_memsize(n);
    dp->qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("dplb_qsbr", size, RTE_CACHE_LINE_SIZE));
    if (!dp->qsbr_ || rte_rcu_qsbr_init(dp->qsbr_, n) != 0) {
        err = std::string("cannot set up the workers' grace periods (rte_rcu_qsbr): ") + rte_strerror(rte_errno);
        return nullptr;
    }
    dp->heartbeat();
    for (size_t i = 0; i < workers.size(); i++) {
        WorkerContext& ctx = *workers[i];
        ctx.view = &dp->view_;
        ctx.qsbr = dp->qsbr_;
        ctx.qsbr_id = static_cast<unsigned>(i);
        ctx.heartbeat_ms = &dp->heartbeat_ms_;
        if (rte_rcu_qsbr_thread_register(dp->qsbr_, ctx.qsbr_id) != 0) {
            err = "cannot register worker " + std::to_string(i) + " for grace periods";
            return nullptr;
        }
    }
    return dp;
}

EalDataplane::~EalDataplane() { rte_free(qsbr_); }

uint64_t EalDataplane::grace_start() { return rte_rcu_qsbr_start(qsbr_); }

bool EalDataplane::grace_done(uint64_t token) { return rte_rcu_qsbr_check(qsbr_, token, false) == 1; }

void EalDataplane::heartbeat() { heartbeat_ms_.store(now_ms(), std::memory_order_relaxed); }

}  // namespace dplb
