// Chi-square and G-square conditional-independence tests on discrete data, as causal-learn's
// Chisq_or_Gsq (cit.py, 0.1.3.3): counts per configuration of the conditioning set, expected
// counts from the margins, degrees of freedom reduced by empty rows and columns, p from the
// chi-square survival function. DiscretizeByQuantiles turns continuous metrics into codes.
//
// Papers: K. Pearson (1900), "On the criterion that a given system of deviations ... ",
// Philosophical Magazine 50; the G-test as in R. R. Sokal, F. J. Rohlf (1981), "Biometry".
// Deviations from causal-learn: none in the statistic or the degrees of freedom; the survival
// function is our own (series / continued fraction), equal to scipy's chi2.sf within ~1e-13
// relative, so p-values can differ from causal-learn's in the last digits.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include <Eigen/Core>

#include "base/status.h"
#include "stats/ci_test.h"

namespace llmrca::stats {

// Codes per column from its empirical quantiles: the bins - 1 edges are the k / bins quantiles
// (linear interpolation, numpy's default), duplicates dropped; a value's code is the number of
// edges strictly below it (right-closed bins, as pandas.qcut), so codes lie in 0..bins-1, equal
// values always share a code and a column with many ties uses fewer codes. Non-finite values get
// one extra code above the others; bins <= 1 or a column without finite values gives all zeros.
Eigen::MatrixXi DiscretizeByQuantiles(const Eigen::MatrixXd& data, int bins);

class DiscreteCiTest final : public CiTest {
 public:
  enum Kind { kChiSquare, kGSquare };
  // `data`: rows samples, columns variables, values any integers (re-coded 0..k-1 per column in
  // ascending order, as causal-learn does with np.unique). kDataError without rows or columns.
  static Result<std::unique_ptr<DiscreteCiTest>> Create(const Eigen::MatrixXi& data, Kind kind);

  // Without a conditioning set: one table over the cardinalities of x and y. With one: one table
  // per configuration of s that occurs, ordered as causal-learn orders them; a layer's degrees of
  // freedom lose its empty rows and columns; p = 1 when no degree of freedom is left.
  Result<double> PValue(int x, int y, std::span<const int> s) const override;
  int NumVariables() const override { return static_cast<int>(data_.cols()); }
  int NumSamples() const override { return static_cast<int>(data_.rows()); }
  std::string_view Name() const override { return kind_ == kChiSquare ? "chisq" : "gsq"; }

 private:
  DiscreteCiTest(Eigen::MatrixXi data, Eigen::VectorXi cardinality, Kind kind)
      : data_(std::move(data)), cardinality_(std::move(cardinality)), kind_(kind) {}
  Eigen::MatrixXi data_;
  Eigen::VectorXi cardinality_;
  Kind kind_;
};

// Upper tail of the chi-square distribution with `df` degrees of freedom (scipy chi2.sf): the
// regularised upper incomplete gamma function Q(df / 2, x / 2), by its power series below
// x / 2 < df / 2 + 1 and its continued fraction above, with a Stirling-corrected prefactor.
// 1 for x <= 0, 0 for x = inf; NaN for df <= 0 or a NaN argument (as scipy).
double ChiSquareSurvival(double x, double df);

}  // namespace llmrca::stats
