#include "stats/discrete_ci_test.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "stats/descriptive.h"

namespace llmrca::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();
// Iteration cap of the series and the continued fraction; both converge in O(sqrt(a)) terms, so
// this covers a far beyond any table's degrees of freedom.
constexpr int kMaxIterations = 100000;

// mu(a) = ln Gamma(a) - (a - 1/2) ln a + a - ln(2 pi) / 2, the remainder of Stirling's formula.
double StirlingRemainder(double a) {
  // tgamma rather than lgamma: glibc's lgamma writes the global signgam (a data race in PC).
  if (a < 10) {
    return std::log(std::tgamma(a)) - (a - 0.5) * std::log(a) + a - 0.5 * std::log(2 * std::numbers::pi);
  }
  // Asymptotic series (Bernoulli numbers); at a >= 10 the next term is below 1e-17.
  const double inv = 1 / a;
  const double inv2 = inv * inv;
  return inv * (1.0 / 12 -
                inv2 * (1.0 / 360 -
                        inv2 * (1.0 / 1260 -
                                inv2 * (1.0 / 1680 - inv2 * (1.0 / 1188 - inv2 * 691.0 / 360360)))));
}

// x^a e^-x / Gamma(a), as (x/a)^a e^(a-x) sqrt(a / 2pi) e^-mu(a): the two large exponents cancel
// inside a (log1p(t) - t) instead of in a ln x - x - ln Gamma(a).
double GammaPrefactor(double a, double x) {
  const double t = (x - a) / a;
  const double log_value =
      a * (std::log1p(t) - t) + 0.5 * std::log(a / (2 * std::numbers::pi)) - StirlingRemainder(a);
  return std::exp(log_value);
}

// Regularised upper incomplete gamma Q(a, x), a > 0, x > 0.
double UpperGammaQ(double a, double x) {
  if (x < a + 1) {
    // P(a, x) = prefactor * sum_n x^n / (a (a+1) ... (a+n)); Q = 1 - P is >= ~0.08 here.
    double term = 1 / a;
    double sum = term;
    for (int n = 1; n < kMaxIterations; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * kEps) break;
    }
    return 1 - sum * GammaPrefactor(a, x);
  }
  // Continued fraction 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...)), modified
  // Lentz evaluation.
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kEps) break;
  }
  return GammaPrefactor(a, x) * h;
}

}  // namespace

double ChiSquareSurvival(double x, double df) {
  if (std::isnan(x) || std::isnan(df) || df <= 0) return kNaN;
  if (x <= 0) return 1;
  if (std::isinf(x)) return 0;
  return std::clamp(UpperGammaQ(df / 2, x / 2), 0.0, 1.0);
}

Eigen::MatrixXi DiscretizeByQuantiles(const Eigen::MatrixXd& data, int bins) {
  Eigen::MatrixXi codes = Eigen::MatrixXi::Zero(data.rows(), data.cols());
  if (bins <= 1) return codes;
  for (Eigen::Index j = 0; j < data.cols(); ++j) {
    std::vector<double> sorted;
    sorted.reserve(static_cast<size_t>(data.rows()));
    for (Eigen::Index i = 0; i < data.rows(); ++i) {
      if (std::isfinite(data(i, j))) sorted.push_back(data(i, j));
    }
    if (sorted.empty()) continue;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> edges;
    for (int k = 1; k < bins; ++k) {
      edges.push_back(QuantileSorted(sorted, static_cast<double>(k) / bins));
    }
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    const int non_finite_code = static_cast<int>(edges.size()) + 1;
    for (Eigen::Index i = 0; i < data.rows(); ++i) {
      const double v = data(i, j);
      codes(i, j) = std::isfinite(v) ? static_cast<int>(std::lower_bound(edges.begin(),
                                                                         edges.end(), v) -
                                                        edges.begin())
                                     : non_finite_code;
    }
  }
  return codes;
}

Result<std::unique_ptr<DiscreteCiTest>> DiscreteCiTest::Create(const Eigen::MatrixXi& data,
                                                               Kind kind) {
  if (data.rows() < 1 || data.cols() < 1) {
    return Status::DataError(fmt::format("discrete CI test: empty data ({} rows, {} columns)",
                                         data.rows(), data.cols()));
  }
  // np.unique(column, return_inverse=True): codes by ascending value.
  Eigen::MatrixXi coded(data.rows(), data.cols());
  Eigen::VectorXi cardinality(data.cols());
  for (Eigen::Index j = 0; j < data.cols(); ++j) {
    std::vector<int> values(data.col(j).begin(), data.col(j).end());
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (Eigen::Index i = 0; i < data.rows(); ++i) {
      coded(i, j) = static_cast<int>(std::lower_bound(values.begin(), values.end(), data(i, j)) -
                                     values.begin());
    }
    cardinality(j) = static_cast<int>(values.size());
  }
  return std::unique_ptr<DiscreteCiTest>(
      new DiscreteCiTest(std::move(coded), std::move(cardinality), kind));
}

Result<double> DiscreteCiTest::PValue(int x, int y, std::span<const int> s) const {
  const int num_vars = NumVariables();
  if (x < 0 || y < 0 || x >= num_vars || y >= num_vars || x == y) {
    return Status::InvalidArgument(fmt::format("{}: bad variable pair ({}, {}) for {} variables",
                                               Name(), x, y, num_vars));
  }
  std::vector<int> cond(s.begin(), s.end());
  for (int v : cond) {
    if (v < 0 || v >= num_vars || v == x || v == y) {
      return Status::InvalidArgument(fmt::format(
          "{}: conditioning variable {} is out of range or equals {} or {}", Name(), v, x, y));
    }
  }
  std::sort(cond.begin(), cond.end());
  cond.erase(std::unique(cond.begin(), cond.end()), cond.end());
  // causal-learn's cache-key order: x < y.
  const int vx = std::min(x, y);
  const int vy = std::max(x, y);
  const Eigen::Index n = data_.rows();
  const int64_t rows = cardinality_(vx);
  const int64_t cols = cardinality_(vy);

  // Layer (configuration of the conditioning set) of each sample. causal-learn indexes a
  // configuration in mixed radix with the first (smallest) conditioning variable most
  // significant and drops configurations that never occur, so layers are in lexicographic order
  // of the conditioning codes.
  std::vector<int64_t> layer(static_cast<size_t>(n), 0);
  int64_t num_layers = 1;
  if (!cond.empty()) {
    int64_t configurations = 1;
    bool dense = true;
    // Beyond this many configurations, sort the samples instead of indexing an array.
    const int64_t dense_limit = std::max<int64_t>(int64_t{1} << 16, 4 * static_cast<int64_t>(n));
    for (int v : cond) {
      configurations *= cardinality_(v);
      if (configurations > dense_limit) {
        dense = false;
        break;
      }
    }
    if (dense) {
      std::vector<int64_t> id(static_cast<size_t>(configurations), -1);
      for (Eigen::Index i = 0; i < n; ++i) {
        int64_t key = 0;
        for (int v : cond) key = key * cardinality_(v) + data_(i, v);
        layer[static_cast<size_t>(i)] = key;
        id[static_cast<size_t>(key)] = 0;
      }
      num_layers = 0;
      for (int64_t& slot : id) {
        if (slot == 0) slot = num_layers++;
      }
      for (int64_t& l : layer) l = id[static_cast<size_t>(l)];
    } else {
      std::vector<Eigen::Index> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), Eigen::Index{0});
      auto less = [&](Eigen::Index a, Eigen::Index b) {
        for (int v : cond) {
          if (data_(a, v) != data_(b, v)) return data_(a, v) < data_(b, v);
        }
        return false;
      };
      std::stable_sort(order.begin(), order.end(), less);
      num_layers = 0;
      for (size_t k = 0; k < order.size(); ++k) {
        if (k > 0 && less(order[k - 1], order[k])) ++num_layers;
        layer[static_cast<size_t>(order[k])] = num_layers;
      }
      ++num_layers;
    }
  }

  const int64_t cells = rows * cols;
  std::vector<int64_t> counts(static_cast<size_t>(num_layers * cells), 0);
  for (Eigen::Index i = 0; i < n; ++i) {
    ++counts[static_cast<size_t>(layer[static_cast<size_t>(i)] * cells + data_(i, vx) * cols +
                                 data_(i, vy))];
  }

  std::vector<double> terms(counts.size());
  std::vector<int64_t> row_sum(static_cast<size_t>(rows)), col_sum(static_cast<size_t>(cols));
  int64_t df = 0;
  for (int64_t l = 0; l < num_layers; ++l) {
    const int64_t* table = counts.data() + l * cells;
    std::fill(row_sum.begin(), row_sum.end(), 0);
    std::fill(col_sum.begin(), col_sum.end(), 0);
    int64_t total = 0;
    for (int64_t a = 0; a < rows; ++a) {
      for (int64_t b = 0; b < cols; ++b) {
        const int64_t c = table[a * cols + b];
        row_sum[static_cast<size_t>(a)] += c;
        col_sum[static_cast<size_t>(b)] += c;
        total += c;
      }
    }
    // Expected counts row * col / total; an all-zero expected row or column costs a degree of
    // freedom and its cells count with a divisor of 1 (causal-learn's _CalculatePValue).
    int64_t zero_rows = 0, zero_cols = 0;
    for (int64_t a = 0; a < rows; ++a) {
      bool all_zero = true;
      for (int64_t b = 0; b < cols; ++b) {
        const double expected =
            static_cast<double>(row_sum[static_cast<size_t>(a)] * col_sum[static_cast<size_t>(b)]) /
            static_cast<double>(total);
        all_zero = all_zero && expected == 0;
        const double divisor = expected == 0 ? 1 : expected;
        const double observed = static_cast<double>(table[a * cols + b]);
        double term;
        if (kind_ == kChiSquare) {
          const double diff = observed - expected;
          term = diff * diff / divisor;
        } else {
          double ratio = observed / divisor;
          if (ratio == 0) ratio = 1;
          term = observed * std::log(ratio);
        }
        terms[static_cast<size_t>(l * cells + a * cols + b)] = term;
      }
      zero_rows += all_zero ? 1 : 0;
    }
    for (int64_t b = 0; b < cols; ++b) {
      bool all_zero = true;
      for (int64_t a = 0; a < rows && all_zero; ++a) {
        all_zero = row_sum[static_cast<size_t>(a)] * col_sum[static_cast<size_t>(b)] == 0;
      }
      zero_cols += all_zero ? 1 : 0;
    }
    df += (rows - 1 - zero_rows) * (cols - 1 - zero_cols);
  }
  if (df == 0) return 1.0;
  double stat = PairwiseSum(terms);
  if (kind_ == kGSquare) stat *= 2;
  return ChiSquareSurvival(stat, static_cast<double>(df));
}

}  // namespace llmrca::stats
