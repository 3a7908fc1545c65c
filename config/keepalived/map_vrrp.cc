// vrrp_instance -> vrrp_instances.
#include <algorithm>

#include "keepalived/mapper.h"

namespace dplb::config::keepalived {

// One line of virtual_ipaddress: IP[/LEN] [dev IF] [label L] [brd B] [scope S] ... An address of a
// virtual_server is answered by dplb's data plane, so the options that shape a kernel address go with
// a warning; any other address is the kernel's (a VRRP-only site), with its prefix length, label and
// scope.
void Mapper::vip_line(const Stmt& l, OutVrrp& vi) {
    const Word& a = l.kw();
    const size_t slash = a.text.find('/');
    const std::string addr = a.text.substr(0, slash);
    auto ip = IpAddr::parse(addr);
    std::optional<uint32_t> len;
    if (ip && slash != std::string::npos) len = parse_uint(a.text.substr(slash + 1), ip->is_v4() ? 32 : 128);
    if (!ip || (slash != std::string::npos && !len)) {
        msgs_.error(a.line, a.col, "virtual_ipaddress: expected an IPv4 or IPv6 address, got " + q(a.text));
        return;
    }
    const bool service = service_vips_.count(*ip) > 0;
    OutVrrp::KernelForm form;
    if (len) form.prefix_len = static_cast<uint8_t>(*len);
    std::vector<std::string> dropped;  // "what (why)"
    const char* kernel_only = service ? "dplb's data plane answers for a virtual_server's address; the kernel "
                                        "never holds it"
                                      : nullptr;
    for (size_t i = 1; i < l.words.size(); i++) {
        const std::string& opt = l.words[i].text;
        const bool takes_value = opt == "dev" || opt == "label" || opt == "brd" || opt == "broadcast" ||
                                 opt == "scope" || opt == "peer" || opt == "preferred_lft" || opt == "track_group";
        std::string val = takes_value && i + 1 < l.words.size() ? l.words[++i].text : "";
        const std::string what = opt + (val.empty() ? "" : " " + val);
        if (opt == "dev" && val == vi.interface) continue;
        if (opt == "dev") {
            dropped.push_back(what + " not converted (dplb puts the address on the kernel side of the instance's "
                                     "own port " + vi.interface + ", where it announces it)");
        } else if ((opt == "label" || opt == "scope") && kernel_only) {
            dropped.push_back(what + " not converted (" + kernel_only + ")");
        } else if ((opt == "label" || opt == "scope") && ip->is_v6()) {
            dropped.push_back(what + " not converted (Linux keeps " +
                              (opt == "label" ? "no label for an IPv6 address" : "an IPv6 address's scope by the address") +
                              ")");
        } else if (opt == "label") {
            const std::string prefix = vi.interface + ":";
            const std::string rest = val.rfind(prefix, 0) == 0 ? val.substr(prefix.size()) : "";
            if (!rest.empty() && rest.size() <= 14 && rest.find_first_of(" /:") == std::string::npos &&
                !has_control_char(rest))
                form.label = rest;
            else
                dropped.push_back(what + " not converted (dplb names the label " + q("<kernel interface>:LABEL") +
                                  " and takes LABEL from a label " + q(prefix + "LABEL") +
                                  ", LABEL 1..14 characters without ':' or '/')");
        } else if (opt == "scope") {
            static const std::map<std::string, std::string> kScopes = {
                {"global", "global"}, {"universe", "global"}, {"0", "global"}, {"site", "site"}, {"200", "site"},
                {"link", "link"},     {"253", "link"},        {"host", "host"}, {"254", "host"}};
            auto it = kScopes.find(lower(val));
            if (it != kScopes.end())
                form.scope = it->second;
            else
                dropped.push_back(what + " not converted (dplb takes the scopes global, site, link and host)");
        } else if (opt == "brd" || opt == "broadcast") {
            dropped.push_back(what + " not converted (" +
                              (kernel_only ? std::string(kernel_only)
                                           : "dplb adds the address without a broadcast address; the director's own "
                                             "address on the port gives the subnet its broadcast") +
                              ")");
        } else if (opt == "no_track") {
            dropped.push_back(what + " not converted (the address sits on the instance's own port, whose link "
                                     "the instance follows anyway)");
        } else {
            dropped.push_back(what + " not converted (dplb sets no such option on a virtual address)");
        }
    }
    for (const std::string& d : dropped) msgs_.warn(l.line(), "virtual_ipaddress " + addr + ": " + d);
    if (std::string why = vip_address_problem(*ip); !service && !why.empty()) {
        msgs_.warn(l.line(), "virtual_ipaddress " + addr + ": not converted (" + why + ")");
        return;
    }
    auto owner = vip_owner_.find(ip->str());
    if (owner != vip_owner_.end()) {
        msgs_.warn(l.line(),
                   "virtual_ipaddress " + addr + ": not converted (already announced by " + owner->second + ")");
        return;
    }
    if (!vi.vip_set.insert(*ip).second) {
        msgs_.warn(l.line(), "virtual_ipaddress " + addr + ": given again; not converted twice");
        return;
    }
    vi.vips.push_back({*ip, l.line()});
    if (!service) vi.kernel[*ip] = form;
}

void Mapper::vrrp_instance(const Stmt& s) {
    if (s.words.size() < 2) {
        msgs_.error(s.line(), s.kw().col, "vrrp_instance: missing name (expected \"vrrp_instance NAME {\")");
        return;
    }
    if (!need_block(s, "vrrp_instance NAME")) return;
    OutVrrp vi;
    vi.line = s.line();
    vi.col = s.kw().col;
    vi.name = s.arg(1);
    const std::string label = "vrrp_instance " + vi.name;
    bool ok = name_ok(s.words[1], "vrrp_instance");
    std::map<std::string, int> seen;
    std::vector<const Stmt*> vip_blocks;
    // interface first: virtual_ipaddress lines compare their dev with it.
    for (const Stmt& b : s.block)
        if (b.kw().text == "interface") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b); w && name_ok(*w, "interface")) {
                vi.interface = w->text;
                vi.interface_line = b.line();
            } else {
                ok = false;
            }
        }
    for (const Stmt& b : s.block) {
        const std::string& kw = b.kw().text;
        if (kw == "interface") continue;
        if (kw == "state") {
            v_.once(b, seen);
            const Word* w = v_.one(b);
            if (!w) continue;
            const std::string st = lower(w->text);
            if (st == "master" || st == "backup")
                vi.state = st == "master" ? "MASTER" : "BACKUP";
            else
                msgs_.error(w->line, w->col, "state: expected MASTER or BACKUP, got " + q(w->text));
        } else if (kw == "virtual_router_id") {
            v_.once(b, seen);
            vi.vrid = v_.integer(b, 1, 255);
            vi.vrid_line = b.line();
            vi.vrid_col = b.kw().col;
            ok = ok && vi.vrid.has_value();
        } else if (kw == "priority") {
            v_.once(b, seen);
            if (auto p = v_.integer(b, 1, 255)) vi.priority = p;
        } else if (kw == "advert_int") {
            v_.once(b, seen);
            const Word* w = v_.one(b);
            if (!w) continue;
            auto us = parse_timer(w->text);
            if (!us || *us == 0 || *us > 255000000ull) {
                msgs_.error(w->line, w->col, "advert_int: expected seconds 0.01..255, got " + q(w->text));
                continue;
            }
            vi.advert_us = static_cast<uint32_t>(*us);
            vi.advert_line = b.line();
        } else if (kw == "version") {
            v_.once(b, seen);
            if (auto v = v_.integer(b, 2, 3)) {
                vi.version = v;
                vi.version_line = b.line();
            }
        } else if (kw == "nopreempt") {
            v_.once(b, seen);
            vi.preempt = false;
        } else if (kw == "preempt") {
            v_.once(b, seen);
            vi.preempt = true;
        } else if (kw == "preempt_delay") {
            v_.once(b, seen);
            if (auto d = v_.seconds(b, 0, kMaxPreemptDelayS)) vi.preempt_delay = d;
        } else if (kw == "garp_master_delay") {
            v_.once(b, seen);
            if (auto d = v_.seconds(b, 0, kMaxGarpDelayS)) vi.garp_delay = d;
        } else if (kw == "garp_master_repeat") {
            v_.once(b, seen);
            if (auto d = v_.integer(b, 1, 255)) vi.garp_repeat = d;
        } else if (kw == "authentication") {
            v_.once(b, seen);
            if (need_block(b, "authentication")) authentication(b, vi);
        } else if (kw == "virtual_ipaddress" || kw == "virtual_ipaddress_excluded") {
            if (!need_block(b, kw)) continue;
            if (kw == "virtual_ipaddress_excluded")
                msgs_.warn(b.line(),
                           "virtual_ipaddress_excluded: converted into virtual_ipaddresses (dplb "
                           "lists every address in its adverts)");
            vip_blocks.push_back(&b);
        } else if (kw == "unicast_peer") {
            if (need_block(b, kw)) unicast_peer(b, vi);
        } else if (kw == "unicast_src_ip") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b)) {
                if (auto ip = IpAddr::parse(w->text)) {
                    vi.unicast_src_ip = ip;
                    vi.unicast_src_line = b.line();
                } else {
                    msgs_.error(w->line, w->col, "unicast_src_ip: expected an IPv4 or IPv6 address, got " + q(w->text));
                }
            }
        } else if (kw == "unicast_ttl") {
            v_.once(b, seen);
            if (auto t = v_.integer(b, 1, 255)) {
                vi.unicast_ttl = t;
                vi.unicast_ttl_line = b.line();
            }
        } else if (kw == "check_unicast_src" || kw == "unicast_fault_no_peer") {
            // dplb always checks the source against the peers, and never runs unicast without one.
            v_.once(b, seen);
        } else if (kw == "track_script") {
            track_script(b, vi);
        } else if (kw == "notify_master" || kw == "notify_backup" || kw == "notify_fault" || kw == "notify_stop" ||
                   kw == "notify") {
            v_.once(b, seen);
            std::string cmd = notify_hook(b);
            if (cmd.empty()) continue;
            auto it = std::find_if(vi.notify.begin(), vi.notify.end(), [&](const auto& n) { return n.first == kw; });
            if (it != vi.notify.end()) it->second = cmd;  // keepalived keeps the last
            else vi.notify.push_back({kw, cmd});
        } else if (kw == "track_interface") {
            if (!need_block(b, kw)) continue;
            for (const Stmt& t : b.block) {
                if (!name_ok(t.kw(), "track_interface")) {
                    ok = false;
                    continue;
                }
                vi.track.push_back({t.kw().text, t.line()});
                // "eth1 weight -20": the same weight, keepalived's meaning (priority moves instead of FAULT)
                if (t.words.size() == 3 && t.words[1].text == "weight") {
                    const std::string& w = t.words[2].text;
                    bool neg = !w.empty() && w[0] == '-';
                    std::string digits = neg ? w.substr(1) : w;
                    if (!digits.empty() && digits.size() <= 3 && digits[0] != '0' &&
                        digits.find_first_not_of("0123456789") == std::string::npos && std::stoi(digits) <= 253)
                        vi.track_weights[t.kw().text] = neg ? -std::stoi(digits) : std::stoi(digits);
                    else
                        msgs_.warn(t.line(), "track_interface " + t.head() + ": weight must be -253..-1 or "
                                             "1..253; tracked without a weight (FAULT while down)");
                } else if (t.words.size() > 1) {
                    msgs_.warn(t.line(), "track_interface " + t.head() + ": only \"weight N\" is understood; "
                                         "tracked without a weight (FAULT while down)");
                }
                if (t.has_block) not_converted(t);
            }
        } else {
            not_converted(b);
        }
    }
    if (vi.interface.empty() && ok) {
        msgs_.error(s.line(), s.kw().col, label + ": interface missing (dplb runs an instance on a port)");
        ok = false;
    }
    if (!vi.vrid && !seen.count("virtual_router_id")) {
        msgs_.error(s.line(), s.kw().col, label + ": virtual_router_id missing");
        ok = false;
    }
    if (names_seen_.count(vi.name)) {
        msgs_.error(s.line(), s.words[1].col,
                    label + ": duplicate name, first at " + msgs_.line_ref(names_seen_[vi.name]));
        ok = false;
    }
    names_seen_.emplace(vi.name, s.line());
    for (const Stmt* vb : vip_blocks)
        for (const Stmt& l : vb->block) vip_line(l, vi);
    if (!ok) return;
    if (vi.vips.empty()) {
        msgs_.warn(s.line(), label + ": not converted (no virtual address left)");
        return;
    }
    finish_vrrp(vi, label);
}

// unicast_peer { IP [min_ttl N] [max_ttl N] ... }: one peer a line.
void Mapper::unicast_peer(const Stmt& b, OutVrrp& vi) {
    for (const Stmt& l : b.block) {
        const Word& a = l.kw();
        auto ip = IpAddr::parse(a.text);
        if (!ip) {
            msgs_.error(a.line, a.col, "unicast_peer: expected an IPv4 or IPv6 address, got " + q(a.text));
            continue;
        }
        if (std::string why = real_address_problem(*ip); !why.empty()) {
            msgs_.error(a.line, a.col, "unicast_peer: expected another director's address, got " + q(a.text) + " (" +
                                           why + ")");
            continue;
        }
        if (l.words.size() > 1) {
            std::string rest;
            for (size_t i = 1; i < l.words.size(); i++) rest += (i > 1 ? " " : "") + l.words[i].text;
            msgs_.warn(l.line(), "unicast_peer " + a.text + ": " + rest +
                                     " not converted (dplb accepts a listed peer's adverts whatever their TTL)");
        }
        if (l.has_block) not_converted(l);
        bool again = std::any_of(vi.unicast_peers.begin(), vi.unicast_peers.end(),
                                 [&](const auto& p) { return p.first == *ip; });
        if (again) {
            msgs_.warn(l.line(), "unicast_peer " + a.text + ": given again; not converted twice");
            continue;
        }
        vi.unicast_peers.push_back({*ip, l.line()});
    }
}

// Once the instance's addresses are known: peers of another family go (keepalived refuses them too),
// and without a peer the instance runs multicast, where dplb takes no source address.
void Mapper::finish_unicast(OutVrrp& vi) {
    const uint8_t family = vi.vips.front().first.family;
    const char* fam = family == 6 ? "IPv6" : "IPv4";
    if (vi.unicast_src_ip && vi.unicast_src_ip->family != family) {
        msgs_.warn(vi.unicast_src_line, "unicast_src_ip " + vi.unicast_src_ip->str() +
                                            ": not converted (the instance's addresses are " + fam + ")");
        vi.unicast_src_ip.reset();
    }
    // A peer is another director: not this one's source address, not one of the instance's VIPs.
    auto is_vip = [&](const IpAddr& ip) {
        return std::any_of(vi.vips.begin(), vi.vips.end(), [&](const auto& v) { return v.first == ip; });
    };
    std::vector<std::pair<IpAddr, int>> kept;
    for (const auto& p : vi.unicast_peers) {
        const std::string peer = "unicast_peer " + p.first.str() + ": not converted (";
        if (p.first.family != family)
            msgs_.warn(p.second, peer + "the instance's addresses are " + fam + ")");
        else if (vi.unicast_src_ip && p.first == *vi.unicast_src_ip)
            msgs_.warn(p.second, peer + "it is the instance's own unicast_src_ip)");
        else if (is_vip(p.first))
            msgs_.warn(p.second, peer + "it is one of the instance's virtual_ipaddress)");
        else
            kept.push_back(p);
    }
    vi.unicast_peers = std::move(kept);
    if (!vi.unicast_peers.empty()) return;
    if (vi.unicast_src_ip)
        msgs_.warn(vi.unicast_src_line, "unicast_src_ip: not converted (no unicast_peer: the instance runs "
                                        "multicast, from the port's own address)");
    if (vi.unicast_ttl)
        msgs_.warn(vi.unicast_ttl_line, "unicast_ttl: not converted (no unicast_peer: the instance runs multicast)");
    vi.unicast_src_ip.reset();
    vi.unicast_ttl.reset();
}

void Mapper::authentication(const Stmt& a, OutVrrp& vi) {
    std::map<std::string, int> seen;
    std::optional<std::string> type;
    std::optional<std::string> pass;
    int pass_line = a.line();
    for (const Stmt& b : a.block) {
        const std::string& kw = b.kw().text;
        if (kw == "auth_type") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b)) {
                const std::string t = lower(w->text);
                if (t == "pass" || t == "ah")
                    type = t;
                else
                    msgs_.error(w->line, w->col, "auth_type: expected PASS or AH, got " + q(w->text));
            }
        } else if (kw == "auth_pass") {
            v_.once(b, seen);
            if (b.words.size() < 2) {
                msgs_.error(b.line(), b.kw().col, "auth_pass: missing value");
            } else {
                pass = b.words[1].text;  // keepalived reads the first word
                pass_line = b.line();
                if (b.words.size() > 2) v_.one(b);
            }
        } else {
            not_converted(b);
        }
    }
    vi.auth_seen = true;
    vi.auth_line = a.line();
    if (type && *type == "ah") {
        // A keepalived peer with AH drops adverts without its IPsec header: both directors would be
        // MASTER. Only the operator can decide that the peers will be converted too.
        if (!allow_auth_downgrade_) {
            msgs_.error(a.line(), a.kw().col,
                        "auth_type AH: dplb supports PASS only, and a keepalived peer still using AH would "
                        "ignore dplb's adverts, so both would become MASTER; convert with "
                        "--allow-auth-downgrade once every peer runs without AH");
            return;
        }
        msgs_.warn(a.line(),
                   "auth_type AH: not converted (dplb supports PASS only; --allow-auth-downgrade): the "
                   "instance runs without authentication, and a peer still using AH ignores its adverts "
                   "(both become MASTER) until it runs without AH too");
        return;
    }
    if (!pass) {
        if (type) msgs_.error(a.line(), a.kw().col, "authentication: auth_pass missing");
        return;
    }
    if (pass->empty()) {
        msgs_.error(pass_line, a.kw().col, "auth_pass: empty password");
        return;
    }
    if (pass->size() > kMaxAuthPass)
        msgs_.warn(pass_line, "auth_pass: only its first 8 characters are used, as keepalived does");
    vi.auth_pass = *pass;
}

void Mapper::finish_vrrp(OutVrrp& vi, const std::string& label) {
    // keepalived runs IPv6 instances as VRRPv3 whatever the version says.
    const bool v6 = std::all_of(vi.vips.begin(), vi.vips.end(), [](const auto& v) { return v.first.is_v6(); });
    uint32_t version = vi.version.value_or(vrrp_version_);
    if (v6 && version == 2) {
        if (vi.version)
            msgs_.warn(vi.version_line, "version 2: converted as 3 (IPv6 runs VRRPv3, as keepalived does)");
        version = 3;
    }
    vi.version = version;
    if (vi.advert_us) {
        const uint32_t us = *vi.advert_us;
        if (version == 2) {
            uint32_t s = (us + 999999) / 1000000;
            if (us % 1000000)
                msgs_.warn(vi.advert_line, "advert_int " + format_centiseconds(us / 10000) + ": rounded up to " +
                                               std::to_string(s) + " second" + (s == 1 ? "" : "s") +
                                               " (VRRPv2 counts whole seconds)");
            vi.advert_us = s * 1000000;
        } else {
            uint32_t cs = (us + 9999) / 10000;
            if (us % 10000)
                msgs_.warn(vi.advert_line,
                           "advert_int: rounded up to " + format_centiseconds(cs) + " seconds (VRRPv3 counts centiseconds)");
            if (cs > kMaxAdvertIntV3Cs) {
                msgs_.error(vi.advert_line, 1,
                            "advert_int: at most " + format_centiseconds(kMaxAdvertIntV3Cs) + " seconds with VRRPv3, got " +
                                format_centiseconds(cs));
                return;
            }
            vi.advert_us = cs * 10000;
        }
    }
    if (vi.auth_seen && version == 3 && vi.auth_pass) {
        msgs_.warn(vi.auth_line, "authentication: not converted (VRRPv3 has no authentication)");
        vi.auth_pass.reset();
    }
    finish_unicast(vi);
    if (!vi.garp_delay) vi.garp_delay = garp_delay_;
    if (!vi.garp_repeat) vi.garp_repeat = garp_repeat_;
    // VRRP routers are told apart by interface, router id and family.
    std::set<uint8_t> families;
    for (const auto& v : vi.vips) families.insert(v.first.family);
    for (uint8_t fam : families) {
        const std::string key = vi.interface + " " + std::to_string(*vi.vrid) + (fam == 4 ? " IPv4" : " IPv6");
        auto [it, fresh] = vrids_seen_.emplace(key, label + " at " + msgs_.line_ref(vi.line));
        if (!fresh) {
            msgs_.error(vi.vrid_line, vi.vrid_col,
                        "virtual_router_id " + std::to_string(*vi.vrid) + ": already used on " + vi.interface +
                            " for " + (fam == 4 ? "IPv4" : "IPv6") + " by " + it->second);
            return;
        }
    }
    for (const auto& v : vi.vips) vip_owner_.emplace(v.first.str(), label + " at " + msgs_.line_ref(vi.line));
    model_.instances.push_back(std::move(vi));
}

}  // namespace dplb::config::keepalived
