#include "stats/ols.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>
#include <fmt/format.h>

#include "stats/svd.h"

namespace llmrca::stats {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Continued fractions stop when a step changes the value by less than this (relative): a few
// ulps, so the truncation error stays far below the 1e-12 the p-values need.
constexpr double kFractionTolerance = 4 * kEps;
// Guards the modified Lentz recurrences against a zero denominator (Numerical Recipes 5.2).
constexpr double kTiny = 1e-300;
// An upper bound on continued-fraction and series steps; they need O(sqrt(max(a, b))) steps,
// so this only stops a loop on parameters far outside any test's range.
constexpr int kMaxSteps = 1000000;
// OlsDesign inverts R directly when a bound on its condition number is below this (the
// inverse is then accurate to about 1e8 * eps) ...
constexpr double kDirectInverseCondition = 1e8;
// ... and at least this factor away from the pinv and rank thresholds.
constexpr double kThresholdMargin = 100;
// Stirling's series is accurate to < 1e-19 from here on (the first omitted term is
// 3617 / (122400 x^15)); smaller arguments are shifted up by the recurrence.
constexpr double kStirlingFrom = 15.0;

// The correction term of Stirling's series: log Gamma(x) - ((x - 1/2) log x - x + log(2 pi)/2),
// for x >= kStirlingFrom (Abramowitz & Stegun 6.1.40).
double StirlingCorrection(double x) {
  const double r = 1.0 / x;
  const double r2 = r * r;
  return r * (1.0 / 12 +
              r2 * (-1.0 / 360 +
                    r2 * (1.0 / 1260 +
                          r2 * (-1.0 / 1680 +
                                r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))));
}

// log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b), arranged so that the large
// terms cancel analytically instead of in floating point when a or b is large (the F test's
// a = df_denom / 2 reaches hundreds).
double LogBeta(double a, double b) {
  const double big = std::max(a, b);
  const double small = std::min(a, b);
  if (small >= kStirlingFrom) {
    // Both in Stirling's range: log B = log(2 pi)/2 + a log(a/(a+b)) + b log(b/(a+b))
    //   + log((a+b)/(a b))/2 + corrections.
    const double sum = a + b;
    return 0.5 * std::log(2 * std::numbers::pi) + a * std::log(a / sum) + b * std::log(b / sum) +
           0.5 * std::log(sum / (a * b)) + StirlingCorrection(a) + StirlingCorrection(b) -
           StirlingCorrection(sum);
  }
  if (big >= kStirlingFrom) {
    // log Gamma(big) - log Gamma(big + small)
    //   = -(big - 1/2) log1p(small/big) - small log(big + small) + small + corrections.
    const double diff = -(big - 0.5) * std::log1p(small / big) - small * std::log(big + small) +
                        small + StirlingCorrection(big) - StirlingCorrection(big + small);
    return LogGamma(small) + diff;
  }
  return LogGamma(a) + LogGamma(b) - LogGamma(a + b);
}

// The continued fraction of I_x(a, b) (Numerical Recipes 6.4, modified Lentz); converges fast
// for x < (a + 1) / (a + b + 2).
double BetaFraction(double a, double b, double x) {
  const double qab = a + b;
  const double qap = a + 1;
  const double qam = a - 1;
  double c = 1;
  double d = 1 - qab * x / qap;
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= kMaxSteps; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1) < kFractionTolerance) return h;
  }
  return kNaN;
}

// I_x(a, b) given both x and y = 1 - x, so callers that know 1 - x more precisely than the
// subtraction would give (the F tail) keep that precision.
double IncompleteBeta(double a, double b, double x, double y) {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const double log_x = x <= 0.5 ? std::log(x) : std::log1p(-y);
  const double log_y = y <= 0.5 ? std::log(y) : std::log1p(-x);
  const double log_front = a * log_x + b * log_y - LogBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * BetaFraction(a, b, x) / a;
  // Symmetry I_x(a, b) = 1 - I_y(b, a); here I_x(a, b) is not small, so the subtraction is safe.
  return 1 - std::exp(log_front) * BetaFraction(b, a, y) / b;
}

// log of the common factor x^a e^-x / Gamma(a) of the incomplete gamma expansions.
double LogGammaFront(double a, double x) { return a * std::log(x) - x - LogGamma(a); }

// P(a, x) by its series (Numerical Recipes 6.2); for x < a + 1.
double LowerGammaSeries(double a, double x) {
  double ap = a;
  double term = 1 / a;
  double sum = term;
  for (int n = 1; n <= kMaxSteps; ++n) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (std::abs(term) < std::abs(sum) * kEps) return sum * std::exp(LogGammaFront(a, x));
  }
  return kNaN;
}

// Q(a, x) by its continued fraction (Numerical Recipes 6.2, modified Lentz); for x >= a + 1.
double UpperGammaFraction(double a, double x) {
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i <= kMaxSteps; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1) < kFractionTolerance) return std::exp(LogGammaFront(a, x)) * h;
  }
  return kNaN;
}

bool ValidGammaArgs(double a, double x) {
  return a > 0 && x >= 0 && !std::isnan(x) && std::isfinite(a);
}

// Pseudo-inverse and numerical rank of a small symmetric matrix, as numpy.linalg.pinv (rcond
// 1e-15) and numpy.linalg.matrix_rank (s_max * size * eps) compute them.
struct SmallPinv {
  Eigen::MatrixXd inverse;
  int rank = 0;
};
SmallPinv PseudoInverse(const Eigen::MatrixXd& m) {
  SmallPinv out;
  out.inverse = Eigen::MatrixXd::Zero(m.cols(), m.rows());
  if (m.size() == 0) return out;
  const ThinSvdResult svd = JacobiThinSvd(m, /*want_u=*/true, /*want_v=*/true);
  const Eigen::VectorXd& s = svd.values;
  const double s_max = s.size() > 0 ? s(0) : 0.0;
  const double rank_tol = s_max * static_cast<double>(std::max(m.rows(), m.cols())) * kEps;
  Eigen::VectorXd s_inv = Eigen::VectorXd::Zero(s.size());
  for (Eigen::Index i = 0; i < s.size(); ++i) {
    if (s(i) > 1e-15 * s_max) s_inv(i) = 1 / s(i);
    if (s(i) > rank_tol) ++out.rank;
  }
  out.inverse = svd.v * s_inv.asDiagonal() * svd.u.transpose();
  return out;
}

}  // namespace

// ---- OLS --------------------------------------------------------------------------------

double OlsFit::LogLikelihood() const {
  // statsmodels OLS.loglike's profile likelihood, term for term.
  const double nobs2 = nobs / 2.0;
  return -nobs2 * std::log(2 * std::numbers::pi) - nobs2 * std::log(ssr / nobs) - nobs2;
}

Result<OlsDesign> OlsDesign::Create(const Eigen::MatrixXd& x, const OlsOptions& options) {
  if (x.rows() == 0 || x.cols() == 0) {
    return Status::InvalidArgument(
        fmt::format("ols: empty design: {} rows x {} columns", x.rows(), x.cols()));
  }
  if (!x.allFinite()) return Status::DataError("ols: design matrix holds NaN or infinity");
  if (!(options.pinv_rcond >= 0) || std::isnan(options.rank_rtol)) {
    return Status::InvalidArgument(fmt::format("ols: bad thresholds: pinv_rcond {}, rank_rtol {}",
                                               options.pinv_rcond, options.rank_rtol));
  }
  OlsDesign d;
  d.nobs_ = static_cast<int>(x.rows());
  d.qr_ = x;
  Eigen::HouseholderQR<Eigen::Ref<Eigen::MatrixXd>> qr(d.qr_);  // factorises d.qr_ in place
  d.hcoeffs_ = qr.hCoeffs();
  const Eigen::Index m = std::min(x.rows(), x.cols());
  const Eigen::Index k = x.cols();
  const double rank_rel = options.rank_rtol < 0 ? static_cast<double>(m) * kEps : options.rank_rtol;
  // X = Q R with Q's first m columns orthonormal, so X and the m x k factor R have the same
  // singular values and right singular vectors: X^+ = R^+ Q'.
  const Eigen::MatrixXd r = d.qr_.topRows(m).triangularView<Eigen::Upper>();

  if (m == k && (r.diagonal().array() != 0).all()) {
    // s_max / s_min <= ||R||_F ||R^-1||_F: when that bound is small, no singular value is near
    // either threshold and R^+ = R^-1.
    const Eigen::MatrixXd r_inv =
        r.triangularView<Eigen::Upper>().solve(Eigen::MatrixXd::Identity(k, k));
    const double condition = r.norm() * r_inv.norm();
    if (std::isfinite(condition) && condition < kDirectInverseCondition &&
        condition * kThresholdMargin * std::max(options.pinv_rcond, rank_rel) < 1) {
      d.pinv_r_ = r_inv;
      d.dropped_.resize(m, 0);
      d.rank_ = static_cast<int>(k);
      return d;
    }
  }

  const ThinSvdResult svd = ThinSvd(r, /*want_u=*/true, /*want_v=*/true);
  const Eigen::VectorXd& s = svd.values;
  const double s_max = s.size() > 0 ? s(0) : 0.0;
  Eigen::VectorXd s_inv = Eigen::VectorXd::Zero(s.size());
  std::vector<Eigen::Index> dropped;
  for (Eigen::Index i = 0; i < s.size(); ++i) {
    if (s(i) > options.pinv_rcond * s_max && s(i) > 0) {
      s_inv(i) = 1 / s(i);
    } else {
      dropped.push_back(i);
    }
    if (s(i) > rank_rel * s_max) ++d.rank_;
  }
  d.pinv_r_ = svd.v * s_inv.asDiagonal() * svd.u.transpose();
  d.dropped_.resize(m, static_cast<Eigen::Index>(dropped.size()));
  for (size_t a = 0; a < dropped.size(); ++a) {
    d.dropped_.col(static_cast<Eigen::Index>(a)) = svd.u.col(dropped[a]);
  }
  return d;
}

Result<OlsFit> OlsDesign::Fit(const Eigen::VectorXd& y) const {
  if (y.size() != nobs_) {
    return Status::InvalidArgument(
        fmt::format("ols: response has {} values, the design {} rows", y.size(), nobs_));
  }
  if (!y.allFinite()) return Status::DataError("ols: response holds NaN or infinity");
  const Eigen::Index m = pinv_r_.cols();
  // Rotate y by Q': the first m entries are the coordinates in R's row space, the rest are
  // residual by construction.
  Eigen::VectorXd c = y;
  c.applyOnTheLeft(Eigen::householderSequence(qr_, hcoeffs_).adjoint());
  OlsFit fit;
  fit.coefficients = pinv_r_ * c.head(m);
  // ||y - X b||^2 = ||c_tail||^2 + what pinv leaves unexplained of c_top (its components
  // along the dropped singular directions).
  fit.ssr = c.tail(c.size() - m).squaredNorm() + (dropped_.transpose() * c.head(m)).squaredNorm();
  const double mean = y.mean();
  fit.centered_tss = (y.array() - mean).square().sum();
  fit.nobs = nobs_;
  fit.rank = rank_;
  fit.df_resid = nobs_ - rank_;
  return fit;
}

Eigen::MatrixXd OlsDesign::NormalizedCov(std::span<const int> cols) const {
  // (X'X)^+ = X^+ X^+' = R^+ R^+'.
  const Eigen::Index q = static_cast<Eigen::Index>(cols.size());
  Eigen::MatrixXd rows(q, pinv_r_.cols());
  for (Eigen::Index a = 0; a < q; ++a) rows.row(a) = pinv_r_.row(cols[static_cast<size_t>(a)]);
  return rows * rows.transpose();
}

Result<OlsFit> FitOls(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                      const OlsOptions& options) {
  LLMRCA_ASSIGN_OR_RETURN(OlsDesign design, OlsDesign::Create(x, options));
  return design.Fit(y);
}

// ---- Tests ------------------------------------------------------------------------------

TestResult WaldFTest(const OlsDesign& design, const OlsFit& fit, std::span<const int> cols) {
  TestResult out;
  out.df_denom = fit.df_resid;
  if (cols.empty() || fit.df_resid <= 0) return out;
  const double scale = fit.ssr / fit.df_resid;
  const Eigen::MatrixXd cov = design.NormalizedCov(cols) * scale;
  Eigen::VectorXd b(static_cast<Eigen::Index>(cols.size()));
  for (size_t a = 0; a < cols.size(); ++a) {
    b(static_cast<Eigen::Index>(a)) = fit.coefficients(cols[a]);
  }
  const SmallPinv inv = PseudoInverse(cov);
  if (inv.rank == 0) return out;
  const double f = b.dot(inv.inverse * b) / inv.rank;
  out.statistic = f;
  out.df_num = inv.rank;
  out.p_value = FSurvival(f, inv.rank, fit.df_resid);
  if (std::isnan(out.p_value)) out.p_value = 1;
  return out;
}

GrangerLagTests CompareNestedFits(const OlsFit& restricted, const OlsDesign& unrestricted_design,
                                  const OlsFit& unrestricted, std::span<const int> cols,
                                  int num_restrictions) {
  GrangerLagTests t;
  const double q = num_restrictions;
  const double ssr_r = restricted.ssr;
  const double ssr_u = unrestricted.ssr;
  // The operations in statsmodels' order, so the statistics agree to the last bits.
  const double f = (ssr_r - ssr_u) / ssr_u / q * unrestricted.df_resid;
  t.ssr_f = {f, FSurvival(f, q, unrestricted.df_resid), q,
             static_cast<double>(unrestricted.df_resid)};
  const double chi2 = restricted.nobs * (ssr_r - ssr_u) / ssr_u;
  t.ssr_chi2 = {chi2, ChiSquaredSurvival(chi2, q), q, 0};
  const double lr = -2 * (restricted.LogLikelihood() - unrestricted.LogLikelihood());
  t.lr = {lr, ChiSquaredSurvival(lr, q), q, 0};
  t.params_f = WaldFTest(unrestricted_design, unrestricted, cols);
  return t;
}

// ---- Distributions ----------------------------------------------------------------------

double LogGamma(double x) {
  if (!(x > 0)) return kNaN;
  if (std::isinf(x)) return kInf;
  // Shift into Stirling's range: Gamma(x) = Gamma(x + n) / (x (x + 1) ... (x + n - 1)).
  double product = 1;
  while (x < kStirlingFrom) {
    product *= x;
    x += 1;
  }
  return (x - 0.5) * std::log(x) - x + 0.5 * std::log(2 * std::numbers::pi) +
         StirlingCorrection(x) - std::log(product);
}

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1) || std::isinf(a) || std::isinf(b)) return kNaN;
  return IncompleteBeta(a, b, x, 1 - x);
}

double RegularizedLowerGamma(double a, double x) {
  if (!ValidGammaArgs(a, x)) return kNaN;
  if (x == 0) return 0;
  if (std::isinf(x)) return 1;
  if (x < a + 1) return LowerGammaSeries(a, x);
  return 1 - UpperGammaFraction(a, x);
}

double RegularizedUpperGamma(double a, double x) {
  if (!ValidGammaArgs(a, x)) return kNaN;
  if (x == 0) return 1;
  if (std::isinf(x)) return 0;
  if (x < a + 1) return 1 - LowerGammaSeries(a, x);
  return UpperGammaFraction(a, x);
}

double FSurvival(double f, double d1, double d2) {
  if (!(d1 > 0) || !(d2 > 0) || std::isnan(f) || std::isinf(d1) || std::isinf(d2)) return kNaN;
  if (f <= 0) return 1;
  const double d1f = d1 * f;
  if (std::isinf(d1f)) return 0;
  // P(F > f) = I_x(d2/2, d1/2) with x = d2 / (d2 + d1 f); 1 - x is formed directly.
  const double denom = d2 + d1f;
  return IncompleteBeta(d2 / 2, d1 / 2, d2 / denom, d1f / denom);
}

double ChiSquaredSurvival(double x, double k) {
  if (!(k > 0) || std::isnan(x) || std::isinf(k)) return kNaN;
  if (x <= 0) return 1;
  return RegularizedUpperGamma(k / 2, x / 2);
}

}  // namespace llmrca::stats
