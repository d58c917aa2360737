#include "stats/descriptive.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace llmrca::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();

// NumPy's _lerp: a + (b - a) * t, computed from b's side when t >= 0.5 to stay monotonic.
double Lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

}  // namespace

std::vector<double> FiniteValues(std::span<const double> x) {
  std::vector<double> out;
  out.reserve(x.size());
  for (double v : x) {
    if (std::isfinite(v)) out.push_back(v);
  }
  return out;
}

double Mean(std::span<const double> x) {
  if (x.empty()) return kNaN;
  double sum = 0;
  for (double v : x) sum += v;
  return sum / static_cast<double>(x.size());
}

double Variance(std::span<const double> x, int ddof) {
  const double n = static_cast<double>(x.size());
  if (n <= ddof) return kNaN;
  const double mean = Mean(x);
  // Two-pass with the compensation term of Chan et al. (as scikit-learn's
  // _incremental_mean_and_var): sum((x-m)^2) - (sum(x-m))^2 / n.
  double ss = 0, s = 0;
  for (double v : x) {
    const double d = v - mean;
    ss += d * d;
    s += d;
  }
  return (ss - s * s / n) / (n - ddof);
}

double Covariance(std::span<const double> x, std::span<const double> y, int ddof) {
  const double n = static_cast<double>(x.size());
  if (n <= ddof || x.size() != y.size()) return kNaN;
  const double mx = Mean(x), my = Mean(y);
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += (x[i] - mx) * (y[i] - my);
  return s / (n - ddof);
}

namespace {
// NumPy's virtual index for method "linear", written as NumPy evaluates it so that the rounding
// matches: (n - 1) * q. Since NumPy 1.22 (numpy PR #20331) the default method uses this rather
// than the general n*q + (alpha + q*(1 - alpha - beta)) - 1, which can land an ulp off
// (q = 0.1, n = 5: 0.3999999999999999 instead of 0.4).
double VirtualIndex(size_t n, double q) { return static_cast<double>(n - 1) * q; }
}  // namespace

double QuantileSorted(std::span<const double> sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double index = std::clamp(VirtualIndex(sorted.size(), q), 0.0,
                                  static_cast<double>(sorted.size() - 1));
  const double lo = std::floor(index);
  const size_t i = static_cast<size_t>(lo);
  if (i + 1 >= sorted.size()) return sorted.back();
  return Lerp(sorted[i], sorted[i + 1], index - lo);
}

double Quantile(std::span<const double> x, double q) {
  if (x.empty()) return kNaN;
  std::vector<double> v(x.begin(), x.end());
  const double index = std::clamp(VirtualIndex(v.size(), q), 0.0, static_cast<double>(v.size() - 1));
  const size_t i = static_cast<size_t>(std::floor(index));
  // Partial selection: v[i] is the i-th order statistic, and the next one is the minimum above.
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  const double a = v[i];
  if (i + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(i) + 1, v.end());
  return Lerp(a, b, index - std::floor(index));
}

double Median(std::span<const double> x) {
  if (x.empty()) return kNaN;
  std::vector<double> v(x.begin(), x.end());
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  if (v.size() % 2 == 1) return v[mid];
  const double upper = v[mid];
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;  // NumPy: mean of the two middle values
}

namespace {

// Rearranges v[lo, hi) so that v[k] holds the k-th smallest value for every k in `ks` (sorted,
// distinct, within [lo, hi)), as a full sort would, in expected linear time: select the middle k,
// then recurse on each side with the k's that fall there.
void SelectOrderStatistics(std::vector<double>& v, size_t lo, size_t hi,
                           std::span<const size_t> ks) {
  if (ks.empty()) return;
  const size_t m = ks.size() / 2;
  const size_t k = ks[m];
  std::nth_element(v.begin() + static_cast<std::ptrdiff_t>(lo),
                   v.begin() + static_cast<std::ptrdiff_t>(k),
                   v.begin() + static_cast<std::ptrdiff_t>(hi));
  SelectOrderStatistics(v, lo, k, ks.first(m));
  SelectOrderStatistics(v, k + 1, hi, ks.subspan(m + 1));
}

// The order statistics QuantileSorted(v, q) reads: floor((n-1)q) and the next.
void AddQuantilePositions(size_t n, double q, std::vector<size_t>& ks) {
  const size_t i = static_cast<size_t>(
      std::floor(std::clamp(VirtualIndex(n, q), 0.0, static_cast<double>(n - 1))));
  ks.push_back(i);
  if (i + 1 < n) ks.push_back(i + 1);
}

}  // namespace

Scale RobustScale(std::span<const double> x) {
  if (x.empty()) return {kNaN, 1};
  std::vector<double> v(x.begin(), x.end());
  // Only the order statistics of the median and the two quartiles are needed; selecting them is
  // linear where sorting is n log n, and reads the same values.
  const size_t n = v.size();
  std::vector<size_t> ks = {n / 2};
  if (n % 2 == 0) ks.push_back(n / 2 - 1);
  AddQuantilePositions(n, 0.25, ks);
  AddQuantilePositions(n, 0.75, ks);
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  SelectOrderStatistics(v, 0, n, ks);
  Scale s;
  const size_t mid = v.size() / 2;
  s.center = v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;  // numpy.median
  s.scale = QuantileSorted(v, 0.75) - QuantileSorted(v, 0.25);
  if (s.scale < 10 * kEps) s.scale = 1;  // sklearn _handle_zeros_in_scale
  return s;
}

Scale StandardScale(std::span<const double> x) {
  if (x.empty()) return {kNaN, 1};
  Scale s;
  s.center = Mean(x);
  const double var = Variance(x, 0);
  const double n = static_cast<double>(x.size());
  // sklearn _is_constant_feature: var <= n*eps*var + (n*mean*eps)^2.
  const double bound = n * kEps * var + (n * s.center * kEps) * (n * s.center * kEps);
  s.scale = var <= bound ? 1.0 : std::sqrt(var);
  return s;
}

}  // namespace llmrca::stats
