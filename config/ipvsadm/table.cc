#include "ipvsadm/table.h"

#include <algorithm>
#include <optional>
#include <set>

#include "text.h"

namespace dplb::config::ipvsadm {
namespace {

std::optional<Sched> sched_by_name(const std::string& s) {
    for (unsigned i = 0; i < 64; i++) {
        const char* n = sched_name(static_cast<Sched>(i));
        if (std::string(n) == "?") break;  // past the last scheduler
        if (s == n) return static_cast<Sched>(i);
    }
    return std::nullopt;
}

// -b: ipvsadm's names, each valid only with its scheduler; flag-1 / flag-2 are the generic names.
std::string read_sched_flags(const Command& c, Sched sched, uint8_t& out) {
    out = 0;
    const std::string own = sched == Sched::sh ? "sh" : sched == Sched::mh ? "mh" : "";
    for (const std::string& f : c.sched_flags) {
        uint8_t bit = 0;
        if (f == "flag-1" || f == "sh-fallback" || f == "mh-fallback") bit = kSchedFlagFallback;
        else if (f == "flag-2" || f == "sh-port" || f == "mh-port") bit = kSchedFlagPort;
        else return "invalid scheduler flag `" + f + "' (dplb knows sh-fallback, sh-port, mh-fallback, mh-port)";
        const bool named = f.rfind("flag-", 0) != 0;
        if (own.empty() || (named && f.rfind(own + "-", 0) != 0))
            return "incompatible scheduler flag `" + f + "' with scheduler " + c.scheduler;
        out |= bit;
    }
    return "";
}

bool same_service(const Service& s, const Command& c) { return s.proto == c.proto && s.vip == c.vip && s.port == c.port; }

bool same_real(const RealServer& r, const Command& c) { return r.ip == c.rip && r.port == c.rport; }

std::string service_text(const Service& s) {
    return std::string(s.proto == kProtoUdp ? "-u " : "-t ") + endpoint(s.vip, s.port);
}

std::string netmask_text(const Service& s) {
    const uint8_t len = s.persistence_prefix_len;
    if (s.vip.family == 6) return std::to_string(len);
    const uint32_t m = len == 0 ? 0 : ~uint32_t(0) << (32 - len);
    return std::to_string(m >> 24) + "." + std::to_string((m >> 16) & 255) + "." + std::to_string((m >> 8) & 255) +
           "." + std::to_string(m & 255);
}

// ipvsadm's order (ipvs_cmp_services, ipvs_cmp_dests): IPv4 before IPv6, TCP before UDP, then address
// and port as numbers.
bool service_before(const Service& a, const Service& b) {
    if (a.vip.family != b.vip.family) return a.vip.family < b.vip.family;
    if (a.proto != b.proto) return a.proto < b.proto;
    if (a.vip != b.vip) return a.vip < b.vip;
    return a.port < b.port;
}

bool real_before(const RealServer& a, const RealServer& b) {
    if (a.ip != b.ip) return a.ip < b.ip;
    return a.port < b.port;
}

}  // namespace

std::string sched_flag_names(const Service& s) {
    const std::string p = s.sched == Sched::sh ? "sh-" : s.sched == Sched::mh ? "mh-" : "flag-";
    std::string out;
    if (s.sched_flags & kSchedFlagFallback) out += p + (p == "flag-" ? "1" : "fallback");
    if (s.sched_flags & kSchedFlagPort) out += (out.empty() ? "" : ",") + p + (p == "flag-" ? "2" : "port");
    return out;
}

std::string apply(const Command& c, Table& t, const std::function<void(const std::string&)>& warn) {
    auto svc = std::find_if(t.services.begin(), t.services.end(), [&](const Service& s) { return same_service(s, c); });
    auto set_service = [&](Service& s) -> std::string {
        auto sched = sched_by_name(c.scheduler);
        if (!sched) return "Scheduler not found: " + double_quoted(c.scheduler, 40);
        uint8_t flags = 0;
        if (std::string e = read_sched_flags(c, *sched, flags); !e.empty()) return e;
        if (c.netmask && c.persistence_s == 0) return "-M: a persistence netmask needs -p";
        s.sched = *sched;
        s.sched_flags = flags;
        s.persistence_timeout_s = c.persistence_s;
        s.timeouts.ms[kTemplateState] = c.persistence_s * 1000;
        const uint8_t whole = c.vip.family == 6 ? 128 : 32;
        s.persistence_prefix_len = c.netmask && *c.netmask != whole ? *c.netmask : 0;
        s.ops = c.ops;
        return "";
    };
    auto set_real = [&](RealServer& r) -> std::string {
        if (c.l_threshold > c.u_threshold && c.u_threshold != 0)
            return "lower threshold " + std::to_string(c.l_threshold) + " is above upper threshold " +
                   std::to_string(c.u_threshold);
        if (c.l_threshold != 0 && c.u_threshold == 0) return "-y (lower threshold) needs -x (upper threshold)";
        if (c.forward != Forward::gatewaying)
            warn(std::string(c.forward == Forward::ipip ? "-i (tunnelling)" : "-m (masquerading)") +
                 ": taken as -g, dplb forwards by direct routing only");
        r.weight = static_cast<uint16_t>(c.weight);
        r.u_threshold = c.u_threshold;
        r.l_threshold = c.l_threshold;
        return "";
    };
    switch (c.verb) {
    case Verb::add_service: {
        if (svc != t.services.end()) return "Service already exists";
        if (t.services.size() >= kMaxServices) return "at most " + std::to_string(kMaxServices) + " services";
        Service s;
        s.vip = c.vip;
        s.port = c.port;
        s.proto = c.proto;
        if (std::string e = set_service(s); !e.empty()) return e;
        t.services.push_back(std::move(s));
        return "";
    }
    case Verb::edit_service: {
        if (svc == t.services.end()) return "No such service";
        Service s = *svc;
        if (std::string e = set_service(s); !e.empty()) return e;
        *svc = std::move(s);
        return "";
    }
    case Verb::delete_service:
        if (svc == t.services.end()) return "No such service";
        t.services.erase(svc);
        return "";
    case Verb::add_real:
    case Verb::edit_real:
    case Verb::delete_real: {
        if (svc == t.services.end()) return "Service not defined";
        auto& reals = svc->reals;
        auto r = std::find_if(reals.begin(), reals.end(), [&](const RealServer& x) { return same_real(x, c); });
        if (c.verb == Verb::add_real) {
            if (r != reals.end()) return "Destination already exists";
            // The sorry server is a dest of the service too (config.h), though not one of its reals.
            if (svc->sorry_server && same_real(*svc->sorry_server, c))
                return "Destination already exists (the service's sorry_server)";
            size_t total = 0;
            for (const Service& s : t.services) total += s.reals.size();
            if (total >= kMaxDests) return "at most " + std::to_string(kMaxDests) + " real servers over all services";
            RealServer n;
            n.ip = c.rip;
            n.port = c.rport;
            if (std::string e = set_real(n); !e.empty()) return e;
            reals.push_back(n);
            return "";
        }
        if (r == reals.end()) return "No such destination";
        if (c.verb == Verb::delete_real) {
            reals.erase(r);
            return "";
        }
        RealServer n = *r;
        if (std::string e = set_real(n); !e.empty()) return e;
        *r = n;
        return "";
    }
    case Verb::clear:
        t.services.clear();
        return "";
    case Verb::set_timeouts:
        if (c.tcp_s) t.tcp_s = c.tcp_s;
        if (c.tcpfin_s) t.tcpfin_s = c.tcpfin_s;
        if (c.udp_s) t.udp_s = c.udp_s;
        return "";
    default: return std::string("--") + verb_option(c.verb) + " changes nothing here";
    }
}

std::vector<std::string> replay(const std::string& text, const std::string& name, Table& t,
                                std::vector<std::string>& warnings) {
    std::vector<std::string> errors;
    size_t line_no = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        line_no++;
        const std::string at = name + ":" + std::to_string(line_no) + ": ";
        if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::vector<std::string> words = split_words(line);
        // A provisioning script's lines: "ipvsadm -A ...", "/sbin/ipvsadm -a ...".
        if (!words.empty() && words[0].size() >= 7 && words[0].compare(words[0].size() - 7, 7, "ipvsadm") == 0)
            words.erase(words.begin());
        if (words.empty()) continue;
        if (words[0][0] != '-') {  // a script's other lines (set -e, echo, ...)
            warnings.push_back(at + "not an ipvsadm command: skipped");
            continue;
        }
        Command c;
        try {
            c = parse(words);
        } catch (const ConfigError& e) {
            errors.push_back(at + e.errors.front());
            continue;
        }
        if (c.verb == Verb::list || c.verb == Verb::save || c.verb == Verb::zero) {
            warnings.push_back(at + "--" + verb_option(c.verb) + " changes no rule: skipped");
            continue;
        }
        if (c.verb == Verb::restore) {
            errors.push_back(at + "--restore inside a rules file");
            continue;
        }
        std::string err = apply(c, t, [&](const std::string& w) { warnings.push_back(at + w); });
        if (!err.empty()) errors.push_back(at + err);
    }
    return errors;
}

namespace {

// What the loader would refuse in services changed at run time.
std::string check_services(const Config& cfg) {
    std::set<IpAddr> vips;
    std::set<std::string> names;
    for (const Service& s : cfg.services) {
        vips.insert(s.vip);
        if (!s.name.empty()) names.insert(s.name);
    }
    for (const Service& s : cfg.services)
        for (const RealServer& r : s.reals) {
            const std::string real = "real server " + r.ip.str() + " of " + proto_name(s.proto) + " " + endpoint(s.vip, s.port);
            if (vips.count(r.ip)) return real + ": is a vip (a director answers for it)";
            for (const Port& p : cfg.ports)
                for (const PortAddress& a : p.addresses)
                    if (a.ip == r.ip) return real + ": is the director's own address on port " + p.name;
        }
    for (const VrrpInstance& vi : cfg.vrrp_instances) {
        for (const IpAddr& v : vi.virtual_ipaddresses)
            if (!vips.count(v) &&
                std::none_of(vi.kernel_addresses.begin(), vi.kernel_addresses.end(),
                             [&](const KernelAddress& k) { return k.ip == v; }))
                return "vrrp_instance " + vi.name + " holds " + v.str() +
                       ", which would be no service's vip: change the file and reload";
        for (const std::string& n : vi.track_services)
            if (!names.count(n))
                return "vrrp_instance " + vi.name + " tracks service " + double_quoted(n) + ", which would be gone";
    }
    return "";
}

}  // namespace

Table table_of(const Config& cfg) {
    Table t;
    t.services = cfg.services;
    return t;
}

std::string commit(Table& t, Config& cfg) {
    for (Service& s : t.services) {
        if (t.tcp_s) s.timeouts.ms[static_cast<uint8_t>(TcpState::established)] = t.tcp_s * 1000;
        if (t.tcpfin_s) s.timeouts.ms[static_cast<uint8_t>(TcpState::fin_wait)] = t.tcpfin_s * 1000;
        if (t.udp_s) s.timeouts.ms[kUdpState] = t.udp_s * 1000;
    }
    for (Service& s : t.services)
        for (RealServer& r : s.reals)  // a new real's port and VLAN, as the loader finds them
            resolve_egress(cfg.ports, r);
    Config next = cfg;
    next.services = t.services;
    if (std::string err = check_services(next); !err.empty()) return err;
    cfg = std::move(next);
    return "";
}

std::string save(const std::vector<Service>& services) {
    std::vector<const Service*> order;
    for (const Service& s : services) order.push_back(&s);
    std::stable_sort(order.begin(), order.end(), [](const Service* a, const Service* b) { return service_before(*a, *b); });
    std::string out;
    for (const Service* s : order) {
        const std::string name = service_text(*s);
        out += "-A " + name + " -s " + sched_name(s->sched);
        if (s->persistence_timeout_s) {
            out += " -p " + std::to_string(s->persistence_timeout_s);
            const uint8_t whole = s->vip.family == 6 ? 128 : 32;
            if (s->persistence_prefix_len && s->persistence_prefix_len != whole) out += " -M " + netmask_text(*s);
        }
        if (s->ops) out += " --ops";
        if (s->sched_flags) out += " -b " + sched_flag_names(*s);
        out += "\n";
        std::vector<const RealServer*> reals;
        for (const RealServer& r : s->reals) reals.push_back(&r);
        std::stable_sort(reals.begin(), reals.end(),
                         [](const RealServer* a, const RealServer* b) { return real_before(*a, *b); });
        for (const RealServer* r : reals) {
            out += "-a " + name + " -r " + endpoint(r->ip, r->port) + " -g -w " + std::to_string(r->weight);
            if (r->u_threshold) out += " -x " + std::to_string(r->u_threshold);
            if (r->l_threshold) out += " -y " + std::to_string(r->l_threshold);
            out += "\n";
        }
    }
    return out;
}

}  // namespace dplb::config::ipvsadm
