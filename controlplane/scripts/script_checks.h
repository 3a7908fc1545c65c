// The configuration's vrrp_scripts at work: each runs every interval (through a Runner, so never on
// the control thread), its results go through RiseFall, and every change of its up/down state is
// reported to `on_change` (which feeds the VRRP instances that track it). A run still going at the
// next interval delays that one: one run per script at a time, as keepalived does.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config.h"
#include "rise_fall.h"
#include "runner.h"

namespace dplb::scripts {

// The job for one run of `s`: its words, its timeout, its user when `may_switch_user` (dplbd is root).
Job job_for(const config::VrrpScript& s, bool may_switch_user);

class ScriptChecks {
public:
    using OnChange = std::function<void(const std::string& name, bool up, const std::string& why)>;
    // Every run's result, for metrics (optional).
    using OnResult = std::function<void(const std::string& name, const Result& result)>;
    ScriptChecks(boost::asio::io_context& io, Runner& runner, OnChange on_change, OnResult on_result = {});
    ~ScriptChecks();

    // Brings the running checks to `scripts`: unchanged ones keep their state and timer, changed
    // ones start again from their initial state, removed ones stop. The first run of a new one is
    // at once.
    void sync(const std::vector<config::VrrpScript>& scripts);
    // The state of a script (false for a name not running).
    bool up(const std::string& name) const;
    bool has(const std::string& name) const { return checks_.count(name) != 0; }

    // Runs done and state changes, by script: for status and metrics.
    struct Stats {
        uint64_t runs = 0, failures = 0;
        bool up = true;
    };
    std::map<std::string, Stats> stats() const;

private:
    struct Check;
    void schedule(const std::shared_ptr<Check>& c, std::chrono::milliseconds delay);
    void run_once(const std::shared_ptr<Check>& c);

    boost::asio::io_context& io_;
    Runner& runner_;
    OnChange on_change_;
    OnResult on_result_;
    bool may_switch_user_;
    std::map<std::string, std::shared_ptr<Check>> checks_;
};

}  // namespace dplb::scripts
