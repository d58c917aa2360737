// Conditional-independence tests for constraint-based causal discovery (PC, FCI): the p-value of
// "x is independent of y given the set s". Fisher-z works on continuous data through partial
// correlations solved on small sub-matrices of one precomputed correlation matrix; chi-square and
// G-square work on discrete data (discrete_ci_test.h). Semantics and numbers follow causal-learn's
// cit.py (0.1.3.3), which the study's methods called. Implementations are immutable after
// construction and thread-safe.
//
// Paper: R. A. Fisher (1924), "The distribution of the partial correlation coefficient", Metron 3.
// Deviations from causal-learn's FisherZ, all where causal-learn raises or returns NaN:
//  - a constant column (NaN correlations) is kDataError; causal-learn returns p = NaN (edge kept);
//  - a non-finite partial correlation without the fallback is kDataError (causal-learn: NaN p);
//  - `pseudo_inverse_fallback` (off in compat mode) replaces its "singular matrix" ValueError.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <Eigen/Core>

#include "base/status.h"

namespace llmrca::stats {

class CiTest {
 public:
  virtual ~CiTest() = default;
  // p-value of x _||_ y | s. Variables are column indices; x != y, neither in s. kInvalidArgument
  // for an index out of range or overlapping; kDataError when the test cannot be computed (e.g. a
  // singular correlation sub-matrix without the fallback). Safe to call from many threads.
  virtual Result<double> PValue(int x, int y, std::span<const int> s) const = 0;
  virtual int NumVariables() const = 0;
  virtual int NumSamples() const = 0;
  virtual std::string_view Name() const = 0;
};

// Fisher's z test (causal-learn `fisherz`): with R the correlation sub-matrix of (x, y, s) and
// P = R^-1, r = -P01 / sqrt(P00 P11), z = atanh(r) sqrt(n - |s| - 3), p = 2 (1 - Phi(|z|)).
// As causal-learn does, the sub-matrix is ordered (min(x, y), max(x, y), sorted s) and inverted
// by an LU factorisation with partial pivoting in reference LAPACK's operation order (dgetrf2 +
// dgetrs, as numpy.linalg.inv runs it); with NormalCdf's Cephes arithmetic the p-values equal
// causal-learn's bit for bit (checked on every test PC runs on the parity cases).
// Singular means an exactly zero pivot, as LAPACK reports it; without the fallback that, and a
// partial correlation outside (-1, 1] (where causal-learn's math.log raises), are kDataError.
// n - |s| - 3 < 0 is kDataError; n - |s| - 3 == 0 gives p = 1, as in causal-learn.
// `pseudo_inverse_fallback`: a singular R is inverted by its Moore-Penrose pseudo-inverse, r is
// clamped to (-1, 1) and a non-finite r counts as 0, so the test always returns a p-value.
class FisherZTest final : public CiTest {
 public:
  // `data`: rows are samples, columns variables; needs at least 4 rows and finite values
  // (kDataError otherwise). Constant columns are accepted here; a test involving one fails.
  static Result<std::unique_ptr<FisherZTest>> Create(const Eigen::MatrixXd& data,
                                                     bool pseudo_inverse_fallback);

  Result<double> PValue(int x, int y, std::span<const int> s) const override;
  int NumVariables() const override { return static_cast<int>(corr_.rows()); }
  int NumSamples() const override { return n_; }
  std::string_view Name() const override { return "fisherz"; }
  const Eigen::MatrixXd& Correlation() const { return corr_; }

 private:
  FisherZTest(Eigen::MatrixXd corr, int n, bool fallback)
      : corr_(std::move(corr)), n_(n), fallback_(fallback) {}
  Eigen::MatrixXd corr_;
  int n_;
  bool fallback_;
};

// Pearson correlation matrix of the columns of `data`, computed as numpy.corrcoef(data.T) does
// (pairwise-summed means, sequential cross products scaled by 1 / (n - 1), each entry divided by
// the row's standard deviation and then by the column's, clipped to [-1, 1]); a constant column
// gives NaN in its row and column, as numpy does. Needs at least 2 rows.
Eigen::MatrixXd CorrelationMatrix(const Eigen::MatrixXd& data);

// Standard normal CDF, evaluated as scipy.stats.norm.cdf evaluates it (Cephes ndtr, erf, erfc:
// the same rational approximations in the same order, so the same bits).
double NormalCdf(double x);

// Sum of `values` in the order numpy's add.reduce uses on a contiguous array (pairwise summation
// in blocks of 128 with eight running sums), so that sums agree with numpy's to the bit.
double PairwiseSum(std::span<const double> values);

}  // namespace llmrca::stats
