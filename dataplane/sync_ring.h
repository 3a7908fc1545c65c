// Data plane -> control: what a worker tells the connection-sync sender (sync/sender.h). A fixed-size
// single-producer / single-consumer ring per worker: the worker pushes a record when it makes a
// connection entry or moves one into a state worth synchronising, the control thread pops them in
// batches. Never blocks, no syscall, no heap: when the ring is full the record is dropped and counted
// (CoreCounters::sync_ring_full), which the protocol tolerates (a later state change or the peer's
// own entry covers it; sync is loss-tolerant by design, as IPVS's).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace dplb {

// One connection as the worker saw it: its 5-tuple, the real it goes to (dest id and generation in
// the worker's snapshot; the control thread turns them into an address) and its state.
struct SyncRecord {
    uint8_t family;  // 4 or 6
    uint8_t proto;
    uint8_t state;   // TcpState or kUdpState
    uint8_t gen;     // Dest::gen of `dest` when the entry was made
    uint16_t dest;
    uint16_t cport, vport;  // host order
    uint16_t svc;
    uint8_t caddr[16], vaddr[16];  // IPv4 in the first 4 bytes
};
static_assert(sizeof(SyncRecord) == 44, "SyncRecord stays 44 bytes");

class SyncRing {
public:
    static constexpr uint32_t kDefaultSlots = 4096;

    explicit SyncRing(uint32_t slots = kDefaultSlots) : mask_(round_up(slots) - 1), slots_(new SyncRecord[mask_ + 1]) {}

    // Worker side. False when full (the caller counts it).
    bool push(const SyncRecord& r) {
        const uint32_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_cache_ > mask_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head - tail_cache_ > mask_) return false;
        }
        slots_[head & mask_] = r;
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Control side: up to `max` records into `out`; returns how many.
    uint32_t pop(SyncRecord* out, uint32_t max) {
        const uint32_t tail = tail_.load(std::memory_order_relaxed);
        const uint32_t head = head_.load(std::memory_order_acquire);
        uint32_t n = head - tail;
        if (n > max) n = max;
        for (uint32_t i = 0; i < n; i++) out[i] = slots_[(tail + i) & mask_];
        tail_.store(tail + n, std::memory_order_release);
        return n;
    }

    uint32_t capacity() const { return mask_ + 1; }

private:
    static uint32_t round_up(uint32_t n) {
        uint32_t p = 1;
        while (p < n) p <<= 1;
        return p;
    }
    const uint32_t mask_;
    std::unique_ptr<SyncRecord[]> slots_;
    alignas(64) std::atomic<uint32_t> head_{0};  // written by the worker
    uint32_t tail_cache_ = 0;                    // the worker's last look at tail_
    alignas(64) std::atomic<uint32_t> tail_{0};  // written by the control thread
};

}  // namespace dplb
