// FastICA: independent component analysis by the fixed-point algorithm, as scikit-learn 1.2.1's
// FastICA with the settings ICA-LiNGAM uses (algorithm='parallel', fun='logcosh' with alpha 1,
// whiten='arbitrary-variance' by SVD, n_components = all): centre, whiten by PCA, start from a
// random Gaussian unmixing matrix, iterate W <- sym_decorr(E[g(WX) X'] - E[g'(WX)] W) until
// max_i ||<w_i, w_i_old>| - 1| < tol. The random start is drawn from llmrca::Rng, not NumPy's
// RandomState; pass w_init to reproduce a given start exactly.
//
// Paper: A. Hyvarinen (1999), "Fast and Robust Fixed-Point Algorithms for Independent Component
// Analysis", IEEE Trans. Neural Networks 10(3). Deviations from scikit-learn: a column of the
// whitening basis whose first entry is exactly 0 keeps its sign (scikit-learn multiplies it by
// sign(0) = 0 and loses the component); not converging within max_iter is reported in the result
// instead of a warning; sums are in Eigen's order, not NumPy's pairwise order (last-bit
// differences).
#pragma once

#include <cstdint>

#include <Eigen/Core>

#include "base/deadline.h"
#include "base/status.h"

namespace llmrca::stats {

struct FastIcaOptions {
  int max_iter = 200;  // scikit-learn's default; ICA-LiNGAM passes 1000
  double tol = 1e-4;   // scikit-learn's default
  uint64_t seed = 0;   // for the random start when w_init is empty
  // Initial unmixing matrix (d x d for d columns); empty: standard normal draws from
  // llmrca::Rng(seed), filled row by row as NumPy fills random_state.normal(size=(d, d)).
  Eigen::MatrixXd w_init;
  Deadline deadline;
  // Threads for the sample loop and the products of the decorrelation; the result does not
  // depend on it.
  int threads = 1;
};

struct FastIcaResult {
  // The unmixing matrix in data space (scikit-learn's components_ = W K, d x d): sources are
  // components * (x - mean), one per row, up to order, sign and scale.
  Eigen::MatrixXd components;
  Eigen::VectorXd mean;  // column means of the data
  int iterations = 0;    // scikit-learn's n_iter_
  bool converged = false;
  // The last iteration's change, max_i ||<w_i, w_i_old>| - 1|: below tol when converged.
  double change = 0;
};

// Runs FastICA on `x` (rows = samples, columns = mixed signals). Its products and
// eigendecompositions run on OpenBLAS when the build has it (stats/dense.h). Needs more rows than columns,
// finite values and a full-rank centred x: kDataError otherwise (scikit-learn would divide by a
// zero singular value). kInvalidArgument for bad options or a w_init of the wrong shape;
// kDeadlineExceeded when options.deadline passes. Thread-safe (no shared state).
Result<FastIcaResult> FastIca(const Eigen::MatrixXd& x, const FastIcaOptions& options);

}  // namespace llmrca::stats
