#include "stats/fastica.h"

#include <cmath>
#include <limits>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <fmt/format.h>

#include "base/random.h"

namespace llmrca::stats {
namespace {

// W <- (W W')^(-1/2) W, the symmetric decorrelation that keeps the rows of W orthonormal
// (Hyvarinen 1999, eq. 12). Eigenvalues are clipped at the smallest normal double, as
// scikit-learn does against rounding.
Eigen::MatrixXd SymmetricDecorrelation(const Eigen::MatrixXd& w) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(w * w.transpose());
  const Eigen::VectorXd inv_sqrt =
      eig.eigenvalues().cwiseMax(std::numeric_limits<double>::min()).cwiseSqrt().cwiseInverse();
  return eig.eigenvectors() * inv_sqrt.asDiagonal() * eig.eigenvectors().transpose() * w;
}

}  // namespace

Result<FastIcaResult> FastIca(const Eigen::MatrixXd& x, const FastIcaOptions& options) {
  const Eigen::Index n = x.rows(), d = x.cols();
  if (options.max_iter < 1 || !(options.tol >= 0) || !std::isfinite(options.tol)) {
    return Status::InvalidArgument(fmt::format(
        "fastica: options: max_iter={} tol={}: need max_iter >= 1 and a finite tol >= 0",
        options.max_iter, options.tol));
  }
  if (options.w_init.size() != 0 && (options.w_init.rows() != d || options.w_init.cols() != d)) {
    return Status::InvalidArgument(
        fmt::format("fastica: w_init: shape {}x{}, need {}x{}", options.w_init.rows(),
                    options.w_init.cols(), d, d));
  }
  if (d < 1) return Status::DataError("fastica: data: no columns");
  if (n <= d) {
    return Status::DataError(
        fmt::format("fastica: data: {} rows for {} columns, need more rows than columns", n, d));
  }
  if (!x.allFinite()) return Status::DataError("fastica: data: non-finite value");

  FastIcaResult out;
  out.mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd xt = (x.rowwise() - out.mean.transpose()).transpose();  // d x n, centred

  // Whitening by PCA (Hyvarinen & Oja 2000, eq. 33): K = D^-1 U' from the SVD xt = U D V', with
  // each column of U signed so that its first entry is positive.
  Eigen::BDCSVD<Eigen::MatrixXd> svd(xt, Eigen::ComputeThinU);
  const Eigen::VectorXd& sv = svd.singularValues();
  const double rank_tol = sv(0) * static_cast<double>(std::max(n, d)) *
                          std::numeric_limits<double>::epsilon();
  if (!(sv(d - 1) > rank_tol)) {
    return Status::DataError(fmt::format(
        "fastica: data: the centred columns are linearly dependent (singular values {} to {})",
        sv(0), sv(d - 1)));
  }
  Eigen::MatrixXd u = svd.matrixU();
  for (Eigen::Index j = 0; j < d; ++j) {
    if (u(0, j) < 0) u.col(j) = -u.col(j);
  }
  const Eigen::MatrixXd k = sv.cwiseInverse().asDiagonal() * u.transpose();
  // Whitened data scaled to unit variance per row (scikit-learn's X1 *= sqrt(n_samples)).
  const Eigen::MatrixXd x1 = (k * xt) * std::sqrt(static_cast<double>(n));

  Eigen::MatrixXd w0 = options.w_init;
  if (w0.size() == 0) {
    Rng rng(options.seed);
    w0.resize(d, d);
    for (Eigen::Index i = 0; i < d; ++i) {
      for (Eigen::Index j = 0; j < d; ++j) w0(i, j) = rng.Normal();
    }
  }
  if (!w0.allFinite()) return Status::InvalidArgument("fastica: w_init: non-finite value");

  // Parallel FastICA with g = tanh (the derivative of log cosh), Hyvarinen 1999 eq. 11.
  Eigen::MatrixXd w = SymmetricDecorrelation(w0);
  const double inv_n = 1.0 / static_cast<double>(n);
  Eigen::MatrixXd gwx(d, n);
  for (int it = 0; it < options.max_iter; ++it) {
    LLMRCA_RETURN_IF_ERROR(options.deadline.Check("fastica"));
    gwx.noalias() = w * x1;
    gwx = gwx.array().tanh().matrix();
    const Eigen::VectorXd mean_dg = (1.0 - gwx.array().square()).rowwise().mean().matrix();
    Eigen::MatrixXd w1 = gwx * x1.transpose() * inv_n - mean_dg.asDiagonal() * w;
    w1 = SymmetricDecorrelation(w1);
    const double lim =
        ((w1.array() * w.array()).rowwise().sum().abs() - 1.0).abs().maxCoeff();
    w = std::move(w1);
    out.iterations = it + 1;
    if (!w.allFinite()) return Status::DataError("fastica: the unmixing matrix became non-finite");
    if (lim < options.tol) {
      out.converged = true;
      break;
    }
  }
  out.components = w * k;
  return out;
}

}  // namespace llmrca::stats
