#include "rca/graph_rankers.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "causal/graph.h"
#include "data/csv.h"
#include "data/preprocess.h"

namespace llmrca::rca {
namespace {

namespace fs = std::filesystem;

Eigen::MatrixXi Adjacency(int n, const std::vector<std::pair<int, int>>& edges) {
  Eigen::MatrixXi a = Eigen::MatrixXi::Zero(n, n);
  for (auto [from, to] : edges) a(from, to) = 1;
  return a;
}

PageRankOptions Converge() {
  PageRankOptions o;
  o.max_iter = 100000;
  o.tol = 1e-15;
  return o;
}

// Indices sorted by score, descending, ties by index: Python's sorted(..., reverse=True).
std::vector<int> Order(const std::vector<double>& scores) {
  std::vector<int> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) {
    return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)];
  });
  return idx;
}

double Sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// ---- PageRank: hand-computed values (d = 0.85, so 1 - d = 0.15) ------------------------------

TEST(PageRankTest, ChainFirstIterateByHand) {
  // 0 -> 1 -> 2, uniform seeds 1/3. Node 2 has no out-edge: b = (0.05, 0.05, 1/3), sum 13/30.
  // One step: x' = W b + b * 13/30 = (13/600, 77/1200, 673/3600), sum 982/3600, so the
  // normalised iterate is (78, 231, 673) / 982; max_iter = 1 returns it unconverged.
  PageRankOptions o;
  o.max_iter = 1;
  const std::vector<double> x = PageRank(Adjacency(3, {{0, 1}, {1, 2}}), o);
  ASSERT_EQ(x.size(), 3u);
  EXPECT_NEAR(x[0], 78.0 / 982, 1e-15);
  EXPECT_NEAR(x[1], 231.0 / 982, 1e-15);
  EXPECT_NEAR(x[2], 673.0 / 982, 1e-15);
}

TEST(PageRankTest, ZeroIterationsReturnTheNormalisedRestartVector) {
  // b / sum(b) = (0.05, 0.05, 1/3) / (13/30) = (3/26, 3/26, 10/13).
  PageRankOptions o;
  o.max_iter = 0;
  const std::vector<double> x = PageRank(Adjacency(3, {{0, 1}, {1, 2}}), o);
  EXPECT_NEAR(x[0], 3.0 / 26, 1e-15);
  EXPECT_NEAR(x[1], 3.0 / 26, 1e-15);
  EXPECT_NEAR(x[2], 10.0 / 13, 1e-15);
}

TEST(PageRankTest, ConvergenceReturnsThePreviousIterate) {
  // With a huge tolerance the first step already "converges", and the reference keeps the
  // iterate before it: the start vector b, normalised (see above), not 78/982...
  PageRankOptions o;
  o.max_iter = 10;
  o.tol = 10;
  const std::vector<double> x = PageRank(Adjacency(3, {{0, 1}, {1, 2}}), o);
  EXPECT_NEAR(x[0], 3.0 / 26, 1e-15);
  EXPECT_NEAR(x[2], 10.0 / 13, 1e-15);
}

TEST(PageRankTest, ChainConvergesToTheFixedPoint) {
  // The limit x (sum 1) satisfies lambda x = W x + b with lambda = 0.85 (x0 + x1) + 13/30:
  // lambda x0 = 0.05, lambda x1 = 0.85 x0 + 0.05, lambda x2 = 0.85 x1 + 1/3.
  const std::vector<double> x = PageRank(Adjacency(3, {{0, 1}, {1, 2}}), Converge());
  const double lambda = 0.85 * (x[0] + x[1]) + 13.0 / 30;
  EXPECT_NEAR(lambda * x[0], 0.05, 1e-12);
  EXPECT_NEAR(lambda * x[1], 0.85 * x[0] + 0.05, 1e-12);
  EXPECT_NEAR(lambda * x[2], 0.85 * x[1] + 1.0 / 3, 1e-12);
  EXPECT_NEAR(Sum(x), 1, 1e-15);
  EXPECT_EQ(Order(x), (std::vector<int>{2, 1, 0}));
}

TEST(PageRankTest, StarConvergesToTheHandSolution) {
  // Leaves 1..4 -> centre 0, uniform seeds 1/5: b_leaf = 0.15/5 = 0.03, b_centre = 1/5.
  // By symmetry x_leaf = 0.03 / lambda with lambda = 0.85 * 4 x_leaf + 4 * 0.03 + 0.2, so
  // 3.4 x^2 + 0.32 x - 0.03 = 0: x_leaf = (-0.32 + sqrt(0.32^2 + 4 * 3.4 * 0.03)) / 6.8.
  const std::vector<double> x =
      PageRank(Adjacency(5, {{1, 0}, {2, 0}, {3, 0}, {4, 0}}), Converge());
  const double leaf = (-0.32 + std::sqrt(0.32 * 0.32 + 4 * 3.4 * 0.03)) / 6.8;
  EXPECT_NEAR(leaf, 0.0580034, 1e-7);
  for (int i = 1; i < 5; ++i) EXPECT_NEAR(x[static_cast<size_t>(i)], leaf, 1e-12);
  EXPECT_NEAR(x[0], 1 - 4 * leaf, 1e-12);
  // The leaves are bit-identical (exact ties keep the reference's tie order).
  EXPECT_EQ(x[1], x[2]);
  EXPECT_EQ(x[3], x[4]);
}

TEST(PageRankTest, DanglingNodeKeepsItsWholeTeleportShare) {
  // 0 -> 1, node 1 dangling, seeds (s0, s1): b = (0.15 s0, s1); x0 lambda = 0.15 s0 with
  // lambda = 0.85 x0 + 0.15 s0 + s1, so 0.85 x0^2 + (0.15 s0 + s1) x0 - 0.15 s0 = 0.
  auto expected_x0 = [](double s0, double s1) {
    const double p = 0.15 * s0 + s1;
    return (-p + std::sqrt(p * p + 4 * 0.85 * 0.15 * s0)) / 1.7;
  };
  const Eigen::MatrixXi a = Adjacency(2, {{0, 1}});
  const std::vector<double> uniform = PageRank(a, Converge());
  EXPECT_NEAR(uniform[0], expected_x0(0.5, 0.5), 1e-12);  // 0.111918
  EXPECT_NEAR(uniform[0], 0.111918, 1e-6);
  EXPECT_NEAR(uniform[1], 1 - uniform[0], 1e-12);
}

TEST(PageRankTest, PersonalisationMovesMassToTheSeeds) {
  const Eigen::MatrixXi a = Adjacency(2, {{0, 1}});
  PageRankOptions o = Converge();
  o.seeds = {9, 1};  // normalised to (0.9, 0.1)
  const std::vector<double> x = PageRank(a, o);
  const double p = 0.15 * 0.9 + 0.1;
  EXPECT_NEAR(x[0], (-p + std::sqrt(p * p + 4 * 0.85 * 0.15 * 0.9)) / 1.7, 1e-12);  // 0.283585
  EXPECT_GT(x[0], PageRank(a, Converge())[0]);

  // Seeds on a star's leaf lift it above the other leaves.
  PageRankOptions leaf = Converge();
  leaf.seeds = {0, 0, 0, 1, 0};
  const std::vector<double> y = PageRank(Adjacency(5, {{1, 0}, {2, 0}, {3, 0}, {4, 0}}), leaf);
  EXPECT_GT(y[3], y[1]);
  EXPECT_EQ(y[1], 0);  // no restart mass and no in-edge
}

TEST(PageRankTest, ZeroNegativeAndNonFiniteSeedsFallBack) {
  const Eigen::MatrixXi a = Adjacency(3, {{0, 1}, {1, 2}});
  const std::vector<double> plain = PageRank(a, {});
  PageRankOptions zero;
  zero.seeds = {0, 0, 0};
  EXPECT_EQ(PageRank(a, zero), plain);  // all zero: uniform
  PageRankOptions bad;
  bad.seeds = {-3, std::nan(""), 1};  // read as (0, 0, 1)
  PageRankOptions clean;
  clean.seeds = {0, 0, 1};
  EXPECT_EQ(PageRank(a, bad), PageRank(a, clean));
}

TEST(PageRankTest, IterationCapReturnsANonConvergedVector) {
  const Eigen::MatrixXi a = Adjacency(3, {{0, 1}, {1, 2}});
  PageRankOptions capped;
  capped.max_iter = 1;
  capped.tol = 0;
  const std::vector<double> one = PageRank(a, capped);
  const std::vector<double> limit = PageRank(a, Converge());
  EXPECT_GT(std::abs(one[2] - limit[2]), 1e-3);
  capped.max_iter = 2;
  EXPECT_NE(PageRank(a, capped), one);
}

TEST(PageRankTest, CycleIsUniform) {
  const std::vector<double> x = PageRank(Adjacency(3, {{0, 1}, {1, 2}, {2, 0}}), {});
  for (double v : x) EXPECT_NEAR(v, 1.0 / 3, 1e-15);
}

TEST(PageRankTest, DifferentGraphDifferentRanking) {
  const std::vector<double> forward = PageRank(Adjacency(3, {{0, 1}, {1, 2}}), {});
  const std::vector<double> backward = PageRank(Adjacency(3, {{2, 1}, {1, 0}}), {});
  EXPECT_EQ(Order(forward), (std::vector<int>{2, 1, 0}));
  EXPECT_EQ(Order(backward), (std::vector<int>{0, 1, 2}));
}

TEST(PageRankTest, EdgelessGraphReturnsTheSeeds) {
  // Deviation: scikit-network raises on an empty matrix; every node keeps its restart share.
  PageRankOptions o;
  o.seeds = {1, 3};
  const std::vector<double> x = PageRank(Eigen::MatrixXi::Zero(2, 2), o);
  EXPECT_DOUBLE_EQ(x[0], 0.25);
  EXPECT_DOUBLE_EQ(x[1], 0.75);
  EXPECT_TRUE(PageRank(Eigen::MatrixXi::Zero(0, 0), {}).empty());
}

// ---- PageRank: parity with the reference's pc_pagerank ---------------------------------------

// The graphs causal-learn 0.1.3.3 pc(data) (defaults) learns on the six parity cases, as the
// reference's pc_pagerank builds them: the networkx DiGraph (cause -> effect, undirected pairs
// both ways) over the nodes with an edge, renumbered 0..m-1 in sorted order. Obtained with
// PYTHONPATH=<causal-learn 0.1.3.3> /usr/bin/python3 (numpy 1.24.2, networkx 2.8.8), reading
// data.csv, dropping `time` and constant columns, then pc(df.to_numpy()) and
// nx.to_numpy_matrix(G, nodelist=sorted(G.nodes())) as e2e/pc_pagerank.py does; see
// testdata/README.md. The expected rankings are the reference's own (reference.json).
struct PcCase {
  std::string dir;
  int m;
  std::vector<std::pair<int, int>> edges;
};

std::vector<PcCase> PcCases() {
  return {
      {"ray-head_cpu/1", 14, {{1, 11}, {2, 12}, {3, 4}, {4, 3}, {4, 6}, {5, 0}, {5, 7}, {6, 4},
                              {8, 0}, {10, 7}, {10, 9}, {11, 1}, {12, 2}, {13, 9}}},
      {"ray-head_delay/1", 17, {{0, 11}, {2, 1}, {3, 7}, {4, 15}, {5, 9}, {6, 1}, {6, 9},
                                {7, 3}, {9, 5}, {9, 6}, {9, 8}, {11, 0}, {11, 10}, {12, 14},
                                {13, 16}, {14, 8}, {14, 12}, {15, 4}, {16, 10}, {16, 13}}},
      {"ray-replicas-0_gpu/1", 14, {{0, 11}, {0, 12}, {1, 13}, {2, 6}, {2, 8}, {3, 4}, {5, 11},
                                    {6, 2}, {7, 10}, {8, 2}, {8, 9}, {9, 8}, {10, 4}, {12, 0},
                                    {12, 10}, {13, 1}, {13, 4}}},
      {"ray-replicas-0_memory/1", 18, {{0, 10}, {1, 5}, {3, 12}, {4, 10}, {5, 1}, {6, 17},
                                       {7, 2}, {7, 9}, {8, 11}, {9, 7}, {11, 8}, {11, 13},
                                       {12, 2}, {12, 3}, {13, 11}, {14, 15}, {15, 14}, {16, 17}}},
      {"ray-replicas-1_delay/1", 16, {{0, 1}, {0, 14}, {2, 10}, {2, 11}, {3, 8}, {3, 14},
                                      {4, 5}, {6, 1}, {7, 15}, {8, 3}, {8, 5}, {9, 14}, {10, 2},
                                      {11, 2}, {12, 6}, {13, 6}, {15, 7}}},
      {"ray-replicas-2_cpu/1", 16, {{1, 3}, {1, 4}, {1, 12}, {2, 8}, {3, 1}, {3, 7}, {4, 1},
                                    {5, 11}, {6, 9}, {7, 3}, {8, 2}, {9, 6}, {9, 14}, {10, 0},
                                    {11, 0}, {11, 5}, {12, 1}, {12, 15}, {13, 0}, {14, 9},
                                    {15, 12}}},
  };
}

const fs::path kParity = fs::path(LLMRCA_TESTDATA_DIR) / "parity";

std::vector<std::string> ReferenceRanking(const std::string& dir, const std::string& method) {
  std::ifstream in(kParity / dir / "reference.json");
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains(method)) return {};
  return doc.at(method).get<std::vector<std::string>>();
}

// The column names after the reference's preprocess: `time` and constant columns dropped.
std::vector<std::string> ReferenceColumns(const std::string& dir) {
  Result<data::Frame> f = data::ReadMetricsCsv(kParity / dir / "data.csv");
  EXPECT_TRUE(f.ok()) << f.status().message();
  if (!f.ok()) return {};
  return data::DropConstantColumns(*f).Names();
}

TEST(PageRankTest, ReproducesTheReferencePcPagerankRankings) {
  for (const PcCase& c : PcCases()) {
    const std::vector<std::string> names = ReferenceColumns(c.dir);
    const std::vector<std::string> want = ReferenceRanking(c.dir, "pc_pagerank");
    ASSERT_EQ(want.size(), 10u) << c.dir;
    // pc_pagerank: PageRank of adj.T with the defaults, zipped with the first m column names.
    const Eigen::MatrixXi a = Adjacency(c.m, c.edges);
    const std::vector<double> scores = PageRank(a.transpose(), PageRankOptions{});
    std::vector<std::string> got;
    for (int i : Order(scores)) got.push_back(names[static_cast<size_t>(i)]);
    got.resize(want.size());
    EXPECT_EQ(got, want) << c.dir;
  }
}

// ---- RandomWalk (the intended, anomaly-weighted walk) ----------------------------------------

causal::Graph Directed(int n, const std::vector<std::pair<int, int>>& edges) {
  return causal::Graph::FromDirected(Adjacency(n, edges));
}

TEST(RandomWalkTest, WalkFromTheSymptomEndsInTheCause) {
  // Cause 0 -> 1 -> 2 (the symptom, where the walk starts), |a| = (5, 2, 1), rho = 0.5.
  // From 2: to cause 1 weight 2, self max(1 - 2, 0) = 0        -> P(2->1) = 1.
  // From 1: to cause 0 weight 5, to effect 2 0.5 * 1, self 0   -> P(1->0) = 10/11, P(1->2) = 1/11.
  // From 0: to effect 1 0.5 * 2 = 1, self max(5 - 1, 0) = 4    -> P(0->1) = 1/5, P(0->0) = 4/5.
  // Stationary: pi1 = 0.22 pi0, pi2 = 0.02 pi0, so pi = (1, 0.22, 0.02) / 1.24.
  RandomWalkOptions o;
  o.start = 2;
  o.steps = 200000;
  o.seed = 11;
  const std::vector<double> v =
      RandomWalk(Directed(3, {{0, 1}, {1, 2}}), std::vector<double>{5, 2, 1}, o);
  EXPECT_NEAR(v[0], 1 / 1.24, 0.01);
  EXPECT_NEAR(v[1], 0.22 / 1.24, 0.01);
  EXPECT_NEAR(v[2], 0.02 / 1.24, 0.005);
  EXPECT_EQ(Order(v)[0], 0);
  EXPECT_NEAR(Sum(v), 1, 1e-12);
}

TEST(RandomWalkTest, ReversedGraphChangesTheWalk) {
  // Same scores on 2 -> 1 -> 0. From 0: to cause 1 weight 2, self 3 -> P(0->1) = 0.4.
  // From 1: to cause 2 weight 1, to effect 0 0.5 * 5 = 2.5 -> P(1->2) = 2/7, P(1->0) = 5/7.
  // From 2: to effect 1 0.5 * 2 = 1, self 0 -> P(2->1) = 1. pi = (1, 0.56, 0.16) / 1.72.
  RandomWalkOptions o;
  o.steps = 200000;
  o.seed = 12;
  const std::vector<double> v =
      RandomWalk(Directed(3, {{2, 1}, {1, 0}}), std::vector<double>{5, 2, 1}, o);
  EXPECT_NEAR(v[0], 1 / 1.72, 0.01);
  EXPECT_NEAR(v[1], 0.56 / 1.72, 0.01);
  EXPECT_NEAR(v[2], 0.16 / 1.72, 0.01);
}

TEST(RandomWalkTest, UndirectedEdgesUseTheFullWeight) {
  // 0 -- 1 with |a| = (1, 3): from 0 to 1 weight 3 (self 0); from 1 to 0 weight 1, self 2.
  // P(0->1) = 1, P(1->0) = 1/3: pi = (1/4, 3/4).
  causal::Graph g(2);
  g.SetEdge(0, 1, causal::Mark::kTail, causal::Mark::kTail);
  RandomWalkOptions o;
  o.steps = 100000;
  o.seed = 5;
  const std::vector<double> v = RandomWalk(g, std::vector<double>{1, 3}, o);
  EXPECT_NEAR(v[0], 0.25, 0.01);
  EXPECT_NEAR(v[1], 0.75, 0.01);
}

TEST(RandomWalkTest, StartsAtTheMostAnomalousNode) {
  // Node 2 is isolated and the most anomalous: the default start, and it only stays there.
  const std::vector<double> v = RandomWalk(Directed(3, {{0, 1}}), std::vector<double>{1, 2, 9}, {});
  EXPECT_EQ(v, (std::vector<double>{0, 0, 1}));
}

TEST(RandomWalkTest, AllZeroScoresMoveUniformly) {
  RandomWalkOptions o;
  o.steps = 40000;
  const std::vector<double> v =
      RandomWalk(Directed(4, {{0, 1}, {1, 2}}), std::vector<double>{0, 0, 0, 0}, o);
  for (double x : v) EXPECT_NEAR(x, 0.25, 0.015);
  // Non-finite scores count as 0.
  const std::vector<double> w =
      RandomWalk(Directed(4, {{0, 1}, {1, 2}}), std::vector<double>{std::nan(""), 0, 0, 0}, o);
  EXPECT_EQ(v, w);
}

TEST(RandomWalkTest, DeterministicForASeed) {
  const causal::Graph g = Directed(4, {{0, 1}, {1, 2}, {3, 2}});
  const std::vector<double> a = {4, 2, 3, 1};
  RandomWalkOptions o;
  o.seed = 99;
  const std::vector<double> first = RandomWalk(g, a, o);
  EXPECT_EQ(first, RandomWalk(g, a, o));
  EXPECT_NEAR(Sum(first), 1, 1e-12);
  o.seed = 100;
  EXPECT_NE(first, RandomWalk(g, a, o));
  EXPECT_TRUE(RandomWalk(causal::Graph(0), {}, {}).empty());
}

// ---- RcaevalUniformWalk -----------------------------------------------------------------------

TEST(RcaevalUniformWalkTest, MatchesNumpyDraws) {
  // n = 20; r = np.random.default_rng(0); p = np.full(n, 1 / n); cnt = [0] * n
  // for _ in range(20): cnt[r.choice(np.arange(n), p=p)] += 1    (NumPy 1.24.2)
  // -> [4, 0, 0, 1, 0, 2, 0, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2, 2, 2, 0]
  const std::vector<int> counts = {4, 0, 0, 1, 0, 2, 0, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2, 2, 2, 0};
  std::vector<double> expected;
  for (int c : counts) expected.push_back(c / 20.0);
  EXPECT_EQ(RcaevalUniformWalk(20, 20), expected);
}

TEST(RcaevalUniformWalkTest, DegenerateSizes) {
  EXPECT_TRUE(RcaevalUniformWalk(0, 10).empty());
  EXPECT_EQ(RcaevalUniformWalk(3, 0), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(RcaevalUniformWalk(1, 5), (std::vector<double>{1}));
}

TEST(RcaevalUniformWalkTest, ReproducesTheReferencePcRandomwalkRankings) {
  // The reference's pc_randomwalk ran random_walk() with all-zero scores over the case's
  // non-constant columns, num_loop = n_iter = 20 (testdata/parity/README.md).
  int checked = 0;
  for (const PcCase& c : PcCases()) {
    const std::vector<std::string> names = ReferenceColumns(c.dir);
    if (names.size() != 20) continue;
    const std::vector<std::string> want = ReferenceRanking(c.dir, "pc_randomwalk");
    ASSERT_EQ(want.size(), 10u) << c.dir;
    std::vector<std::string> got;
    for (int i : Order(RcaevalUniformWalk(20, 20))) got.push_back(names[static_cast<size_t>(i)]);
    got.resize(want.size());
    EXPECT_EQ(got, want) << c.dir;
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

}  // namespace
}  // namespace llmrca::rca
