// Planning active-active VRRP (`dplbctl plan`): H directors share V virtual addresses, each VIP a
// VRRP router of its own whose priorities order the hosts (MASTER first, then its backups). Traffic
// T spreads evenly over the VIPs (DNS round robin, say), so a host carries T/V per VIP it holds. A
// plan is good when
//   1. every host is MASTER of the same number of VIPs (V a multiple of H): the load spreads
//      evenly while everything is up; and
//   2. after any F hosts (or fewer) fail, each VIP held by its first surviving host, every surviving
//      link carries less than its capacity C (a link at 100% is full: queues grow, packets drop).
// plan() finds the smallest such V and a priority order for each VIP, and explains every smaller V.
// Pure functions; plan_report.h prints the result as text, JSON or per-host YAML.
//
// Why more VIPs help: a failed host's VIPs move one per backup, so its load splits over its peers;
// with 3 hosts, 1 failure, T = 1.5 Gbit/s and C = 1 Gbit/s, 3 VIPs put 2 x 0.5 = 1 Gbit/s on one
// survivor, 4 do not split evenly while all are up (0.75 / 0.375 / 0.375), and 6 (2 per host, each
// pair backed up by different peers) leave 3 x 0.25 = 0.75 Gbit/s on each survivor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dplb::vrrp {

struct PlanInput {
    uint32_t hosts = 0;          // H, 1..kMaxPlanHosts
    uint32_t failures = 0;       // F, 0..H-1
    uint64_t traffic_bps = 0;    // T: peak traffic over all VIPs, bits per second
    uint64_t link_bps = 0;       // C: each host's link capacity
    uint32_t max_vips = 255;     // search limit, 1..kMaxPlanVips; one interface has 255 VRIDs
    std::vector<std::string> host_names;  // empty: host1..hostH
};

constexpr uint32_t kMaxPlanHosts = 16;
constexpr uint32_t kMaxPlanVips = 4096;

// Hosts are numbered 0..H-1.
using HostSet = uint32_t;  // a bit per host

// The outcome of one failure case for one arrangement.
struct FailureCase {
    HostSet failed = 0;
    std::vector<uint32_t> vips;  // VIPs each host holds (0 for failed hosts)
    uint32_t busiest = 0;        // the surviving host holding the most
};

// One candidate number of VIPs, with the best arrangement found for it.
struct Arrangement {
    uint32_t vips = 0;
    std::vector<std::vector<uint32_t>> order;  // per VIP: every host, MASTER first, then backups
    std::vector<FailureCase> cases;            // every failure set of size 0..F, smallest first
    uint32_t worst_vips = 0;                   // the most VIPs any survivor holds in any case
    size_t worst_case = 0;                     // index into cases
};

enum class Verdict : uint8_t {
    fits,
    too_few,     // fewer VIPs than hosts: some host idles
    uneven,      // not a multiple of the hosts: unequal load while everything is up
    over_link,   // some failure case puts a link at or above its capacity
};
const char* verdict_name(Verdict v);  // "fits", "too_few", "uneven", "over_link"

struct Candidate {
    Arrangement arrangement;
    Verdict verdict = Verdict::fits;
    // over_link: no arrangement at all can fit, since ceil(V / (H - F)) VIPs on one survivor
    // already reach the capacity; false when only the arrangements tried did.
    bool bound_exceeded = false;
};

struct Plan {
    PlanInput input;
    bool found = false;
    std::string error;          // why nothing fits, when !found
    Candidate chosen;           // when found
    std::vector<Candidate> rejected;  // every V from 1 below the chosen one (or up to max_vips)

    uint32_t vips() const { return chosen.arrangement.vips; }
    uint32_t vips_per_host() const { return input.hosts ? vips() / input.hosts : 0; }
    double vip_load_bps() const;
    double worst_link_load_bps() const;
    std::string host_name(uint32_t h) const;
};

Plan plan(const PlanInput& input);

// Every failure set of at most `failures` of `hosts` hosts, by size then by value.
std::vector<HostSet> failure_sets(uint32_t hosts, uint32_t failures);

// What `order` does in every failure case: VIP v goes to the first host of order[v] not failed.
Arrangement evaluate(uint32_t hosts, uint32_t failures, std::vector<std::vector<uint32_t>> order);

// VRRP priority of the host at `rank` in a VIP's order (0 = MASTER): 250, 240, 230, ...
uint8_t priority_for_rank(uint32_t rank);

// "1.5Gbit", "1.5 Gbit/s", "100Mbit", "10G", "1e9", "800mbps": decimal prefixes (k, M, G, T) on
// bits per second, as tc writes them; "B" or "Bps" would be bytes and is refused. nullopt if unreadable.
std::optional<uint64_t> parse_rate(const std::string& text);
// "1.5 Gbit/s", "750 Mbit/s", "333.3 Mbit/s": three significant digits at most.
std::string format_rate(double bps);

}  // namespace dplb::vrrp
