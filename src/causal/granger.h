// Granger causality between every ordered pair of series (or in one VAR of all of them), as the
// study's granger_pagerank built its graph: RCAEval graph_construction/granger.py calling
// statsmodels 0.13.5's grangercausalitytests with maxlag 3 on every pair.
//
// Paper: C. W. J. Granger (1969), "Investigating Causal Relations by Econometric Models and
// Cross-spectral Methods", Econometrica 37(3), 424-438.
//
// Deviations from the reference (RCAEval + statsmodels):
//   - where statsmodels raises InfeasibleTestError (a constant lagged column, or a regression
//     that fits the effect exactly) and RCAEval's fork falls back to a random `dummy` ranking,
//     kRcaevalAverage returns kDataError naming the pair and the lag instead;
//   - kSsrF (the default, the intended test) uses the ssr F test alone, after dropping constant
//     lagged columns and z-scoring each series (the F test is invariant to both), with the
//     number of restrictions and df taken from the numerical ranks (tolerance 1e-10); degenerate
//     pairs get a defined p instead of an error (see GrangerOptions::test);
//   - `multivariate` (not in the reference) conditions on all other series in one VAR.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "base/deadline.h"
#include "base/status.h"
#include "stats/ols.h"

namespace llmrca::causal {

enum class GrangerTest {
  // The reference: for each lag 1..max_lag, the mean of the p-values of statsmodels' four tests
  // (ssr F, ssr chi2, likelihood ratio, parameter F); an edge when any lag's mean < alpha.
  // Exact statsmodels semantics, InfeasibleTestError included (as kDataError).
  kRcaevalAverage,
  // The F test of the restricted vs unrestricted regression; an edge when any lag's p < alpha.
  // A constant effect window, or a cause whose lags add no rank, gives p = 1; an unrestricted
  // fit that is exact (ssr <= eps * tss) gives p = 0 if the restricted fit is not exact, else 1.
  kSsrF,
};

struct GrangerOptions {
  int max_lag = 3;      // lags 1..max_lag are tested (the reference: 3); >= 1
  double alpha = 0.05;  // significance level, in (0, 1)
  // One VAR(max_lag) per effect over all series, with a block F test per cause (restricted vs
  // unrestricted, computed from the unrestricted fit as a Wald test when the design has full
  // rank, by refitting otherwise). Only with kSsrF. Needs rows > max_lag + n * max_lag + 1.
  bool multivariate = false;
  GrangerTest test = GrangerTest::kSsrF;
  size_t threads = 1;  // pairs (or effects) run in parallel; 0 counts as 1
  Deadline deadline;
};

struct GrangerResult {
  // adjacency(i, j) = 1 when series j Granger-causes series i (the reference's encoding).
  Eigen::MatrixXi adjacency;
  // p_values(i, j): the smallest over lags of the p-value the decision used (the mean of four
  // under kRcaevalAverage; the VAR's single p under multivariate); 1 on the diagonal.
  Eigen::MatrixXd p_values;
};

// Granger causality for every ordered pair of the columns of `data` (rows are time steps,
// oldest first). Returns kInvalidArgument for bad options; kDataError for NaN or infinity, too
// few rows (rows <= 3 * max_lag + 1, statsmodels' rule, when there are >= 2 columns; for
// multivariate also rows <= max_lag + n * max_lag + 1) and, under kRcaevalAverage, for a pair
// statsmodels finds infeasible (the first such pair in row-major order, as the reference's
// loop meets it); kDeadlineExceeded when options.deadline passes. The result does not depend on
// options.threads. Thread-safe (no shared state).
Result<GrangerResult> GrangerCausality(const Eigen::MatrixXd& data, const GrangerOptions& options);

// GrangerCausality(data, options).adjacency.
Result<Eigen::MatrixXi> GrangerAdjacency(const Eigen::MatrixXd& data,
                                         const GrangerOptions& options);

// statsmodels 0.13.5 grangercausalitytests(np.column_stack([effect, cause]), max_lag): for each
// lag L = 1..max_lag (element L - 1), the four tests of "cause does not Granger-cause effect"
// from the regressions of effect[t] on (effect[t-1..t-L], const) and on (effect[t-1..t-L],
// cause[t-1..t-L], const) over t = L..n-1. kInvalidArgument for max_lag < 1 or different
// lengths; kDataError for NaN or infinity, n <= 3 * max_lag + 1, or an infeasible test
// (statsmodels' InfeasibleTestError).
Result<std::vector<stats::GrangerLagTests>> GrangerCausalityTests(std::span<const double> effect,
                                                                  std::span<const double> cause,
                                                                  int max_lag);

}  // namespace llmrca::causal
