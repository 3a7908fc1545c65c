// How much CPU other processes took while we measured: this machine may be shared, and a busy
// neighbour on a 2-core VM changes the figures. (All CPUs' busy time) - (this process's), in CPUs.
#pragma once

#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace dplb::bench {

struct CpuTimes {
    double all_busy_s = 0;  // every CPU, not idle or iowait
    double self_s = 0;      // this process, user + system
};

inline CpuTimes read_cpu_times() {
    CpuTimes t;
    double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    if (FILE* f = std::fopen("/proc/stat", "r")) {
        unsigned long long v[8] = {};
        if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                        &v[6], &v[7]) == 8)
            t.all_busy_s = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
        std::fclose(f);
    }
    if (FILE* f = std::fopen("/proc/self/stat", "r")) {
        char buf[1024];
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        std::fclose(f);
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
        if (const char* p = std::strrchr(buf, ')')) {
            unsigned long long ut = 0, st = 0;
            if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
                t.self_s = static_cast<double>(ut + st) / tick;
        }
    }
    return t;
}

// CPUs' worth of time others used between two readings `seconds` apart.
inline double other_cpus(const CpuTimes& a, const CpuTimes& b, double seconds) {
    double others = (b.all_busy_s - a.all_busy_s) - (b.self_s - a.self_s);
    return seconds > 0 && others > 0 ? others / seconds : 0;
}

}  // namespace dplb::bench
