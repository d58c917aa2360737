// The thin singular value decomposition, in one translation unit. Eigen's divide-and-conquer SVD
// (BDCSVD) is the most expensive template in the project to compile: instantiated in every file
// that used it, it made those files take minutes under the sanitizers. Callers get exactly
// Eigen's results (same algorithms, same signs) through these instantiations.
#pragma once

#include <Eigen/Core>

namespace llmrca::stats {

struct ThinSvdResult {
  Eigen::VectorXd values;  // singular values, descending
  Eigen::MatrixXd u;       // rows x min(rows, cols); empty unless asked for
  Eigen::MatrixXd v;       // cols x min(rows, cols); empty unless asked for
};

// m = u * diag(values) * v'. m must be finite (not checked here; callers check).
ThinSvdResult ThinSvd(const Eigen::MatrixXd& m, bool want_u, bool want_v);

// The same from Eigen's one-sided Jacobi SVD (JacobiSVD: slower on large matrices, more accurate
// on small singular values), for callers that must match its results.
ThinSvdResult JacobiThinSvd(const Eigen::MatrixXd& m, bool want_u, bool want_v);

}  // namespace llmrca::stats
