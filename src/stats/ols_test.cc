#include "stats/ols.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "stats/testing/lagged_series.h"

namespace llmrca::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// |actual - expected| <= rel * |expected| (exact when expected is 0).
void ExpectRelNear(double actual, double expected, double rel) {
  EXPECT_LE(std::abs(actual - expected), rel * std::abs(expected))
      << "actual " << actual << ", expected " << expected;
}

TEST(OlsTest, FitsLineByHand) {
  // y on [1, x] with x = 0..3, y = 1, 3, 2, 5: Sxx = 5, Sxy = 5.5, so slope 1.1 and intercept
  // 2.75 - 1.1 * 1.5 = 1.1; residuals -0.1, 0.8, -1.3, 0.6 give ssr 2.7; Syy = 8.75.
  Eigen::MatrixXd x(4, 2);
  x << 1, 0, 1, 1, 1, 2, 1, 3;
  Eigen::VectorXd y(4);
  y << 1, 3, 2, 5;
  Result<OlsFit> fit = FitOls(x, y);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_NEAR(fit->coefficients(0), 1.1, 1e-14);
  EXPECT_NEAR(fit->coefficients(1), 1.1, 1e-14);
  EXPECT_NEAR(fit->ssr, 2.7, 1e-13);
  EXPECT_NEAR(fit->centered_tss, 8.75, 1e-13);
  EXPECT_EQ(fit->nobs, 4);
  EXPECT_EQ(fit->rank, 2);
  EXPECT_EQ(fit->df_resid, 2);
}

TEST(OlsTest, ExactFitHasZeroResidual) {
  Eigen::MatrixXd x(5, 2);
  x << 1, -2, 1, 0, 1, 1, 1, 4, 1, 7;
  Eigen::VectorXd y = 3 * Eigen::VectorXd::Ones(5) - 0.5 * x.col(1);
  Result<OlsFit> fit = FitOls(x, y);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->coefficients(0), 3, 1e-14);
  EXPECT_NEAR(fit->coefficients(1), -0.5, 1e-14);
  EXPECT_LT(fit->ssr, 1e-26);
}

TEST(OlsTest, RankDeficientDesignGetsStatsmodelsPinvSolution) {
  // Two identical columns. Expected: statsmodels 0.13.5 OLS(y, X).fit() (method "pinv"):
  // params [1.5, 0.4, 0.4] (the minimum-norm split), ssr 1.8, rank 2, df_resid 2,
  // llf -4.078738740383146, normalized_cov_params [[1.5, -0.25, -0.25], [., 0.05, 0.05], ...].
  Eigen::MatrixXd x(4, 3);
  x << 1, 1, 1, 1, 2, 2, 1, 3, 3, 1, 4, 4;
  Eigen::VectorXd y(4);
  y << 2, 3, 5, 4;
  Result<OlsDesign> design = OlsDesign::Create(x);
  ASSERT_TRUE(design.ok());
  EXPECT_EQ(design->rank(), 2);
  Result<OlsFit> fit = design->Fit(y);
  ASSERT_TRUE(fit.ok());
  ExpectRelNear(fit->coefficients(0), 1.5, 1e-13);
  ExpectRelNear(fit->coefficients(1), 0.4, 1e-13);
  ExpectRelNear(fit->coefficients(2), 0.4, 1e-13);
  ExpectRelNear(fit->ssr, 1.8, 1e-13);
  EXPECT_EQ(fit->df_resid, 2);
  ExpectRelNear(fit->LogLikelihood(), -4.078738740383146, 1e-13);
  const std::vector<int> cols = {0, 1, 2};
  const Eigen::MatrixXd cov = design->NormalizedCov(cols);
  ExpectRelNear(cov(0, 0), 1.5, 1e-12);
  ExpectRelNear(cov(0, 1), -0.25, 1e-12);
  ExpectRelNear(cov(1, 2), 0.05, 1e-12);
  ExpectRelNear(cov(2, 2), 0.05, 1e-12);
}

TEST(OlsTest, UnderdeterminedDesignFitsExactly) {
  // 2 rows, 3 columns: the minimum-norm solution of x1 + x2 + x3 = 3, x1 - x3 = 0 is (1, 1, 1).
  Eigen::MatrixXd x(2, 3);
  x << 1, 1, 1, 1, 0, -1;
  Eigen::VectorXd y(2);
  y << 3, 0;
  Result<OlsFit> fit = FitOls(x, y);
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->rank, 2);
  EXPECT_EQ(fit->df_resid, 0);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(fit->coefficients(i), 1, 1e-14);
  EXPECT_LT(fit->ssr, 1e-26);
}

TEST(OlsTest, RejectsBadInput) {
  EXPECT_EQ(OlsDesign::Create(Eigen::MatrixXd(0, 2)).status().code(), StatusCode::kInvalidArgument);
  Eigen::MatrixXd x = Eigen::MatrixXd::Ones(3, 1);
  x(1, 0) = kNaN;
  EXPECT_EQ(OlsDesign::Create(x).status().code(), StatusCode::kDataError);
  Result<OlsDesign> ok = OlsDesign::Create(Eigen::MatrixXd::Ones(3, 1));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->Fit(Eigen::VectorXd::Ones(4)).status().code(), StatusCode::kInvalidArgument);
  Eigen::VectorXd y = Eigen::VectorXd::Ones(3);
  y(2) = kInf;
  EXPECT_EQ(ok->Fit(y).status().code(), StatusCode::kDataError);
  OlsOptions bad;
  bad.pinv_rcond = -1;
  EXPECT_EQ(OlsDesign::Create(Eigen::MatrixXd::Ones(3, 1), bad).status().code(),
            StatusCode::kInvalidArgument);
}

using ::llmrca::stats::fixtures::kCause;
using ::llmrca::stats::fixtures::kEffect;

TEST(OlsTest, NestedTestsMatchStatsmodelsGrangerLagTwo) {
  // The lag-2 regressions of grangercausalitytests, built here by hand: rows t = 2..39,
  // restricted [x1[t-1], x1[t-2], 1], unrestricted [x1[t-1], x1[t-2], x2[t-1], x2[t-2], 1].
  // Expected: statsmodels 0.13.5 grangercausalitytests(np.column_stack([x1, x2]), 3)[2]:
  // ssr_r 50.08757858947455, ssr_u 37.46167487047862, llf_u -53.648576958472084, params[3]
  // (x2[t-2]) 0.5357272358887286, ssr_ftest (5.561081080429848, 0.008291689520371104, 33, 2),
  // ssr_chi2test (12.807338245838439, 0.0016554719859616387, 2), lrtest (11.037276247186782,
  // 0.004011307128415977, 2), params_ftest (5.561081080429848, 0.008291689520371104, 33, 2).
  const int lag = 2;
  const int nobs = static_cast<int>(kEffect.size()) - lag;
  Eigen::MatrixXd xr(nobs, 3), xu(nobs, 5);
  Eigen::VectorXd y(nobs);
  for (int r = 0; r < nobs; ++r) {
    const size_t t = static_cast<size_t>(r + lag);
    y(r) = kEffect[t];
    xr.row(r) << kEffect[t - 1], kEffect[t - 2], 1;
    xu.row(r) << kEffect[t - 1], kEffect[t - 2], kCause[t - 1], kCause[t - 2], 1;
  }
  Result<OlsFit> restricted = FitOls(xr, y);
  Result<OlsDesign> design = OlsDesign::Create(xu);
  ASSERT_TRUE(restricted.ok() && design.ok());
  Result<OlsFit> unrestricted = design->Fit(y);
  ASSERT_TRUE(unrestricted.ok());
  ExpectRelNear(restricted->ssr, 50.08757858947455, 1e-12);
  ExpectRelNear(unrestricted->ssr, 37.46167487047862, 1e-12);
  ExpectRelNear(unrestricted->LogLikelihood(), -53.648576958472084, 1e-12);
  ExpectRelNear(unrestricted->coefficients(3), 0.5357272358887286, 1e-12);
  const std::vector<int> cols = {2, 3};
  const GrangerLagTests t = CompareNestedFits(*restricted, *design, *unrestricted, cols, 2);
  ExpectRelNear(t.ssr_f.statistic, 5.561081080429848, 1e-11);
  ExpectRelNear(t.ssr_f.p_value, 0.008291689520371104, 1e-11);
  EXPECT_EQ(t.ssr_f.df_num, 2);
  EXPECT_EQ(t.ssr_f.df_denom, 33);
  ExpectRelNear(t.ssr_chi2.statistic, 12.807338245838439, 1e-11);
  ExpectRelNear(t.ssr_chi2.p_value, 0.0016554719859616387, 1e-11);
  ExpectRelNear(t.lr.statistic, 11.037276247186782, 1e-11);
  ExpectRelNear(t.lr.p_value, 0.004011307128415977, 1e-11);
  ExpectRelNear(t.params_f.statistic, 5.561081080429848, 1e-11);
  ExpectRelNear(t.params_f.p_value, 0.008291689520371104, 1e-11);
  EXPECT_EQ(t.params_f.df_num, 2);
  EXPECT_EQ(t.params_f.df_denom, 33);
}

TEST(OlsTest, WaldTestOfCollinearColumnsUsesTheirRank) {
  // The duplicated columns 1 and 2 of the rank-deficient example: their covariance block is
  // singular (rank 1), so the test has one numerator degree of freedom, as statsmodels'
  // f_test reduces J to the rank. The pinv solution gives b = (0.4, 0.4), block
  // C = scale * 0.05 [[1, 1], [1, 1]] with scale = 1.8 / 2, so F = b' C^+ b = 0.8^2 / (4 * 0.045)
  // = 3.5555...; statsmodels 0.13.5 f_test gives F 3.5555555555555483, p 0.20000000000000032,
  // df_num 1, df_denom 2.
  Eigen::MatrixXd x(4, 3);
  x << 1, 1, 1, 1, 2, 2, 1, 3, 3, 1, 4, 4;
  Eigen::VectorXd y(4);
  y << 2, 3, 5, 4;
  Result<OlsDesign> design = OlsDesign::Create(x);
  ASSERT_TRUE(design.ok());
  Result<OlsFit> fit = design->Fit(y);
  ASSERT_TRUE(fit.ok());
  const std::vector<int> cols = {1, 2};
  const TestResult t = WaldFTest(*design, *fit, cols);
  EXPECT_EQ(t.df_num, 1);
  EXPECT_EQ(t.df_denom, 2);
  ExpectRelNear(t.statistic, 0.64 / 0.18, 1e-12);
  ExpectRelNear(t.p_value, 0.20000000000000032, 1e-12);
}

// ---- Distributions. Each case carries two expected values: scipy 1.10.1's (special.gammaln,
// special.betainc, special.gammaincc, stats.f.sf, stats.chi2.sf, printed with repr()) and the
// exact value (mpmath 1.2.1 at 50 digits, rounded to double). We assert 1e-13 relative to the
// exact value and 5e-12 to scipy, whose own error reaches 3e-12 (f.sf(0.8, 2, 5000)).

constexpr double kExactTolerance = 1e-13;
constexpr double kScipyTolerance = 5e-12;

TEST(DistributionsTest, LogGammaMatchesScipy) {
  struct Case {
    double x, scipy, exact;
  };
  const Case cases[] = {
      {1e-08, 18.42068073818021, 18.42068073818021},
      {0.5, 0.5723649429247, 0.5723649429247001},
      {1.5, -0.12078223763524526, -0.12078223763524522},
      {3.7, 1.428072326665388, 1.428072326665388},
      {10.0, 12.801827480081469, 12.801827480081469},
      {14.99, 25.164481163825506, 25.164481163825506},
      {15.0, 25.191221182738683, 25.19122118273868},
      {100.25, 360.28455963776423, 360.28455963776423},
      {100000.0, 1051287.7089736569, 1051287.7089736569},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "x " << c.x);
    ExpectRelNear(LogGamma(c.x), c.exact, kExactTolerance);
    ExpectRelNear(LogGamma(c.x), c.scipy, kScipyTolerance);
  }
  // Near its zeros log Gamma is only accurate in absolute terms (the upward recurrence).
  EXPECT_NEAR(LogGamma(1.0), 0.0, 1e-14);
  EXPECT_NEAR(LogGamma(2.0), 0.0, 1e-14);
  EXPECT_TRUE(std::isnan(LogGamma(0.0)));
  EXPECT_TRUE(std::isnan(LogGamma(-1.5)));
}

TEST(DistributionsTest, IncompleteBetaMatchesScipy) {
  struct Case {
    double a, b, x, scipy, exact;
  };
  const Case cases[] = {
      {0.5, 0.5, 0.3, 0.3690101195655454, 0.36901011956554536},
      {1, 1, 0.42, 0.42, 0.42},
      {2.5, 1.5, 0.9, 0.9021193570586202, 0.9021193570586202},
      {500, 1.5, 0.98, 0.00015334940690685437, 0.00015334940690677704},
      {500, 1.5, 0.999, 0.8010099054490474, 0.8010099054491452},
      {1.5, 500, 0.001, 0.19899009455095232, 0.19899009455085462},
      {200, 300, 0.4, 0.502428616319897, 0.502428616319932},
      {30.5, 0.5, 0.2, 5.440740143534364e-23, 5.440740143534362e-23},
      {0.1, 10, 0.01, 0.8244896709066979, 0.8244896709066988},
      {35, 1.5, 0.5, 1.4074938080323245e-10, 1.4074938080323242e-10},
      {5000, 1, 0.9999, 0.6065154956250405, 0.6065154956247782},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "a " << c.a << " b " << c.b << " x " << c.x);
    ExpectRelNear(RegularizedIncompleteBeta(c.a, c.b, c.x), c.exact, kExactTolerance);
    ExpectRelNear(RegularizedIncompleteBeta(c.a, c.b, c.x), c.scipy, kScipyTolerance);
  }
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 0), 0);
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 1), 1);
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(0, 3, 0.5)));
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(2, 3, 1.5)));
}

TEST(DistributionsTest, IncompleteGammaMatchesScipy) {
  struct Case {
    double a, x, scipy, exact;  // Q(a, x)
  };
  const Case cases[] = {
      {0.5, 0.1, 0.6547208460185768, 0.654720846018577},
      {0.5, 3.0, 0.014305878435429641, 0.01430587843542964},
      {1.5, 0.5, 0.8012519569012009, 0.8012519569012008},
      {1.5, 40.0, 3.0692774861724164e-17, 3.069277486172417e-17},
      {10, 3.0, 0.9988975118698845, 0.9988975118698845},
      {10, 25.0, 0.0002214766382487835, 0.00022147663824878357},
      {100, 90.0, 0.84177901081357, 0.8417790108135699},
      {100, 130.0, 0.002750408367306518, 0.002750408367306526},
      {0.5, 300.0, 1.674167984691805e-132, 1.674167984691788e-132},
      {1.0, 700.0, 9.85967654375939e-305, 9.85967654375977e-305},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "a " << c.a << " x " << c.x);
    ExpectRelNear(RegularizedUpperGamma(c.a, c.x), c.exact, kExactTolerance);
    ExpectRelNear(RegularizedUpperGamma(c.a, c.x), c.scipy, kScipyTolerance);
    EXPECT_NEAR(RegularizedLowerGamma(c.a, c.x), 1 - c.exact, 1e-15);
  }
  EXPECT_EQ(RegularizedUpperGamma(2, 0), 1);
  EXPECT_EQ(RegularizedUpperGamma(2, kInf), 0);
  EXPECT_TRUE(std::isnan(RegularizedUpperGamma(-1, 2)));
}

TEST(DistributionsTest, FSurvivalMatchesScipy) {
  struct Case {
    double f, d1, d2, scipy, exact;
  };
  const Case cases[] = {
      {2.5, 3, 60, 0.06802185218030674, 0.06802185218030703},
      {0.3, 1, 10, 0.5958952407991052, 0.5958952407991058},
      {50, 2, 990, 2.057334197903023e-21, 2.057334197903236e-21},
      {150, 3, 994, 3.5065607798427844e-80, 3.506560779842119e-80},
      {1e-06, 3, 994, 0.9999999986169822, 0.9999999986169822},
      {4.0, 3, 66, 0.01115901828181728, 0.011159018281817278},
      {400, 3, 994, 2.380811791070356e-170, 2.380811791069755e-170},
      {1.0, 1, 1, 0.5000000000000001, 0.5},
      {0.8, 2, 5000, 0.44938646963871454, 0.44938646963738615},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "f " << c.f << " d1 " << c.d1 << " d2 " << c.d2);
    ExpectRelNear(FSurvival(c.f, c.d1, c.d2), c.exact, kExactTolerance);
    ExpectRelNear(FSurvival(c.f, c.d1, c.d2), c.scipy, kScipyTolerance);
  }
  EXPECT_EQ(FSurvival(0, 2, 10), 1);
  EXPECT_EQ(FSurvival(-3, 2, 10), 1);
  EXPECT_EQ(FSurvival(kInf, 2, 10), 0);
  EXPECT_TRUE(std::isnan(FSurvival(1, 0, 10)));
  EXPECT_TRUE(std::isnan(FSurvival(kNaN, 2, 10)));
}

TEST(DistributionsTest, ChiSquaredSurvivalMatchesScipy) {
  struct Case {
    double x, k, scipy, exact;
  };
  const Case cases[] = {
      {3.0, 1, 0.08326451666355042, 0.0832645166635504},
      {7.8, 3, 0.050331097859853326, 0.05033109785985335},
      {100.0, 2, 1.9287498479639183e-22, 1.9287498479639178e-22},
      {1000.0, 3, 1.7994208765314067e-216, 1.7994208765314476e-216},
      {0.01, 3, 0.9997348349413444, 0.9997348349413444},
      {2.0, 2, 0.36787944117144245, 0.36787944117144233},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "x " << c.x << " k " << c.k);
    ExpectRelNear(ChiSquaredSurvival(c.x, c.k), c.exact, kExactTolerance);
    ExpectRelNear(ChiSquaredSurvival(c.x, c.k), c.scipy, kScipyTolerance);
  }
  // scipy underflows chi2.sf(1500, 1) (about 1e-327) to 0; ours is at most a subnormal.
  EXPECT_LT(ChiSquaredSurvival(1500, 1), 1e-300);
  EXPECT_EQ(ChiSquaredSurvival(-2, 3), 1);
  EXPECT_EQ(ChiSquaredSurvival(kInf, 3), 0);
  EXPECT_TRUE(std::isnan(ChiSquaredSurvival(1, -3)));
}

}  // namespace
}  // namespace llmrca::stats
