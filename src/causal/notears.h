// NOTEARS low-rank (`ntlr`): continuous optimisation of a weighted adjacency W = U V^T of rank r
// under the acyclicity constraint h(W) = tr(exp(W o W)) - d = 0 by an augmented Lagrangian, as
// gCastle's NotearsLowRank, which the study's ntlr_pagerank called (RCAEval
// graph_construction/dag_gnn.py: NotearsLowRank().learn(X, rank=10), defaults max_iter 15,
// h_tol 1e-6, rho_max 1e20, w_threshold 0.3; causal_matrix = |W| > 0.3).
//
// Papers: X. Zheng, B. Aragam, P. Ravikumar, E. P. Xing (2018), "DAGs with NO TEARS: Continuous
// Optimization for Structure Learning", NeurIPS; Z. Fang et al. (2023), "On Low-Rank Directed
// Acyclic Graphs and Causal Structure Learning", IEEE TNNLS.
//
// Deviations from gCastle (huawei-noah/trustworthyAI, castle/algorithms/gradient/notears/
// low_rank.py):
// - The inner solver is our L-BFGS with a strong-Wolfe line search, not scipy's TNC (truncated
//   Newton). The outer loop (rho x10 until h shrinks to a quarter, alpha += rho h, h_tol, rho_max,
//   at least 4 outer iterations) is the reference's. Solutions differ in detail from the
//   reference's, which is deterministic (its first start is W = 0 with V = the first r columns of
//   the identity, as LAPACK's SVD of a zero matrix gives; we use the same start).
// - The L-BFGS is preconditioned (see Lagrangian::Precondition in notears.cc): its initial inverse
//   Hessian is that of a Gauss-Newton model of F in (U, V), block-diagonal by rows of U and V,
//   which keeps the loss's column variances, its uncentred mean part in full (Woodbury) and the
//   acyclicity term's own curvature 2 (rho h + alpha) exp(W o W)'. Without it each inner solve
//   crawls: an uncentred X'X / n with means far above the spreads (the parity cases: latencies near
//   200, CPU shares near 1; condition number ~4e8) and the stiff penalty at rho >= 1e7 made every
//   solve end at the evaluation budget (92,000 evaluations, ~10 s on a 20-metric parity case);
//   preconditioned, every solve ends at its convergence test after tens to hundreds of
//   evaluations. TNC ends the same way on standardised data and at its budget on the raw parity
//   data.
// - Stopping rules of an inner solve: the budget is TNC's default maxfun = max(100, 10 *
//   #parameters); the tests are L-BFGS-B's relative decrease (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1)
//   <= 2.2e-9 (what ends solves in practice; on standardised data it asks as much as TNC's
//   |f_k - f_k+1| <= 1.5e-8) and max |gradient| <= 1e-6 (about TNC's pgtol, 1.2e-6, which TNC
//   tests on the 2-norm of the gradient scaled by 1 + |x0|). TNC's step test (xtol) is not used.
// - exp(W o W) is computed by Al-Mohy & Higham's (2009) scaling and squaring, as scipy.linalg.expm
//   (the reference's), with the 1-norms of powers taken from |A|^k (exact here: W o W >= 0).
// - The loss 0.5/n ||X - XW||_F^2 is evaluated as 0.5 tr((I - W)' S (I - W)) with S = X'X / n
//   computed once, so an evaluation costs O(d^3) instead of O(n d^2). As the reference, X is not
//   centred, unless options.standardize (off by default, not in the reference) centres and scales
//   the columns first.
// - options.seed drives the restarts from a random W ~ U(-0.3, 0.3) (truncated SVD) that the
//   reference draws from NumPy's unseeded global state when a start fails (at most 20).
// - rank > d is clamped to d (the reference raises an IndexError); the diagonal of the
//   thresholded matrix is cleared (a self-loop is no edge; the reference can report one only when
//   the constraint is far from met); once rho exceeds rho_max the remaining outer iterations,
//   which the reference runs without solving anything, are skipped.
// - Degenerate inputs (fewer than 2 rows, a constant or non-finite column) are a kDataError.
#pragma once

#include <cstdint>

#include <Eigen/Core>

#include "base/deadline.h"
#include "base/status.h"

namespace llmrca::causal {

struct NotearsLowRankOptions {
  int rank = 10;             // RCAEval's notears_low_rank passes rank=10
  double w_threshold = 0.3;  // gCastle's default: |W(i, j)| > 0.3 is an edge
  int max_iter = 15;         // outer (dual ascent) iterations, gCastle's default
  double h_tol = 1e-6;       // stop when h(W) <= h_tol (after at least 4 outer iterations)
  double rho_max = 1e20;     // largest penalty weight, gCastle's default
  uint64_t seed = 0;         // for restarts after a failed start
  // Centre each column and scale it to unit variance (divisor n) before fitting; the reference
  // fits the data as given. The least-squares loss is not scale-invariant: on raw data the graph
  // depends on the units of the metrics (Reisach, Seiler, Weichwald 2021, "Beware of the
  // Simulated DAG!"), and the 0.3 threshold compares coefficients in those units. weights are
  // then those of the standardised data, thresholded as they are.
  bool standardize = false;
  Deadline deadline;
};

struct NotearsLowRankResult {
  Eigen::MatrixXd weights;        // W = U V^T
  Eigen::MatrixXi causal_matrix;  // (i, j) = 1: i -> j (|W(i, j)| > w_threshold, i != j)
  double h = 0;                   // acyclicity violation h(W) of the returned W
  double rho = 0;                 // final penalty weight
  int outer_iterations = 0;
  int inner_solves = 0;
  int evaluations = 0;         // objective evaluations in all inner solves
  int unconverged_solves = 0;  // inner solves ended by the budget or a failed line search
  int restarts = 0;            // random restarts after failed starts
};

// Fits NOTEARS low-rank to `data` (rows = samples, columns = variables). kDataError for fewer than
// 2 rows, a non-finite or constant column, or when every start fails; kInvalidArgument for bad
// options; kDeadlineExceeded when options.deadline passes. Thread-safe (no shared state).
Result<NotearsLowRankResult> FitNotearsLowRank(const Eigen::MatrixXd& data,
                                               const NotearsLowRankOptions& options);

// FitNotearsLowRank(...).causal_matrix: W(i, j) = 1 when i -> j (gCastle's causal_matrix).
Result<Eigen::MatrixXi> NotearsLowRank(const Eigen::MatrixXd& data,
                                       const NotearsLowRankOptions& options);

// exp(a) by scaling and squaring with Pade approximants (A. H. Al-Mohy, N. J. Higham 2009, "A new
// scaling and squaring algorithm for the matrix exponential", SIAM J. Matrix Anal. Appl. 31(3),
// Algorithm 3.1, as scipy.linalg.expm; the norms of powers it tests are those of |a|^k, exact for
// a nonnegative a). Exposed for tests; `a` must be square. A non-finite entry, or powers of |a|
// that overflow, give an all-NaN result.
Eigen::MatrixXd MatrixExponential(const Eigen::MatrixXd& a);

}  // namespace llmrca::causal
