#include "causal/pc.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "data/csv.h"
#include "data/preprocess.h"
#include "stats/ci_test.h"

namespace llmrca::causal {
namespace {

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

// A parity case as RCAEval's pc_pagerank hands it to pc(): data.csv without `time` and without
// the columns that never differ from their first row (no `_mem` columns here).
data::Frame LoadParityCase(const std::string& name) {
  Result<data::Frame> frame = data::ReadMetricsCsv(std::string(LLMRCA_TESTDATA_DIR) + "/parity/" +
                                                   name + "/1/data.csv");
  EXPECT_TRUE(frame.ok()) << frame.status().message();
  return data::DropConstantColumns(*frame);
}

Graph RunPc(const Eigen::MatrixXd& data, const PcOptions& options, bool fallback = false) {
  Result<std::unique_ptr<stats::FisherZTest>> test = stats::FisherZTest::Create(data, fallback);
  EXPECT_TRUE(test.ok()) << test.status().message();
  Result<Graph> g = Pc(**test, options);
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? *g : Graph();
}

// Column k of the Sylvester-Hadamard matrix of order `n` (entries +-1, columns k >= 1 orthogonal
// with mean 0), followed by one 0: n + 1 samples whose variances are exactly 1 and whose
// covariances are exactly 0, so the independences below hold exactly in floating point.
Eigen::VectorXd Hadamard(int n, int k) {
  Eigen::VectorXd col = Eigen::VectorXd::Zero(n + 1);
  for (int i = 0; i < n; ++i) col(i) = std::popcount(static_cast<unsigned>(i & k)) % 2 != 0 ? -1 : 1;
  return col;
}

// A linear-Gaussian SEM: x_j = sum over parents w_ij x_i + N(0, 1), |w| in [0.5, 1.5] with a
// random sign, nodes in topological order (index order). Each node is standardised before its
// children read it (which changes no independence), so that no edge drowns in the variance its
// node's other ancestors pile up.
Eigen::MatrixXd SimulateSem(const std::vector<std::pair<int, int>>& edges, int nodes, int samples,
                            uint64_t seed) {
  Rng rng(seed);
  std::vector<double> weight;
  for (size_t e = 0; e < edges.size(); ++e) {
    const double w = 0.5 + rng.Uniform();
    weight.push_back(rng.Uniform() < 0.5 ? -w : w);
  }
  Eigen::MatrixXd x(samples, nodes);
  for (int j = 0; j < nodes; ++j) {
    for (int i = 0; i < samples; ++i) x(i, j) = rng.Normal();
    for (size_t e = 0; e < edges.size(); ++e) {
      if (edges[e].second == j) x.col(j) += weight[e] * x.col(edges[e].first);
    }
    x.col(j).array() -= x.col(j).mean();
    x.col(j) /= std::sqrt(x.col(j).squaredNorm() / samples);
  }
  return x;
}

// A random DAG over `nodes` nodes in index order, each node with up to `max_parents` parents
// among the previous `window` nodes.
std::vector<std::pair<int, int>> RandomDag(int nodes, int max_parents, int window, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::pair<int, int>> edges;
  for (int j = 1; j < nodes; ++j) {
    const int parents = static_cast<int>(rng.UniformInt(static_cast<uint64_t>(max_parents) + 1));
    std::vector<int> chosen;
    for (int p = 0; p < parents; ++p) {
      const int lo = std::max(0, j - window);
      const int i = lo + static_cast<int>(rng.UniformInt(static_cast<uint64_t>(j - lo)));
      if (std::find(chosen.begin(), chosen.end(), i) == chosen.end()) chosen.push_back(i);
    }
    for (int i : chosen) edges.emplace_back(i, j);
  }
  return edges;
}

TEST(PcTest, MatchesCausalLearnOnParityCases) {
  // expected: causal-learn 0.1.3.3 pc(data) G.graph on testdata/parity/<case>/1 (preprocessed as
  // RCAEval does), see testdata/README.md, "causal (PC)".
  const nlohmann::json expected =
      ReadJson(std::string(LLMRCA_TESTDATA_DIR) + "/causal/pc_parity.json");
  ASSERT_EQ(expected["cases"].size(), 6u);
  for (const nlohmann::json& c : expected["cases"]) {
    const std::string name = c["case"];
    SCOPED_TRACE(name);
    const data::Frame frame = LoadParityCase(name);
    ASSERT_EQ(frame.Names(), c["columns"].get<std::vector<std::string>>());
    const Eigen::MatrixXi m = RunPc(frame.Values(), PcOptions{}).EndpointMatrix();
    ASSERT_EQ(m.rows(), static_cast<Eigen::Index>(c["graph"].size()));
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      for (Eigen::Index j = 0; j < m.cols(); ++j) {
        EXPECT_EQ(m(i, j), c["graph"][static_cast<size_t>(i)][static_cast<size_t>(j)].get<int>())
            << "cell " << i << ", " << j;
      }
    }
  }
}

TEST(PcTest, MatchesCausalLearnUnderEveryOrientationOption) {
  // expected: causal-learn 0.1.3.3 pc(data, stable=..., uc_rule=..., uc_priority=...) G.graph on
  // the six parity cases: the unstable skeleton, uc_sepset with priorities -1, 0, 1, 3, 4, maxP
  // with -1..4, definite maxP with -1, 2, 3, 4: 16 variants x 6 cases (testdata/README.md,
  // "causal (PC)").
  const nlohmann::json expected =
      ReadJson(std::string(LLMRCA_TESTDATA_DIR) + "/causal/pc_parity_variants.json");
  ASSERT_EQ(expected["cases"].size(), 96u);
  std::string loaded;
  data::Frame frame;
  for (const nlohmann::json& c : expected["cases"]) {
    const std::string name = c["case"];
    if (name != loaded) {
      frame = LoadParityCase(name);
      loaded = name;
    }
    PcOptions o;
    const nlohmann::json& opt = c["options"];
    if (opt.contains("stable")) o.stable = opt["stable"].get<bool>();
    if (opt.contains("uc_rule")) o.uc_rule = opt["uc_rule"].get<int>();
    if (opt.contains("uc_priority")) o.uc_priority = opt["uc_priority"].get<int>();
    SCOPED_TRACE(name + " " + opt.dump());
    const int n = c["n"].get<int>();
    Eigen::MatrixXi want = Eigen::MatrixXi::Zero(n, n);
    for (const nlohmann::json& cell : c["nonzero"]) {
      want(cell[0].get<int>(), cell[1].get<int>()) = cell[2].get<int>();
    }
    EXPECT_EQ(RunPc(frame.Values(), o).EndpointMatrix(), want);
  }
}

TEST(PcTest, RecoversTheSkeletonOfALinearGaussianSem) {
  // 10 nodes, 12 edges, 2,000 samples. Measured with seed 4: precision 1.0, recall 1.0 (12 of 12
  // edges, no extra one). Over seeds 1..30 the lowest precision was 0.92 (12 of 13) and the
  // lowest recall 0.92 (11 of 12); the mean recall 0.97.
  const std::vector<std::pair<int, int>> edges = {{0, 2}, {1, 2}, {2, 3}, {3, 4}, {1, 5}, {5, 6},
                                                  {4, 7}, {6, 7}, {7, 8}, {0, 9}, {8, 9}, {3, 6}};
  const Eigen::MatrixXd x = SimulateSem(edges, 10, 2000, 4);
  const Graph g = RunPc(x, PcOptions{});
  int found = 0;
  for (const auto& [a, b] : edges) found += g.Adjacent(a, b) ? 1 : 0;
  const double recall = static_cast<double>(found) / static_cast<double>(edges.size());
  const double precision = static_cast<double>(found) / static_cast<double>(g.NumEdges());
  EXPECT_GE(precision, 0.9);
  EXPECT_GE(recall, 0.9);
  // The colliders 0 -> 2 <- 1 and 4 -> 7 <- 6 are identifiable and oriented.
  EXPECT_TRUE(g.IsDirected(0, 2));
  EXPECT_TRUE(g.IsDirected(1, 2));
  EXPECT_TRUE(g.IsDirected(4, 7));
  EXPECT_TRUE(g.IsDirected(6, 7));
}

TEST(PcTest, OrientsAColliderAndPropagatesWithMeekRuleOne) {
  // X, Y orthogonal (p = 1 at depth 0, separating set {}), Z = X + Y + 0.5 h4, W = Z + h8:
  // X -> Z <- Y is an unshielded collider, and Meek's rule 1 turns Z - W into Z -> W.
  // expected (also causal-learn 0.1.3.3 pc on the same 33 x 4 data): X->Z, Y->Z, Z->W only.
  const Eigen::VectorXd x = Hadamard(32, 1), y = Hadamard(32, 2);
  const Eigen::VectorXd z = x + y + 0.5 * Hadamard(32, 4);
  const Eigen::VectorXd w = z + Hadamard(32, 8);
  Eigen::MatrixXd data(33, 4);
  data << x, y, z, w;
  const Graph g = RunPc(data, PcOptions{});
  EXPECT_EQ(g.NumEdges(), 3);
  EXPECT_TRUE(g.IsDirected(0, 2));
  EXPECT_TRUE(g.IsDirected(1, 2));
  EXPECT_TRUE(g.IsDirected(2, 3));
}

TEST(PcTest, LeavesAChainUndirected) {
  // X -> Z -> Y with X _||_ Y | Z exactly: the edge X - Y goes at depth 1 with Z in its
  // separating set, so nothing is oriented. expected (causal-learn 0.1.3.3): X - Z - Y.
  const Eigen::VectorXd x = Hadamard(16, 1);
  const Eigen::VectorXd z = x + Hadamard(16, 2);
  const Eigen::VectorXd y = z + Hadamard(16, 4);
  Eigen::MatrixXd data(17, 3);
  data << x, z, y;
  const Graph g = RunPc(data, PcOptions{});
  EXPECT_EQ(g.NumEdges(), 2);
  EXPECT_TRUE(g.IsUndirected(0, 1));
  EXPECT_TRUE(g.IsUndirected(1, 2));
  EXPECT_FALSE(g.Adjacent(0, 2));
}

TEST(PcTest, DepthCapsTheConditioningSetSize) {
  // The chain above with depth 0: only marginal tests run, X - Y survives (p = 0.0137), and the
  // triangle leaves nothing to orient.
  const Eigen::VectorXd x = Hadamard(16, 1);
  const Eigen::VectorXd z = x + Hadamard(16, 2);
  const Eigen::VectorXd y = z + Hadamard(16, 4);
  Eigen::MatrixXd data(17, 3);
  data << x, z, y;
  PcOptions o;
  o.depth = 0;
  const Graph g = RunPc(data, o);
  EXPECT_EQ(g.NumEdges(), 3);
  EXPECT_TRUE(g.IsUndirected(0, 2));
}

TEST(PcTest, GraphDoesNotDependOnTheThreadCount) {
  const std::vector<std::pair<int, int>> edges = RandomDag(40, 3, 8, 11);
  const Eigen::MatrixXd x = SimulateSem(edges, 40, 400, 12);
  for (int uc_rule : {0, 2}) {
    PcOptions one;
    one.uc_rule = uc_rule;
    one.uc_priority = uc_rule == 2 ? 3 : 2;
    PcOptions four = one;
    four.threads = 4;
    const Graph a = RunPc(x, one);
    const Graph b = RunPc(x, four);
    EXPECT_GT(a.NumEdges(), 20);
    EXPECT_EQ(a.EndpointMatrix(), b.EndpointMatrix()) << "uc_rule " << uc_rule;
  }
}

TEST(PcTest, RejectsBadOptions) {
  Eigen::MatrixXd data(17, 2);
  data << Hadamard(16, 1), Hadamard(16, 2);
  Result<std::unique_ptr<stats::FisherZTest>> test = stats::FisherZTest::Create(data, false);
  ASSERT_TRUE(test.ok());
  auto status_of = [&](auto change) {
    PcOptions o;
    change(o);
    return Pc(**test, o).status().code();
  };
  EXPECT_EQ(status_of([](PcOptions& o) { o.alpha = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions& o) { o.alpha = 1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions& o) { o.alpha = std::nan(""); }), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions& o) { o.uc_rule = 3; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions& o) { o.uc_rule = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions& o) { o.uc_priority = 5; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions& o) { o.uc_priority = -2; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions& o) { o.depth = -2; }), StatusCode::kInvalidArgument);
  // definite maxP only resolves conflicts by priority 2, 3 or 4 (causal-learn asserts).
  EXPECT_EQ(status_of([](PcOptions& o) {
              o.uc_rule = 2;
              o.uc_priority = 1;
            }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(status_of([](PcOptions&) {}), StatusCode::kOk);
}

TEST(PcTest, SingularCorrelationIsADataErrorUnlessTheFallbackIsOn) {
  // Column 2 duplicates column 0: their correlation is exactly 1 and the 2 x 2 sub-matrix has a
  // zero pivot. causal-learn 0.1.3.3 raises "Data correlation matrix is singular" on this data.
  Eigen::MatrixXd data(17, 4);
  data << Hadamard(16, 1), Hadamard(16, 2), Hadamard(16, 1),
      Hadamard(16, 1) + Hadamard(16, 2) + 0.5 * Hadamard(16, 4);
  Result<std::unique_ptr<stats::FisherZTest>> strict = stats::FisherZTest::Create(data, false);
  ASSERT_TRUE(strict.ok());
  const Result<Graph> failed = Pc(**strict, PcOptions{});
  EXPECT_EQ(failed.status().code(), StatusCode::kDataError);
  EXPECT_NE(failed.status().message().find("singular"), std::string::npos)
      << failed.status().message();

  Result<std::unique_ptr<stats::FisherZTest>> lenient = stats::FisherZTest::Create(data, true);
  ASSERT_TRUE(lenient.ok());
  const Result<Graph> g = Pc(**lenient, PcOptions{});
  ASSERT_TRUE(g.ok()) << g.status().message();
  // The duplicates stay joined (their pseudo-inverse partial correlation is -1: dependent).
  EXPECT_TRUE(g->Adjacent(0, 2));
  EXPECT_FALSE(g->Adjacent(0, 1));
}

TEST(PcTest, ExpiredDeadlineStopsTheSearch) {
  const Eigen::MatrixXd x = SimulateSem(RandomDag(20, 2, 5, 3), 20, 200, 4);
  Result<std::unique_ptr<stats::FisherZTest>> test = stats::FisherZTest::Create(x, false);
  ASSERT_TRUE(test.ok());
  PcOptions o;
  o.deadline = Deadline{std::chrono::steady_clock::now() - std::chrono::seconds(1)};
  EXPECT_EQ(Pc(**test, o).status().code(), StatusCode::kDeadlineExceeded);
  o.threads = 4;
  EXPECT_EQ(Pc(**test, o).status().code(), StatusCode::kDeadlineExceeded);
}

TEST(PcTest, HandlesOneVariable) {
  Eigen::MatrixXd data(17, 1);
  data << Hadamard(16, 1);
  const Graph g = RunPc(data, PcOptions{});
  EXPECT_EQ(g.size(), 1);
  EXPECT_EQ(g.NumEdges(), 0);
}

}  // namespace
}  // namespace llmrca::causal
