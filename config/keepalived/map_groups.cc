// virtual_server_group and virtual_server fwmark -> one service per address and port. dplb has no
// groups and matches no firewall marks, so a virtual server over several addresses and ports becomes
// a service for each, all with the same real servers, checks and options; a mark stands for what the
// operator says it does (import-keepalived --fwmark N=VIP:PORT[,PORT...]).
#include <algorithm>

#include "keepalived/mapper.h"

namespace dplb::config::keepalived {
namespace {

std::string fwmark_option(uint32_t mark, const FwmarkTarget& t) {
    const std::string vip = t.vip.is_v6() ? "[" + t.vip.str() + "]" : t.vip.str();
    std::string o = "--fwmark " + std::to_string(mark) + "=" + vip + ":";
    for (size_t i = 0; i < t.ports.size(); i++) o += (i ? "," : "") + std::to_string(t.ports[i]);
    return o;
}

}  // namespace

// "VIP PORT", "VIP-LAST PORT" (a range over the last byte of an IPv4 address or the last group of
// an IPv6 one, both ends included) or "fwmark N".
bool Mapper::group_entry(const Stmt& e, OutGroup& g) {
    const Word& first = e.kw();
    if (e.has_block) {
        msgs_.error(e.line(), first.col, "virtual_server_group: unexpected block after " + q(e.head()));
        return false;
    }
    OutGroupEntry entry;
    entry.line = e.line();
    entry.written = e.head();
    if (first.text == "fwmark") {
        if (e.words.size() != 2) {
            msgs_.error(e.line(), first.col, "virtual_server_group: expected \"fwmark N\", got " + q(e.head()));
            return false;
        }
        auto n = parse_uint(e.words[1].text, 0xffffffffu);
        if (!n || *n == 0) {
            msgs_.error(e.words[1].line, e.words[1].col,
                        "fwmark: expected a mark 1..4294967295, got " + q(e.words[1].text));
            return false;
        }
        entry.fwmark = *n;
        g.entries.push_back(entry);
        return true;
    }
    if (e.words.size() != 2) {
        msgs_.error(e.line(), first.col,
                    "virtual_server_group: expected \"VIP PORT\", \"VIP-LAST PORT\" or \"fwmark N\", got " +
                        q(e.head()));
        return false;
    }
    auto port = parse_uint(e.words[1].text, 65535);
    if (!port) {
        msgs_.error(e.words[1].line, e.words[1].col,
                    "virtual_server_group: expected port 0..65535, got " + q(e.words[1].text));
        return false;
    }
    // An IPv6 address holds ':' but never '-', so the last '-' starts a range.
    const std::string& a = first.text;
    const size_t dash = a.rfind('-');
    auto ip = IpAddr::parse(a.substr(0, dash));
    if (!ip) {
        msgs_.error(first.line, first.col,
                    "virtual_server_group: expected an IPv4 or IPv6 address or range, got " + q(a));
        return false;
    }
    if (std::string why = vip_address_problem(*ip); !why.empty()) {
        msgs_.error(first.line, first.col,
                    "virtual_server_group: expected a unicast address clients can reach, got " + q(a) + " (" + why +
                        ")");
        return false;
    }
    uint32_t lo, hi;
    if (ip->is_v4()) {
        lo = ip->b[3];
        hi = lo;
        if (dash != std::string::npos) {
            auto last = parse_uint(a.substr(dash + 1), 255);
            if (!last || *last < lo) {
                msgs_.error(first.line, first.col,
                            "virtual_server_group: expected a range's last byte " + std::to_string(lo) + "..255, got " +
                                q(a.substr(dash + 1)));
                return false;
            }
            hi = *last;
        }
    } else {
        lo = static_cast<uint32_t>(ip->b[14] << 8 | ip->b[15]);
        hi = lo;
        if (dash != std::string::npos) {
            const std::string t = a.substr(dash + 1);
            const bool hex =
                !t.empty() && t.size() <= 4 && t.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
            if (!hex || std::stoul(t, nullptr, 16) < lo) {
                msgs_.error(first.line, first.col,
                            "virtual_server_group: expected a range's last group (hex) from the first address's, got " +
                                q(t));
                return false;
            }
            hi = static_cast<uint32_t>(std::stoul(t, nullptr, 16));
        }
    }
    // Each address is a service: the data plane's limit bounds a range long before memory does.
    if (hi - lo + 1 > kMaxServices) {
        msgs_.error(first.line, first.col,
                    "virtual_server_group: " + q(a) + " is " + std::to_string(hi - lo + 1) +
                        " addresses, each a service of its own, and dplb has at most " + std::to_string(kMaxServices));
        return false;
    }
    for (uint32_t v = lo; v <= hi; v++) {
        OutGroupEntry one = entry;
        one.vip = *ip;
        if (ip->is_v4()) {
            one.vip.b[3] = static_cast<uint8_t>(v);
        } else {
            one.vip.b[14] = static_cast<uint8_t>(v >> 8);
            one.vip.b[15] = static_cast<uint8_t>(v);
        }
        one.port = static_cast<uint16_t>(*port);
        g.entries.push_back(one);
    }
    return true;
}

void Mapper::virtual_server_group(const Stmt& s) {
    if (!need_block(s, "virtual_server_group NAME")) return;
    if (s.words.size() != 2) {
        msgs_.error(s.line(), s.kw().col, "virtual_server_group: expected one name, got " + q(s.head()));
        return;
    }
    const std::string& name = s.words[1].text;
    if (groups_.count(name)) {
        msgs_.error(s.line(), s.kw().col,
                    "virtual_server_group " + name + ": duplicate of the one at " + msgs_.line_ref(groups_[name].line));
        return;
    }
    OutGroup g;
    g.line = s.line();
    bool ok = true;
    for (const Stmt& e : s.block) ok = group_entry(e, g) && ok;
    if (ok && g.entries.empty()) {
        msgs_.error(s.line(), s.kw().col, "virtual_server_group " + name + ": no address, range or fwmark in it");
        ok = false;
    }
    if (ok) groups_[name] = std::move(g);
    else groups_[name] = OutGroup{s.line(), {}};  // known, so its users are not told it is missing
}

bool Mapper::fwmark_targets(uint32_t mark, const Word& where, const std::string& what, std::vector<Target>& out) {
    if (!fwmarks_ || !fwmarks_->count(mark)) {
        msgs_.error(where.line, where.col,
                    what + ": dplb matches no firewall marks; say which address and ports mark " +
                        std::to_string(mark) + " stands for with `dplbctl import-keepalived --fwmark " +
                        std::to_string(mark) + "=VIP:PORT[,PORT...]`");
        return false;
    }
    const FwmarkTarget& t = fwmarks_->at(mark);
    for (uint16_t port : t.ports)
        out.push_back(Target{t.vip, port,
                             what + ", resolved by " + fwmark_option(mark, t) +
                                 " (dplb matches no firewall marks: one service per port)"});
    return true;
}

bool Mapper::group_targets(const Stmt& s, std::vector<Target>& out) {
    const std::string kind = s.arg(1);
    if (s.words.size() != 3) {
        msgs_.error(s.line(), s.kw().col,
                    "virtual_server " + kind + ": expected \"virtual_server " + kind +
                        (kind == "group" ? " NAME {\"" : " N {\"") + ", got " + q(s.head()));
        return false;
    }
    const Word& w = s.words[2];
    if (kind == "fwmark") {
        auto n = parse_uint(w.text, 0xffffffffu);
        if (!n || *n == 0) {
            msgs_.error(w.line, w.col, "virtual_server fwmark: expected a mark 1..4294967295, got " + q(w.text));
            return false;
        }
        return fwmark_targets(*n, w, "virtual_server fwmark " + w.text, out);
    }
    auto g = groups_.find(w.text);
    if (g == groups_.end()) {
        msgs_.error(w.line, w.col, "virtual_server group: no virtual_server_group " + q(w.text) + " in the file");
        return false;
    }
    groups_used_.insert(w.text);
    if (g->second.entries.empty()) return false;  // its own errors are reported
    bool ok = true;
    for (const OutGroupEntry& e : g->second.entries) {
        const std::string origin = "entry \"" + e.written + "\" of virtual_server_group " + w.text + " at " +
                                   msgs_.line_ref(e.line);
        if (e.fwmark) {
            Word at = s.words[2];
            at.line = e.line;
            at.col = 1;
            ok = fwmark_targets(*e.fwmark, at, "fwmark " + std::to_string(*e.fwmark) + " in virtual_server_group " +
                                                   w.text, out) && ok;
        } else {
            out.push_back(Target{e.vip, e.port, origin + " (dplb has no groups: one service per address and port)"});
        }
    }
    if (!ok) return false;
    for (const Target& t : out)
        if (t.vip.family != out[0].vip.family) {
            msgs_.error(s.line(), s.kw().col,
                        s.head() + ": mixes IPv4 and IPv6 addresses (" + out[0].vip.str() + ", " + t.vip.str() +
                            "), and its real servers can be of one family only");
            return false;
        }
    return true;
}

void Mapper::warn_unused_groups() {
    for (const auto& [name, g] : groups_)
        if (!groups_used_.count(name) && !g.entries.empty())
            msgs_.warn(g.line, "virtual_server_group " + name + ": not converted (no virtual_server uses it)");
}

// One service per target. The real servers take each service's port, as Direct Routing forwards to
// the port the client used; a check that probed the real's own port in keepalived keeps probing it.
void Mapper::add_services(const Stmt& s, const OutService& svc, const std::vector<Target>& targets) {
    if (targets.size() > 1)
        msgs_.warn(s.line(), svc.head + ": converted into " + std::to_string(targets.size()) +
                                 " services, one per address and port (dplb has no virtual server groups and "
                                 "matches no firewall marks); each has the same real servers, checks and options");
    if (svc.persistence && targets.size() > 1)
        msgs_.warn(s.line(), svc.head +
                                 ": persistence_timeout is kept per service (IPVS kept a client on one real server "
                                 "across the whole group or mark; dplb may send it to different ones on different "
                                 "addresses and ports)");
    for (const Target& t : targets) {
        OutService one = svc;
        one.vip = t.vip;
        one.port = t.port;
        one.origin = t.origin;
        for (OutReal& r : one.reals) {
            r.port = t.port;
            if (r.check && !r.check->connect_port && r.written_port && r.written_port != t.port &&
                r.check->type != CheckType::misc && r.check->type != CheckType::ping)
                r.check->connect_port = r.written_port;
        }
        const std::string key =
            std::string(proto_name(one.proto)) + " " + one.vip.str() + " " + std::to_string(one.port);
        auto [it, fresh] = services_seen_.emplace(key, s.line());
        if (!fresh) {
            const std::string first = msgs_.line_ref(it->second);
            msgs_.error(s.line(), s.kw().col,
                        t.origin.empty() ? svc.head + ": duplicate of the virtual_server at " + first
                                         : svc.head + ": " + key + " is already the service of the virtual_server at " +
                                               first);
            continue;
        }
        service_vips_.insert(one.vip);
        model_.services.push_back(std::move(one));
    }
}

}  // namespace dplb::config::keepalived
