// dplb_bench's own options (after EAL's and a "--").
#pragma once

#include <cstdint>
#include <string>

#include "snapshot.h"
#include "wire.h"

namespace dplb::bench {

struct Options {
    bool run_dplb = true;      // the real packet path
    bool run_macswap = true;   // ceiling (a): the same loop and wire with a MAC swap instead
    Traffic traffic = Traffic::established;
    uint64_t flows = 1000000;  // in all, split evenly between workers (as RSS would)
    uint32_t size = 64;        // frame size on the wire, FCS included (the mbuf holds size - 4)
    uint32_t frames = 1024;    // mbufs circling per worker (a NIC's RX ring worth)
    double seconds = 3.0;      // measured time per mode
    uint64_t packets = 0;      // instead of seconds: frames per worker after warm-up, then stop (callgrind)
    uint64_t capacity = 0;     // connection table entries per worker; 0 = its share of flows
    Sched sched = Sched::rr;
    uint32_t syn_timeout_ms = 1;  // SYN flood: SYN_RECV timeout, so the sweep reclaims entries
    // Services in the snapshot: the measured one last, behind services-1 others on other VIPs (the
    // per-packet service lookup at a site with many services).
    uint32_t services = 1;
    // After the throughput runs: offered load paced at 50 % and 90 % of the measured dplb rate, and
    // the time each frame spends in the worker (bench/latency.h).
    bool latency = false;
    bool smoke = false;        // check every output frame and the counters; exit 1 on a mismatch
    // Connection sync on: each worker gets a sync ring (never drained here: once full, records are
    // counted as lost, the cost of a full ring) and a synced table (empty: misses look it up).
    bool sync = false;
};

// Parses argv (what follows EAL's arguments). False with a message in `err`.
bool parse_options(int argc, char** argv, Options& o, std::string& err);
void print_usage();

}  // namespace dplb::bench
