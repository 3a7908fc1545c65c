#include "keepalived/emitter.h"

#include <set>

#include "keepalived/messages.h"
#include "text.h"

namespace dplb::config::keepalived {
namespace {

bool plain_ok(const std::string& s) {
    if (s.empty()) return false;
    const char c0 = s[0];
    if (!((c0 >= 'A' && c0 <= 'Z') || (c0 >= 'a' && c0 <= 'z') || (c0 >= '0' && c0 <= '9') || c0 == '/' || c0 == '_' ||
          c0 == '.'))
        return false;
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string("_./:@+-").find(c) != std::string::npos))
            return false;
    if (s.back() == ':') return false;
    // YAML 1.1 would read these as booleans or null.
    static const std::set<std::string> special = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
    return !special.count(lower(s));
}

std::string yq(const std::string& s) { return double_quoted(s); }

std::string ys(const std::string& s) { return plain_ok(s) ? s : yq(s); }

}  // namespace

std::string vrrp_instance_yaml(const OutVrrp& vi) {
    auto num = [](uint32_t v) { return std::to_string(v); };
    std::string y;
    y += "  - name: " + ys(vi.name) + "\n";
    y += "    interface: " + ys(vi.interface) + "\n";
    if (vi.state) y += "    state: " + *vi.state + "\n";
    y += "    virtual_router_id: " + num(*vi.vrid) + "\n";
    if (vi.priority) y += "    priority: " + num(*vi.priority) + "\n";
    if (vi.advert_us) y += "    advert_int: " + format_centiseconds(*vi.advert_us / 10000) + "\n";
    if (*vi.version != 2) y += "    version: " + num(*vi.version) + "\n";
    if (vi.preempt) y += std::string("    preempt: ") + (*vi.preempt ? "true" : "false") + "\n";
    if (vi.preempt_delay) y += "    preempt_delay: " + num(*vi.preempt_delay) + "\n";
    if (vi.auth_pass) y += "    authentication:\n      type: PASS\n      password: " + yq(*vi.auth_pass) + "\n";
    y += "    virtual_ipaddresses:\n";
    for (const auto& v : vi.vips) {
        auto k = vi.kernel.find(v.first);
        std::string addr = v.first.str();
        if (k != vi.kernel.end() && k->second.prefix_len) addr += "/" + num(k->second.prefix_len);
        if (k == vi.kernel.end() || (k->second.label.empty() && k->second.scope.empty())) {
            y += "      - " + ys(addr) + "\n";
            continue;
        }
        y += "      - {address: " + ys(addr);
        if (!k->second.label.empty()) y += ", label: " + ys(k->second.label);
        if (!k->second.scope.empty()) y += ", scope: " + k->second.scope;
        y += "}\n";
    }
    if (!vi.track.empty()) {
        y += "    track_interfaces:\n";
        std::set<std::string> done;
        for (const auto& t : vi.track) {
            if (!done.insert(t.first).second) continue;
            auto w = vi.track_weights.find(t.first);
            if (w == vi.track_weights.end()) y += "      - " + ys(t.first) + "\n";
            else y += "      - {name: " + ys(t.first) + ", weight: " + std::to_string(w->second) + "}\n";
        }
    }
    if (!vi.track_scripts.empty()) {
        y += "    track_scripts:\n";
        for (const auto& t : vi.track_scripts) {
            auto w = vi.track_script_weights.find(t);
            if (w == vi.track_script_weights.end()) y += "      - " + ys(t) + "\n";
            else y += "      - {name: " + ys(t) + ", weight: " + std::to_string(w->second) + "}\n";
        }
    }
    for (const auto& [kw, cmd] : vi.notify) y += "    " + kw + ": " + yq(cmd) + "\n";
    if (vi.garp_delay) y += "    garp_master_delay: " + num(*vi.garp_delay) + "\n";
    if (vi.garp_repeat) y += "    garp_master_repeat: " + num(*vi.garp_repeat) + "\n";
    if (!vi.unicast_peers.empty()) {
        if (vi.unicast_src_ip) y += "    unicast_src_ip: " + ys(vi.unicast_src_ip->str()) + "\n";
        if (vi.unicast_ttl) y += "    unicast_ttl: " + num(*vi.unicast_ttl) + "\n";
        y += "    unicast_peers:\n";
        for (const auto& p : vi.unicast_peers) y += "      - " + ys(p.first.str()) + "\n";
    }
    return y;
}

std::string emit_yaml(const Model& m, const std::string& name, const Messages& msgs) {
    std::string y = "# Converted from " + name + " by dplb's keepalived import. Read its warnings before use.\n";
    y += "ports:\n";
    if (m.ports.empty()) {
        y += "  - name: lan0\n    device: net_af_packet0\n";
    } else {
        for (size_t i = 0; i < m.ports.size(); i++)
            y += "  - name: " + ys(m.ports[i].first) + "\n    device: net_af_packet" + std::to_string(i) + "\n";
    }
    // A VRRP-only site has none: its addresses are the kernel's.
    if (!m.services.empty()) y += "services:\n";
    auto num = [](uint32_t v) { return std::to_string(v); };
    for (const OutService& s : m.services) {
        y += "  # " + msgs.where(s.line) + ": " + s.head + "\n";
        if (!s.origin.empty()) y += "  # " + s.origin + "\n";
        y += "  - vip: " + ys(s.vip.str()) + "\n";
        y += "    port: " + num(s.port) + "\n";
        y += std::string("    protocol: ") + (s.proto == kProtoUdp ? "udp" : "tcp") + "\n";
        if (s.scheduler) y += "    scheduler: " + *s.scheduler + "\n";
        if (s.persistence) y += "    persistence_timeout: " + num(*s.persistence) + "\n";
        if (s.granularity) y += "    persistence_granularity: " + ys(*s.granularity) + "\n";
        if (s.ops) y += "    ops: true\n";
        if (!s.sched_flags.empty()) {
            std::string list;
            for (const std::string& f : s.sched_flags) list += (list.empty() ? "" : ", ") + f;
            y += "    scheduler_flags: [" + list + "]\n";
        }
        if (s.delay_loop) y += "    delay_loop: " + num(*s.delay_loop) + "\n";
        std::vector<std::pair<std::string, uint32_t>> t;
        if (s.proto == kProtoTcp && m.timeouts.count("tcp")) t.push_back({"established", m.timeouts.at("tcp")});
        if (s.proto == kProtoTcp && m.timeouts.count("tcpfin")) t.push_back({"fin_wait", m.timeouts.at("tcpfin")});
        if (s.proto == kProtoUdp && m.timeouts.count("udp")) t.push_back({"udp", m.timeouts.at("udp")});
        if (!t.empty()) {
            y += "    timeouts:\n";
            for (const auto& [k, v] : t) y += "      " + k + ": " + num(v) + "\n";
        }
        if (s.quorum) y += "    quorum: " + num(*s.quorum) + "\n";
        if (s.hysteresis) y += "    hysteresis: " + num(*s.hysteresis) + "\n";
        if (!s.quorum_up.empty()) y += "    quorum_up: " + yq(s.quorum_up) + "\n";
        if (!s.quorum_down.empty()) y += "    quorum_down: " + yq(s.quorum_down) + "\n";
        if (s.sorry) y += "    sorry_server:\n      ip: " + ys(s.sorry->ip.str()) + "\n";
        if (s.sorry_inhibit) y += "    sorry_server_inhibit: true\n";
        y += "    real_servers:\n";
        for (const OutReal& r : s.reals) {
            y += "      - ip: " + ys(r.ip.str()) + "\n";
            if (r.port != s.port) y += "        port: " + num(r.port) + "\n";
            if (r.weight) y += "        weight: " + num(*r.weight) + "\n";
            if (r.inhibit_on_failure)
                y += std::string("        inhibit_on_failure: ") + (*r.inhibit_on_failure ? "true" : "false") + "\n";
            if (r.u_threshold) y += "        u_threshold: " + num(*r.u_threshold) + "\n";
            if (r.l_threshold) y += "        l_threshold: " + num(*r.l_threshold) + "\n";
            if (!r.notify_up.empty()) y += "        notify_up: " + yq(r.notify_up) + "\n";
            if (!r.notify_down.empty()) y += "        notify_down: " + yq(r.notify_down) + "\n";
            if (!r.check) continue;
            const OutCheck& c = *r.check;
            const std::string in = "          ";
            y += "        health_check:\n";
            y += in + "type: " +
                 (c.type == CheckType::http   ? "http"
                  : c.type == CheckType::ssl  ? "ssl"
                  : c.type == CheckType::misc ? "misc"
                  : c.type == CheckType::ping ? "ping"
                  : c.type == CheckType::udp  ? "udp"
                  : c.type == CheckType::dns  ? "dns"
                  : c.type == CheckType::smtp ? "smtp"
                                              : "tcp") +
                 "\n";
            if (c.opts.connect_timeout) y += in + "connect_timeout: " + num(*c.opts.connect_timeout) + "\n";
            if (c.opts.retry) y += in + "retry: " + num(*c.opts.retry) + "\n";
            if (c.opts.delay_before_retry) y += in + "delay_before_retry: " + num(*c.opts.delay_before_retry) + "\n";
            if (c.opts.warmup) y += in + "warmup: " + num(*c.opts.warmup) + "\n";
            if (c.opts.alpha) y += in + "alpha: " + (*c.opts.alpha ? "true" : "false") + "\n";
            if (c.connect_port) y += in + "connect_port: " + num(*c.connect_port) + "\n";
            if (c.type == CheckType::http || c.type == CheckType::ssl) {
                y += in + "path: " + ys(c.path) + "\n";
                y += in + "status_codes: [";
                for (size_t i = 0; i < c.status_codes.size(); i++) y += (i ? ", " : "") + c.status_codes[i];
                y += "]\n";
                if (!c.digest.empty()) y += in + "digest: " + c.digest + "\n";
            }
            if (c.enable_sni) y += in + "enable_sni: true\n" + in + "virtualhost: " + ys(c.virtualhost) + "\n";
            if (!c.payload_hex.empty()) y += in + "payload: " + yq(c.payload_hex) + "\n";
            if (c.require_reply) y += in + "require_reply: " + (c.reply_hex.empty() ? "true" : yq(c.reply_hex)) + "\n";
            if (c.min_reply_length) y += in + "min_reply_length: " + num(*c.min_reply_length) + "\n";
            if (c.max_reply_length) y += in + "max_reply_length: " + num(*c.max_reply_length) + "\n";
            if (!c.dns_type.empty()) y += in + "dns_type: " + c.dns_type + "\n";
            if (!c.dns_name.empty()) y += in + "dns_name: " + yq(c.dns_name) + "\n";
            if (!c.helo_name.empty()) y += in + "helo_name: " + ys(c.helo_name) + "\n";
            if (c.type == CheckType::misc) {
                y += in + "script: " + yq(c.script) + "\n";
                y += in + "timeout: " + num(*c.timeout) + "\n";
                if (c.dynamic) y += in + "dynamic: true\n";
            }
        }
    }
    if (!m.scripts.empty()) y += "vrrp_scripts:\n";
    for (const OutScript& s : m.scripts) {
        y += "  # " + msgs.where(s.line) + ": vrrp_script " + s.name + "\n";
        y += "  - name: " + ys(s.name) + "\n";
        y += "    script: " + yq(s.script) + "\n";
        if (s.interval) y += "    interval: " + num(*s.interval) + "\n";
        if (s.timeout) y += "    timeout: " + num(*s.timeout) + "\n";
        if (s.weight) y += "    weight: " + std::to_string(*s.weight) + "\n";
        if (s.rise) y += "    rise: " + num(*s.rise) + "\n";
        if (s.fall) y += "    fall: " + num(*s.fall) + "\n";
        if (s.init_fail) y += "    init_fail: true\n";
        if (!s.user.empty()) y += "    user: " + yq(s.user) + "\n";
    }
    if (!m.instances.empty()) y += "vrrp_instances:\n";
    for (const OutVrrp& vi : m.instances) {
        y += "  # " + msgs.where(vi.line) + ": vrrp_instance " + vi.name + "\n";
        y += vrrp_instance_yaml(vi);
    }
    if (!m.sync_groups.empty()) y += "vrrp_sync_groups:\n";
    for (const OutSyncGroup& g : m.sync_groups) {
        y += "  # " + msgs.where(g.line) + ": vrrp_sync_group " + g.name + "\n";
        y += "  - name: " + ys(g.name) + "\n";
        y += "    instances:\n";
        for (const auto& n : g.instances) y += "      - " + ys(n) + "\n";
        if (!g.track_scripts.empty()) {
            y += "    track_scripts:\n";
            for (const auto& t : g.track_scripts) y += "      - " + ys(t) + "\n";
        }
        for (const auto& [kw, cmd] : g.notify) y += "    " + kw + ": " + yq(cmd) + "\n";
    }
    return y;
}

}  // namespace dplb::config::keepalived
