#include "rca/graph_rankers.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "base/check.h"
#include "base/random.h"
#include "stats/numpy_random.h"

namespace llmrca::rca {
namespace {

// NumPy's pairwise summation (np.sum / np.add.reduce of a contiguous float64 array, 1.24):
// a plain loop below 8 items, eight interleaved accumulators up to a block of 128, and halving
// (at a multiple of 8) above. Reproduced so that sums, and hence ties, are bit-identical.
constexpr size_t kPairwiseBlock = 128;  // NumPy's PW_BLOCKSIZE

double PairwiseSum(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= kPairwiseBlock) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t half = n / 2;
  half -= half % 8;
  return PairwiseSum(a, half) + PairwiseSum(a + half, n - half);
}

double NumpySum(const std::vector<double>& v) { return PairwiseSum(v.data(), v.size()); }

// A weight that must be a finite non-negative number: anything else counts as 0.
double CleanWeight(double w) { return std::isfinite(w) && w > 0 ? w : 0.0; }

}  // namespace

std::vector<double> PageRank(const Eigen::MatrixXi& adj, const PageRankOptions& options) {
  LLMRCA_CHECK(adj.rows() == adj.cols()) << "PageRank: adjacency is " << adj.rows() << " x "
                                         << adj.cols();
  const double d = options.damping;
  LLMRCA_CHECK(d >= 0 && d < 1) << "PageRank: damping " << d << " outside [0, 1)";
  const size_t n = static_cast<size_t>(adj.rows());
  if (n == 0) return {};
  LLMRCA_CHECK(options.seeds.empty() || options.seeds.size() == n)
      << "PageRank: " << options.seeds.size() << " seeds for " << n << " nodes";

  // Restart distribution (get_adjacency_values with which='probs': values / values.sum()).
  std::vector<double> s(n, 1.0);
  if (!options.seeds.empty()) {
    for (size_t i = 0; i < n; ++i) s[i] = CleanWeight(options.seeds[i]);
    if (NumpySum(s) <= 0) std::fill(s.begin(), s.end(), 1.0);
  }
  const double s_total = NumpySum(s);
  for (double& v : s) v /= s_total;

  // The operator: in_edges[i] lists the sources j of edges j -> i, ascending (the rows of the
  // CSR transpose), each with d * (1 / outdeg(j)) (normalize() scales row j by 1/outdeg(j),
  // then the damping multiplies the scaled matrix).
  std::vector<double> scale(n, 0.0);
  std::vector<double> b(n);
  for (size_t j = 0; j < n; ++j) {
    const int64_t out = (adj.row(static_cast<Eigen::Index>(j)).array() != 0).count();
    const double has_out = out > 0 ? 1.0 : 0.0;
    if (out > 0) scale[j] = d * (1.0 / static_cast<double>(out));
    b[j] = (1.0 - d * has_out) * s[j];
  }
  std::vector<std::vector<size_t>> in_edges(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (adj(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(i)) != 0) {
        in_edges[i].push_back(j);
      }
    }
  }

  std::vector<double> x = b;
  std::vector<double> next(n), diff(n);
  for (int iter = 0; iter < options.max_iter; ++iter) {
    const double mass = NumpySum(x);
    for (size_t i = 0; i < n; ++i) {
      double acc = 0.0;
      for (size_t j : in_edges[i]) acc += scale[j] * x[j];
      // Products and sums are rounded separately, as NumPy and SciPy round them; this needs a
      // build without fused multiply-add contraction (true for the baseline x86-64 target).
      const double restart = b[i] * mass;
      next[i] = acc + restart;
    }
    const double total = NumpySum(next);
    for (double& v : next) v /= total;
    for (size_t i = 0; i < n; ++i) diff[i] = std::abs(x[i] - next[i]);
    if (NumpySum(diff) < options.tol) break;  // keeps the previous iterate, as the reference
    x.swap(next);
  }
  const double total = NumpySum(x);
  for (double& v : x) v /= total;
  return x;
}

std::vector<double> RandomWalk(const causal::Graph& graph, std::span<const double> anomaly,
                               const RandomWalkOptions& options) {
  const int n = graph.size();
  LLMRCA_CHECK(anomaly.size() == static_cast<size_t>(n))
      << "RandomWalk: " << anomaly.size() << " anomaly scores for " << n << " nodes";
  if (n == 0) return {};
  const size_t un = static_cast<size_t>(n);
  std::vector<double> w(un);
  for (size_t i = 0; i < un; ++i) w[i] = CleanWeight(std::abs(anomaly[i]));
  const double rho = CleanWeight(options.rho);

  // One outgoing distribution per node, as (targets, cdf); `uniform` marks the all-zero case.
  struct Column {
    std::vector<int> targets;
    std::vector<double> cdf;
    bool uniform = false;
  };
  std::vector<Column> columns(un);
  for (int u = 0; u < n; ++u) {
    Column& col = columns[static_cast<size_t>(u)];
    std::vector<double> weights;
    double largest = 0;
    for (int v : graph.Neighbors(u)) {
      if (v == u) continue;
      // At(u, v) is the mark at u. v causes u: an arrowhead at u and none at v (v -> u, v o-> u).
      const bool arrow_at_u = graph.At(u, v) == causal::Mark::kArrow;
      const bool arrow_at_v = graph.At(v, u) == causal::Mark::kArrow;
      const bool only_effect = arrow_at_v && !arrow_at_u;
      const double w_v = w[static_cast<size_t>(v)];
      const double weight = only_effect ? rho * w_v : w_v;
      col.targets.push_back(v);
      weights.push_back(weight);
      largest = std::max(largest, weight);
    }
    col.targets.push_back(u);
    weights.push_back(std::max(w[static_cast<size_t>(u)] - largest, 0.0));
    double running = 0;
    for (double x : weights) {
      running += x;
      col.cdf.push_back(running);
    }
    if (!(running > 0) || !std::isfinite(running)) {
      col.uniform = true;
      continue;
    }
    for (double& c : col.cdf) c /= running;
  }

  int node = options.start;
  if (node < 0 || node >= n) {
    node = static_cast<int>(std::max_element(w.begin(), w.end()) - w.begin());
  }
  const int64_t steps = options.steps > 0 ? options.steps : int64_t{1000} * n;
  Rng rng(options.seed);
  std::vector<int64_t> visits(un, 0);
  for (int64_t step = 0; step < steps; ++step) {
    const Column& col = columns[static_cast<size_t>(node)];
    if (col.uniform) {
      node = static_cast<int>(rng.UniformInt(un));
    } else {
      const double r = rng.Uniform();
      size_t k = static_cast<size_t>(std::upper_bound(col.cdf.begin(), col.cdf.end(), r) -
                                     col.cdf.begin());
      k = std::min(k, col.targets.size() - 1);
      node = col.targets[k];
    }
    ++visits[static_cast<size_t>(node)];
  }
  std::vector<double> freq(un);
  for (size_t i = 0; i < un; ++i) {
    freq[i] = static_cast<double>(visits[i]) / static_cast<double>(steps);
  }
  return freq;
}

std::vector<double> RcaevalUniformWalk(int n, int num_loop) {
  if (n <= 0) return {};
  const size_t un = static_cast<size_t>(n);
  std::vector<double> scores(un, 0.0);
  if (num_loop <= 0) return scores;
  // Every column is `1 / size` (generate_transition_matrix with all-zero scores), so the start
  // node (np.random.choice(nodes) from the global RNG) never matters.
  const std::vector<double> cdf =
      stats::NumpyPcg64::ChoiceCdf(std::vector<double>(un, 1.0 / static_cast<double>(n)));
  stats::NumpyPcg64 rng = stats::NumpyPcg64::FromSeed(0);  // RandomWalkScorer's seed
  std::vector<int64_t> counter(un, 0);
  for (int i = 0; i < num_loop; ++i) ++counter[rng.ChoiceIndex(cdf)];
  for (size_t i = 0; i < un; ++i) {
    scores[i] = static_cast<double>(counter[i]) / static_cast<double>(num_loop);
  }
  return scores;
}

}  // namespace llmrca::rca
