// virtual_server, real_server and their checkers -> services, reals and health checks.
#include <algorithm>
#include <cctype>

#include "keepalived/mapper.h"

namespace dplb::config::keepalived {
namespace {

const std::vector<std::string> kOurSchedulers = {"rr", "wrr", "lc",  "wlc", "sh",   "mh",   "sed",
                                                 "nq", "fo",  "ovf", "dh",  "twos", "lblc", "lblcr"};

}  // namespace

// lb_kind / lvs_method: dplb is Direct Routing only.
void Mapper::forwarding(const Stmt& s) {
    if (s.words.size() < 2) {
        msgs_.error(s.line(), s.kw().col, s.kw().text + ": missing value");
        return;
    }
    const Word& w = s.words[1];
    const std::string m = lower(w.text);
    if (m == "dr") {
        if (s.words.size() > 2) v_.one(s);
    } else if (m == "nat" || m == "tun") {
        msgs_.warn(s.line(), s.kw().text + " " + w.text +
                                 ": converted as DR (dplb forwards by Direct Routing only: each real server "
                                 "must hold the vip on a loopback and not answer ARP for it)");
    } else {
        msgs_.error(w.line, w.col, s.kw().text + ": expected DR, NAT or TUN, got " + q(w.text));
    }
}

// The IP and PORT of "virtual_server IP PORT" and "real_server IP PORT"; the port is
// optional only where `portless_ok`, and is then 0.
bool Mapper::address_and_port(const Stmt& s, bool portless_ok, IpAddr& ip, uint16_t& port) {
    const std::string kw = s.kw().text;
    if (s.words.size() < 2) {
        msgs_.error(s.line(), s.kw().col, kw + ": missing address (expected \"" + kw + " IP PORT {\")");
        return false;
    }
    const Word& a = s.words[1];
    auto parsed = IpAddr::parse(a.text);
    if (!parsed) {
        msgs_.error(a.line, a.col, kw + ": expected an IPv4 or IPv6 address, got " + q(a.text));
        return false;
    }
    ip = *parsed;
    if (s.words.size() < 3) {
        if (portless_ok) {
            port = 0;
            return true;
        }
        msgs_.error(s.line(), s.kw().col, kw + " " + a.text + ": missing port (expected \"" + kw + " IP PORT {\")");
        return false;
    }
    const Word& p = s.words[2];
    auto n = parse_uint(p.text, 65535);
    if (!n) {
        msgs_.error(p.line, p.col, kw + " " + a.text + ": expected port 0..65535, got " + q(p.text));
        return false;
    }
    if (s.words.size() > 3) {
        msgs_.error(s.words[3].line, s.words[3].col,
                    kw + " " + a.text + " " + p.text + ": unexpected " + q(s.words[3].text));
        return false;
    }
    port = static_cast<uint16_t>(*n);
    return true;
}

void Mapper::virtual_server(const Stmt& s) {
    const std::string arg1 = s.arg(1);
    if (!need_block(s, "virtual_server IP PORT")) return;
    OutService svc;
    svc.line = s.line();
    svc.head = s.head();
    std::vector<Target> targets;
    bool ok;
    if (arg1 == "fwmark" || arg1 == "group") {
        // Mapped for its first address and port, then copied for the others (add_services).
        ok = group_targets(s, targets);
        if (ok) {
            svc.vip = targets[0].vip;
            svc.port = targets[0].port;
        }
    } else {
        // keepalived allows a virtual server without a port when it is persistent (all ports).
        bool persistent = std::any_of(s.block.begin(), s.block.end(),
                                      [](const Stmt& b) { return b.kw().text == "persistence_timeout"; });
        ok = address_and_port(s, persistent, svc.vip, svc.port);
        if (std::string why = ok ? vip_address_problem(svc.vip) : ""; !why.empty()) {
            msgs_.error(s.words[1].line, s.words[1].col,
                        "virtual_server: expected a unicast address clients can reach, got " + q(s.words[1].text) +
                            " (" + why + ")");
            ok = false;
        }
        if (ok) targets.push_back(Target{svc.vip, svc.port, ""});
    }
    ports_note_.clear();
    std::vector<uint16_t> ports;
    for (const Target& t : targets)
        if (std::find(ports.begin(), ports.end(), t.port) == ports.end()) ports.push_back(t.port);
    for (size_t i = 0; ports.size() > 1 && i < ports.size(); i++)
        ports_note_ +=
            (i ? ", " : "each service's port (") + std::to_string(ports[i]) + (i + 1 == ports.size() ? ")" : "");

    // Pass 1: the service's own keys and the defaults it hands down; real servers come after,
    // since a default may follow them in the block.
    CheckOpts opts;
    std::map<std::string, int> seen;
    const Word* granularity = nullptr;
    const Stmt* ops = nullptr;
    std::vector<const Stmt*> flags;
    bool kind_seen = false;
    bool dropped = false;
    for (const Stmt& b : s.block) {
        const std::string& kw = b.kw().text;
        if (kw == "real_server") continue;
        if (check_opt(b, opts, seen)) continue;
        if (quorum_option(b, svc, seen)) continue;
        if (kw == "lb_algo" || kw == "lvs_sched") {
            v_.once(b, seen);
            const Word* w = v_.one(b);
            if (!w) continue;
            const std::string algo = lower(w->text);
            if (std::find(kOurSchedulers.begin(), kOurSchedulers.end(), algo) != kOurSchedulers.end()) {
                svc.scheduler = algo;
            } else {
                msgs_.error(w->line, w->col,
                            kw +
                                ": expected one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, "
                                "nq, fo, ovf, mh, twos, got " +
                                q(w->text));
            }
        } else if (kw == "lb_kind" || kw == "lvs_method") {
            v_.once(b, seen);
            kind_seen = true;
            forwarding(b);
        } else if (kw == "protocol") {
            v_.once(b, seen);
            const Word* w = v_.one(b);
            if (!w) continue;
            const std::string p = lower(w->text);
            if (p == "tcp") {
                svc.proto = kProtoTcp;
            } else if (p == "udp") {
                svc.proto = kProtoUdp;
            } else if (p == "sctp") {
                msgs_.warn(s.line(), svc.head +
                                         ": not converted (dplb balances TCP and UDP, not SCTP), "
                                         "nor are its real servers");
                dropped = true;
            } else {
                msgs_.error(w->line, w->col, "protocol: expected TCP, UDP or SCTP, got " + q(w->text));
            }
        } else if (kw == "persistence_granularity") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b)) granularity = w;
        } else if (kw == "ops") {
            v_.once(b, seen);
            ops = &b;
        } else if (kw == "sh-port" || kw == "sh-fallback" || kw == "mh-port" || kw == "mh-fallback" ||
                   kw == "flag-1" || kw == "flag-2" || kw == "flag-3") {
            flags.push_back(&b);
        } else if (kw == "persistence_timeout") {
            v_.once(b, seen);
            if (b.words.size() == 1)
                svc.persistence = 360;  // keepalived: 6 minutes
            else if (auto v = v_.integer(b, 0, kMaxPersistenceS))
                svc.persistence = v;
        } else {
            not_converted(b);
        }
    }
    if (opts.delay_loop) svc.delay_loop = opts.delay_loop;
    ipvs_options(svc, granularity, ops, flags);
    if (!kind_seen && ok && !dropped)
        msgs_.warn(s.line(), svc.head +
                                 ": no lb_kind, which keepalived takes as NAT; converted as DR (dplb "
                                 "forwards by Direct Routing only)");

    // Pass 2: the real servers.
    std::map<std::string, int> reals_seen;
    for (const Stmt& b : s.block) {
        if (b.kw().text != "real_server") continue;
        if (dropped || !ok) continue;
        OutReal r;
        if (!real_server(b, svc, opts, r)) continue;
        const std::string key = r.ip.str() + " " + std::to_string(r.port);
        auto [it, fresh] = reals_seen.emplace(key, b.line());
        if (!fresh) {
            msgs_.error(
                b.line(), b.kw().col,
                "real_server " + key + ": duplicate of the real_server at " + msgs_.line_ref(it->second));
            continue;
        }
        svc.reals.push_back(std::move(r));
    }
    if (!ok || dropped) return;
    if (svc.reals.empty()) {
        msgs_.warn(s.line(), svc.head + ": not converted (it has no real_server, and dplb needs one)");
        return;
    }
    finish_quorum(svc, s);
    add_services(s, svc, targets);
}

// persistence_granularity, ops and the scheduler flags, once the scheduler and protocol are known.
// keepalived's flag-1 / flag-2 are IPVS's SCHED1 / SCHED2: sh's or mh's fallback / port.
void Mapper::ipvs_options(OutService& svc, const Word* granularity, const Stmt* ops,
                          const std::vector<const Stmt*>& flags) {
    if (granularity) {
        auto mask = IpAddr::parse(granularity->text);
        const std::string& t = granularity->text;
        bool len = !t.empty() && t.size() <= 3 && t.find_first_not_of("0123456789") == std::string::npos &&
                   std::stoi(t) >= 1 && std::stoi(t) <= 128;
        // dplb masks by prefix length: a netmask of leading ones (IPVS would take any mask).
        bool ones = false;
        if (mask && mask->is_v4()) {
            uint32_t m = 0;
            for (int i = 0; i < 4; i++) m = m << 8 | mask->b[i];
            ones = m != 0 && (~m & (~m + 1)) == 0;
        }
        if ((svc.vip.is_v4() && !ones) || (svc.vip.is_v6() && !len)) {
            msgs_.error(granularity->line, granularity->col,
                        std::string("persistence_granularity: expected ") +
                            (svc.vip.is_v4() ? "an IPv4 netmask of leading ones (dplb masks by prefix length)"
                                             : "a prefix length 1..128") +
                            ", got " + q(granularity->text));
        } else {
            svc.granularity = granularity->text;
            if (!svc.persistence) svc.persistence = 360;  // keepalived: granularity implies persistence
        }
    }
    if (ops) {
        if (svc.proto == kProtoUdp) svc.ops = true;
        else not_converted(*ops, " (one-packet scheduling applies to UDP services only)");
    }
    const std::string sched = svc.scheduler.value_or("wlc");
    for (const Stmt* f : flags) {
        std::string kw = f->kw().text;
        if (kw == "flag-1" || kw == "flag-2") {
            if (sched == "sh" || sched == "mh") kw = sched + (kw == "flag-1" ? "-fallback" : "-port");
        }
        if ((sched == "sh" || sched == "mh") && kw.compare(0, 3, sched + "-") == 0) {
            if (std::find(svc.sched_flags.begin(), svc.sched_flags.end(), kw) == svc.sched_flags.end())
                svc.sched_flags.push_back(kw);
        } else {
            not_converted(*f, " (it has no meaning for scheduler " + sched + ")");
        }
    }
}

bool Mapper::real_server(const Stmt& s, const OutService& svc, const CheckOpts& vs_opts, OutReal& r) {
    r.line = s.line();
    // keepalived takes "real_server IP" without a port; Direct Routing ignores it anyway.
    if (!address_and_port(s, true, r.ip, r.port)) return false;
    const bool port_given = s.words.size() > 2;
    if (!port_given) r.port = svc.port;
    r.written_port = port_given ? r.port : 0;
    if (r.ip.family != svc.vip.family) {
        msgs_.error(s.words[1].line, s.words[1].col,
                    std::string("real_server: expected an ") + (svc.vip.is_v4() ? "IPv4" : "IPv6") +
                        " address like the virtual_server, got " + q(s.words[1].text));
        return false;
    }
    if (std::string why = real_address_problem(r.ip); !why.empty()) {
        msgs_.error(s.words[1].line, s.words[1].col,
                    "real_server: expected a unicast address, got " + q(s.words[1].text) + " (" + why + ")");
        return false;
    }
    r.ip_col = s.words[1].col;
    CheckOpts opts = vs_opts;
    CheckOpts own;
    std::map<std::string, int> seen;
    std::vector<const Stmt*> checkers;
    std::vector<const Stmt*> other_checkers;
    const Stmt* lthreshold = nullptr;
    for (const Stmt& b : s.block) {
        const std::string& kw = b.kw().text;
        if (check_opt(b, own, seen)) continue;
        if (kw == "weight") {
            v_.once(b, seen);
            if (auto w = v_.integer(b, 0, 65535)) r.weight = w;
        } else if (kw == "uthreshold") {
            v_.once(b, seen);
            if (auto v = v_.integer(b, 0, 0xffffffff)) r.u_threshold = v;
        } else if (kw == "lthreshold") {
            v_.once(b, seen);
            if (auto v = v_.integer(b, 0, 0xffffffff)) {
                r.l_threshold = v;
                lthreshold = &b;
            }
        } else if (kw == "lvs_method") {
            v_.once(b, seen);
            forwarding(b);
        } else if (kw == "notify_up" || kw == "notify_down") {
            v_.once(b, seen);
            (kw == "notify_up" ? r.notify_up : r.notify_down) = notify_hook(b);
        } else if (kw == "TCP_CHECK" || kw == "HTTP_GET" || kw == "SSL_GET" || kw == "MISC_CHECK" ||
                   kw == "PING_CHECK" || kw == "UDP_CHECK" || kw == "DNS_CHECK" || kw == "SMTP_CHECK") {
            checkers.push_back(&b);
        } else if (kw.size() > 6 && kw.compare(kw.size() - 6, 6, "_CHECK") == 0) {
            other_checkers.push_back(&b);
        } else {
            not_converted(b);
        }
    }
    // IPVS lowers an overloaded real's limit to lthreshold: without a uthreshold there is none.
    if (lthreshold && *r.l_threshold != 0 && r.u_threshold.value_or(0) == 0) {
        not_converted(*lthreshold, " (it needs a uthreshold)");
        r.l_threshold.reset();
    } else if (lthreshold && *r.l_threshold > r.u_threshold.value_or(0) && r.u_threshold.value_or(0) != 0) {
        not_converted(*lthreshold, " (it is above the uthreshold)");
        r.l_threshold.reset();
    }
    opts.overlay(own);
    r.inhibit_on_failure = opts.inhibit_on_failure;
    const uint32_t delay_loop = svc.delay_loop.value_or(kDefaultDelayLoopS);
    if (own.delay_loop && *own.delay_loop != delay_loop) warn_delay_loop(own, delay_loop);
    for (size_t i = 0; i < checkers.size(); i++) {
        if (i == 0) {
            r.check = checker(*checkers[0], r, opts, delay_loop);
        } else {
            msgs_.warn(checkers[i]->line(), checkers[i]->kw().text +
                                                ": not converted (dplb runs one check per "
                                                "real server; the " +
                                                checkers[0]->kw().text + " at " +
                                                msgs_.line_ref(checkers[0]->line()) + " is used)");
        }
    }
    unknown_checkers(other_checkers, checkers.empty() ? nullptr : checkers[0], opts, r);
    if (r.port != svc.port || (port_given && !ports_note_.empty())) force_service_port(s, svc, r);
    return true;
}

// Checkers dplb lacks never leave a real server unchecked and always up.
void Mapper::unknown_checkers(const std::vector<const Stmt*>& others, const Stmt* used, const CheckOpts& opts,
                              OutReal& r) {
    for (const Stmt* c : others) {
        const std::string kw = c->kw().text;
        if (used) {
            not_converted(*c, reason_for(kw) + "; the real server is checked by the " + used->kw().text +
                                  " at " + msgs_.line_ref(used->line()));
        } else if (kw == "BFD_CHECK" && !r.check) {
            // BFD tells whether the path to the host is alive; dplb's ping tells that too, slower.
            OutCheck p;
            p.type = CheckType::ping;
            p.line = c->line();
            p.keyword = kw;
            p.opts = opts;
            p.opts.alpha = true;
            r.check = p;
            msgs_.warn(c->line(), c->head() +
                                      ": converted into a ping check that starts down (alpha) (dplb has no BFD; "
                                      "a ping checks that the real server answers at all)");
        } else if (!r.check) {
            // Nothing to check it with: weight 0 takes it out of scheduling until the operator gives
            // it a check, as a real whose check has not passed yet would be.
            const uint32_t was = r.weight.value_or(1);
            r.weight = 0;
            not_converted(*c, reason_for(kw) + "; the real server gets weight 0 (was " + std::to_string(was) +
                                  ") so that it takes no connections unchecked: give it a health_check and its "
                                  "weight back by hand");
        } else {
            not_converted(*c, reason_for(kw) + "; the real server is checked as the " + r.check->keyword +
                                  " at " + msgs_.line_ref(r.check->line) + " says");
        }
    }
}

// IPVS forwards a Direct Routing real server the service's port whatever port it is given (ipvsadm
// forces it), and so does dplb, whose loader refuses any other. The health check keeps probing the
// port keepalived probed.
void Mapper::force_service_port(const Stmt& s, const OutService& svc, OutReal& r) {
    std::string checked;
    if (r.check && r.check->type != CheckType::misc && r.check->type != CheckType::ping) {
        if (!r.check->connect_port) {
            r.check->connect_port = r.port;
            checked = "; its health check keeps probing port " + std::to_string(r.port) + " (connect_port)";
        }
    }
    msgs_.warn(s.line(), s.head() + ": port " + std::to_string(r.port) + " becomes " + service_port(svc) +
                             " (under Direct Routing IPVS forwards to the service's port and ignores the real "
                             "server's; dplb does the same)" +
                             checked);
    r.port = svc.port;
}

void Mapper::warn_delay_loop(const CheckOpts& o, uint32_t service_delay_loop) {
    msgs_.warn(o.delay_loop_line, "delay_loop " + std::to_string(*o.delay_loop) +
                                      ": not converted (dplb checks every real server of a service at the "
                                      "service's delay_loop, " +
                                      std::to_string(service_delay_loop) + ")");
}

std::optional<OutCheck> Mapper::checker(const Stmt& s, const OutReal& r, const CheckOpts& inherited,
                                        uint32_t delay_loop) {
    const std::string& kw = s.kw().text;
    if (!need_block(s, kw)) return std::nullopt;
    OutCheck c;
    c.line = s.line();
    c.keyword = kw;
    c.type = kw == "HTTP_GET"     ? CheckType::http
             : kw == "SSL_GET"    ? CheckType::ssl
             : kw == "MISC_CHECK" ? CheckType::misc
             : kw == "PING_CHECK" ? CheckType::ping
             : kw == "UDP_CHECK"  ? CheckType::udp
             : kw == "DNS_CHECK"  ? CheckType::dns
             : kw == "SMTP_CHECK" ? CheckType::smtp
                                  : CheckType::tcp;
    const bool http_like = c.type == CheckType::http || c.type == CheckType::ssl;
    CheckOpts own;
    std::map<std::string, int> seen;
    std::vector<const Stmt*> urls;
    bool ok = true;
    for (const Stmt& b : s.block) {
        const std::string& k = b.kw().text;
        if (k == "inhibit_on_failure") {
            not_converted(b, " (it belongs to the real server)");
        } else if (check_opt(b, own, seen)) {
            continue;
        } else if (k == "connect_port" && kw != "MISC_CHECK" && kw != "PING_CHECK") {
            v_.once(b, seen);
            if (auto p = v_.integer(b, 1, 65535))
                c.connect_port = static_cast<uint16_t>(*p);
            else
                ok = false;
        } else if (k == "url" && (kw == "HTTP_GET" || kw == "SSL_GET")) {
            urls.push_back(&b);
        } else if (k == "misc_path" && kw == "MISC_CHECK") {
            v_.once(b, seen);
            if (b.words.size() < 2) {
                msgs_.error(b.line(), b.kw().col, "misc_path: missing value");
                ok = false;
            } else {
                std::string cmd;
                for (size_t i = 1; i < b.words.size(); i++) cmd += (i > 1 ? " " : "") + b.words[i].text;
                c.script = cmd;
            }
        } else if (k == "misc_timeout" && kw == "MISC_CHECK") {
            v_.once(b, seen);
            if (auto t = v_.seconds(b, 1, kMaxCheckS))
                c.timeout = t;
            else
                ok = false;
        } else if (k == "misc_dynamic" && kw == "MISC_CHECK") {
            v_.once(b, seen);
            if (auto d = v_.flag(b)) c.dynamic = *d;
        } else if (k == "enable_sni" && kw == "SSL_GET") {
            v_.once(b, seen);
            if (auto d = v_.flag(b)) c.enable_sni = *d;
        } else if (k == "virtualhost" && kw == "SSL_GET") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b)) c.virtualhost = w->text;
        } else if ((k == "payload" || k == "require_reply") && kw == "UDP_CHECK") {
            v_.once(b, seen);
            std::string hex;
            bool hex_ok = true;
            for (size_t i = 1; i < b.words.size(); i++)
                for (char ch : b.words[i].text) {
                    if (!std::isxdigit(static_cast<unsigned char>(ch))) hex_ok = false;
                    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                }
            if (!hex_ok || hex.size() % 2 != 0 || (k == "payload" && hex.empty())) {
                msgs_.error(b.line(), b.kw().col, k + ": expected hex digit pairs like 0a1b");
                ok = false;
            } else if (k == "payload") {
                c.payload_hex = hex;
            } else {
                c.require_reply = true;
                c.reply_hex = hex;
            }
        } else if ((k == "min_reply_length" || k == "max_reply_length") && kw == "UDP_CHECK") {
            v_.once(b, seen);
            if (auto n = v_.integer(b, 0, 65535))
                (k == "min_reply_length" ? c.min_reply_length : c.max_reply_length) = *n;
            else
                ok = false;
        } else if (k == "type" && kw == "DNS_CHECK") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b)) {
                std::string t;
                for (char ch : w->text) t += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                if (t == "A" || t == "NS" || t == "CNAME" || t == "SOA" || t == "MX" || t == "TXT" || t == "AAAA") {
                    c.dns_type = t;
                } else {
                    msgs_.error(w->line, w->col, "type: expected one of A, NS, CNAME, SOA, MX, TXT, AAAA, got " + q(w->text));
                    ok = false;
                }
            }
        } else if (k == "name" && kw == "DNS_CHECK") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b)) c.dns_name = w->text;
        } else if (k == "helo_name" && kw == "SMTP_CHECK") {
            v_.once(b, seen);
            if (const Word* w = v_.one(b)) c.helo_name = w->text;
        } else {
            not_converted(b);
        }
    }
    c.opts = inherited;
    c.opts.overlay(own);
    if (own.delay_loop && *own.delay_loop != delay_loop) warn_delay_loop(own, delay_loop);
    if (http_like) {
        if (urls.empty()) {
            msgs_.error(s.line(), s.kw().col, kw + ": no url (expected \"url { path /PATH }\")");
            ok = false;
        }
        for (size_t i = 0; i < urls.size(); i++) {
            if (i == 0) {
                ok = url(*urls[0], c) && ok;
            } else {
                msgs_.warn(urls[i]->line(),
                           "url: not converted (dplb checks one URL per real server; the one at " +
                               msgs_.line_ref(urls[0]->line()) + " is used)");
            }
        }
    }
    if (c.type == CheckType::misc) {
        if (c.script.empty() && ok) {
            msgs_.error(s.line(), s.kw().col, "MISC_CHECK: misc_path missing");
            ok = false;
        }
        // keepalived's MISC_CHECK defaults differ from dplb's misc ones: write them out.
        if (!c.opts.retry) c.opts.retry = 0;
        if (!c.opts.delay_before_retry) c.opts.delay_before_retry = 1;
        if (!c.timeout) c.timeout = delay_loop;
    }
    if (c.enable_sni && c.virtualhost.empty()) {
        msgs_.warn(s.line(), "SSL_GET: enable_sni not converted (no virtualhost to send as the server name)");
        c.enable_sni = false;
    }
    if (!c.enable_sni && !c.virtualhost.empty()) {
        msgs_.warn(s.line(), "SSL_GET: virtualhost not converted (dplb sends it with enable_sni only)");
        c.virtualhost.clear();
    }
    if (c.type == CheckType::udp && (c.min_reply_length || c.max_reply_length) && !c.require_reply) {
        msgs_.warn(s.line(), "UDP_CHECK: min_reply_length and max_reply_length not converted (they apply with "
                             "require_reply only)");
        c.min_reply_length.reset();
        c.max_reply_length.reset();
    }
    // keepalived's DNS_CHECK retries 3 times, as dplb's dns does; other checks retry once.
    if (c.type != CheckType::misc && c.type != CheckType::ping && c.type != CheckType::dns &&
        c.type != CheckType::smtp && !c.connect_port && r.port == 0) {
        msgs_.error(s.line(), s.kw().col, kw + ": connect_port missing (the real server has no port to check)");
        ok = false;
    }
    if (!ok) return std::nullopt;
    return c;
}

bool Mapper::url(const Stmt& u, OutCheck& c) {
    if (!need_block(u, "url")) return false;
    bool ok = true;
    bool path_seen = false;
    std::map<std::string, int> seen;
    for (const Stmt& b : u.block) {
        const std::string& k = b.kw().text;
        if (k == "path") {
            v_.once(b, seen);
            const Word* w = v_.one(b);
            if (!w) {
                ok = false;
            } else if (w->text[0] != '/') {
                msgs_.error(w->line, w->col, "path: expected a path starting with \"/\", got " + q(w->text));
                ok = false;
            } else {
                c.path = w->text;
                path_seen = true;
            }
        } else if (k == "digest") {
            v_.once(b, seen);
            const Word* w = v_.one(b);
            if (w && w->text.size() == 32 &&
                w->text.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
                c.digest = lower(w->text);
            } else {
                if (w)
                    msgs_.error(w->line, w->col,
                                "digest: expected an MD5 digest of 32 hex digits, got " + q(w->text));
                ok = false;
            }
        } else if (k == "status_code") {
            v_.once(b, seen);
            c.status_codes.clear();
            if (b.words.size() < 2) {
                msgs_.error(b.line(), b.kw().col, "status_code: missing value");
                ok = false;
            }
            for (size_t i = 1; i < b.words.size(); i++) {
                const Word& w = b.words[i];
                if (status_item_ok(w.text)) {
                    c.status_codes.push_back(w.text);
                } else {
                    msgs_.error(w.line, w.col,
                                "status_code: expected a code 100..599 or a range like 200-299, got " + q(w.text));
                    ok = false;
                }
            }
        } else {
            not_converted(b);
        }
    }
    if (!path_seen && ok) {
        msgs_.error(u.line(), u.kw().col, "url: path missing");
        ok = false;
    }
    // keepalived takes any 2xx when no status_code is given; dplb's default is 200 alone.
    if (c.status_codes.empty()) c.status_codes = {"200-299"};
    return ok;
}

bool Mapper::status_item_ok(const std::string& s) {
    auto code = [](const std::string& t) {
        return t.size() == 3 && t.find_first_not_of("0123456789") == std::string::npos && t >= "100" && t <= "599";
    };
    size_t dash = s.find('-');
    if (dash == std::string::npos) return code(s);
    return code(s.substr(0, dash)) && code(s.substr(dash + 1)) && s.substr(0, dash) <= s.substr(dash + 1);
}

}  // namespace dplb::config::keepalived
