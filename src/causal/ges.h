// GES: greedy equivalence search over CPDAGs with a decomposable score (forward insertions, then
// backward deletions), as causal-learn's ges() (0.1.3.3) runs it with its defaults, which the
// study's ges_pagerank called (RCAEval graph_construction/ges.py: `ges(data)`, local BIC score).
// The endpoint matrix of the result equals causal-learn's Record['G'].graph: operators are tried
// in causal-learn's order (pairs row by row, subsets by size then lexicographically) and the
// first strictly best one wins, so ties resolve the same way.
//
// Paper: D. M. Chickering (2002), "Optimal Structure Identification With Greedy Search", JMLR 3;
// the CPDAG of a DAG by D. M. Chickering (1995), "A Transformational Characterization of
// Equivalent Bayesian Network Structures", UAI; a DAG extension of a PDAG by D. Dor, M. Tarsi
// (1992), "A simple algorithm to construct a consistent extension of a partially oriented graph".
//
// Kept from causal-learn on purpose (they decide which graph comes out):
// - BIC is causal-learn's local_score_BIC_from_cov: on the correlation matrix R (np.corrcoef),
//   score(x, P) = n log(R_xx - R_xP R_PP^-1 R_Px) + 2 log(n) |P| (penalty discount lambda = 2),
//   lower is better; BDeu is local_score_BDeu with sample prior 1, structure prior 1 and its
//   structure term built on (rows - 1), as causal-learn writes it (not on variables - 1).
// - max_parents = -1 is causal-learn's maxP=None, which is NOT unlimited: maxP = variables / 2,
//   and, as causal-learn checks it, an insertion into y is tried while y has at most maxP
//   directed parents before it (undirected edges at y do not count), so y can end with more,
//   e.g. a v-structure into y under maxP = 0. An explicit value k >= 0 is causal-learn's maxP=k.
// - The search stops when the best change is not an improvement as causal-learn computes it
//   (score - (score + change) <= 0) or is not below causal-learn's starting bound 1e7.
// - Delete(x, y, H) orients x -> h for every h in H whatever the x-h edge was (causal-learn's
//   delete()), and the extension keeps the first orientation of an undirected edge.
// Deviations (only where causal-learn fails or never returns):
// - a local score that is not finite (a singular correlation sub-matrix, which makes numpy raise,
//   or a residual variance <= 0, which gives NaN or -inf there) makes its operator ineligible;
//   causal-learn skips NaN changes but would raise, or take -inf and then never stop;
// - a PDAG without a consistent extension, or a cyclic one (causal-learn loops forever or
//   raises), ends the search with kInternal.
// Floating-point sums differ from numpy's BLAS in the last bits; operators whose score changes
// are equal in exact arithmetic but come from different equivalence classes could then resolve
// differently (not seen on the six parity cases).
#pragma once

#include <cstddef>
#include <span>

#include <Eigen/Core>

#include "base/deadline.h"
#include "base/status.h"
#include "causal/graph.h"

namespace llmrca::causal {

enum class GesScore { kBic, kBdeu };

struct GesOptions {
  GesScore score = GesScore::kBic;
  // -1: causal-learn's default maxP = variables / 2 (see above); k >= 0: maxP = k. Use a value
  // >= variables - 1 for no limit.
  int max_parents = -1;
  // Operators of one step are collected and their new local scores computed on this many
  // threads; the graph does not depend on it.
  size_t threads = 1;
  Deadline deadline;  // checked between search steps and while operators are scored
};

// Runs GES on `data` (rows samples, columns variables) and returns the CPDAG: i -> j as At(i, j)
// = tail, At(j, i) = arrow; i -- j as tail/tail (causal-learn's G.graph).
// BIC needs finite, non-constant columns; BDeu treats every distinct value of a column as one
// state (a constant column is one state). Both need at least 3 rows.
// Returns kInvalidArgument for bad options, kDataError for data it cannot score (too few rows,
// NaN or infinite values, a constant column under BIC), kDeadlineExceeded when the deadline
// passes, kInternal when the search reaches a graph causal-learn could not handle either.
// Thread-safe (no shared state).
Result<Graph> Ges(const Eigen::MatrixXd& data, const GesOptions& options);

// The local score GES minimises for variable `node` with parent set `parents` (column indices,
// any order, no duplicates, not containing `node`), as causal-learn's LocalScoreClass computes it
// for ges(): BIC as above (NaN when not finite), or BDeu. Same data checks as Ges(); also
// kInvalidArgument for an index out of range.
Result<double> GesLocalScore(const Eigen::MatrixXd& data, int node, std::span<const int> parents,
                             GesScore score);

}  // namespace llmrca::causal
