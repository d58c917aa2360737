#include "causal/lingam.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <Eigen/LU>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "data/csv.h"
#include "data/preprocess.h"

namespace llmrca::causal {
namespace {

// ---- Helpers ---------------------------------------------------------------------------------

Eigen::MatrixXd MatrixFromJson(const nlohmann::json& rows) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()),
                    static_cast<Eigen::Index>(rows.at(0).size()));
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      m(i, j) = rows.at(static_cast<size_t>(i)).at(static_cast<size_t>(j)).get<double>();
    }
  }
  return m;
}

nlohmann::json ReadJson(const std::string& relative) {
  std::ifstream in(std::string(LLMRCA_TESTDATA_DIR) + "/" + relative);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// The parity case as the study hands it to lingam_pagerank: data.csv without `time` and without
// constant columns (testdata/parity/README.md).
Eigen::MatrixXd ParityCaseData(const std::string& name, const nlohmann::json& columns) {
  Result<data::Frame> frame = data::ReadMetricsCsv(std::string(LLMRCA_TESTDATA_DIR) +
                                                   "/parity/" + name + "/1/data.csv");
  EXPECT_TRUE(frame.ok()) << frame.status().ToString();
  if (!frame.ok()) return {};
  const data::Frame kept = data::DropConstantColumns(*frame);
  EXPECT_EQ(kept.Names(), columns.get<std::vector<std::string>>());
  return kept.Values();
}

// A linear SEM x = B x + e with a random DAG whose causal order is a random permutation of the
// variables (so index order is no hint), edge probability `density`, coefficients of magnitude
// in [0.5, 1.5] with random signs, and non-Gaussian noise (uniform on [-1, 1], or Laplace).
struct Sem {
  Eigen::MatrixXd b;     // b(i, j) != 0: j -> i
  std::vector<int> order;
  Eigen::MatrixXd data;  // samples x variables
};

Sem MakeNonGaussianSem(int d, int n, double density, bool laplace, uint64_t seed) {
  Rng rng(seed);
  Sem sem;
  sem.order.resize(static_cast<size_t>(d));
  for (int i = 0; i < d; ++i) sem.order[static_cast<size_t>(i)] = i;
  rng.Shuffle(std::span<int>(sem.order));
  sem.b = Eigen::MatrixXd::Zero(d, d);
  for (int a = 0; a < d; ++a) {
    for (int c = a + 1; c < d; ++c) {
      if (rng.Uniform() >= density) continue;
      const double w = (0.5 + rng.Uniform()) * (rng.Uniform() < 0.5 ? -1 : 1);
      sem.b(sem.order[static_cast<size_t>(c)], sem.order[static_cast<size_t>(a)]) = w;
    }
  }
  Eigen::MatrixXd e(n, d);
  for (int r = 0; r < n; ++r) {
    for (int j = 0; j < d; ++j) {
      const double u = rng.Uniform();
      e(r, j) = laplace ? (u < 0.5 ? std::log(2 * u + 1e-300) : -std::log(2 * (1 - u)))
                        : 2 * u - 1;
    }
  }
  // x' = (I - B)^-1 e' row by row.
  const Eigen::MatrixXd mix = (Eigen::MatrixXd::Identity(d, d) - sem.b).inverse();
  sem.data = e * mix.transpose();
  return sem;
}

struct EdgeScore {
  double precision = 0;
  double recall = 0;
};

// Directed-edge precision / recall of `estimate` against `truth` (both: (i, j) != 0 for j -> i).
EdgeScore ScoreEdges(const Eigen::MatrixXd& estimate, const Eigen::MatrixXd& truth) {
  int tp = 0, fp = 0, fn = 0;
  for (Eigen::Index i = 0; i < truth.rows(); ++i) {
    for (Eigen::Index j = 0; j < truth.cols(); ++j) {
      const bool est = estimate(i, j) != 0, real = truth(i, j) != 0;
      tp += est && real;
      fp += est && !real;
      fn += !est && real;
    }
  }
  return {tp + fp == 0 ? 1.0 : static_cast<double>(tp) / (tp + fp),
          tp + fn == 0 ? 1.0 : static_cast<double>(tp) / (tp + fn)};
}

// True when every edge j -> i of `truth` has j before i in `order`.
bool OrderRespectsDag(const std::vector<int>& order, const Eigen::MatrixXd& truth) {
  std::vector<int> position(order.size());
  for (size_t k = 0; k < order.size(); ++k) position[static_cast<size_t>(order[k])] = static_cast<int>(k);
  for (Eigen::Index i = 0; i < truth.rows(); ++i) {
    for (Eigen::Index j = 0; j < truth.cols(); ++j) {
      if (truth(i, j) != 0 && position[static_cast<size_t>(j)] > position[static_cast<size_t>(i)]) {
        return false;
      }
    }
  }
  return true;
}

// ---- Building blocks against scikit-learn / causal-learn -------------------------------------

TEST(AdaptiveLassoTest, MatchesScikitLearnThroughLassoDrops) {
  // Columns 0-3 predict column 4. Expected: causal-learn 0.1.3.3 predict_adaptive_lasso(X,
  // [0, 1, 2, 3], 4) with scikit-learn 1.2.1; its LassoLarsIC path drops a variable at knots 2
  // and 5 and BIC picks knot 7 (testdata/README.md, "LiNGAM and FastICA", find_drop2.py seed 7).
  Eigen::MatrixXd x(10, 5);
  x << 7.1, -1.4, -0.6, 2.7, 12.7,  //
      -0.3, 1.7, -0.8, 1.1, -0.2,   //
      -0.1, 0.2, -0.2, -1.2, -0.4,  //
      -1.8, 0.3, 0.2, -0.2, -3.8,   //
      -0.9, 0.7, -0.4, -1.6, -0.7,  //
      0.5, -0.0, 0.2, 1.6, 2.5,     //
      1.1, -0.4, -0.1, -0.1, 2.6,   //
      -2.3, -0.7, 0.5, -3.8, -5.5,  //
      0.2, 0.3, -0.2, 0.1, 1.0,     //
      2.9, -1.1, 0.9, 9.7, 7.2;
  const std::vector<int> predictors = {0, 1, 2, 3};
  Result<Eigen::VectorXd> coef = AdaptiveLassoCoefficients(x, predictors, 4);
  ASSERT_TRUE(coef.ok()) << coef.status().ToString();
  ASSERT_EQ(coef->size(), 4);
  EXPECT_NEAR((*coef)(0), 2.3104918832196826, 1e-9);
  EXPECT_NEAR((*coef)(1), 1.5689619216090398, 1e-9);
  EXPECT_NEAR((*coef)(2), 2.239438690565339, 1e-9);
  EXPECT_EQ((*coef)(3), 0.0);
}

TEST(AdaptiveLassoTest, RejectsBadIndicesAndTooFewRows) {
  const Eigen::MatrixXd x = MakeNonGaussianSem(4, 10, 0.5, false, 2).data;
  const std::vector<int> with_target = {0, 3};
  EXPECT_EQ(AdaptiveLassoCoefficients(x, with_target, 3).status().code(),
            StatusCode::kInvalidArgument);
  const std::vector<int> out_of_range = {0, 7};
  EXPECT_EQ(AdaptiveLassoCoefficients(x, out_of_range, 1).status().code(),
            StatusCode::kInvalidArgument);
  const std::vector<int> three = {0, 1, 2};
  EXPECT_EQ(AdaptiveLassoCoefficients(x.topRows(4), three, 3).status().code(),
            StatusCode::kDataError);  // 4 rows, 3 predictors: scikit-learn raises too
}

TEST(IcaLingamTest, FindsTheCausalOrderOfAPermutedScaledUnmixingMatrix) {
  // Chain x0 -> x1 -> x2 (x1 = 0.8 x0 + e1, x2 = -1.5 x1 + e2): W = I - B. ICA returns the rows
  // in any order and scale; here rows (2, 0, 1) scaled by (-2, 3, 0.5). The assignment puts them
  // back, the scaling restores the unit diagonal, and the order is 0, 1, 2 by hand.
  Eigen::MatrixXd w(3, 3);
  w << 1, 0, 0,  //
      -0.8, 1, 0,  //
      0, 1.5, 1;
  Eigen::MatrixXd shuffled(3, 3);
  shuffled.row(0) = -2 * w.row(2);
  shuffled.row(1) = 3 * w.row(0);
  shuffled.row(2) = 0.5 * w.row(1);
  Result<std::vector<int>> order = CausalOrderFromUnmixing(shuffled);
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(*order, (std::vector<int>{0, 1, 2}));
}

// ---- The reference on a parity case ------------------------------------------------------------

TEST(IcaLingamTest, MatchesReferenceOnParityCaseGivenItsRandomStart) {
  // Expected: causal-learn 0.1.3.3 ICALiNGAM(random_state=np.random.RandomState(0)).fit(X) on
  // testdata/parity/ray-head_cpu/1 (time and constant columns dropped), scikit-learn 1.2.1; the
  // start RandomState(0).normal(size=(20, 20)) is what the study's harness used (it seeds NumPy
  // with 0). See testdata/README.md, "LiNGAM and FastICA".
  const nlohmann::json fa = ReadJson("causal/fastica_ray-head_cpu.json");
  const nlohmann::json li = ReadJson("causal/lingam_ray-head_cpu.json");
  ASSERT_FALSE(fa.is_discarded());
  ASSERT_FALSE(li.is_discarded());
  const Eigen::MatrixXd x = ParityCaseData("ray-head_cpu", li.at("columns"));
  ASSERT_EQ(x.cols(), 20);
  LingamOptions o;
  o.ica_w_init = MatrixFromJson(fa.at("w_init"));
  Result<LingamResult> r = FitLingam(x, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ica_converged);
  EXPECT_EQ(r->ica_iterations, fa.at("n_iter").get<int>());
  EXPECT_EQ(r->causal_order, li.at("ica_causal_order").get<std::vector<int>>());
  const Eigen::MatrixXd expected = MatrixFromJson(li.at("ica_adjacency"));
  EXPECT_EQ((r->adjacency.array() != 0).cast<int>().matrix(),
            (expected.array() != 0).cast<int>().matrix());
  EXPECT_LT((r->adjacency - expected).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(DirectLingamTest, MatchesReferenceOnParityCase) {
  // Expected: causal-learn 0.1.3.3 DirectLiNGAM().fit(X) on testdata/parity/ray-head_cpu/1, as
  // RCAEval's micro_diag calls it (deterministic). See testdata/README.md.
  const nlohmann::json li = ReadJson("causal/lingam_ray-head_cpu.json");
  ASSERT_FALSE(li.is_discarded());
  const Eigen::MatrixXd x = ParityCaseData("ray-head_cpu", li.at("columns"));
  LingamOptions o;
  o.variant = LingamVariant::kDirect;
  Result<LingamResult> r = FitLingam(x, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->causal_order, li.at("direct_causal_order").get<std::vector<int>>());
  const Eigen::MatrixXd expected = MatrixFromJson(li.at("direct_adjacency"));
  EXPECT_EQ((r->adjacency.array() != 0).cast<int>().matrix(),
            (expected.array() != 0).cast<int>().matrix());
  EXPECT_LT((r->adjacency - expected).cwiseAbs().maxCoeff(), 1e-6);
}

// ---- Structure recovery --------------------------------------------------------------------

TEST(IcaLingamTest, RecoversANonGaussianSem) {
  // 8 variables, 2,000 samples, uniform noise; seed 3 draws 9 edges. Here: precision 1.0,
  // recall 1.0, largest coefficient error 0.062 (floors 0.9, 0.9, 0.1). Over seeds 1-20 of this
  // generator: mean precision 0.994, recall 1.0, the true order respected 20/20, the exact edge
  // set 19/20 (Laplace noise: 20/20).
  const Sem sem = MakeNonGaussianSem(8, 2000, 0.4, /*laplace=*/false, 3);
  LingamOptions o;
  o.seed = 11;
  Result<LingamResult> r = FitLingam(sem.data, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(OrderRespectsDag(r->causal_order, sem.b));
  const EdgeScore s = ScoreEdges(r->adjacency, sem.b);
  EXPECT_GE(s.precision, 0.9);
  EXPECT_GE(s.recall, 0.9);
  // Coefficients are recovered too.
  EXPECT_LT((r->adjacency - sem.b).cwiseAbs().maxCoeff(), 0.1);
}

TEST(DirectLingamTest, RecoversANonGaussianSem) {
  // 8 variables, 2,000 samples, Laplace noise; seed 5 draws 10 edges. Here: precision 1.0,
  // recall 1.0, largest coefficient error 0.055. Over seeds 1-20: mean precision 0.986, recall
  // 0.990, the true order respected 19/20, the exact edge set 18/20 (uniform noise: 0.990,
  // 1.0, 20/20, 18/20).
  const Sem sem = MakeNonGaussianSem(8, 2000, 0.4, /*laplace=*/true, 5);
  LingamOptions o;
  o.variant = LingamVariant::kDirect;
  Result<LingamResult> r = FitLingam(sem.data, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(OrderRespectsDag(r->causal_order, sem.b));
  const EdgeScore s = ScoreEdges(r->adjacency, sem.b);
  EXPECT_GE(s.precision, 0.9);
  EXPECT_GE(s.recall, 0.9);
  EXPECT_LT((r->adjacency - sem.b).cwiseAbs().maxCoeff(), 0.1);
}

// A variable of the SEM with a parent and a child, so that rescaling it moves both a row and a
// column of B; -1 when there is none.
Eigen::Index NodeWithParentAndChild(const Sem& sem) {
  for (Eigen::Index j = 0; j < sem.b.rows(); ++j) {
    if ((sem.b.row(j).array() != 0).any() && (sem.b.col(j).array() != 0).any()) return j;
  }
  return -1;
}

// Fits DirectLiNGAM to the data and to the data with column c times `factor`, and expects the
// same order and B with row c times factor and column c divided by it (B(i, j) is in units of i
// per unit of j), to 1e-9 relative. Returns B of the unscaled data.
Eigen::MatrixXd ExpectAdjacencyFollowsRescaling(const Sem& sem, Eigen::Index c, double factor,
                                                LingamOptions o) {
  Eigen::MatrixXd scaled = sem.data;
  scaled.col(c) *= factor;
  o.variant = LingamVariant::kDirect;
  Result<LingamResult> a = FitLingam(sem.data, o);
  Result<LingamResult> b = FitLingam(scaled, o);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  if (!a.ok() || !b.ok()) return {};
  EXPECT_EQ(a->causal_order, b->causal_order);
  Eigen::MatrixXd expected = a->adjacency;
  expected.row(c) *= factor;
  expected.col(c) /= factor;
  EXPECT_TRUE((expected.row(c).array() != 0).any());  // c has parents to keep
  EXPECT_TRUE((expected.col(c).array() != 0).any());  // and children
  for (Eigen::Index i = 0; i < expected.rows(); ++i) {
    for (Eigen::Index j = 0; j < expected.cols(); ++j) {
      EXPECT_EQ(expected(i, j) == 0, b->adjacency(i, j) == 0) << i << "," << j;
      EXPECT_NEAR(b->adjacency(i, j), expected(i, j), 1e-9 * std::abs(expected(i, j)))
          << i << "," << j;
    }
  }
  return a->adjacency;
}

TEST(LingamTest, AdjacencyFollowsTheUnitsOfAColumn) {
  // One metric in much larger units than the others (bytes beside gigabytes): column c times
  // 1e9; DirectLiNGAM's order is scale-free. (The regressions share one QR of the ordered
  // columns unless a column looks dependent. A test of dependence against the largest column
  // instead of each column's own norm took every column beside the big one for dependent and
  // sent every fit to the slow path; the result was the same.) The other way round:
  // ATargetInTinyUnitsKeepsItsParentsAtUnitScale.
  const Sem sem = MakeNonGaussianSem(8, 2000, 0.4, /*laplace=*/true, 5);
  const Eigen::Index c = NodeWithParentAndChild(sem);
  ASSERT_GE(c, 0);
  ExpectAdjacencyFollowsRescaling(sem, c, 1e9, LingamOptions());
}

TEST(LingamTest, ATargetInTinyUnitsKeepsItsParentsAtUnitScale) {
  // Column c times 1e-9 (standard deviation about 1e-9). scikit-learn's LARS stops as soon as
  // the largest correlation per sample is below float32's epsilon, 1.2e-7: about var(c) here, so
  // in the reference c gets no parents at all. With unit_scale_lasso (the default of the RCA
  // methods and `llmrca graph`) the regression runs at unit scale and B follows the units.
  const Sem sem = MakeNonGaussianSem(8, 2000, 0.4, /*laplace=*/true, 5);
  const Eigen::Index c = NodeWithParentAndChild(sem);
  ASSERT_GE(c, 0);
  LingamOptions o;
  o.unit_scale_lasso = true;
  const Eigen::MatrixXd unit_scale_b = ExpectAdjacencyFollowsRescaling(sem, c, 1e-9, o);
  ASSERT_EQ(unit_scale_b.rows(), 8);
  Eigen::MatrixXd tiny = sem.data;
  tiny.col(c) *= 1e-9;
  o.variant = LingamVariant::kDirect;
  // The reference's arithmetic: no parents for c; its children keep theirs.
  o.unit_scale_lasso = false;
  Result<LingamResult> ref = FitLingam(tiny, o);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_TRUE((ref->adjacency.row(c).array() == 0).all()) << ref->adjacency.row(c);
  EXPECT_EQ((ref->adjacency.col(c).array() != 0).count(),
            (unit_scale_b.col(c).array() != 0).count());
  // At ordinary scales the two agree.
  Result<LingamResult> plain = FitLingam(sem.data, o);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(plain->adjacency.isApprox(unit_scale_b, 1e-12));
}

// ---- Determinism -----------------------------------------------------------------------------

TEST(LingamTest, SameSeedGivesSameOutputWhateverTheThreadCount) {
  const Sem sem = MakeNonGaussianSem(8, 500, 0.4, /*laplace=*/true, 9);
  for (LingamVariant v : {LingamVariant::kIca, LingamVariant::kDirect}) {
    LingamOptions o;
    o.variant = v;
    o.seed = 42;
    Result<Eigen::MatrixXd> a = LingamAdjacency(sem.data, o);
    o.threads = 4;
    Result<Eigen::MatrixXd> b = LingamAdjacency(sem.data, o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(*a, *b);  // bit for bit
  }
}

// ---- Errors ------------------------------------------------------------------------------------

TEST(LingamTest, RejectsDegenerateData) {
  const Sem sem = MakeNonGaussianSem(4, 50, 0.5, false, 1);
  for (LingamVariant v : {LingamVariant::kIca, LingamVariant::kDirect}) {
    LingamOptions o;
    o.variant = v;
    EXPECT_EQ(FitLingam(sem.data.topRows(4), o).status().code(), StatusCode::kDataError);
    Eigen::MatrixXd constant = sem.data;
    constant.col(2).setConstant(3.0);
    EXPECT_EQ(FitLingam(constant, o).status().code(), StatusCode::kDataError);
    Eigen::MatrixXd nan = sem.data;
    nan(7, 1) = std::nan("");
    EXPECT_EQ(FitLingam(nan, o).status().code(), StatusCode::kDataError);
    EXPECT_EQ(FitLingam(Eigen::MatrixXd(10, 0), o).status().code(), StatusCode::kDataError);
  }
  // Linearly dependent columns cannot be whitened.
  Eigen::MatrixXd dependent = sem.data;
  dependent.col(3) = 2 * dependent.col(0) - dependent.col(1);
  EXPECT_EQ(FitLingam(dependent, LingamOptions{}).status().code(), StatusCode::kDataError);
}

TEST(IcaLingamTest, ReportsAnUnconvergedFastIcaAndStillGivesAGraph) {
  // As scikit-learn (a ConvergenceWarning, then the last iterate): FastICA stopped by max_iter
  // is reported in the result (and logged), and the graph is learnt from where it stopped.
  const Sem sem = MakeNonGaussianSem(8, 500, 0.4, /*laplace=*/true, 9);
  LingamOptions o;
  o.seed = 42;
  o.max_iter = 1;
  Result<LingamResult> r = FitLingam(sem.data, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ica_converged);
  EXPECT_EQ(r->ica_iterations, 1);
  EXPECT_EQ(r->causal_order.size(), 8u);
  EXPECT_EQ(r->adjacency.rows(), 8);
  o.max_iter = 1000;
  r = FitLingam(sem.data, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ica_converged);
  EXPECT_GT(r->ica_iterations, 1);
}

TEST(LingamTest, RejectsBadOptions) {
  const Sem sem = MakeNonGaussianSem(4, 50, 0.5, false, 1);
  LingamOptions o;
  o.max_iter = 0;
  EXPECT_EQ(FitLingam(sem.data, o).status().code(), StatusCode::kInvalidArgument);
  o = LingamOptions{};
  o.tol = -1;
  EXPECT_EQ(FitLingam(sem.data, o).status().code(), StatusCode::kInvalidArgument);
  o = LingamOptions{};
  o.threads = 0;
  EXPECT_EQ(FitLingam(sem.data, o).status().code(), StatusCode::kInvalidArgument);
  o = LingamOptions{};
  o.ica_w_init = Eigen::MatrixXd::Identity(3, 3);
  EXPECT_EQ(FitLingam(sem.data, o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CausalOrderFromUnmixing(Eigen::MatrixXd::Ones(2, 3)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(LingamTest, StopsAtAnExpiredDeadline) {
  const Sem sem = MakeNonGaussianSem(4, 50, 0.5, false, 1);
  for (LingamVariant v : {LingamVariant::kIca, LingamVariant::kDirect}) {
    LingamOptions o;
    o.variant = v;
    o.deadline = Deadline::In(std::chrono::seconds(-1));
    EXPECT_EQ(FitLingam(sem.data, o).status().code(), StatusCode::kDeadlineExceeded);
  }
}

}  // namespace
}  // namespace llmrca::causal
