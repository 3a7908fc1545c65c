// The benchmark's latency histogram (bench/latency.h): every value lands in a bucket whose middle is
// within 1/32 of it, and quantiles of known samples come out where they are.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "latency.h"

namespace dplb::bench {
namespace {

TEST(CycleHistogram, SmallValuesAreExact) {
    for (uint64_t v = 0; v < CycleHistogram::kSub; v++) EXPECT_EQ(CycleHistogram::value(CycleHistogram::bucket(v)), v);
}

TEST(CycleHistogram, BucketMiddleWithinOne32nd) {
    std::mt19937_64 rng(15);
    for (int i = 0; i < 100000; i++) {
        uint64_t v = (rng() >> (rng() % 40 + 24)) + CycleHistogram::kSub;  // 32 .. ~2^40
        double mid = CycleHistogram::value(CycleHistogram::bucket(v));
        EXPECT_LE(std::abs(mid - static_cast<double>(v)), static_cast<double>(v) / 32) << v;
    }
    // Bucket boundaries: the last value of one power of two and the first of the next.
    EXPECT_LT(CycleHistogram::bucket(63), CycleHistogram::bucket(64));
    EXPECT_EQ(CycleHistogram::bucket(64), CycleHistogram::bucket(65));  // 2 per bucket from 64 on
}

TEST(CycleHistogram, HugeValuesStayInTheLastBucket) {
    EXPECT_EQ(CycleHistogram::bucket(UINT64_MAX), CycleHistogram::kBuckets - 1);
    EXPECT_EQ(CycleHistogram::bucket(uint64_t{1} << 50), CycleHistogram::kBuckets - 1);
}

TEST(CycleHistogram, Quantiles) {
    CycleHistogram h;
    EXPECT_EQ(h.quantile(0.5), 0);
    for (uint64_t v = 1; v <= 10000; v++) h.add(v * 10);  // 10, 20, ... 100000 cycles
    EXPECT_EQ(h.total(), 10000u);
    EXPECT_NEAR(h.quantile(0.5), 50000, 50000 / 32.0);
    EXPECT_NEAR(h.quantile(0.99), 99000, 99000 / 32.0);
    EXPECT_NEAR(h.quantile(0.999), 99900, 99900 / 32.0);
    CycleHistogram other;
    for (int i = 0; i < 10000; i++) other.add(1000000);  // as many again, all slow
    h.merge(other);
    EXPECT_EQ(h.total(), 20000u);
    EXPECT_NEAR(h.quantile(0.25), 50000, 50000 / 32.0);
    EXPECT_NEAR(h.quantile(0.99), 1000000, 1000000 / 32.0);
}

}  // namespace
}  // namespace dplb::bench
