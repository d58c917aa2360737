#include "causal/lingam.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <numeric>
#include <optional>
#include <queue>
#include <utility>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "base/log.h"
#include "base/thread_pool.h"
#include "stats/dense.h"
#include "stats/fastica.h"
#include "stats/optimize.h"

namespace llmrca::causal {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// ---- Least squares and LARS (scikit-learn 1.2.1) --------------------------------------------

// Minimum-norm least-squares coefficients of y on x (both already centred when an intercept is
// meant), as scipy.linalg.lstsq inside LinearRegression.
Eigen::VectorXd LeastSquares(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  if (x.cols() == 0) return Eigen::VectorXd();
  return Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>(x).solve(y);
}

// scikit-learn's arrayfuncs.min_pos: the smallest strictly positive value, DBL_MAX when none.
double MinPositive(const Eigen::VectorXd& v) {
  double out = DBL_MAX;
  for (double e : v) {
    if (e > 0 && e < out) out = e;
  }
  return out;
}

// NumPy's around(x, 15): x * 1e15 rounded half-to-even, divided back.
double Around15(double x) { return std::nearbyint(x * 1e15) / 1e15; }

// Solves (L L') x = b for the lower-triangular n x n block of L (LAPACK potrs).
Eigen::VectorXd CholeskySolve(const Eigen::MatrixXd& l, Eigen::Index n, const Eigen::VectorXd& b) {
  const auto block = l.topLeftCorner(n, n);
  Eigen::VectorXd z = block.triangularView<Eigen::Lower>().solve(b);
  return block.transpose().triangularView<Eigen::Upper>().solve(z);
}

// scikit-learn's arrayfuncs.cholesky_delete: removes variable `go_out` from the Cholesky factor in
// the top-left n x n block of l (shift the rows below up, then Givens rotations restore the
// lower-triangular shape; drotg as in the reference BLAS).
void CholeskyDelete(Eigen::MatrixXd& l, Eigen::Index n, Eigen::Index go_out) {
  for (Eigen::Index i = go_out; i < n - 1; ++i) {
    for (Eigen::Index j = 0; j < i + 2; ++j) l(i, j) = l(i + 1, j);
  }
  for (Eigen::Index i = go_out; i < n - 1; ++i) {
    const double a = l(i, i), b = l(i, i + 1);
    double r = std::hypot(a, b);
    double c = 1, s = 0;
    if (r != 0) {
      r = std::copysign(r, std::abs(a) > std::abs(b) ? a : b);
      c = a / r;
      s = b / r;
    }
    l(i, i) = r;
    if (l(i, i) < 0) {  // diagonals of a Cholesky factor are positive
      l(i, i) = std::abs(l(i, i));
      c = -c;
      s = -s;
    }
    l(i, i + 1) = 0;
    for (Eigen::Index row = i + 1; row < n - 1; ++row) {
      const double xv = l(row, i), yv = l(row, i + 1);
      l(row, i) = c * xv + s * yv;
      l(row, i + 1) = c * yv - s * xv;
    }
  }
}

struct LarsPath {
  std::vector<Eigen::VectorXd> coefs;  // one coefficient vector per knot, the first all zero
};

// The Lasso path by LARS with a precomputed Gram matrix, step for step as scikit-learn 1.2.1's
// _lars_path_solver(method='lasso', alpha_min=0, max_iter=500, eps=machine epsilon) does when
// n_samples > n_features (Gram='auto'): the same pivoting, the same rounding of the equiangular
// correlations to 15 decimals, the same treatment of degenerate regressors and of drops
// (Efron et al. 2004, "Least Angle Regression", section 3.1).
Result<LarsPath> LassoLarsPath(const Eigen::MatrixXd& gram_in, const Eigen::VectorXd& xy,
                               double n_samples) {
  constexpr int kMaxIter = 500;                  // LassoLarsIC's default
  constexpr double kTiny32 = FLT_MIN;            // guards divisions, as the reference
  constexpr double kEqualityTolerance = FLT_EPSILON;
  const Eigen::Index p = xy.size();
  const Eigen::Index max_features = std::min<Eigen::Index>(kMaxIter, p);
  Eigen::MatrixXd gram = gram_in;
  std::vector<double> cov(xy.data(), xy.data() + p);
  LarsPath out;
  out.coefs.assign(static_cast<size_t>(max_features) + 1, Eigen::VectorXd::Zero(p));
  std::vector<double> alphas(static_cast<size_t>(max_features) + 1, 0.0);
  int n_iter = 0;
  Eigen::Index n_active = 0;
  std::vector<Eigen::Index> active;
  std::vector<Eigen::Index> indices(static_cast<size_t>(p));
  std::iota(indices.begin(), indices.end(), 0);
  std::vector<double> sign_active(static_cast<size_t>(max_features), 0.0);
  bool drop = false;
  std::vector<Eigen::Index> drop_positions;  // positions in `active`, descending
  Eigen::MatrixXd l = Eigen::MatrixXd::Zero(max_features, max_features);

  while (true) {
    Eigen::Index c_idx = 0;
    double c_signed = 0, c = 0;
    if (!cov.empty()) {
      for (size_t k = 1; k < cov.size(); ++k) {
        if (std::abs(cov[k]) > std::abs(cov[static_cast<size_t>(c_idx)])) c_idx = static_cast<Eigen::Index>(k);
      }
      c_signed = cov[static_cast<size_t>(c_idx)];
      c = std::abs(c_signed);
    }
    alphas[static_cast<size_t>(n_iter)] = c / n_samples;
    // Early stopping at alpha_min = 0 (alpha is never negative, so no interpolation is needed).
    if (alphas[static_cast<size_t>(n_iter)] <= kEqualityTolerance) break;
    if (n_iter >= kMaxIter || n_active >= p) break;
    if (!drop) {
      // Add the variable most correlated with the residual: move it to position n_active.
      sign_active[static_cast<size_t>(n_active)] = c_signed > 0 ? 1.0 : (c_signed < 0 ? -1.0 : 0.0);
      const Eigen::Index m = n_active, nn = c_idx + n_active;
      std::swap(cov[static_cast<size_t>(c_idx)], cov[0]);
      std::swap(indices[static_cast<size_t>(nn)], indices[static_cast<size_t>(m)]);
      std::vector<double> cov_not_shortened = cov;
      cov.erase(cov.begin());
      gram.row(m).swap(gram.row(nn));
      gram.col(m).swap(gram.col(nn));
      const double cc = gram(n_active, n_active);
      Eigen::VectorXd row = gram.row(n_active).head(n_active).transpose();
      if (n_active > 0) {
        l.topLeftCorner(n_active, n_active).triangularView<Eigen::Lower>().solveInPlace(row);
      }
      l.row(n_active).head(n_active) = row.transpose();
      const double diag = std::max(std::sqrt(std::abs(cc - row.squaredNorm())), kEps);
      l(n_active, n_active) = diag;
      if (diag < 1e-7) {
        // Degenerate regressor: zero its correlation and try again (the reference leaves the Gram
        // and index swaps in place; so do we).
        cov = std::move(cov_not_shortened);
        cov[0] = 0;
        std::swap(cov[static_cast<size_t>(c_idx)], cov[0]);
        continue;
      }
      active.push_back(indices[static_cast<size_t>(n_active)]);
      ++n_active;
    }
    if (n_iter > 0 && alphas[static_cast<size_t>(n_iter) - 1] < alphas[static_cast<size_t>(n_iter)]) break;

    const Eigen::VectorXd signs =
        Eigen::Map<const Eigen::VectorXd>(sign_active.data(), n_active);
    Eigen::VectorXd least_squares = CholeskySolve(l, n_active, signs);
    double aa;
    if (n_active == 1 && least_squares(0) == 0) {
      least_squares(0) = 1;
      aa = 1;
    } else {
      aa = 1.0 / std::sqrt(least_squares.dot(signs));
      if (!std::isfinite(aa)) {
        Eigen::MatrixXd l_reg = l.topLeftCorner(n_active, n_active);
        for (int i = 0; !std::isfinite(aa); ++i) {
          if (i > 1100) return Status::DataError("lars: cannot regularise the active set");
          l_reg.diagonal().array() += std::ldexp(1.0, i) * kEps;
          least_squares = CholeskySolve(l_reg, n_active, signs);
          aa = 1.0 / std::sqrt(std::max(least_squares.dot(signs), kEps));
        }
      }
      least_squares *= aa;
    }
    Eigen::VectorXd corr_eq_dir =
        gram.block(0, n_active, n_active, p - n_active).transpose() * least_squares;
    for (double& v : corr_eq_dir) v = Around15(v);
    Eigen::VectorXd g1(static_cast<Eigen::Index>(cov.size())), g2(g1.size());
    for (Eigen::Index k = 0; k < g1.size(); ++k) {
      const double cv = cov[static_cast<size_t>(k)];
      g1(k) = (c - cv) / (aa - corr_eq_dir(k) + kTiny32);
      g2(k) = (c + cv) / (aa + corr_eq_dir(k) + kTiny32);
    }
    double gamma = std::min({MinPositive(g1), MinPositive(g2), c / aa});

    // A coefficient crossing zero leaves the active set (the Lasso modification).
    drop = false;
    const Eigen::VectorXd& coef_now = out.coefs[static_cast<size_t>(n_iter)];
    Eigen::VectorXd z(n_active);
    for (Eigen::Index k = 0; k < n_active; ++k) {
      z(k) = -coef_now(active[static_cast<size_t>(k)]) / (least_squares(k) + kTiny32);
    }
    const double z_pos = MinPositive(z);
    drop_positions.clear();
    if (z_pos < gamma) {
      for (Eigen::Index k = n_active - 1; k >= 0; --k) {
        if (z(k) == z_pos) drop_positions.push_back(k);
      }
      for (Eigen::Index k : drop_positions) sign_active[static_cast<size_t>(k)] *= -1;
      gamma = z_pos;
      drop = true;
    }
    ++n_iter;
    if (static_cast<size_t>(n_iter) >= out.coefs.size()) {
      const size_t add = 2 * static_cast<size_t>(std::max<Eigen::Index>(1, max_features - n_active));
      out.coefs.resize(out.coefs.size() + add, Eigen::VectorXd::Zero(p));
      alphas.resize(alphas.size() + add, 0.0);
    }
    Eigen::VectorXd& coef = out.coefs[static_cast<size_t>(n_iter)];
    const Eigen::VectorXd& prev = out.coefs[static_cast<size_t>(n_iter) - 1];
    for (Eigen::Index k = 0; k < n_active; ++k) {
      const Eigen::Index a = active[static_cast<size_t>(k)];
      coef(a) = prev(a) + gamma * least_squares(k);
    }
    for (size_t k = 0; k < cov.size(); ++k) cov[k] -= gamma * corr_eq_dir(static_cast<Eigen::Index>(k));

    if (drop) {
      for (Eigen::Index k : drop_positions) CholeskyDelete(l, n_active, k);
      --n_active;  // once, even for simultaneous drops, as the reference
      std::vector<Eigen::Index> dropped;
      for (Eigen::Index k : drop_positions) {
        dropped.push_back(active[static_cast<size_t>(k)]);
        active.erase(active.begin() + k);
      }
      for (Eigen::Index k : drop_positions) {
        for (Eigen::Index i = k; i < n_active; ++i) {
          std::swap(indices[static_cast<size_t>(i)], indices[static_cast<size_t>(i) + 1]);
          gram.row(i).swap(gram.row(i + 1));
          gram.col(i).swap(gram.col(i + 1));
        }
      }
      // The dropped variables' correlations with the current residual go back in front.
      std::vector<double> front;
      for (Eigen::Index v : dropped) front.push_back(xy(v) - gram_in.row(v).dot(coef));
      cov.insert(cov.begin(), front.begin(), front.end());
      std::vector<double> kept;
      for (Eigen::Index k = 0; k < static_cast<Eigen::Index>(sign_active.size()); ++k) {
        if (std::find(drop_positions.begin(), drop_positions.end(), k) == drop_positions.end()) {
          kept.push_back(sign_active[static_cast<size_t>(k)]);
        }
      }
      kept.push_back(0.0);
      kept.resize(std::max(kept.size(), static_cast<size_t>(max_features)), 0.0);
      sign_active = std::move(kept);
    }
  }
  out.coefs.resize(static_cast<size_t>(n_iter) + 1);
  return out;
}

// NumPy's argmin: the first NaN if any, else the first minimum.
size_t NumpyArgmin(const std::vector<double>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return i;
  }
  return static_cast<size_t>(std::min_element(v.begin(), v.end()) - v.begin());
}

// LassoLarsIC(criterion='bic') of scikit-learn 1.2.1 with its defaults (intercept, no
// normalisation), from its pieces: the Lasso path by LARS on gram = xw' xw and xy = xw' yc, xw
// the centred predictors xc scaled column by column by `scale`, then the knot minimising
// n log(2 pi s2) + RSS / s2 + log(n) df, s2 = ols_rss / (n - p - 1) the OLS residual variance and
// df the number of coefficients above machine epsilon. Returns the coefficients of xw.
// unit_scale: first divide xw and yc by yc's standard deviation (s): gram and xy by s^2, the RSS
// by s^2. The path's coefficients and the BIC's choice do not change in exact arithmetic; only
// the reference's absolute bounds (float32 epsilon on alpha) now act at unit scale.
Result<Eigen::VectorXd> LassoLarsIcBicFromGram(const Eigen::Ref<const Eigen::MatrixXd>& xc,
                                               const Eigen::VectorXd& scale_in,
                                               const Eigen::VectorXd& yc_in,
                                               const Eigen::MatrixXd& gram_in,
                                               const Eigen::VectorXd& xy_in, double ols_rss_in,
                                               bool unit_scale) {
  const Eigen::Index n = xc.rows(), p = xc.cols();
  if (n <= p + 1) {
    return Status::DataError(fmt::format(
        "lingam: adaptive lasso: {} rows for {} predictors, need more than predictors + 1", n, p));
  }
  const double sd = std::sqrt(yc_in.squaredNorm() / static_cast<double>(n));
  const double s = unit_scale && sd > 0 && std::isfinite(sd) ? 1.0 / sd : 1.0;
  const Eigen::VectorXd scale = scale_in * s, yc = yc_in * s, xy = xy_in * (s * s);
  const double ols_rss = ols_rss_in * (s * s);
  Eigen::MatrixXd scaled_gram;  // a copy only when the scale changes
  if (s != 1.0) scaled_gram = gram_in * (s * s);
  const Eigen::MatrixXd& gram = s != 1.0 ? scaled_gram : gram_in;
  LLMRCA_ASSIGN_OR_RETURN(const LarsPath path, LassoLarsPath(gram, xy, static_cast<double>(n)));
  const double nd = static_cast<double>(n);
  const double noise_variance = ols_rss / static_cast<double>(n - p - 1);
  // Residuals of every knot at once: yc - xc (scale .* coef), one matrix product.
  const Eigen::Index knots = static_cast<Eigen::Index>(path.coefs.size());
  Eigen::MatrixXd scaled(p, knots);
  for (Eigen::Index k = 0; k < knots; ++k) {
    scaled.col(k) = path.coefs[static_cast<size_t>(k)].cwiseProduct(scale);
  }
  // Column by column: Eigen's replicate() takes an integer division per element, which made
  // this copy the most expensive line of the fit.
  Eigen::MatrixXd resid(n, knots);
  for (Eigen::Index k = 0; k < knots; ++k) resid.col(k) = yc;
  stats::Gemm(false, false, -1.0, xc, scaled, 1.0, resid);
  std::vector<double> criterion;
  for (Eigen::Index k = 0; k < knots; ++k) {
    const double rss = resid.col(k).squaredNorm();
    const Eigen::VectorXd& coef = path.coefs[static_cast<size_t>(k)];
    const double df = static_cast<double>((coef.array().abs() > kEps).count());
    criterion.push_back(nd * std::log(2 * std::numbers::pi * noise_variance) +
                        rss / noise_variance + std::log(nd) * df);
  }
  return path.coefs[NumpyArgmin(criterion)];
}

// LassoLarsIcBicFromGram on raw predictors x (weighted already) and target y.
// `ols_resid`, when not empty, is the residual of the OLS fit of y on x with intercept, known to
// the caller (column scaling leaves it unchanged up to rounding); empty: computed here.
Result<Eigen::VectorXd> LassoLarsIcBic(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                       const Eigen::VectorXd& known_ols_resid, bool unit_scale) {
  const Eigen::Index n = x.rows(), p = x.cols();
  if (n <= p + 1) {
    return Status::DataError(fmt::format(
        "lingam: adaptive lasso: {} rows for {} predictors, need more than predictors + 1", n, p));
  }
  const Eigen::MatrixXd xc = x.rowwise() - x.colwise().mean();
  const Eigen::VectorXd yc = y.array() - y.mean();
  const Eigen::MatrixXd gram = xc.transpose() * xc;
  const Eigen::VectorXd xy = xc.transpose() * yc;
  const double ols_rss = known_ols_resid.size() == n
                             ? known_ols_resid.squaredNorm()
                             : (yc - xc * LeastSquares(xc, yc)).squaredNorm();
  return LassoLarsIcBicFromGram(xc, Eigen::VectorXd::Ones(p), yc, gram, xy, ols_rss, unit_scale);
}

// ---- Shared: the adjacency matrix from a causal order ----------------------------------------

// What every adaptive-lasso fit of one causal order shares: the centred columns in causal
// order, their Gram matrix and the R of their QR decomposition. The predictors of the i-th
// variable in the order are the first i columns, so R(0:i, 0:i) beta = R(0:i, i) is its OLS fit
// and R(i, i)^2 its residual sum of squares: one O(n d^2) decomposition replaces d of them.
struct OrderedDesign {
  Eigen::MatrixXd centred;  // n x d, column k = variable order[k] minus its mean
  Eigen::MatrixXd gram;     // centred' centred
  Eigen::MatrixXd r;        // upper-triangular factor of centred = QR
  // |R(k, k)| at or below rank_tol(k): column k is (nearly) a combination of the ones before it.
  Eigen::VectorXd rank_tol;
};

OrderedDesign MakeOrderedDesign(const Eigen::MatrixXd& x, const std::vector<int>& order) {
  const Eigen::Index n = x.rows(), d = static_cast<Eigen::Index>(order.size());
  OrderedDesign s;
  s.centred.resize(n, d);
  for (Eigen::Index k = 0; k < d; ++k) {
    const auto col = x.col(order[static_cast<size_t>(k)]);
    s.centred.col(k) = col.array() - col.mean();
  }
  s.gram.resize(d, d);
  stats::Gemm(true, false, 1.0, s.centred, s.centred, 0.0, s.gram);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(s.centred);
  s.r = qr.matrixQR().topRows(std::min(n, d)).triangularView<Eigen::Upper>();
  // |R(k, k)| is the norm of the part of column k outside the span of the columns before it, so
  // it is compared with column k's own norm: a metric in small units beside one in large units
  // (percent beside bytes) must not count as dependent. The bound is far looser than the
  // rounding level at which Eigen's CompleteOrthogonalDecomposition (LeastSquares) drops a
  // pivot, so borderline cases go to it.
  s.rank_tol = 1e-8 * s.centred.colwise().norm().transpose();
  return s;
}

// The adaptive-lasso fit of the i-th variable in the order on the i before it, from the shared
// design; nullopt when the shortcut does not apply (dependent columns or a zero OLS weight) and
// the caller must fit from scratch.
Result<std::optional<Eigen::VectorXd>> AdaptiveLassoOnPrefix(const OrderedDesign& s,
                                                             Eigen::Index i, bool unit_scale) {
  const Eigen::Index p = i;
  if (i >= s.r.rows()) return std::optional<Eigen::VectorXd>();
  for (Eigen::Index k = 0; k <= i; ++k) {
    if (!(std::abs(s.r(k, k)) > s.rank_tol(k))) return std::optional<Eigen::VectorXd>();
  }
  // Eq. 4 of Zou (2006) with gamma = 1: weights |OLS coefficients|.
  const Eigen::VectorXd ols =
      s.r.topLeftCorner(p, p).triangularView<Eigen::Upper>().solve(s.r.col(i).head(p));
  const Eigen::VectorXd weight = ols.cwiseAbs();
  if (!((weight.array() > 0).all() && weight.allFinite())) return std::optional<Eigen::VectorXd>();
  const Eigen::MatrixXd gram =
      weight.asDiagonal() * s.gram.topLeftCorner(p, p) * weight.asDiagonal();
  const Eigen::VectorXd xy = weight.cwiseProduct(s.gram.col(i).head(p));
  const double ols_rss = s.r(i, i) * s.r(i, i);
  LLMRCA_ASSIGN_OR_RETURN(
      const Eigen::VectorXd coef,
      LassoLarsIcBicFromGram(s.centred.leftCols(p), weight, s.centred.col(i), gram, xy, ols_rss,
                             unit_scale));
  return std::optional<Eigen::VectorXd>(coef.cwiseProduct(weight));
}

// _BaseLiNGAM._estimate_adjacency_matrix: each variable regressed on all earlier ones in the
// causal order by the adaptive lasso; B(target, predictor) = coefficient.
Result<Eigen::MatrixXd> AdjacencyFromOrder(const Eigen::MatrixXd& x, const std::vector<int>& order,
                                           int threads, bool unit_scale,
                                           const Deadline& deadline) {
  const Eigen::Index d = x.cols();
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(d, d);
  if (order.size() < 2) return b;
  const OrderedDesign design = MakeOrderedDesign(x, order);
  std::vector<Status> statuses(order.size());
  std::vector<Eigen::VectorXd> coefs(order.size());
  // Larger fits first, so that the last ones to start are the short ones.
  ParallelFor(order.size() - 1, static_cast<size_t>(threads), [&](size_t task) {
    const size_t i = order.size() - 1 - task;
    statuses[i] = deadline.Check("lingam");
    if (!statuses[i].ok()) return;
    Result<std::optional<Eigen::VectorXd>> shortcut =
        AdaptiveLassoOnPrefix(design, static_cast<Eigen::Index>(i), unit_scale);
    if (!shortcut.ok()) {
      statuses[i] = shortcut.status();
      return;
    }
    if (shortcut->has_value()) {
      coefs[i] = std::move(**shortcut);
      return;
    }
    Result<Eigen::VectorXd> c = AdaptiveLassoCoefficients(
        x, std::span<const int>(order.data(), i), order[i], unit_scale);
    if (c.ok()) {
      coefs[i] = std::move(c).value();
    } else {
      statuses[i] = c.status();
    }
  });
  for (size_t i = 1; i < order.size(); ++i) {
    LLMRCA_RETURN_IF_ERROR(statuses[i]);
    for (size_t k = 0; k < i; ++k) b(order[i], order[k]) = coefs[i](static_cast<Eigen::Index>(k));
  }
  return b;
}

// ---- ICA-LiNGAM ---------------------------------------------------------------------------------

// The order in which the reference's _search_causal_order removes variables from the pattern
// `nonzero` (nonzero(i, j): B(i, j) != 0, i.e. j -> i): repeatedly the smallest index whose row
// has no nonzero entry among the remaining columns. Empty when no such order exists (a cycle).
std::vector<int> SmallestFirstTopologicalOrder(const Eigen::Matrix<bool, Eigen::Dynamic,
                                                                    Eigen::Dynamic>& nonzero) {
  const int d = static_cast<int>(nonzero.rows());
  std::vector<int> pending(static_cast<size_t>(d), 0);  // nonzero entries per row, self included
  for (int i = 0; i < d; ++i) pending[static_cast<size_t>(i)] = static_cast<int>(nonzero.row(i).count());
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < d; ++i) {
    if (pending[static_cast<size_t>(i)] == 0) ready.push(i);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int j = ready.top();
    ready.pop();
    order.push_back(j);
    // Removing j clears column j of every remaining row.
    for (int i = 0; i < d; ++i) {
      if (i != j && nonzero(i, j) && --pending[static_cast<size_t>(i)] == 0) ready.push(i);
    }
  }
  if (static_cast<int>(order.size()) != d) order.clear();
  return order;
}

// ICALiNGAM._estimate_causal_order: zero the d(d+1)/2 smallest |B| entries, then one more at a
// time until the pattern admits a causal order. Zeroing more entries never creates a cycle, so
// the first success is found by bisection on the number of zeroed entries.
std::vector<int> EstimateCausalOrder(const Eigen::MatrixXd& b) {
  const int d = static_cast<int>(b.rows());
  if (d == 1) return {0};
  const int total = d * d;
  std::vector<int> flat(static_cast<size_t>(total));
  std::iota(flat.begin(), flat.end(), 0);
  // Row-major positions (NumPy's flattening), smallest |B| first.
  auto value = [&](int pos) { return std::abs(b(pos / d, pos % d)); };
  std::stable_sort(flat.begin(), flat.end(), [&](int a, int c) { return value(a) < value(c); });
  std::vector<int> rank(static_cast<size_t>(total));
  for (int k = 0; k < total; ++k) rank[static_cast<size_t>(flat[static_cast<size_t>(k)])] = k;
  auto order_with_zeroed = [&](int zeroed) {
    Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic> nonzero(d, d);
    for (int i = 0; i < d; ++i) {
      for (int j = 0; j < d; ++j) {
        nonzero(i, j) = rank[static_cast<size_t>(i * d + j)] >= zeroed && b(i, j) != 0;
      }
    }
    return SmallestFirstTopologicalOrder(nonzero);
  };
  // The reference zeroes one entry past d(d+1)/2 before its first search.
  int lo = d * (d + 1) / 2 + 1, hi = total;  // order_with_zeroed(total) always succeeds
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (order_with_zeroed(mid).empty()) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return order_with_zeroed(lo);
}

// ---- DirectLiNGAM ------------------------------------------------------------------------------

// Population standard deviation (NumPy's std, ddof 0).
double StdDev(const Eigen::ArrayXd& v) { return std::sqrt((v - v.mean()).square().mean()); }

// DirectLiNGAM._residual: xi - (cov(xi, xj) / var(xj)) xj, with NumPy's cov (ddof 1) over its
// var (ddof 0), as the reference.
Eigen::ArrayXd Residual(const Eigen::ArrayXd& xi, const Eigen::ArrayXd& xj) {
  const double n = static_cast<double>(xi.size());
  const Eigen::ArrayXd ci = xi - xi.mean();
  const Eigen::ArrayXd cj = xj - xj.mean();
  const double cov = (ci * cj).sum() / (n - 1);
  const double var = cj.square().sum() / n;
  return xi - (cov / var) * xj;
}

// Maximum-entropy approximation of the differential entropy of u = v * scale, u standardised
// (Hyvarinen 1998, "New approximations of differential entropy", with the lingam package's
// constants). log cosh u is evaluated as |u| + log1p(exp(-2|u|)) - log 2, which cannot overflow.
double Entropy(const Eigen::ArrayXd& v, double scale) {
  constexpr double k1 = 79.047, k2 = 7.4129, gamma = 0.37457;
  // One fused pass: the two transcendental terms dominate DirectLiNGAM's running time.
  double sum_logcosh = 0, sum_gauss = 0;
  for (double e : v) {
    const double u = e * scale, a = std::abs(u);
    sum_logcosh += a + std::log1p(std::exp(-2 * a));
    sum_gauss += u * std::exp(-0.5 * u * u);
  }
  const double n = static_cast<double>(v.size());
  const double e1 = sum_logcosh / n - std::numbers::ln2 - gamma, e2 = sum_gauss / n;
  return (1 + std::log(2 * std::numbers::pi)) / 2 - k1 * e1 * e1 - k2 * e2 * e2;
}

// DirectLiNGAM._search_causal_order (measure 'pwling', no prior knowledge): the candidate whose
// pairwise likelihood ratios R(i, j) = H(xj) + H(ri_j) - H(xi) - H(rj_i) (Hyvarinen & Smith 2013)
// are least often negative: minimise M_i = sum_j min(0, R(i, j))^2. R is antisymmetric, so each
// unordered pair is computed once (the negation is exact in floating point), and the covariance
// of a pair serves both residuals.
Result<int> SearchExogenous(const Eigen::MatrixXd& x, const std::vector<int>& u, int threads,
                            const Deadline& deadline) {
  const size_t k = u.size();
  if (k == 1) return u[0];
  const Eigen::Index n = x.rows();
  const double nd = static_cast<double>(n);
  // Per candidate: the standardised column z, z centred, var(z) with ddof 0, H(z).
  std::vector<Eigen::ArrayXd> z(k), centred(k);
  std::vector<double> var(k), entropy(k);
  for (size_t a = 0; a < k; ++a) {
    const Eigen::ArrayXd col = x.col(u[a]).array();
    z[a] = (col - col.mean()) / StdDev(col);
    centred[a] = z[a] - z[a].mean();
    var[a] = centred[a].square().sum() / nd;
    entropy[a] = Entropy(z[a], 1.0);
  }
  // ratio[a * k + b], a < b: R(u[a], u[b]).
  std::vector<double> ratio(k * k, 0.0);
  std::vector<Status> statuses(k);
  ParallelFor(k, static_cast<size_t>(threads), [&](size_t a) {
    statuses[a] = deadline.Check("lingam");
    if (!statuses[a].ok()) return;
    Eigen::ArrayXd r(n);
    for (size_t b = a + 1; b < k; ++b) {
      const double cov = (centred[a] * centred[b]).sum() / (nd - 1);
      r = z[a] - (cov / var[b]) * z[b];  // a regressed on b
      const double h_ab = Entropy(r, 1.0 / StdDev(r));
      r = z[b] - (cov / var[a]) * z[a];  // b regressed on a
      const double h_ba = Entropy(r, 1.0 / StdDev(r));
      ratio[a * k + b] = (entropy[b] + h_ab) - (entropy[a] + h_ba);
    }
  });
  for (const Status& s : statuses) LLMRCA_RETURN_IF_ERROR(s);
  // np.argmax(-M): the first NaN if any, else the first minimum of M.
  size_t best = 0;
  double best_m = 0;
  for (size_t a = 0; a < k; ++a) {
    double m = 0;
    for (size_t b = 0; b < k; ++b) {
      if (a == b) continue;
      const double r = a < b ? ratio[a * k + b] : -ratio[b * k + a];
      const double neg = std::isnan(r) ? r : std::min(0.0, r);  // np.min propagates NaN
      m += neg * neg;
    }
    if (std::isnan(m)) return u[a];
    if (a == 0 || m < best_m) {
      best = a;
      best_m = m;
    }
  }
  return u[best];
}

Result<std::vector<int>> DirectLingamOrder(const Eigen::MatrixXd& data, int threads,
                                           const Deadline& deadline) {
  Eigen::MatrixXd x = data;
  std::vector<int> u(static_cast<size_t>(data.cols()));
  std::iota(u.begin(), u.end(), 0);
  std::vector<int> order;
  while (!u.empty()) {
    LLMRCA_RETURN_IF_ERROR(deadline.Check("lingam"));
    LLMRCA_ASSIGN_OR_RETURN(const int m, SearchExogenous(x, u, threads, deadline));
    const Eigen::ArrayXd xm = x.col(m).array();
    for (int i : u) {
      if (i != m) x.col(i) = Residual(x.col(i).array(), xm).matrix();
    }
    order.push_back(m);
    u.erase(std::find(u.begin(), u.end(), m));
  }
  return order;
}

Status CheckData(const Eigen::MatrixXd& x) {
  if (x.cols() < 1) return Status::DataError("lingam: data: no columns");
  if (x.rows() <= x.cols()) {
    return Status::DataError(fmt::format(
        "lingam: data: {} rows for {} columns, need more rows than columns", x.rows(), x.cols()));
  }
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    if (!x.col(j).allFinite()) {
      return Status::DataError(fmt::format("lingam: data: column {} has a non-finite value", j));
    }
    if ((x.col(j).array() == x(0, j)).all()) {
      return Status::DataError(fmt::format("lingam: data: column {} is constant", j));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Eigen::VectorXd> AdaptiveLassoCoefficients(const Eigen::MatrixXd& data,
                                                  std::span<const int> predictors, int target,
                                                  bool unit_scale) {
  const Eigen::Index d = data.cols();
  auto valid = [&](int c) { return c >= 0 && c < d; };
  if (!valid(target) || !std::all_of(predictors.begin(), predictors.end(), valid) ||
      std::find(predictors.begin(), predictors.end(), target) != predictors.end()) {
    return Status::InvalidArgument(
        fmt::format("lingam: adaptive lasso: bad column indices for {} columns", d));
  }
  const Eigen::Index p = static_cast<Eigen::Index>(predictors.size());
  Eigen::MatrixXd xp(data.rows(), p);
  for (Eigen::Index k = 0; k < p; ++k) xp.col(k) = data.col(predictors[static_cast<size_t>(k)]);
  const Eigen::VectorXd y = data.col(target);
  // Eq. 4 of Zou (2006) with gamma = 1: weights from the OLS fit (LinearRegression, intercept).
  const Eigen::MatrixXd xc = xp.rowwise() - xp.colwise().mean();
  const Eigen::VectorXd yc = y.array() - y.mean();
  const Eigen::VectorXd ols = LeastSquares(xc, yc);
  const Eigen::VectorXd weight = ols.cwiseAbs();
  // The BIC's noise variance needs the OLS residual of y on the weighted predictors: the same
  // residual as this fit's when no weight is zero, which saves a second orthogonal decomposition.
  Eigen::VectorXd ols_resid;
  if ((weight.array() > 0).all()) ols_resid = yc - xc * ols;
  LLMRCA_ASSIGN_OR_RETURN(const Eigen::VectorXd coef,
                          LassoLarsIcBic(xp * weight.asDiagonal(), y, ols_resid, unit_scale));
  return Eigen::VectorXd(coef.cwiseProduct(weight));
}

Result<std::vector<int>> CausalOrderFromUnmixing(const Eigen::MatrixXd& w_ica) {
  const Eigen::Index d = w_ica.rows();
  if (d < 1 || w_ica.cols() != d || !w_ica.allFinite()) {
    return Status::InvalidArgument(fmt::format(
        "lingam: unmixing matrix: {}x{}, need a finite square matrix", d, w_ica.cols()));
  }
  // Permute the rows so that no diagonal entry is small: minimise sum 1/|W_ii| (ICA-LiNGAM step
  // 2). A zero entry would cost infinity; a cost far above any finite one keeps it unused.
  const Eigen::MatrixXd abs_w = w_ica.cwiseAbs();
  const double largest_finite = (abs_w.array() > 0).select(abs_w.cwiseInverse(), 0.0).maxCoeff();
  const Eigen::MatrixXd cost =
      (abs_w.array() > 0).select(abs_w.cwiseInverse(), 1e6 * std::max(1.0, largest_finite));
  LLMRCA_ASSIGN_OR_RETURN(const std::vector<int> col_of_row, stats::LinearSumAssignment(cost));
  Eigen::MatrixXd permuted(d, d);
  for (Eigen::Index i = 0; i < d; ++i) permuted.row(col_of_row[static_cast<size_t>(i)]) = w_ica.row(i);
  // Step 3: scale each row to a unit diagonal; B = I - W (step 4).
  const Eigen::VectorXd diag = permuted.diagonal();
  if ((diag.array() == 0).any()) {
    return Status::InvalidArgument("lingam: unmixing matrix: no permutation has a nonzero diagonal");
  }
  const Eigen::MatrixXd b =
      Eigen::MatrixXd::Identity(d, d) - diag.cwiseInverse().asDiagonal() * permuted;
  return EstimateCausalOrder(b);
}

Result<LingamResult> FitLingam(const Eigen::MatrixXd& data, const LingamOptions& options) {
  if (options.max_iter < 1 || !(options.tol >= 0) || !std::isfinite(options.tol) ||
      options.threads < 1) {
    return Status::InvalidArgument(fmt::format(
        "lingam: options: max_iter={} tol={} threads={}: need max_iter >= 1, a finite tol >= 0, "
        "threads >= 1",
        options.max_iter, options.tol, options.threads));
  }
  if (options.variant != LingamVariant::kIca && options.variant != LingamVariant::kDirect) {
    return Status::InvalidArgument("lingam: options: unknown variant");
  }
  const Eigen::Index d = data.cols();
  if (options.ica_w_init.size() != 0 &&
      (options.ica_w_init.rows() != d || options.ica_w_init.cols() != d)) {
    return Status::InvalidArgument(fmt::format("lingam: ica_w_init: shape {}x{}, need {}x{}",
                                               options.ica_w_init.rows(),
                                               options.ica_w_init.cols(), d, d));
  }
  LLMRCA_RETURN_IF_ERROR(CheckData(data));
  LLMRCA_RETURN_IF_ERROR(options.deadline.Check("lingam"));

  LingamResult out;
  if (options.variant == LingamVariant::kIca) {
    stats::FastIcaOptions ica;
    ica.max_iter = options.max_iter;
    ica.tol = options.tol;
    ica.seed = options.seed;
    ica.w_init = options.ica_w_init;
    ica.deadline = options.deadline;
    ica.threads = options.threads;
    Result<stats::FastIcaResult> fitted = stats::FastIca(data, ica);
    if (!fitted.ok()) return fitted.status().WithPrefix("lingam");
    out.ica_iterations = fitted->iterations;
    out.ica_converged = fitted->converged;
    if (!fitted->converged) {
      // scikit-learn's ConvergenceWarning: the graph still comes from the last iterate.
      Log(LogLevel::kWarning,
          "lingam: FastICA did not converge in {} iterations (last change {:.3g}, tol {:g}); "
          "the graph is learnt from the last iterate",
          fitted->iterations, fitted->change, options.tol);
    }
    LLMRCA_ASSIGN_OR_RETURN(out.causal_order, CausalOrderFromUnmixing(fitted->components));
  } else {
    LLMRCA_ASSIGN_OR_RETURN(out.causal_order,
                            DirectLingamOrder(data, options.threads, options.deadline));
  }
  LLMRCA_ASSIGN_OR_RETURN(
      out.adjacency, AdjacencyFromOrder(data, out.causal_order, options.threads,
                                        options.unit_scale_lasso, options.deadline));
  return out;
}

Result<Eigen::MatrixXd> LingamAdjacency(const Eigen::MatrixXd& data, const LingamOptions& options) {
  LLMRCA_ASSIGN_OR_RETURN(LingamResult r, FitLingam(data, options));
  return std::move(r.adjacency);
}

}  // namespace llmrca::causal
