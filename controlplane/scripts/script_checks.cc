#include "script_checks.h"

#include <unistd.h>

#include "command_line.h"

namespace dplb::scripts {

using std::chrono::milliseconds;

Job job_for(const config::VrrpScript& s, bool may_switch_user) {
    Job j;
    j.argv = config::split_command_line(s.script).value_or(std::vector<std::string>{});
    j.timeout = milliseconds(static_cast<int64_t>(s.timeout_s) * 1000);
    if (!s.user.empty() && may_switch_user) {
        j.as_user = true;
        j.uid = s.uid;
        j.gid = s.gid;
    }
    return j;
}

struct ScriptChecks::Check {
    Check(boost::asio::io_context& io, const config::VrrpScript& c)
        : cfg(c), state(c.rise, c.fall, c.init_fail), timer(io) {}
    config::VrrpScript cfg;
    RiseFall state;
    boost::asio::steady_timer timer;
    bool stopped = false;
    Stats stats;
};

ScriptChecks::ScriptChecks(boost::asio::io_context& io, Runner& runner, OnChange on_change, OnResult on_result)
    : io_(io),
      runner_(runner),
      on_change_(std::move(on_change)),
      on_result_(std::move(on_result)),
      may_switch_user_(geteuid() == 0) {}

ScriptChecks::~ScriptChecks() {
    for (auto& [n, c] : checks_) {
        c->stopped = true;
        c->timer.cancel();
    }
}

static bool same(const config::VrrpScript& a, const config::VrrpScript& b) {
    return a.script == b.script && a.interval_s == b.interval_s && a.timeout_s == b.timeout_s &&
           a.weight == b.weight && a.rise == b.rise && a.fall == b.fall && a.init_fail == b.init_fail &&
           a.user == b.user && a.uid == b.uid && a.gid == b.gid;
}

void ScriptChecks::sync(const std::vector<config::VrrpScript>& scripts) {
    std::map<std::string, std::shared_ptr<Check>> next;
    for (const auto& s : scripts) {
        auto it = checks_.find(s.name);
        if (it != checks_.end() && same(it->second->cfg, s)) {
            next[s.name] = it->second;
            checks_.erase(it);
            continue;
        }
        auto c = std::make_shared<Check>(io_, s);
        c->stats.up = c->state.up();
        next[s.name] = c;
        schedule(c, milliseconds(0));
    }
    for (auto& [n, c] : checks_) {  // removed or replaced: a run in flight reports to nobody
        c->stopped = true;
        c->timer.cancel();
    }
    checks_ = std::move(next);
}

bool ScriptChecks::up(const std::string& name) const {
    auto it = checks_.find(name);
    return it != checks_.end() && it->second->state.up();
}

std::map<std::string, ScriptChecks::Stats> ScriptChecks::stats() const {
    std::map<std::string, Stats> out;
    for (const auto& [n, c] : checks_) out[n] = c->stats;
    return out;
}

void ScriptChecks::schedule(const std::shared_ptr<Check>& c, milliseconds delay) {
    c->timer.expires_after(delay);
    c->timer.async_wait([this, weak = std::weak_ptr<Check>(c)](const boost::system::error_code& ec) {
        auto c = weak.lock();
        if (ec || !c || c->stopped) return;
        run_once(c);
    });
}

void ScriptChecks::run_once(const std::shared_ptr<Check>& c) {
    auto started = std::chrono::steady_clock::now();
    runner_.run(job_for(c->cfg, may_switch_user_), [this, c, started](const Result& r) {
        if (c->stopped) return;
        c->stats.runs++;
        if (!r.ok()) c->stats.failures++;
        if (on_result_) on_result_(c->cfg.name, r);
        if (c->state.feed(r.ok())) {
            c->stats.up = c->state.up();
            if (on_change_) on_change_(c->cfg.name, c->state.up(), r.describe());
        }
        // The next run an interval after this one started (at once if it ran longer).
        auto next = started + std::chrono::seconds(c->cfg.interval_s) - std::chrono::steady_clock::now();
        schedule(c, std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(next)));
    });
}

}  // namespace dplb::scripts
