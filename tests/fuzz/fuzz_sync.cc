// The connection-sync codec (sync/codec.h) and the receiver's translation (sync/translate.h) under
// libFuzzer: the input is one datagram as the sync socket hands it over. Checked:
// - decode never reads past the datagram (ASan) and either refuses it with a reason or yields at most
//   nr_conns records (its 5th byte), skipped ones counted apart;
// - what decodes encodes back (messages of at most 1472 bytes) into messages that decode to the same
//   records in the same order, with the same syncid;
// - every record resolves against a snapshot of two services to a stored entry whose dest belongs to
//   the service of its vaddr:vport and whose state is valid for its protocol, or to a named reason.
#include "fuzz_input.h"
#include "snapshot.h"
#include "sync/codec.h"
#include "sync/translate.h"

namespace dplb::fuzz {
namespace {

Snapshot make_snapshot() {
    Snapshot snap;
    auto add = [&snap](const char* vip, uint16_t port, uint8_t proto, std::vector<const char*> reals) {
        Service s;
        s.id = static_cast<uint16_t>(snap.services.size());
        s.vip = *IpAddr::parse(vip);
        s.port = port;
        s.proto = proto;
        for (const char* r : reals) {
            Dest d;
            d.in_use = true;
            d.ip = *IpAddr::parse(r);
            d.port = port;
            d.svc = s.id;
            s.dests.push_back(static_cast<uint16_t>(snap.dests.size()));
            snap.dests.push_back(d);
        }
        snap.services.push_back(s);
    };
    add("10.0.0.100", 80, kProtoTcp, {"10.0.0.11", "10.0.0.12"});
    add("2001:db8::100", 53, kProtoUdp, {"2001:db8::11"});
    assign_vip_slots(snap);
    return snap;
}

}  // namespace
}  // namespace dplb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dplb;
    static const Snapshot snap = fuzz::make_snapshot();
    sync::Decoded d = sync::decode(data, size);
    if (!d.ok()) {
        FUZZ_CHECK(d.error != sync::DecodeError::count && d.error != sync::DecodeError::mixed_family, "error %s",
                   sync::decode_error_name(d.error));
        return 0;
    }
    FUZZ_CHECK(size >= sync::kHeaderLen, "decoded %zu bytes", size);
    FUZZ_CHECK(d.msg.conns.size() + d.skipped == data[4], "%zu records + %u skipped, nr_conns %u", d.msg.conns.size(),
               d.skipped, data[4]);
    std::vector<sync::SyncConn> again;
    for (const auto& m : sync::encode(d.msg.syncid, d.msg.conns, 1472)) {
        FUZZ_CHECK(m.size() <= 1472, "message of %zu bytes", m.size());
        sync::Decoded e = sync::decode(m.data(), m.size());
        FUZZ_CHECK(e.ok() && e.skipped == 0 && e.msg.syncid == d.msg.syncid, "re-encoded message: %s",
                   sync::decode_error_name(e.error));
        again.insert(again.end(), e.msg.conns.begin(), e.msg.conns.end());
    }
    FUZZ_CHECK(again == d.msg.conns, "round trip changed the records (%zu -> %zu)", d.msg.conns.size(), again.size());
    for (const sync::SyncConn& c : d.msg.conns) {
        sync::Resolved r;
        sync::RxDrop why = sync::resolve(c, snap, 1000, r);
        FUZZ_CHECK(why <= sync::RxDrop::count, "reason %u", static_cast<unsigned>(why));
        if (why != sync::RxDrop::count) continue;
        FUZZ_CHECK(r.entry.dest < snap.dests.size(), "dest %u", r.entry.dest);
        const Dest& dest = snap.dests[r.entry.dest];
        const Service& svc = snap.services[dest.svc];
        FUZZ_CHECK(svc.vip == c.vaddr && svc.port == c.vport && svc.proto == c.protocol && dest.ip == c.daddr,
                   "resolved to another service or real");
        FUZZ_CHECK(c.protocol == kProtoTcp ? r.entry.state < kTcpStateCount : r.entry.state == kUdpState, "state %u",
                   r.entry.state);
    }
    return 0;
}
