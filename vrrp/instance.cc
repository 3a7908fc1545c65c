#include "vrrp/instance.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <boost/asio/steady_timer.hpp>

#include "vrrp/codec.h"
#include "vrrp/garp.h"
#include "vrrp/io.h"
#include "vrrp/link_watch.h"
#include "vrrp/reload.h"
#include "vrrp/track.h"

namespace dplb::vrrp {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::vector<uint8_t> families_of(const config::VrrpInstance& cfg) {
    bool v4 = false, v6 = false;
    for (const IpAddr& ip : cfg.virtual_ipaddresses) (ip.is_v6() ? v6 : v4) = true;
    std::vector<uint8_t> out;
    if (v4) out.push_back(4);
    if (v6) out.push_back(6);
    return out;
}

Params params_for(const config::VrrpInstance& cfg, uint8_t family, const IpAddr& primary) {
    Params p;
    p.vrid = cfg.virtual_router_id;
    p.priority = cfg.priority;
    p.family = family;
    p.version = family == 6 ? 3 : cfg.version;  // config/README.md: IPv6 always goes out as VRRPv3
    p.advert_int_cs = static_cast<uint16_t>(cfg.advert_int_cs);
    p.preempt = cfg.preempt;
    p.preempt_delay_ms = static_cast<Millis>(cfg.preempt_delay_s) * 1000;
    if (p.version == 2 && cfg.auth == config::VrrpAuth::pass) {
        p.auth_type = AuthType::pass;
        p.auth_data = auth_pass(cfg.auth_pass);
    }
    p.primary = primary;
    for (const IpAddr& ip : cfg.virtual_ipaddresses)
        if (ip.family == family) p.addresses.push_back(ip);
    p.garp_repeat = cfg.garp_master_repeat;
    p.garp_delay_ms = static_cast<Millis>(cfg.garp_master_delay_s) * 1000;
    for (const IpAddr& ip : cfg.unicast_peers)
        if (ip.family == family) p.unicast_peers.push_back(ip);
    p.sync_group = !cfg.sync_group.empty();
    return p;
}

namespace {

uint8_t only_family(const config::VrrpInstance& cfg) {
    auto f = families_of(cfg);
    if (f.size() != 1)
        throw std::invalid_argument("vrrp instance " + cfg.name +
                                    ": needs one Instance per address family (see families_of)");
    return f[0];
}

}  // namespace

class Instance::Impl {
public:
    Impl(Instance& owner, asio::io_context& io, const config::VrrpInstance& cfg, std::string ifname, Callbacks cb,
         uint8_t family)
        : owner_(owner),
          io_(io),
          cfg_(cfg),
          ifname_(std::move(ifname)),
          cb_(std::move(cb)),
          family_(family),
          sm_(params_for(cfg, family, IpAddr{})),
          timer_(io),
          origin_(Clock::now()) {
        for (const IpAddr& ip : cfg.virtual_ipaddresses)
            if (ip.family == family) vips_.push_back(ip);
        for (const auto& [name, weight] : tracked_of(cfg)) {
            tracks_.add(name, weight);
            cfg_tracked_.push_back(name);
        }
        sm_ = machine(IpAddr{});
        publish();
    }

    ~Impl() { stop(); }

    void start() {
        if (started_) return;
        auto info = query_interface(ifname_);
        if (!info)
            throw std::system_error(std::make_error_code(std::errc::no_such_device),
                                    "vrrp instance " + cfg_.name + ": no interface " + ifname_);
        iface_ = *info;
        IpAddr src = source_of(iface_);
        if (!src.family)
            throw std::system_error(std::make_error_code(std::errc::address_not_available),
                                    "vrrp instance " + cfg_.name + ": " + ifname_ + " has no " +
                                        (family_ == 6 ? (unicast() ? "IPv6" : "IPv6 link-local") : "IPv4") +
                                        " address");
        if (cfg_.unicast_src_ip.family == family_ &&
            std::find(iface_.addresses.begin(), iface_.addresses.end(), src) == iface_.addresses.end())
            throw std::system_error(std::make_error_code(std::errc::address_not_available),
                                    "vrrp instance " + cfg_.name + ": unicast_src_ip " + src.str() +
                                        " is not an address of " + ifname_);
        sock_ = std::make_unique<AdvertSocket>(io_, iface_, family_, SocketMode{!unicast(), cfg_.unicast_ttl});
        frames_ = std::make_unique<FrameSocket>(iface_);
        link_ = std::make_unique<LinkWatch>(io_, iface_.index, [this](bool up) { on_link(up); });
        // The state machine keeps our address for the tie-break; rebuilt now that we know it.
        sm_ = machine(src);
        source_ = src;
        started_ = true;
        sock_->start([this](const Received& r) { on_receive(r); },
                     [this](const std::error_code& ec) { log_error("receive", ec); });
        link_up_ = iface_.up;
        if (!link_up_) queue(event::InterfaceDown{});
        if (any_fault()) queue(event::TrackFault{fault_what()});
        dispatch(event::Startup{});
    }

    void stop() {
        if (!started_ || stopping_) return;
        stopping_ = true;
        dispatch(event::Shutdown{});  // closes the I/O at the end, after the priority-0 advert
    }

    void track(const std::string& name, int weight) {
        tracks_.add(name, weight);
        tracking_changed();
    }

    bool set_tracked(const std::string& name, bool up) {
        if (!tracks_.set(name, up)) return false;
        tracking_changed();
        return true;
    }

    void reconfigure(const config::VrrpInstance& cfg) {
        std::vector<std::string> why = restart_fields(cfg_, cfg, family_);
        if (cfg.name != cfg_.name) why.insert(why.begin(), "name");
        if (!why.empty()) {
            std::string list;
            for (const auto& w : why) list += (list.empty() ? "" : ", ") + w;
            throw std::invalid_argument("vrrp instance " + cfg_.name + ": " + list +
                                        " changed: needs a new Instance, not reconfigure()");
        }
        auto next = tracked_of(cfg);
        for (const auto& name : cfg_tracked_) {
            bool kept = false;
            for (const auto& t : next) kept = kept || t.first == name;
            if (!kept) tracks_.remove(name);
        }
        cfg_tracked_.clear();
        for (const auto& [name, weight] : next) {
            tracks_.add(name, weight);  // keeps the state of a name tracked already
            cfg_tracked_.push_back(name);
        }
        cfg_ = cfg;
        if (!started_) {
            sm_ = machine(IpAddr{});  // what start() will build on, so that priority() says it
            return;
        }
        if (stopping_) return;
        queue(event::Reconfigure{effective_priority(cfg_.priority, tracks_.priority_delta()), cfg_.preempt,
                                 static_cast<Millis>(cfg_.preempt_delay_s) * 1000, cfg_.garp_master_repeat,
                                 static_cast<Millis>(cfg_.garp_master_delay_s) * 1000, !cfg_.sync_group.empty()});
        queue_fault_state();
        dispatch_queued();
    }

    void set_fault(bool fault, const std::string& reason) {
        external_fault_ = fault;
        external_reason_ = fault ? reason : "";
        tracking_changed();
    }

    void set_group_fault(bool fault, const std::string& reason) {
        if (fault == group_fault_ && (!fault || reason == group_reason_)) return;
        group_fault_ = fault;
        group_reason_ = fault ? reason : "";
        tracking_changed();
    }

    void sync_to(State s, const std::string& why) {
        if (!started_ || stopping_) return;
        if (s == State::master) dispatch(event::SyncMaster{why});
        else if (s == State::backup) dispatch(event::SyncBackup{why});
    }

    bool own_fault() const { return (started_ && !link_up_) || tracks_.fault() || external_fault_; }
    bool wants_master() const { return sm_.wants_master(); }

    Counters counters() const {
        std::lock_guard<std::mutex> lock(counters_mutex_);
        return counters_;
    }

    uint8_t priority() const { return sm_.priority(); }
    IpAddr master() const { return sm_.master(); }
    const std::string& name() const { return cfg_.name; }
    uint8_t family() const { return family_; }
    const std::vector<IpAddr>& vips() const { return vips_; }
    const std::string& ifname() const { return ifname_; }

private:
    // Unicast VRRP: this family has peers (the loader makes sure each family of a unicast
    // instance has at least one).
    bool unicast() const { return !sm_.params().unicast_peers.empty(); }

    // Our source address: unicast_src_ip when given; else the interface's primary IPv4 address, and
    // for IPv6 its link-local address (RFC 5798 §5.1.2.1), or with unicast peers, which may be
    // routed hops away, its first global one (link-local when it has none).
    IpAddr source_of(const InterfaceInfo& i) const {
        if (cfg_.unicast_src_ip.family == family_) return cfg_.unicast_src_ip;
        if (family_ == 4) return i.ipv4;
        if (unicast() && i.ipv6_global.family) return i.ipv6_global;
        return i.ipv6_ll;
    }

    // A machine for cfg_ with the tracking weights applied; `src` is our address once known.
    StateMachine machine(const IpAddr& src) const {
        Params p = params_for(cfg_, family_, src);
        p.priority = effective_priority(cfg_.priority, tracks_.priority_delta());
        return StateMachine(p);
    }

    Millis now() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - origin_).count();
    }

    std::string fault_what() const {
        std::string w = tracks_.fault_what();
        if (external_fault_) w += (w.empty() ? "" : ", ") + external_reason_;
        if (group_fault_) w += (w.empty() ? "" : ", ") + group_reason_;
        return w;
    }

    bool any_fault() const { return tracks_.fault() || external_fault_ || group_fault_; }

    void tracking_changed() {
        if (!started_) {
            sm_ = machine(IpAddr{});  // start() applies them; priority() says it already
            return;
        }
        if (stopping_) return;
        uint8_t prio = effective_priority(cfg_.priority, tracks_.priority_delta());
        if (prio != sm_.priority()) queue(event::PriorityChanged{prio});
        queue_fault_state();
        dispatch_queued();
    }

    void queue_fault_state() {
        if (any_fault()) queue(event::TrackFault{fault_what()});
        else queue(event::TrackOk{});
    }

    void on_link(bool up) {
        if (up == link_up_ || stopping_) return;
        link_up_ = up;
        if (up) {
            // Addresses or the MAC may have changed while the link was down.
            if (auto info = query_interface(ifname_)) {
                iface_ = *info;
                if (IpAddr s = source_of(iface_); s.family) source_ = s;
            }
        }
        dispatch(up ? Event{event::InterfaceUp{}} : Event{event::InterfaceDown{}});
    }

    void on_receive(const Received& r) {
        if (stopping_) return;
        Decoded d = decode(r.payload.data(), r.payload.size(), r.src, r.dst);
        if (!d.ok()) {
            dispatch(event::DecodeFailed{d.error});
            return;
        }
        dispatch(event::AdvertReceived{std::move(d.advert), r.src, r.ttl, r.dst});
    }

    void queue(Event e) { pending_.push_back(std::move(e)); }

    void dispatch(Event e) {
        queue(std::move(e));
        dispatch_queued();
    }

    // Events raised while handling one (a callback calling set_fault or stop) wait their turn, so
    // the state machine never sees one event inside another.
    void dispatch_queued() {
        if (dispatching_) return;
        dispatching_ = true;
        while (!pending_.empty()) {
            Event e = std::move(pending_.front());
            pending_.pop_front();
            for (const Action& a : sm_.handle(e, now())) perform(a);
        }
        dispatching_ = false;
        publish();
        if (stopping_) {
            close_io();
        } else {
            arm_timer();
            report_own_fault();
        }
    }

    // Tells the sync group when the router's own fault (link, tracked objects, set_fault; not the
    // group's) comes or goes. After the state machine has taken it, so that the group sees its
    // member's new state.
    void report_own_fault() {
        bool f = own_fault();
        if (f == reported_fault_) return;
        reported_fault_ = f;
        if (cb_.on_own_fault) cb_.on_own_fault(f);
    }

    void perform(const Action& a) {
        if (auto* c = std::get_if<action::StateChanged>(&a)) {
            owner_.state_.store(c->to);
            std::string why = reason_name(c->reason);
            if (!c->detail.empty()) why += ": " + c->detail;
            if (cb_.on_state) cb_.on_state(c->to, why);
        } else if (auto* ad = std::get_if<action::SendAdvert>(&a)) {
            send_advert(ad->priority);
        } else if (auto* g = std::get_if<action::SendGarps>(&a)) {
            send_announcements(g->count);
        } else if (auto* w = std::get_if<action::WantMaster>(&a)) {
            if (cb_.on_want_master) cb_.on_want_master(w->detail);
        }
    }

    void send_advert(uint8_t priority) {
        if (!sock_) return;
        const Params& p = sm_.params();
        Advert ad;
        ad.version = p.version;
        ad.vrid = p.vrid;
        ad.priority = priority;
        ad.interval_cs = p.advert_int_cs;
        ad.auth_type = p.auth_type;
        ad.auth_data = p.auth_data;
        ad.addresses = vips_;
        if (!unicast()) {
            IpAddr dst = family_ == 6 ? group_v6() : group_v4();
            sent(sock_->send(encode(ad, source_, dst), source_));
            return;
        }
        // One copy per peer, each with its own VRRPv3 checksum (the pseudo-header holds the
        // destination, as keepalived computes it for unicast).
        for (const IpAddr& peer : sm_.params().unicast_peers)
            sent(sock_->send(encode(ad, source_, peer), source_, peer));
    }

    void sent(const std::error_code& ec) {
        if (ec) {
            ++io_counters_.send_errors;
            log_error("sending an advert", ec);
        } else {
            clear_error();
        }
    }

    // RFC 5798 §6.4.2: one round of `count` announcements per address, interleaved as keepalived
    // sends them.
    void send_announcements(uint32_t count) {
        if (!frames_) return;
        for (uint32_t i = 0; i < count; ++i) {
            for (const IpAddr& vip : vips_) {
                std::error_code ec = frames_->send(announcement(iface_.mac, vip));
                if (ec) {
                    ++io_counters_.send_errors;
                    log_error("sending a gratuitous ARP/NA", ec);
                } else {
                    ++io_counters_.announcements_sent;
                }
            }
        }
    }

    void arm_timer() {
        auto deadline = sm_.next_deadline();
        ++timer_generation_;
        timer_.cancel();
        if (!deadline) return;
        timer_.expires_at(origin_ + std::chrono::milliseconds(*deadline));
        timer_.async_wait([this, gen = timer_generation_](const boost::system::error_code& ec) {
            if (ec || gen != timer_generation_ || stopping_) return;
            dispatch(event::TimerExpired{});
        });
    }

    void close_io() {
        ++timer_generation_;
        timer_.cancel();
        if (link_) link_->close();
        if (sock_) sock_->close();
        link_.reset();
        sock_.reset();
        frames_.reset();
    }

    void publish() {
        Counters c = sm_.counters();
        c.send_errors = io_counters_.send_errors;
        c.announcements_sent = io_counters_.announcements_sent;
        std::lock_guard<std::mutex> lock(counters_mutex_);
        counters_ = c;
    }

    void log_error(const char* what, const std::error_code& ec) {
        if (ec == last_error_) return;
        last_error_ = ec;
        if (cb_.on_log) cb_.on_log("vrrp instance " + cfg_.name + " on " + ifname_ + ": " + what + ": " + ec.message());
    }

    void clear_error() { last_error_.clear(); }

    Instance& owner_;
    asio::io_context& io_;
    config::VrrpInstance cfg_;
    std::string ifname_;
    Callbacks cb_;
    uint8_t family_;
    std::vector<IpAddr> vips_;
    StateMachine sm_;
    TrackSet tracks_;
    std::vector<std::string> cfg_tracked_;  // the names tracks_ has from cfg_ (not from track())
    bool external_fault_ = false;
    std::string external_reason_;
    bool group_fault_ = false;     // set_group_fault: another member of the sync group is faulted
    std::string group_reason_;
    bool reported_fault_ = false;  // own_fault() as last told to on_own_fault
    asio::steady_timer timer_;
    uint64_t timer_generation_ = 0;
    Clock::time_point origin_;
    InterfaceInfo iface_;
    IpAddr source_;
    std::unique_ptr<AdvertSocket> sock_;
    std::unique_ptr<FrameSocket> frames_;
    std::unique_ptr<LinkWatch> link_;
    bool link_up_ = true;
    bool started_ = false;
    bool stopping_ = false;
    bool dispatching_ = false;
    std::deque<Event> pending_;
    Counters io_counters_;
    std::error_code last_error_;
    mutable std::mutex counters_mutex_;
    Counters counters_;
};

Instance::Instance(asio::io_context& io, const config::VrrpInstance& cfg, std::string kernel_ifname,
                   Callbacks callbacks)
    : Instance(io, cfg, std::move(kernel_ifname), std::move(callbacks), only_family(cfg)) {}

Instance::Instance(asio::io_context& io, const config::VrrpInstance& cfg, std::string kernel_ifname,
                   Callbacks callbacks, uint8_t family) {
    if (family != 4 && family != 6) throw std::invalid_argument("vrrp: family must be 4 or 6");
    bool any = false;
    for (const IpAddr& ip : cfg.virtual_ipaddresses) any = any || ip.family == family;
    if (!any)
        throw std::invalid_argument("vrrp instance " + cfg.name + " has no IPv" + std::to_string(family) +
                                    " address");
    impl_ = std::make_unique<Impl>(*this, io, cfg, std::move(kernel_ifname), std::move(callbacks), family);
}

Instance::~Instance() {
    if (impl_) impl_->stop();  // while the whole object is still alive for the callbacks
}

void Instance::start() { impl_->start(); }
void Instance::stop() { impl_->stop(); }
void Instance::track(const std::string& name, int weight) { impl_->track(name, weight); }
bool Instance::set_tracked(const std::string& name, bool up) { return impl_->set_tracked(name, up); }
void Instance::reconfigure(const config::VrrpInstance& cfg) { impl_->reconfigure(cfg); }
void Instance::set_fault(bool fault, const std::string& reason) { impl_->set_fault(fault, reason); }
void Instance::set_group_fault(bool fault, const std::string& reason) { impl_->set_group_fault(fault, reason); }
void Instance::sync_to(State s, const std::string& why) { impl_->sync_to(s, why); }
bool Instance::own_fault() const { return impl_->own_fault(); }
bool Instance::wants_master() const { return impl_->wants_master(); }
Counters Instance::counters() const { return impl_->counters(); }
uint8_t Instance::priority() const { return impl_->priority(); }
IpAddr Instance::master() const { return impl_->master(); }
const std::string& Instance::name() const { return impl_->name(); }
uint8_t Instance::family() const { return impl_->family(); }
const std::vector<IpAddr>& Instance::vips() const { return impl_->vips(); }
const std::string& Instance::kernel_ifname() const { return impl_->ifname(); }

}  // namespace dplb::vrrp
