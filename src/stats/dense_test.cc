#include "stats/dense.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace llmrca::stats {
namespace {

// a = [1 2; 3 4], b = [5 6; 7 8]; products by hand:
// a b = [19 22; 43 50], a' b = [26 30; 38 44], a b' = [17 23; 39 53], a' b' = [23 31; 34 46].
TEST(GemmTest, AllFourTransposesMatchHandProducts) {
  Eigen::MatrixXd a(2, 2), b(2, 2), c(2, 2), want(2, 2);
  a << 1, 2, 3, 4;
  b << 5, 6, 7, 8;
  Gemm(false, false, 1.0, a, b, 0.0, c);
  want << 19, 22, 43, 50;
  EXPECT_EQ(c, want);
  Gemm(true, false, 1.0, a, b, 0.0, c);
  want << 26, 30, 38, 44;
  EXPECT_EQ(c, want);
  Gemm(false, true, 1.0, a, b, 0.0, c);
  want << 17, 23, 39, 53;
  EXPECT_EQ(c, want);
  Gemm(true, true, 1.0, a, b, 0.0, c);
  want << 23, 31, 34, 46;
  EXPECT_EQ(c, want);
}

TEST(GemmTest, AlphaBetaAndStridedBlocks) {
  // c = 2 * a(:, 1:2) * b + 3 * c, on a column block of a wider matrix and into a block of c.
  Eigen::MatrixXd wide(2, 4), b(2, 1), c = Eigen::MatrixXd::Constant(3, 2, 1.0);
  wide << 9, 1, 2, 9, 9, 3, 4, 9;
  b << 1, -1;
  Gemm(false, false, 2.0, wide.middleCols(1, 2), b, 3.0, c.block(1, 1, 2, 1));
  // [1 2; 3 4] [1; -1] = [-1; -1]; 2 * -1 + 3 * 1 = 1.
  EXPECT_EQ(c(1, 1), 1.0);
  EXPECT_EQ(c(2, 1), 1.0);
  EXPECT_EQ(c(0, 1), 1.0);  // untouched
  EXPECT_EQ(c(1, 0), 1.0);
}

TEST(GemmTest, EmptyInnerDimensionScalesC) {
  Eigen::MatrixXd a(2, 0), b(0, 2), c = Eigen::MatrixXd::Constant(2, 2, 4.0);
  Gemm(false, false, 1.0, a, b, 0.5, c);
  EXPECT_EQ(c, Eigen::MatrixXd::Constant(2, 2, 2.0));
}

TEST(SymmetricEigenTest, TwoByTwoByHand) {
  // [2 1; 1 2]: eigenvalues 1 and 3 with eigenvectors (1, -1)/sqrt 2 and (1, 1)/sqrt 2.
  Eigen::MatrixXd m(2, 2);
  m << 2, 1, 1, 2;
  const Result<SymmetricEigenResult> r = SymmetricEigen(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR(r->values(0), 1.0, 1e-14);
  EXPECT_NEAR(r->values(1), 3.0, 1e-14);
  EXPECT_NEAR(std::abs(r->vectors(0, 0)), std::sqrt(0.5), 1e-14);
  EXPECT_NEAR(r->vectors(0, 0), -r->vectors(1, 0), 1e-14);
  EXPECT_NEAR(r->vectors(0, 1), r->vectors(1, 1), 1e-14);
}

TEST(SymmetricEigenTest, ReconstructsALargerMatrix) {
  // A random symmetric 50 x 50 matrix equals V diag(values) V' with V orthonormal.
  const Eigen::MatrixXd g = Eigen::MatrixXd::Random(50, 50);
  const Eigen::MatrixXd m = g + g.transpose();
  const Result<SymmetricEigenResult> r = SymmetricEigen(m);
  ASSERT_TRUE(r.ok());
  EXPECT_LT((r->vectors * r->values.asDiagonal() * r->vectors.transpose() - m).norm(), 1e-11);
  EXPECT_LT((r->vectors.transpose() * r->vectors - Eigen::MatrixXd::Identity(50, 50)).norm(),
            1e-12);
  for (int i = 1; i < 50; ++i) EXPECT_LE(r->values(i - 1), r->values(i));
}

TEST(SymmetricEigenTest, RejectsBadInput) {
  EXPECT_EQ(SymmetricEigen(Eigen::MatrixXd(2, 3)).status().code(), StatusCode::kDataError);
  Eigen::MatrixXd m = Eigen::MatrixXd::Identity(2, 2);
  m(1, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(SymmetricEigen(m).status().code(), StatusCode::kDataError);
}

}  // namespace
}  // namespace llmrca::stats
