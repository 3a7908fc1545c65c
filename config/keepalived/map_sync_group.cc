// vrrp_sync_group -> vrrp_sync_groups: the members (group { ... }) that were converted, the notify
// hooks, and track_script (weight 0 in dplb: a failing script puts the whole group in FAULT).
#include "keepalived/mapper.h"

namespace dplb::config::keepalived {

void Mapper::sync_group(const Stmt& s, std::map<std::string, int>& member_lines) {
    if (s.words.size() < 2) {
        msgs_.error(s.line(), s.kw().col, "vrrp_sync_group: missing name (expected \"vrrp_sync_group NAME {\")");
        return;
    }
    if (!need_block(s, "vrrp_sync_group NAME") || !name_ok(s.words[1], "vrrp_sync_group")) return;
    OutSyncGroup g;
    g.line = s.line();
    g.name = s.arg(1);
    const std::string label = "vrrp_sync_group " + g.name;
    for (const OutSyncGroup& o : model_.sync_groups)
        if (o.name == g.name) {
            msgs_.error(s.line(), s.words[1].col, label + ": duplicate name, first at line " + std::to_string(o.line));
            return;
        }
    std::map<std::string, int> seen;
    size_t listed = 0;
    for (const Stmt& b : s.block) {
        const std::string& kw = b.kw().text;
        if (kw == "group") {
            v_.once(b, seen);
            if (!need_block(b, "group")) continue;
            for (const Stmt& line : b.block)
                for (const Word& w : line.words) {
                    ++listed;
                    bool converted = false;
                    for (const OutVrrp& vi : model_.instances) converted = converted || vi.name == w.text;
                    auto first = member_lines.find(w.text);
                    if (!converted) {
                        msgs_.warn(w.line, label + ": member " + w.text +
                                               " left out (no converted vrrp_instance has this name)");
                    } else if (first != member_lines.end()) {
                        // keepalived: "cannot exist in more than one sync group; ignoring".
                        msgs_.warn(w.line, label + ": member " + w.text + " left out (already in the sync group at line " +
                                               std::to_string(first->second) + ", as keepalived ignores it too)");
                    } else {
                        member_lines.emplace(w.text, w.line);
                        g.instances.push_back(w.text);
                    }
                }
        } else if (kw == "notify_master" || kw == "notify_backup" || kw == "notify_fault" || kw == "notify_stop" ||
                   kw == "notify") {
            v_.once(b, seen);
            std::string cmd = notify_hook(b);
            if (!cmd.empty()) g.notify.emplace_back(kw, cmd);
        } else if (kw == "track_script") {
            OutVrrp tmp;  // track_script's reading of names and weights, as in an instance
            track_script(b, tmp);
            for (const auto& n : tmp.track_scripts) g.track_scripts.push_back(n);
            for (const auto& [n, w] : tmp.track_script_weights)
                msgs_.warn(b.line(), label + ": track_script " + n + " weight " + std::to_string(w) +
                                         ": converted with weight 0 (in a dplb sync group a failing script puts the "
                                         "whole group in FAULT, as keepalived does without sync_group_tracking_weight)");
        } else if (kw == "global_tracking" || kw == "sync_group_tracking_weight") {
            msgs_.warn(b.line(), b.head() + ": not converted (dplb's sync groups do not apply tracking weights: a "
                                            "tracked object that fails puts the whole group in FAULT)");
        } else if (kw == "track_interface" || kw == "track_file" || kw == "track_process" || kw == "track_bfd") {
            msgs_.warn(b.line(), b.head() + ": not converted (dplb tracks scripts only in a sync group; list the "
                                            "object in each member's vrrp_instance instead)");
        } else {
            not_converted(b);
        }
    }
    if (g.instances.size() < 2) {
        // keepalived removes a group of fewer than two ("Sync group ... has only 1 virtual router(s)").
        msgs_.warn(s.line(), label + ": not converted (" +
                                 (listed == 0 ? std::string("it lists no instance")
                                              : std::to_string(g.instances.size()) + " converted member" +
                                                    (g.instances.size() == 1 ? "" : "s")) +
                                 "; keepalived removes a sync group of fewer than two)");
        for (const std::string& n : g.instances) member_lines.erase(n);
        return;
    }
    model_.sync_groups.push_back(std::move(g));
}

}  // namespace dplb::config::keepalived
