// Ordinary least squares and the nested-model tests built on it: the regression kernel of the
// Granger tests (causal/granger.h), with the F and chi-square survival functions they need
// (our own regularized incomplete beta and gamma functions, no external special-function
// library). Use OlsDesign when one design matrix serves several responses, FitOls otherwise.
//
// Reference: statsmodels 0.13.5 (OLS.fit(method="pinv"), RegressionResults.f_test,
// tsa.stattools.grangercausalitytests) and scipy 1.10.1 (stats.f.sf, stats.chi2.sf,
// special.betainc, special.gammaincc). Deviations from statsmodels:
//   - the fit is a Householder QR of X followed by an SVD of the small k x k factor R, not an
//     SVD of X itself; the two share their singular values (X = Q R with orthonormal Q), so the
//     rank, the minimum-norm coefficients and (X'X)^+ agree with statsmodels' pinv to rounding.
//     When R is clearly well conditioned (a Frobenius-norm bound on its condition number below
//     1e8 and far from either threshold) the SVD is skipped and R is inverted directly: every
//     singular value would be kept, so the result is the same up to rounding;
//   - both thresholds are options (statsmodels: pinv rcond 1e-15, matrix_rank's s_max*m*eps).
#pragma once

#include <span>

#include <Eigen/Core>

#include "base/status.h"

namespace llmrca::stats {

// How small a singular value may get before it counts as zero.
struct OlsOptions {
  // Singular values <= pinv_rcond * s_max are dropped from the solution (numpy.linalg.pinv and
  // statsmodels' pinv_extended use 1e-15).
  double pinv_rcond = 1e-15;
  // The numerical rank counts singular values > rank_rtol * s_max; a negative value means
  // numpy.linalg.matrix_rank's default, min(n, k) * machine epsilon.
  double rank_rtol = -1;
};

// The least-squares fit of one response.
struct OlsFit {
  Eigen::VectorXd coefficients;  // minimum-norm solution, one per design column
  double ssr = 0;                // residual sum of squares
  double centered_tss = 0;       // sum of (y - mean(y))^2
  int nobs = 0;
  int rank = 0;      // numerical rank of the design
  int df_resid = 0;  // nobs - rank

  // Gaussian log-likelihood at the fit, statsmodels' OLSResults.llf:
  // -n/2 (log(2 pi) + log(ssr / n) + 1).
  double LogLikelihood() const;
};

// A factorisation of one design matrix X (n x k, rows are observations), reusable for any
// number of responses. Immutable after Create(); thread-safe for concurrent Fit() calls.
class OlsDesign {
 public:
  // kInvalidArgument for an empty design; kDataError when X holds NaN or infinity. A rank
  // deficient X is not an error: see OlsOptions (statsmodels' pinv behaviour).
  static Result<OlsDesign> Create(const Eigen::MatrixXd& x, const OlsOptions& options = {});

  // Fits y (n values) on X. kInvalidArgument when the length differs from X's rows; kDataError
  // when y holds NaN or infinity.
  Result<OlsFit> Fit(const Eigen::VectorXd& y) const;

  // Rows of (X'X)^+ (statsmodels' normalized_cov_params) for the given columns, restricted to
  // the same columns: C[a, b] = (X'X)^+[cols[a], cols[b]]. Columns must be valid indices.
  Eigen::MatrixXd NormalizedCov(std::span<const int> cols) const;

  int nobs() const { return nobs_; }
  int num_columns() const { return static_cast<int>(pinv_r_.rows()); }
  int rank() const { return rank_; }

 private:
  OlsDesign() = default;

  int nobs_ = 0;
  int rank_ = 0;
  Eigen::MatrixXd qr_;       // Householder QR of X, in Eigen's HouseholderQR layout
  Eigen::VectorXd hcoeffs_;  // its Householder coefficients
  Eigen::MatrixXd pinv_r_;   // R^+ (k x m, m = min(n, k)), so X^+ = R^+ Q' and b = R^+ (Q'y)
  Eigen::MatrixXd dropped_;  // left singular vectors of R whose singular values pinv dropped
};

// FitOls(x, y) = OlsDesign::Create(x, options)->Fit(y).
Result<OlsFit> FitOls(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                      const OlsOptions& options = {});

// One test: its statistic, p-value and degrees of freedom (df_denom is 0 for a chi-square test).
struct TestResult {
  double statistic = 0;
  double p_value = 1;
  double df_num = 0;
  double df_denom = 0;
};

// The Wald F test that the coefficients of `cols` are all zero (statsmodels' f_test with a
// selection matrix): with C = scale * (X'X)^+ restricted to `cols` and b those coefficients,
// F = b' C^+ b / J, J = numerical rank of C (the number of columns unless C is singular);
// p = FSurvival(F, J, df_resid). Never NaN: J = 0 or df_resid = 0 give F = 0, p = 1.
TestResult WaldFTest(const OlsDesign& design, const OlsFit& fit, std::span<const int> cols);

// The four tests grangercausalitytests reports for one lag order, comparing the restricted fit
// (the target on its own lags and a constant) with the unrestricted one (plus `cols`, the
// `num_restrictions` lags of the other series), in statsmodels 0.13.5's formulas:
//   ssr_f:    F = (ssr_r - ssr_u) / ssr_u / q * df_resid_u,   p = FSurvival(F, q, df_resid_u)
//   ssr_chi2: X = nobs_r (ssr_r - ssr_u) / ssr_u,             p = ChiSquaredSurvival(X, q)
//   lr:       X = -2 (llf_r - llf_u),                         p = ChiSquaredSurvival(X, q)
//   params_f: WaldFTest(unrestricted, cols)
// Assumes ssr_u > 0 (grangercausalitytests refuses a perfect fit before computing these).
struct GrangerLagTests {
  TestResult ssr_f;
  TestResult ssr_chi2;
  TestResult lr;
  TestResult params_f;
};
GrangerLagTests CompareNestedFits(const OlsFit& restricted, const OlsDesign& unrestricted_design,
                                  const OlsFit& unrestricted, std::span<const int> cols,
                                  int num_restrictions);

// ---- Distributions ----------------------------------------------------------------------
// All return NaN for invalid parameters (as scipy does), never for valid ones.

// log Gamma(x) for x > 0 (Stirling's series with upward recurrence; thread-safe, unlike
// std::lgamma, which writes the global signgam).
double LogGamma(double x);
// Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1] (scipy.special.betainc).
double RegularizedIncompleteBeta(double a, double b, double x);
// Regularized lower / upper incomplete gamma P(a, x), Q(a, x) = 1 - P, a > 0, x >= 0
// (scipy.special.gammainc / gammaincc).
double RegularizedLowerGamma(double a, double x);
double RegularizedUpperGamma(double a, double x);
// P(F > f) for F ~ F(d1, d2) (scipy.stats.f.sf): 1 for f <= 0, 0 for f = +inf.
double FSurvival(double f, double d1, double d2);
// P(X > x) for X ~ chi2(k) (scipy.stats.chi2.sf): 1 for x <= 0, 0 for x = +inf.
double ChiSquaredSurvival(double x, double k);

}  // namespace llmrca::stats
