#include "load/histogram.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"

namespace llmrca::load {
namespace {

HdrHistogram Make(int digits, int64_t highest = int64_t{3'600'000'000}, int64_t lowest = 1) {
  Result<HdrHistogram> h = HdrHistogram::Create({.lowest_discernible_value = lowest,
                                                 .highest_trackable_value = highest,
                                                 .significant_digits = digits});
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return std::move(h).value();
}

// The exact nearest-rank percentile of sorted values: the ceil(p / 100 * n)-th smallest (at
// least the first), with p given in thousandths of a percent so the rank is integer arithmetic.
int64_t ExactPercentile(const std::vector<int64_t>& sorted, int64_t p_thousandths) {
  const int64_t n = static_cast<int64_t>(sorted.size());
  int64_t rank = (p_thousandths * n + 99'999) / 100'000;
  rank = std::max<int64_t>(rank, 1);
  return sorted[static_cast<size_t>(rank - 1)];
}

TEST(HdrHistogramTest, EquivalenceRangesByHand) {
  // 1 digit: values below 2 * 10 = 20 need unit resolution, so the first bucket holds 32 counters
  // (the next power of two) and each later bucket 16 counters covering a doubled range. 1000 lies
  // in [512, 1024), whose 16 counters are 32 wide: [992, 1023].
  HdrHistogram h1 = Make(1);
  EXPECT_EQ(h1.LowestEquivalentValue(1000), 992);
  EXPECT_EQ(h1.HighestEquivalentValue(1000), 1023);
  EXPECT_EQ(h1.SizeOfEquivalentValueRange(1000), 32);
  EXPECT_EQ(h1.MedianEquivalentValue(1000), 1008);
  EXPECT_TRUE(h1.ValuesAreEquivalent(992, 1023));
  EXPECT_FALSE(h1.ValuesAreEquivalent(991, 992));
  EXPECT_EQ(h1.SizeOfEquivalentValueRange(31), 1);  // the first bucket is exact

  // 3 digits: 2000 -> 2048 counters; values below 2048 are exact, [2048, 4096) has width 2,
  // [8192, 16384) width 8 (8192 / 1024): 10000 = 1250 * 8 is the bottom of its range.
  HdrHistogram h3 = Make(3);
  EXPECT_EQ(h3.SizeOfEquivalentValueRange(2047), 1);
  EXPECT_EQ(h3.LowestEquivalentValue(2049), 2048);
  EXPECT_EQ(h3.HighestEquivalentValue(2048), 2049);
  EXPECT_EQ(h3.LowestEquivalentValue(10007), 10000);
  EXPECT_EQ(h3.HighestEquivalentValue(10000), 10007);

  // lowest_discernible_value 1000 (e.g. ns with us resolution): the unit is 512, the largest
  // power of two not above 1000, so 0..511 share one counter.
  HdrHistogram coarse = Make(3, int64_t{3'600'000'000'000}, 1000);
  EXPECT_TRUE(coarse.ValuesAreEquivalent(0, 511));
  EXPECT_FALSE(coarse.ValuesAreEquivalent(511, 512));
}

TEST(HdrHistogramTest, ExactBelowTheFirstBucketLimit) {
  // 1..100 with 3 digits: every value has its own counter, so the nearest-rank percentiles are
  // the values themselves: p50 -> 50th smallest = 50, p25.5 -> ceil(25.5) = 26th, p99.9 -> 100th.
  HdrHistogram h = Make(3);
  for (int64_t v = 1; v <= 100; ++v) ASSERT_TRUE(h.Record(v).ok());
  EXPECT_EQ(h.count(), 100);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 100);
  EXPECT_EQ(h.ValueAtPercentile(0), 1);
  EXPECT_EQ(h.ValueAtPercentile(25.5), 26);
  EXPECT_EQ(h.ValueAtPercentile(50), 50);
  EXPECT_EQ(h.ValueAtPercentile(90), 90);
  EXPECT_EQ(h.ValueAtPercentile(99), 99);
  EXPECT_EQ(h.ValueAtPercentile(99.9), 100);
  EXPECT_EQ(h.ValueAtPercentile(100), 100);
  EXPECT_EQ(h.ValueAtPercentile(250), 100);  // clamped to 100
  // Mean 50.5; population std of 1..n is sqrt((n^2 - 1) / 12) = sqrt(833.25).
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
  EXPECT_NEAR(h.StdDev(), std::sqrt(833.25), 1e-12);
}

TEST(HdrHistogramTest, CoarseBucketsByHand) {
  // 2 digits: 200 -> 256 counters in the first bucket, 128 per later bucket. Widths: 300 in
  // [256, 512) -> 2 ([300, 301]); 1000 in [512, 1024) -> 4 ([1000, 1003]); 5000 in
  // [4096, 8192) -> 32, 5000 = 156.25 * 32 -> [4992, 5023]; 20000 in [16384, 32768) -> 128,
  // 20000 = 156.25 * 128 -> [19968, 20095].
  HdrHistogram h = Make(2);
  for (int64_t v : {100, 300, 1000, 5000, 20000}) ASSERT_TRUE(h.Record(v).ok());
  // n = 5: p20 -> rank ceil(1 - ulp) = 1; p50 -> ceil(2.5) = 3; p60 -> 3; p80 -> 4; p100 -> 5.
  EXPECT_EQ(h.ValueAtPercentile(0), 100);
  EXPECT_EQ(h.ValueAtPercentile(20), 100);
  EXPECT_EQ(h.ValueAtPercentile(50), 1003);
  EXPECT_EQ(h.ValueAtPercentile(60), 1003);
  EXPECT_EQ(h.ValueAtPercentile(80), 5023);
  EXPECT_EQ(h.ValueAtPercentile(100), 20095);
  // min and max are the exact values recorded.
  EXPECT_EQ(h.min(), 100);
  EXPECT_EQ(h.max(), 20000);
  // Mean of the range middles: 100 + 301 + 1002 + 5008 + 20032 = 26443, / 5.
  EXPECT_DOUBLE_EQ(h.Mean(), 26443.0 / 5.0);
}

TEST(HdrHistogramTest, RecordWithCount) {
  HdrHistogram h = Make(3);
  ASSERT_TRUE(h.Record(7, 3).ok());
  ASSERT_TRUE(h.Record(9, 0).ok());
  EXPECT_EQ(h.count(), 3);
  EXPECT_EQ(h.CountAtValue(7), 3);
  EXPECT_EQ(h.CountAtValue(9), 0);
  EXPECT_EQ(h.max(), 7);  // a zero count records nothing
  EXPECT_EQ(h.ValueAtPercentile(100), 7);
}

TEST(HdrHistogramTest, SeededSampleWithinPromisedPrecision) {
  // Log-normal-like latencies from 1 to ~10^8 (us), n = 20011 (prime, so no tested p * n / 100
  // is an integer and the nearest rank is unambiguous).
  for (int digits : {1, 2, 3, 4, 5}) {
    Rng rng(42 + static_cast<uint64_t>(digits));
    std::vector<int64_t> values;
    const int64_t highest = int64_t{1'000'000'000};
    HdrHistogram h = Make(digits, highest);
    for (int i = 0; i < 20011; ++i) {
      const double x = std::exp(10.0 + 2.0 * rng.Normal());
      const int64_t v = std::clamp<int64_t>(static_cast<int64_t>(x), 0, highest);
      values.push_back(v);
      ASSERT_TRUE(h.Record(v).ok());
    }
    std::sort(values.begin(), values.end());
    double relative = 1;
    for (int i = 0; i < digits; ++i) relative /= 10;
    for (int64_t p_thousandths : {100, 1'000, 10'000, 25'000, 50'000, 75'000, 90'000, 95'000,
                                  99'000, 99'900, 99'990, 100'000}) {
      const int64_t exact = ExactPercentile(values, p_thousandths);
      const int64_t got = h.ValueAtPercentile(static_cast<double>(p_thousandths) / 1000.0);
      // HdrHistogram's answer is the top of the exact value's equivalence range: never below it,
      // and above it by less than one part in 10^digits (or by 0 in the exact first bucket).
      EXPECT_GE(got, exact) << "digits " << digits << " p " << p_thousandths;
      EXPECT_LE(static_cast<double>(got - exact), relative * static_cast<double>(exact))
          << "digits " << digits << " p " << p_thousandths;
      EXPECT_EQ(got, h.HighestEquivalentValue(exact));
    }
    EXPECT_EQ(h.min(), values.front());
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.count(), 20011);
  }
}

TEST(HdrHistogramTest, MergeEqualsRecordingBoth) {
  Rng rng(7);
  HdrHistogram a = Make(3);
  HdrHistogram b = Make(3);
  HdrHistogram both = Make(3);
  std::vector<int64_t> values;
  for (int i = 0; i < 5000; ++i) {
    const int64_t v = static_cast<int64_t>(rng.UniformInt(50'000'000));
    values.push_back(v);
    ASSERT_TRUE((i % 3 == 0 ? a : b).Record(v).ok());
    ASSERT_TRUE(both.Record(v).ok());
  }
  ASSERT_TRUE(a.Add(b).ok());
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.min(), both.min());
  EXPECT_EQ(a.max(), both.max());
  EXPECT_DOUBLE_EQ(a.Mean(), both.Mean());
  EXPECT_DOUBLE_EQ(a.StdDev(), both.StdDev());
  for (double p : {0.0, 1.0, 50.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(a.ValueAtPercentile(p), both.ValueAtPercentile(p)) << p;
  }
  for (int64_t v : values) EXPECT_EQ(a.CountAtValue(v), both.CountAtValue(v));

  // Adding into an empty histogram copies; adding an empty one changes nothing.
  HdrHistogram empty = Make(3);
  ASSERT_TRUE(empty.Add(both).ok());
  EXPECT_EQ(empty.ValueAtPercentile(50), both.ValueAtPercentile(50));
  ASSERT_TRUE(both.Add(Make(3)).ok());
  EXPECT_EQ(both.count(), 5000);
}

TEST(HdrHistogramTest, MergeAcrossLayouts) {
  // A 2-digit histogram merged into a 3-digit one: each value lands at the bottom of its 2-digit
  // range, so percentiles keep 2-digit precision.
  HdrHistogram coarse = Make(2);
  HdrHistogram fine = Make(3);
  for (int64_t v : {100, 300, 1000, 5000, 20000}) ASSERT_TRUE(coarse.Record(v).ok());
  ASSERT_TRUE(fine.Add(coarse).ok());
  EXPECT_EQ(fine.count(), 5);
  EXPECT_EQ(fine.min(), 100);
  EXPECT_EQ(fine.max(), 20000);
  // 5000 was re-recorded as 4992 (its 2-digit range's bottom), exact in 3 digits' width-4 range.
  EXPECT_EQ(fine.ValueAtPercentile(80), 4995);
  EXPECT_EQ(fine.ValueAtPercentile(50), 1000);
}

TEST(HdrHistogramTest, MergeRejectsValuesAboveRange) {
  HdrHistogram small = Make(3, 1000);
  HdrHistogram big = Make(3);
  ASSERT_TRUE(small.Record(10).ok());
  ASSERT_TRUE(big.Record(5000).ok());
  Status s = small.Add(big);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(small.count(), 1);
  EXPECT_EQ(small.max(), 10);
}

TEST(HdrHistogramTest, RejectsBadOptionsAndValues) {
  for (int digits : {0, 6, -1}) {
    EXPECT_TRUE(HdrHistogram::Create({.significant_digits = digits}).status().IsInvalidArgument());
  }
  EXPECT_TRUE(HdrHistogram::Create({.lowest_discernible_value = 0}).status().IsInvalidArgument());
  EXPECT_TRUE(HdrHistogram::Create({.lowest_discernible_value = 10, .highest_trackable_value = 19})
                  .status()
                  .IsInvalidArgument());
  HdrHistogram h = Make(3, 1000);
  EXPECT_TRUE(h.Record(-1).IsInvalidArgument());
  EXPECT_TRUE(h.Record(1001).IsInvalidArgument());
  EXPECT_TRUE(h.Record(5, -2).IsInvalidArgument());
  EXPECT_TRUE(h.Record(1000).ok());
  EXPECT_EQ(h.count(), 1);
}

TEST(HdrHistogramTest, EmptyAndReset) {
  HdrHistogram h = Make(3);
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_EQ(h.Mean(), 0);
  EXPECT_EQ(h.StdDev(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  ASSERT_TRUE(h.Record(123456).ok());
  h.Reset();
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.ValueAtPercentile(99), 0);
  EXPECT_EQ(h.CountAtValue(123456), 0);
}

TEST(HdrHistogramTest, FootprintOfTheDefaultLatencyHistogram) {
  // 1 hour in us at 3 digits: 2048 * 2^21 > 3.6e9 needs 22 buckets, (22 + 1) * 1024 counters.
  EXPECT_EQ(Make(3).counts_length(), 23u * 1024u);
}

}  // namespace
}  // namespace llmrca::load
