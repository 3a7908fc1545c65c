#include "ipvsadm_command.h"

#include <algorithm>
#include <memory>

#include "ipvsadm/command.h"
#include "ipvsadm/table.h"

namespace dplb {

namespace ia = config::ipvsadm;

void run_ipvsadm(Director& dir, const std::vector<std::string>& words, std::function<void(Reply)> reply) {
    std::vector<std::string> args(words.begin() + 1, words.end());
    std::string restore_text;
    const bool restore = !args.empty() && (args[0] == "-R" || args[0] == "--restore");
    if (restore) {  // the rules come as the words after -R, one line each
        for (size_t i = 1; i < args.size(); i++) restore_text += args[i] + "\n";
        args.resize(1);
    }
    ia::Command c;
    try {
        c = ia::parse(args);
    } catch (const config::ConfigError& e) {
        return reply({false, "ipvsadm: " + e.errors.front() + "\n"});
    }
    switch (c.verb) {
    case ia::Verb::list: {
        if (c.daemon) return reply({false, "ipvsadm: --daemon: dplb has no connection sync daemon\n"});
        std::vector<std::string> list{"list"};
        if (c.has_service) {
            list.push_back(c.proto == kProtoUdp ? "-u" : "-t");
            list.push_back(endpoint(c.vip, c.port));
        }
        const std::pair<bool, const char*> flags[] = {
            {c.stats, "--stats"},         {c.rate, "--rate"},     {c.thresholds, "--thresholds"},
            {c.persistent_conn, "--persistent-conn"}, {c.connection, "--connections"}, {c.timeout, "--timeout"},
            {c.exact, "--exact"},         {c.nosort, "--nosort"}};
        for (const auto& [on, flag] : flags)
            if (on) list.push_back(flag);
        return run_command(dir, nullptr, list, std::move(reply));
    }
    case ia::Verb::save: return reply({true, ia::save(dir.config().services)});
    case ia::Verb::zero: {
        uint16_t id = kMaxServices;
        if (c.has_service) {
            for (const Service& s : dir.snapshot()->services)
                if (s.vip == c.vip && s.port == c.port && s.proto == c.proto) id = s.id;
            if (id == kMaxServices) return reply({false, "ipvsadm: No such service\n"});
        }
        dir.zero(id);
        return reply({true, ""});
    }
    default: break;
    }
    // A change: applied on the builder to the configuration running then, in order with reloads.
    auto warnings = std::make_shared<std::vector<std::string>>();
    std::string what = "ipvsadm";
    for (const std::string& a : args) what += " " + a;
    if (restore) what += " (" + std::to_string(std::count(restore_text.begin(), restore_text.end(), '\n')) + " lines)";
    auto change = [c, restore, restore_text, warnings](config::Config& cfg) -> std::string {
        ia::Table t = ia::table_of(cfg);
        if (restore) {
            std::vector<std::string> errs = ia::replay(restore_text, "stdin", t, *warnings);
            if (!errs.empty()) {
                std::string all;
                for (const std::string& e : errs) all += (all.empty() ? "" : "\n") + e;
                return all;
            }
        } else if (std::string err = ia::apply(c, t, [&](const std::string& w) { warnings->push_back(w); });
                   !err.empty()) {
            return err;
        }
        return ia::commit(t, cfg);
    };
    dir.apply_change(change, what, [reply, warnings](const std::string& err) {
        std::string w;
        for (const std::string& s : *warnings) w += "warning: " + s + "\n";
        if (!err.empty()) return reply({false, w + "ipvsadm: " + err + "\n"});
        reply({true, w});
    });
}

}  // namespace dplb
