#include "stats/discrete_ci_test.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <Eigen/Core>
#include <gtest/gtest.h>

namespace llmrca::stats {
namespace {

// 20 samples: x in {0, 1, 2}, y in {0, 1}, z in {5, 7, 9} (re-coded 0..2). Within z = 5, x never
// takes the value 2, so that layer loses a row and its degrees of freedom shrink.
Eigen::MatrixXi SmallTable() {
  const int x[] = {0, 0, 1, 1, 2, 2, 0, 1, 2, 0, 1, 2, 0, 0, 1, 1, 2, 2, 0, 1};
  const int y[] = {0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1};
  const int z[] = {5, 5, 5, 7, 7, 7, 5, 7, 7, 5, 5, 7, 9, 9, 9, 9, 9, 9, 5, 7};
  Eigen::MatrixXi d(20, 3);
  for (int i = 0; i < 20; ++i) {
    d(i, 0) = x[i];
    d(i, 1) = y[i];
    d(i, 2) = z[i];
  }
  return d;
}

std::unique_ptr<DiscreteCiTest> MakeTest(const Eigen::MatrixXi& data, DiscreteCiTest::Kind kind) {
  Result<std::unique_ptr<DiscreteCiTest>> t = DiscreteCiTest::Create(data, kind);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

double P(const DiscreteCiTest& t, int x, int y, std::vector<int> s) {
  Result<double> p = t.PValue(x, y, s);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : std::numeric_limits<double>::quiet_NaN();
}

TEST(DiscreteCiTest, HandComputedTwoByTwoTable) {
  // Counts [[3, 1], [1, 3]], n = 8, every expected count 2:
  // chi2 = 4 * 1 / 2 = 2, G = 2 (2 * 3 ln 1.5 + 2 * 1 ln 0.5) = 2.0929..., df = 1.
  // expected: scipy 1.10.1 chi2.sf(2, 1) = 0.15729920705028105 (= causal-learn's chisq p) and
  // causal-learn 0.1.3.3 gsq p = 0.14797595938502317.
  Eigen::MatrixXi d(8, 2);
  d << 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1;
  const double g = 2 * (2 * 3 * std::log(1.5) + 2 * std::log(0.5));
  EXPECT_NEAR(ChiSquareSurvival(g, 1), 0.14797595938502317, 1e-14);
  EXPECT_NEAR(P(*MakeTest(d, DiscreteCiTest::kChiSquare), 0, 1, {}), 0.15729920705028105, 1e-14);
  EXPECT_NEAR(P(*MakeTest(d, DiscreteCiTest::kGSquare), 0, 1, {}), 0.14797595938502317, 1e-14);
}

TEST(DiscreteCiTest, MatchesCausalLearn) {
  // expected: causal-learn 0.1.3.3 CIT(SmallTable(), 'chisq' | 'gsq')(x, y, s).
  struct Case {
    int x, y;
    std::vector<int> s;
    double chisq, gsq;
  };
  const Case cases[] = {
      {0, 1, {}, 0.009164111773353394, 0.006636054917801414},
      {0, 1, {2}, 0.21984496690176106, 0.16731078150122958},
      {1, 2, {0}, 0.0833952870587126, 0.07272795059503226},
      {0, 2, {1}, 0.30162425451692787, 0.25665328503885537},
  };
  const std::unique_ptr<DiscreteCiTest> chi = MakeTest(SmallTable(), DiscreteCiTest::kChiSquare);
  const std::unique_ptr<DiscreteCiTest> g = MakeTest(SmallTable(), DiscreteCiTest::kGSquare);
  for (const Case& c : cases) {
    EXPECT_NEAR(P(*chi, c.x, c.y, c.s), c.chisq, 1e-12 * c.chisq) << c.x << " " << c.y;
    EXPECT_NEAR(P(*g, c.x, c.y, c.s), c.gsq, 1e-12 * c.gsq) << c.x << " " << c.y;
    // Symmetric in x and y.
    EXPECT_EQ(P(*chi, c.x, c.y, c.s), P(*chi, c.y, c.x, c.s));
  }
  EXPECT_EQ(chi->Name(), "chisq");
  EXPECT_EQ(g->Name(), "gsq");
  EXPECT_EQ(chi->NumSamples(), 20);
  EXPECT_EQ(chi->NumVariables(), 3);
}

TEST(DiscreteCiTest, NoDegreesOfFreedomGiveOne) {
  // A single-valued variable leaves no degree of freedom: causal-learn returns 1.
  Eigen::MatrixXi d = SmallTable();
  d.col(1).setZero();
  EXPECT_EQ(P(*MakeTest(d, DiscreteCiTest::kChiSquare), 0, 1, {2}), 1.0);
  EXPECT_EQ(P(*MakeTest(d, DiscreteCiTest::kGSquare), 0, 1, {}), 1.0);
}

TEST(DiscreteCiTest, ManyConfigurationsTakeTheSortingPath) {
  // 300 samples over conditioning variables with 40 codes each: 64,000 x 40 configurations
  // exceed the dense index, so layers come from sorting; the answer must not change when the
  // conditioning codes are renamed in an order-preserving way (re-coding by np.unique).
  Eigen::MatrixXi d(300, 6);
  for (int i = 0; i < 300; ++i) {
    d(i, 0) = (i * 7) % 3;
    d(i, 1) = (i * 11 + i / 5) % 2;
    for (int k = 2; k < 6; ++k) d(i, k) = (i * (k + 3) + k) % 40;
  }
  Eigen::MatrixXi shifted = d;
  shifted.rightCols(4).array() = shifted.rightCols(4).array() * 3 + 100;
  const std::vector<int> s = {2, 3, 4, 5};
  const double a = P(*MakeTest(d, DiscreteCiTest::kChiSquare), 0, 1, s);
  EXPECT_TRUE(a >= 0 && a <= 1);
  EXPECT_EQ(a, P(*MakeTest(shifted, DiscreteCiTest::kChiSquare), 0, 1, s));
}

TEST(DiscreteCiTest, RejectsEmptyDataAndBadIndices) {
  EXPECT_EQ(DiscreteCiTest::Create(Eigen::MatrixXi(0, 2), DiscreteCiTest::kChiSquare)
                .status()
                .code(),
            StatusCode::kDataError);
  const std::unique_ptr<DiscreteCiTest> t = MakeTest(SmallTable(), DiscreteCiTest::kChiSquare);
  EXPECT_EQ(t->PValue(1, 1, {}).status().code(), StatusCode::kInvalidArgument);
  const int bad[] = {3};
  EXPECT_EQ(t->PValue(0, 1, bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(ChiSquareSurvivalTest, MatchesScipy) {
  // expected: scipy 1.10.1 scipy.stats.chi2.sf(x, df).
  struct Case {
    double x, df, sf;
  };
  const Case cases[] = {
      {2.0, 1, 0.15729920705028105},        {3.841458820694124, 1, 0.04999999999999989},
      {0.5, 3, 0.9188914116546758},         {10.0, 4, 0.04042768199451279},
      {25.0, 10, 0.005345505487134069},     {300.0, 10, 1.5546747543803087e-58},
      {60.0, 100, 0.999481108537452},       {124.342, 100, 0.05000071576997178},
      {150.0, 100, 0.0009039320423540184},  {2100.0, 2000, 0.05867111137731806},
      {1900.0, 2000, 0.9449453137692619},   {0.001, 7, 0.9999999999997597},
      {40.0, 1, 2.5396285894708634e-10},
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(ChiSquareSurvival(c.x, c.df), c.sf, 1e-12 * c.sf) << c.x << " " << c.df;
  }
}

TEST(ChiSquareSurvivalTest, EdgeCases) {
  EXPECT_EQ(ChiSquareSurvival(0, 3), 1.0);
  EXPECT_EQ(ChiSquareSurvival(-1, 3), 1.0);
  EXPECT_EQ(ChiSquareSurvival(std::numeric_limits<double>::infinity(), 3), 0.0);
  EXPECT_TRUE(std::isnan(ChiSquareSurvival(1, 0)));
  EXPECT_TRUE(std::isnan(ChiSquareSurvival(std::nan(""), 2)));
}

TEST(DiscretizeByQuantilesTest, EqualFrequencyBins) {
  // Edges at the 0.2, 0.4, 0.6, 0.8 quantiles of 1..10 (linear): 2.8, 4.6, 6.4, 8.2.
  Eigen::MatrixXd d(10, 1);
  d << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
  Eigen::VectorXi want(10);
  want << 0, 0, 1, 1, 2, 2, 3, 3, 4, 4;
  EXPECT_EQ(Eigen::VectorXi(DiscretizeByQuantiles(d, 5).col(0)), want);
}

TEST(DiscretizeByQuantilesTest, TiesShareACode) {
  // Sorted 1 1 1 1 1 1 2 3 4 5: edges 1, 1, 1.4, 3.2 -> unique {1, 1.4, 3.2}; a value's code is
  // the number of edges below it, so all the 1s share code 0 and code 1 stays unused.
  Eigen::MatrixXd d(10, 2);
  d.col(0) << 3, 1, 1, 5, 1, 2, 1, 4, 1, 1;
  d.col(1).setConstant(7);
  d(4, 1) = std::numeric_limits<double>::quiet_NaN();
  const Eigen::MatrixXi codes = DiscretizeByQuantiles(d, 5);
  Eigen::VectorXi want(10);
  want << 2, 0, 0, 3, 0, 2, 0, 3, 0, 0;
  EXPECT_EQ(Eigen::VectorXi(codes.col(0)), want);
  // A constant column is one code; a NaN gets one code above the others.
  EXPECT_EQ(codes(0, 1), 0);
  EXPECT_EQ(codes(4, 1), 2);
  EXPECT_EQ(DiscretizeByQuantiles(d, 1), Eigen::MatrixXi::Zero(10, 2));
}

}  // namespace
}  // namespace llmrca::stats
