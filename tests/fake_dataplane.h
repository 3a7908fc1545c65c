// A DataplaneApi without DPDK, for Director tests: it keeps what was published, hands out grace
// tokens that complete only when the test says so, and lets the test write the workers' counters.
#pragma once

#include <memory>
#include <vector>

#include "dataplane_api.h"

namespace dplb::test {

class FakeDataplane final : public DataplaneApi {
public:
    explicit FakeDataplane(size_t workers) {
        for (size_t i = 0; i < workers; i++) counters_.push_back(std::make_unique<CoreCounters>());
        dumps.assign(workers, nullptr);
    }
    size_t worker_count() const override { return counters_.size(); }
    void publish(const View* v) override {
        view = v;
        publishes++;
    }
    uint64_t grace_start() override { return ++started_; }
    // Grace periods up to `completed` are over; by default every one ends at once.
    bool grace_done(uint64_t token) override { return hold_grace ? token <= completed : true; }
    const CoreCounters& counters(size_t w) const override { return *counters_[w]; }
    void request_dump(size_t w, DumpRequest* req) override { dumps[w] = req; }
    void heartbeat() override { beats++; }
    SyncRing* sync_ring(size_t w) override { return w < rings.size() ? rings[w] : nullptr; }
    bool conn_table_fill(size_t w, ConnTableFill& out) const override {
        if (w >= fills.size()) return false;
        out = fills[w];
        return true;
    }

    CoreCounters& counters_rw(size_t w) { return *counters_[w]; }
    void complete_all_grace() { completed = started_; }

    const View* view = nullptr;
    uint64_t publishes = 0, beats = 0;
    bool hold_grace = false;
    uint64_t completed = 0;
    std::vector<DumpRequest*> dumps;
    std::vector<ConnTableFill> fills;  // per worker; none: the data plane reports no fill
    std::vector<SyncRing*> rings;      // per worker; none: sync off

private:
    std::vector<std::unique_ptr<CoreCounters>> counters_;
    uint64_t started_ = 0;
};

}  // namespace dplb::test
