#include "stats/optimize.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"

namespace llmrca::stats {
namespace {

double AssignmentCost(const Eigen::MatrixXd& cost, const std::vector<int>& col_of_row) {
  double total = 0;
  for (size_t i = 0; i < col_of_row.size(); ++i) {
    if (col_of_row[i] >= 0) total += cost(static_cast<Eigen::Index>(i), col_of_row[i]);
  }
  return total;
}

TEST(LinearSumAssignmentTest, SolvesTheScipyDocumentationExample) {
  // scipy.optimize.linear_sum_assignment's docstring example: rows 0, 1, 2 -> columns 1, 0, 2,
  // total 5 (by hand: the six permutations cost 6, 11, 5, 9, 7 and 6).
  Eigen::MatrixXd cost(3, 3);
  cost << 4, 1, 3,  //
      2, 0, 5,      //
      3, 2, 2;
  Result<std::vector<int>> a = LinearSumAssignment(cost);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, (std::vector<int>{1, 0, 2}));
}

TEST(LinearSumAssignmentTest, HandlesRectangularMatrices) {
  Eigen::MatrixXd wide(2, 3);
  wide << 5, 1, 9,  //
      1, 2, 9;
  Result<std::vector<int>> a = LinearSumAssignment(wide);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<int>{1, 0}));
  Result<std::vector<int>> b = LinearSumAssignment(wide.transpose());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<int>{1, 0, -1}));
}

TEST(LinearSumAssignmentTest, MatchesBruteForceOnRandomMatrices) {
  Rng rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    Eigen::MatrixXd cost(6, 6);
    for (Eigen::Index i = 0; i < 6; ++i) {
      for (Eigen::Index j = 0; j < 6; ++j) cost(i, j) = 1.0 / (rng.Uniform() + 1e-3);
    }
    std::vector<int> perm(6);
    std::iota(perm.begin(), perm.end(), 0);
    double best = std::numeric_limits<double>::infinity();
    do {
      best = std::min(best, AssignmentCost(cost, perm));
    } while (std::next_permutation(perm.begin(), perm.end()));
    Result<std::vector<int>> a = LinearSumAssignment(cost);
    ASSERT_TRUE(a.ok());
    std::vector<int> sorted = *a;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5}));
    EXPECT_NEAR(AssignmentCost(cost, *a), best, 1e-9 * best);
  }
}

TEST(LinearSumAssignmentTest, RejectsNonFiniteCosts) {
  Eigen::MatrixXd cost = Eigen::MatrixXd::Ones(2, 2);
  cost(0, 1) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(LinearSumAssignment(cost).status().code(), StatusCode::kInvalidArgument);
}

TEST(LbfgsTest, MinimisesRosenbrock) {
  // Minimum at (1, 1), value 0 (by hand: both squares vanish).
  const Objective f = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    const double a = 1 - x(0), b = x(1) - x(0) * x(0);
    (*g)(0) = -2 * a - 400 * x(0) * b;
    (*g)(1) = 200 * b;
    return a * a + 100 * b * b;
  };
  LbfgsOptions o;
  o.ftol = 0;
  o.gtol = 1e-10;
  Result<LbfgsResult> r = MinimizeLbfgs(f, Eigen::Vector2d(-1.2, 1.0), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->converged);
  EXPECT_NEAR(r->x(0), 1.0, 1e-6);
  EXPECT_NEAR(r->x(1), 1.0, 1e-6);
  EXPECT_LT(r->iterations, 100);
}

TEST(LbfgsTest, SolvesAnIllConditionedQuadratic) {
  // f = 0.5 x' A x - b' x with A diagonal 1..100: the minimiser is b_i / i.
  const int n = 100;
  Eigen::VectorXd diag(n), b(n);
  for (int i = 0; i < n; ++i) {
    diag(i) = i + 1;
    b(i) = 1.0;
  }
  const Objective f = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    *g = diag.cwiseProduct(x) - b;
    return 0.5 * x.dot(diag.cwiseProduct(x)) - b.dot(x);
  };
  LbfgsOptions o;
  o.gtol = 1e-7;  // f is about -2.6: smaller gradients are below its rounding
  o.ftol = 0;
  Result<LbfgsResult> r = MinimizeLbfgs(f, Eigen::VectorXd::Zero(n), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->converged);
  EXPECT_LT((r->x - b.cwiseQuotient(diag)).cwiseAbs().maxCoeff(), 1e-7);
}

TEST(LbfgsTest, PreconditionerRemovesIllConditioning) {
  // f = 0.5 sum_i a_i x_i^2 - sum_i x_i with a_i = 10^(i / 10), i < 100 (condition number about
  // 8e9): plain L-BFGS is still far off after 200 iterations; preconditioned by the exact inverse
  // Hessian diag(1 / a_i), the first step (length 1) lands on the minimiser 1 / a_i.
  const int n = 100;
  Eigen::VectorXd a(n);
  for (int i = 0; i < n; ++i) a(i) = std::pow(10.0, i / 10.0);
  const Objective f = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    *g = a.cwiseProduct(x) - Eigen::VectorXd::Ones(n);
    return 0.5 * x.dot(a.cwiseProduct(x)) - x.sum();
  };
  LbfgsOptions o;
  o.ftol = 0;
  o.gtol = 1e-9;
  o.max_iter = 200;
  Result<LbfgsResult> plain = MinimizeLbfgs(f, Eigen::VectorXd::Zero(n), o);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE(plain->converged);
  o.precondition = [&](const Eigen::VectorXd&, Eigen::VectorXd* v) { *v = v->cwiseQuotient(a); };
  Result<LbfgsResult> pre = MinimizeLbfgs(f, Eigen::VectorXd::Zero(n), o);
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  EXPECT_TRUE(pre->converged);
  EXPECT_LE(pre->iterations, 2);
  EXPECT_LE(pre->evaluations, 3);
  EXPECT_LT((pre->x - a.cwiseInverse()).cwiseAbs().maxCoeff(), 1e-9);
}

TEST(LbfgsTest, SurvivesAPreconditionerThatIsNotPositiveDefinite) {
  // P = -I points uphill: every direction fails the descent test and the minimiser falls back to
  // steepest descent, still reaching the minimum of the quadratic (by hand: x = b / 2).
  const Eigen::Vector3d b(1.0, -2.0, 4.0);
  const Objective f = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    *g = 2 * x - b;
    return x.squaredNorm() - b.dot(x);
  };
  LbfgsOptions o;
  o.precondition = [](const Eigen::VectorXd&, Eigen::VectorXd* v) { *v = -*v; };
  Result<LbfgsResult> r = MinimizeLbfgs(f, Eigen::VectorXd::Zero(3), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT((r->x - 0.5 * b).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(LbfgsTest, BacksOffFromOutsideTheDomain) {
  // f = sum(x - log x), +inf for x <= 0; minimum at x = 1. From x = 5 the first trial steps land
  // at negative x and must be pulled back.
  const Objective f = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    if ((x.array() <= 0).any()) return std::numeric_limits<double>::infinity();
    *g = (1.0 - x.array().inverse()).matrix();
    return (x.array() - x.array().log()).sum();
  };
  Result<LbfgsResult> r = MinimizeLbfgs(f, Eigen::VectorXd::Constant(3, 5.0), LbfgsOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT((r->x.array() - 1).abs().maxCoeff(), 1e-4);
}

TEST(LbfgsTest, ReportsErrors) {
  const Objective bad = [](const Eigen::VectorXd&, Eigen::VectorXd* g) {
    g->setZero();
    return std::nan("");
  };
  EXPECT_EQ(MinimizeLbfgs(bad, Eigen::VectorXd::Zero(2), LbfgsOptions{}).status().code(),
            StatusCode::kDataError);
  const Objective quad = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    *g = 2 * x;
    return x.squaredNorm();
  };
  LbfgsOptions o;
  o.memory = 0;
  EXPECT_EQ(MinimizeLbfgs(quad, Eigen::VectorXd::Ones(2), o).status().code(),
            StatusCode::kInvalidArgument);
  o = LbfgsOptions{};
  o.deadline = Deadline::In(std::chrono::seconds(-1));
  EXPECT_EQ(MinimizeLbfgs(quad, Eigen::VectorXd::Ones(2), o).status().code(),
            StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace llmrca::stats
