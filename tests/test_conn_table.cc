// The connection table keeps each entry in its key's slot of rte_hash's key store (conn_table.h).
// These tests hold that placement against rte_hash's own view through adds, removals and reuse of
// slots: every key's entry is where its position says, nothing written to one entry shows in
// another, a removed key is gone, a freed slot comes back free, and the key read from a slot is the
// key. A map kept beside the table is the expected state.
#include <gtest/gtest.h>
#include <rte_errno.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "conn_table.h"

namespace dplb {
namespace {

ConnKey4 key4(uint32_t n) {
    ConnKey4 k{};
    k.src = 0x0a000000u + n;
    k.dst = 0x64000a0au;
    k.sport = static_cast<uint16_t>(1024 + n % 50000);
    k.dport = 80;
    k.proto = 6;
    return k;
}

ConnKey6 key6(uint32_t n) {
    ConnKey6 k{};
    std::memset(k.src, 0x20, 16);
    std::memcpy(k.src + 12, &n, 4);
    std::memset(k.dst, 0x30, 16);
    k.sport = static_cast<uint16_t>(n);
    k.dport = 443;
    k.proto = 17;
    return k;
}

// The entry a test writes for key number n: every field derived from n, so a mix-up shows.
ConnEntry entry_for(uint32_t n) {
    return ConnEntry{0x10000000u + n * 7u, static_cast<uint16_t>(n % 30000), static_cast<uint8_t>(n % 11),
                     static_cast<uint8_t>(n * 13)};
}

bool same(const ConnEntry& a, const ConnEntry& b) {
    return a.expire_ms == b.expire_ms && a.dest == b.dest && a.state == b.state && a.gen == b.gen;
}

template <class Key, Key (*make)(uint32_t)>
void churn(const char* name, uint32_t capacity) {
    ConnTable t;
    ASSERT_TRUE(t.init(name, capacity, sizeof(Key), 0)) << rte_strerror(rte_errno);
    for (uint32_t pos = 0; pos < capacity; pos++) ASSERT_EQ(t.at(static_cast<int32_t>(pos)).state, kFreeEntry);
    std::mt19937 rng(capacity);
    std::map<uint32_t, int32_t> live;  // key number -> position
    uint32_t next = 0;
    for (int step = 0; step < 20000; step++) {
        const bool add = live.size() < capacity && (live.empty() || rng() % 3 != 0);
        if (add) {
            const uint32_t n = next++;
            const Key k = make(n);
            ASSERT_LT(t.lookup(&k), 0);
            const int32_t pos = t.add(&k);
            ASSERT_GE(pos, 0) << "step " << step;
            ASSERT_LT(static_cast<uint32_t>(pos), capacity);
            ASSERT_EQ(t.at(pos).state, kFreeEntry) << "a new key's entry starts free";
            t.at(pos) = entry_for(n);
            live[n] = pos;
        } else {
            auto it = live.begin();
            std::advance(it, rng() % live.size());
            t.remove(it->second);
            ASSERT_EQ(t.at(it->second).state, kFreeEntry);
            const Key k = make(it->first);
            ASSERT_LT(t.lookup(&k), 0) << "removed key " << it->first << " still found";
            live.erase(it);
        }
    }
    ASSERT_GT(next, capacity) << "slots were reused";
    EXPECT_EQ(t.size(), live.size());
    uint32_t free_entries = 0;
    for (uint32_t pos = 0; pos < capacity; pos++) free_entries += t.at(static_cast<int32_t>(pos)).state == kFreeEntry;
    EXPECT_EQ(free_entries, capacity - live.size());
    for (const auto& [n, pos] : live) {
        const Key k = make(n);
        ASSERT_EQ(t.lookup(&k), pos) << "key " << n;
        EXPECT_TRUE(same(t.at(pos), entry_for(n))) << "key " << n << " at " << pos;
        Key back;
        ASSERT_TRUE(t.get_key(pos, &back));
        EXPECT_EQ(0, std::memcmp(&back, &k, sizeof k)) << "key " << n;
    }
}

TEST(ConnTable, Ipv4EntriesStayWithTheirKeysThroughChurn) { churn<ConnKey4, key4>("ct_churn4", 2048); }
TEST(ConnTable, Ipv6EntriesStayWithTheirKeysThroughChurn) { churn<ConnKey6, key6>("ct_churn6", 1000); }

TEST(ConnTable, FullTableRefusesAndAFreedSlotIsFree) {
    ConnTable t;
    ASSERT_TRUE(t.init("ct_full", 64, sizeof(ConnKey4), 0));
    for (uint32_t n = 0; n < 64; n++) {
        const ConnKey4 k = key4(n);
        const int32_t pos = t.add(&k);
        ASSERT_GE(pos, 0);
        t.at(pos) = entry_for(n);
    }
    const ConnKey4 extra = key4(64);
    EXPECT_LT(t.add(&extra), 0) << "a 65th key in a table of 64";
    const ConnKey4 first = key4(0);
    const int32_t pos = t.lookup(&first);
    ASSERT_GE(pos, 0);
    t.remove(pos);
    ConnKey4 none;
    EXPECT_FALSE(t.get_key(pos, &none)) << "a free entry has no key";
    const int32_t again = t.add(&extra);
    ASSERT_GE(again, 0);
    EXPECT_EQ(t.at(again).state, kFreeEntry);
    for (uint32_t n = 1; n < 64; n++) {
        const ConnKey4 k = key4(n);
        const int32_t p = t.lookup(&k);
        ASSERT_GE(p, 0);
        EXPECT_TRUE(same(t.at(p), entry_for(n))) << n;
    }
}

}  // namespace
}  // namespace dplb
