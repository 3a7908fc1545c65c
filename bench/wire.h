// The "wire" between the director's TX and its RX on the looped net_ring port: a TX callback that
// sees every frame the worker sends (and, in smoke mode, checks its MACs), then turns it back into
// the next client frame of the traffic model, so a fixed set of mbufs circles through the worker
// and no generator core is needed. It runs on the worker's core, inside rte_eth_tx_burst, so its
// cost is charged to whatever is measured; the MAC-swap ceiling pays exactly the same cost.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "net_types.h"

struct rte_mbuf;

namespace dplb::bench {

enum class Traffic {
    established,  // every flow opened once (SYN, then ACK), then pure ACKs: lookup + forward
    mix,          // after opening, each flow cycles SYN, 6 x ACK, FIN (1/8, 3/4, 1/8), reusing its entry
    syn,          // SYN flood: every frame is a new flow that the table has never seen
};
const char* traffic_name(Traffic t);

// Where the header fields of the template frame sit (untagged Ethernet, IPv4 without options, TCP).
constexpr unsigned kOffTtl = 22, kOffSrcIp = 26, kOffSport = 34, kOffTcpFlags = 47;
constexpr uint8_t kTtl = 64;

struct WireConfig {
    Traffic traffic = Traffic::established;
    uint32_t flows = 1;     // distinct flows this worker sees (established, mix)
    unsigned worker = 0;    // keeps each worker's client addresses apart
    MacAddr port_mac;       // what a client frame is addressed to
    MacAddr client_mac;     // what a client frame comes from
    bool check = false;     // smoke: verify every output frame's MACs, and a forwarded one's TTL and checksum
    bool macswap = false;   // output is the ceiling's MAC swap, not a DR rewrite
    std::vector<MacAddr> real_macs;  // DR output must go to one of these
    // With stop_after (0: never): once each of `wires` wires has emitted its stop_after frames
    // (`stopped` counts them), `quit` is set. Waiting for all keeps a fast worker from ending the
    // run before a slow one (one sharing its CPU) has even warmed up.
    std::atomic<bool>* quit = nullptr;
    std::atomic<unsigned>* stopped = nullptr;
    unsigned wires = 1;
    uint64_t stop_after = 0;
};

class Wire {
public:
    explicit Wire(const WireConfig& cfg);

    // Writes the next client frames of the model over `frames` (the template's headers in place).
    void emit_burst(uint8_t* const* frames, uint16_t n);
    // rte_tx_callback_fn: checks what the worker sent, then rewrites it into client frames.
    static uint16_t tx_callback(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* self);

    // Frames emitted so far (prefill included); read by the control thread.
    uint64_t emitted() const { return emitted_.load(std::memory_order_relaxed); }
    // Frames after which the measured phase is in steady state: every flow open (and established).
    uint64_t warm_after() const;
    void set_stop_after(uint64_t n) {
        cfg_.stop_after = n;
        reached_stop_ = false;
    }
    void set_macswap(bool on) { cfg_.macswap = on; }

    // Smoke checks (counted only when cfg.check).
    uint64_t checked() const { return checked_; }
    uint64_t bad_frames() const { return bad_; }
    // Frames seen per real (index into cfg.real_macs), to compare with the worker's own counters.
    const std::vector<uint64_t>& per_real() const { return per_real_; }

private:
    struct Cursor;
    void check(const uint8_t* frame);

    static constexpr uint16_t kSportBase = 1024;

    WireConfig cfg_;
    uint8_t client_hdr_[12];  // destination = port MAC, source = client MAC
    uint32_t src_base_ = 0;
    uint64_t next_ = 0;
    bool reached_stop_ = false;
    uint32_t stride_ = 1;  // visiting order k*stride mod flows: a permutation unlike creation order
    uint32_t cursor_ = 0;
    uint32_t in_round_ = 0;
    uint32_t round_ = 0;
    uint64_t checked_ = 0, bad_ = 0;
    std::vector<uint64_t> per_real_;
    std::atomic<uint64_t> emitted_{0};
};

}  // namespace dplb::bench
