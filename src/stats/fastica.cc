#include "stats/fastica.h"

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <optional>
#include <span>

#include <utility>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "base/random.h"
#include "base/thread_pool.h"
#include "stats/dense.h"
#include "stats/svd.h"
#include "stats/vector_math.h"

namespace llmrca::stats {
namespace {

// Columns per block of the sample loop: the blocks, fixed by the data size alone, are the unit of
// parallel work and of summation order, so results do not depend on the thread count. 256
// columns of 200 rows (400 KB) stay in a core's L2 cache between the product and the tanh.
constexpr Eigen::Index kBlockCols = 256;

// Runs fn(0) .. fn(n - 1) on the pool's workers and waits, or in order on the calling thread when
// there is no pool. Each fn(i) writes its own slots, so the results do not depend on which.
void RunTasks(ThreadPool* pool, size_t n, const std::function<void(size_t)>& fn) {
  if (pool == nullptr) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  for (size_t i = 0; i < n; ++i) pool->Submit([&fn, i] { fn(i); });
  pool->Wait();
}

// W <- (W W')^(-1/2) W, the symmetric decorrelation that keeps the rows of W orthonormal
// (Hyvarinen 1999, eq. 12). Eigenvalues are clipped at the smallest normal double, as
// scikit-learn does against rounding. The products are split into two fixed column blocks (two
// tasks whatever the thread count; each entry is the same dot product as in one whole product);
// the eigendecomposition in between is one task.
Result<Eigen::MatrixXd> SymmetricDecorrelation(const Eigen::MatrixXd& w, ThreadPool* pool) {
  const Eigen::Index d = w.rows(), cols = w.cols();
  // The lower triangle of W W' (all SymmetricEigen reads), as columns [0, c) and [c, d): the
  // split at d (1 - 1/sqrt 2) gives the two blocks about the same number of entries.
  const Eigen::Index c =
      d - static_cast<Eigen::Index>(std::lround(static_cast<double>(d) / std::numbers::sqrt2));
  Eigen::MatrixXd wwt(d, d);
  RunTasks(pool, 2, [&](size_t task) {
    if (task == 0) {
      Gemm(false, true, 1.0, w, w.topRows(c), 0.0, wwt.leftCols(c));
    } else {
      Gemm(false, true, 1.0, w.bottomRows(d - c), w.bottomRows(d - c), 0.0,
           wwt.bottomRightCorner(d - c, d - c));
    }
  });
  wwt.triangularView<Eigen::StrictlyUpper>() = wwt.transpose();
  LLMRCA_ASSIGN_OR_RETURN(const SymmetricEigenResult eig, SymmetricEigen(wwt));
  const Eigen::VectorXd inv_sqrt =
      eig.values.cwiseMax(std::numeric_limits<double>::min()).cwiseSqrt().cwiseInverse();
  // V diag(s) (V' W): two products of d x d matrices instead of forming (W W')^(-1/2).
  Eigen::MatrixXd vtw(d, cols), out(d, cols);
  const Eigen::Index half = cols / 2;
  RunTasks(pool, 2, [&](size_t task) {
    const Eigen::Index c0 = task == 0 ? 0 : half, n = task == 0 ? half : cols - half;
    auto block = vtw.middleCols(c0, n);
    Gemm(true, false, 1.0, eig.vectors, w.middleCols(c0, n), 0.0, block);
    block = inv_sqrt.asDiagonal() * block;
    Gemm(false, false, 1.0, eig.vectors, block, 0.0, out.middleCols(c0, n));
  });
  return out;
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
  ThinSvdResult svd = ThinSvd(xt, /*want_u=*/true, /*want_v=*/false);
  const Eigen::VectorXd& sv = svd.values;
  const double rank_tol = sv(0) * static_cast<double>(std::max(n, d)) *
                          std::numeric_limits<double>::epsilon();
  if (!(sv(d - 1) > rank_tol)) {
    return Status::DataError(fmt::format(
        "fastica: data: the centred columns are linearly dependent (singular values {} to {})",
        sv(0), sv(d - 1)));
  }
  Eigen::MatrixXd u = std::move(svd.u);
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

  // Parallel FastICA with g = tanh (the derivative of log cosh), Hyvarinen 1999 eq. 11. Per
  // block of samples: y = W x, tanh y, the row sums of g' = 1 - tanh^2 y and g(y) x'; the block
  // sums are then added in block order.
  // One pool for all iterations (starting threads per iteration costs more than the products on
  // two threads save); none for one thread.
  const size_t threads = static_cast<size_t>(std::max(1, options.threads));
  std::optional<ThreadPool> pool_storage;
  if (threads > 1) pool_storage.emplace(threads);
  ThreadPool* const pool = pool_storage ? &*pool_storage : nullptr;
  LLMRCA_ASSIGN_OR_RETURN(Eigen::MatrixXd w, SymmetricDecorrelation(w0, pool));
  const double inv_n = 1.0 / static_cast<double>(n);
  const Eigen::Index blocks = (n + kBlockCols - 1) / kBlockCols;
  std::vector<Eigen::MatrixXd> gy(static_cast<size_t>(blocks)), gx(static_cast<size_t>(blocks));
  std::vector<Eigen::VectorXd> dg(static_cast<size_t>(blocks));
  for (int it = 0; it < options.max_iter; ++it) {
    LLMRCA_RETURN_IF_ERROR(options.deadline.Check("fastica"));
    RunTasks(pool, static_cast<size_t>(blocks), [&](size_t b) {
      const Eigen::Index c0 = static_cast<Eigen::Index>(b) * kBlockCols;
      const Eigen::Index cols = std::min(kBlockCols, n - c0);
      Eigen::MatrixXd& y = gy[b];
      y.resize(d, cols);
      gx[b].resize(d, d);
      Gemm(false, false, 1.0, w, x1.middleCols(c0, cols), 0.0, y);
      Tanh(std::span<const double>(y.data(), static_cast<size_t>(y.size())),
           std::span<double>(y.data(), static_cast<size_t>(y.size())));
      dg[b] = (1.0 - y.array().square()).rowwise().sum().matrix();
      Gemm(false, true, 1.0, y, x1.middleCols(c0, cols), 0.0, gx[b]);
    });
    Eigen::MatrixXd sum_gx = gx[0];
    Eigen::VectorXd sum_dg = dg[0];
    for (size_t b = 1; b < gx.size(); ++b) {
      sum_gx += gx[b];
      sum_dg += dg[b];
    }
    Eigen::MatrixXd w1 = sum_gx * inv_n - (sum_dg * inv_n).asDiagonal() * w;
    LLMRCA_ASSIGN_OR_RETURN(w1, SymmetricDecorrelation(w1, pool));
    const double lim =
        ((w1.array() * w.array()).rowwise().sum().abs() - 1.0).abs().maxCoeff();
    w = std::move(w1);
    out.iterations = it + 1;
    out.change = lim;
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
