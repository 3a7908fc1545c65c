#include "dataplane_fixture.h"

namespace dplb::test {

Counters flatten(const CoreCounters& c, const Snapshot& snap) {
    Counters m{{"rx_packets", c.rx_packets},   {"tx_packets", c.tx_packets}, {"forwarded", c.forwarded},
               {"stateless", c.stateless},     {"table_full", c.table_full}, {"arp_replies", c.arp_replies},
               {"to_kernel", c.to_kernel},     {"not_for_us", c.not_for_us}, {"expired", c.expired},
               {"evicted", c.evicted},         {"stale", c.stale},           {"icmp_forwarded", c.icmp_forwarded},
               {"fragments", c.fragments},     {"sync_queued", c.sync_queued}, {"sync_ring_full", c.sync_ring_full},
               {"sync_adopted", c.sync_adopted}, {"sync_refreshed", c.sync_refreshed}};
    for (unsigned i = 0; i < kDropCount; i++) m[std::string("drops.") + drop_name(static_cast<Drop>(i))] = c.drops[i];
    for (const Service& s : snap.services) {
        std::string p = "svc" + std::to_string(s.id) + ".";
        m[p + "conns"] = c.svc[s.id].conns;
        m[p + "inpkts"] = c.svc[s.id].inpkts;
        m[p + "inbytes"] = c.svc[s.id].inbytes;
    }
    for (size_t id = 0; id < snap.dests.size(); id++) {
        std::string p = "dest" + std::to_string(id) + ".";
        const DestCounters& d = c.dest[id];
        m[p + "conns"] = d.conns;
        m[p + "inpkts"] = d.inpkts;
        m[p + "inbytes"] = d.inbytes;
        m[p + "active"] = d.active;
        m[p + "inactive"] = d.inactive;
        m[p + "persist"] = d.persist;
        m[p + "refs"] = d.refs;
    }
    return m;
}

Snapshot make_snapshot(const std::vector<ServiceSpec>& specs) {
    Snapshot snap;
    for (const ServiceSpec& sp : specs) {
        Service s;
        s.id = static_cast<uint16_t>(snap.services.size());
        s.vip = ip(sp.vip);
        s.port = sp.port;
        s.proto = sp.proto;
        s.sched = sp.sched;
        s.answer_arp = sp.answer_arp;
        s.persistence_ms = sp.persistence_s * 1000;
        s.timeouts.ms[kTemplateState] = s.persistence_ms;
        for (auto& [rip, weight, rmac] : sp.reals) {
            Dest d;
            d.ip = ip(rip);
            d.port = sp.port;
            d.weight = weight;
            d.svc = s.id;
            d.vip = s.vip;  // its service by address, as snapshot_builder sets them
            d.vport = s.port;
            d.proto = s.proto;
            d.in_use = true;
            d.has_mac = rmac != nullptr;
            if (rmac) d.mac = mac(rmac);
            s.dests.push_back(static_cast<uint16_t>(snap.dests.size()));
            snap.dests.push_back(d);
        }
        snap.services.push_back(s);
    }
    for (Service& s : snap.services) build_sched_tables(s, snap.dests, 251);
    assign_vip_slots(snap);
    return snap;
}

VipTable make_vip_table(const Snapshot& snap, const std::vector<ServiceSpec>& specs) {
    VipTable t;
    t.flags.assign(snap.vips.size(), VipTable::kOwned);
    for (size_t i = 0; i < specs.size() && i < snap.services.size(); i++)
        if (!specs[i].active) t.flags[snap.services[i].vip_slot] = 0;
    return t;
}

Snapshot golden_snapshot() { return make_snapshot(golden_specs()); }

std::vector<ServiceSpec> golden_specs() {
    const char* m1 = "02:00:00:00:00:11";
    const char* m2 = "02:00:00:00:00:12";
    return {
        /* svc0 dest0,1 */ {"10.0.0.100", 80, kProtoTcp, Sched::rr, {{"10.0.0.11", 1, m1}, {"10.0.0.12", 1, m2}}},
        /* svc1 dest2   */ {"10.0.0.100", 53, kProtoUdp, Sched::rr, {{"10.0.0.11", 1, m1}}},
        /* svc2 dest3   */ {"2001:db8::100", 80, kProtoTcp, Sched::rr, {{"2001:db8::11", 1, m1}}},
        /* svc3 dest4,5 */ {"10.0.0.101", 0, kProtoTcp, Sched::mh, {{"10.0.0.11", 1, m1}, {"10.0.0.12", 1, m2}}},
        /* svc4 dest6   */ {"10.0.0.102", 80, kProtoTcp, Sched::rr, {{"10.0.0.11", 0, m1}}},
        /* svc5 dest7   */ {"10.0.0.103", 80, kProtoTcp, Sched::rr, {{"10.0.0.11", 1, m1}}, false},
        /* svc6 dest8   */ {"10.0.0.104", 80, kProtoTcp, Sched::rr, {{"10.0.0.11", 1, m1}}, true, false},
        /* svc7 dest9,10*/ {"10.0.0.105", 80, kProtoTcp, Sched::rr, {{"10.0.0.11", 1, m1}, {"10.0.0.12", 1, m2}},
                            true, true, 300},
        /* svc8 dest11  */ {"10.0.0.106", 80, kProtoTcp, Sched::rr, {{"10.0.0.13", 1, nullptr}}},
    };
}

std::unique_ptr<Processor> make_processor(const Snapshot& snap, const VipTable& vips) {
    static unsigned next_id = 0;
    ProcessorConfig pc;
    pc.ipv4_entries = 1024;
    pc.ipv6_entries = 1024;
    pc.id = next_id++;
    std::string err;
    auto p = Processor::create(pc, err);
    EXPECT_TRUE(p) << err;
    if (p) p->set_snapshot(&snap, &vips);
    return p;
}

void ProcessorTest::SetUp() {
    snap_ = golden_snapshot();
    vips_ = make_vip_table(snap_, golden_specs());
    proc_ = make_processor(snap_, vips_);
    ASSERT_TRUE(proc_);
}

Verdict ProcessorTest::send(Bytes& frame, uint32_t now_ms, uint32_t seg_len, uint16_t headroom) {
    uint32_t wire = static_cast<uint32_t>(frame.size());
    Bytes buf(headroom, 0xee);  // what lies before the frame: never part of what comes out unless pushed
    buf.insert(buf.end(), frame.begin(), frame.end());
    Frame f{buf.data() + headroom, seg_len ? seg_len : wire, wire, kIngressPort, headroom};
    Verdict v = Verdict::drop;
    proc_->process(&f, 1, &v, now_ms, kLbMac);
    last_out_port_ = f.out_port;
    // Where the frame now starts and how long it is: a pushed or removed tag moved both.
    EXPECT_EQ(f.data - buf.data(), static_cast<ptrdiff_t>(f.headroom)) << "Frame::headroom out of step with data";
    frame.assign(f.data, f.data + f.wire_len);
    return v;
}

}  // namespace dplb::test
