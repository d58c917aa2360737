#include "causal/granger.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "base/thread_pool.h"

namespace llmrca::causal {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
// kSsrF and multivariate: on z-scored series, singular values below this fraction of the
// largest count as zero, so exactly collinear lags (duplicated series) lose their rank instead
// of producing an F statistic from rounding noise (R's lm() uses 1e-7 on its pivoted QR).
constexpr double kRankTolerance = 1e-10;
// The p-value of a pair with nothing to test (no usable lags, a constant effect).
constexpr double kNoEvidence = 1.0;

// One series with an index of where its value changes, to tell in O(1) whether a lagged
// column is constant (statsmodels' test: max == min over the column).
class Series {
 public:
  Series(std::span<const double> raw, std::span<const double> values)
      : raw_(raw), values_(values), changes_(raw.size(), 0) {
    for (size_t t = 1; t < raw.size(); ++t) {
      changes_[t] = changes_[t - 1] + (raw[t] != raw[t - 1] ? 1 : 0);
    }
  }
  int size() const { return static_cast<int>(raw_.size()); }
  // The values regressions use (the raw series, or its z-scores).
  std::span<const double> values() const { return values_; }
  // True when the raw values first..last (inclusive) are all equal.
  bool Constant(int first, int last) const {
    return changes_[static_cast<size_t>(last)] == changes_[static_cast<size_t>(first)];
  }
  // Lag k of the regressions of lag order `lag` covers t = lag..n-1, i.e. values lag-k..n-1-k.
  bool LagConstant(int lag, int k) const { return Constant(lag - k, size() - 1 - k); }
  bool TargetConstant(int lag) const { return Constant(lag, size() - 1); }
  // Lag k over t = lag..n-1, as an Eigen vector.
  Eigen::Map<const Eigen::VectorXd> Lag(int lag, int k) const {
    return {values_.data() + (lag - k), size() - lag};
  }

 private:
  std::span<const double> raw_;
  std::span<const double> values_;
  std::vector<int64_t> changes_;
};

std::string PairName(int effect, int cause) {
  return fmt::format("columns {} (effect) and {} (cause)", effect, cause);
}

// ---- kRcaevalAverage: statsmodels' grangercausalitytests, one lag order ---------------------

// The restricted regression, effect on its own lags and a constant, shared by every cause.
// Empty when one of the own lags is constant (every pair with this effect is then infeasible).
Result<std::optional<stats::OlsFit>> StatsmodelsRestrictedFit(const Series& e, int lag) {
  for (int k = 1; k <= lag; ++k) {
    if (e.LagConstant(lag, k)) return std::optional<stats::OlsFit>();
  }
  const int nobs = e.size() - lag;
  Eigen::MatrixXd x(nobs, lag + 1);
  for (int k = 1; k <= lag; ++k) x.col(k - 1) = e.Lag(lag, k);
  x.col(lag).setOnes();
  LLMRCA_ASSIGN_OR_RETURN(stats::OlsFit fit, stats::FitOls(x, e.Lag(lag, 0)));
  return std::optional<stats::OlsFit>(std::move(fit));
}

// The four tests for one lag order given the restricted fit; kDataError (with the lag and
// statsmodels' reason) where statsmodels raises InfeasibleTestError.
Result<stats::GrangerLagTests> StatsmodelsLagTests(const Series& e, const Series& c, int lag,
                                                   const std::optional<stats::OlsFit>& restricted) {
  // add_constant skips a nonzero constant column and a zero one shows up as a second constant:
  // either way statsmodels refuses any constant lagged column.
  bool constant = !restricted.has_value();
  for (int k = 1; k <= lag && !constant; ++k) constant = c.LagConstant(lag, k);
  if (constant) {
    return Status::DataError(
        fmt::format("lag {}: a lagged column is constant (statsmodels: InfeasibleTestError)", lag));
  }
  const int nobs = e.size() - lag;
  // statsmodels' column order: own lags 1..L, the cause's lags 1..L, the constant.
  Eigen::MatrixXd x(nobs, 2 * lag + 1);
  std::vector<int> cause_cols;
  for (int k = 1; k <= lag; ++k) {
    x.col(k - 1) = e.Lag(lag, k);
    x.col(lag + k - 1) = c.Lag(lag, k);
    cause_cols.push_back(lag + k - 1);
  }
  x.col(2 * lag).setOnes();
  LLMRCA_ASSIGN_OR_RETURN(stats::OlsDesign design, stats::OlsDesign::Create(x));
  LLMRCA_ASSIGN_OR_RETURN(stats::OlsFit joint, design.Fit(e.Lag(lag, 0)));
  const double tss = joint.centered_tss;
  if (tss == 0 || joint.ssr == 0 || joint.ssr / tss < kEps) {
    return Status::DataError(
        fmt::format("lag {}: the unrestricted regression fits the effect exactly (statsmodels: "
                    "InfeasibleTestError)",
                    lag));
  }
  return stats::CompareNestedFits(*restricted, design, joint, cause_cols, lag);
}

// ---- kSsrF: the F test alone, with defined degenerate cases ------------------------------

struct SsrFRestricted {
  std::vector<int> own_lags;  // the non-constant own lags k
  bool effect_constant = false;
  stats::OlsFit fit;
};

stats::OlsOptions RankOptions() {
  stats::OlsOptions o;
  o.pinv_rcond = kRankTolerance;
  o.rank_rtol = kRankTolerance;
  return o;
}

Result<SsrFRestricted> SsrFRestrictedFit(const Series& e, int lag) {
  SsrFRestricted r;
  r.effect_constant = e.TargetConstant(lag);
  for (int k = 1; k <= lag; ++k) {
    if (!e.LagConstant(lag, k)) r.own_lags.push_back(k);
  }
  const int nobs = e.size() - lag;
  Eigen::MatrixXd x(nobs, static_cast<Eigen::Index>(r.own_lags.size()) + 1);
  for (size_t a = 0; a < r.own_lags.size(); ++a) {
    x.col(static_cast<Eigen::Index>(a)) = e.Lag(lag, r.own_lags[a]);
  }
  x.col(x.cols() - 1).setOnes();
  LLMRCA_ASSIGN_OR_RETURN(r.fit, stats::FitOls(x, e.Lag(lag, 0), RankOptions()));
  return r;
}

// p of the restricted-vs-unrestricted F test, with kSsrF's rules for the degenerate cases.
double SsrFPValue(const stats::OlsFit& restricted, const stats::OlsFit& unrestricted) {
  const int q = unrestricted.rank - restricted.rank;
  if (q <= 0 || unrestricted.df_resid <= 0) return kNoEvidence;
  const double tss = unrestricted.centered_tss;
  if (unrestricted.ssr <= kEps * tss) return restricted.ssr <= kEps * tss ? kNoEvidence : 0.0;
  const double f =
      ((restricted.ssr - unrestricted.ssr) / q) / (unrestricted.ssr / unrestricted.df_resid);
  const double p = stats::FSurvival(f, q, unrestricted.df_resid);
  return std::isnan(p) ? kNoEvidence : p;
}

Result<double> SsrFLagPValue(const Series& e, const Series& c, int lag, const SsrFRestricted& r) {
  if (r.effect_constant) return kNoEvidence;
  std::vector<int> cause_lags;
  for (int k = 1; k <= lag; ++k) {
    if (!c.LagConstant(lag, k)) cause_lags.push_back(k);
  }
  if (cause_lags.empty()) return kNoEvidence;
  const int nobs = e.size() - lag;
  const Eigen::Index own = static_cast<Eigen::Index>(r.own_lags.size());
  Eigen::MatrixXd x(nobs, own + static_cast<Eigen::Index>(cause_lags.size()) + 1);
  for (Eigen::Index a = 0; a < own; ++a) x.col(a) = e.Lag(lag, r.own_lags[static_cast<size_t>(a)]);
  for (size_t a = 0; a < cause_lags.size(); ++a) {
    x.col(own + static_cast<Eigen::Index>(a)) = c.Lag(lag, cause_lags[a]);
  }
  x.col(x.cols() - 1).setOnes();
  LLMRCA_ASSIGN_OR_RETURN(stats::OlsFit joint, stats::FitOls(x, e.Lag(lag, 0), RankOptions()));
  return SsrFPValue(r.fit, joint);
}

// ---- Shared plumbing ------------------------------------------------------------------------

Status ValidateOptions(const GrangerOptions& o) {
  if (o.max_lag < 1) {
    return Status::InvalidArgument(fmt::format("granger: max_lag must be >= 1, got {}", o.max_lag));
  }
  if (!(o.alpha > 0 && o.alpha < 1)) {
    return Status::InvalidArgument(
        fmt::format("granger: alpha must be in (0, 1), got {}", o.alpha));
  }
  if (o.test != GrangerTest::kRcaevalAverage && o.test != GrangerTest::kSsrF) {
    return Status::InvalidArgument(
        fmt::format("granger: unknown test {}", static_cast<int>(o.test)));
  }
  if (o.multivariate && o.test != GrangerTest::kSsrF) {
    return Status::InvalidArgument(
        "granger: multivariate: only the ssr F test is defined for a VAR (the rcaeval average "
        "is a pairwise test)");
  }
  return Status::Ok();
}

// statsmodels' row rule: grangercausalitytests needs nobs > 3 * maxlag + 1 (with a constant).
Status CheckRows(int64_t rows, int max_lag) {
  const int64_t need = 3 * static_cast<int64_t>(max_lag) + 1;
  if (rows <= need) {
    return Status::DataError(fmt::format(
        "granger: {} rows, need > {} for max_lag={} (3 * max_lag + 1, statsmodels' rule)", rows,
        need, max_lag));
  }
  return Status::Ok();
}

// Each column scaled to mean 0 and (population) standard deviation 1; constant columns -> 0.
Eigen::MatrixXd ZScores(const Eigen::MatrixXd& data) {
  Eigen::MatrixXd z(data.rows(), data.cols());
  for (Eigen::Index j = 0; j < data.cols(); ++j) {
    const double mean = data.col(j).mean();
    const double sd = std::sqrt((data.col(j).array() - mean).square().mean());
    if (sd > 0) {
      z.col(j) = (data.col(j).array() - mean) / sd;
    } else {
      z.col(j).setZero();
    }
  }
  return z;
}

std::span<const double> Column(const Eigen::MatrixXd& m, Eigen::Index j) {
  return {m.col(j).data(), static_cast<size_t>(m.rows())};
}

// Runs fn(i) for i in [0, n) in parallel; stops handing out work once the deadline passes or
// once an index below the one at hand has failed (so the first failure in index order is
// always the one found, whatever the thread count).
Status RunIndexed(size_t n, const GrangerOptions& o, const std::function<Status(size_t)>& fn) {
  std::vector<Status> status(n);
  std::atomic<size_t> first_failure{n};
  std::atomic<bool> expired{false};
  ParallelFor(n, std::max<size_t>(o.threads, 1), [&](size_t i) {
    if (expired.load(std::memory_order_relaxed) || i > first_failure.load()) return;
    if (o.deadline.Expired()) {
      expired = true;
      return;
    }
    status[i] = fn(i);
    if (!status[i].ok()) {
      size_t seen = first_failure.load();
      while (i < seen && !first_failure.compare_exchange_weak(seen, i)) {
      }
    }
  });
  if (expired) return o.deadline.Check("granger");
  const size_t f = first_failure.load();
  return f < n ? status[f] : Status::Ok();
}

// ---- Pairwise ---------------------------------------------------------------------------

Result<GrangerResult> Pairwise(const Eigen::MatrixXd& data, const GrangerOptions& o) {
  const int n = static_cast<int>(data.cols());
  const bool reference = o.test == GrangerTest::kRcaevalAverage;
  const Eigen::MatrixXd values = reference ? Eigen::MatrixXd() : ZScores(data);
  const Eigen::MatrixXd& used = reference ? data : values;
  std::vector<Series> series;
  series.reserve(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) series.emplace_back(Column(data, j), Column(used, j));

  // The restricted fits depend on the effect and the lag only.
  const size_t lags = static_cast<size_t>(o.max_lag);
  std::vector<std::optional<stats::OlsFit>> reference_fits;
  std::vector<SsrFRestricted> ssr_fits;
  if (reference) {
    reference_fits.resize(static_cast<size_t>(n) * lags);
  } else {
    ssr_fits.resize(static_cast<size_t>(n) * lags);
  }
  LLMRCA_RETURN_IF_ERROR(RunIndexed(static_cast<size_t>(n) * lags, o, [&](size_t idx) -> Status {
    const Series& e = series[idx / lags];
    const int lag = static_cast<int>(idx % lags) + 1;
    if (reference) {
      LLMRCA_ASSIGN_OR_RETURN(reference_fits[idx], StatsmodelsRestrictedFit(e, lag));
    } else {
      LLMRCA_ASSIGN_OR_RETURN(ssr_fits[idx], SsrFRestrictedFit(e, lag));
    }
    return Status::Ok();
  }));

  // Pairs in the reference's order: effect i outer, cause j inner, j != i.
  const size_t pairs = static_cast<size_t>(n) * static_cast<size_t>(n - 1);
  std::vector<double> best(pairs, kNoEvidence);
  LLMRCA_RETURN_IF_ERROR(RunIndexed(pairs, o, [&](size_t idx) -> Status {
    const int i = static_cast<int>(idx / static_cast<size_t>(n - 1));
    const int jj = static_cast<int>(idx % static_cast<size_t>(n - 1));
    const int j = jj < i ? jj : jj + 1;
    const Series& e = series[static_cast<size_t>(i)];
    const Series& c = series[static_cast<size_t>(j)];
    double p_min = kNoEvidence;
    for (int lag = 1; lag <= o.max_lag; ++lag) {
      const size_t r = static_cast<size_t>(i) * lags + static_cast<size_t>(lag - 1);
      double p;
      if (reference) {
        // statsmodels computes every lag before RCAEval looks at any, so an infeasible later
        // lag fails the pair even when an earlier one is significant.
        Result<stats::GrangerLagTests> t = StatsmodelsLagTests(e, c, lag, reference_fits[r]);
        if (!t.ok()) return t.status().WithPrefix(fmt::format("granger: {}", PairName(i, j)));
        // RCAEval: sum of the four p-values in the dict's order, divided by four.
        p = (t->ssr_f.p_value + t->ssr_chi2.p_value + t->lr.p_value + t->params_f.p_value) / 4;
      } else {
        LLMRCA_ASSIGN_OR_RETURN(p, SsrFLagPValue(e, c, lag, ssr_fits[r]));
      }
      p_min = std::min(p_min, p);
    }
    best[idx] = p_min;
    return Status::Ok();
  }));

  GrangerResult out;
  out.adjacency = Eigen::MatrixXi::Zero(n, n);
  out.p_values = Eigen::MatrixXd::Ones(n, n);
  for (size_t idx = 0; idx < pairs; ++idx) {
    const int i = static_cast<int>(idx / static_cast<size_t>(n - 1));
    const int jj = static_cast<int>(idx % static_cast<size_t>(n - 1));
    const int j = jj < i ? jj : jj + 1;
    out.p_values(i, j) = best[idx];
    out.adjacency(i, j) = best[idx] < o.alpha ? 1 : 0;
  }
  return out;
}

// ---- Multivariate -----------------------------------------------------------------------

Result<GrangerResult> Multivariate(const Eigen::MatrixXd& data, const GrangerOptions& o) {
  const int n = static_cast<int>(data.cols());
  const int lag = o.max_lag;
  const int64_t rows = data.rows();
  const int64_t regressors = static_cast<int64_t>(n) * lag + 1;
  if (rows - lag <= regressors) {
    return Status::DataError(fmt::format(
        "granger: multivariate VAR({}) over {} series has {} regressors and needs more rows "
        "than that after the first {}: rows > {}, got {}",
        lag, n, regressors, lag, regressors + lag, rows));
  }
  const Eigen::MatrixXd z = ZScores(data);
  std::vector<Series> series;
  series.reserve(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) series.emplace_back(Column(data, j), Column(z, j));

  // One design for every effect: the non-constant lags of every series, then the constant.
  const int nobs = static_cast<int>(rows) - lag;
  std::vector<std::vector<int>> cols_of(static_cast<size_t>(n));
  std::vector<std::pair<int, int>> columns;  // (series, k)
  for (int j = 0; j < n; ++j) {
    for (int k = 1; k <= lag; ++k) {
      if (series[static_cast<size_t>(j)].LagConstant(lag, k)) continue;
      cols_of[static_cast<size_t>(j)].push_back(static_cast<int>(columns.size()));
      columns.emplace_back(j, k);
    }
  }
  auto build = [&](int skip) {
    Eigen::Index count = 1;
    for (const auto& [j, k] : columns) count += j == skip ? 0 : 1;
    Eigen::MatrixXd x(nobs, count);
    Eigen::Index a = 0;
    for (const auto& [j, k] : columns) {
      if (j != skip) x.col(a++) = series[static_cast<size_t>(j)].Lag(lag, k);
    }
    x.col(a).setOnes();
    return x;
  };
  LLMRCA_ASSIGN_OR_RETURN(stats::OlsDesign design,
                          stats::OlsDesign::Create(build(-1), RankOptions()));
  const bool full_rank = design.rank() == design.num_columns();

  std::vector<stats::OlsFit> fits(static_cast<size_t>(n));
  std::vector<char> refit(static_cast<size_t>(n), 0);  // effects whose tests need refits
  LLMRCA_RETURN_IF_ERROR(RunIndexed(static_cast<size_t>(n), o, [&](size_t i) -> Status {
    LLMRCA_ASSIGN_OR_RETURN(fits[i], design.Fit(series[i].Lag(lag, 0)));
    const bool constant = series[i].TargetConstant(lag);
    const bool exact = fits[i].ssr <= kEps * fits[i].centered_tss;
    refit[i] = !constant && (!full_rank || exact) ? 1 : 0;
    return Status::Ok();
  }));

  // Restricted refits, one design per cause shared by the effects that need them: a rank
  // deficient design (the Wald identity needs full rank) or an exact fit (F undefined).
  std::vector<std::vector<stats::OlsFit>> restricted(static_cast<size_t>(n));
  if (std::any_of(refit.begin(), refit.end(), [](char r) { return r != 0; })) {
    LLMRCA_RETURN_IF_ERROR(RunIndexed(static_cast<size_t>(n), o, [&](size_t j) -> Status {
      if (cols_of[j].empty()) return Status::Ok();
      LLMRCA_ASSIGN_OR_RETURN(stats::OlsDesign d,
                              stats::OlsDesign::Create(build(static_cast<int>(j)), RankOptions()));
      restricted[j].resize(static_cast<size_t>(n));
      for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
        if (refit[i] == 0 || i == j) continue;
        LLMRCA_ASSIGN_OR_RETURN(restricted[j][i], d.Fit(series[i].Lag(lag, 0)));
      }
      return Status::Ok();
    }));
  }

  GrangerResult out;
  out.adjacency = Eigen::MatrixXi::Zero(n, n);
  out.p_values = Eigen::MatrixXd::Ones(n, n);
  // Row i of the result belongs to effect i alone, so effects can fill it in parallel.
  LLMRCA_RETURN_IF_ERROR(RunIndexed(static_cast<size_t>(n), o, [&](size_t si) -> Status {
    const int i = static_cast<int>(si);
    if (series[si].TargetConstant(lag)) return Status::Ok();
    for (int j = 0; j < n; ++j) {
      const size_t sj = static_cast<size_t>(j);
      if (j == i || cols_of[sj].empty()) continue;
      double p;
      if (refit[si] != 0) {
        p = SsrFPValue(restricted[sj][si], fits[si]);
      } else {
        // Full rank: the block Wald F equals the restricted-vs-unrestricted ssr F exactly.
        p = stats::WaldFTest(design, fits[si], cols_of[sj]).p_value;
      }
      out.p_values(i, j) = p;
      out.adjacency(i, j) = p < o.alpha ? 1 : 0;
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace

Result<GrangerResult> GrangerCausality(const Eigen::MatrixXd& data, const GrangerOptions& options) {
  LLMRCA_RETURN_IF_ERROR(ValidateOptions(options));
  const int n = static_cast<int>(data.cols());
  if (n < 2) {
    // No pair to test; the reference's loop never calls statsmodels.
    return GrangerResult{Eigen::MatrixXi::Zero(n, n), Eigen::MatrixXd::Ones(n, n)};
  }
  if (!data.allFinite()) return Status::DataError("granger: data holds NaN or infinity");
  LLMRCA_RETURN_IF_ERROR(CheckRows(data.rows(), options.max_lag));
  LLMRCA_RETURN_IF_ERROR(options.deadline.Check("granger"));
  return options.multivariate ? Multivariate(data, options) : Pairwise(data, options);
}

Result<Eigen::MatrixXi> GrangerAdjacency(const Eigen::MatrixXd& data,
                                         const GrangerOptions& options) {
  LLMRCA_ASSIGN_OR_RETURN(GrangerResult r, GrangerCausality(data, options));
  return std::move(r.adjacency);
}

Result<std::vector<stats::GrangerLagTests>> GrangerCausalityTests(std::span<const double> effect,
                                                                  std::span<const double> cause,
                                                                  int max_lag) {
  if (max_lag < 1) {
    return Status::InvalidArgument(fmt::format("granger: max_lag must be >= 1, got {}", max_lag));
  }
  if (effect.size() != cause.size()) {
    return Status::InvalidArgument(fmt::format(
        "granger: series lengths differ: effect {}, cause {}", effect.size(), cause.size()));
  }
  const auto finite = [](double v) { return std::isfinite(v); };
  if (!std::all_of(effect.begin(), effect.end(), finite) ||
      !std::all_of(cause.begin(), cause.end(), finite)) {
    return Status::DataError("granger: data holds NaN or infinity");
  }
  LLMRCA_RETURN_IF_ERROR(CheckRows(static_cast<int64_t>(effect.size()), max_lag));
  const Series e(effect, effect);
  const Series c(cause, cause);
  std::vector<stats::GrangerLagTests> out;
  for (int lag = 1; lag <= max_lag; ++lag) {
    LLMRCA_ASSIGN_OR_RETURN(std::optional<stats::OlsFit> restricted,
                            StatsmodelsRestrictedFit(e, lag));
    Result<stats::GrangerLagTests> t = StatsmodelsLagTests(e, c, lag, restricted);
    if (!t.ok()) return t.status().WithPrefix("granger");
    out.push_back(*t);
  }
  return out;
}

}  // namespace llmrca::causal
