#include "health_manager.h"

#include <set>

#include "log.h"
#include "quorum.h"
#include "scripts/notify.h"

namespace dplb {
namespace {

// The check type as metrics label it.
const char* check_type_name(health::CheckType t) {
    switch (t) {
    case health::CheckType::tcp: return "tcp";
    case health::CheckType::http: return "http";
    case health::CheckType::misc: return "misc";
    case health::CheckType::ssl: return "ssl";
    case health::CheckType::ping: return "ping";
    case health::CheckType::udp: return "udp";
    case health::CheckType::dns: return "dns";
    case health::CheckType::smtp: return "smtp";
    }
    return "unknown";
}

}  // namespace

health::CheckSpec check_spec(const config::Service& svc, const config::RealServer& r) {
    const config::HealthCheck& hc = *r.health_check;
    using std::chrono::seconds;
    health::CheckSpec s{};
    switch (hc.type) {
        case config::CheckType::tcp: s.type = health::CheckType::tcp; break;
        case config::CheckType::http: s.type = health::CheckType::http; break;
        case config::CheckType::misc: s.type = health::CheckType::misc; break;
        case config::CheckType::ssl: s.type = health::CheckType::ssl; break;
        case config::CheckType::ping: s.type = health::CheckType::ping; break;
        case config::CheckType::udp: s.type = health::CheckType::udp; break;
        case config::CheckType::dns: s.type = health::CheckType::dns; break;
        case config::CheckType::smtp: s.type = health::CheckType::smtp; break;
    }
    s.host = r.ip.str();
    s.port = hc.connect_port ? hc.connect_port : r.port;
    s.delay_loop = seconds(svc.delay_loop_s);
    s.connect_timeout = seconds(hc.connect_timeout_s);
    s.delay_before_retry = seconds(hc.delay_before_retry_s);
    s.warmup = seconds(hc.warmup_s);
    s.retry = hc.retry;
    s.alpha = hc.alpha;
    if (!hc.path.empty()) s.path = hc.path;
    s.status_codes.assign(hc.status_codes.begin(), hc.status_codes.end());
    if (s.status_codes.empty()) s.status_codes = {200};
    s.digest = hc.digest;
    s.script = hc.script;
    s.script_timeout = seconds(hc.timeout_s ? hc.timeout_s : hc.connect_timeout_s);
    s.dynamic = hc.dynamic;
    s.enable_sni = hc.enable_sni;
    s.sni_name = hc.virtualhost;
    s.verify = hc.verify;
    s.ca_file = hc.ca_file;
    s.payload = hc.payload;
    s.require_reply = hc.require_reply;
    s.reply = hc.reply;
    s.min_reply_length = hc.min_reply_length;
    s.max_reply_length = hc.max_reply_length;
    s.dns_type = hc.dns_type;
    s.dns_name = hc.dns_name;
    s.helo_name = hc.helo_name;
    return s;
}

HealthManager::HealthManager(boost::asio::io_context& io, Director& director, Observe observe)
    : io_(io), director_(director), observe_(std::move(observe)), runner_(io, config::kMaxScriptsInFlight) {}

HealthManager::~HealthManager() {
    for (auto& [k, r] : running_) r.checker->stop();
}

void HealthManager::sync() {
    std::map<RealKey, Running> next;
    bool changed = false;
    for (const auto& svc : director_.config().services) {
        for (const auto& r : svc.reals) {
            if (!r.health_check) continue;
            RealKey key{svc.vip, svc.port, svc.proto, r.ip, r.port};
            health::CheckSpec spec = check_spec(svc, r);
            std::string text = health::describe(spec) + " every " + std::to_string(svc.delay_loop_s) + "s";
            auto old = running_.find(key);
            if (old != running_.end() && old->second.spec_text == text) {
                next[key] = std::move(old->second);
                running_.erase(old);
                continue;
            }
            std::string what = std::string(proto_name(svc.proto)) + " " + endpoint(svc.vip, svc.port) + " -> " +
                               endpoint(r.ip, r.port);
            std::string vip = endpoint(svc.vip, svc.port), real = endpoint(r.ip, r.port);
            std::string proto = svc.proto == kProtoTcp ? "tcp" : "udp";
            std::string type = check_type_name(spec.type);
            auto checker = std::make_unique<health::Checker>(
                io_, spec, [this, key, what](bool up, const std::string& reason) { on_change(key, what, up, reason); },
                [this, vip, proto, real, type](const health::Result& res) {
                    if (observe_)
                        observe_(vip, proto, real, type, res.up, std::chrono::duration<double>(res.duration).count());
                });
            // alpha: DOWN until the first success; otherwise UP until a check says otherwise.
            RealRuntime& rt = director_.runtime()[key];
            rt.healthy = !spec.alpha;
            rt.dynamic_weight = -1;
            changed = true;
            next[key] = Running{text, std::move(checker)};
        }
    }
    // Checkers of reals that left (or lost their check): stop them; such a real counts as up again.
    for (auto& [k, r] : running_) {
        r.checker->stop();
        auto it = director_.runtime().find(k);
        if (it != director_.runtime().end()) {
            it->second.healthy = true;
            it->second.dynamic_weight = -1;
        }
        changed = true;
    }
    running_ = std::move(next);
    // Quorum states: those of services that left go; each service's is evaluated anew (its reals,
    // weights or quorum may have changed with the reload).
    std::set<ServiceRef> present;
    for (const auto& svc : director_.config().services) present.insert(ServiceRef{svc.vip, svc.port, svc.proto});
    auto& states = director_.service_runtime();
    for (auto it = states.begin(); it != states.end();)
        it = present.count(it->first) ? std::next(it) : states.erase(it);
    if (quorums_changed()) changed = true;
    if (changed) director_.rebuild();
    for (auto& [k, r] : running_) r.checker->start();
}

void HealthManager::on_change(const RealKey& key, const std::string& what, bool up, const std::string& reason) {
    RealRuntime& rt = director_.runtime()[key];
    auto it = running_.find(key);
    int dyn = it != running_.end() ? it->second.checker->dynamic_weight() : -1;
    rt.healthy = up;
    rt.dynamic_weight = dyn;
    log(LogLevel::notice, "dplbd: health: %s is %s: %s", what.c_str(), up ? "UP" : "DOWN", reason.c_str());
    for (const auto& svc : director_.config().services)
        if (svc.vip == key.vip && svc.port == key.vport && svc.proto == key.proto) update_quorum(svc);
    director_.rebuild(key);  // that service only
    for (const auto& svc : director_.config().services)
        for (const auto& r : svc.reals) {
            RealKey k{svc.vip, svc.port, svc.proto, r.ip, r.port};
            if (k < key || key < k) continue;
            for (scripts::Job& job : scripts::real_notify_jobs(r, what, up))
                runner_.run(std::move(job), [this, what, up](const scripts::Result& res) {
                    if (on_notify_) on_notify_("notify_real", what, res.outcome());
                    if (!res.ok())
                        log(LogLevel::warning, "dplbd: health: %s: notify_%s: %s", what.c_str(), up ? "up" : "down",
                            res.describe().c_str());
                });
        }
}

bool HealthManager::quorums_changed() {
    bool changed = false;
    for (const auto& svc : director_.config().services)
        if (update_quorum(svc)) changed = true;
    return changed;
}

void HealthManager::evaluate_quorums() {
    if (quorums_changed()) director_.rebuild();
}

bool HealthManager::update_quorum(const config::Service& svc) {
    ServiceRuntime& st = director_.service_runtime()[ServiceRef{svc.vip, svc.port, svc.proto}];
    const uint64_t live = live_weight(svc, director_.runtime());
    const bool up = quorum_next(st.quorum_up, live, svc.quorum, svc.hysteresis);
    if (up == st.quorum_up) return false;
    st.quorum_up = up;
    if (on_quorum_) on_quorum_(ServiceRef{svc.vip, svc.port, svc.proto}, up);
    const std::string what = std::string(proto_name(svc.proto)) + " " + endpoint(svc.vip, svc.port);
    std::string sorry;
    if (svc.sorry_server)
        sorry = ", sorry server " + endpoint(svc.sorry_server->ip, svc.port) +
                (up ? " gives way to the reals" : " takes over");
    if (up)
        log(LogLevel::notice, "dplbd: quorum: %s is UP: live weight %llu >= quorum %u + hysteresis %u%s", what.c_str(),
            static_cast<unsigned long long>(live), svc.quorum, svc.hysteresis, sorry.c_str());
    else
        log(LogLevel::warning, "dplbd: quorum: %s is DOWN: live weight %llu < quorum %u - hysteresis %u%s",
            what.c_str(), static_cast<unsigned long long>(live), svc.quorum, svc.hysteresis, sorry.c_str());
    for (scripts::Job& job : scripts::quorum_notify_jobs(svc, what, up))
        runner_.run(std::move(job), [this, what, up](const scripts::Result& res) {
            if (on_notify_) on_notify_("notify_quorum", what, res.outcome());
            if (!res.ok())
                log(LogLevel::warning, "dplbd: quorum: %s: quorum_%s: %s", what.c_str(), up ? "up" : "down",
                    res.describe().c_str());
        });
    return true;
}

}  // namespace dplb
