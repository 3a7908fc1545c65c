#include "commands.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "ipvsadm_command.h"
#include "stats_report.h"
#include "text.h"

namespace dplb {
namespace {


std::string svc_name(const Service& s) { return std::string(proto_name(s.proto)) + "  " + endpoint(s.vip, s.port); }

const char* kHeader = "IP Virtual Server version 1.2.1 (size=4096)\n";

std::string row(const std::string& name, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
    char line[160];
    std::snprintf(line, sizeof line, "%-33s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
                  name.c_str(), a, b, c, d, e);
    return line;
}

}  // namespace

std::string format_list(const Snapshot& snap, const CoreCounters& t, bool json,
                        const std::function<bool(const IpAddr&)>& owned) {
    auto active = [&owned](const Service& s) { return !owned || owned(s.vip); };
    if (!json) return format_ipvsadm(snap, t);
    std::string o = "{\"services\":[";
    for (size_t i = 0; i < snap.services.size(); i++) {
        const Service& s = snap.services[i];
        o += (i ? "," : "") + std::string("{\"protocol\":") + json_string(proto_name(s.proto)) + ",\"vip\":" +
             json_string(s.vip.str()) + ",\"port\":" + std::to_string(s.port) + ",\"scheduler\":" +
             json_string(sched_name(s.sched)) + ",\"persistence_timeout\":" + std::to_string(s.persistence_ms / 1000) +
             ",\"active\":" + (active(s) ? "true" : "false") + ",\"reals\":[";
        for (size_t j = 0; j < s.dests.size(); j++) {
            const Dest& d = snap.dests[s.dests[j]];
            const DestCounters& c = t.dest[s.dests[j]];
            o += (j ? "," : "") + std::string("{\"ip\":") + json_string(d.ip.str()) + ",\"port\":" + std::to_string(d.port) +
                 ",\"forward\":\"Route\",\"weight\":" + std::to_string(d.weight) +
                 ",\"active_conns\":" + std::to_string(c.active) + ",\"inactive_conns\":" + std::to_string(c.inactive) +
                 ",\"persistent_conns\":" + std::to_string(c.persist) + ",\"mac\":" +
                 (d.has_mac ? json_string(d.mac.str()) : "null") + "}";
        }
        o += "]}";
    }
    return o + "]}\n";
}

std::string format_list_stats(const Snapshot& snap, const CoreCounters& t, bool json) {
    if (json) return format_stats_json(snap, t) + "\n";
    std::string o = kHeader;
    char line[160];
    std::snprintf(line, sizeof line, "%-33s %8s %8s %8s %8s %8s\n", "Prot LocalAddress:Port", "Conns", "InPkts",
                  "OutPkts", "InBytes", "OutBytes");
    o += line;
    o += "  -> RemoteAddress:Port\n";
    for (const Service& s : snap.services) {
        const ServiceCounters& c = t.svc[s.id];
        o += row(svc_name(s), c.conns, c.inpkts, 0, c.inbytes, 0);  // Direct Routing: replies bypass us
        for (uint16_t id : s.dests) {
            const DestCounters& d = t.dest[id];
            o += row("  -> " + endpoint(snap.dests[id].ip, snap.dests[id].port), d.conns, d.inpkts, 0, d.inbytes, 0);
        }
    }
    return o;
}

std::string format_list_rate(const Snapshot& snap, const Director& dir, bool json) {
    auto r64 = [](double v) { return static_cast<uint64_t>(v + 0.5); };
    if (json) {
        std::string o = "{\"services\":[";
        for (size_t i = 0; i < snap.services.size(); i++) {
            const Service& s = snap.services[i];
            Rates r = dir.service_rate(s.id);
            o += (i ? "," : "") + std::string("{\"vip\":") + json_string(s.vip.str()) + ",\"port\":" +
                 std::to_string(s.port) + ",\"protocol\":" + json_string(proto_name(s.proto)) +
                 ",\"cps\":" + std::to_string(r64(r.cps)) + ",\"inpps\":" + std::to_string(r64(r.inpps)) +
                 ",\"inbps\":" + std::to_string(r64(r.inbps)) + ",\"reals\":[";
            for (size_t j = 0; j < s.dests.size(); j++) {
                Rates d = dir.dest_rate(s.dests[j]);
                const Dest& dd = snap.dests[s.dests[j]];
                o += (j ? "," : "") + std::string("{\"ip\":") + json_string(dd.ip.str()) + ",\"port\":" +
                     std::to_string(dd.port) + ",\"cps\":" + std::to_string(r64(d.cps)) + ",\"inpps\":" +
                     std::to_string(r64(d.inpps)) + ",\"inbps\":" + std::to_string(r64(d.inbps)) + "}";
            }
            o += "]}";
        }
        return o + "]}\n";
    }
    std::string o = kHeader;
    char line[160];
    std::snprintf(line, sizeof line, "%-33s %8s %8s %8s %8s %8s\n", "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS",
                  "InBPS", "OutBPS");
    o += line;
    o += "  -> RemoteAddress:Port\n";
    for (const Service& s : snap.services) {
        Rates r = dir.service_rate(s.id);
        o += row(svc_name(s), r64(r.cps), r64(r.inpps), 0, r64(r.inbps), 0);
        for (uint16_t id : s.dests) {
            Rates d = dir.dest_rate(id);
            o += row("  -> " + endpoint(snap.dests[id].ip, snap.dests[id].port), r64(d.cps), r64(d.inpps), 0,
                     r64(d.inbps), 0);
        }
    }
    return o;
}

std::string format_connections(const Snapshot& snap, const std::vector<ConnInfo>& conns, bool json) {
    std::string o = json ? "{\"connections\":[" : "IPVS connection entries\n"
                                                  "pro expire state       source             virtual            destination\n";
    bool first = true;
    for (const ConnInfo& c : conns) {
        if (c.dest >= snap.dests.size()) continue;
        const Dest& d = snap.dests[c.dest];
        bool tmpl = c.state == kTemplateState;
        // A template is keyed by (client, VIP, service port) with no client port: shown as client:0.
        std::string src = endpoint(c.src, c.sport), vip = endpoint(c.dst, tmpl ? d.vport : c.dport);
        std::string dst = endpoint(d.ip, d.port == 0 ? c.dport : d.port);
        const char* proto = proto_name(tmpl ? d.proto : c.proto);
        unsigned secs = (c.expires_in_ms + 999) / 1000;
        if (json) {
            o += (first ? "" : ",") + std::string("{\"protocol\":") + json_string(proto) + ",\"expires_in_ms\":" +
                 std::to_string(c.expires_in_ms) + ",\"state\":" + json_string(state_name(c.state)) + ",\"source\":" +
                 json_string(src) + ",\"virtual\":" + json_string(vip) + ",\"destination\":" + json_string(dst) +
                 ",\"template\":" + (tmpl ? "true" : "false") + "}";
        } else {
            char line[256];
            std::snprintf(line, sizeof line, "%-3s %02u:%02u  %-11s %-18s %-18s %-18s\n", proto, secs / 60, secs % 60,
                          state_name(c.state), src.c_str(), vip.c_str(), dst.c_str());
            o += line;
        }
        first = false;
    }
    return json ? o + "]}\n" : o;
}

std::string format_timeouts(const config::Config& cfg, bool json) {
    // ipvsadm prints the global tcp / tcpfin / udp timeouts; dplb's are per service, so one line each.
    std::string o = json ? "{\"services\":[" : "";
    for (size_t i = 0; i < cfg.services.size(); i++) {
        const auto& s = cfg.services[i];
        auto sec = [&](uint8_t slot) { return std::to_string(s.timeouts.ms[slot] / 1000); };
        std::string name = std::string(proto_name(s.proto)) + "  " + endpoint(s.vip, s.port);
        if (json) {
            o += (i ? "," : "") + std::string("{\"service\":") + json_string(name) + ",\"timeouts\":{";
            for (uint8_t st = 0; st <= kUdpState; st++)
                o += (st ? "," : "") + json_string(state_name(st)) + ":" + sec(st);
            o += "}}";
        } else {
            o += name + "  Timeout (tcp tcpfin udp): " + sec(static_cast<uint8_t>(TcpState::established)) + " " +
                 sec(static_cast<uint8_t>(TcpState::fin_wait)) + " " + sec(kUdpState) + "\n";
            o += "    ";
            for (uint8_t st = 1; st <= kUdpState; st++) o += std::string(state_name(st)) + " " + sec(st) + (st < kUdpState ? ", " : "\n");
        }
    }
    return json ? o + "]}\n" : o;
}

namespace {

std::string format_status(Director& dir, bool json) {
    auto snap = dir.snapshot();
    std::time_t t = std::chrono::system_clock::to_time_t(dir.last_reload());
    char when[64];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    std::string o;
    if (json) {
        o = "{\"config\":" + json_string(dir.config().file) + ",\"workers\":" + std::to_string(dir.worker_count()) +
            ",\"reloads_ok\":" + std::to_string(dir.reloads_ok()) + ",\"reloads_failed\":" +
            std::to_string(dir.reloads_failed()) + ",\"last_reload\":" + json_string(when) + ",\"last_reload_ok\":" +
            (dir.last_reload_ok() ? "true" : "false") + ",\"reals\":[";
    } else {
        o = "config " + dir.config().file + ", " + std::to_string(dir.worker_count()) + " worker(s), reloads " +
            std::to_string(dir.reloads_ok()) + " ok / " + std::to_string(dir.reloads_failed()) + " failed (last " +
            when + (dir.last_reload_ok() ? ", ok" : ", FAILED") + ")\n";
    }
    bool first = true;
    for (const auto& s : dir.config().services)
        for (const auto& r : s.reals) {
            RealKey k{s.vip, s.port, s.proto, r.ip, r.port};
            auto it = dir.runtime().find(k);
            bool up = it == dir.runtime().end() || it->second.healthy;
            std::string svc = std::string(proto_name(s.proto)) + " " + endpoint(s.vip, s.port);
            std::string real = endpoint(r.ip, r.port);
            if (json) {
                o += (first ? "" : ",") + std::string("{\"service\":") + json_string(svc) + ",\"real\":" + json_string(real) +
                     ",\"health\":" + json_string(up ? "up" : "down") + "}";
            } else {
                o += "  " + svc + " -> " + real + " " + (up ? "up" : "DOWN") + "\n";
            }
            first = false;
        }
    if (json) {
        o += "],\"vrrp\":[";
        bool f = true;
        for (const auto& [name, st] : dir.vrrp_states()) {
            o += (f ? "" : ",") + std::string("{\"instance\":") + json_string(name) + ",\"state\":" + json_string(st) + "}";
            f = false;
        }
        o += "],\"operator_changes\":[";
        for (size_t i = 0; i < dir.operator_changes().size(); i++)
            o += (i ? "," : "") + json_string(dir.operator_changes()[i]);
        o += "]}\n";
    } else {
        for (const auto& [name, st] : dir.vrrp_states()) o += "  vrrp " + name + " " + st + "\n";
        for (const std::string& c : dir.operator_changes()) o += "  since the last reload: " + c + "\n";
    }
    (void)snap;
    return o;
}

const char* kHelp =
    "commands:\n"
    "  list [--stats | --rate | --connections] [--json]   the table, as ipvsadm -Ln\n"
    "  timeouts [--json]                                  per-service state timeouts\n"
    "  status [--json]                                    health of every real, reloads\n"
    "  reload                                             re-read the configuration file\n"
    "  weight [tcp:|udp:]VIP:PORT REAL:PORT N             set a real's weight until the next reload\n"
    "  drain REAL:PORT                                    weight 0 for that real in every service\n"
    "  ipvsadm ARGS...                                    ipvsadm's -A -E -D -a -e -d -C --set -R -L -S, until\n"
    "                                                     the next reload\n";

}  // namespace

namespace {

// The commands that answer at once.
Reply run_now(Director& dir, const std::string& cmd, bool json, bool stats,
              bool rate) {
    if (cmd == "list") {
        auto snap = dir.snapshot();
        if (rate) return {true, format_list_rate(*snap, dir, json)};
        auto t = std::make_unique<CoreCounters>();
        dir.totals(*t);
        return {true, stats ? format_list_stats(*snap, *t, json) : format_list(*snap, *t, json, [&dir](const IpAddr& v) { return dir.owns_vip(v); })};
    }
    if (cmd == "timeouts") return {true, format_timeouts(dir.config(), json)};
    if (cmd == "status") return {true, format_status(dir, json)};
    return {false, "unknown command '" + cmd + "'\n" + kHelp};
}

}  // namespace

void run_command(Director& dir, const std::vector<std::string>& words, std::function<void(Reply)> reply) {
    if (words.empty() || words[0] == "help") return reply({true, kHelp});
    if (words[0] == "ipvsadm") return run_ipvsadm(dir, words, std::move(reply));
    const std::string& cmd = words[0];
    bool json = false, stats = false, rate = false, conns = false;
    std::vector<std::string> args;
    for (size_t i = 1; i < words.size(); i++) {
        const std::string& w = words[i];
        if (w == "--json") json = true;
        else if (w == "--stats") stats = true;
        else if (w == "--rate") rate = true;
        else if (w == "--connections" || w == "-c") conns = true;
        else if (w.rfind("--", 0) == 0) return reply({false, "unknown option '" + w + "'\n" + kHelp});
        else args.push_back(w);
    }
    if (cmd == "list" && (!args.empty() || stats + rate + conns > 1))
        return reply({false, "usage: list [--stats | --rate | --connections] [--json]\n"});
    if (cmd == "list" && conns) {
        dir.connections(1000000, [&dir, json, reply](std::vector<ConnInfo> c) {
            reply({true, format_connections(*dir.snapshot(), c, json)});
        });
        return;
    }
    // weight and drain answer once the workers have the change, so a `list` after them shows it.
    auto when_published = [reply](const std::string& err) {
        reply(err.empty() ? Reply{true, ""} : Reply{false, err + "\n"});
    };
    if (cmd == "weight") {
        if (args.size() != 3 || args[2].find_first_not_of("0123456789") != std::string::npos || args[2].size() > 5)
            return reply({false, "usage: weight [tcp:|udp:]VIP:PORT REAL:PORT N (N = 0..65535)\n"});
        std::string err = dir.set_weight(args[0], args[1], std::stoi(args[2]), when_published);
        if (!err.empty()) reply({false, err + "\n"});
        return;
    }
    if (cmd == "drain") {
        if (args.size() != 1) return reply({false, "usage: drain REAL:PORT\n"});
        std::string err = dir.drain(args[0], when_published);
        if (!err.empty()) reply({false, err + "\n"});
        return;
    }
    if (cmd == "reload") {
        dir.reload([&dir, reply](const std::string& err) {
            reply(err.empty() ? Reply{true, "reloaded " + dir.config().file + "\n"}
                              : Reply{false, "reload failed, running configuration kept:\n" + err + "\n"});
        });
        return;
    }
    reply(run_now(dir, cmd, json, stats, rate));
}

}  // namespace dplb
