// LiNGAM: linear non-Gaussian acyclic models. ICA-LiNGAM as the study's lingam_pagerank ran it
// (causal-learn 0.1.3.3's ICALiNGAM, a copy of the lingam package's: scikit-learn 1.2.1 FastICA
// with max_iter 1000, the row permutation of the unmixing matrix minimising sum 1/|W_ii|
// (Hungarian assignment), row scaling to a unit diagonal, a causal order from B = I - W, then
// adaptive-lasso pruning with LassoLarsIC(criterion='bic')), and DirectLiNGAM (variant kDirect,
// RCAEval's micro_diag: pairwise likelihood-ratio measure with maximum-entropy approximations).
//
// Papers: S. Shimizu, P. O. Hoyer, A. Hyvarinen, A. Kerminen (2006), "A Linear Non-Gaussian
// Acyclic Model for Causal Discovery", JMLR 7; S. Shimizu et al. (2011), "DirectLiNGAM: A Direct
// Method for Learning a Linear Non-Gaussian Structural Equation Model", JMLR 12; A. Hyvarinen,
// S. M. Smith (2013), "Pairwise Likelihood Ratios for Estimation of Non-Gaussian Structural
// Equation Models", JMLR 14; H. Zou (2006), "The Adaptive Lasso and Its Oracle Properties", JASA.
//
// Deviations from the reference:
// - FastICA's random start comes from llmrca::Rng(seed), not NumPy's global RandomState, which
//   the reference leaves unseeded: ICA-LiNGAM cannot match a reference run exactly unless the
//   same start is passed as ica_w_init (the parity harness seeds NumPy with 0, so its start is
//   RandomState(0).normal(size=(d, d)); with that start the output matches, see lingam_test.cc).
//   DirectLiNGAM is deterministic and matches the reference.
// - The causal-order search of ICA-LiNGAM (zero the smallest |B| entries until a permutation
//   makes B strictly lower triangular) finds the same order by bisection on the number of zeroed
//   entries and a topological sort taking the smallest index first, in O(d^2 log d) instead of
//   the reference's O(d^5); |B| entries are ordered by a stable sort (NumPy's is not stable; only
//   exact ties can differ). For one variable the order is {0} (the reference fails).
// - An entry W_ij = 0 of the unmixing matrix gets a large finite assignment cost instead of
//   infinity; DirectLiNGAM's log cosh is evaluated without overflow for |u| > 20; sums follow
//   Eigen's order rather than NumPy's pairwise order (last-bit differences).
// - Degenerate inputs the reference crashes on or turns into garbage (too few rows, a constant or
//   non-finite column, linearly dependent columns for ICA) are a kDataError.
// - With unit_scale_lasso (LingamOptions), each adaptive-lasso regression runs on its target and
//   weighted predictors divided by the target's standard deviation, and its coefficients are
//   unchanged by that (the Lasso path and the BIC's choice are scale-free). scikit-learn's LARS
//   stops where the largest correlation per sample falls to float32's epsilon (1.2e-7), an
//   absolute bound: a metric with a standard deviation below about 3.5e-4 (a ratio that barely
//   moves, a rate in small units) gets no parents there, whatever its data. Off: the reference's
//   behaviour.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "base/deadline.h"
#include "base/status.h"

namespace llmrca::causal {

enum class LingamVariant { kIca, kDirect };

struct LingamOptions {
  LingamVariant variant = LingamVariant::kIca;
  uint64_t seed = 0;   // FastICA's random start (kIca)
  int max_iter = 1000;  // FastICA iterations (ICALiNGAM's default)
  double tol = 1e-4;    // FastICA tolerance (scikit-learn's default)
  // FastICA's initial unmixing matrix (d x d); empty: drawn from llmrca::Rng(seed).
  Eigen::MatrixXd ica_w_init;
  // Threads for DirectLiNGAM's pairwise measures and the per-variable lasso fits; the output does
  // not depend on it.
  int threads = 1;
  // Fit each adaptive-lasso regression at unit target scale (see the deviations above); false:
  // the reference's absolute stopping bound.
  bool unit_scale_lasso = false;
  Deadline deadline;
};

struct LingamResult {
  // B(i, j) != 0 when j -> i, with that coefficient (lingam's adjacency_matrix_).
  Eigen::MatrixXd adjacency;
  std::vector<int> causal_order;  // causes before effects
  int ica_iterations = 0;         // FastICA iterations (kIca)
  bool ica_converged = true;      // FastICA met its tolerance (kIca)
};

// Fits the LiNGAM model to `data` (rows = samples, columns = variables). Needs more rows than
// columns, finite values and no constant column: kDataError otherwise (also for linearly
// dependent columns with kIca). kInvalidArgument for bad options; kDeadlineExceeded when
// options.deadline passes. Thread-safe (no shared state).
Result<LingamResult> FitLingam(const Eigen::MatrixXd& data, const LingamOptions& options);

// FitLingam(...).adjacency: B(i, j) != 0 when j -> i with that coefficient.
Result<Eigen::MatrixXd> LingamAdjacency(const Eigen::MatrixXd& data, const LingamOptions& options);

// The steps of ICA-LiNGAM after FastICA, exposed for tests: the causal order found from an
// unmixing matrix `w_ica` (scikit-learn's components_, d x d, finite; kInvalidArgument otherwise).
Result<std::vector<int>> CausalOrderFromUnmixing(const Eigen::MatrixXd& w_ica);

// The lingam package's predict_adaptive_lasso (gamma 1): OLS of data[:, target] on
// data[:, predictors] (with intercept) gives weights |b|; LassoLarsIC(criterion='bic') on the
// weighted predictors picks the sparse fit; returns its coefficients times the weights, one per
// predictor. Needs rows > predictors + 1 (kDataError otherwise, as scikit-learn's noise-variance
// estimate) and valid, distinct column indices (kInvalidArgument).
// unit_scale: the regression at unit target scale (LingamOptions::unit_scale_lasso).
Result<Eigen::VectorXd> AdaptiveLassoCoefficients(const Eigen::MatrixXd& data,
                                                  std::span<const int> predictors, int target,
                                                  bool unit_scale = false);

}  // namespace llmrca::causal
