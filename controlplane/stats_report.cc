#include "stats_report.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <tuple>

namespace dplb {

void sum_counters(const std::vector<const CoreCounters*>& cores, CoreCounters& t) {
    std::memset(static_cast<void*>(&t), 0, sizeof t);  // no temporary: the struct is megabytes
    for (const CoreCounters* c : cores) {
        t.rx_packets += c->rx_packets;
        t.tx_packets += c->tx_packets;
        t.forwarded += c->forwarded;
        t.stateless += c->stateless;
        t.table_full += c->table_full;
        t.arp_replies += c->arp_replies;
        t.to_kernel += c->to_kernel;
        t.from_kernel += c->from_kernel;
        t.not_for_us += c->not_for_us;
        t.expired += c->expired;
        t.stale += c->stale;
        t.evicted += c->evicted;
        t.icmp_forwarded += c->icmp_forwarded;
        t.fragments += c->fragments;
        t.sync_queued += c->sync_queued;
        t.sync_ring_full += c->sync_ring_full;
        t.sync_refreshed += c->sync_refreshed;
        t.sync_adopted += c->sync_adopted;
        for (unsigned i = 0; i < kDropCount; i++) t.drops[i] += c->drops[i];
        for (unsigned i = 0; i < kMaxServices; i++) {
            t.svc[i].conns += c->svc[i].conns;
            t.svc[i].inpkts += c->svc[i].inpkts;
            t.svc[i].inbytes += c->svc[i].inbytes;
        }
        for (unsigned i = 0; i < kMaxDests; i++) {
            const DestCounters& s = c->dest[i];
            DestCounters& d = t.dest[i];
            d.conns += s.conns;
            d.inpkts += s.inpkts;
            d.inbytes += s.inbytes;
            d.active += s.active;
            d.inactive += s.inactive;
            d.persist += s.persist;
            d.refs += s.refs;
        }
    }
}

std::vector<const Service*> listed_services(const Snapshot& snap, const ListOptions& o) {
    std::vector<const Service*> v;
    for (const Service& s : snap.services)
        if (!o.only || &s == o.only) v.push_back(&s);
    if (!o.nosort)
        std::stable_sort(v.begin(), v.end(), [](const Service* a, const Service* b) {
            return std::tie(a->vip.family, a->proto, a->vip.b, a->port) <
                   std::tie(b->vip.family, b->proto, b->vip.b, b->port);
        });
    return v;
}

std::vector<uint16_t> listed_dests(const Snapshot& snap, const Service& s, const ListOptions& o) {
    std::vector<uint16_t> v = s.dests;
    if (!o.nosort)
        std::stable_sort(v.begin(), v.end(), [&snap](uint16_t a, uint16_t b) {
            const Dest &x = snap.dests[a], &y = snap.dests[b];
            return std::tie(x.ip, x.port) < std::tie(y.ip, y.port);
        });
    return v;
}

// print_largenum: "%9llu" below 10^8, else the value in K (below 10^9), M (10^11), G (10^14) or T
// as "%8llu" and the letter; --exact: "%*llu" at width 9, or one more than the digits.
std::string largenum(uint64_t n, bool exact) {
    char b[32];
    if (exact) {
        int len = std::snprintf(b, sizeof b, "%" PRIu64, n);
        std::snprintf(b, sizeof b, "%*" PRIu64, len <= 8 ? 9 : len + 1, n);
    } else if (n < 100000000ULL) {
        std::snprintf(b, sizeof b, "%9" PRIu64, n);
    } else {
        static constexpr struct {
            uint64_t below, unit;
            char letter;
        } kSteps[] = {{1000000000ULL, 1000ULL, 'K'},
                      {100000000000ULL, 1000000ULL, 'M'},
                      {100000000000000ULL, 1000000000ULL, 'G'},
                      {UINT64_MAX, 1000000000000ULL, 'T'}};
        for (const auto& s : kSteps)
            if (n < s.below || s.letter == 'T') {
                std::snprintf(b, sizeof b, "%8" PRIu64 "%c", n / s.unit, s.letter);
                break;
            }
    }
    return b;
}

namespace {

// print_service_entry's svc_name: "%s  %s", protocol and address:port.
std::string svc_name(const Service& s) { return std::string(proto_name(s.proto)) + "  " + endpoint(s.vip, s.port); }

// print_title's column headers, one per view.
std::string title(ListView v) {
    char b[256];
    switch (v) {
    case ListView::stats:
        std::snprintf(b, sizeof b, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port",
                      "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes");
        break;
    case ListView::rate:
        std::snprintf(b, sizeof b, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port",
                      "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
        break;
    case ListView::thresholds:
        std::snprintf(b, sizeof b, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
                      "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn");
        break;
    case ListView::persistent_conn:
        std::snprintf(b, sizeof b, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
                      "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn");
        break;
    case ListView::plain:
        std::snprintf(b, sizeof b, "Prot LocalAddress:Port Scheduler Flags\n"
                                   "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
        break;
    }
    return b;
}

// print_sched_flags: the sh / mh flags by their names, IP_VS_SVC_F_SCHED1 / SCHED2 as flag-1 /
// flag-2 for other schedulers; comma-separated.
std::string sched_flag_names(const Service& s) {
    const char* prefix = s.sched == Sched::sh ? "sh-" : s.sched == Sched::mh ? "mh-" : nullptr;
    std::string o;
    if (s.sched_flags & kSchedFlagFallback) o += prefix ? std::string(prefix) + "fallback" : "flag-1";
    if (s.sched_flags & kSchedFlagPort) o += (o.empty() ? "" : ",") + (prefix ? std::string(prefix) + "port" : "flag-2");
    return o;
}

// The scheduler line: "%s %s" (name, scheduler), then " (flags)", " persistent %u", " mask %s"
// (an IPv4 netmask, or "%i" bits for IPv6, when narrower than the whole address) and " ops".
std::string service_line(const Service& s) {
    std::string o = svc_name(s) + " " + sched_name(s.sched);
    if (std::string f = sched_flag_names(s); !f.empty()) o += " (" + f + ")";
    if (s.persistence_ms) {
        o += " persistent " + std::to_string(s.persistence_ms / 1000);
        unsigned full = s.vip.is_v4() ? 32 : 128, len = s.persistence_prefix_len;
        if (len != 0 && len < full) {
            if (s.vip.is_v4()) {
                uint32_t m = ~uint32_t{0} << (32 - len);
                IpAddr mask = IpAddr::from_v4_be(htonl(m));
                o += " mask " + mask.str();
            } else {
                o += " mask " + std::to_string(len);
            }
        }
    }
    if (s.ops) o += " ops";
    return o + "\n";
}

}  // namespace

std::string format_ipvsadm(const Snapshot& snap, const CoreCounters& t, const ListOptions& o, const RateSource& rates) {
    std::string out;
    char line[256];
    if (!o.only) {
        std::snprintf(line, sizeof line, "IP Virtual Server version 1.2.1 (size=%" PRIu64 ")\n", o.size);
        out = line;
    }
    out += title(o.view);
    auto five = [&o](uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
        return largenum(a, o.exact) + largenum(b, o.exact) + largenum(c, o.exact) + largenum(d, o.exact) +
               largenum(e, o.exact) + "\n";
    };
    for (const Service* sp : listed_services(snap, o)) {
        const Service& s = *sp;
        // OutPkts / OutBytes (and their rates) stay 0: with Direct Routing replies bypass the director.
        if (o.view == ListView::stats) {
            const ServiceCounters& c = t.svc[s.id];
            std::snprintf(line, sizeof line, "%-33s", svc_name(s).c_str());
            out += line + five(c.conns, c.inpkts, 0, c.inbytes, 0);
        } else if (o.view == ListView::rate) {
            Rates r = rates.service(s.id);
            std::snprintf(line, sizeof line, "%-33s", svc_name(s).c_str());
            out += line + five(r.cps, r.inpps, 0, r.inbps, 0);
        } else {
            out += service_line(s);
        }
        for (uint16_t id : listed_dests(snap, s, o)) {
            const Dest& d = snap.dests[id];
            const DestCounters& c = t.dest[id];
            std::string name = endpoint(d.ip, d.port);
            switch (o.view) {
            case ListView::stats:
                std::snprintf(line, sizeof line, "  -> %-28s", name.c_str());
                out += line + five(c.conns, c.inpkts, 0, c.inbytes, 0);
                continue;
            case ListView::rate: {
                Rates r = rates.dest(id);
                std::snprintf(line, sizeof line, "  -> %-28s", name.c_str());
                out += line + five(r.cps, r.inpps, 0, r.inbps, 0);
                continue;
            }
            case ListView::thresholds:
                std::snprintf(line, sizeof line, "  -> %-28s %-10u %-10u %-10u %-10u\n", name.c_str(), d.u_threshold,
                              d.l_threshold, c.active, c.inactive);
                break;
            case ListView::persistent_conn:
                std::snprintf(line, sizeof line, "  -> %-28s %-9u %-11u %-10u %-10u\n", name.c_str(), d.weight,
                              c.persist, c.active, c.inactive);
                break;
            case ListView::plain:
                std::snprintf(line, sizeof line, "  -> %-28s %-7s %-6u %-10u %-10u\n", name.c_str(), "Route", d.weight,
                              c.active, c.inactive);
                break;
            }
            out += line;
        }
    }
    return out;
}

bool conn_text(const Snapshot& snap, const ConnInfo& c, ConnText& out) {
    if (c.dest >= snap.dests.size()) return false;
    const Dest& d = snap.dests[c.dest];
    bool tmpl = c.state == kTemplateState;
    out.proto = proto_name(tmpl ? d.proto : c.proto);
    out.src = endpoint(c.src, c.sport);
    out.vip = endpoint(c.dst, tmpl ? d.vport : c.dport);
    out.dst = endpoint(d.ip, d.port == 0 ? c.dport : d.port);
    return true;
}

// list_conn / print_conn: "pro expire %-11s %-18s %-18s %s" and "%-3s %-6s %-11s %-18s %-18s %s",
// the expiry as "%02d:%02d" of whole seconds left (the kernel's /proc/net/ip_vs_conn rounds down).
std::string format_ipvsadm_conns(const Snapshot& snap, const std::vector<ConnInfo>& conns) {
    char line[320];
    std::snprintf(line, sizeof line, "IPVS connection entries\npro expire %-11s %-18s %-18s %s\n", "state", "source",
                  "virtual", "destination");
    std::string o = line;
    ConnText t;
    for (const ConnInfo& c : conns) {
        if (!conn_text(snap, c, t)) continue;
        unsigned secs = c.expires_in_ms / 1000;
        char expire[16];
        std::snprintf(expire, sizeof expire, "%02u:%02u", secs / 60, secs % 60);
        std::snprintf(line, sizeof line, "%-3s %-6s %-11s %-18s %-18s %s\n", t.proto, expire, state_name(c.state),
                      t.src.c_str(), t.vip.c_str(), t.dst.c_str());
        o += line;
    }
    return o;
}

std::string format_stats_json(const Snapshot& snap, const CoreCounters& t) {
    std::string o = "{\"services\":[";
    char buf[512];
    for (size_t i = 0; i < snap.services.size(); i++) {
        const Service& s = snap.services[i];
        const ServiceCounters& sc = t.svc[s.id];
        std::snprintf(buf, sizeof buf,
                      "%s{\"vip\":\"%s\",\"port\":%u,\"protocol\":\"%s\",\"scheduler\":\"%s\",\"conns\":%" PRIu64
                      ",\"inpkts\":%" PRIu64 ",\"inbytes\":%" PRIu64 ",\"reals\":[",
                      i ? "," : "", s.vip.str().c_str(), s.port, proto_name(s.proto), sched_name(s.sched), sc.conns,
                      sc.inpkts, sc.inbytes);
        o += buf;
        for (size_t j = 0; j < s.dests.size(); j++) {
            const Dest& d = snap.dests[s.dests[j]];
            const DestCounters& dc = t.dest[s.dests[j]];
            std::snprintf(buf, sizeof buf,
                          "%s{\"ip\":\"%s\",\"port\":%u,\"weight\":%u,\"mac\":\"%s\",\"active\":%u,\"inactive\":%u,"
                          "\"persistent\":%u,\"conns\":%" PRIu64 ",\"inpkts\":%" PRIu64 ",\"inbytes\":%" PRIu64 "}",
                          j ? "," : "", d.ip.str().c_str(), d.port, d.weight, d.mac.str().c_str(), dc.active,
                          dc.inactive, dc.persist, dc.conns, dc.inpkts, dc.inbytes);
            o += buf;
        }
        o += "]}";
    }
    std::snprintf(buf, sizeof buf,
                  "],\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"forwarded\":%" PRIu64
                  ",\"stateless\":%" PRIu64 ",\"table_full\":%" PRIu64 ",\"arp_replies\":%" PRIu64
                  ",\"to_kernel\":%" PRIu64 ",\"from_kernel\":%" PRIu64 ",\"not_for_us\":%" PRIu64
                  ",\"expired\":%" PRIu64 ",\"drops\":{",
                  t.rx_packets, t.tx_packets, t.forwarded, t.stateless, t.table_full, t.arp_replies, t.to_kernel,
                  t.from_kernel, t.not_for_us, t.expired);
    o += buf;
    for (unsigned i = 0; i < kDropCount; i++) {
        std::snprintf(buf, sizeof buf, "%s\"%s\":%" PRIu64, i ? "," : "", drop_name(static_cast<Drop>(i)), t.drops[i]);
        o += buf;
    }
    o += "}}";
    return o;
}

}  // namespace dplb
