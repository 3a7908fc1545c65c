#include "notify.h"

#include "command_line.h"

namespace dplb::scripts {

namespace {

void add(std::vector<Job>& out, const std::string& line, const std::string& lane, std::vector<std::string> extra = {}) {
    if (line.empty()) return;
    auto words = config::split_command_line(line);
    if (!words || words->empty()) return;  // the loader refuses these
    Job j;
    j.argv = std::move(*words);
    j.argv.insert(j.argv.end(), extra.begin(), extra.end());
    j.timeout = std::chrono::seconds(config::kNotifyTimeoutS);
    j.lane = lane;
    out.push_back(std::move(j));
}

}  // namespace

std::vector<Job> vrrp_notify_jobs(const config::VrrpInstance& cfg, const std::string& name, const std::string& state,
                                  int priority) {
    std::vector<Job> out;
    std::string lane = "vrrp " + name;
    if (state == "MASTER") add(out, cfg.notify_master, lane);
    else if (state == "BACKUP") add(out, cfg.notify_backup, lane);
    else if (state == "FAULT") add(out, cfg.notify_fault, lane);
    else if (state == "STOP") add(out, cfg.notify_stop, lane);
    add(out, cfg.notify, lane, {"INSTANCE", name, state, std::to_string(priority)});
    return out;
}

std::vector<Job> sync_group_notify_jobs(const config::VrrpSyncGroup& group, const std::string& state) {
    std::vector<Job> out;
    std::string lane = "vrrp_sync_group " + group.name;
    if (state == "MASTER") add(out, group.notify_master, lane);
    else if (state == "BACKUP") add(out, group.notify_backup, lane);
    else if (state == "FAULT") add(out, group.notify_fault, lane);
    else if (state == "STOP") add(out, group.notify_stop, lane);
    add(out, group.notify, lane, {"GROUP", group.name, state, "0"});
    return out;
}

std::vector<Job> real_notify_jobs(const config::RealServer& real, const std::string& lane, bool up) {
    std::vector<Job> out;
    add(out, up ? real.notify_up : real.notify_down, "real " + lane);
    return out;
}

std::vector<Job> quorum_notify_jobs(const config::Service& svc, const std::string& lane, bool up) {
    std::vector<Job> out;
    add(out, up ? svc.quorum_up : svc.quorum_down, "service " + lane);
    return out;
}

}  // namespace dplb::scripts
