#include "director.h"

#include <thread>

#include "stats_report.h"
#include "worker.h"

namespace dplb {

Director::Director(config::Config cfg, std::vector<Processor*> procs, std::vector<WorkerContext*> workers,
                   std::atomic<const Snapshot*>* published)
    : cfg_(std::move(cfg)),
      procs_(std::move(procs)),
      workers_(std::move(workers)),
      published_(published),
      dest_base_(kMaxDests),
      svc_base_(kMaxServices),
      last_(std::make_unique<CoreCounters>()),
      now_(std::make_unique<CoreCounters>()),
      last_tick_(std::chrono::steady_clock::now()),
      svc_rates_(kMaxServices),
      dest_rates_(kMaxDests),
      last_reload_(std::chrono::system_clock::now()) {}

std::shared_ptr<const Snapshot> Director::snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
}

uint64_t Director::conns_of(uint16_t dest) const {
    uint64_t n = 0;
    for (const Processor* p : procs_) {
        const DestCounters& d = p->counters().dest[dest];
        n += d.active + d.inactive + d.persist;
    }
    return n;
}

void Director::totals(CoreCounters& out) const {
    std::vector<const CoreCounters*> cores;
    for (const Processor* p : procs_) cores.push_back(&p->counters());
    sum_counters(cores, out);
    std::lock_guard<std::mutex> lock(mu_);
    for (unsigned i = 0; i < kMaxDests; i++) {
        out.dest[i].conns -= dest_base_[i].conns;
        out.dest[i].inpkts -= dest_base_[i].inpkts;
        out.dest[i].inbytes -= dest_base_[i].inbytes;
    }
    for (unsigned i = 0; i < kMaxServices; i++) {
        out.svc[i].conns -= svc_base_[i].conns;
        out.svc[i].inpkts -= svc_base_[i].inpkts;
        out.svc[i].inbytes -= svc_base_[i].inbytes;
    }
}

void Director::wait_for_workers() {
    // A worker loads the snapshot pointer at the top of a pass and bumps `quiescent` at its end, so
    // once every counter has moved past what it was after the swap, no worker holds the old one.
    std::vector<uint64_t> seen;
    for (WorkerContext* w : workers_) seen.push_back(w->quiescent.load(std::memory_order_acquire));
    for (size_t i = 0; i < workers_.size(); i++) {
        while (workers_[i]->quiescent.load(std::memory_order_acquire) == seen[i] &&
               !workers_[i]->quit->load(std::memory_order_relaxed))
            std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

void Director::rebuild(bool wait) {
    BuildInput in;
    in.cfg = &cfg_;
    in.prev = current_.get();
    in.runtime = &runtime_;
    in.conns_of = [this](uint16_t id) { return conns_of(id); };
    in.owns_vip = [this](const IpAddr& vip) { return owns_vip(vip); };
    BuildResult r = build_snapshot(in);
    auto next = std::make_shared<const Snapshot>(std::move(r.snap));
    {
        // New owners of an id start counting from what the id had accumulated.
        std::unique_ptr<CoreCounters> sums = std::make_unique<CoreCounters>();
        std::vector<const CoreCounters*> cores;
        for (const Processor* p : procs_) cores.push_back(&p->counters());
        sum_counters(cores, *sums);
        std::lock_guard<std::mutex> lock(mu_);
        for (uint16_t id : r.new_dest_ids) dest_base_[id] = sums->dest[id];
        for (uint16_t id : r.new_service_ids) svc_base_[id] = sums->svc[id];
    }
    published_->store(next.get(), std::memory_order_release);
    if (wait) wait_for_workers();
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(next);  // the previous snapshot is freed here unless the metrics thread holds it
    health_view_.clear();
    for (const auto& [k, rt] : runtime_) health_view_[k] = rt.healthy;
}

bool Director::owns_vip(const IpAddr& vip) const {
    auto it = vip_owned_.find(vip);
    if (it != vip_owned_.end()) return it->second;
    for (const auto& inst : cfg_.vrrp_instances)
        for (const auto& v : inst.virtual_ipaddresses)
            if (v == vip) return false;  // an instance's VIP that no instance has claimed yet
    return true;
}

void Director::set_vips_owned(const std::vector<IpAddr>& vips, bool owned) {
    bool changed = false;
    for (const auto& v : vips) {
        auto it = vip_owned_.find(v);
        if (it == vip_owned_.end() || it->second != owned) changed = true;
        vip_owned_[v] = owned;
    }
    if (changed) rebuild();
}

bool Director::healthy(const RealKey& k) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = health_view_.find(k);
    return it == health_view_.end() || it->second;
}

std::string Director::reload(const std::string& path) {
    last_reload_ = std::chrono::system_clock::now();
    try {
        config::Config next = config::load_config_file(path);
        // Ports, table sizes and the control/metrics endpoints are fixed at start-up.
        std::string fixed;
        if (next.ports.size() != cfg_.ports.size()) fixed = "ports";
        for (size_t i = 0; fixed.empty() && i < next.ports.size(); i++)
            if (next.ports[i].name != cfg_.ports[i].name || next.ports[i].device != cfg_.ports[i].device) fixed = "ports";
        if (next.conn_table_ipv4 != cfg_.conn_table_ipv4 || next.conn_table_ipv6 != cfg_.conn_table_ipv6)
            fixed = "conn_table";
        if (!fixed.empty()) {
            reloads_failed_++;
            last_reload_ok_ = false;
            return path + ": " + fixed + " cannot change while running (restart dplbd); nothing applied";
        }
        cfg_ = std::move(next);
        cfg_.file = path;
    } catch (const config::ConfigError& e) {
        reloads_failed_++;
        last_reload_ok_ = false;
        return e.what();
    }
    // Operator overrides last until the next reload, as ipvsadm edits last until keepalived reloads.
    for (auto& [k, rt] : runtime_) {
        rt.weight_override = -1;
        rt.drained = false;
    }
    rebuild();
    reloads_ok_++;
    last_reload_ok_ = true;
    if (after_reload_) after_reload_();
    return "";
}

void Director::tick() {
    auto now = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now - last_tick_).count();
    totals(*now_);
    if (secs > 0) {
        for (unsigned i = 0; i < kMaxServices; i++) {
            svc_rates_[i].cps = static_cast<double>(now_->svc[i].conns - last_->svc[i].conns) / secs;
            svc_rates_[i].inpps = static_cast<double>(now_->svc[i].inpkts - last_->svc[i].inpkts) / secs;
            svc_rates_[i].inbps = static_cast<double>(now_->svc[i].inbytes - last_->svc[i].inbytes) / secs;
        }
        for (unsigned i = 0; i < kMaxDests; i++) {
            dest_rates_[i].cps = static_cast<double>(now_->dest[i].conns - last_->dest[i].conns) / secs;
            dest_rates_[i].inpps = static_cast<double>(now_->dest[i].inpkts - last_->dest[i].inpkts) / secs;
            dest_rates_[i].inbps = static_cast<double>(now_->dest[i].inbytes - last_->dest[i].inbytes) / secs;
        }
    }
    std::swap(last_, now_);
    last_tick_ = now;
    // A draining real whose last connection is gone gives its id back.
    if (current_) {
        bool gone = false;
        for (size_t id = 0; id < current_->dests.size(); id++) {
            const Dest& d = current_->dests[id];
            bool configured_real = false;
            if (d.draining)
                for (const auto& s : cfg_.services)
                    for (const auto& r : s.reals)
                        configured_real |= s.vip == d.vip && s.port == d.vport && s.proto == d.proto &&
                                           r.ip == d.ip && r.port == d.port;
            if (d.in_use && d.draining && !configured_real && conns_of(static_cast<uint16_t>(id)) == 0) gone = true;
        }
        if (gone) rebuild();
    }
}

Rates Director::service_rate(uint16_t svc) const { return svc_rates_[svc]; }
Rates Director::dest_rate(uint16_t dest) const { return dest_rates_[dest]; }

namespace {

// "10.0.0.100:80" or "[2001:db8::1]:80", with an optional "tcp:"/"udp:" prefix for services.
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

}  // namespace

std::string Director::set_weight(const std::string& service, const std::string& real, int weight) {
    IpAddr vip, rip;
    uint16_t vport, rport;
    uint8_t proto;
    if (!parse_endpoint(service, vip, vport, &proto)) return "bad service '" + service + "' (expected VIP:PORT)";
    if (!parse_endpoint(real, rip, rport, nullptr)) return "bad real server '" + real + "' (expected IP:PORT)";
    if (weight < 0 || weight > 65535) return "weight must be 0..65535";
    for (const auto& s : cfg_.services) {
        if (s.vip != vip || s.port != vport || s.proto != proto) continue;
        for (const auto& r : s.reals) {
            if (r.ip != rip || r.port != rport) continue;
            runtime_[RealKey{vip, vport, proto, rip, rport}].weight_override = weight;
            rebuild();
            return "";
        }
        return "no real server " + real + " in service " + service;
    }
    return "no service " + service;
}

std::string Director::drain(const std::string& real) {
    IpAddr rip;
    uint16_t rport;
    if (!parse_endpoint(real, rip, rport, nullptr)) return "bad real server '" + real + "' (expected IP:PORT)";
    bool found = false;
    for (const auto& s : cfg_.services)
        for (const auto& r : s.reals)
            if (r.ip == rip && r.port == rport) {
                runtime_[RealKey{s.vip, s.port, s.proto, rip, rport}].drained = true;
                found = true;
            }
    if (!found) return "no real server " + real;
    rebuild();
    return "";
}

std::vector<ConnInfo> Director::connections(size_t limit) {
    std::vector<ConnInfo> all;
    for (size_t w = 0; w < procs_.size(); w++) {
        Processor* p = procs_[w];
        DumpRequest req;
        req.out.reserve(limit > all.size() ? limit - all.size() : 0);
        if (req.out.capacity() == 0) break;
        p->request_dump(&req);
        // The worker serves it a chunk per loop pass; a stopped worker would never finish.
        for (int i = 0; i < 20000 && !req.done.load(std::memory_order_acquire); i++)
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (!req.done.load(std::memory_order_acquire)) {
            // Withdraw it, and wait until the worker is past any use of `req` before it goes away.
            p->request_dump(nullptr);
            if (w < workers_.size()) {
                uint64_t seen = workers_[w]->quiescent.load(std::memory_order_acquire);
                while (workers_[w]->quiescent.load(std::memory_order_acquire) == seen &&
                       !workers_[w]->quit->load(std::memory_order_relaxed))
                    std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
            break;
        }
        all.insert(all.end(), req.out.begin(), req.out.end());
    }
    return all;
}

}  // namespace dplb
