// DPDK telemetry commands for dpdk-telemetry.py: /dplb/services and /dplb/stats.
#pragma once

namespace dplb {

class Director;

// Registers the commands; they read `director` from the telemetry thread through its locked accessors.
void register_telemetry(Director& director);

}  // namespace dplb
