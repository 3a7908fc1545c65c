#include "keepalived/mapper.h"

#include <algorithm>

namespace dplb::config::keepalived {
namespace {

// Keywords known not to carry over, with the reason the warning gives.
const std::map<std::string, std::string> kNoEmail = {
    {"notification_email", ""}, {"notification_email_from", ""}, {"smtp_server", ""},
    {"smtp_helo_name", ""},     {"smtp_connect_timeout", ""},    {"smtp_alert", ""},
    {"smtp_alert_vrrp", ""},    {"smtp_alert_checker", ""},      {"no_email_faults", ""}};

}  // namespace

std::string reason_for(const std::string& kw) {
    if (kNoEmail.count(kw)) return " (dplb has no e-mail notification)";
    if (kw == "router_id") return " (keepalived uses it in e-mails and logs only)";
    if (kw.rfind("notify", 0) == 0)
        return " (dplb runs the notify hooks of vrrp instances, sync groups and real servers only)";
    if (kw == "track_script") return " (dplb tracks scripts in vrrp instances and sync groups only)";
    if (kw == "static_ipaddress" || kw == "static_routes" || kw == "static_rules")
        return " (dplb adds kernel addresses for vrrp instances only, and no routes or rules)";
    if (kw == "mcast_src_ip")
        return " (dplb sends multicast adverts from the port's own address; unicast_src_ip sets the source "
               "of unicast ones)";
    if (kw == "unicast_peer" || kw == "unicast_src_ip" || kw == "unicast_ttl")
        return " (dplb takes unicast peers in a vrrp_instance only)";
    if (kw == "persistence_granularity" || kw == "persistence_engine")
        return " (dplb keeps persistence per client address)";
    if (kw == "BFD_CHECK" || kw == "FILE_CHECK")
        return " (dplb checks with TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, PING_CHECK, UDP_CHECK, DNS_CHECK and "
               "SMTP_CHECK only)";
    if (kw == "virtualhost") return " (dplb's HTTP_GET sends no virtual host; its SSL_GET does, with enable_sni)";
    if (kw == "connect_ip" || kw == "bindto" || kw == "bind_port" || kw == "bind_if" || kw == "fwmark")
        return " (dplb checks a real server at its own address, from the director's)";
    if (kw == "regex" || kw == "regex_no_match" || kw == "regex_options" || kw == "regex_stack" ||
        kw == "regex_min_offset" || kw == "regex_max_offset")
        return " (dplb's HTTP check matches status codes and digest only)";
    if (kw == "user" || kw == "script_user")
        return " (dplb runs scripts as its own user, a vrrp_script as the user it names)";
    if (kw == "enable_script_security")
        return " (dplb runs a script only when its program is an absolute path to an executable file)";
    if (kw == "lvs_sync_daemon")
        return " (dplb has no IPVS connection sync daemon: after a failover, flows that were not scheduled by mh "
               "start over on the new director)";
    if (kw == "use_vmac" || kw == "vmac_xmit_base")
        return " (dplb answers for the vips with its port's own MAC, not the VRRP virtual MAC; after a failover "
               "its gratuitous ARPs move the vips)";
    if (kw == "vrrp_strict")
        return " (dplb follows the RFCs' advert checks always; vrrp_strict's other effects, firewall rules and "
               "refusing unicast peers, do not apply to dplb)";
    if (kw == "omega") return " (dplb runs quorum_up and quorum_down when the quorum changes only)";
    if (kw == "vrrp_skip_check_adv_addr")
        return " (dplb checks the addresses of every advert, which costs it nothing)";
    if (kw == "vrrp_garp_interval" || kw == "vrrp_gna_interval" || kw == "vrrp_garp_lower_prio_delay" ||
        kw == "vrrp_garp_lower_prio_repeat" || kw == "vrrp_garp_master_refresh" ||
        kw == "vrrp_garp_master_refresh_repeat" || kw == "garp_interval" || kw == "gna_interval" ||
        kw == "garp_lower_prio_delay" || kw == "garp_lower_prio_repeat" || kw == "garp_master_refresh" ||
        kw == "garp_master_refresh_repeat")
        return " (dplb sends its gratuitous ARPs by garp_master_delay and garp_master_repeat only)";
    if (kw == "nat_mask" || kw == "lvs_flush" || kw == "lvs_flush_onstop" || kw == "lvs_netlink_cmd_rcv_bufs" ||
        kw == "lvs_netlink_monitor_rcv_bufs" || kw == "checker_netlink_cmd_rcv_bufs")
        return " (it configures the kernel's IPVS, which dplb does not use)";
    // Whatever the import does not know: say so, rather than nothing.
    return " (the import does not know this keyword; find what it did in keepalived and set the closest dplb "
           "key by hand)";
}

void Mapper::run(const std::vector<Stmt>& top) {
    // Defaults in global_defs apply wherever they sit in the file, and vrrp_instance needs to
    // know the service vips, so: global_defs, then virtual_servers, then vrrp_instances.
    std::vector<const Stmt*> instances, groups;
    for (const Stmt& s : top)
        if (s.kw().text == "global_defs" && s.has_block) global_defs(s);
    // A virtual_server may name a group written after it, as keepalived allows.
    for (const Stmt& s : top)
        if (s.kw().text == "virtual_server_group") virtual_server_group(s);
    for (const Stmt& s : top) {
        const std::string& kw = s.kw().text;
        if (kw == "global_defs") {
            if (!s.has_block)
                msgs_.error(s.line(), s.kw().col, "global_defs: expected a block (\"global_defs {\")");
        } else if (kw == "virtual_server_group") {
            continue;  // read before the loop
        } else if (kw == "virtual_server") {
            virtual_server(s);
        } else if (kw == "vrrp_instance") {
            instances.push_back(&s);
        } else if (kw == "vrrp_script") {
            vrrp_script(s);
        } else if (kw == "vrrp_sync_group") {
            groups.push_back(&s);
        } else {
            not_converted(s);
        }
    }
    warn_unused_groups();
    check_real_addresses();
    for (const Stmt* s : instances) vrrp_instance(*s);
    std::map<std::string, int> members;
    for (const Stmt* s : groups) sync_group(*s, members);
    check_limits();
}

// "KEYWORD [NAME]: not converted (reason)", once for a whole block.
void Mapper::not_converted(const Stmt& s, const std::string& reason) {
    msgs_.warn(s.line(), s.head() + ": not converted" + (reason.empty() ? reason_for(s.kw().text) : reason));
}

// Names become names in the YAML (instances, ports), which may hold no control characters.
bool Mapper::name_ok(const Word& w, const std::string& kw) {
    if (!has_control_char(w.text)) return true;
    msgs_.error(w.line, w.col, kw + ": expected a name without control characters, got " + q(w.text));
    return false;
}

bool Mapper::need_block(const Stmt& s, const std::string& form) {
    if (s.has_block) return true;
    msgs_.error(s.line(), s.kw().col, s.kw().text + ": expected a block (\"" + form + " {\")");
    return false;
}

void Mapper::global_defs(const Stmt& g) {
    std::map<std::string, int> seen;
    for (const Stmt& s : g.block) {
        const std::string& kw = s.kw().text;
        if (kw == "vrrp_version") {
            v_.once(s, seen);
            if (auto v = v_.integer(s, 2, 3)) vrrp_version_ = *v;
        } else if (kw == "vrrp_garp_master_delay") {
            v_.once(s, seen);
            if (auto v = v_.seconds(s, 0, kMaxGarpDelayS)) garp_delay_ = *v;
        } else if (kw == "vrrp_garp_master_repeat") {
            v_.once(s, seen);
            if (auto v = v_.integer(s, 1, 255)) garp_repeat_ = *v;
        } else if (kw == "vrrp_check_unicast_src") {
            v_.once(s, seen);  // dplb always checks a unicast advert's source against the peers
        } else if (kw == "lvs_timeouts") {
            v_.once(s, seen);
            lvs_timeouts(s);
        } else {
            not_converted(s);
        }
    }
}

// lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]: ipvsadm --set, applied to every service.
void Mapper::lvs_timeouts(const Stmt& s) {
    if (s.words.size() < 3 || s.words.size() % 2 == 0) {
        msgs_.error(s.line(), s.kw().col,
                    "lvs_timeouts: expected \"lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]\"");
        return;
    }
    for (size_t i = 1; i + 1 < s.words.size(); i += 2) {
        const Word& k = s.words[i];
        const Word& val = s.words[i + 1];
        auto n = parse_uint(val.text, kMaxTimeoutS);
        if (k.text != "tcp" && k.text != "tcpfin" && k.text != "udp") {
            msgs_.error(k.line, k.col, "lvs_timeouts: expected tcp, tcpfin or udp, got " + q(k.text));
        } else if (!n || *n < 1) {
            msgs_.error(
                val.line, val.col,
                "lvs_timeouts: expected integer 1.." + std::to_string(kMaxTimeoutS) + ", got " + q(val.text));
        } else {
            model_.timeouts[k.text] = *n;
        }
    }
}

// Options that may sit at virtual_server, real_server and checker level alike.
bool Mapper::check_opt(const Stmt& s, CheckOpts& o, std::map<std::string, int>& seen) {
    const std::string& kw = s.kw().text;
    if (kw == "connect_timeout") {
        v_.once(s, seen);
        if (auto v = v_.seconds(s, 1, kMaxCheckS)) o.connect_timeout = v;
    } else if (kw == "retry" || kw == "nb_get_retry") {
        v_.once(s, seen);
        if (auto v = v_.integer(s, 0, kMaxCheckRetry)) o.retry = v;
    } else if (kw == "delay_before_retry") {
        v_.once(s, seen);
        if (auto v = v_.seconds(s, 0, kMaxCheckS)) o.delay_before_retry = v;
    } else if (kw == "warmup") {
        v_.once(s, seen);
        if (auto v = v_.seconds(s, 0, kMaxCheckS)) o.warmup = v;
    } else if (kw == "delay_loop") {
        v_.once(s, seen);
        if (auto v = v_.seconds(s, 1, kMaxTimeoutS)) {
            o.delay_loop = v;
            o.delay_loop_line = s.line();
        }
    } else if (kw == "alpha") {
        v_.once(s, seen);
        if (auto b = v_.flag(s)) o.alpha = b;
    } else if (kw == "inhibit_on_failure") {
        v_.once(s, seen);
        if (auto b = v_.flag(s)) o.inhibit_on_failure = b;
    } else {
        return false;
    }
    return true;
}

// A real server is a host of its own, never the address of a virtual_server (a director answers
// for that one).
void Mapper::check_real_addresses() {
    std::map<IpAddr, int> vip_line;  // vip -> line of the first virtual_server with it
    for (const OutService& svc : model_.services) vip_line.emplace(svc.vip, svc.line);
    // A virtual_server over several addresses is several services with the same real servers: each
    // address written once is reported once.
    std::set<std::pair<int, int>> reported;
    for (const OutService& svc : model_.services)
        for (const OutReal& r : svc.reals) {
            const std::string got = "real_server: expected the real server's own address, got ";
            if (!reported.insert({r.line, r.ip_col}).second) continue;
            if (r.ip == svc.vip)
                msgs_.error(r.line, r.ip_col,
                            got + "the virtual_server's address " + q(r.ip.str()) + " (" + kRealHoldsVip + ")");
            else if (auto v = vip_line.find(r.ip); v != vip_line.end())
                msgs_.error(r.line, r.ip_col,
                            got + q(r.ip.str()) + ", the address of the virtual_server at " +
                                msgs_.line_ref(v->second) + " (a director answers for it)");
        }
    for (const OutService& svc : model_.services) {  // a sorry server is a host of its own too
        if (!svc.sorry || !reported.insert({svc.sorry->line, svc.sorry->ip_col}).second) continue;
        const std::string got = "sorry_server: expected the sorry server's own address, got ";
        if (auto v = vip_line.find(svc.sorry->ip); v != vip_line.end())
            msgs_.error(svc.sorry->line, svc.sorry->ip_col,
                        got + q(svc.sorry->ip.str()) + ", the address of the virtual_server at " +
                            msgs_.line_ref(v->second) + " (a director answers for it)");
    }
}

void Mapper::check_limits() {
    if (model_.services.size() > kMaxServices)
        msgs_.error(
            model_.services[kMaxServices].line, 1,
            model_.services[kMaxServices].head + ": dplb takes at most " + std::to_string(kMaxServices) + " services");
    size_t reals = 0;
    bool over = false;
    for (const OutService& s : model_.services) {
        if (s.sorry) reals++;  // a sorry server takes a dest id too
        for (const OutReal& r : s.reals)
            if (++reals > kMaxDests && !over && (over = true))
                msgs_.error(r.line, 1,
                            "real_server " + r.ip.str() + ": dplb takes at most " + std::to_string(kMaxDests) +
                                " real servers over all services");
    }
}

void Mapper::collect_ports() {
    auto& ports = model_.ports;
    for (const OutVrrp& vi : model_.instances) {
        std::vector<std::pair<std::string, int>> uses{{vi.interface, vi.interface_line}};
        uses.insert(uses.end(), vi.track.begin(), vi.track.end());
        for (const auto& [iface, line] : uses) {
            // A structured binding is captured by name only from C++20 on (GCC accepts it earlier).
            auto it = std::find_if(ports.begin(), ports.end(),
                                   [&iface = iface](const auto& p) { return p.first == iface; });
            if (it == ports.end())
                ports.push_back({iface, line});
            else if (line < it->second)
                it->second = line;
        }
    }
    std::stable_sort(ports.begin(), ports.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    for (size_t i = 0; i < ports.size(); i++) {
        const std::string dev = "net_af_packet" + std::to_string(i);
        msgs_.warn(ports[i].second, "interface " + ports[i].first + ": becomes port " + q(ports[i].first) +
                                        " on device " + dev + "; run dplbd with --vdev " + dev +
                                        ",iface=" + ports[i].first +
                                        " or set device to the NIC's PCI address, and list the director's own "
                                        "address on it under addresses");
    }
    if (model_.ports.empty())
        msgs_.warn_file(
            "no vrrp_instance names an interface: wrote port \"lan0\" on device net_af_packet0; set "
            "device to the NIC the virtual servers are reached on");
}

}  // namespace dplb::config::keepalived
