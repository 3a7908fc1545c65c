// A virtual_server's sorry_server and quorum: sorry_server, sorry_server_inhibit,
// sorry_server_lvs_method, quorum, hysteresis, quorum_up and quorum_down, each the service key of
// the same name (config/README.md).
#include "keepalived/mapper.h"

namespace dplb::config::keepalived {

bool Mapper::quorum_option(const Stmt& b, OutService& svc, std::map<std::string, int>& seen) {
    const std::string& kw = b.kw().text;
    if (kw == "sorry_server") {
        v_.once(b, seen);
        OutSorry sorry;
        uint16_t port = 0;
        // "sorry_server IP [PORT]", checked as a real_server's head.
        if (!address_and_port(b, true, sorry.ip, port)) return true;
        if (svc.vip.family && sorry.ip.family != svc.vip.family) {
            msgs_.error(b.words[1].line, b.words[1].col,
                        std::string("sorry_server: expected an ") + (svc.vip.is_v4() ? "IPv4" : "IPv6") +
                            " address like the virtual_server, got " + q(b.words[1].text));
            return true;
        }
        if (std::string why = real_address_problem(sorry.ip); !why.empty()) {
            msgs_.error(b.words[1].line, b.words[1].col,
                        "sorry_server: expected a unicast address, got " + q(b.words[1].text) + " (" + why + ")");
            return true;
        }
        if (b.words.size() > 2 && (port != svc.port || !ports_note_.empty()))
            msgs_.warn(b.line(), b.head() + ": port " + std::to_string(port) + " becomes " + service_port(svc) +
                                     " (under Direct Routing IPVS forwards to the service's port and ignores the "
                                     "sorry server's; dplb does the same)");
        sorry.line = b.line();
        sorry.ip_col = b.words[1].col;
        svc.sorry = sorry;
    } else if (kw == "sorry_server_inhibit") {
        v_.once(b, seen);
        if (auto f = v_.flag(b)) svc.sorry_inhibit = *f;
    } else if (kw == "sorry_server_lvs_method") {
        v_.once(b, seen);
        forwarding(b);
    } else if (kw == "quorum") {
        v_.once(b, seen);
        if (auto v = v_.integer(b, 1, kMaxQuorum)) svc.quorum = v;
    } else if (kw == "hysteresis") {
        v_.once(b, seen);
        if (auto v = v_.integer(b, 0, kMaxQuorum)) svc.hysteresis = v;
    } else if (kw == "quorum_up" || kw == "quorum_down") {
        v_.once(b, seen);
        (kw == "quorum_up" ? svc.quorum_up : svc.quorum_down) = notify_hook(b);
    } else {
        return false;
    }
    return true;
}

// What can be said only once the whole block is read: a hysteresis dplb cannot take, a sorry server
// that is also a real server, an inhibit without a sorry server.
void Mapper::finish_quorum(OutService& svc, const Stmt& s) {
    const uint32_t quorum = svc.quorum.value_or(1);
    if (svc.hysteresis && *svc.hysteresis >= quorum) {
        // keepalived then takes the service down only at live weight 0, as quorum - 1 does in dplb.
        const uint64_t q = quorum;
        msgs_.warn(s.line(), svc.head + ": hysteresis " + std::to_string(*svc.hysteresis) + " becomes " +
                                 std::to_string(q - 1) + " (dplb needs it below the quorum " + std::to_string(q) +
                                 "; the service still goes down only when no live real server has weight, as in "
                                 "keepalived, and comes up again at live weight " + std::to_string(2 * q - 1) +
                                 " rather than " + std::to_string(q + *svc.hysteresis) + ")");
        svc.hysteresis = quorum - 1;
        if (*svc.hysteresis == 0) svc.hysteresis.reset();
    }
    if (svc.sorry)
        for (const OutReal& r : svc.reals)
            if (r.ip == svc.sorry->ip) {
                msgs_.error(svc.sorry->line, svc.sorry->ip_col,
                            "sorry_server: " + q(r.ip.str()) + " is also the real_server at " +
                                msgs_.line_ref(r.line) + " (the sorry server takes over from the real servers)");
                svc.sorry.reset();
                break;
            }
    if (svc.sorry_inhibit && !svc.sorry) {
        msgs_.warn(s.line(), svc.head + ": sorry_server_inhibit: not converted (there is no sorry_server)");
        svc.sorry_inhibit = false;
    }
}

}  // namespace dplb::config::keepalived
