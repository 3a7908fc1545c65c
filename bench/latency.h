// Latency in the worker: the time from the RX burst that handed a frame to dplb::worker_main to the
// TX burst that sent it (TX buffering included), from TSC stamps taken by two ethdev callbacks on the
// worker's queue. The RX callback also paces: it releases frames to the worker at a set rate (an
// offered load below the maximum), holding the rest of the circling frames back. Attached only for
// the latency phases, after the throughput measurements, so those run without it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

struct rte_mbuf;
struct rte_ring;

namespace dplb::bench {

// Log-linear histogram of TSC cycles: 32 sub-buckets per power of two (at most ~3 % off), exact
// below 32 cycles.
class CycleHistogram {
public:
    static constexpr unsigned kSubBits = 5, kSub = 1u << kSubBits, kMaxExp = 40;
    static constexpr unsigned kBuckets = (kMaxExp - kSubBits + 2) * kSub;

    static unsigned bucket(uint64_t cycles);
    // The middle of a bucket's range, in cycles.
    static double value(unsigned bucket);

    void add(uint64_t cycles) { counts_[bucket(cycles)]++; }
    void merge(const CycleHistogram& o);
    uint64_t total() const;
    // The q-quantile (0 < q < 1) in cycles; 0 when empty.
    double quantile(double q) const;

private:
    std::array<uint64_t, kBuckets> counts_{};
};

// One per worker queue: owns the hold ring and the histogram; the callbacks run on the worker.
class LatencyProbe {
public:
    LatencyProbe() = default;
    ~LatencyProbe();
    // Creates the hold ring (room for `frames` mbufs) and registers the mbuf field for the stamp.
    bool init(unsigned index, uint32_t frames, int socket);
    // Adds both callbacks to the port's queue (once; the worker must not be running).
    bool attach(uint16_t port, uint16_t queue);
    // Frames released per second from the next launch on (0: no pacing, every frame at once).
    void set_rate(double pps);
    // Stamps are always taken; the histogram records only while this is on (set after warm-up).
    void set_recording(bool on) { recording_.store(on, std::memory_order_relaxed); }
    // Read once the worker has stopped.
    const CycleHistogram& histogram() const { return hist_; }
    void clear() { hist_ = CycleHistogram{}; }

private:
    static uint16_t on_rx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, uint16_t max, void* self);
    static uint16_t on_tx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* self);
    uint16_t release(rte_mbuf** pkts, uint16_t max, uint64_t now);

    rte_ring* hold_ = nullptr;
    uint64_t interval_fp_ = 0;  // TSC cycles per frame << kFrac; 0 = no pacing
    uint64_t next_fp_ = 0;      // when the next frame is due, << kFrac
    uint32_t backlog_ = 0;      // most frames due at once (the circling frames: an RX ring's worth)
    std::atomic<bool> recording_{false};
    CycleHistogram hist_;
    static constexpr unsigned kFrac = 8;
};

}  // namespace dplb::bench
