#include "causal/fci.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "stats/ci_test.h"

namespace llmrca::causal {
namespace {

// ---- Helpers ------------------------------------------------------------------------------

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

// A parity case as the study's graph methods see it (testdata/parity/README.md): data.csv
// without `time`, without constant columns (all rows equal to the first); no NaN, no `_mem`.
struct Frame {
  std::vector<std::string> names;
  Eigen::MatrixXd values;
};

Frame LoadParityCase(const std::string& name) {
  std::ifstream in(std::string(LLMRCA_TESTDATA_DIR) + "/parity/" + name + "/1/data.csv");
  EXPECT_TRUE(in.good()) << name;
  std::string line, cell;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  while (std::getline(hs, cell, ',')) header.push_back(cell);
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream ls(line);
    while (std::getline(ls, cell, ',')) row.push_back(std::strtod(cell.c_str(), nullptr));
    EXPECT_EQ(row.size(), header.size());
    rows.push_back(std::move(row));
  }
  Frame f;
  std::vector<size_t> keep;
  for (size_t j = 0; j < header.size(); ++j) {
    if (header[j] == "time") continue;
    bool varies = false;
    for (const auto& r : rows) varies = varies || r[j] != rows[0][j];
    if (varies) keep.push_back(j);
  }
  f.values.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(keep.size()));
  for (size_t k = 0; k < keep.size(); ++k) {
    f.names.push_back(header[keep[k]]);
    for (size_t i = 0; i < rows.size(); ++i) {
      f.values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = rows[i][keep[k]];
    }
  }
  return f;
}

Eigen::MatrixXi ToMatrix(const nlohmann::json& rows) {
  const auto n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXi m(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) {
      m(i, j) = rows[static_cast<size_t>(i)][static_cast<size_t>(j)].get<int>();
    }
  }
  return m;
}

// "(i,j): got g want w" for every differing cell, empty when equal.
std::string Diff(const Eigen::MatrixXi& got, const Eigen::MatrixXi& want) {
  if (got.rows() != want.rows()) return fmt::format("size {} vs {}", got.rows(), want.rows());
  std::string out;
  for (Eigen::Index i = 0; i < got.rows(); ++i) {
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      if (got(i, j) != want(i, j)) out += fmt::format("({},{}): got {} want {}; ", i, j, got(i, j), want(i, j));
    }
  }
  return out;
}

// A CI test that answers from a DAG by d-separation (causal-learn's "d_separation" test):
// p = 1 when separated, else 0. Nodes n_observed.. are latent: never tested, still on paths.
class DSeparationOracle final : public stats::CiTest {
 public:
  DSeparationOracle(int n_total, int n_observed, const std::vector<std::pair<int, int>>& edges)
      : n_(n_total), n_observed_(n_observed), parents_(static_cast<size_t>(n_total)) {
    for (const auto& [from, to] : edges) parents_[static_cast<size_t>(to)].push_back(from);
  }

  Result<double> PValue(int x, int y, std::span<const int> s) const override {
    // Moralised ancestral graph of {x, y} u s, minus s: separated iff y is unreachable from x.
    std::vector<char> anc(static_cast<size_t>(n_), 0), in_s(static_cast<size_t>(n_), 0);
    std::deque<int> todo = {x, y};
    for (int v : s) {
      todo.push_back(v);
      in_s[static_cast<size_t>(v)] = 1;
    }
    while (!todo.empty()) {
      const int v = todo.front();
      todo.pop_front();
      if (anc[static_cast<size_t>(v)]) continue;
      anc[static_cast<size_t>(v)] = 1;
      for (int p : parents_[static_cast<size_t>(v)]) todo.push_back(p);
    }
    std::vector<std::vector<int>> moral(static_cast<size_t>(n_));
    for (int v = 0; v < n_; ++v) {
      if (!anc[static_cast<size_t>(v)]) continue;
      const std::vector<int>& ps = parents_[static_cast<size_t>(v)];
      for (size_t i = 0; i < ps.size(); ++i) {
        moral[static_cast<size_t>(v)].push_back(ps[i]);
        moral[static_cast<size_t>(ps[i])].push_back(v);
        for (size_t j = i + 1; j < ps.size(); ++j) {
          moral[static_cast<size_t>(ps[i])].push_back(ps[j]);
          moral[static_cast<size_t>(ps[j])].push_back(ps[i]);
        }
      }
    }
    std::vector<char> seen(static_cast<size_t>(n_), 0);
    std::deque<int> queue = {x};
    seen[static_cast<size_t>(x)] = 1;
    while (!queue.empty()) {
      const int v = queue.front();
      queue.pop_front();
      if (v == y) return 0.0;
      for (int w : moral[static_cast<size_t>(v)]) {
        if (seen[static_cast<size_t>(w)] || in_s[static_cast<size_t>(w)]) continue;
        seen[static_cast<size_t>(w)] = 1;
        queue.push_back(w);
      }
    }
    return 1.0;
  }
  int NumVariables() const override { return n_observed_; }
  int NumSamples() const override { return 1000; }
  std::string_view Name() const override { return "d_separation"; }

 private:
  int n_;
  int n_observed_;
  std::vector<std::vector<int>> parents_;
};

// A linear-Gaussian SEM: x_v = sum over edges u -> v of w * x_u + N(0, 1), nodes in index
// order (edges must go from lower to higher index); weights uniform in +-[0.5, 1.0].
Eigen::MatrixXd SampleSem(int n_nodes, const std::vector<std::pair<int, int>>& edges, int rows,
                          uint64_t seed) {
  Rng rng(seed);
  std::vector<double> weight;
  for (size_t e = 0; e < edges.size(); ++e) {
    const double w = 0.5 + 0.5 * rng.Uniform();
    weight.push_back(rng.Uniform() < 0.5 ? -w : w);
  }
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(rows, n_nodes);
  for (int i = 0; i < rows; ++i) {
    for (int v = 0; v < n_nodes; ++v) {
      double value = rng.Normal();
      for (size_t e = 0; e < edges.size(); ++e) {
        if (edges[e].second == v) value += weight[e] * x(i, edges[e].first);
      }
      x(i, v) = value;
    }
  }
  return x;
}

std::vector<std::pair<int, int>> RandomDagEdges(int n, double p, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::pair<int, int>> edges;
  for (int u = 0; u < n; ++u) {
    for (int v = u + 1; v < n; ++v) {
      if (rng.Uniform() < p) edges.emplace_back(u, v);
    }
  }
  return edges;
}

Result<Graph> RunFisherZ(const Eigen::MatrixXd& data, const FciOptions& o) {
  LLMRCA_ASSIGN_OR_RETURN(std::unique_ptr<stats::FisherZTest> test,
                          stats::FisherZTest::Create(data, /*pseudo_inverse_fallback=*/false));
  return Fci(*test, o);
}

// ---- (a) Parity with causal-learn -----------------------------------------------------------

// Expected: causal-learn 0.1.3.3 fci(data, node_names=...) with defaults (as RCAEval's
// fci_default calls it) on testdata/parity/<case>/1, G.graph; see testdata/README.md.
TEST(FciTest, MatchesCausalLearnOnParityCases) {
  const nlohmann::json fixture =
      ReadJson(std::string(LLMRCA_TESTDATA_DIR) + "/causal/fci_parity.json");
  ASSERT_EQ(fixture["cases"].size(), 6u);
  for (const nlohmann::json& c : fixture["cases"]) {
    const std::string name = c["case"].get<std::string>();
    SCOPED_TRACE(name);
    const Frame f = LoadParityCase(name);
    ASSERT_EQ(f.names, c["columns"].get<std::vector<std::string>>());
    Result<Graph> g = RunFisherZ(f.values, FciOptions{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(Diff(g->EndpointMatrix(), ToMatrix(c["graph"])), "");
  }
}

// Expected: causal-learn 0.1.3.3 fci(..., "d_separation", true_dag=...) on small random DAGs
// with latent nodes, chosen so that between them R1, R2, R4 (both outcomes) and the
// possible-d-sep removal fire; see testdata/README.md.
TEST(FciTest, MatchesCausalLearnUnderADSeparationOracle) {
  const nlohmann::json fixture =
      ReadJson(std::string(LLMRCA_TESTDATA_DIR) + "/causal/fci_oracle.json");
  ASSERT_FALSE(fixture["cases"].empty());
  int k = 0;
  for (const nlohmann::json& c : fixture["cases"]) {
    SCOPED_TRACE(fmt::format("case {}", k++));
    const int n_obs = c["n_observed"].get<int>();
    const int n_lat = c["n_latent"].get<int>();
    const auto edges = c["edges"].get<std::vector<std::pair<int, int>>>();
    const DSeparationOracle oracle(n_obs + n_lat, n_obs, edges);
    Result<Graph> g = Fci(oracle, FciOptions{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(Diff(g->EndpointMatrix(), ToMatrix(c["graph"])), "");
  }
}

// ---- (b) Structure recovery -----------------------------------------------------------------

// Observed X0..X7 and a latent L (node 8): X0 -> X1, X0 -> X2, X1 -> X3, X2 -> X3, L -> X3,
// L -> X5, X4 -> X5, X5 -> X6, X6 -> X7. L is dropped from the data, so X3 and X5 are
// dependent given anything and the PAG has X1 -> X3 <-> X5 <- X4 (colliders at X3 and X5),
// X5 -> X6 -> X7 (R1). Seed 7, 2,000 rows: precision 1.0, recall 1.0 against the MAG's
// skeleton (the DAG's observed edges plus X3 - X5), and X3 <-> X5 exactly.
TEST(FciTest, RecoversSkeletonAndLatentConfounder) {
  const std::vector<std::pair<int, int>> dag = {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {8, 3},
                                                {8, 5}, {4, 5}, {5, 6}, {6, 7}};
  // SampleSem wants edges from lower to higher index; rename L to 0 and shift the rest.
  std::vector<std::pair<int, int>> shifted;
  for (const auto& [u, v] : dag) shifted.emplace_back(u == 8 ? 0 : u + 1, v == 8 ? 0 : v + 1);
  const Eigen::MatrixXd full = SampleSem(9, shifted, 2000, 7);
  const Eigen::MatrixXd observed = full.rightCols(8);

  Result<Graph> g = RunFisherZ(observed, FciOptions{});
  ASSERT_TRUE(g.ok()) << g.status().ToString();

  std::vector<std::pair<int, int>> truth = {{0, 1}, {0, 2}, {1, 3}, {2, 3},
                                            {3, 5}, {4, 5}, {5, 6}, {6, 7}};
  int true_pos = 0;
  for (const auto& [u, v] : truth) true_pos += g->Adjacent(u, v) ? 1 : 0;
  const double recall = static_cast<double>(true_pos) / static_cast<double>(truth.size());
  const double precision = static_cast<double>(true_pos) / std::max(1, g->NumEdges());
  EXPECT_GE(recall, 0.85);
  EXPECT_GE(precision, 0.85);

  ASSERT_TRUE(g->Adjacent(3, 5));
  const Mark at3 = g->At(3, 5), at5 = g->At(5, 3);
  const bool no_tail = at3 != Mark::kTail && at5 != Mark::kTail;
  const bool an_arrow = at3 == Mark::kArrow || at5 == Mark::kArrow;
  EXPECT_TRUE(no_tail && an_arrow) << "X3 " << static_cast<int>(at3) << " X5 " << static_cast<int>(at5);
}

// ---- (c) Hand-sized examples ------------------------------------------------------------------

// X0 -> X2 <- X1 under a d-separation oracle. Hand: the adjacency search separates X0 and X1
// by the empty set, so X2 is not in their sepset and rule 0 orients X0 o-> X2 <-o X1.
TEST(FciTest, OrientsAnUnshieldedCollider) {
  const DSeparationOracle oracle(3, 3, {{0, 2}, {1, 2}});
  Result<Graph> g = Fci(oracle, FciOptions{});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Eigen::MatrixXi want(3, 3);
  want << 0, 0, 2,  //
      0, 0, 2,      //
      1, 1, 0;
  EXPECT_EQ(Diff(g->EndpointMatrix(), want), "");
}

// X0 -> X2 <- X1 and X2 -> X3. Hand: rule 0 gives X0 o-> X2 <-o X1; X3 is separated from X0
// (and X1) by {X2}, so X2 o-o X3 stays uncollided, and R1 (X0 *-> X2 o-* X3, X0 and X3 not
// adjacent) turns it into X2 -> X3.
TEST(FciTest, OrientsAwayFromAColliderWithR1) {
  const DSeparationOracle oracle(4, 4, {{0, 2}, {1, 2}, {2, 3}});
  Result<Graph> g = Fci(oracle, FciOptions{});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Eigen::MatrixXi want(4, 4);
  want << 0, 0, 2, 0,  //
      0, 0, 2, 0,      //
      1, 1, 0, -1,     //
      0, 0, 1, 0;
  EXPECT_EQ(Diff(g->EndpointMatrix(), want), "");
}

// A latent L -> X1, L -> X2 with X0 -> X1 and X3 -> X2. Hand: colliders X0 *-> X1 <-* X2
// (X0, X2 separated by {}) and X1 *-> X2 <-* X3 give X1 <-> X2, the latent's trace.
TEST(FciTest, MarksALatentConfounderBidirected) {
  const DSeparationOracle oracle(5, 4, {{4, 1}, {4, 2}, {0, 1}, {3, 2}});
  Result<Graph> g = Fci(oracle, FciOptions{});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Eigen::MatrixXi want(4, 4);
  want << 0, 2, 0, 0,  //
      1, 0, 1, 0,      //
      0, 1, 0, 1,      //
      0, 0, 2, 0;
  EXPECT_EQ(Diff(g->EndpointMatrix(), want), "");
}

// ---- (d) Threads ------------------------------------------------------------------------------

TEST(FciTest, SameGraphWithOneAndFourThreads) {
  const Eigen::MatrixXd data = SampleSem(16, RandomDagEdges(16, 0.25, 11), 500, 12);
  FciOptions one, four;
  four.threads = 4;
  Result<Graph> g1 = RunFisherZ(data, one);
  Result<Graph> g4 = RunFisherZ(data, four);
  ASSERT_TRUE(g1.ok() && g4.ok());
  EXPECT_GT(g1->NumEdges(), 0);
  EXPECT_EQ(Diff(g4->EndpointMatrix(), g1->EndpointMatrix()), "");

  const Frame f = LoadParityCase("ray-head_delay");
  Result<Graph> p1 = RunFisherZ(f.values, one);
  Result<Graph> p4 = RunFisherZ(f.values, four);
  ASSERT_TRUE(p1.ok() && p4.ok());
  EXPECT_EQ(Diff(p4->EndpointMatrix(), p1->EndpointMatrix()), "");
}

// ---- (e)-(g) Errors ---------------------------------------------------------------------------

TEST(FciTest, RejectsBadOptions) {
  const DSeparationOracle oracle(3, 3, {{0, 2}, {1, 2}});
  auto code = [&](const FciOptions& o) { return Fci(oracle, o).status().code(); };
  FciOptions o;
  for (double alpha : {0.0, 1.0, -0.1, 1.5, std::nan("")}) {
    o = FciOptions{};
    o.alpha = alpha;
    EXPECT_EQ(code(o), StatusCode::kInvalidArgument) << alpha;
  }
  o = FciOptions{};
  o.depth = -2;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = FciOptions{};
  o.max_path_length = -2;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = FciOptions{};
  o.threads = 0;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
}

TEST(FciTest, StopsWhenTheDeadlineHasPassed) {
  const Eigen::MatrixXd data = SampleSem(8, RandomDagEdges(8, 0.3, 3), 200, 4);
  FciOptions o;
  o.deadline = Deadline{std::chrono::steady_clock::now() - std::chrono::seconds(1)};
  EXPECT_EQ(RunFisherZ(data, o).status().code(), StatusCode::kDeadlineExceeded);
}

// A duplicated column makes the 2 x 2 correlation matrix of the pair singular: the Fisher-z
// test (without its pseudo-inverse fallback, as causal-learn) fails, and FCI passes that on.
TEST(FciTest, PassesOnTheCiTestsDataErrorForASingularCorrelation) {
  Eigen::MatrixXd data = SampleSem(4, {{0, 1}, {1, 2}}, 200, 5);
  data.col(3) = data.col(0);
  EXPECT_EQ(RunFisherZ(data, FciOptions{}).status().code(), StatusCode::kDataError);
}

TEST(FciTest, HandlesZeroAndOneVariable) {
  for (int n : {0, 1}) {
    const DSeparationOracle oracle(n, n, {});
    Result<Graph> g = Fci(oracle, FciOptions{});
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->size(), n);
  }
}

}  // namespace
}  // namespace llmrca::causal
