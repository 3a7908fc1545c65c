#include "latency.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include <cstdio>

namespace dplb::bench {
namespace {

int stamp_offset = -1;  // the mbuf field holding the RX TSC stamp

uint64_t& stamp(rte_mbuf* m) { return *RTE_MBUF_DYNFIELD(m, stamp_offset, uint64_t*); }

}  // namespace

unsigned CycleHistogram::bucket(uint64_t v) {
    if (v < kSub) return static_cast<unsigned>(v);
    unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(v));  // >= kSubBits
    if (e > kMaxExp) return kBuckets - 1;
    unsigned sub = static_cast<unsigned>(v >> (e - kSubBits)) & (kSub - 1);
    return (e - kSubBits + 1) * kSub + sub;
}

double CycleHistogram::value(unsigned b) {
    if (b < kSub) return b;
    unsigned e = b / kSub + kSubBits - 1, sub = b % kSub;
    double lo = static_cast<double>((uint64_t{kSub} + sub) << (e - kSubBits));
    return lo + static_cast<double>(uint64_t{1} << (e - kSubBits)) / 2;
}

void CycleHistogram::merge(const CycleHistogram& o) {
    for (unsigned i = 0; i < kBuckets; i++) counts_[i] += o.counts_[i];
}

uint64_t CycleHistogram::total() const {
    uint64_t n = 0;
    for (uint64_t c : counts_) n += c;
    return n;
}

double CycleHistogram::quantile(double q) const {
    uint64_t n = total();
    if (n == 0) return 0;
    // The smallest value with at least q of the samples at or below it.
    auto rank = static_cast<uint64_t>(q * static_cast<double>(n - 1)) + 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < kBuckets; i++) {
        seen += counts_[i];
        if (seen >= rank) return value(i);
    }
    return value(kBuckets - 1);
}

LatencyProbe::~LatencyProbe() {
    if (!hold_) return;
    rte_mbuf* m;
    while (rte_ring_sc_dequeue(hold_, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(hold_);
}

bool LatencyProbe::init(unsigned index, uint32_t frames, int socket) {
    backlog_ = frames;
    if (stamp_offset < 0) {
        static const rte_mbuf_dynfield field = {"dplb_bench_rx_tsc", sizeof(uint64_t), alignof(uint64_t), 0};
        stamp_offset = rte_mbuf_dynfield_register(&field);
        if (stamp_offset < 0) return false;
    }
    char name[32];
    std::snprintf(name, sizeof name, "bench_hold%u", index);
    hold_ = rte_ring_create(name, rte_align32pow2(frames) * 2, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    return hold_ != nullptr;
}

bool LatencyProbe::attach(uint16_t port, uint16_t queue) {
    return rte_eth_add_rx_callback(port, queue, on_rx, this) && rte_eth_add_tx_callback(port, queue, on_tx, this);
}

void LatencyProbe::set_rate(double pps) {
    interval_fp_ = pps > 0 ? static_cast<uint64_t>(static_cast<double>(rte_get_tsc_hz() << kFrac) / pps) : 0;
    next_fp_ = 0;
}

// Frames due by `now` (at most `max` per call), from the hold ring. A worker that fell behind (it was
// descheduled, say) finds at most an RX ring's worth (`frames`) due at once, as a NIC would have
// queued for it: later arrivals would have been dropped (imissed), not offered later.
uint16_t LatencyProbe::release(rte_mbuf** pkts, uint16_t max, uint64_t now) {
    uint64_t now_fp = now << kFrac;
    uint64_t slack = uint64_t{backlog_} * interval_fp_;
    if (next_fp_ + slack < now_fp) next_fp_ = now_fp - slack;
    if (next_fp_ > now_fp) return 0;
    uint64_t due = (now_fp - next_fp_) / interval_fp_ + 1;
    if (due > max) due = max;
    auto n = static_cast<uint16_t>(rte_ring_sc_dequeue_burst(hold_, reinterpret_cast<void**>(pkts),
                                                            static_cast<unsigned>(due), nullptr));
    next_fp_ += n * interval_fp_;
    return n;
}

uint16_t LatencyProbe::on_rx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, uint16_t max, void* self) {
    auto* p = static_cast<LatencyProbe*>(self);
    uint64_t now = rte_rdtsc();
    if (p->interval_fp_) {
        // Everything the ring had goes behind what is held; the due ones come out in order.
        rte_ring_sp_enqueue_burst(p->hold_, reinterpret_cast<void**>(pkts), n, nullptr);
        n = p->release(pkts, max, now);
    }
    for (uint16_t i = 0; i < n; i++) stamp(pkts[i]) = now;
    return n;
}

uint16_t LatencyProbe::on_tx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* self) {
    auto* p = static_cast<LatencyProbe*>(self);
    if (!p->recording_.load(std::memory_order_relaxed)) return n;
    uint64_t now = rte_rdtsc();
    for (uint16_t i = 0; i < n; i++) p->hist_.add(now - stamp(pkts[i]));
    return n;
}

}  // namespace dplb::bench
