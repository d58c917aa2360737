#include "stats/descriptive.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"

namespace llmrca::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = std::numeric_limits<double>::epsilon();  // 2^-52

// Small arrays used throughout, with their sorted forms.
const std::vector<double> kOdd = {7, 1, 3, 9, 5};               // sorted 1 3 5 7 9, n = 5
const std::vector<double> kEven = {4, 1, 3, 2, 8, 6};           // sorted 1 2 3 4 6 8, n = 6
const std::vector<double> kNine = {9, 2, 7, 4, 5, 1, 8, 3, 6};  // sorted 1..9

TEST(FiniteValuesTest, KeepsFiniteValuesInOrder) {
  EXPECT_EQ(FiniteValues(std::vector<double>{1, kNaN, kInf, 2, -kInf, -3}),
            (std::vector<double>{1, 2, -3}));
  EXPECT_TRUE(FiniteValues(std::vector<double>{kNaN, kInf}).empty());
}

TEST(MeanTest, AveragesAndIsNanWhenEmpty) {
  EXPECT_EQ(Mean(std::vector<double>{1, 2, 3, 4}), 2.5);  // 10 / 4
  EXPECT_EQ(Mean(kOdd), 5.0);                             // 25 / 5
  EXPECT_TRUE(std::isnan(Mean(std::vector<double>{})));
}

TEST(VarianceTest, DividesByNMinusDdof) {
  // 2 4 4 4 5 5 7 9: mean 5, squared deviations 9 1 1 1 0 0 4 16, sum 32.
  const std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_EQ(Variance(x, 0), 4.0);              // 32 / 8, numpy.var(x)
  EXPECT_DOUBLE_EQ(Variance(x, 1), 32.0 / 7);  // numpy.var(x, ddof=1)
}

TEST(VarianceTest, IsNanWhenThereAreTooFewValues) {
  EXPECT_TRUE(std::isnan(Variance(std::vector<double>{5}, 1)));
  EXPECT_TRUE(std::isnan(Variance(std::vector<double>{}, 0)));
  EXPECT_EQ(Variance(std::vector<double>{5}, 0), 0.0);
}

TEST(CovarianceTest, MatchesHandComputedSums) {
  // x 1 2 3 4 (mean 2.5), y 2 4 6 9 (mean 5.25); deviations -1.5 -0.5 0.5 1.5 and
  // -3.25 -1.25 0.75 3.75; products 4.875 0.625 0.375 5.625, sum 11.5.
  const std::vector<double> x = {1, 2, 3, 4}, y = {2, 4, 6, 9};
  EXPECT_EQ(Covariance(x, y, 0), 2.875);  // 11.5 / 4
  EXPECT_DOUBLE_EQ(Covariance(x, y, 1), 11.5 / 3);
  EXPECT_EQ(Covariance(x, x, 0), Variance(x, 0));  // 1.25 = (2.25 + 0.25 + 0.25 + 2.25) / 4
  EXPECT_EQ(Covariance(x, x, 0), 1.25);
}

TEST(CovarianceTest, IsNanForMismatchedOrTooShortInputs) {
  EXPECT_TRUE(std::isnan(Covariance(std::vector<double>{1, 2}, std::vector<double>{1}, 0)));
  EXPECT_TRUE(std::isnan(Covariance(std::vector<double>{1}, std::vector<double>{1}, 1)));
}

// numpy.quantile(x, q) with the default method="linear" (NumPy >= 1.22, e.g. the reference's
// 1.24.2): virtual index v = (n - 1) * q, result = lerp(sorted[floor v], sorted[floor v + 1],
// v - floor v), where NumPy's _lerp(a, b, t) is a + (b - a) * t for t < 0.5 and
// b - (b - a) * (1 - t) otherwise.
TEST(QuantileTest, OddLengthHitsOrderStatisticsAtQuarters) {
  // n = 5: v = 4q, so q = 0, .25, .5, .75, 1 land exactly on sorted[0..4] = 1 3 5 7 9.
  EXPECT_EQ(Quantile(kOdd, 0.0), 1.0);
  EXPECT_EQ(Quantile(kOdd, 0.25), 3.0);
  EXPECT_EQ(Quantile(kOdd, 0.5), 5.0);
  EXPECT_EQ(Quantile(kOdd, 0.75), 7.0);
  EXPECT_EQ(Quantile(kOdd, 1.0), 9.0);
}

TEST(QuantileTest, InterpolatesBetweenOrderStatistics) {
  // q = 0.9: v = 4 * 0.9 = 3.6, between 7 and 9: 9 - 2 * (1 - 0.6) = 8.2.
  // q = 0.1: v = 4 * 0.1 = 0.4, between 1 and 3: 1 + 2 * 0.4 = 1.8.
  // Replaying NumPy's formulas in python3 float arithmetic gives exactly the doubles 8.2 and 1.8.
  // The general Hyndman-Fan form n*q + (1 - q) - 1, which NumPy dropped for "linear" in 1.22
  // (numpy PR #20331), would give v = 0.3999999999999999 and 1.7999999999999998 for q = 0.1.
  EXPECT_EQ(Quantile(kOdd, 0.9), 8.2);
  EXPECT_EQ(Quantile(kOdd, 0.1), 1.8);
  EXPECT_EQ(QuantileSorted(std::vector<double>{1, 3, 5, 7, 9}, 0.1), 1.8);
  // n = 6: q = .25 -> v = 1.25, 2 + (3 - 2) * 0.25 = 2.25; q = .75 -> v = 3.75,
  // 4 + (6 - 4) * 0.75 = 5.5; q = .5 -> v = 2.5, (3 + 4) / 2 = 3.5.
  EXPECT_EQ(Quantile(kEven, 0.25), 2.25);
  EXPECT_EQ(Quantile(kEven, 0.75), 5.5);
  EXPECT_EQ(Quantile(kEven, 0.5), 3.5);
  EXPECT_EQ(Quantile(kEven, 1.0), 8.0);
}

TEST(QuantileTest, UsesNumpysLerpRoundingAboveOneHalf) {
  // sorted 0 .05 .08 .1 .4 1, q = .75: v = 3.75, between 0.1 and 0.4 with t = 0.75. NumPy's
  // _lerp computes b - (b - a) * (1 - t) for t >= 0.5, which gives 0.325 exactly (the double
  // nearest 0.325); the textbook a + (b - a) * t gives 0.32500000000000007 (both evaluated with
  // python3 float arithmetic). numpy.quantile returns the former.
  const std::vector<double> x = {0.4, 0.0, 1.0, 0.1, 0.08, 0.05};
  EXPECT_EQ(Quantile(x, 0.75), 0.325);
  const std::vector<double> sorted = {0.0, 0.05, 0.08, 0.1, 0.4, 1.0};
  EXPECT_EQ(QuantileSorted(sorted, 0.75), 0.325);
}

TEST(QuantileTest, SortedVariantGivesTheSameHandValues) {
  const std::vector<double> sorted = {1, 2, 3, 4, 6, 8};
  EXPECT_EQ(QuantileSorted(sorted, 0.25), 2.25);
  EXPECT_EQ(QuantileSorted(sorted, 0.75), 5.5);
  EXPECT_EQ(QuantileSorted(sorted, 0.0), 1.0);
  EXPECT_EQ(QuantileSorted(sorted, 1.0), 8.0);
}

TEST(QuantileTest, OneValueIsEveryQuantileAndEmptyIsNan) {
  EXPECT_EQ(Quantile(std::vector<double>{4}, 0.3), 4.0);
  EXPECT_EQ(QuantileSorted(std::vector<double>{4}, 1.0), 4.0);
  EXPECT_TRUE(std::isnan(Quantile(std::vector<double>{}, 0.5)));
  EXPECT_TRUE(std::isnan(QuantileSorted(std::vector<double>{}, 0.5)));
}

TEST(QuantileTest, HandlesRepeatedValues) {
  // sorted 1 1 1 5 5, n = 5: q = .5 -> v = 2 -> 1; q = .625 -> v = 2.5 -> between 1 and 5: 3.
  const std::vector<double> x = {5, 1, 5, 1, 1};
  EXPECT_EQ(Quantile(x, 0.5), 1.0);
  EXPECT_EQ(Quantile(x, 0.625), 3.0);
}

TEST(MedianTest, MiddleValueOrMeanOfTheTwoMiddleValues) {
  EXPECT_EQ(Median(kOdd), 5.0);   // sorted 1 3 [5] 7 9
  EXPECT_EQ(Median(kEven), 3.5);  // sorted 1 2 [3 4] 6 8: (3 + 4) / 2, as numpy.median
  EXPECT_EQ(Median(kNine), 5.0);  // 1..9
  EXPECT_EQ(Median(std::vector<double>{2, 1}), 1.5);
  EXPECT_EQ(Median(std::vector<double>{-3}), -3.0);
  EXPECT_TRUE(std::isnan(Median(std::vector<double>{})));
}

// sklearn.preprocessing.RobustScaler() defaults: center_ = numpy.nanmedian, scale_ = Q75 - Q25
// from numpy.nanpercentile (linear method), then _handle_zeros_in_scale: a scale below
// 10 * numpy.finfo(float64).eps (2.22e-15) becomes 1.
TEST(RobustScaleTest, CentersOnTheMedianAndScalesByTheIqr) {
  Scale odd = RobustScale(kOdd);
  EXPECT_EQ(odd.center, 5.0);
  EXPECT_EQ(odd.scale, 4.0);  // Q75 7 - Q25 3
  Scale even = RobustScale(kEven);
  EXPECT_EQ(even.center, 3.5);
  EXPECT_EQ(even.scale, 3.25);  // 5.5 - 2.25
  Scale nine = RobustScale(kNine);
  EXPECT_EQ(nine.center, 5.0);
  EXPECT_EQ(nine.scale, 4.0);  // n = 9: Q25 at v = 2 -> 3, Q75 at v = 6 -> 7
}

TEST(RobustScaleTest, IgnoresAnOutlier) {
  // sorted 10 20 30 40 50 60 1000, n = 7: median 40; Q25 at v = 1.5 -> 25; Q75 at v = 4.5 -> 55.
  Scale s = RobustScale(std::vector<double>{1000, 10, 60, 20, 50, 30, 40});
  EXPECT_EQ(s.center, 40.0);
  EXPECT_EQ(s.scale, 30.0);
}

TEST(RobustScaleTest, ConstantSeriesGetsScaleOne) {
  Scale s = RobustScale(std::vector<double>{2, 2, 2, 2, 2});
  EXPECT_EQ(s.center, 2.0);
  EXPECT_EQ(s.scale, 1.0);
}

TEST(RobustScaleTest, IqrBelowTenEpsilonFallsBackToOne) {
  // sorted 0 0 0 1e-15 1e-15: Q25 = 0, Q75 = 1e-15 < 10 * 2.22e-16 -> 1.
  Scale tiny = RobustScale(std::vector<double>{1e-15, 0, 0, 1e-15, 0});
  EXPECT_EQ(tiny.center, 0.0);
  EXPECT_EQ(tiny.scale, 1.0);
  // 1e-14 is above 2.22e-15 and is kept: the threshold is absolute, not relative to the values.
  Scale small = RobustScale(std::vector<double>{1e-14, 0, 0, 1e-14, 0});
  EXPECT_EQ(small.scale, 1e-14);
  // Exactly 2 * eps (sorted -eps -eps eps eps: Q25 -eps, Q75 eps) is still below 10 * eps.
  EXPECT_EQ(RobustScale(std::vector<double>{kEps, -kEps, kEps, -kEps}).scale, 1.0);
}

TEST(RobustScaleTest, EmptyHasNanCenterAndUnitScale) {
  Scale s = RobustScale(std::vector<double>{});
  EXPECT_TRUE(std::isnan(s.center));
  EXPECT_EQ(s.scale, 1.0);
}

// sklearn.preprocessing.StandardScaler() defaults: mean_ and var_ with ddof 0 (population), scale_
// = sqrt(var_), and 1 where _is_constant_feature(var, mean, n) holds:
// var <= n * eps * var + (n * mean * eps)^2.
TEST(StandardScaleTest, UsesMeanAndPopulationStandardDeviation) {
  // 2 4 4 4 5 5 7 9: mean 5, population variance 32 / 8 = 4, sd 2 (the sample sd would be
  // sqrt(32 / 7) = 2.14).
  Scale s = StandardScale(std::vector<double>{2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(s.center, 5.0);
  EXPECT_EQ(s.scale, 2.0);
  // 1 2 3 4 5: mean 3, squared deviations 4 1 0 1 4, variance 10 / 5 = 2.
  Scale t = StandardScale(std::vector<double>{5, 1, 4, 2, 3});
  EXPECT_EQ(t.center, 3.0);
  EXPECT_DOUBLE_EQ(t.scale, std::sqrt(2.0));
}

TEST(StandardScaleTest, ConstantSeriesGetsScaleOne) {
  Scale s = StandardScale(std::vector<double>{3, 3, 3, 3, 3});
  EXPECT_EQ(s.center, 3.0);
  EXPECT_EQ(s.scale, 1.0);
  Scale one = StandardScale(std::vector<double>{5});
  EXPECT_EQ(one.center, 5.0);
  EXPECT_EQ(one.scale, 1.0);
}

TEST(StandardScaleTest, VarianceWithinRoundingOfALargeMeanCountsAsConstant) {
  // m = 2^20 and d = 2^-30 (4 ulps of m, so every sum below is exact): x = m-d, m+d, m-d, m+d has
  // mean m and variance d^2 = 2^-60. The bound is n*eps*var + (n*m*eps)^2 = 2^-110 + (2^2 * 2^20
  // * 2^-52)^2 = 2^-110 + 2^-60, so var <= bound: constant, scale 1.
  const double m = std::ldexp(1.0, 20);
  const double d = std::ldexp(1.0, -30);
  Scale s = StandardScale(std::vector<double>{m - d, m + d, m - d, m + d});
  EXPECT_EQ(s.center, m);
  EXPECT_EQ(s.scale, 1.0);
  // Twice the spread: var = 2^-58 > 2^-60 + 2^-108, so the sd 2^-29 is kept.
  const double d2 = std::ldexp(1.0, -29);
  Scale t = StandardScale(std::vector<double>{m - d2, m + d2, m - d2, m + d2});
  EXPECT_EQ(t.scale, d2);
}

TEST(StandardScaleTest, TinySpreadAroundZeroIsNotConstant) {
  // Mean 0: the bound is n * eps * var = 4 * 2^-52 * var < var, so any nonzero spread is kept,
  // unlike RobustScale's absolute 10 * eps floor. x = -eps eps -eps eps: variance eps^2, sd eps.
  const std::vector<double> x = {-kEps, kEps, -kEps, kEps};
  Scale s = StandardScale(x);
  EXPECT_EQ(s.center, 0.0);
  EXPECT_EQ(s.scale, kEps);
  EXPECT_EQ(RobustScale(x).scale, 1.0);  // IQR 2 * eps < 10 * eps
}

TEST(StandardScaleTest, EmptyHasNanCenterAndUnitScale) {
  Scale s = StandardScale(std::vector<double>{});
  EXPECT_TRUE(std::isnan(s.center));
  EXPECT_EQ(s.scale, 1.0);
}

TEST(RobustScaleTest, SelectionAgreesWithAFullSortOnEverySize) {
  // RobustScale selects order statistics instead of sorting; a full std::sort followed by the
  // same formulas (median of the middle one or two, QuantileSorted at 0.25 and 0.75) is the
  // independent computation. Values are drawn with many ties (integers 0..9) and without.
  llmrca::Rng rng(5);
  for (size_t n = 1; n <= 64; ++n) {
    for (int ties = 0; ties < 2; ++ties) {
      std::vector<double> x(n);
      for (double& v : x) v = ties ? static_cast<double>(rng.UniformInt(10)) : rng.Normal();
      std::vector<double> sorted = x;
      std::sort(sorted.begin(), sorted.end());
      const size_t mid = n / 2;
      const double center = n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      double scale = QuantileSorted(sorted, 0.75) - QuantileSorted(sorted, 0.25);
      if (scale < 10 * std::numeric_limits<double>::epsilon()) scale = 1;
      const Scale s = RobustScale(x);
      EXPECT_EQ(s.center, center) << "n=" << n;
      EXPECT_EQ(s.scale, scale) << "n=" << n;
    }
  }
}

}  // namespace
}  // namespace llmrca::stats
