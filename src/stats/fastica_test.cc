#include "stats/fastica.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "data/csv.h"
#include "data/preprocess.h"

namespace llmrca::stats {
namespace {

double Correlation(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const Eigen::ArrayXd ca = a.array() - a.mean(), cb = b.array() - b.mean();
  return (ca * cb).sum() / std::sqrt(ca.square().sum() * cb.square().sum());
}

// Two independent non-Gaussian sources (a sine wave and uniform noise), 2,000 samples, mixed by
// A = [[1, 1], [0.5, 2]].
struct Mixture {
  Eigen::MatrixXd sources;  // samples x 2
  Eigen::MatrixXd mixed;    // samples x 2
};

Mixture MakeMixture(uint64_t seed) {
  Rng rng(seed);
  const int n = 2000;
  Mixture m;
  m.sources.resize(n, 2);
  for (int t = 0; t < n; ++t) {
    m.sources(t, 0) = std::sin(2 * std::numbers::pi * t / 97.0);
    m.sources(t, 1) = 2 * rng.Uniform() - 1;
  }
  Eigen::Matrix2d a;
  a << 1, 1,  //
      0.5, 2;
  m.mixed = m.sources * a.transpose();
  return m;
}

TEST(FastIcaTest, ReportsAnUnconvergedRun) {
  // One iteration from a random start: the rows of W turn by far more than tol allows (a change
  // of 1e-4 is a turn of 0.8 degrees), so the run ends unconverged at max_iter with its change.
  const Mixture m = MakeMixture(1);
  FastIcaOptions o;
  o.seed = 3;
  o.max_iter = 1;
  Result<FastIcaResult> r = FastIca(m.mixed, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->converged);
  EXPECT_EQ(r->iterations, 1);
  EXPECT_GE(r->change, o.tol);
  EXPECT_LE(r->change, 1.0);  // |cos| lies in [0, 1]
}

TEST(FastIcaTest, RecoversTwoSourcesUpToOrderSignAndScale) {
  const Mixture m = MakeMixture(1);
  FastIcaOptions o;
  o.seed = 3;
  Result<FastIcaResult> r = FastIca(m.mixed, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->converged);
  EXPECT_LT(r->change, o.tol);
  const Eigen::MatrixXd estimated =
      (m.mixed.rowwise() - r->mean.transpose()) * r->components.transpose();
  // Each true source matches one estimated component, a different one for each.
  int match[2];
  for (int s = 0; s < 2; ++s) {
    const double c0 = std::abs(Correlation(m.sources.col(s), estimated.col(0)));
    const double c1 = std::abs(Correlation(m.sources.col(s), estimated.col(1)));
    match[s] = c0 > c1 ? 0 : 1;
    EXPECT_GT(std::max(c0, c1), 0.99) << "source " << s;
  }
  EXPECT_NE(match[0], match[1]);
}

TEST(FastIcaTest, MatchesScikitLearnGivenTheSameStart) {
  // Expected: scikit-learn 1.2.1 FastICA(max_iter=1000, w_init=RandomState(0).normal(size=(20,
  // 20))).fit(X).components_ on testdata/parity/ray-head_cpu/1 (time and constant columns
  // dropped); see testdata/README.md, "LiNGAM and FastICA".
  std::ifstream in(std::string(LLMRCA_TESTDATA_DIR) + "/causal/fastica_ray-head_cpu.json");
  const nlohmann::json fa = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(fa.is_discarded());
  Result<data::Frame> frame = data::ReadMetricsCsv(std::string(LLMRCA_TESTDATA_DIR) +
                                                   "/parity/ray-head_cpu/1/data.csv");
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  const data::Frame kept = data::DropConstantColumns(*frame);
  ASSERT_EQ(kept.Names(), fa.at("columns").get<std::vector<std::string>>());
  const auto rows = fa.at("w_init").get<std::vector<std::vector<double>>>();
  const auto expected_rows = fa.at("components").get<std::vector<std::vector<double>>>();
  const Eigen::Index d = kept.NumCols();
  FastIcaOptions o;
  o.max_iter = 1000;
  o.w_init.resize(d, d);
  Eigen::MatrixXd expected(d, d);
  for (Eigen::Index i = 0; i < d; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      o.w_init(i, j) = rows[static_cast<size_t>(i)][static_cast<size_t>(j)];
      expected(i, j) = expected_rows[static_cast<size_t>(i)][static_cast<size_t>(j)];
    }
  }
  Result<FastIcaResult> r = FastIca(kept.Values(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->iterations, fa.at("n_iter").get<int>());
  // Tolerance: on this case scikit-learn's own output moves by 3.6e-7 (relative to the largest
  // entry) when the data are scaled by 1 + 1e-15, so last-bit differences in sums are amplified
  // about 1e8-fold; we measured 2.2e-7.
  EXPECT_LT((r->components - expected).cwiseAbs().maxCoeff(),
            1e-5 * expected.cwiseAbs().maxCoeff());
}

TEST(FastIcaTest, SameSeedGivesSameComponents) {
  const Mixture m = MakeMixture(2);
  FastIcaOptions o;
  o.seed = 5;
  Result<FastIcaResult> a = FastIca(m.mixed, o);
  Result<FastIcaResult> b = FastIca(m.mixed, o);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->components, b->components);
}

TEST(FastIcaTest, ReportsErrors) {
  const Mixture m = MakeMixture(3);
  FastIcaOptions o;
  EXPECT_EQ(FastIca(m.mixed.topRows(2), o).status().code(), StatusCode::kDataError);
  Eigen::MatrixXd nan = m.mixed;
  nan(4, 0) = std::nan("");
  EXPECT_EQ(FastIca(nan, o).status().code(), StatusCode::kDataError);
  Eigen::MatrixXd dependent(m.mixed.rows(), 2);
  dependent.col(0) = m.mixed.col(0);
  dependent.col(1) = -3 * m.mixed.col(0);
  EXPECT_EQ(FastIca(dependent, o).status().code(), StatusCode::kDataError);
  o.max_iter = 0;
  EXPECT_EQ(FastIca(m.mixed, o).status().code(), StatusCode::kInvalidArgument);
  o = FastIcaOptions{};
  o.w_init = Eigen::MatrixXd::Identity(3, 3);
  EXPECT_EQ(FastIca(m.mixed, o).status().code(), StatusCode::kInvalidArgument);
  o = FastIcaOptions{};
  o.deadline = Deadline::In(std::chrono::seconds(-1));
  EXPECT_EQ(FastIca(m.mixed, o).status().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace llmrca::stats
