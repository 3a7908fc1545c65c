#include "director.h"

#include <boost/asio/post.hpp>

#include "log.h"
#include "stats_report.h"
#include "text.h"

namespace dplb {

namespace asio = boost::asio;

// What a build hands back: a snapshot (and, for a reload, the configuration it came from), or why not.
struct Director::Built {
    bool partial = false;  // built by build_services
    std::shared_ptr<const config::Config> cfg;  // reloads only
    BuildResult result;
    std::string error;
};

namespace {

constexpr auto kRetirePoll = std::chrono::milliseconds(1);
constexpr auto kDumpPoll = std::chrono::milliseconds(1);
constexpr auto kDumpDeadline = std::chrono::seconds(2);

// The fail-safe interval: twice the shortest advert interval of any VRRP instance. A stalled
// control thread sent its last advert at most one interval before its last heartbeat, and a peer
// takes over 3 intervals (plus skew) after the last advert it heard, so the workers withdraw first.
uint32_t failsafe_for(const config::Config& cfg) {
    uint32_t shortest = 0;
    for (const auto& v : cfg.vrrp_instances)
        if (shortest == 0 || v.advert_int_cs < shortest) shortest = v.advert_int_cs;
    return shortest * 10 * 2;
}

}  // namespace

Director::Director(asio::io_context& io, config::Config cfg, DataplaneApi& dataplane)
    : io_(io),
      dp_(dataplane),
      builder_(std::make_unique<asio::thread_pool>(1)),
      retire_timer_(io),
      heartbeat_timer_(io),
      dest_base_(kMaxDests),
      svc_base_(kMaxServices),
      now_(std::make_unique<CoreCounters>()),
      last_reload_(std::chrono::system_clock::now()) {
    commit_config(std::make_shared<const config::Config>(std::move(cfg)));
}

Director::~Director() {
    *alive_ = false;  // handlers already posted back to the io_context do nothing
    builder_->join();
    // Views still waiting for a grace period are freed with this object: only after the workers
    // stopped (dplbd destroys the Director after rte_eal_mp_wait_lcore).
}

void Director::commit_config(std::shared_ptr<const config::Config> cfg) {
    cfg_ = std::move(cfg);
    vrrp_vips_.clear();
    for (const auto& inst : cfg_->vrrp_instances)
        for (const auto& v : inst.virtual_ipaddresses) vrrp_vips_.insert(v);
    // Ownership learnt for a VIP that no instance manages any more does not outlive it.
    for (auto it = vip_owned_.begin(); it != vip_owned_.end();)
        it = vrrp_vips_.count(it->first) ? std::next(it) : vip_owned_.erase(it);
    failsafe_ms_ = failsafe_for(*cfg_);
}

void Director::start() {
    BuildInput in;
    in.cfg = cfg_.get();
    in.runtime = &runtime_;
    in.services = &service_runtime_;
    BuildResult r = build_snapshot(in);
    builds_++;
    install(r);
    beat();
}

std::shared_ptr<const Snapshot> Director::snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
}

std::shared_ptr<const Snapshot> Director::snapshot(std::vector<uint8_t>& drained) const {
    std::lock_guard<std::mutex> lock(mu_);
    drained = drained_;
    return current_;
}

bool Director::conn_table_fill(size_t worker, ConnTableFill& out) const { return dp_.conn_table_fill(worker, out); }

// Per dest id of `snap`: 1 when the real takes no new connections by the operator's or the
// configuration's decision (dplbctl drain, weight 0 by dplbctl or in the configuration, removed from
// the configuration and draining), whatever its health.
std::vector<uint8_t> Director::drained_by_id(const Snapshot& snap) const {
    std::map<RealKey, const config::RealServer*> configured;
    for (const auto& svc : cfg_->services)
        for (const auto* r : config::forwarding_reals(svc))
            configured[RealKey{svc.vip, svc.port, svc.proto, r->ip, r->port}] = r;
    std::vector<uint8_t> out(snap.dests.size(), 0);
    for (size_t id = 0; id < snap.dests.size(); id++) {
        const Dest& d = snap.dests[id];
        if (!d.in_use) continue;
        RealKey k{d.vip, d.vport, d.proto, d.ip, d.port};
        auto c = configured.find(k);
        if (c == configured.end()) {
            out[id] = 1;  // left the configuration, draining its connections
            continue;
        }
        auto rt = runtime_.find(k);
        bool op_drain = rt != runtime_.end() && rt->second.drained;
        int override_w = rt != runtime_.end() ? rt->second.weight_override : -1;
        out[id] = op_drain || override_w == 0 || (override_w < 0 && c->second->weight == 0);
    }
    return out;
}

void Director::zero(uint16_t svc) {
    auto t = std::make_unique<CoreCounters>();
    totals(*t);
    for (const Service& s : current_->services) {
        if (svc != kMaxServices && s.id != svc) continue;
        zero_svc_[s.id] = t->svc[s.id];
        rates_.zero_service(s.id);
        for (uint16_t d : s.dests) {
            zero_dest_[d] = t->dest[d];
            rates_.zero_dest(d);
        }
    }
}

namespace {

// `out` less what `dest` and `svc` hold per id (conns, packets, bytes).
void subtract(CoreCounters& out, const std::vector<DestCounters>& dest, const std::vector<ServiceCounters>& svc) {
    for (unsigned i = 0; i < kMaxDests; i++) {
        out.dest[i].conns -= dest[i].conns;
        out.dest[i].inpkts -= dest[i].inpkts;
        out.dest[i].inbytes -= dest[i].inbytes;
    }
    for (unsigned i = 0; i < kMaxServices; i++) {
        out.svc[i].conns -= svc[i].conns;
        out.svc[i].inpkts -= svc[i].inpkts;
        out.svc[i].inbytes -= svc[i].inbytes;
    }
}

}  // namespace

void Director::view_totals(CoreCounters& out) const {
    totals(out);
    subtract(out, zero_dest_, zero_svc_);
}

uint64_t Director::conns_of(uint16_t dest) const {
    uint64_t n = 0;
    for (size_t w = 0; w < dp_.worker_count(); w++) n += dp_.counters(w).dest[dest].refs;
    return n;
}

void Director::totals(CoreCounters& out) const {
    std::vector<const CoreCounters*> cores;
    for (size_t w = 0; w < dp_.worker_count(); w++) cores.push_back(&dp_.counters(w));
    sum_counters(cores, out);
    // Not among the fields sum_counters adds up: summed here.
    out.icmp_stateless = 0;
    for (const CoreCounters* c : cores) out.icmp_stateless += c->icmp_stateless;
    std::lock_guard<std::mutex> lock(mu_);
    subtract(out, dest_base_, svc_base_);
}

// ---- building and publishing ----

void Director::rebuild(Done done) {
    dirty_ = dirty_all_ = true;
    if (done) waiters_.push_back(std::move(done));
    schedule_kick();
}

void Director::rebuild(const RealKey& changed, Done done) {
    dirty_ = true;
    dirty_services_.insert(ServiceRef{changed.vip, changed.vport, changed.proto});
    if (done) waiters_.push_back(std::move(done));
    schedule_kick();
}

void Director::schedule_kick() {
    if (kick_posted_) return;
    kick_posted_ = true;
    asio::post(io_, [this, alive = alive_] {
        if (!*alive) return;
        kick_posted_ = false;
        kick();
    });
}

void Director::kick() {
    if (busy_) return;
    if (!pending_reloads_.empty()) {
        PendingReload pr = std::move(pending_reloads_.front());
        pending_reloads_.pop_front();
        start_build(true, std::move(pr));
    } else if (dirty_) {
        start_build(false, {});
    }
}

// An id may be freed only if it is draining in every View a worker may still hold: every worker has
// picked up a View at least as new as the first in which it was draining (a draining real never
// becomes schedulable again without a new build, and builds are serialised). Then no worker can make
// a new entry for it, and its reference count can only fall. Views published since (VRRP flips,
// other builds) do not hold it back: under a steady stream of them some View always awaits its
// grace period, and a drained real would never give its id back.
bool Director::drained_everywhere(uint16_t id) const {
    auto it = draining_since_.find(id);
    return it != draining_since_.end() && it->second <= version_in_use_;
}

std::function<uint64_t(uint16_t)> Director::may_refer() const {
    if (!current_) return [](uint16_t) -> uint64_t { return 1; };
    auto refs = std::make_shared<std::vector<uint32_t>>(current_->dests.size(), 0);
    for (size_t id = 0; id < refs->size(); id++) {
        const Dest& d = current_->dests[id];
        auto i = static_cast<uint16_t>(id);
        // Not draining (or not yet everywhere): not freed through this path now.
        (*refs)[id] = d.in_use && d.draining && drained_everywhere(i) ? static_cast<uint32_t>(conns_of(i)) : 1;
    }
    return [refs](uint16_t id) -> uint64_t { return id < refs->size() ? (*refs)[id] : 0; };
}

void Director::start_build(bool reload, PendingReload pr) {
    busy_ = true;
    poll_retired();
    // Only some services' runtime state changed: build those, copy the rest (build_services).
    auto only = std::make_shared<std::set<ServiceRef>>();
    bool partial = !reload && !dirty_all_ && current_;
    if (!reload) {
        if (partial) only->swap(dirty_services_);
        dirty_ = dirty_all_ = false;
        dirty_services_.clear();
    }
    // Copies of what the build reads: the control thread goes on changing its own.
    auto runtime = std::make_shared<std::map<RealKey, RealRuntime>>();
    if (partial) {
        for (const auto& cs : cfg_->services) {
            if (!only->count(ServiceRef{cs.vip, cs.port, cs.proto})) continue;
            for (const auto* r : config::forwarding_reals(cs)) {
                auto it = runtime_.find(RealKey{cs.vip, cs.port, cs.proto, r->ip, r->port});
                if (it != runtime_.end()) runtime->insert(*it);
            }
        }
    } else {
        *runtime = runtime_;
    }
    auto services = std::make_shared<std::map<ServiceRef, ServiceRuntime>>(service_runtime_);
    const bool file_reload = reload && !pr.change;
    if (file_reload)
        for (auto& [k, rt] : *runtime) {  // operator overrides last until the next reload
            rt.weight_override = -1;
            rt.drained = false;
        }
    std::shared_ptr<const Snapshot> prev = current_;
    std::shared_ptr<const config::Config> running = cfg_;
    auto refer = partial ? std::function<uint64_t(uint16_t)>() : may_refer();
    std::string path = pr.path;
    auto pending = std::make_shared<PendingReload>(std::move(pr));
    // A reload's build also serves rebuild() callers: it reads the runtime state as it is now.
    auto waiters = std::make_shared<std::vector<Done>>(std::move(waiters_));
    waiters_.clear();
    // `pending` and `waiters` hold reply callbacks (control-socket sessions): they are moved on to
    // the control thread, so none is ever released on the builder thread.
    asio::post(*builder_, [this, alive = alive_, reload, partial, only, runtime, services, prev, running, refer, path,
                           pending, waiters]() mutable {
        auto built = std::make_shared<Built>();
        built->partial = partial;
        try {
            const config::Config* cfg = running.get();
            if (reload && pending->change) {
                config::Config next = *running;
                std::string err = pending->change(next);
                if (!err.empty()) throw config::ConfigError({err});
                built->cfg = std::make_shared<const config::Config>(std::move(next));
                cfg = built->cfg.get();
            } else if (reload) {
                config::Config next = config::load_config_file(path);
                next.file = path;
                std::vector<std::string> fixed = config::fixed_field_changes(*running, next);
                if (!fixed.empty()) {
                    std::string names;
                    for (const auto& f : fixed) names += (names.empty() ? "" : ", ") + f;
                    throw config::ConfigError(
                        {path + ": " + names + " cannot change while dplbd runs (restart it); nothing applied"});
                }
                built->cfg = std::make_shared<const config::Config>(std::move(next));
                cfg = built->cfg.get();
            }
            BuildInput in;
            in.cfg = cfg;
            in.prev = prev.get();
            in.runtime = runtime.get();
            in.services = services.get();
            in.conns_of = refer;
            built->result = partial ? build_services(in, *only) : build_snapshot(in);
        } catch (const config::ConfigError& e) {
            built->error = e.what();
        } catch (const std::exception& e) {
            const bool file = reload && !pending->change;
            built->error = (file ? path + ": " : std::string()) + e.what() + (reload ? "; nothing applied" : "");
        }
        asio::post(io_, [this, alive, built, pending = std::move(pending), waiters = std::move(waiters)] {
            if (!*alive) return;
            finish_build(*built, *pending, *waiters);
        });
    });
}

void Director::finish_build(Built& b, PendingReload& pr, std::vector<Done>& waiters) {
    busy_ = false;
    bool reload = static_cast<bool>(pr.done);
    auto services = std::make_shared<std::map<ServiceRef, ServiceRuntime>>(service_runtime_);
    const bool file_reload = reload && !pr.change;
    if (!b.error.empty()) {
        if (reload && !file_reload) {  // an operator change that cannot be applied: nothing else moves
            pr.done(b.error);
            dirty_ |= !waiters.empty();
            for (auto& w : waiters) waiters_.push_back(std::move(w));
        } else if (reload) {
            reloads_failed_++;
            last_reload_ok_ = false;
            last_reload_ = std::chrono::system_clock::now();
            pr.done(b.error);
            dirty_ |= !waiters.empty();  // their change is still to be built, on the running config
            for (auto& w : waiters) waiters_.push_back(std::move(w));
        } else if (b.partial) {
            // Should not happen; a full build settles it.
            log(LogLevel::warning, "dplbd: partial build failed (%s); building everything", b.error.c_str());
            dirty_ = dirty_all_ = true;
            for (auto& w : waiters) waiters_.push_back(std::move(w));
        } else {
            // Cannot happen for a configuration a reload accepted; keep what runs and say so.
            log(LogLevel::err, "dplbd: snapshot not rebuilt, the running one is kept: %s", b.error.c_str());
            for (auto& w : waiters) w(b.error);
        }
        kick();
        return;
    }
    builds_++;
    if (reload) commit_config(b.cfg);
    if (file_reload) {
        for (auto& [k, rt] : runtime_) {
            rt.weight_override = -1;
            rt.drained = false;
        }
        operator_changes_.clear();
    }
    install(b.result);
    if (file_reload) {
        reloads_ok_++;
        last_reload_ok_ = true;
        last_reload_ = std::chrono::system_clock::now();
    } else if (reload) {
        operator_changes_.push_back(pr.what);
    }
    if (reload) {
        if (after_reload_) after_reload_();  // may ask for another build: coalesced below
        pr.done("");
    }
    for (auto& w : waiters) w("");
    kick();
}

void Director::install(BuildResult& r) {
    auto next = std::make_shared<const Snapshot>(std::move(r.snap));
    std::vector<uint8_t> drained = drained_by_id(*next);
    tables_rebuilt_ += r.tables_rebuilt;
    {
        // New owners of an id start counting from what the id had accumulated.
        std::unique_ptr<CoreCounters> sums;
        if (!r.new_dest_ids.empty() || !r.new_service_ids.empty()) {
            sums = std::make_unique<CoreCounters>();
            std::vector<const CoreCounters*> cores;
            for (size_t w = 0; w < dp_.worker_count(); w++) cores.push_back(&dp_.counters(w));
            sum_counters(cores, *sums);
        }
        std::lock_guard<std::mutex> lock(mu_);
        for (uint16_t id : r.new_dest_ids) dest_base_[id] = sums->dest[id], zero_dest_[id] = {};
        for (uint16_t id : r.new_service_ids) svc_base_[id] = sums->svc[id], zero_svc_[id] = {};
        current_ = next;
        drained_ = std::move(drained);
    }
    publish_view();
}

void Director::publish_view() {
    auto vips = std::make_shared<VipTable>();
    vips->flags.reserve(current_->vips.size());
    for (const VipInfo& v : current_->vips) {
        uint8_t f = owns_vip(v.ip) ? VipTable::kOwned : 0;
        if (vrrp_vips_.count(v.ip)) f |= VipTable::kVrrp;
        vips->flags.push_back(f);
    }
    if (!view_ || view_->snap != current_) {  // a new snapshot: note the ids that start draining in it
        for (size_t id = 0; id < current_->dests.size(); id++) {
            const Dest& d = current_->dests[id];
            if (d.in_use && d.draining) draining_since_.emplace(static_cast<uint16_t>(id), version_ + 1);
            else draining_since_.erase(static_cast<uint16_t>(id));
        }
    }
    auto view = std::make_shared<View>();
    view->snap = current_;
    view->vips = std::move(vips);
    view->failsafe_ms = failsafe_ms_;
    dp_.publish(view.get());
    version_++;
    std::shared_ptr<const View> old = std::move(view_);
    view_ = std::move(view);
    if (old) retire(std::move(old));
    else version_in_use_ = version_;  // the first View: no worker runs yet
}

void Director::retire(std::shared_ptr<const void> what) {
    retired_.push_back(Retired{dp_.grace_start(), version_, std::move(what)});
    poll_retired();
}

void Director::poll_retired() {
    while (!retired_.empty() && dp_.grace_done(retired_.front().token)) {
        if (retired_.front().version > version_in_use_) version_in_use_ = retired_.front().version;
        retired_.pop_front();  // freed here, unless the metrics thread still holds the snapshot
    }
    if (retired_.empty() || retire_timer_armed_) return;
    retire_timer_armed_ = true;
    retire_timer_.expires_after(kRetirePoll);
    retire_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        retire_timer_armed_ = false;
        poll_retired();
    });
}

void Director::beat() {
    dp_.heartbeat();
    if (on_workers_) probe_workers();
    // Several beats per fail-safe interval; at least ten a second.
    uint32_t every = failsafe_ms_ ? std::max<uint32_t>(1, std::min<uint32_t>(100, failsafe_ms_ / 4)) : 100;
    heartbeat_timer_.expires_after(std::chrono::milliseconds(every));
    heartbeat_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        beat();
    });
}

void Director::probe_workers() {
    const auto now = std::chrono::steady_clock::now();
    if (probe_pending_ && dp_.grace_done(probe_token_)) {
        probe_pending_ = false;
        if (!workers_alive_) {
            workers_alive_ = true;
            on_workers_(true);
        }
    }
    if (probe_pending_) {
        if (workers_alive_ && now - probe_since_ > kWorkerStall) {
            workers_alive_ = false;
            on_workers_(false);
        }
        return;
    }
    probe_token_ = dp_.grace_start();
    probe_since_ = now;
    probe_pending_ = true;
}

// ---- ownership ----

bool Director::owns_vip(const IpAddr& vip) const {
    auto it = vip_owned_.find(vip);
    if (it != vip_owned_.end()) return it->second;
    return !vrrp_vips_.count(vip);  // an instance's VIP that no instance has claimed yet: not ours
}

void Director::set_vips_owned(const std::vector<IpAddr>& vips, bool owned) {
    bool changed = false;
    for (const auto& v : vips) {
        // A VIP no instance manages any more (the instance left in a reload and now resigns) stays
        // owned, as every VIP outside VRRP is.
        if (!vrrp_vips_.count(v)) continue;
        auto it = vip_owned_.find(v);
        if (it == vip_owned_.end() || it->second != owned) changed = true;
        vip_owned_[v] = owned;
    }
    if (changed && current_) publish_view();
}

// ---- reload ----

void Director::reload(const std::string& path, Done done) {
    pending_reloads_.push_back(PendingReload{path, std::move(done), {}, {}});
    schedule_kick();
}

void Director::apply_change(std::function<std::string(config::Config&)> change, std::string what, Done done) {
    if (!done) done = [](const std::string&) {};  // a set `done` is what marks a reload's build
    pending_reloads_.push_back(PendingReload{"", std::move(done), std::move(change), std::move(what)});
    schedule_kick();
}

// ---- once a second ----

void Director::tick() {
    totals(*now_);
    rates_.update(std::chrono::steady_clock::now(), *now_);
    // A draining real that left the configuration gives its id back once nothing refers to it
    // (the build re-checks with may_refer()).
    poll_retired();
    if (!current_ || busy_) return;
    std::set<RealKey> configured;
    bool gone = false;
    for (size_t id = 0; id < current_->dests.size() && !gone; id++) {
        const Dest& d = current_->dests[id];
        auto i = static_cast<uint16_t>(id);
        if (!d.in_use || !d.draining || !drained_everywhere(i) || conns_of(i) != 0) continue;
        if (configured.empty())
            for (const auto& s : cfg_->services)
                for (const auto* r : config::forwarding_reals(s))
                    configured.insert(RealKey{s.vip, s.port, s.proto, r->ip, r->port});
        gone = !configured.count(RealKey{d.vip, d.vport, d.proto, d.ip, d.port});
    }
    if (gone) rebuild();
}

uint64_t Director::conn_table_capacity() const {
    uint64_t n = 0;
    for (size_t w = 0; w < dp_.worker_count(); w++) {
        ConnTableFill f;
        if (conn_table_fill(w, f)) n += uint64_t{f.capacity4} + f.capacity6;
    }
    return n;
}

// ---- operator actions ----

bool parse_endpoint(std::string s, IpAddr& ip, uint16_t& port, uint8_t* proto) {
    if (proto) {
        *proto = kProtoTcp;
        if (s.rfind("udp:", 0) == 0) *proto = kProtoUdp, s = s.substr(4);
        else if (s.rfind("tcp:", 0) == 0) s = s.substr(4);
    }
    std::string host, p;
    if (!s.empty() && s[0] == '[') {
        size_t close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
        host = s.substr(1, close - 1);
        p = s.substr(close + 2);
    } else {
        size_t colon = s.rfind(':');
        if (colon == std::string::npos) return false;
        host = s.substr(0, colon);
        p = s.substr(colon + 1);
    }
    auto a = IpAddr::parse(host);
    if (!a || p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
    unsigned long n = std::stoul(p);
    if (n > 65535) return false;
    ip = *a;
    port = static_cast<uint16_t>(n);
    return true;
}

std::string Director::set_weight(const std::string& service, const std::string& real, int weight, Done published) {
    IpAddr vip, rip;
    uint16_t vport, rport;
    uint8_t proto;
    if (!parse_endpoint(service, vip, vport, &proto)) return "bad service '" + service + "' (expected VIP:PORT)";
    if (!parse_endpoint(real, rip, rport, nullptr)) return "bad real server '" + real + "' (expected IP:PORT)";
    if (weight < 0 || weight > 65535) return "weight must be 0..65535";
    for (const auto& s : cfg_->services) {
        if (s.vip != vip || s.port != vport || s.proto != proto) continue;
        for (const auto& r : s.reals) {
            if (r.ip != rip || r.port != rport) continue;
            RealKey k{vip, vport, proto, rip, rport};
            runtime_[k].weight_override = weight;
            rebuild(k, std::move(published));
            if (after_weight_) after_weight_();
            return "";
        }
        return "no real server " + real + " in service " + service;
    }
    return "no service " + service;
}

std::string Director::drain(const std::string& real, Done published) {
    IpAddr rip;
    uint16_t rport;
    if (!parse_endpoint(real, rip, rport, nullptr)) return "bad real server '" + real + "' (expected IP:PORT)";
    std::vector<RealKey> found;
    for (const auto& s : cfg_->services)
        for (const auto& r : s.reals)
            if (r.ip == rip && r.port == rport) found.push_back(RealKey{s.vip, s.port, s.proto, rip, rport});
    if (found.empty()) return "no real server " + real;
    for (const RealKey& k : found) {
        runtime_[k].drained = true;
        rebuild(k);
    }
    rebuild(found[0], std::move(published));
    if (after_weight_) after_weight_();
    return "";
}

// ---- connection listing ----

struct Director::DumpJob {
    std::vector<std::shared_ptr<DumpRequest>> reqs;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(std::vector<ConnInfo>)> done;
    asio::steady_timer timer;
    explicit DumpJob(asio::io_context& io) : timer(io) {}
};

void Director::connections(size_t limit, std::function<void(std::vector<ConnInfo>)> done) {
    auto job = std::make_shared<DumpJob>(io_);
    job->deadline = std::chrono::steady_clock::now() + kDumpDeadline;
    job->done = std::move(done);
    for (size_t w = 0; w < dp_.worker_count() && limit > 0; w++) {
        auto req = std::make_shared<DumpRequest>();
        req->out.reserve(limit);
        dp_.request_dump(w, req.get());
        job->reqs.push_back(std::move(req));
    }
    poll_dump(job);
}

void Director::poll_dump(const std::shared_ptr<DumpJob>& job) {
    bool all = true;
    for (const auto& r : job->reqs) all &= r->done.load(std::memory_order_acquire);
    if (!all && std::chrono::steady_clock::now() < job->deadline) {
        job->timer.expires_after(kDumpPoll);
        job->timer.async_wait([this, job, alive = alive_](const boost::system::error_code& ec) {
            if (!ec && *alive) poll_dump(job);
        });
        return;
    }
    std::vector<ConnInfo> out;
    for (size_t w = 0; w < job->reqs.size(); w++) {
        auto& r = job->reqs[w];
        if (r->done.load(std::memory_order_acquire)) {
            out.insert(out.end(), r->out.begin(), r->out.end());
        } else {
            // A stopped or stuck worker: withdraw the request and free it only after a grace period.
            dp_.request_dump(w, nullptr);
            retire(r);
        }
    }
    job->done(std::move(out));
}

}  // namespace dplb
