// Descriptive statistics on spans of doubles, with the conventions of NumPy and scikit-learn
// so that ports reproduce the reference implementations: quantiles by linear interpolation
// (NumPy's default method, including its lerp rounding), variance with an explicit ddof, and the
// constant-feature rule of scikit-learn's StandardScaler. Inputs must be finite unless a function
// says otherwise; use FiniteValues() first. Pure functions, thread-safe.
#pragma once

#include <span>
#include <vector>

namespace llmrca::stats {

// The finite values of `x`, in order.
std::vector<double> FiniteValues(std::span<const double> x);

double Mean(std::span<const double> x);  // NaN when empty
// Sum of squared deviations divided by (n - ddof); NaN when n <= ddof.
double Variance(std::span<const double> x, int ddof);
// Sample covariance of paired x, y with divisor (n - ddof); NaN when n <= ddof. Sizes must match.
double Covariance(std::span<const double> x, std::span<const double> y, int ddof);

// q-quantile (q in [0, 1]) of `x` by linear interpolation between order statistics at the
// virtual index q*(n-1), as numpy.quantile(method="linear"); NaN when empty.
double Quantile(std::span<const double> x, double q);
// The same on already-sorted values (ascending).
double QuantileSorted(std::span<const double> sorted, double q);
double Median(std::span<const double> x);

// Location and scale of one series, as a scaler fits them.
struct Scale {
  double center = 0;
  double scale = 1;
};
// scikit-learn RobustScaler (defaults): median and Q75 - Q25; a scale below 10 * machine epsilon
// becomes 1. NaN center when `x` is empty.
Scale RobustScale(std::span<const double> x);
// scikit-learn StandardScaler (defaults): mean and population standard deviation (ddof 0); a
// constant series (variance within rounding of zero, sklearn's _is_constant_feature) gets 1.
Scale StandardScale(std::span<const double> x);

}  // namespace llmrca::stats
