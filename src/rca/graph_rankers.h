// The two rankers of the graph-based methods: PageRank as scikit-network 0.31 iterates it
// (solver "piteration") in the RCAEval reference, optionally personalised by anomaly scores; the
// random walk of MicroCause / CloudRanger over steps to causes, back to effects and in place,
// weighted by anomaly scores; and the reference's degenerate walk (every score 0, so every step
// uniform, drawn from NumPy's default_rng(0)) for compat=rcaeval. Pure functions of their
// inputs; deterministic for a seed; thread-compatible.
// Papers: Page, Brin, Motwani, Winograd (1999), "The PageRank Citation Ranking: Bringing Order
// to the Web"; Wang et al. (2018), "CloudRanger: Root Cause Identification for Cloud Native
// Systems"; Meng et al. (2020), "Localizing Failure Root Causes in a Microservice through Causality
// Inference" (MicroCause). Deviations from the reference are listed at each function.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "causal/graph.h"

namespace llmrca::rca {

struct PageRankOptions {
  double damping = 0.85;      // probability of following an edge; must be in [0, 1)
  int max_iter = 10;          // scikit-network's n_iter; <= 0 returns the normalised start vector
  double tol = 1e-6;          // stop when the L1 change of one step is below this
  std::vector<double> seeds;  // personalisation weights; empty = uniform
};

// PageRank scores of the nodes of the directed graph with an edge i -> j wherever adj(i, j) != 0
// (rank flows along edges, from i to j; adj(i, i) != 0 is a self-loop), summing to 1. Exactly
// what scikit-network 0.31 `PageRank(damping_factor, solver='piteration', n_iter, tol)
// .fit_predict(adj, weights=seeds)` returns, to the last bit, ties included:
//   - s: the seeds, each negative or non-finite entry read as 0, divided by their sum; when
//     empty or all 0, s_i = 1/n.
//   - o_i = 1 if node i has an out-edge; b_i = (1 - d o_i) s_i (a node without out-edges gets
//     the whole of its teleport share; this is scikit-network's formula, not the textbook
//     "dangling mass teleports to the seeds").
//   - W(i, j) = d / outdeg(j) for each edge j -> i (the operator applies (D^-1 A)^T).
//   - x = b; then up to max_iter times: x' = W x + b sum(x), x' /= sum(x'); if |x - x'|_1 < tol
//     stop and keep x (the previous iterate, not x'), otherwise x = x'. Return x / sum(x).
//   - All in float64 ('piteration' never casts to float32; only scikit-network's 'diteration'
//     and 'push' solvers do). Sums are NumPy's pairwise sums and W x sums each row in ascending
//     column order, as np.sum and scipy's CSR product do, so equal scores come out
//     bit-identical (checked bit for bit against that arithmetic on 300 random graphs).
// The input is read as 0/1: scikit-network would use the entries as edge weights, but every
// caller passes a 0/1 matrix. Deviation: an adjacency without any edge returns s (the reference
// raises "The input matrix is empty").
// Preconditions (checked, abort): adj square; seeds empty or of size n; damping in [0, 1).
std::vector<double> PageRank(const Eigen::MatrixXi& adj, const PageRankOptions& options);

struct RandomWalkOptions {
  double rho = 0.5;   // weight of a step back to an effect, relative to a step to a cause
  int steps = 0;      // walk length; 0: 1000 per node
  int start = -1;     // first node; -1 (or out of range): the node with the largest |anomaly|
  uint64_t seed = 0;  // llmrca::Rng seed of the walk
};

// Visit frequencies (summing to 1) of a walk on `graph` (causal::Graph marks, cause -> effect),
// after `steps` moves from `start`; the start itself is not counted. From node u the walk moves
//   - to each cause c of u (c -> u, or c o-> u) with weight |a_c|,
//   - to each effect e of u (u -> e, or u o-> e) with weight rho |a_e|,
//   - to each other neighbour (u -- v, u <-> v, u o-o v) with weight |a_v|,
//   - and stays at u with weight max(|a_u| - the largest of those, 0);
// the weights are normalised, and a node whose weights are all 0 moves to any node uniformly.
// These are the transitions of RCAEval's RandomWalkScorer.generate_transition_matrix (after
// CIRCA), with its "parents" as our causes and its "children" as our effects, so the walk is
// drawn from the symptoms toward the causes. Deviation: RCAEval builds a cause -> effect graph
// and then reverses it before scoring, which turns its parents into effects and its children
// into causes (rho would discount the step toward the cause); with the reference's all-zero
// scores the orientation never matters (see RcaevalUniformWalk). Non-finite anomaly scores and
// a negative or NaN rho count as 0. Precondition (checked, abort): anomaly.size() ==
// graph.size(). O(steps log n) time after O(edges) set-up.
std::vector<double> RandomWalk(const causal::Graph& graph, std::span<const double> anomaly,
                               const RandomWalkOptions& options);

// RCAEval's random_walk() with all-zero scores, bit for bit: every column of the transition
// matrix is uniform (1/n), and the walk takes `num_loop` steps, each
// `np.random.default_rng(0).choice(nodes, p=column)` (NumPy 1.24.2: cdf = p.cumsum() / its last
// entry, index = searchsorted(random(), 'right')). Returns visits / num_loop per node, in node
// order (the caller's stable descending sort breaks ties by node order, as the reference does).
// n <= 0 returns {}; num_loop <= 0 returns zeros (the reference divides by zero).
std::vector<double> RcaevalUniformWalk(int n, int num_loop);

}  // namespace llmrca::rca
