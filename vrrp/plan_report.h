// How `dplbctl plan` shows a Plan (planner.h): a text report (priority matrix, the load of every
// failure case, and why each smaller number of VIPs does not do), the same as one JSON object, and
// each host's vrrp_instances as YAML for its dplb configuration file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "net_types.h"
#include "vrrp/planner.h"

namespace dplb::vrrp {

std::string plan_text(const Plan& plan);

// One object: hosts, failures, traffic_bps, link_bps, vips, vips_per_host, vip_load_bps,
// worst_link_load_bps, worst_case {failed, host, vips}, matrix [{vip, order, priorities}] (vip from 1),
// cases [{failed, vips, load_bps}], rejected [{vips, verdict, bound_exceeded, worst_link_load_bps,
// failed, host}]; {"error": ...} with found false when there is no plan.
std::string plan_json(const Plan& plan);

struct EmitOptions {
    std::string interface = "lan0";  // the port the instances run on
    std::vector<IpAddr> vips;        // one per VIP; empty: placeholders 192.0.2.1, 192.0.2.2, ...
    uint32_t vrid_base = 1;          // VIP i (from 0) gets virtual_router_id vrid_base + i
    uint32_t advert_int_s = 1;
    std::string auth_pass;           // empty: no authentication
};

struct EmittedConfigs {
    std::string error;  // empty when ok
    std::vector<std::pair<std::string, std::string>> files;  // {"host1.yaml", text}, one per host
};

// Per host: a `vrrp_instances:` section, one instance per VIP, priorities from the plan's orders
// (priority_for_rank), MASTER where the host comes first, preempt on so VIPs go home on recovery.
EmittedConfigs plan_yaml(const Plan& plan, const EmitOptions& options);

// plan_yaml() written into `dir` (which must exist); returns an error message or "".
std::string write_plan_yaml(const Plan& plan, const EmitOptions& options, const std::string& dir);

}  // namespace dplb::vrrp
