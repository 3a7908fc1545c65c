#include "options.h"

#include <cstdio>
#include <cstdlib>

namespace dplb::bench {
namespace {

// "1000", "100K", "1M", "10M": counts as the issue writes them.
bool parse_count(const std::string& s, uint64_t& out) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || v < 0) return false;
    std::string unit(end);
    if (unit == "K" || unit == "k") v *= 1e3;
    else if (unit == "M" || unit == "m") v *= 1e6;
    else if (!unit.empty()) return false;
    out = static_cast<uint64_t>(v + 0.5);
    return true;
}

}  // namespace

void print_usage() {
    std::fprintf(stderr,
                 "usage: dplb_bench [EAL options] -- [--mode dplb|macswap|both] [--traffic established|mix|syn]\n"
                 "         [--flows N] [--size 64|512|1500] [--frames M] [--seconds T | --packets P]\n"
                 "         [--capacity C] [--sched rr|mh] [--syn-timeout-ms MS] [--services S] [--sync] [--latency]\n"
                 "         [--smoke]\n"
                 "Every EAL worker lcore runs dplb::worker_main on its own queue of one looped net_ring port.\n");
}

bool parse_options(int argc, char** argv, Options& o, std::string& err) {
    for (int i = 0; i < argc; i++) {
        std::string a = argv[i];
        std::string v;
        auto value = [&]() {
            if (i + 1 >= argc) {
                err = a + " needs a value";
                return false;
            }
            v = argv[++i];
            return true;
        };
        uint64_t n = 0;
        auto count = [&]() {
            if (!value()) return false;
            if (!parse_count(v, n)) {
                err = "bad number for " + a + ": " + v;
                return false;
            }
            return true;
        };
        if (a == "--mode") {
            if (!value()) return false;
            o.run_dplb = v == "dplb" || v == "both";
            o.run_macswap = v == "macswap" || v == "both";
            if (!o.run_dplb && !o.run_macswap) return err = "bad --mode " + v, false;
        } else if (a == "--traffic") {
            if (!value()) return false;
            if (v == "established") o.traffic = Traffic::established;
            else if (v == "mix") o.traffic = Traffic::mix;
            else if (v == "syn") o.traffic = Traffic::syn;
            else return err = "bad --traffic " + v, false;
        } else if (a == "--flows") {
            if (!count()) return false;
            if (n == 0 || n > (1u << 28)) return err = "--flows must be 1..256M", false;
            o.flows = n;
        } else if (a == "--size") {
            if (!count()) return false;
            if (n < 64 || n > 1518) return err = "--size must be 64..1518", false;
            o.size = static_cast<uint32_t>(n);
        } else if (a == "--frames") {
            if (!count()) return false;
            if (n < 32 || n > 65536) return err = "--frames must be 32..65536", false;
            o.frames = static_cast<uint32_t>(n);
        } else if (a == "--seconds") {
            if (!value()) return false;
            o.seconds = std::strtod(v.c_str(), nullptr);
            if (o.seconds <= 0) return err = "bad --seconds " + v, false;
        } else if (a == "--packets") {
            if (!count()) return false;
            o.packets = n;
        } else if (a == "--capacity") {
            if (!count()) return false;
            o.capacity = n;
        } else if (a == "--sched") {
            if (!value()) return false;
            if (v == "rr") o.sched = Sched::rr;
            else if (v == "mh") o.sched = Sched::mh;
            else return err = "bad --sched " + v + " (rr or mh)", false;
        } else if (a == "--syn-timeout-ms") {
            if (!count()) return false;
            o.syn_timeout_ms = static_cast<uint32_t>(n);
        } else if (a == "--sync") {
            o.sync = true;
        } else if (a == "--services") {
            if (!count()) return false;
            if (n < 1 || n > kMaxServices) return err = "--services must be 1.." + std::to_string(kMaxServices), false;
            o.services = static_cast<uint32_t>(n);
        } else if (a == "--latency") {
            o.latency = true;
        } else if (a == "--smoke") {
            o.smoke = true;
        } else {
            err = "unknown option " + a;
            return false;
        }
    }
    if (o.latency && !o.run_dplb) return err = "--latency paces at fractions of dplb's rate: needs --mode dplb or both", false;
    return true;
}

}  // namespace dplb::bench
