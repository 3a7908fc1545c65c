// The per-packet lookups of a snapshot (service by VIP/port/protocol, VIP slot by address) past the
// size where they stop scanning: the indexed answer must be the scanned one, for every query.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "snapshot.h"

namespace dplb {
namespace {

IpAddr v4(uint32_t host_order) {
    uint32_t be = __builtin_bswap32(host_order);
    return IpAddr::from_v4_be(be);
}

IpAddr v6(uint16_t last) {
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
    b[14] = static_cast<uint8_t>(last >> 8);
    b[15] = static_cast<uint8_t>(last);
    return IpAddr::from_v6(b);
}

Service service(IpAddr vip, uint16_t port, uint8_t proto) {
    Service s;
    s.vip = vip;
    s.port = port;
    s.proto = proto;
    return s;
}

TEST(ServiceIndex, KnownAnswersAmongAThousandServices) {
    Snapshot snap;
    for (uint16_t i = 0; i < 500; i++) snap.services.push_back(service(v4(0xc6336400 + i), 80, kProtoTcp));
    for (uint16_t i = 0; i < 498; i++) snap.services.push_back(service(v6(i), 443, kProtoTcp));
    snap.services.push_back(service(v4(0xc6336400 + 7), 0, kProtoTcp));  // every port of .7
    snap.services.push_back(service(v4(0xc6336400 + 7), 53, kProtoUdp));
    assign_vip_slots(snap);
    ASSERT_FALSE(snap.service_index.slots.empty());
    ASSERT_FALSE(snap.vip_index.slots.empty());

    uint32_t seven = v4(0xc6336407).v4_be();
    EXPECT_EQ(snap.find_service4(seven, 80, kProtoTcp), &snap.services[7]);
    EXPECT_EQ(snap.find_service4(seven, 8080, kProtoTcp), &snap.services[998]);  // the port-0 service
    EXPECT_EQ(snap.find_service4(seven, 53, kProtoUdp), &snap.services[999]);
    EXPECT_EQ(snap.find_service4(seven, 54, kProtoUdp), nullptr);
    EXPECT_EQ(snap.find_service4(v4(0xc6336408).v4_be(), 81, kProtoTcp), nullptr);  // no port-0 service there
    EXPECT_EQ(snap.find_service4(v4(0xc6336400 + 499).v4_be(), 80, kProtoTcp), &snap.services[499]);
    EXPECT_EQ(snap.find_service4(v4(0xc6336400 + 500).v4_be(), 80, kProtoTcp), nullptr);
    EXPECT_EQ(snap.find_service6(v6(497).b.data(), 443, kProtoTcp), &snap.services[500 + 497]);
    EXPECT_EQ(snap.find_service6(v6(497).b.data(), 443, kProtoUdp), nullptr);
    EXPECT_EQ(snap.find_service6(v6(498).b.data(), 443, kProtoTcp), nullptr);

    EXPECT_EQ(snap.vip_slot4(seven), 7);
    EXPECT_EQ(snap.vip_slot4(v4(0xc6336400 + 500).v4_be()), -1);
    EXPECT_EQ(snap.vip_slot6(v6(0).b.data()), 500);
    EXPECT_EQ(snap.vip_slot6(v6(498).b.data()), -1);
}

TEST(ServiceIndex, ServicesByTheirIds) {
    // Ids are stable across snapshots, not positions: sparse, in any order.
    Snapshot snap;
    for (uint16_t id : {7, 2, 1000}) {
        snap.services.push_back(service(v4(0x0a000001 + id), 80, kProtoTcp));
        snap.services.back().id = id;
    }
    assign_vip_slots(snap);
    EXPECT_EQ(snap.service_of(7), &snap.services[0]);
    EXPECT_EQ(snap.service_of(2), &snap.services[1]);
    EXPECT_EQ(snap.service_of(1000), &snap.services[2]);
    for (uint16_t id : {0, 1, 3, 999, 1001, 65535}) EXPECT_EQ(snap.service_of(id), nullptr) << id;
    snap.services.erase(snap.services.begin());  // the service with id 7 leaves
    assign_vip_slots(snap);
    EXPECT_EQ(snap.service_of(7), nullptr);
    EXPECT_EQ(snap.service_of(2), &snap.services[0]);
    EXPECT_EQ(snap.service_of(1000), &snap.services[1]);
}

TEST(ServiceIndex, SmallSnapshotsScan) {
    Snapshot snap;
    for (uint16_t i = 0; i < Snapshot::kScanMax; i++) snap.services.push_back(service(v4(0x0a000001 + i), 80, kProtoTcp));
    assign_vip_slots(snap);
    EXPECT_TRUE(snap.service_index.slots.empty());
    EXPECT_EQ(snap.find_service4(v4(0x0a000003).v4_be(), 80, kProtoTcp), &snap.services[2]);
}

// Random services over a few VIPs, ports and both protocols (so port-0 services and near misses are
// common); every query answered the same by the index and by the scan of a copy without one.
TEST(ServiceIndex, IndexAgreesWithTheScan) {
    std::mt19937 rng(20261129);
    for (int round = 0; round < 50; round++) {
        Snapshot snap;
        size_t n = 9 + rng() % 1000;
        auto random_vip = [&] { return rng() % 2 ? v4(0x0a000000 + rng() % 64) : v6(static_cast<uint16_t>(rng() % 64)); };
        auto random_port = [&] { return static_cast<uint16_t>(rng() % 8 == 0 ? 0 : rng() % 16); };
        auto random_proto = [&] { return rng() % 2 ? kProtoTcp : kProtoUdp; };
        for (size_t i = 0; i < n; i++) snap.services.push_back(service(random_vip(), random_port(), random_proto()));
        assign_vip_slots(snap);
        Snapshot scan = snap;
        scan.service_index.slots.clear();
        scan.vip_index.slots.clear();
        for (int q = 0; q < 2000; q++) {
            IpAddr vip = random_vip();
            uint16_t port = random_port();
            uint8_t proto = random_proto();
            auto pos = [](const Snapshot& s, const Service* p) { return p ? p - s.services.data() : -1; };
            if (vip.is_v4()) {
                ASSERT_EQ(pos(snap, snap.find_service4(vip.v4_be(), port, proto)),
                          pos(scan, scan.find_service4(vip.v4_be(), port, proto)));
                ASSERT_EQ(snap.vip_slot4(vip.v4_be()), scan.vip_slot4(vip.v4_be()));
            } else {
                ASSERT_EQ(pos(snap, snap.find_service6(vip.b.data(), port, proto)),
                          pos(scan, scan.find_service6(vip.b.data(), port, proto)));
                ASSERT_EQ(snap.vip_slot6(vip.b.data()), scan.vip_slot6(vip.b.data()));
            }
        }
    }
}

// Sites number their VIPs consecutively: wherever the varying bits fall in the address, the index
// has no long runs of taken slots (with linear probing a run is what a lookup may walk; a hash that
// leaves those bits out of the masked ones makes one run of every service).
TEST(ServiceIndex, ConsecutiveVipsSpreadOverTheIndex) {
    for (uint32_t step : {1u, 1u << 8, 1u << 16, 1u << 22}) {
        Snapshot snap;
        for (uint32_t i = 0; i < 1024; i++) snap.services.push_back(service(v4(0xac100000 + i * step), 80, kProtoTcp));
        assign_vip_slots(snap);
        const auto& slots = snap.service_index.slots;
        size_t longest = 0, run = 0;
        for (size_t i = 0; i < 2 * slots.size(); i++) {  // twice round: a run may wrap
            run = slots[i % slots.size()] ? run + 1 : 0;
            longest = std::max(longest, run);
        }
        EXPECT_LT(longest, 48u) << "VIPs 172.16.0.0 + i * " << step;
        for (uint32_t i = 0; i < 1024; i++)
            ASSERT_EQ(snap.find_service4(v4(0xac100000 + i * step).v4_be(), 80, kProtoTcp), &snap.services[i]);
    }
}

}  // namespace
}  // namespace dplb
