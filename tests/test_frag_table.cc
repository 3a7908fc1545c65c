// FragTable: which later fragments find their first fragment's real, for how long, and what a full
// set gives up.
#include <gtest/gtest.h>

#include "frag_table.h"
#include "frame_builder.h"

namespace dplb::test {
namespace {

// A parsed fragment of a datagram from 192.0.2.<host> with identification `id`.
Parsed frag(uint8_t host, uint32_t id, uint8_t proto = kProtoUdp) {
    Parsed p{};
    p.family = 4;
    p.proto = proto;
    p.src4_be = ip("192.0.2.0").v4_be() | (uint32_t{host} << 24);  // the last byte, in network order
    p.dst4_be = ip("10.0.0.100").v4_be();
    p.frag_id = id;
    return p;
}

TEST(FragTable, CapacityIsAPowerOfTwoOfWholeSets) {
    EXPECT_EQ(FragTable(1).capacity(), FragTable::kWays);
    EXPECT_EQ(FragTable(100).capacity(), 128u);
    EXPECT_EQ(FragTable().capacity(), FragTable::kDefaultEntries);
}

TEST(FragTable, FindsByAllFourFieldsUntilTheTimeout) {
    FragTable t;
    t.put(frag(1, 7), 3, 9, 2, 1000);
    const FragEntry* e = t.find(frag(1, 7), 1000 + FragTable::kTimeoutMs - 1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->dest, 3);
    EXPECT_EQ(e->gen, 9);
    EXPECT_EQ(e->svc, 2);
    EXPECT_EQ(t.find(frag(1, 7), 1000 + FragTable::kTimeoutMs), nullptr);
    EXPECT_EQ(t.find(frag(2, 7), 1000), nullptr);                // other source
    EXPECT_EQ(t.find(frag(1, 8), 1000), nullptr);                // other id
    EXPECT_EQ(t.find(frag(1, 7, kProtoTcp), 1000), nullptr);     // other protocol
    Parsed six = frag(1, 7);
    six.family = 6;
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    six.src6 = six.dst6 = a;
    EXPECT_EQ(t.find(six, 1000), nullptr);                       // other family
}

TEST(FragTable, ARepeatedFirstFragmentUpdatesItsEntry) {
    FragTable t(FragTable::kWays);  // one set
    t.put(frag(1, 7), 3, 0, 0, 1000);
    t.put(frag(1, 7), 4, 0, 0, 1500);
    for (uint8_t h = 2; h < 2 + FragTable::kWays - 1; h++) t.put(frag(h, 7), 5, 0, 0, 1600);
    const FragEntry* e = t.find(frag(1, 7), 1600);
    ASSERT_NE(e, nullptr);  // one slot, not two: the other three datagrams fit beside it
    EXPECT_EQ(e->dest, 4);
    EXPECT_EQ(e->expire_ms, 1500 + FragTable::kTimeoutMs);
}

TEST(FragTable, AFullSetGivesUpTheEntryThatExpiresSoonest) {
    FragTable t(FragTable::kWays);  // one set: every datagram competes for it
    for (uint32_t i = 0; i < FragTable::kWays; i++) t.put(frag(1, i), static_cast<uint16_t>(i), 0, 0, 1000 + i);
    t.put(frag(1, 99), 99, 0, 0, 1100);
    EXPECT_EQ(t.find(frag(1, 0), 1100), nullptr);  // recorded first, expiring first
    for (uint32_t i = 1; i < FragTable::kWays; i++) EXPECT_NE(t.find(frag(1, i), 1100), nullptr) << i;
    ASSERT_NE(t.find(frag(1, 99), 1100), nullptr);
    // An expired entry is taken before any live one.
    uint32_t later = 1001 + FragTable::kTimeoutMs;  // frag(1, 1) expired, the rest live
    t.put(frag(1, 100), 100, 0, 0, later);
    EXPECT_EQ(t.find(frag(1, 1), later - 1), nullptr);
    EXPECT_NE(t.find(frag(1, 2), later), nullptr);
    EXPECT_NE(t.find(frag(1, 99), later), nullptr);
    EXPECT_NE(t.find(frag(1, 100), later), nullptr);
}

TEST(FragTable, ManyDatagramsSpreadOverTheSets) {
    // 1,024 concurrent datagrams in 4,096 slots: the hash spreads them so nearly all are found.
    FragTable t;
    for (uint32_t i = 0; i < 1024; i++) t.put(frag(static_cast<uint8_t>(i), i * 7919u), static_cast<uint16_t>(i), 0, 0, 1000);
    uint32_t found = 0;
    for (uint32_t i = 0; i < 1024; i++)
        if (const FragEntry* e = t.find(frag(static_cast<uint8_t>(i), i * 7919u), 1000); e && e->dest == i) found++;
    EXPECT_GE(found, 1000u);
}

}  // namespace
}  // namespace dplb::test
