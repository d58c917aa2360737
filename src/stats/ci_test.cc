#include "stats/ci_test.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Eigenvalues>
#include <fmt/format.h>

namespace llmrca::stats {
namespace {

// 1/sqrt(2), the constant Cephes' ndtr scales by.
constexpr double kSqrt1_2 = 0.70710678118654752440;

// Rational approximations of erf and erfc from the Cephes library (S. L. Moshier, "Methods and
// Programs for Mathematical Functions", 1989), the ones scipy.special's ndtr evaluates; with the
// same coefficients and evaluation order, p-values match causal-learn's bit for bit.
constexpr std::array<double, 5> kErfT = {9.60497373987051638749E0, 9.00260197203842689217E1,
                                         2.23200534594684319226E3, 7.00332514112805075473E3,
                                         5.55923013010394962768E4};
constexpr std::array<double, 5> kErfU = {3.35617141647503099647E1, 5.21357949780152679795E2,
                                         4.59432382970980127987E3, 2.26290000613890934246E4,
                                         4.92673942608635921086E4};
constexpr std::array<double, 9> kErfcP = {
    2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0,
    4.86371970985681366614E1,   1.96520832956077098242E2,  5.26445194995477358631E2,
    9.34528527171957607540E2,   1.02755188689515710272E3,  5.57535335369399327526E2};
constexpr std::array<double, 8> kErfcQ = {
    1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2,
    9.75708501743205489753E2, 1.82390916687909736289E3, 2.24633760818710981792E3,
    1.65666309194161350182E3, 5.57535340817727675546E2};
constexpr std::array<double, 6> kErfcR = {5.64189583547755073984E-1, 1.27536670759978104416E0,
                                          5.01905042251180477414E0,  6.16021097993053585195E0,
                                          7.40974269950448939160E0,  2.97886665372100240670E0};
constexpr std::array<double, 6> kErfcS = {2.26052863220117276590E0, 9.39603524938001434673E0,
                                          1.20489539808096656605E1, 1.70814450747565897222E1,
                                          9.60896809063285878198E0, 3.36907645100081516050E0};
// ln(DBL_MAX): exp(-x^2) underflows below -kMaxLog.
constexpr double kMaxLog = 7.09782712893383996843E2;

// Horner evaluation, highest coefficient first (Cephes polevl).
template <size_t N>
double Horner(double x, const std::array<double, N>& c) {
  double r = c[0];
  for (size_t i = 1; i < N; ++i) r = r * x + c[i];
  return r;
}
// The same with an implicit leading coefficient 1 (Cephes p1evl).
template <size_t N>
double MonicHorner(double x, const std::array<double, N>& c) {
  double r = x + c[0];
  for (size_t i = 1; i < N; ++i) r = r * x + c[i];
  return r;
}

double CephesErfc(double a);

double CephesErf(double x) {
  if (x < 0) return -CephesErf(-x);
  if (x > 1) return 1 - CephesErfc(x);
  const double z = x * x;
  return x * Horner(z, kErfT) / MonicHorner(z, kErfU);
}

double CephesErfc(double a) {
  const double x = std::fabs(a);
  if (x < 1) return 1 - CephesErf(a);
  const double z = -a * a;
  if (z < -kMaxLog) return a < 0 ? 2 : 0;
  const double e = std::exp(z);
  const double y = x < 8 ? e * Horner(x, kErfcP) / MonicHorner(x, kErfcQ)
                         : e * Horner(x, kErfcR) / MonicHorner(x, kErfcS);
  return a < 0 ? 2 - y : y;
}

// Sums `n` contiguous values the way numpy's add.reduce does along a contiguous axis (pairwise
// summation: eight running sums per block of up to 128 values, halves above that), so that means
// match numpy's to the bit.
double NumpyPairwiseSum(const double* a, Eigen::Index n) {
  if (n < 8) {
    double sum = 0;
    for (Eigen::Index i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  // numpy's PW_BLOCKSIZE.
  constexpr Eigen::Index kBlock = 128;
  if (n <= kBlock) {
    std::array<double, 8> r;
    for (int j = 0; j < 8; ++j) r[static_cast<size_t>(j)] = a[j];
    Eigen::Index i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[static_cast<size_t>(j)] += a[i + j];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  Eigen::Index half = n / 2;
  half -= half % 8;
  return NumpyPairwiseSum(a, half) + NumpyPairwiseSum(a + half, n - half);
}

// LU factorisation with partial pivoting of the k x k column-major matrix `a`, in place, in the
// operation order of reference LAPACK's dgetrf2 (pivot = first largest |a|, multipliers scaled by
// the reciprocal of the pivot, trailing updates in ascending column order). Returns false at the
// first exactly zero pivot, where dgetrf reports INFO > 0 and numpy raises LinAlgError.
bool FactorLu(double* a, int k, int* pivots) {
  const double safe_min = std::numeric_limits<double>::min();
  for (int c = 0; c < k; ++c) {
    double* col = a + static_cast<ptrdiff_t>(c) * k;
    int p = c;
    double largest = std::fabs(col[c]);
    for (int i = c + 1; i < k; ++i) {
      if (std::fabs(col[i]) > largest) {
        largest = std::fabs(col[i]);
        p = i;
      }
    }
    pivots[c] = p;
    if (col[p] == 0) return false;
    if (p != c) {
      for (int j = 0; j < k; ++j) std::swap(a[c + j * k], a[p + j * k]);
    }
    const double pivot = col[c];
    if (std::fabs(pivot) >= safe_min) {
      const double inv = 1.0 / pivot;
      for (int i = c + 1; i < k; ++i) col[i] *= inv;
    } else {
      for (int i = c + 1; i < k; ++i) col[i] /= pivot;
    }
    for (int j = c + 1; j < k; ++j) {
      double* cj = a + static_cast<ptrdiff_t>(j) * k;
      const double u = cj[c];
      for (int i = c + 1; i < k; ++i) cj[i] -= col[i] * u;
    }
  }
  return true;
}

// Column `unit` of the inverse from the factors of FactorLu, into b[0..k): dgetrs' row swaps,
// unit-lower then upper triangular solves (dtrsm's loop order, zero entries skipped as dtrsm does).
void SolveUnitColumn(const double* lu, int k, const int* pivots, int unit, double* b) {
  std::fill(b, b + k, 0.0);
  b[unit] = 1;
  for (int c = 0; c < k; ++c) {
    if (pivots[c] != c) std::swap(b[c], b[pivots[c]]);
  }
  for (int c = 0; c < k; ++c) {
    if (b[c] == 0) continue;
    const double* col = lu + static_cast<ptrdiff_t>(c) * k;
    for (int i = c + 1; i < k; ++i) b[i] -= b[c] * col[i];
  }
  for (int c = k - 1; c >= 0; --c) {
    if (b[c] == 0) continue;
    const double* col = lu + static_cast<ptrdiff_t>(c) * k;
    b[c] /= col[c];
    for (int i = 0; i < c; ++i) b[i] -= b[c] * col[i];
  }
}

// P00, P01, P11 of the Moore-Penrose pseudo-inverse of the symmetric k x k matrix `a`.
std::array<double, 3> PseudoInverseCorner(const double* a, int k) {
  const Eigen::Map<const Eigen::MatrixXd> m(a, k, k);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m);
  const Eigen::VectorXd& values = eig.eigenvalues();
  const Eigen::MatrixXd& v = eig.eigenvectors();
  // Eigenvalues below k * eps * the largest are rounding noise of a singular matrix (the usual
  // pseudo-inverse cut-off, as MATLAB's pinv).
  const double cutoff = static_cast<double>(k) * std::numeric_limits<double>::epsilon() *
                        values.cwiseAbs().maxCoeff();
  std::array<double, 3> p = {0, 0, 0};
  for (int e = 0; e < k; ++e) {
    if (std::fabs(values(e)) <= cutoff) continue;
    const double w = 1 / values(e);
    p[0] += v(0, e) * v(0, e) * w;
    p[1] += v(0, e) * v(1, e) * w;
    p[2] += v(1, e) * v(1, e) * w;
  }
  return p;
}

// Matrices up to this size are factorised in stack buffers (no allocation in PC's inner loop).
constexpr int kStackDim = 16;

}  // namespace

double PairwiseSum(std::span<const double> values) {
  return NumpyPairwiseSum(values.data(), static_cast<Eigen::Index>(values.size()));
}

double NormalCdf(double x) {
  if (std::isnan(x)) return x;
  const double t = x * kSqrt1_2;
  const double z = std::fabs(t);
  if (z < kSqrt1_2) return 0.5 + 0.5 * CephesErf(t);
  const double y = 0.5 * CephesErfc(z);
  return t > 0 ? 1 - y : y;
}

Eigen::MatrixXd CorrelationMatrix(const Eigen::MatrixXd& data) {
  const Eigen::Index n = data.rows();
  const Eigen::Index p = data.cols();
  // Centred data, row-major, so that the cross products below run over contiguous memory.
  std::vector<double> centered(static_cast<size_t>(n * p));
  for (Eigen::Index j = 0; j < p; ++j) {
    const double mean = NumpyPairwiseSum(data.col(j).data(), n) / static_cast<double>(n);
    for (Eigen::Index l = 0; l < n; ++l) centered[static_cast<size_t>(l * p + j)] = data(l, j) - mean;
  }
  // Reference BLAS (numpy's dot) sums each cross product in sample order; numpy then multiplies
  // by 1 / (n - 1).
  const double scale = 1.0 / static_cast<double>(n - 1);
  Eigen::MatrixXd corr(p, p);
  std::vector<double> acc(static_cast<size_t>(p));
  for (Eigen::Index i = 0; i < p; ++i) {
    std::fill(acc.begin() + i, acc.end(), 0.0);
    for (Eigen::Index l = 0; l < n; ++l) {
      const double* row = centered.data() + l * p;
      const double xi = row[i];
      for (Eigen::Index j = i; j < p; ++j) acc[static_cast<size_t>(j)] += xi * row[j];
    }
    for (Eigen::Index j = i; j < p; ++j) {
      corr(i, j) = corr(j, i) = acc[static_cast<size_t>(j)] * scale;
    }
  }
  Eigen::VectorXd sd = corr.diagonal().array().sqrt();
  for (Eigen::Index j = 0; j < p; ++j) {
    for (Eigen::Index i = 0; i < p; ++i) {
      double c = (corr(i, j) / sd(i)) / sd(j);
      if (c > 1) c = 1;
      if (c < -1) c = -1;
      corr(i, j) = c;
    }
  }
  return corr;
}

Result<std::unique_ptr<FisherZTest>> FisherZTest::Create(const Eigen::MatrixXd& data,
                                                         bool pseudo_inverse_fallback) {
  if (data.rows() < 4) {
    return Status::DataError(fmt::format(
        "fisherz: {} samples, need >= 4 (n - |s| - 3 must be positive)", data.rows()));
  }
  if (!data.allFinite()) return Status::DataError("fisherz: data holds NaN or infinity");
  return std::unique_ptr<FisherZTest>(new FisherZTest(
      CorrelationMatrix(data), static_cast<int>(data.rows()), pseudo_inverse_fallback));
}

Result<double> FisherZTest::PValue(int x, int y, std::span<const int> s) const {
  const int num_vars = NumVariables();
  if (x < 0 || y < 0 || x >= num_vars || y >= num_vars || x == y) {
    return Status::InvalidArgument(
        fmt::format("fisherz: bad variable pair ({}, {}) for {} variables", x, y, num_vars));
  }
  // causal-learn's order: (min, max, sorted conditioning set without duplicates).
  std::array<int, kStackDim> small_vars;
  std::vector<int> big_vars;
  int* vars = small_vars.data();
  if (s.size() + 2 > static_cast<size_t>(kStackDim)) {
    big_vars.resize(s.size() + 2);
    vars = big_vars.data();
  }
  vars[0] = std::min(x, y);
  vars[1] = std::max(x, y);
  int k = 2;
  for (int v : s) {
    if (v < 0 || v >= num_vars || v == x || v == y) {
      return Status::InvalidArgument(fmt::format(
          "fisherz: conditioning variable {} is out of range or equals {} or {}", v, x, y));
    }
    vars[k++] = v;
  }
  std::sort(vars + 2, vars + k);
  k = static_cast<int>(std::unique(vars + 2, vars + k) - vars);
  const int cond = k - 2;
  const int dof = n_ - cond - 3;
  if (dof < 0) {
    return Status::DataError(fmt::format(
        "fisherz: {} samples are too few for a conditioning set of {}", n_, cond));
  }

  std::array<double, kStackDim * kStackDim> small_a;
  std::array<double, 2 * kStackDim> small_b;
  std::array<int, kStackDim> small_piv;
  std::vector<double> big_a, big_b;
  std::vector<int> big_piv;
  double* a = small_a.data();
  double* b = small_b.data();
  int* piv = small_piv.data();
  if (k > kStackDim) {
    big_a.resize(static_cast<size_t>(k) * static_cast<size_t>(k));
    big_b.resize(2 * static_cast<size_t>(k));
    big_piv.resize(static_cast<size_t>(k));
    a = big_a.data();
    b = big_b.data();
    piv = big_piv.data();
  }
  for (int j = 0; j < k; ++j) {
    for (int i = 0; i < k; ++i) a[i + j * k] = corr_(vars[i], vars[j]);
  }
  for (int i = 0; i < k * k; ++i) {
    if (!std::isfinite(a[i])) {
      return Status::DataError(fmt::format(
          "fisherz: a constant variable among {}, {} and the conditioning set", x, y));
    }
  }

  double p00, p01, p11;
  if (FactorLu(a, k, piv)) {
    SolveUnitColumn(a, k, piv, 0, b);
    SolveUnitColumn(a, k, piv, 1, b + k);
    p00 = b[0];
    p11 = b[k + 1];
    p01 = b[k];  // row 0 of column 1, numpy's inv[0, 1]
  } else if (fallback_) {
    // The factorisation overwrote `a`: gather the sub-matrix again (rare path).
    for (int j = 0; j < k; ++j) {
      for (int i = 0; i < k; ++i) a[i + j * k] = corr_(vars[i], vars[j]);
    }
    const std::array<double, 3> corner = PseudoInverseCorner(a, k);
    p00 = corner[0];
    p01 = corner[1];
    p11 = corner[2];
  } else {
    return Status::DataError(fmt::format(
        "fisherz: the correlation matrix of {}, {} and {} conditioning variables is singular", x,
        y, cond));
  }

  double r = -p01 / std::sqrt(p00 * p11);
  if (fallback_) {
    constexpr double kMax = 1 - 1e-15;
    if (!std::isfinite(r)) r = 0;
    r = std::clamp(r, -kMax, kMax);
  } else if (!(p00 * p11 >= 0) || !(r > -1 && r <= 1)) {
    // causal-learn's math.sqrt / math.log raise here (or, for NaN, return NaN).
    return Status::DataError(fmt::format(
        "fisherz: numerically singular correlation matrix of {}, {} and {} conditioning "
        "variables (partial correlation {})",
        x, y, cond, r));
  }
  const double z = 0.5 * std::log((1 + r) / (1 - r));
  const double stat = std::sqrt(static_cast<double>(dof)) * std::fabs(z);
  if (std::isnan(stat)) {
    // r == 1 with n - |s| - 3 == 0: 0 * inf.
    return Status::DataError(fmt::format(
        "fisherz: {} samples are too few for a conditioning set of {}", n_, cond));
  }
  return 2 * (1 - NormalCdf(std::fabs(stat)));
}

}  // namespace llmrca::stats
