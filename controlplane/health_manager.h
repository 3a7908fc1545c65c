// Runs a health checker for every real server that has a health_check in the configuration, and
// turns its verdicts into the Director's runtime state (up/down, MISC_CHECK dynamic weight), which
// the next snapshot applies. After a reload, checkers whose real and check are unchanged keep running
// (and keep their state); the others are replaced. A real's notify_up / notify_down hook runs on each
// change (controlplane/scripts/notify.h). It also keeps each service's quorum state (quorum.h),
// evaluated after each reload and each change of a real: a change is logged, runs the service's
// quorum_up / quorum_down hook, and hands the service to its sorry server or back.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "director.h"
#include "health_check.h"
#include "scripts/runner.h"

namespace dplb {

class HealthManager {
public:
    // Every completed check: the service (vip "IP:PORT", protocol "tcp"/"udp"), the real ("IP:PORT"),
    // the check type ("tcp", "http", "misc"), whether it passed, and how long it took.
    using Observe = std::function<void(const std::string& vip, const std::string& protocol, const std::string& real,
                                       const std::string& check, bool success, double seconds)>;
    HealthManager(boost::asio::io_context& io, Director& director, Observe observe = {});
    ~HealthManager();

    // Starts, keeps or stops checkers to match the Director's configuration. Call after each reload.
    void sync();
    // Evaluates every service's quorum anew (after an operator's weight change) and rebuilds when one
    // changed.
    void evaluate_quorums();
    // Every hook that ended: its kind ("notify_real" for notify_up / notify_down, "notify_quorum" for
    // quorum_up / quorum_down), the real or service as logs name it, and Result::outcome().
    using OnNotify =
        std::function<void(const std::string& kind, const std::string& name, const std::string& outcome)>;
    void set_on_notify(OnNotify f) { on_notify_ = std::move(f); }
    // Each change of a service's quorum state, after it is recorded (the announce state, announcer.h).
    void set_on_quorum(std::function<void(const ServiceRef& svc, bool up)> f) { on_quorum_ = std::move(f); }

private:
    struct Running {
        std::string spec_text;  // describe() of the spec: unchanged text = unchanged check
        std::unique_ptr<health::Checker> checker;
    };
    void on_change(const RealKey& key, const std::string& what, bool up, const std::string& reason);
    // Evaluates the quorum of `svc` from the runtime state; on a change records it, logs it and runs
    // quorum_up / quorum_down. Returns whether it changed (the caller rebuilds).
    bool update_quorum(const config::Service& svc);
    bool quorums_changed();  // update_quorum of every service; whether any changed

    boost::asio::io_context& io_;
    Director& director_;
    Observe observe_;
    std::map<RealKey, Running> running_;
    scripts::Runner runner_;  // notify_up / notify_down, quorum_up / quorum_down
    OnNotify on_notify_;
    std::function<void(const ServiceRef&, bool)> on_quorum_;
};

// The checker's spec for a configured real (public for tests).
health::CheckSpec check_spec(const config::Service& svc, const config::RealServer& real);

}  // namespace dplb
