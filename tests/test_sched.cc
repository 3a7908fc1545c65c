// Property tests of the schedulers: shares follow weights, weight 0 takes nothing, hashing tables
// are deterministic and Maglev moves few flows when a real goes. No EAL needed.
#include "scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "counters.h"
#include "flow_hash.h"
#include "snapshot.h"

namespace dplb {
namespace {

constexpr Sched kAllScheds[] = {Sched::rr,  Sched::wrr, Sched::lc, Sched::wlc, Sched::sh,  Sched::mh,
                                 Sched::sed, Sched::nq,  Sched::fo, Sched::ovf, Sched::dh, Sched::twos};

// One service and its reals, as a snapshot would hold them. Real i is 10.0.<i/256>.<i%256+1>:80
// with dest id i (unless the caller reorders svc.dests).
struct Lb {
    std::vector<Dest> dests;
    Service svc;
};

Lb make_service(Sched sched, const std::vector<uint16_t>& weights, uint32_t mh_size = kDefaultMhTableSize) {
    Lb s;
    s.svc.sched = sched;
    s.svc.vip = *IpAddr::parse("192.0.2.1");
    s.svc.port = 80;
    for (size_t i = 0; i < weights.size(); ++i) {
        Dest d;
        d.ip.family = 4;
        d.ip.b[0] = 10;
        d.ip.b[2] = static_cast<uint8_t>(i / 256);
        d.ip.b[3] = static_cast<uint8_t>(i % 256 + 1);
        d.port = 80;
        d.weight = weights[i];
        d.in_use = true;
        s.dests.push_back(d);
        s.svc.dests.push_back(static_cast<uint16_t>(i));
    }
    build_sched_tables(s.svc, s.dests, mh_size);
    return s;
}

// Both keys of a flow: its flow hash for mh, the address hash for sh and dh (what the processor
// passes as the key for each).
uint16_t pick_by(const Service& svc, const std::vector<Dest>& dests, SchedCursor& cur, const DestCounters* load,
                 uint64_t fh, uint64_t sh) {
    return dplb::sched_pick(svc, dests, cur, load, svc.sched == Sched::mh ? fh : sh);
}

// A fixed-seed stream of IPv4 flows: (flow hash, source hash) pairs.
struct Flows {
    std::mt19937_64 rng{0x5eed};
    std::pair<uint64_t, uint64_t> next() {
        uint64_t r = rng();
        uint32_t src = static_cast<uint32_t>(r);
        uint16_t sport = static_cast<uint16_t>(r >> 32);
        uint32_t dst = 0x010200c0;  // 192.0.2.1 in network order on a little-endian host; any constant will do
        return {flow_hash4(src, dst, sport, 80, kProtoTcp), src_hash4(src)};
    }
};

// How many of `picks` new connections each dest id gets.
std::map<uint16_t, uint64_t> count_picks(const Lb& s, uint64_t picks, const DestCounters* load = nullptr) {
    std::map<uint16_t, uint64_t> n;
    SchedCursor cur;
    Flows flows;
    for (uint64_t i = 0; i < picks; ++i) {
        auto [fh, sh] = flows.next();
        ++n[pick_by(s.svc, s.dests, cur, load, fh, sh)];
    }
    return n;
}

// Expected share of each real: weight / sum of weights.
double expected_share(const std::vector<uint16_t>& weights, size_t i) {
    double sum = 0;
    for (uint16_t w : weights) sum += w;
    return weights[i] / sum;
}

void expect_shares(const Lb& s, const std::vector<uint16_t>& weights, uint64_t picks, double tolerance,
                   const std::string& label) {
    auto n = count_picks(s, picks);
    EXPECT_EQ(n.count(kNoDest), 0u) << label;
    for (size_t i = 0; i < weights.size(); ++i) {
        double share = static_cast<double>(n[static_cast<uint16_t>(i)]) / picks;
        double want = expected_share(weights, i);
        std::cout << "  " << label << " real " << i << " weight " << weights[i] << ": share " << share
                  << " (want " << want << ")\n";
        EXPECT_NEAR(share, want, tolerance) << label << " real " << i;
    }
}

// ---- rr ----

TEST(SchedRr, CyclesInOrderSkippingWeightZeroAndUnused) {
    Lb s = make_service(Sched::rr, {1, 0, 3, 1, 2});
    s.dests[3].in_use = false;  // an id no longer in use is ignored even if listed
    SchedCursor cur;
    std::vector<uint16_t> got;
    for (int i = 0; i < 9; ++i) got.push_back(pick_by(s.svc, s.dests, cur, nullptr, 0, 0));
    // Plain rr ignores the size of positive weights: every usable real once per cycle.
    EXPECT_EQ(got, (std::vector<uint16_t>{0, 2, 4, 0, 2, 4, 0, 2, 4}));
}

TEST(SchedRr, CursorsAreIndependentAndSurviveAShrinkingService) {
    Lb s = make_service(Sched::rr, {1, 1, 1, 1});
    SchedCursor a, b;
    EXPECT_EQ(pick_by(s.svc, s.dests, a, nullptr, 0, 0), 0);
    EXPECT_EQ(pick_by(s.svc, s.dests, a, nullptr, 0, 0), 1);
    EXPECT_EQ(pick_by(s.svc, s.dests, a, nullptr, 0, 0), 2);
    EXPECT_EQ(pick_by(s.svc, s.dests, b, nullptr, 0, 0), 0);  // another core starts afresh
    // A new snapshot with fewer reals: a stale cursor must not read past the end.
    s.svc.dests.resize(2);
    build_sched_tables(s.svc, s.dests);
    a.next = 3;
    uint16_t id = pick_by(s.svc, s.dests, a, nullptr, 0, 0);
    EXPECT_TRUE(id == 0 || id == 1);
}

// ---- wrr ----

TEST(SchedWrr, SequenceIsIpvsInterleave) {
    // Current weight 4: {0}; 3: {0,1}; 2: {0,1,2}; 1: {0,1,2}.
    EXPECT_EQ(make_service(Sched::wrr, {4, 3, 2}).svc.tables->wrr_seq,
              (std::vector<uint16_t>{0, 0, 1, 0, 1, 2, 0, 1, 2}));
    // The gcd (2) is divided out: the cycle is sum/gcd = 6 long.
    EXPECT_EQ(make_service(Sched::wrr, {2, 4, 6}).svc.tables->wrr_seq, (std::vector<uint16_t>{2, 1, 2, 0, 1, 2}));
    // Weight 0 never appears; equal weights degrade to rr.
    EXPECT_EQ(make_service(Sched::wrr, {5, 0, 5}).svc.tables->wrr_seq, (std::vector<uint16_t>{0, 2}));
}

TEST(SchedWrr, SharesAreExact) {
    const std::vector<uint16_t> w = {1, 2, 3, 4};
    Lb s = make_service(Sched::wrr, w);
    ASSERT_EQ(s.svc.tables->wrr_seq.size(), 10u);
    // 1,000,000 picks are exactly 100,000 cycles.
    auto n = count_picks(s, 1000000);
    for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(n[static_cast<uint16_t>(i)], 100000u * w[i]) << "real " << i;
    RecordProperty("wrr_1234_counts", std::to_string(n[0]) + "/" + std::to_string(n[1]) + "/" +
                                          std::to_string(n[2]) + "/" + std::to_string(n[3]));
}

TEST(SchedWrr, HugeWeightSumsAreCappedAndStayClose) {
    // 200 reals with distinct weights near 65535: sum/gcd is about 13 million, past the cap.
    std::vector<uint16_t> w;
    for (int i = 0; i < 200; ++i) w.push_back(static_cast<uint16_t>(65535 - 97 * i));
    Lb s = make_service(Sched::wrr, w);
    const auto& seq = s.svc.tables->wrr_seq;
    ASSERT_LE(seq.size(), 1000000u);
    ASSERT_GT(seq.size(), 900000u);
    std::vector<uint64_t> n(w.size());
    for (uint16_t id : seq) ++n.at(id);
    double worst = 0;
    for (size_t i = 0; i < w.size(); ++i) {
        double share = static_cast<double>(n[i]) / seq.size();
        worst = std::max(worst, std::fabs(share / expected_share(w, i) - 1));
    }
    std::cout << "  wrr capped cycle: " << seq.size() << " entries, worst relative share error " << worst << "\n";
    EXPECT_LT(worst, 0.01);
}

TEST(SchedWrr, SmallWeightAmongHugeOnesKeepsItsTurn) {
    // Scaling must not round a positive weight down to 0.
    std::vector<uint16_t> w;
    for (int i = 0; i < 100; ++i) w.push_back(static_cast<uint16_t>(65521 - i));
    w.push_back(1);
    Lb s = make_service(Sched::wrr, w);
    const auto& seq = s.svc.tables->wrr_seq;
    EXPECT_LE(seq.size(), 1000000u);
    EXPECT_NE(std::find(seq.begin(), seq.end(), 100), seq.end());
}

// ---- lc / wlc ----

TEST(SchedLc, PicksLeastActiveTimes256PlusInactive) {
    Lb s = make_service(Sched::lc, {1, 1, 1, 0});
    std::vector<DestCounters> load(4);
    load[0].active = 1;      // 256
    load[1].inactive = 300;  // 300
    load[2].inactive = 257;  // 257
    // dest 3 is idle but has weight 0
    SchedCursor cur;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
    load[2].inactive = 255;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 2);
    load[2].inactive = 256;  // tie with dest 0: the first in service order wins
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
    // lc ignores the size of positive weights.
    s.dests[1].weight = 100;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
}

TEST(SchedWlc, PicksLeastOverheadPerWeight) {
    Lb s = make_service(Sched::wlc, {1, 3});
    std::vector<DestCounters> load(2);
    SchedCursor cur;
    load[0].inactive = 100;  // 100 / 1
    load[1].inactive = 299;  // 299 / 3 = 99.7: lighter
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 1);
    load[1].inactive = 300;  // 100 exactly: tie, the first wins
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
    load[1].inactive = 301;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
    // Active counts 256 times: one active on 0 (256) against 3 active on 1 (768 / 3 = 256): tie.
    load[0] = DestCounters{};
    load[1] = DestCounters{};
    load[0].active = 1;
    load[1].active = 3;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
    load[1].active = 2;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 1);
}

TEST(SchedWlc, LargeCountersDoNotOverflow) {
    Lb s = make_service(Sched::wlc, {65535, 1});
    std::vector<DestCounters> load(2);
    load[0].active = 4000000000u;  // overhead ~ 2^40, times weight 65535 still fits in 64 bits
    load[1].active = 61036;       // 61036 * 256 vs 4e9 * 256 / 65535 = 61036.08 * 256
    SchedCursor cur;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 1);
    load[1].active = 61037;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
}

TEST(SchedWlc, ConvergesToWeightsWhenConnectionsStay) {
    // Feed each pick back as an active connection: the counts end up proportional to weight.
    const std::vector<uint16_t> w = {1, 2, 3, 4};
    Lb s = make_service(Sched::wlc, w);
    std::vector<DestCounters> load(w.size());
    SchedCursor cur;
    for (int i = 0; i < 10000; ++i) ++load.at(pick_by(s.svc, s.dests, cur, load.data(), 0, 0)).active;
    for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(load[i].active, 1000u * w[i]) << "real " << i;
}

// ---- sh ----

TEST(SchedSh, BucketsFollowWeightsAndAreDeterministic) {
    Lb s = make_service(Sched::sh, {1, 2, 3});
    const auto& t = s.svc.tables->sh;
    ASSERT_EQ(t.size(), 256u);
    // 256 * 1/6, 2/6, 3/6 = 42.67, 85.33, 128: rounded to the nearest, adding up to 256.
    EXPECT_EQ(std::count(t.begin(), t.end(), 0), 43);
    EXPECT_EQ(std::count(t.begin(), t.end(), 1), 85);
    EXPECT_EQ(std::count(t.begin(), t.end(), 2), 128);
    EXPECT_EQ(t, make_service(Sched::sh, {1, 2, 3}).svc.tables->sh);

    // The same source always lands on the same real, whatever the ports.
    SchedCursor cur;
    for (uint32_t src = 1; src < 1000; ++src) {
        uint16_t a = pick_by(s.svc, s.dests, cur, nullptr, flow_hash4(src, 7, 1000, 80, kProtoTcp), src_hash4(src));
        uint16_t b = pick_by(s.svc, s.dests, cur, nullptr, flow_hash4(src, 7, 2000, 80, kProtoTcp), src_hash4(src));
        EXPECT_EQ(a, b);
    }
}

TEST(SchedSh, WeightsAboveTheTableSizeStillShare) {
    // Reduced by their gcd these stay 1000 and 999: more than the 256 buckets. Taking `weight`
    // buckets per turn would give every bucket to the first real; quotas split them evenly.
    Lb s = make_service(Sched::sh, {1000, 999});
    const auto& t = s.svc.tables->sh;
    EXPECT_EQ(std::count(t.begin(), t.end(), 0), 128);
    EXPECT_EQ(std::count(t.begin(), t.end(), 1), 128);
}

TEST(SchedSh, SourcesSpreadByWeight) {
    const std::vector<uint16_t> w = {1, 1, 1, 1};
    expect_shares(make_service(Sched::sh, w), w, 1000000, 0.01, "sh 1,1,1,1");
}

// ---- mh ----

TEST(SchedMh, TableHasRequestedSizeAndValidIds) {
    for (uint32_t size : {251u, 65537u}) {
        Lb s = make_service(Sched::mh, {1, 0, 2, 5}, size);
        const auto& t = s.svc.tables->mh;
        ASSERT_EQ(t.size(), size);
        for (uint16_t id : t) ASSERT_TRUE(id == 0 || id == 2 || id == 3) << id;
    }
}

// Every real holds its exact weighted share of the table's slots, to within one slot.
void expect_slots_follow_weights(const std::vector<uint16_t>& w, uint32_t size, const std::string& label) {
    Lb s = make_service(Sched::mh, w, size);
    const auto& t = s.svc.tables->mh;
    ASSERT_EQ(t.size(), size) << label;
    std::vector<uint64_t> n(w.size());
    for (uint16_t id : t) ++n.at(id);
    for (size_t i = 0; i < w.size(); ++i)
        EXPECT_LT(std::fabs(static_cast<double>(n[i]) - expected_share(w, i) * size), 1.0) << label << " real " << i;
}

TEST(SchedMh, SlotsFollowWeightsToOneSlot) {
    expect_slots_follow_weights({1, 2, 3, 4}, kDefaultMhTableSize, "1,2,3,4");
    expect_slots_follow_weights({1000, 999, 1}, kDefaultMhTableSize, "1000,999,1");
    expect_slots_follow_weights({65535, 1}, kDefaultMhTableSize, "65535,1");
    expect_slots_follow_weights({7, 7, 7}, 251, "7,7,7 in 251");
    // A large pool with random weights: turns are scaled down, quotas still exact.
    std::mt19937_64 rng(7);
    std::vector<uint16_t> w(kMaxDests);
    for (uint16_t& x : w) x = static_cast<uint16_t>(rng() % 65535 + 1);
    expect_slots_follow_weights(w, kDefaultMhTableSize, "4096 random");
}

TEST(SchedMh, NonPrimeSizeIsRoundedUpToAPrime) {
    EXPECT_EQ(make_service(Sched::mh, {1, 1}, 1000).svc.tables->mh.size(), 1009u);
}

TEST(SchedMh, SharesEqualWeights) {
    const std::vector<uint16_t> w = {1, 1, 1, 1, 1};
    expect_shares(make_service(Sched::mh, w), w, 1000000, 0.01, "mh 1x5");
}

TEST(SchedMh, SharesUnequalWeights) {
    const std::vector<uint16_t> w = {1, 2, 3, 4};
    expect_shares(make_service(Sched::mh, w), w, 1000000, 0.01, "mh 1,2,3,4");
    const std::vector<uint16_t> w2 = {100, 300, 50};
    expect_shares(make_service(Sched::mh, w2), w2, 1000000, 0.01, "mh 100,300,50");
}

TEST(SchedMh, RemovingARealMovesFewOtherFlows) {
    const size_t n = 5;
    Lb before = make_service(Sched::mh, std::vector<uint16_t>(n, 1));
    Lb after = before;
    after.svc.dests.erase(after.svc.dests.begin() + 2);  // real 2 leaves
    build_sched_tables(after.svc, after.dests);

    Flows flows;
    SchedCursor cur;
    const uint64_t total = 1000000;
    uint64_t changed = 0, on_survivors = 0, survivors_moved = 0;
    for (uint64_t i = 0; i < total; ++i) {
        auto [fh, sh] = flows.next();
        uint16_t a = pick_by(before.svc, before.dests, cur, nullptr, fh, sh);
        uint16_t b = pick_by(after.svc, after.dests, cur, nullptr, fh, sh);
        ASSERT_NE(b, 2);
        if (a != b) ++changed;
        if (a != 2) {
            ++on_survivors;
            if (a != b) ++survivors_moved;
        }
    }
    double changed_frac = static_cast<double>(changed) / total;
    double survivor_frac = static_cast<double>(survivors_moved) / on_survivors;
    std::cout << "  mh 5 reals, one removed: " << changed_frac << " of all flows changed real, " << survivor_frac
              << " of flows on surviving reals moved\n";
    RecordProperty("mh_disruption_all", std::to_string(changed_frac));
    RecordProperty("mh_disruption_survivors", std::to_string(survivor_frac));
    EXPECT_LE(changed_frac, 1.0 / n + 0.02);
    EXPECT_LE(survivor_frac, 0.03);
}

TEST(SchedMh, AddingARealMovesAboutItsShare) {
    Lb before = make_service(Sched::mh, std::vector<uint16_t>(5, 1));
    Lb after = make_service(Sched::mh, std::vector<uint16_t>(6, 1));
    uint64_t changed = 0;
    for (uint32_t i = 0; i < before.svc.tables->mh.size(); ++i)
        changed += before.svc.tables->mh[i] != after.svc.tables->mh[i];
    double frac = static_cast<double>(changed) / before.svc.tables->mh.size();
    std::cout << "  mh 5 -> 6 reals: " << frac << " of slots changed\n";
    EXPECT_LE(frac, 1.0 / 6 + 0.02);
}

TEST(SchedMh, DeterministicAndIndependentOfConfigOrder) {
    Lb a = make_service(Sched::mh, {3, 1, 2, 2, 1});
    Lb b = make_service(Sched::mh, {3, 1, 2, 2, 1});
    EXPECT_EQ(a.svc.tables->mh, b.svc.tables->mh);

    // Same reals, listed in another order: the table (and the sh buckets) must match.
    std::reverse(b.svc.dests.begin(), b.svc.dests.end());
    std::swap(b.svc.dests[0], b.svc.dests[2]);
    build_sched_tables(b.svc, b.dests);
    EXPECT_EQ(a.svc.tables->mh, b.svc.tables->mh);
    EXPECT_EQ(a.svc.tables->sh, b.svc.tables->sh);
}

TEST(SchedMh, LookupMatchesPickAndIsBuiltForEveryScheduler) {
    for (Sched sched : kAllScheds) {
        Lb s = make_service(sched, {1, 2, 3});
        ASSERT_EQ(s.svc.tables->mh.size(), kDefaultMhTableSize) << sched_name(sched);
        ASSERT_EQ(s.svc.tables->sh.size(), 256u) << sched_name(sched);
        ASSERT_EQ(s.svc.tables->wrr_seq.size(), 6u) << sched_name(sched);
    }
    Lb s = make_service(Sched::mh, {1, 2, 3});
    Flows flows;
    SchedCursor cur;
    for (int i = 0; i < 10000; ++i) {
        auto [fh, sh] = flows.next();
        EXPECT_EQ(pick_by(s.svc, s.dests, cur, nullptr, fh, sh), mh_lookup(s.svc, fh));
    }
}

TEST(SchedMh, Ipv6RealsWork) {
    Lb s = make_service(Sched::mh, {1, 1, 1});
    for (size_t i = 0; i < s.dests.size(); ++i)
        s.dests[i].ip = *IpAddr::parse("2001:db8::" + std::to_string(i + 1));
    build_sched_tables(s.svc, s.dests);
    expect_shares(s, {1, 1, 1}, 300000, 0.01, "mh v6 1,1,1");
}

// ---- every scheduler ----

TEST(SchedAll, WeightZeroIsNeverChosen) {
    for (Sched sched : kAllScheds) {
        Lb s = make_service(sched, {2, 0, 1, 0, 3});
        std::vector<DestCounters> load(5);
        load[0].active = 1;  // make the idle weight-0 reals the least loaded (within ovf's limits)
        load[2].active = 1;
        load[4].active = 1;
        SchedCursor cur;
        Flows flows;
        for (int i = 0; i < 100000; ++i) {
            auto [fh, sh] = flows.next();
            uint16_t id = pick_by(s.svc, s.dests, cur, load.data(), fh, sh);
            ASSERT_TRUE(id == 0 || id == 2 || id == 4) << sched_name(sched) << " picked " << id;
        }
    }
}

TEST(SchedAll, NoRealWithWeightGivesNoDest) {
    for (Sched sched : kAllScheds) {
        Lb s = make_service(sched, {0, 0, 0});
        EXPECT_TRUE(s.svc.tables->mh.empty());
        EXPECT_TRUE(s.svc.tables->sh.empty());
        EXPECT_TRUE(s.svc.tables->wrr_seq.empty());
        std::vector<DestCounters> load(3);
        SchedCursor cur;
        Flows flows;
        for (int i = 0; i < 100; ++i) {
            auto [fh, sh] = flows.next();
            EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), fh, sh), kNoDest) << sched_name(sched);
            EXPECT_EQ(mh_lookup(s.svc, fh), kNoDest);
        }
        Lb empty = make_service(sched, {});
        EXPECT_EQ(pick_by(empty.svc, empty.dests, cur, load.data(), 1, 1), kNoDest) << sched_name(sched);

        // Positive weights but no real in use.
        Lb unused = make_service(sched, {1, 1});
        for (Dest& d : unused.dests) d.in_use = false;
        build_sched_tables(unused.svc, unused.dests);
        EXPECT_EQ(pick_by(unused.svc, unused.dests, cur, load.data(), 1, 1), kNoDest) << sched_name(sched);
    }
}

TEST(SchedAll, SingleRealTakesEverything) {
    for (Sched sched : kAllScheds) {
        Lb s = make_service(sched, {0, 9});
        auto n = count_picks(s, 1000);
        EXPECT_EQ(n[1], 1000u) << sched_name(sched);
    }
}

// Every director with the same reals must build the same Maglev table, also across versions: a change
// to the permutation hashes or seeds would send established flows to other reals when directors of
// two versions share VIPs (ECMP, VRRP failover). The table of a fixed set of reals is pinned here:
// the first 24 entries of a 251-slot table written out, and an FNV-1a digest of the default
// 65537-slot one. If this fails, the change breaks flows across a mixed-version upgrade: say so in
// the release notes, or undo it.
TEST(Maglev, TableOfAFixedConfigurationIsPinned) {
    Lb small = make_service(Sched::mh, {1, 1, 2, 1, 3}, 251);
    std::vector<uint16_t> head(small.svc.tables->mh.begin(), small.svc.tables->mh.begin() + 24);
    EXPECT_EQ(head, (std::vector<uint16_t>{4, 2, 4, 4, 4, 4, 2, 1, 3, 3, 4, 4, 4, 2, 2, 0, 4, 0, 4, 2, 4, 3, 3, 3}));
    Lb big = make_service(Sched::mh, {1, 1, 2, 1, 3});
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint16_t id : big.svc.tables->mh) {
        h = (h ^ (id & 0xff)) * 0x100000001b3ULL;
        h = (h ^ (id >> 8)) * 0x100000001b3ULL;
    }
    EXPECT_EQ(h, 0x35f373f30fa6b509ULL) << std::hex << h;
}

}  // namespace
}  // namespace dplb

namespace dplb {
namespace {

// ---- sed, nq, fo, ovf against reference models of IPVS's rules (ip_vs_sed.c, ip_vs_nq.c,
// ip_vs_fo.c, ip_vs_ovf.c), written here from those rules, over random weights and loads ----

struct Case {
    std::vector<uint16_t> weights;
    std::vector<uint32_t> active;
};

// The real whose (active + 1) / weight is smallest, the first listed of equals (exact: compared as
// long double quotients of small integers, which are exact here).
int ref_sed(const Case& c) {
    int best = -1;
    long double best_q = 0;
    for (size_t i = 0; i < c.weights.size(); i++) {
        if (c.weights[i] == 0) continue;
        long double q = static_cast<long double>(c.active[i] + 1) / c.weights[i];
        if (best < 0 || q < best_q) best = static_cast<int>(i), best_q = q;
    }
    return best;
}

int ref_nq(const Case& c) {
    for (size_t i = 0; i < c.weights.size(); i++)
        if (c.weights[i] > 0 && c.active[i] == 0) return static_cast<int>(i);
    return ref_sed(c);
}

int ref_fo(const Case& c, bool overflow) {
    int best = -1;
    for (size_t i = 0; i < c.weights.size(); i++) {
        if (c.weights[i] == 0 || (overflow && c.active[i] > c.weights[i])) continue;
        if (best < 0 || c.weights[i] > c.weights[static_cast<size_t>(best)]) best = static_cast<int>(i);
    }
    return best;
}

TEST(SchedIpvsRules, SedNqFoOvfMatchTheReferenceOverRandomLoads) {
    std::mt19937 rng(20261128);
    for (int round = 0; round < 2000; round++) {
        Case c;
        size_t n = 1 + rng() % 6;
        for (size_t i = 0; i < n; i++) {
            c.weights.push_back(static_cast<uint16_t>(rng() % 5));  // 0 included: never chosen
            c.active.push_back(rng() % 4 == 0 ? 0 : rng() % 12);
        }
        std::vector<DestCounters> load(n);
        for (size_t i = 0; i < n; i++) {
            load[i].active = c.active[i];
            load[i].inactive = static_cast<uint32_t>(rng() % 50);  // no part in these four rules
        }
        const std::pair<Sched, int> want[] = {
            {Sched::sed, ref_sed(c)}, {Sched::nq, ref_nq(c)}, {Sched::fo, ref_fo(c, false)}, {Sched::ovf, ref_fo(c, true)}};
        for (auto [sched, ref] : want) {
            Lb s = make_service(sched, c.weights);
            SchedCursor cur;
            uint16_t got = pick_by(s.svc, s.dests, cur, load.data(), 1, 1);
            int g = got == kNoDest ? -1 : got;
            ASSERT_EQ(g, ref) << sched_name(sched) << " round " << round;
        }
    }
}

TEST(SchedIpvsRules, SedPrefersTheHeavierRealUntilItsQueueIsLonger) {
    // Weights 1 and 3, both idle: sed's (0+1)/1 vs (0+1)/3 -> the second; nq takes the first idle.
    Lb sed = make_service(Sched::sed, {1, 3});
    Lb nq = make_service(Sched::nq, {1, 3});
    std::vector<DestCounters> load(2);
    SchedCursor cur;
    EXPECT_EQ(pick_by(sed.svc, sed.dests, cur, load.data(), 0, 0), 1);
    EXPECT_EQ(pick_by(nq.svc, nq.dests, cur, load.data(), 0, 0), 0);
    load[1].active = 3;  // (3+1)/3 > 1/1: the lighter real's turn
    EXPECT_EQ(pick_by(sed.svc, sed.dests, cur, load.data(), 0, 0), 0);
    load[1].active = 2;  // (2+1)/3 = 1/1: the first listed
    EXPECT_EQ(pick_by(sed.svc, sed.dests, cur, load.data(), 0, 0), 0);
}

TEST(SchedIpvsRules, OvfSpillsOverOnceTheActiveConnectionsPassTheWeight) {
    Lb s = make_service(Sched::ovf, {2, 5, 1});
    std::vector<DestCounters> load(3);
    SchedCursor cur;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 1);
    load[1].active = 5;  // at its weight: still taken (IPVS skips only above it)
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 1);
    load[1].active = 6;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 0);
    load[0].active = 3;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), 2);
    load[2].active = 2;
    EXPECT_EQ(pick_by(s.svc, s.dests, cur, load.data(), 0, 0), kNoDest) << "every real over its limit";
}

TEST(SchedIpvsRules, DhKeepsEachVipOnOneRealWhateverTheClient) {
    Lb s = make_service(Sched::dh, {1, 1, 1});
    SchedCursor cur;
    std::map<uint16_t, int> reals_seen;
    for (uint32_t vip = 1; vip <= 300; vip++) {
        uint64_t dh = src_hash4(vip);  // the destination's hash, as the processor passes it for dh
        uint16_t first = pick_by(s.svc, s.dests, cur, nullptr, flow_hash4(7, vip, 1, 80, kProtoTcp), dh);
        for (uint32_t client = 2; client < 40; client++)
            ASSERT_EQ(pick_by(s.svc, s.dests, cur, nullptr, flow_hash4(client, vip, 1000, 80, kProtoTcp), dh), first);
        reals_seen[first]++;
    }
    EXPECT_EQ(reals_seen.size(), 3u) << "300 VIPs spread over the three reals";
}

TEST(SchedIpvsRules, TwosTakesTheLessLoadedOfTwoWeightedDraws) {
    // Two equal reals, the first far busier: it is chosen only when both draws are it, 1/4.
    Lb s = make_service(Sched::twos, {1, 1});
    std::vector<DestCounters> load(2);
    load[0].active = 100;
    SchedCursor cur;
    int first = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) first += pick_by(s.svc, s.dests, cur, load.data(), 0, 0) == 0;
    EXPECT_NEAR(static_cast<double>(first) / n, 0.25, 0.01);
    // Equal loads: the first draw wins ties, so shares follow the weights (3:1).
    Lb w = make_service(Sched::twos, {3, 1, 0});
    std::vector<DestCounters> idle(3);
    int heavy = 0;
    for (int i = 0; i < n; i++) {
        uint16_t id = pick_by(w.svc, w.dests, cur, idle.data(), 0, 0);
        ASSERT_NE(id, 2) << "weight 0";
        heavy += id == 0;
    }
    EXPECT_NEAR(static_cast<double>(heavy) / n, 0.75, 0.01);
}

// ---- Connection limits (u_threshold / l_threshold), sh / mh flags ----

// IPVS's rule, as ip_vs_conn.c words it: after a connection is bound to a real, the real is
// overloaded once active + inactive >= u_threshold; after one is unbound, the flag goes when the count
// is below l_threshold, or (l_threshold 0) below three quarters of u_threshold, or when there is no
// limit at all.
struct RefLimit {
    uint32_t u, l;
    uint64_t total = 0;
    bool over = false;
    void bind() {
        total++;
        if (u != 0 && total >= u) over = true;
    }
    void unbind() {
        total--;
        if (l != 0) over = over && !(total < l);
        else if (u != 0) over = over && !(4 * total < 3 * uint64_t{u});
        else over = false;
    }
};

TEST(SchedLimits, OverloadFlagFollowsIpvsRuleOverRandomSequences) {
    std::mt19937 rng(12);
    for (int round = 0; round < 2000; round++) {
        Dest d;
        d.u_threshold = 1 + rng() % 20;
        d.l_threshold = rng() % 2 ? 0 : rng() % (d.u_threshold + 1);
        RefLimit ref{d.u_threshold, d.l_threshold};
        DestCounters dc;
        for (int step = 0; step < 200; step++) {
            bool bind = ref.total == 0 || rng() % 5 < 3;
            bool active = rng() % 2;  // either kind counts: active + inactive
            if (bind) {
                ref.bind();
                (active ? dc.active : dc.inactive)++;
                limit_on_bind(dc, d, 1);
            } else {
                ref.unbind();
                if (dc.active > 0 && (active || dc.inactive == 0)) dc.active--;
                else dc.inactive--;
                limit_on_unbind(dc, d, 1);
            }
            ASSERT_EQ(dc.overloaded != 0, ref.over) << "u " << d.u_threshold << " l " << d.l_threshold << " step "
                                                  << step << " total " << ref.total;
        }
    }
}

TEST(SchedLimits, HysteresisBoundsAndPerCoreShare) {
    Dest d;
    d.u_threshold = 10;  // l_threshold 0: cleared below 3/4 of 10, i.e. at 7
    DestCounters dc;
    for (int i = 0; i < 9; i++) ++dc.active, limit_on_bind(dc, d, 1);
    EXPECT_EQ(dc.overloaded, 0u) << "9 < 10";
    ++dc.inactive, limit_on_bind(dc, d, 1);
    EXPECT_EQ(dc.overloaded, 1u) << "10 reached";
    --dc.active, limit_on_unbind(dc, d, 1);
    --dc.active, limit_on_unbind(dc, d, 1);
    EXPECT_EQ(dc.overloaded, 1u) << "8 is not below 7.5";
    --dc.active, limit_on_unbind(dc, d, 1);
    EXPECT_EQ(dc.overloaded, 0u) << "7 is";
    // Four workers: each holds ceil(10 / 4) = 3 of the upper limit, ceil(5 / 4) = 2 of the lower.
    d.l_threshold = 5;
    DestCounters core;
    for (int i = 0; i < 2; i++) ++core.active, limit_on_bind(core, d, 4);
    EXPECT_EQ(core.overloaded, 0u);
    ++core.active, limit_on_bind(core, d, 4);
    EXPECT_EQ(core.overloaded, 1u) << "3 of this core's share of 3";
    --core.active, limit_on_unbind(core, d, 4);
    EXPECT_EQ(core.overloaded, 1u) << "2 is not below 2";
    --core.active, limit_on_unbind(core, d, 4);
    EXPECT_EQ(core.overloaded, 0u);
    // The limit removed by a reload: the next unbind clears the flag.
    Dest none;
    core.overloaded = 1;
    ++core.active;
    --core.active, limit_on_unbind(core, none, 4);
    EXPECT_EQ(core.overloaded, 0u);
}

// A service whose reals have limits: real i overloaded where `over` says so.
Lb limited_service(Sched sched, const std::vector<uint16_t>& weights, uint8_t flags = 0) {
    Lb s = make_service(sched, weights);
    for (Dest& d : s.dests) d.u_threshold = 100;
    s.svc.sched_flags = flags;
    build_sched_tables(s.svc, s.dests);
    return s;
}

int ref_lc(const Case& c, bool weighted, const std::vector<uint32_t>& inactive) {
    int best = -1;
    long double best_q = 0;
    for (size_t i = 0; i < c.weights.size(); i++) {
        if (c.weights[i] == 0) continue;
        long double oh = static_cast<long double>(c.active[i]) * 256 + inactive[i];
        long double q = weighted ? oh / c.weights[i] : oh;
        if (best < 0 || q < best_q) best = static_cast<int>(i), best_q = q;
    }
    return best;
}

// Every scheduler passes over overloaded reals as IPVS's do: for the rules that compare reals, the
// choice is the reference rule's over the reals that are not overloaded; for rr, wrr and twos, the
// choice is never an overloaded real and there is one whenever a real is not overloaded.
TEST(SchedLimits, EverySchedulerSkipsOverloadedReals) {
    std::mt19937 rng(77);
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + rng() % 6;
        std::vector<uint16_t> weights;
        std::vector<DestCounters> load(n);
        Case open;  // the reals as the rules see them: an overloaded one has no weight
        std::vector<uint32_t> inactive;
        bool any_open = false;
        for (size_t i = 0; i < n; i++) {
            weights.push_back(static_cast<uint16_t>(1 + rng() % 4));
            load[i].active = rng() % 10;
            load[i].inactive = rng() % 30;
            load[i].overloaded = rng() % 3 == 0;
            open.weights.push_back(load[i].overloaded ? 0 : weights[i]);
            open.active.push_back(load[i].active);
            inactive.push_back(load[i].inactive);
            any_open = any_open || !load[i].overloaded;
        }
        const std::pair<Sched, int> want[] = {{Sched::lc, ref_lc(open, false, inactive)},
                                              {Sched::wlc, ref_lc(open, true, inactive)},
                                              {Sched::sed, ref_sed(open)},
                                              {Sched::nq, ref_nq(open)},
                                              {Sched::fo, ref_fo(open, false)},
                                              {Sched::ovf, ref_fo(open, true)}};
        for (auto [sched, ref] : want) {
            Lb s = limited_service(sched, weights);
            SchedCursor cur;
            uint16_t got = dplb::sched_pick(s.svc, s.dests, cur, load.data(), 0);
            ASSERT_EQ(got == kNoDest ? -1 : got, ref) << sched_name(sched) << " round " << round;
        }
        for (Sched sched : {Sched::rr, Sched::wrr, Sched::twos}) {
            Lb s = limited_service(sched, weights);
            SchedCursor cur;
            cur.next = static_cast<uint32_t>(rng());
            for (int k = 0; k < 8; k++) {
                uint16_t got = dplb::sched_pick(s.svc, s.dests, cur, load.data(), 0);
                if (!any_open) {
                    ASSERT_EQ(got, kNoDest) << sched_name(sched);
                    continue;
                }
                ASSERT_NE(got, kNoDest) << sched_name(sched) << " round " << round;
                ASSERT_EQ(load[got].overloaded, 0u) << sched_name(sched) << " round " << round;
            }
        }
    }
}

// rr keeps its order over the reals that remain: the overloaded one's turn goes to the next.
TEST(SchedLimits, RrAndWrrPassOverAnOverloadedRealInTurn) {
    Lb rr = limited_service(Sched::rr, {1, 1, 1});
    std::vector<DestCounters> load(3);
    load[1].overloaded = 1;
    SchedCursor cur;
    std::vector<uint16_t> got;
    for (int i = 0; i < 4; i++) got.push_back(dplb::sched_pick(rr.svc, rr.dests, cur, load.data(), 0));
    EXPECT_EQ(got, (std::vector<uint16_t>{0, 2, 0, 2}));
    Lb wrr = limited_service(Sched::wrr, {3, 1});  // cycle 0 0 0 1 -> 0 0 0 0 with 1 overloaded
    std::vector<DestCounters> l2(2);
    l2[1].overloaded = 1;
    SchedCursor c2;
    for (int i = 0; i < 8; i++) EXPECT_EQ(dplb::sched_pick(wrr.svc, wrr.dests, c2, l2.data(), 0), 0);
}

// sh and mh (IPVS's rule, ip_vs_sh.c / ip_vs_mh.c): the key's entry unless it is overloaded; then
// nothing, or with the fallback flag the next entries of the table in turn. dh has no flag.
TEST(SchedLimits, HashingSchedulersFallBackOnlyWithTheFlag) {
    std::mt19937_64 rng(5);
    for (Sched sched : {Sched::sh, Sched::mh, Sched::dh}) {
        for (int round = 0; round < 200; round++) {
            size_t n = 2 + rng() % 5;
            std::vector<uint16_t> weights(n);
            std::vector<DestCounters> load(n);
            for (size_t i = 0; i < n; i++) {
                weights[i] = static_cast<uint16_t>(1 + rng() % 3);
                load[i].overloaded = rng() % 2;
            }
            Lb plain = limited_service(sched, weights);
            Lb fb = limited_service(sched, weights, kSchedFlagFallback);
            const std::vector<uint16_t>& t = sched == Sched::mh ? plain.svc.tables->mh : plain.svc.tables->sh;
            for (int k = 0; k < 50; k++) {
                uint64_t key = rng();
                size_t b = key % t.size();
                int ref_plain = load[t[b]].overloaded ? -1 : t[b];
                int ref_fb = -1;
                for (size_t j = 0; j < t.size() && sched != Sched::dh; j++)
                    if (!load[t[(b + j) % t.size()]].overloaded) {
                        ref_fb = t[(b + j) % t.size()];
                        break;
                    }
                if (sched == Sched::dh) ref_fb = ref_plain;
                SchedCursor cur;
                uint16_t a = dplb::sched_pick(plain.svc, plain.dests, cur, load.data(), key);
                uint16_t c = dplb::sched_pick(fb.svc, fb.dests, cur, load.data(), key);
                ASSERT_EQ(a == kNoDest ? -1 : a, ref_plain) << sched_name(sched);
                ASSERT_EQ(c == kNoDest ? -1 : c, ref_fb) << sched_name(sched) << " with fallback";
            }
        }
    }
}

// A service without limits never looks at the flags (a real left flagged after its limit was
// removed takes connections again at once).
TEST(SchedLimits, ServicesWithoutLimitsIgnoreTheFlags) {
    for (Sched sched : kAllScheds) {
        Lb s = make_service(sched, {1, 1});
        ASSERT_FALSE(s.svc.tables->limits);
        std::vector<DestCounters> load(2);
        load[0].overloaded = load[1].overloaded = 1;
        SchedCursor cur;
        EXPECT_NE(dplb::sched_pick(s.svc, s.dests, cur, load.data(), 12345), kNoDest) << sched_name(sched);
    }
}

// ---- lblc / lblcr ----

// IPVS's lblc and lblcr (ip_vs_lblc.c, ip_vs_lblcr.c) written out over plain vectors and a map with
// no size limit: the reference the per-core table is held to.
struct RefLocality {
    bool replicated;
    std::vector<uint16_t> w;
    std::vector<uint32_t> active, inactive;
    std::vector<bool> over;  // u_threshold overload flags
    struct En {
        uint32_t lastuse, lastmod;
        std::vector<int> set;
    };
    std::map<uint64_t, En> tbl;
    static constexpr uint32_t kExp = 24u * 3600u * 1000u;

    long double q(int d) const { return (static_cast<long double>(active[d]) * 256 + inactive[d]) / w[d]; }
    int wlc() const {
        int best = -1;
        for (int d = 0; d < static_cast<int>(w.size()); d++)
            if (w[d] > 0 && !over[d] && (best < 0 || q(d) < q(best))) best = d;
        return best;
    }
    bool lblc_overloaded(int d) const {
        if (active[d] <= w[d]) return false;
        for (size_t i = 0; i < w.size(); i++)
            if (uint64_t{active[i]} * 2 < w[i]) return true;
        return false;
    }
    int pick(uint64_t key, uint32_t now) {
        auto it = tbl.find(key);
        if (it != tbl.end() && now - it->second.lastuse >= kExp) {  // the expiry sweep's rule
            tbl.erase(it);
            it = tbl.end();
        }
        if (it != tbl.end()) {
            En& en = it->second;
            en.lastuse = now;
            int cand = -1;
            if (!replicated) {
                if (w[en.set[0]] > 0) cand = en.set[0];
            } else {
                for (int d : en.set)
                    if (w[d] > 0 && !over[d] && (cand < 0 || q(d) < q(cand))) cand = d;
                if (en.set.size() > 1 && now - en.lastmod > kExp) {
                    int most = -1;
                    for (int d : en.set)
                        if (w[d] > 0 && (most < 0 || q(most) < q(d))) most = d;
                    if (most >= 0) en.set.erase(std::find(en.set.begin(), en.set.end(), most));
                }
            }
            if (cand >= 0 && !lblc_overloaded(cand)) return cand;
            int d = wlc();
            if (d < 0) return d;
            if (!replicated) {
                en.set = {d};
            } else if (std::find(en.set.begin(), en.set.end(), d) == en.set.end()) {
                en.set.push_back(d);
                en.lastmod = now;
            }
            return d;
        }
        int d = wlc();
        if (d >= 0) tbl[key] = En{now, now, {d}};
        return d;
    }
};

TEST(SchedLocality, LblcAndLblcrMatchTheReferenceOverRandomRuns) {
    std::mt19937_64 rng(4242);
    for (Sched sched : {Sched::lblc, Sched::lblcr}) {
        for (int run = 0; run < 300; run++) {
            size_t n = 2 + rng() % 5;  // at most 6 reals: an lblcr set never outgrows its 8 places
            std::vector<uint16_t> weights(n);
            for (auto& x : weights) x = static_cast<uint16_t>(rng() % 4);  // 0 included
            Lb s = make_service(sched, weights);
            bool limits = rng() % 2;
            if (limits) {
                for (Dest& d : s.dests) d.u_threshold = 1000;
                build_sched_tables(s.svc, s.dests);
            }
            RefLocality ref{sched == Sched::lblcr, weights, std::vector<uint32_t>(n), std::vector<uint32_t>(n),
                            std::vector<bool>(n), {}};
            std::vector<DestCounters> load(n);
            LblcTable table;
            SchedCursor cur;
            uint32_t now = static_cast<uint32_t>(rng());
            for (int step = 0; step < 200; step++) {
                for (size_t i = 0; i < n; i++) {  // the load moves under the table
                    if (rng() % 4 == 0) load[i].active = ref.active[i] = rng() % 8;
                    if (rng() % 4 == 0) load[i].inactive = ref.inactive[i] = rng() % 40;
                    if (limits && rng() % 8 == 0) {
                        bool o = rng() % 3 == 0;
                        ref.over[i] = o;
                        load[i].overloaded = o;
                    }
                }
                uint64_t r = rng() % 16;  // mostly seconds, sometimes past the expiry
                now += r < 12 ? static_cast<uint32_t>(rng() % 5000) : r < 15 ? 3600u * 1000u * (1 + rng() % 30)
                                                                          : RefLocality::kExp;
                uint64_t key = src_hash4(static_cast<uint32_t>(rng() % 3));  // three destination addresses
                int want = ref.pick(key, now);
                uint16_t got = dplb::sched_pick(s.svc, s.dests, cur, load.data(), key, &table, now);
                ASSERT_EQ(got == kNoDest ? -1 : got, want) << sched_name(sched) << " run " << run << " step " << step;
            }
        }
    }
}

// The table is bounded: a destination that finds no room is counted and still gets wlc's real; an
// entry unused for six minutes makes room for a new one, a live one never does.
TEST(SchedLocality, FullTableRefusesCountedAndStillSchedules) {
    Lb s = make_service(Sched::lblc, {1, 1, 1});
    std::vector<DestCounters> load(3);
    uint64_t full = 0;
    LblcTable table(8);  // 8 slots, each key probing all of them
    table.count_full_in(&full);
    SchedCursor cur;
    for (uint32_t k = 0; k < 8; k++) ASSERT_NE(dplb::sched_pick(s.svc, s.dests, cur, load.data(), k, &table, 1000), kNoDest);
    EXPECT_EQ(full, 0u);
    load[0].active = 5;  // wlc now prefers real 1
    EXPECT_EQ(dplb::sched_pick(s.svc, s.dests, cur, load.data(), 100, &table, 2000), 1);
    EXPECT_EQ(full, 1u) << "a ninth destination, eight live entries";
    // Six minutes on, the old entries may make way: no refusal, and the new key is remembered.
    const uint32_t later = 1000 + LblcTable::kEntryTimeoutMs;
    EXPECT_EQ(dplb::sched_pick(s.svc, s.dests, cur, load.data(), 100, &table, later), 1);
    EXPECT_EQ(full, 1u);
    load[1].active = 9;  // wlc would now take real 2; the cached real 1 stays (not overloaded: 9 > 1
    load[0].active = load[2].active = 1;  // but no real is below half its weight)
    EXPECT_EQ(dplb::sched_pick(s.svc, s.dests, cur, load.data(), 100, &table, later + 1), 1);
}

}  // namespace
}  // namespace dplb
