#include "sim/promql.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::sim {
namespace {

// Expected values below are hand-computed from Prometheus' extrapolatedRate
// (promql/functions.go) and bucketQuantile (promql/quantile.go), Prometheus 2.x/3.x; the
// arithmetic is spelled out next to each one.

TEST(PromqlTest, RateOfSteadyCounterExtrapolatesToBothWindowEdges) {
  // rate(x[60s]) at t = 60: the window is (0, 60]. A counter growing by 2/s, scraped every 15 s
  // at t-55, t-40, t-25, t-10 = 5, 20, 35, 50.
  const std::vector<Sample> s = {{5, 110}, {20, 140}, {35, 170}, {50, 200}};
  // increase = 200 - 110 = 90; sampled interval = 50 - 5 = 45 s; average = 45 / 3 = 15 s;
  // threshold = 1.1 * 15 = 16.5 s.
  // to_start = 5 - 0 = 5 < 16.5: kept. Zero point: 45 * 110 / 90 = 55 s > 5 s: not binding.
  // to_end = 60 - 50 = 10 < 16.5: kept.
  // rate = 90 * (45 + 5 + 10) / 45 / 60 = 90 * 60 / 45 / 60 = 2.
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 60), 2.0);
}

TEST(PromqlTest, RateIgnoresSamplesOutsideTheLeftOpenWindow) {
  // The same counter with samples at t = -10 and t = 0 (before and exactly at the window start,
  // both outside (0, 60]) and t = 65 (after the evaluation time). Only 5, 20, 35, 50 count, so
  // the result is the 2 of the previous test. The excluded values are off the line so that an
  // inclusion shows: with t = 0 (value 0) the increase would be 200 over 50 s, rate 4.
  const std::vector<Sample> s = {{-10, 0},  {0, 0},    {5, 110}, {20, 140},
                                 {35, 170}, {50, 200}, {65, 1e6}};
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 60), 2.0);
}

TEST(PromqlTest, RateIncludesASampleExactlyAtTheEvaluationTime) {
  // Window (0, 60]; samples at 15, 30, 45, 60 (the one at 60 is inside), growing by 3/s.
  const std::vector<Sample> s = {{15, 1000}, {30, 1045}, {45, 1090}, {60, 1135}};
  // increase = 135; sampled = 45 s; average 15 s; threshold 16.5 s.
  // to_start = 15 < 16.5: kept (zero point 45 * 1000 / 135 = 333 s, not binding); to_end = 0.
  // rate = 135 * (45 + 15 + 0) / 45 / 60 = 135 * 60 / 45 / 60 = 3.
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 60), 3.0);
}

TEST(PromqlTest, RateDoesNotExtrapolatePastTheCounterZeroPoint) {
  // Samples at 5, 20, 35, 50 of a counter that started near zero: 3, 33, 63, 93 (2/s).
  const std::vector<Sample> s = {{5, 3}, {20, 33}, {35, 63}, {50, 93}};
  // increase = 90; sampled = 45 s; to_start = 5 s < 16.5 s, but the zero point is
  // 45 * 3 / 90 = 1.5 s before the first sample: to_start = 1.5. to_end = 10.
  // rate = 90 * (45 + 1.5 + 10) / 45 / 60 = 90 * 56.5 / 2700 = 1.883333...
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 60), 90.0 * 56.5 / 45.0 / 60.0);
  EXPECT_NEAR(PromRate(s, 60, 60), 1.8833333333, 1e-9);
}

TEST(PromqlTest, RateExtrapolatesHalfAnIntervalWhenTheFirstSampleIsFarFromTheStart) {
  // The series starts inside the window: samples at 25, 40, 55 only. Window (0, 60].
  const std::vector<Sample> s = {{25, 1000}, {40, 1030}, {55, 1060}};
  // increase = 60; sampled = 30 s; average 15 s; threshold 16.5 s.
  // to_start = 25 >= 16.5: capped at 15 / 2 = 7.5 (zero point 30 * 1000 / 60 = 500 s, not
  // binding). to_end = 5 < 16.5: kept.
  // rate = 60 * (30 + 7.5 + 5) / 30 / 60 = 42.5 / 30 = 1.416666...
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 60), 42.5 / 30.0);
}

TEST(PromqlTest, RateExtrapolatesHalfAnIntervalWhenTheLastSampleIsFarFromTheEnd) {
  // The series stopped inside the window: samples at 5, 20, 35. Window (0, 60].
  const std::vector<Sample> s = {{5, 1000}, {20, 1030}, {35, 1060}};
  // increase = 60; sampled = 30 s; average 15 s; to_start = 5: kept; to_end = 25 >= 16.5:
  // capped at 7.5. rate = 60 * (30 + 5 + 7.5) / 30 / 60 = 42.5 / 30.
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 60), 42.5 / 30.0);
}

TEST(PromqlTest, RateTreatsADecreaseAsACounterReset) {
  // A counter that restarted between t = 20 and t = 35: 100, 130, then 10, 40.
  const std::vector<Sample> s = {{5, 100}, {20, 130}, {35, 10}, {50, 40}};
  // increase = 40 - 100 = -60, plus the value before the reset, 130: 70
  // (= 30 before the reset + 10 + 30 after it). Zero point 45 * 100 / 70 = 64 s: not binding.
  // rate = 70 * (45 + 5 + 10) / 45 / 60 = 70 / 45 = 1.5555...
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 60), 70.0 / 45.0);
}

TEST(PromqlTest, RateOfAGaugeThatDipsOnceIsALargeSpike) {
  // The study's ctn_memory query, rate() of the working-set gauge (seed-study A.5(b), A.9):
  // 8 GB that drops by 1 MB once. The counter rule reads the dip as a reset.
  const std::vector<Sample> s = {{5, 8e9}, {20, 8e9}, {35, 7.999e9}, {50, 7.999e9}};
  // increase = 7.999e9 - 8e9 = -1e6, plus the value before the dip, 8e9: 7.999e9.
  // Zero point 45 * 8e9 / 7.999e9 = 45.006 s: not binding.
  // rate = 7.999e9 * (45 + 5 + 10) / 45 / 60 = 7.999e9 / 45 = 1.7776e8 per second, although
  // the gauge only fell by 1 MB.
  const double rate = PromRate(s, 60, 60);
  EXPECT_NEAR(rate, 7.999e9 / 45.0, 1.0);
  EXPECT_GT(rate, 1.7e8);
  // Without the dip (a flat gauge) the rate is exactly 0.
  const std::vector<Sample> flat = {{5, 8e9}, {20, 8e9}, {35, 8e9}, {50, 8e9}};
  EXPECT_DOUBLE_EQ(PromRate(flat, 60, 60), 0.0);
}

TEST(PromqlTest, RateNeedsTwoSamplesInTheWindow) {
  EXPECT_TRUE(std::isnan(PromRate({}, 60, 60)));
  const std::vector<Sample> one = {{30, 5}};
  EXPECT_TRUE(std::isnan(PromRate(one, 60, 60)));
  // Two samples, but one is at the (excluded) window start and one after `at`.
  const std::vector<Sample> outside = {{0, 1}, {30, 5}, {61, 9}};
  EXPECT_TRUE(std::isnan(PromRate(outside, 60, 60)));
}

TEST(PromqlTest, RateDividesByTheRangeNotTheSampledInterval) {
  // Two samples 15 s apart at 45 and 60 in a 30 s window (30, 60]: increase 30, sampled 15 s,
  // average 15 s, threshold 16.5 s; to_start = 15 < 16.5 kept (zero point 15 * 1000 / 30 =
  // 500 s); to_end = 0. rate = 30 * (15 + 15 + 0) / 15 / 30 = 2.
  const std::vector<Sample> s = {{45, 1000}, {60, 1030}};
  EXPECT_DOUBLE_EQ(PromRate(s, 60, 30), 2.0);
}

TEST(PromqlTest, QuantileInterpolatesInsideTheBucket) {
  // Buckets le=1, 2, 4, +Inf with cumulative counts 2, 6, 10, 10.
  const std::vector<double> upper = {1, 2, 4};
  const std::vector<double> counts = {2, 6, 10, 10};
  // q = 0.5: rank 5 falls in (1, 2] (cumulative 2 -> 6): 1 + (2 - 1) * (5 - 2) / 4 = 1.75.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.5, upper, counts), 1.75);
  // q = 0.9: rank 9 falls in (2, 4] (6 -> 10): 2 + (4 - 2) * (9 - 6) / 4 = 3.5.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.9, upper, counts), 3.5);
  // q = 0.6: rank 6 equals the cumulative count of le=2, so it is the top of (1, 2]: 2.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.6, upper, counts), 2.0);
}

TEST(PromqlTest, QuantileInTheFirstBucketUsesZeroAsItsLowerBound) {
  const std::vector<double> upper = {1, 2, 4};
  const std::vector<double> counts = {2, 6, 10, 10};
  // q = 0.1: rank 1 in (0, 1] holding 2: 0 + (1 - 0) * 1 / 2 = 0.5.
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.1, upper, counts), 0.5);
  // Istio-like bounds: le=100 holds 4 of 8, q = 0.25: rank 2: 0 + 100 * 2 / 4 = 50.
  const std::vector<double> upper2 = {100, 250};
  const std::vector<double> counts2 = {4, 8, 8};
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.25, upper2, counts2), 50.0);
}

TEST(PromqlTest, QuantileInTheInfBucketReturnsTheLargestFiniteBound) {
  // Cumulative 2, 6, 8 and +Inf 10: q = 0.9, rank 9 > 8, so it lies beyond le=4: 4.
  const std::vector<double> upper = {1, 2, 4};
  const std::vector<double> counts = {2, 6, 8, 10};
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.9, upper, counts), 4.0);
  EXPECT_DOUBLE_EQ(HistogramQuantile(1.0, upper, counts), 4.0);
}

TEST(PromqlTest, QuantileOfAnEmptyHistogramIsNaN) {
  const std::vector<double> upper = {1, 2, 4};
  const std::vector<double> zeros = {0, 0, 0, 0};
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, upper, zeros)));
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, {}, {})));
  // Only the +Inf bucket: Prometheus returns NaN for fewer than two buckets.
  const std::vector<double> inf_only = {5};
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, {}, inf_only)));
}

TEST(PromqlTest, QuantileWithMismatchedSizesIsNaN) {
  const std::vector<double> upper = {1, 2, 4};
  const std::vector<double> no_inf = {2, 6, 10};  // +Inf count missing
  const std::vector<double> too_many = {2, 6, 10, 10, 10};
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, upper, no_inf)));
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, upper, too_many)));
}

TEST(PromqlTest, IstioDurationBucketsAreIstiosDefaults) {
  // Istio's default istio_request_duration_milliseconds buckets: 0.5, 1, 5, 10, 25, 50, 100,
  // 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000 (19).
  const std::span<const double> b = IstioDurationBucketsMs();
  ASSERT_EQ(b.size(), 19u);
  EXPECT_DOUBLE_EQ(b.front(), 0.5);
  EXPECT_DOUBLE_EQ(b.back(), 3600000.0);
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]) << "at " << i;
}

}  // namespace
}  // namespace llmrca::sim
