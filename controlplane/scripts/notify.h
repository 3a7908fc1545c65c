// keepalived's notify hooks as jobs for the Runner. For a VRRP instance entering `state` (MASTER,
// BACKUP, FAULT, or STOP when it stops): the hook of that state (notify_master, ...) run as written,
// then `notify` with the arguments INSTANCE <name> <state> <priority> appended, as keepalived calls
// it. For a real server, notify_up / notify_down as written; for a service, quorum_up / quorum_down.
// Every job of one instance (or one real, or one service) shares a lane, so they run one after
// another in the order of the changes; each has kNotifyTimeoutS.
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "runner.h"

namespace dplb::scripts {

// `name`: the instance name the hook is told: the router's label ("VI_1"; an instance with IPv4 and
// IPv6 addresses runs two routers, "VI_1/v4" and "VI_1/v6").
std::vector<Job> vrrp_notify_jobs(const config::VrrpInstance& cfg, const std::string& name, const std::string& state,
                                  int priority);
// For a vrrp_sync_group entering `state` (MASTER, BACKUP, FAULT; STOP when dplbd stops): the hook
// of that state, then `notify` with GROUP <name> <state> 0 appended (keepalived passes priority 0 for
// a group). One lane per group, apart from its instances' lanes.
std::vector<Job> sync_group_notify_jobs(const config::VrrpSyncGroup& group, const std::string& state);
// `lane`: the real as logs name it ("tcp 10.0.0.10:80 -> 10.0.1.1:80").
std::vector<Job> real_notify_jobs(const config::RealServer& real, const std::string& lane, bool up);
// A service's quorum_up / quorum_down as written, when its quorum is regained / lost; `lane`: the
// service as logs name it ("tcp 10.0.0.10:80").
std::vector<Job> quorum_notify_jobs(const config::Service& svc, const std::string& lane, bool up);

}  // namespace dplb::scripts
