#include "commands.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <optional>

#include "announcer.h"
#include "ipvsadm_command.h"
#include "quorum.h"
#include "scheduler.h"
#include "stats_report.h"
#include "sync_manager.h"
#include "text.h"

namespace dplb {

namespace {

std::string list_json(const Snapshot& snap, const CoreCounters& t, const ListOptions& lo,
                      const std::function<bool(const IpAddr&)>& owned) {
    auto active = [&owned](const Service& s) { return !owned || owned(s.vip); };
    std::string o = "{\"services\":[";
    bool first = true;
    for (const Service* sp : listed_services(snap, lo)) {
        const Service& s = *sp;
        o += (first ? "" : ",") + std::string("{\"protocol\":") + json_string(proto_name(s.proto)) + ",\"vip\":" +
             json_string(s.vip.str()) + ",\"port\":" + std::to_string(s.port) + ",\"scheduler\":" +
             json_string(sched_name(s.sched)) + ",\"persistence_timeout\":" + std::to_string(s.persistence_ms / 1000) +
             ",\"active\":" + (active(s) ? "true" : "false") + ",\"reals\":[";
        first = false;
        bool f = true;
        for (uint16_t id : listed_dests(snap, s, lo)) {
            const Dest& d = snap.dests[id];
            const DestCounters& c = t.dest[id];
            o += (f ? "" : ",") + std::string("{\"ip\":") + json_string(d.ip.str()) + ",\"port\":" + std::to_string(d.port) +
                 ",\"forward\":\"Route\",\"weight\":" + std::to_string(d.weight) +
                 ",\"active_conns\":" + std::to_string(c.active) + ",\"inactive_conns\":" + std::to_string(c.inactive) +
                 ",\"persistent_conns\":" + std::to_string(c.persist) + ",\"u_threshold\":" +
                 std::to_string(d.u_threshold) + ",\"l_threshold\":" + std::to_string(d.l_threshold) + ",\"mac\":" +
                 (d.has_mac ? json_string(d.mac.str()) : "null") + "}";
            f = false;
        }
        o += "]}";
    }
    return o + "]}\n";
}

std::string rate_json(const Snapshot& snap, const ListOptions& lo, const RateSource& rates) {
    auto fields = [](const Rates& r) {
        return ",\"cps\":" + std::to_string(r.cps) + ",\"inpps\":" + std::to_string(r.inpps) + ",\"inbps\":" +
               std::to_string(r.inbps);
    };
    std::string o = "{\"services\":[";
    bool first = true;
    for (const Service* sp : listed_services(snap, lo)) {
        const Service& s = *sp;
        o += (first ? "" : ",") + std::string("{\"vip\":") + json_string(s.vip.str()) + ",\"port\":" +
             std::to_string(s.port) + ",\"protocol\":" + json_string(proto_name(s.proto)) + fields(rates.service(s.id)) +
             ",\"reals\":[";
        first = false;
        bool f = true;
        for (uint16_t id : listed_dests(snap, s, lo)) {
            const Dest& d = snap.dests[id];
            o += (f ? "" : ",") + std::string("{\"ip\":") + json_string(d.ip.str()) + ",\"port\":" +
                 std::to_string(d.port) + fields(rates.dest(id)) + "}";
            f = false;
        }
        o += "]}";
    }
    return o + "]}\n";
}

}  // namespace

std::string format_list(const Snapshot& snap, const CoreCounters& t, bool json, const ListOptions& lo,
                        const RateSource& rates, const std::function<bool(const IpAddr&)>& owned) {
    if (!json) return format_ipvsadm(snap, t, lo, rates);
    if (lo.view == ListView::stats) return format_stats_json(snap, t) + "\n";
    if (lo.view == ListView::rate) return rate_json(snap, lo, rates);
    return list_json(snap, t, lo, owned);
}

std::string format_connections(const Snapshot& snap, const std::vector<ConnInfo>& conns, bool json) {
    if (!json) return format_ipvsadm_conns(snap, conns);
    std::string o = "{\"connections\":[";
    bool first = true;
    ConnText t;
    for (const ConnInfo& c : conns) {
        if (!conn_text(snap, c, t)) continue;
        o += (first ? "" : ",") + std::string("{\"protocol\":") + json_string(t.proto) + ",\"expires_in_ms\":" +
             std::to_string(c.expires_in_ms) + ",\"state\":" + json_string(state_name(c.state)) + ",\"source\":" +
             json_string(t.src) + ",\"virtual\":" + json_string(t.vip) + ",\"destination\":" + json_string(t.dst) +
             ",\"template\":" + (c.state == kTemplateState ? "true" : "false") + "}";
        first = false;
    }
    return o + "]}\n";
}

namespace {

// One of ipvsadm's three global timeouts, from the services it applies to (tcp and tcpfin: TCP
// services; udp: UDP services): their common value, the IPVS default when there is none of them,
// "mixed" when they differ (`timeouts --detail` shows each).
std::string common_timeout(const config::Config& cfg, uint8_t proto, uint8_t slot) {
    std::optional<uint32_t> v;
    for (const auto& s : cfg.services) {
        if (s.proto != proto) continue;
        uint32_t ms = s.timeouts.ms[slot];
        if (v && *v != ms) return "mixed";
        v = ms;
    }
    return std::to_string(v.value_or(Timeouts::ipvs_defaults().ms[slot]) / 1000);
}

}  // namespace

std::string format_timeouts(const config::Config& cfg, bool json, bool detail) {
    if (!json && !detail)  // list_timeout: "Timeout (tcp tcpfin udp): %d %d %d"
        return "Timeout (tcp tcpfin udp): " +
               common_timeout(cfg, kProtoTcp, static_cast<uint8_t>(TcpState::established)) + " " +
               common_timeout(cfg, kProtoTcp, static_cast<uint8_t>(TcpState::fin_wait)) + " " +
               common_timeout(cfg, kProtoUdp, kUdpState) + "\n";
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

// Services' quorum states and sorry servers: every service in JSON (after the reals' list, closing
// it), in text only those with a sorry server or a quorum of their own, or whose quorum is lost.
std::string format_quorums(Director& dir, bool json) {
    std::string o = json ? "],\"services\":[" : "";
    bool first = true;
    for (const auto& s : dir.config().services) {
        auto st = dir.service_runtime().find(ServiceRef{s.vip, s.port, s.proto});
        bool up = st == dir.service_runtime().end() || st->second.quorum_up;
        std::string svc = std::string(proto_name(s.proto)) + " " + endpoint(s.vip, s.port);
        std::string sorry = s.sorry_server ? endpoint(s.sorry_server->ip, s.port) : "";
        uint64_t live = live_weight(s, dir.runtime());
        if (json) {
            o += (first ? "" : ",") + std::string("{\"service\":") + json_string(svc) + ",\"quorum\":" +
                 json_string(up ? "up" : "down") + ",\"live_weight\":" + std::to_string(live) +
                 ",\"quorum_weight\":" + std::to_string(s.quorum) + ",\"hysteresis\":" +
                 std::to_string(s.hysteresis) + ",\"sorry_server\":" + (sorry.empty() ? "null" : json_string(sorry)) +
                 ",\"sorry_server_in_use\":" + (!up && s.sorry_server ? "true" : "false") + "}";
            first = false;
        } else if (s.sorry_server || s.quorum != 1 || s.hysteresis || !up) {
            o += "  " + svc + " quorum " + (up ? "up" : "DOWN") + " (live weight " + std::to_string(live) +
                 ", quorum " + std::to_string(s.quorum) + ", hysteresis " + std::to_string(s.hysteresis) + ")";
            if (s.sorry_server) o += ", sorry server " + sorry + (up ? " idle" : " IN USE");
            o += "\n";
        }
    }
    return json ? o + "]" : o;
}

// Connection sync in `status` (sync_manager.h): where it runs and what it moved, as a line of text or
// a JSON object; "" / null when off.
std::string format_sync(Director& dir, bool json) {
    const SyncManager* sm = dir.sync();
    if (!sm) return json ? "null" : "";
    const config::SyncConfig& c = sm->config();
    const sync::Stats& s = sm->stats();
    auto t = std::make_unique<CoreCounters>();
    dir.totals(*t);
    auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    uint64_t dropped = ld(s.send_errors) + ld(s.stale_records), malformed = 0;
    for (const auto& d : s.dropped) dropped += ld(d);
    for (const auto& d : s.malformed) malformed += ld(d);
    const std::pair<const char*, uint64_t> figures[] = {
        {"sent_messages", ld(s.sent_messages)}, {"sent_conns", ld(s.sent_conns)},
        {"received_messages", ld(s.received_messages)}, {"received_conns", ld(s.received_conns)},
        {"stored", ld(s.stored)}, {"synced_entries", ld(s.synced_entries)}, {"adopted", t->sync_adopted},
        {"refreshed", t->sync_refreshed}, {"dropped", dropped}, {"malformed", malformed}, {"ring_full", t->sync_ring_full}};
    std::string o = json ? "{\"interface\":" + json_string(c.interface) + ",\"group\":" + json_string(c.group.str()) +
                               ",\"port\":" + std::to_string(c.port) + ",\"syncid\":" + std::to_string(c.syncid)
                         : "  sync on " + c.interface + ", group " + endpoint(c.group, c.port) + ", syncid " +
                               std::to_string(c.syncid) + ":";
    for (const auto& [name, value] : figures)
        o += json ? ",\"" + std::string(name) + "\":" + std::to_string(value)
                  : " " + std::string(name) + " " + std::to_string(value);
    return o + (json ? "}" : "\n");
}

std::string format_status(Director& dir, const Announcer* announce, bool json) {
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
    o += format_quorums(dir, json);
    if (json) {
        o += ",\"vrrp\":[";
        bool f = true;
        for (const auto& [name, st] : dir.vrrp_states()) {
            o += (f ? "" : ",") + std::string("{\"instance\":") + json_string(name) + ",\"state\":" + json_string(st) + "}";
            f = false;
        }
        o += "]" + format_announce(announce, true) + format_fingerprints(*snap, true);
        o += ",\"sync\":" + format_sync(dir, true) + ",\"operator_changes\":[";
        for (size_t i = 0; i < dir.operator_changes().size(); i++)
            o += (i ? "," : "") + json_string(dir.operator_changes()[i]);
        o += "]}\n";
    } else {
        for (const auto& [name, st] : dir.vrrp_states()) o += "  vrrp " + name + " " + st + "\n";
        o += format_sync(dir, false);
        o += format_announce(announce, false) + format_fingerprints(*snap, false);
        for (const std::string& c : dir.operator_changes()) o += "  since the last reload: " + c + "\n";
    }
    return o;
}

const char* kHelp =
    "commands:\n"
    "  list [-t|-u VIP:PORT] [VIEW] [--exact] [--nosort] [--json]   the table, as ipvsadm -Ln\n"
    "       VIEW: --stats | --rate | --thresholds | --persistent-conn | --connections (-c) | --timeout\n"
    "  timeouts [--detail] [--json]        ipvsadm's line (tcp tcpfin udp); --detail: every state, per service\n"
    "  status [--json]                     health of every real, reloads, announce state, Maglev fingerprints\n"
    "  maintenance on|off                  withdraw every VIP from BGP (forwarding goes on) / announce again\n"
    "  reload                              re-read the configuration file\n"
    "  weight [tcp:|udp:]VIP:PORT REAL:PORT N   set a real's weight until the next reload\n"
    "  drain REAL:PORT                     weight 0 for that real in every service\n"
    "  ipvsadm ARGS...                     ipvsadm's -A -E -D -a -e -d -C --set -R -L -S -Z\n";

const char* kListUsage =
    "usage: list [-t|-u VIP:PORT] [--stats | --rate | --thresholds | --persistent-conn | --connections |"
    " --timeout] [--exact] [--nosort] [--json]\n";

// The words after the command.
struct Args {
    bool json = false, detail = false, conns = false, timeout = false;
    ListOptions list;
    unsigned views = 0;  // view options given (at most one)
    std::string service;  // -t / -u VIP:PORT, with "tcp:" / "udp:" in front
    std::vector<std::string> rest;
};

// "" or what is wrong with the words.
std::string parse_args(const std::vector<std::string>& words, Args& a) {
    static const struct {
        const char* name;
        ListView view;
    } kViews[] = {{"--stats", ListView::stats},
                  {"--rate", ListView::rate},
                  {"--thresholds", ListView::thresholds},
                  {"--persistent-conn", ListView::persistent_conn}};
    for (size_t i = 1; i < words.size(); i++) {
        const std::string& w = words[i];
        bool view = false;
        for (const auto& v : kViews)
            if (w == v.name) a.list.view = v.view, view = true;
        if (view) a.views++;
        else if (w == "--json") a.json = true;
        else if (w == "--detail") a.detail = true;
        else if (w == "--exact") a.list.exact = true;
        else if (w == "--nosort") a.list.nosort = true;
        else if (w == "--sort") {}  // ipvsadm's: does nothing, sorting is the default
        else if (w == "--connections" || w == "-c") a.conns = true, a.views++;
        else if (w == "--timeout") a.timeout = true, a.views++;
        else if (w == "-t" || w == "-u" || w == "--tcp-service" || w == "--udp-service") {
            if (i + 1 >= words.size() || !a.service.empty()) return kListUsage;
            a.service = (w == "-u" || w == "--udp-service" ? "udp:" : "tcp:") + words[++i];
        } else if (w.rfind("--", 0) == 0) return "unknown option '" + w + "'\n" + kHelp;
        else a.rest.push_back(w);
    }
    return "";
}

// The commands that answer at once.
Reply run_now(Director& dir, Announcer* announce, const std::string& cmd, Args& a) {
    if (cmd == "list") {
        auto snap = dir.snapshot();
        if (!a.service.empty()) {
            IpAddr vip;
            uint16_t port;
            uint8_t proto;
            std::string shown = a.service.substr(4);
            if (!parse_endpoint(a.service, vip, port, &proto)) return {false, "bad service '" + shown + "' (expected VIP:PORT)\n"};
            for (const Service& s : snap->services)
                if (s.vip == vip && s.port == port && s.proto == proto) a.list.only = &s;
            // ipvsadm -L -t of a service that does not exist: "No such service"
            if (!a.list.only) return {false, "No such service\n"};
        }
        a.list.size = dir.conn_table_capacity();
        auto t = std::make_unique<CoreCounters>();
        dir.view_totals(*t);
        RateSource rates{[&dir](uint16_t id) { return dir.service_rate(id); },
                         [&dir](uint16_t id) { return dir.dest_rate(id); }};
        return {true, format_list(*snap, *t, a.json, a.list, rates, [&dir](const IpAddr& v) { return dir.owns_vip(v); })};
    }
    if (cmd == "timeouts") return {true, format_timeouts(dir.config(), a.json, a.detail)};
    if (cmd == "status") return {true, format_status(dir, announce, a.json)};
    if (cmd == "maintenance") {
        if (a.rest.size() != 1 || (a.rest[0] != "on" && a.rest[0] != "off") || a.json)
            return {false, "usage: maintenance on|off\n"};
        if (!announce) return {false, "maintenance: no announce section in the configuration (nothing is announced)\n"};
        announce->set_maintenance(a.rest[0] == "on");
        return {true, std::string("maintenance ") + (announce->state().maintenance() ? "on" : "off") + "\n"};
    }
    return {false, "unknown command '" + cmd + "'\n" + kHelp};
}

}  // namespace

std::string format_announce(const Announcer* announce, bool json) {
    if (!announce) return "";
    const AnnounceTable& st = announce->state();
    std::string o;
    if (json) {
        o = ",\"announce\":{\"table\":" + std::to_string(announce->table()) + ",\"maintenance\":" +
            (st.maintenance() ? "true" : "false") + ",\"withdrawals\":" + std::to_string(announce->withdrawals()) +
            ",\"vips\":[";
        bool first = true;
        for (const auto& [vip, s] : st.states()) {
            o += (first ? "" : ",") + std::string("{\"vip\":") + json_string(vip.str()) + ",\"announced\":" +
                 (s.announced ? "true" : "false") + ",\"reason\":" + json_string(s.reason) + "}";
            first = false;
        }
        return o + "]}";
    }
    o = "  announce: table " + std::to_string(announce->table()) + ", maintenance " + (st.maintenance() ? "on" : "off") +
        "\n";
    for (const auto& [vip, s] : st.states())
        o += "  announce " + vip.str() + " " + (s.announced ? "announced" : "withdrawn (" + s.reason + ")") + "\n";
    return o;
}

std::string format_fingerprints(const Snapshot& snap, bool json) {
    std::string o = json ? ",\"maglev\":[" : "";
    bool first = true;
    for (const Service& s : snap.services) {
        if (s.sched != Sched::mh) continue;
        const std::string svc = std::string(proto_name(s.proto)) + " " + endpoint(s.vip, s.port);
        const std::string fp = format_fingerprint(s.tables->mh_fingerprint);
        if (json)
            o += (first ? "" : ",") + std::string("{\"service\":") + json_string(svc) + ",\"fingerprint\":" +
                 json_string(fp) + "}";
        else
            o += "  maglev " + svc + " fingerprint " + fp + "\n";
        first = false;
    }
    return json ? o + "]" : o;
}

void run_command(Director& dir, Announcer* announce, const std::vector<std::string>& words,
                 std::function<void(Reply)> reply) {
    if (words.empty() || words[0] == "help") return reply({true, kHelp});
    if (words[0] == "ipvsadm") return run_ipvsadm(dir, words, std::move(reply));
    const std::string& cmd = words[0];
    Args a;
    if (std::string err = parse_args(words, a); !err.empty()) return reply({false, err});
    if (cmd == "list" && (!a.rest.empty() || a.views > 1 || a.detail || (a.conns && !a.service.empty())))
        return reply({false, kListUsage});
    if (cmd != "list" && (a.views || a.list.exact || a.list.nosort || !a.service.empty()))
        return reply({false, "only list takes -t, -u, --stats, --rate, --thresholds, --persistent-conn, --connections, "
                             "--timeout, --exact, --nosort\n"});
    if (cmd == "list" && a.timeout) return reply({true, format_timeouts(dir.config(), a.json, false)});
    if (cmd == "list" && a.conns) {
        bool json = a.json;
        dir.connections(1000000, [&dir, json, reply](std::vector<ConnInfo> c) {
            reply({true, format_connections(*dir.snapshot(), c, json)});
        });
        return;
    }
    const std::vector<std::string>& args = a.rest;
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
    reply(run_now(dir, announce, cmd, a));
}

}  // namespace dplb
