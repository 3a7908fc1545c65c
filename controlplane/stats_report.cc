#include "stats_report.h"

#include <cstring>

#include <cinttypes>
#include <cstdio>

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

namespace {


}  // namespace

std::string format_ipvsadm(const Snapshot& snap, const CoreCounters& t) {
    std::string out = "IP Virtual Server version 1.2.1 (size=4096)\n"
                      "Prot LocalAddress:Port Scheduler Flags\n"
                      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
    char line[256];
    for (const Service& s : snap.services) {
        std::snprintf(line, sizeof line, "%s  %s %s", proto_name(s.proto), endpoint(s.vip, s.port).c_str(),
                      sched_name(s.sched));
        out += line;
        if (s.persistence_ms) out += " persistent " + std::to_string(s.persistence_ms / 1000);
        out += "\n";
        for (uint16_t id : s.dests) {
            const Dest& d = snap.dests[id];
            std::snprintf(line, sizeof line, "  -> %-28s %-7s %-6u %-10u %-10u\n", endpoint(d.ip, d.port).c_str(),
                          "Route", d.weight, t.dest[id].active, t.dest[id].inactive);
            out += line;
        }
    }
    return out;
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
