#include "stats/ci_test.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <Eigen/Core>
#include <gtest/gtest.h>

namespace llmrca::stats {
namespace {

// 12 samples of 4 variables; the expected values below were computed from this literal matrix.
Eigen::MatrixXd SmallData() {
  Eigen::MatrixXd d(12, 4);
  d << 0.51, 1.20, -0.30, 2.10,  //
      1.32, 2.05, 0.41, 3.38,    //
      -0.77, -0.64, 1.10, -1.02,  //
      0.08, 0.92, -1.45, 0.61,    //
      2.11, 2.60, 0.02, 4.40,     //
      -1.35, -1.90, 0.77, -2.51,  //
      0.64, 0.31, -0.58, 0.97,    //
      -0.22, 0.45, 1.92, 0.40,    //
      1.05, 1.71, -0.11, 2.73,    //
      -0.49, -1.12, 0.36, -1.44,  //
      0.93, 0.66, -0.84, 1.58,    //
      -1.80, -1.35, 0.25, -3.09;
  return d;
}

std::unique_ptr<FisherZTest> MakeTest(const Eigen::MatrixXd& data, bool fallback) {
  Result<std::unique_ptr<FisherZTest>> t = FisherZTest::Create(data, fallback);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

TEST(FisherZTest, MatchesCausalLearnPValues) {
  // expected: causal-learn 0.1.3.3 CIT(SmallData(), 'fisherz')(x, y, s) (numpy 1.24.2, scipy
  // 1.10.1). The arithmetic follows numpy's and scipy's, so the values agree to the last bit;
  // the test allows 4 ulps.
  const std::unique_ptr<FisherZTest> t = MakeTest(SmallData(), false);
  struct Case {
    int x, y;
    std::vector<int> s;
    double p;
  };
  const Case cases[] = {
      {0, 1, {}, 5.697114429104033e-07},      {1, 0, {}, 5.697114429104033e-07},
      {0, 2, {}, 0.2496494143550514},         {0, 1, {3}, 0.07513231752728888},
      {0, 3, {1, 2}, 4.208627961399536e-05},  {2, 3, {1, 0}, 0.1306758528478782},
      {1, 2, {0, 3}, 0.21681573683734},
  };
  for (const Case& c : cases) {
    Result<double> p = t->PValue(c.x, c.y, c.s);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_DOUBLE_EQ(*p, c.p) << c.x << " " << c.y;
  }
  EXPECT_EQ(t->NumVariables(), 4);
  EXPECT_EQ(t->NumSamples(), 12);
  EXPECT_EQ(t->Name(), "fisherz");
}

TEST(FisherZTest, CorrelationMatchesNumpy) {
  // expected: numpy 1.24.2 np.corrcoef(SmallData().T).
  const Eigen::MatrixXd c = CorrelationMatrix(SmallData());
  // numpy divides by the row's and then the column's deviation, so the matrix is not exactly
  // symmetric: c[0,1] and c[1,0] differ in the last bit, and causal-learn sees both.
  EXPECT_EQ(c(0, 1), 0.9311633164275103);
  EXPECT_EQ(c(1, 0), 0.9311633164275104);
  EXPECT_DOUBLE_EQ(c(2, 3), -0.29650566070397844);
}

TEST(FisherZTest, NormalCdfMatchesScipy) {
  // expected: scipy 1.10.1 scipy.stats.norm.cdf(x).
  const std::pair<double, double> cases[] = {
      {-3.0, 0.0013498980316300933}, {-0.5, 0.3085375387259869}, {0.0, 0.5},
      {0.3, 0.6179114221889526},     {0.7071067811865476, 0.7602499389065234},
      {1.2, 0.8849303297782918},     {1.959963984540054, 0.975},
      {5.0, 0.9999997133484281},     {9.0, 1.0},
  };
  for (const auto& [x, want] : cases) EXPECT_DOUBLE_EQ(NormalCdf(x), want) << x;
}

TEST(FisherZTest, ExactlyIndependentColumnsGiveOne) {
  // Two orthogonal +-1 columns with mean 0: correlation exactly 0, z = 0, p = 2 (1 - 0.5) = 1.
  Eigen::MatrixXd d(8, 2);
  d << 1, 1, -1, 1, 1, -1, -1, -1, 1, 1, -1, 1, 1, -1, -1, -1;
  const std::unique_ptr<FisherZTest> t = MakeTest(d, false);
  Result<double> p = t->PValue(0, 1, {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, 1.0);
}

// Column 2 duplicates column 0; the variances are exactly 1, so their correlation is exactly 1
// and the 2 x 2 sub-matrix has an exactly zero pivot, which numpy.linalg.inv reports as singular
// (causal-learn 0.1.3.3 raises "Data correlation matrix is singular" on this data).
Eigen::MatrixXd DuplicateColumnData() {
  Eigen::MatrixXd d(9, 3);
  d << 1, 1, 1,  //
      -1, 1, -1,  //
      1, -1, 1,   //
      -1, -1, -1,  //
      1, 1, 1,    //
      -1, 1, -1,  //
      1, -1, 1,   //
      -1, -1, -1,  //
      0, 0, 0;
  return d;
}

TEST(FisherZTest, SingularMatrixIsADataError) {
  const std::unique_ptr<FisherZTest> t = MakeTest(DuplicateColumnData(), false);
  Result<double> p = t->PValue(0, 2, {});
  EXPECT_EQ(p.status().code(), StatusCode::kDataError);
  EXPECT_NE(p.status().message().find("singular"), std::string::npos) << p.status().message();
  const int s[] = {2};
  EXPECT_EQ(t->PValue(0, 1, s).status().code(), StatusCode::kDataError);
}

TEST(FisherZTest, PseudoInverseFallbackAlwaysAnswers) {
  const std::unique_ptr<FisherZTest> t = MakeTest(DuplicateColumnData(), true);
  // Duplicates: |r| clamped just below 1, so p is (numerically) 0: dependent.
  Result<double> dup = t->PValue(0, 2, {});
  ASSERT_TRUE(dup.ok()) << dup.status().message();
  EXPECT_LT(*dup, 1e-10);
  // 0 given its own copy: the pseudo-inverse has no 0-1 coupling, r = 0, p = 1.
  const int s[] = {2};
  Result<double> given_copy = t->PValue(0, 1, s);
  ASSERT_TRUE(given_copy.ok()) << given_copy.status().message();
  EXPECT_NEAR(*given_copy, 1.0, 1e-12);
  // A regular pair is unaffected by the flag.
  const std::unique_ptr<FisherZTest> strict = MakeTest(SmallData(), false);
  const std::unique_ptr<FisherZTest> lenient = MakeTest(SmallData(), true);
  const int s3[] = {3};
  EXPECT_EQ(*strict->PValue(0, 1, s3), *lenient->PValue(0, 1, s3));
}

TEST(FisherZTest, TooFewSamples) {
  EXPECT_EQ(FisherZTest::Create(SmallData().topRows(3), false).status().code(),
            StatusCode::kDataError);
  // n - |s| - 3 < 0 is an error; == 0 gives p = 1, as causal-learn computes it.
  const std::unique_ptr<FisherZTest> t = MakeTest(SmallData().topRows(4), false);
  const int one[] = {2};
  Result<double> p = t->PValue(0, 1, one);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(*p, 1.0);
  const int two[] = {2, 3};
  EXPECT_EQ(t->PValue(0, 1, two).status().code(), StatusCode::kDataError);
}

TEST(FisherZTest, RejectsNonFiniteInput) {
  Eigen::MatrixXd d = SmallData();
  d(3, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(FisherZTest::Create(d, false).status().code(), StatusCode::kDataError);
  d(3, 1) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(FisherZTest::Create(d, true).status().code(), StatusCode::kDataError);
}

TEST(FisherZTest, ConstantColumnIsADataError) {
  // numpy gives NaN correlations (causal-learn then p = NaN); we refuse the test instead.
  Eigen::MatrixXd d = SmallData();
  d.col(2).setConstant(3.0);
  const std::unique_ptr<FisherZTest> t = MakeTest(d, true);
  EXPECT_EQ(t->PValue(0, 2, {}).status().code(), StatusCode::kDataError);
  EXPECT_TRUE(t->PValue(0, 1, {}).ok());
}

TEST(FisherZTest, RejectsBadIndices) {
  const std::unique_ptr<FisherZTest> t = MakeTest(SmallData(), false);
  EXPECT_EQ(t->PValue(0, 0, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t->PValue(0, 4, {}).status().code(), StatusCode::kInvalidArgument);
  const int overlap[] = {1};
  EXPECT_EQ(t->PValue(0, 1, overlap).status().code(), StatusCode::kInvalidArgument);
  const int out_of_range[] = {-1};
  EXPECT_EQ(t->PValue(0, 1, out_of_range).status().code(), StatusCode::kInvalidArgument);
}

TEST(FisherZTest, PairwiseSumFollowsNumpysBlocks) {
  // expected: numpy 1.24.2 np.sum(np.full(100, 0.1)) = 9.999999999999998 (eight running sums);
  // a sequential loop gives 9.99999999999998.
  const std::vector<double> tenths(100, 0.1);
  EXPECT_EQ(PairwiseSum(tenths), 9.999999999999998);
  EXPECT_EQ(PairwiseSum(std::vector<double>{1, 2, 3}), 6.0);
}

}  // namespace
}  // namespace llmrca::stats
