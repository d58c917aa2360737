#include "causal/notears.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "base/random.h"
#include "stats/optimize.h"
#include "stats/svd.h"

namespace llmrca::causal {
namespace {

// Pade coefficients b_0..b_m of the diagonal approximants r_m of exp (Higham 2005, Table 10.4 of
// Higham's "Functions of Matrices").
constexpr double kPade3[] = {120, 60, 12, 1};
constexpr double kPade5[] = {30240, 15120, 3360, 420, 30, 1};
constexpr double kPade7[] = {17297280, 8648640, 1995840, 277200, 25200, 1512, 56, 1};
constexpr double kPade9[] = {17643225600, 8821612800, 2075673600, 302702400, 30270240,
                             2162160,     110880,     3960,       90,        1};
constexpr double kPade13[] = {64764752532480000, 32382376266240000, 7771770303897600,
                              1187353796428800,  129060195264000,   10559470521600,
                              670442572800,      33522128640,       1323241920,
                              40840800,          960960,            16380,
                              182,               1};
// theta_m of Al-Mohy & Higham (2009), Table 3.1 (theta_13 as their Algorithm 3.1 and scipy use
// it): r_m is accurate to double precision for eta <= theta_m.
constexpr double kTheta3 = 1.495585217958292e-2, kTheta5 = 2.539398330063230e-1,
                 kTheta7 = 9.504178996162932e-1, kTheta9 = 2.097847961257068e0, kTheta13 = 4.25;
// 1 / |c_{2m+1}| = (2m)! (2m+1)! / (m!)^2, the leading coefficient of r_m's backward error, for
// m = 3, 5, 7, 9, 13 (Al-Mohy & Higham 2009, eq. 5.4; scipy's `coeff` divided by u).
constexpr double kInvC3 = 100800.0, kInvC5 = 10059033600.0, kInvC7 = 4487938430976000.0,
                 kInvC9 = 5914384781877411840000.0,
                 kInvC13 = 113250775606021113483283660800000000.0;
constexpr double kUnitRoundoff = 1.1102230246251565e-16;  // 2^-53

// Scratch space of ExpmInto, so that repeated calls allocate nothing.
struct ExpmWorkspace {
  Eigen::MatrixXd a, a2, a4, a6, a8, u, v, tmp;
  Eigen::RowVectorXd spin, next;
  Eigen::PartialPivLU<Eigen::MatrixXd> lu;
};

// log2 of the 1-norms of |a|^k for k = 0..27: spin = 1' |a|^k, renormalised each step (exact: |a|^k
// is nonnegative, so its 1-norm is the largest entry of 1' |a|^k).
void AbsPowerNorms(const Eigen::MatrixXd& a, ExpmWorkspace* ws, double log2_norm[28]) {
  const Eigen::Index d = a.rows();
  ws->tmp = a.cwiseAbs();
  ws->spin.setOnes(d);
  ws->next.resize(d);
  double log2_scale = 0;
  log2_norm[0] = 0;
  for (int k = 1; k <= 27; ++k) {
    ws->next.noalias() = ws->spin * ws->tmp;
    const double top = ws->next.maxCoeff();
    if (!(top > 0) || !std::isfinite(top)) {
      // 0: |a| is nilpotent and every higher power is zero; +inf: overflow.
      const double fill = top > 0 ? std::numeric_limits<double>::infinity()
                                  : -std::numeric_limits<double>::infinity();
      for (int i = k; i <= 27; ++i) log2_norm[i] = fill;
      return;
    }
    log2_scale += std::log2(top);
    ws->spin = ws->next / top;
    log2_norm[k] = log2_scale;
  }
}

// ell(a, m) of Al-Mohy & Higham (2009), eq. 5.5: extra squarings that keep r_m's rounding in check,
// from log2 ||a||_1 and log2 || |a|^(2m+1) ||_1.
int ExtraSquarings(double log2_norm_a, double log2_norm_power, double inv_c, int m) {
  const double log2_alpha_over_u =
      log2_norm_power - log2_norm_a - std::log2(inv_c) - std::log2(kUnitRoundoff);
  if (!(log2_alpha_over_u > 0)) return 0;
  return static_cast<int>(std::ceil(log2_alpha_over_u / (2 * m)));
}

// Al-Mohy & Higham (2009), Algorithm 3.1, as scipy.linalg.expm (the reference's) implements it,
// except that every ||A^k||_1^(1/k) it tests is taken from |A|^k (exact for a nonnegative A such as
// W o W; an upper bound otherwise, which can only choose a higher degree or more squarings than
// scipy's exact norms), so that only the powers the chosen degree needs are multiplied out.
void ExpmInto(const Eigen::MatrixXd& a, Eigen::MatrixXd* out, ExpmWorkspace* ws) {
  const Eigen::Index d = a.rows();
  if (d == 0) {
    out->resize(0, 0);
    return;
  }
  if (!a.allFinite()) {  // e.g. W o W overflowed: NaN, which the line search treats as +inf
    out->setConstant(d, d, std::numeric_limits<double>::quiet_NaN());
    return;
  }
  double log2_abs[28];
  AbsPowerNorms(a, ws, log2_abs);
  const double log2_norm_a = log2_abs[1];
  if (log2_norm_a == -std::numeric_limits<double>::infinity()) {  // a = 0
    out->setIdentity(d, d);
    return;
  }
  if (log2_abs[27] == std::numeric_limits<double>::infinity()) {  // a power of |a| overflows
    out->setConstant(d, d, std::numeric_limits<double>::quiet_NaN());
    return;
  }
  auto root = [&](int k) { return std::exp2(log2_abs[k] / k); };  // || |a|^k ||^(1/k)
  const double eta1 = std::max(root(4), root(6)), eta3 = std::max(root(6), root(8));
  int m = 13, s = 0;
  if (eta1 <= kTheta3 && ExtraSquarings(log2_norm_a, log2_abs[7], kInvC3, 3) == 0) {
    m = 3;
  } else if (eta1 <= kTheta5 && ExtraSquarings(log2_norm_a, log2_abs[11], kInvC5, 5) == 0) {
    m = 5;
  } else if (eta3 <= kTheta7 && ExtraSquarings(log2_norm_a, log2_abs[15], kInvC7, 7) == 0) {
    m = 7;
  } else if (eta3 <= kTheta9 && ExtraSquarings(log2_norm_a, log2_abs[19], kInvC9, 9) == 0) {
    m = 9;
  } else {
    const double eta5 = std::min(eta3, std::max(root(8), root(10)));
    s = std::max(0, static_cast<int>(std::ceil(std::log2(eta5 / kTheta13))));
    // ell(2^-s a, 13): ||.||_1 scales by 2^-s, || |.|^27 ||_1 by 2^-27s.
    s += ExtraSquarings(log2_norm_a - s, log2_abs[27] - 27.0 * s, kInvC13, 13);
  }
  const Eigen::MatrixXd* scaled = &a;
  if (s > 0) {
    ws->a = a * std::ldexp(1.0, -s);
    scaled = &ws->a;
  }
  // The even powers the degree needs.
  ws->a2.noalias() = *scaled * *scaled;
  if (m >= 5) ws->a4.noalias() = ws->a2 * ws->a2;
  if (m >= 7) ws->a6.noalias() = ws->a4 * ws->a2;
  if (m == 9) ws->a8.noalias() = ws->a4 * ws->a4;
  // Odd part U = a * tmp and even part V of the numerator of r_m; r_m = (V - U)^-1 (V + U).
  if (m == 13) {
    const double* b = kPade13;
    ws->a8 = b[13] * ws->a6 + b[11] * ws->a4 + b[9] * ws->a2;
    ws->tmp.noalias() = ws->a6 * ws->a8;
    ws->tmp += b[7] * ws->a6 + b[5] * ws->a4 + b[3] * ws->a2;
    ws->tmp.diagonal().array() += b[1];
    ws->a8 = b[12] * ws->a6 + b[10] * ws->a4 + b[8] * ws->a2;
    ws->v.noalias() = ws->a6 * ws->a8;
    ws->v += b[6] * ws->a6 + b[4] * ws->a4 + b[2] * ws->a2;
    ws->v.diagonal().array() += b[0];
  } else {
    const double* b = m == 3 ? kPade3 : m == 5 ? kPade5 : m == 7 ? kPade7 : kPade9;
    const Eigen::MatrixXd* powers[] = {&ws->a2, &ws->a4, &ws->a6, &ws->a8};
    ws->tmp = b[3] * ws->a2;
    ws->v = b[2] * ws->a2;
    for (int k = 4; k <= m; k += 2) {
      ws->tmp += b[k + 1] * *powers[k / 2 - 1];
      ws->v += b[k] * *powers[k / 2 - 1];
    }
    ws->tmp.diagonal().array() += b[1];
    ws->v.diagonal().array() += b[0];
  }
  ws->u.noalias() = *scaled * ws->tmp;
  ws->tmp = ws->v - ws->u;
  ws->lu.compute(ws->tmp);
  ws->tmp = ws->v + ws->u;
  *out = ws->lu.solve(ws->tmp);
  for (int i = 0; i < s; ++i) {
    ws->tmp.noalias() = *out * *out;
    out->swap(ws->tmp);
  }
}

}  // namespace

Eigen::MatrixXd MatrixExponential(const Eigen::MatrixXd& a) {
  ExpmWorkspace ws;
  Eigen::MatrixXd out;
  ExpmInto(a, &out, &ws);
  return out;
}

namespace {

// The augmented Lagrangian of Zheng et al. (2018), eq. 13, in the factors of W = U V^T:
//   F(U, V) = 0.5 tr((I - W)' S (I - W)) + rho/2 h(W)^2 + alpha h(W),  S = X'X / n,
// with dF/dW = -S (I - W) + (rho h + alpha) 2 W o exp(W o W)' (eq. 8 for the gradient of h), so
// dF/dU = (dF/dW) V and dF/dV = (dF/dW)' U. x packs U then V, column-major. Not thread-safe: an
// evaluation caches exp(W o W) and the preconditioner's factors for the point it saw last.
class Lagrangian {
 public:
  // s = X'X / n; mean and var: the columns' means and variances (divisor n), S = var + mean mean'.
  Lagrangian(const Eigen::MatrixXd& s, const Eigen::VectorXd& mean, const Eigen::VectorXd& var,
             Eigen::Index rank)
      : s_(s), mean_(mean), var_(var), d_(s.rows()), r_(rank) {}

  void SetMultipliers(double rho, double alpha) {
    rho_ = rho;
    alpha_ = alpha;
    factored_ = false;  // the preconditioner depends on rho and alpha
  }

  Eigen::MatrixXd Weights(const Eigen::VectorXd& x) const { return U(x) * V(x).transpose(); }

  // h(W) = tr(exp(W o W)) - d.
  double Acyclicity(const Eigen::MatrixXd& w) const {
    return MatrixExponential(w.cwiseProduct(w)).trace() - static_cast<double>(d_);
  }

  double Evaluate(const Eigen::VectorXd& x, Eigen::VectorXd* grad) {
    const auto u = U(x), v = V(x);
    ExpAt(x);
    // g = dF/dW = -S (I - W) + c 2 W o E', c = rho h + alpha; S (I - W) = S - (S U) V'.
    su_.noalias() = s_ * u;
    g_ = s_;
    g_.noalias() -= su_ * v.transpose();  // S (I - W)
    // 0.5 <I - W, S (I - W)>
    const double loss = 0.5 * (g_.trace() - w_.cwiseProduct(g_).sum());
    const double c = rho_ * h_ + alpha_;
    g_ = -g_ + (2.0 * c) * w_.cwiseProduct(e_.transpose());
    Eigen::Map<Eigen::MatrixXd>(grad->data(), d_, r_).noalias() = g_ * v;
    Eigen::Map<Eigen::MatrixXd>(grad->data() + d_ * r_, d_, r_).noalias() = g_.transpose() * u;
    return loss + 0.5 * rho_ * h_ * h_ + alpha_ * h_;
  }

  // Applies to *v an approximate inverse Hessian of F at x: the Gauss-Newton matrix of a model of
  // the W-space curvature, block-diagonal in (U, V). The model keeps, for each entry W(i, j),
  // the loss's var(i) and the acyclicity term's own curvature 2 (rho h + alpha) E(j, i) (the
  // diagonal of the Hessian of h, eq. 8, without its W o dE part), and the loss's rank-one mean
  // part mean mean' in full: an uncentred X makes S = var + mean mean' as ill-conditioned as the
  // means are large against the spreads, and its direction is what plain L-BFGS crawls along.
  // For U (V fixed) the model is blockdiag_i(B_i) + (mean mean') x (V'V), B_i = V' diag(a(i, .))
  // V with a(i, j) = var(i) + 2 c E(j, i), inverted by the Woodbury identity; for V (U fixed) it
  // is, row j, C_j = U' (S + diag_i(2 c E(j, i))) U (the loss's part is exact). Each block gets a
  // relative ridge; a block that is zero (U = 0 at the start) is left as the identity. The factors
  // are recomputed at the first iterate after SetMultipliers and then every kRefactorEvery
  // iterates (any positive definite P keeps L-BFGS's directions downhill; a fresher one saves
  // few iterations and costs about an evaluation).
  void Precondition(const Eigen::VectorXd& x, Eigen::VectorXd* v) {
    if (seen_at_.size() != x.size() || seen_at_ != x) {  // a new iterate
      seen_at_ = x;
      if (!factored_ || ++since_factor_ >= kRefactorEvery) {
        Factor(x);
        since_factor_ = 0;
      }
    }
    Eigen::Map<Eigen::MatrixXd> gu(v->data(), d_, r_), gv(v->data() + d_ * r_, d_, r_);
    // Row i of the U block times B_i^-1, row j of the V block times C_j^-1.
    RowsTimesBlocks(b_inv_, &gu);
    if (use_mean_) {
      // Woodbury: row i minus mean_i t' B_i^-1 with (I + M Q) t = M sum_i mean_i B_i^-1 g_i, where
      // M = V'V and Q = sum_i mean_i^2 B_i^-1.
      row_.noalias() = mean_.transpose() * gu;
      row_ = mean_lu_.solve(vtv_ * row_.transpose()).transpose();
      correction_ = mean_ * row_;  // row i: mean_i t'
      RowsTimesBlocks(b_inv_, &correction_);
      gu -= correction_;
    }
    RowsTimesBlocks(c_inv_, &gv);
  }

 private:
  Eigen::Map<const Eigen::MatrixXd> U(const Eigen::VectorXd& x) const {
    return Eigen::Map<const Eigen::MatrixXd>(x.data(), d_, r_);
  }
  Eigen::Map<const Eigen::MatrixXd> V(const Eigen::VectorXd& x) const {
    return Eigen::Map<const Eigen::MatrixXd>(x.data() + d_ * r_, d_, r_);
  }

  // Replaces row k of *g by g.row(k) * block k of `blocks` (r x r blocks side by side, symmetric).
  // Plain loops: a library call per 10 x 10 product costs more than its 100 multiplications.
  template <typename Rows>
  void RowsTimesBlocks(const Eigen::MatrixXd& blocks, Rows* g) {
    acc_.resize(r_);
    for (Eigen::Index k = 0; k < d_; ++k) {
      const double* block = blocks.data() + k * r_ * r_;  // column-major, contiguous
      acc_.setZero();
      for (Eigen::Index l = 0; l < r_; ++l) {
        const double g_kl = (*g)(k, l);
        for (Eigen::Index m = 0; m < r_; ++m) acc_(m) += block[l * r_ + m] * g_kl;
      }
      g->row(k) = acc_.transpose();
    }
  }

  // w_ = U V', e_ = exp(W o W) and h_ at x (cached: the line search's accepted point is usually
  // the one evaluated last, where the preconditioner is needed next).
  void ExpAt(const Eigen::VectorXd& x) {
    if (exp_at_.size() == x.size() && exp_at_ == x) return;
    w_.noalias() = U(x) * V(x).transpose();
    ww_ = w_.cwiseProduct(w_);
    ExpmInto(ww_, &e_, &expm_);
    h_ = e_.trace() - static_cast<double>(d_);
    exp_at_ = x;
  }

  // (m + ridge)^-1 into inv; the identity when m is zero or not numerically positive definite.
  // Plain loops: Eigen's blocked LLT costs more in overhead than in flops at r ~ 10.
  void InvertBlock(Eigen::Ref<Eigen::MatrixXd> m, Eigen::Ref<Eigen::MatrixXd> inv) const {
    const Eigen::Index r = r_;
    const double scale = m.trace() / static_cast<double>(r);
    inv.setIdentity();
    if (!(scale > 0) || !std::isfinite(scale)) return;
    m.diagonal().array() += kRidge * scale;
    // Cholesky m = L L' in the lower triangle of m.
    for (Eigen::Index j = 0; j < r; ++j) {
      double diag = m(j, j);
      for (Eigen::Index k = 0; k < j; ++k) diag -= m(j, k) * m(j, k);
      if (!(diag > 0)) {
        inv.setIdentity();
        return;
      }
      const double l_jj = std::sqrt(diag);
      m(j, j) = l_jj;
      for (Eigen::Index i = j + 1; i < r; ++i) {
        double sum = m(i, j);
        for (Eigen::Index k = 0; k < j; ++k) sum -= m(i, k) * m(j, k);
        m(i, j) = sum / l_jj;
      }
    }
    // L^-1 by forward substitution, column by column, into the lower triangle of inv.
    for (Eigen::Index j = 0; j < r; ++j) {
      inv(j, j) = 1.0 / m(j, j);
      for (Eigen::Index i = j + 1; i < r; ++i) {
        double sum = 0;
        for (Eigen::Index k = j; k < i; ++k) sum -= m(i, k) * inv(k, j);
        inv(i, j) = sum / m(i, i);
      }
    }
    // m^-1 = L^-T L^-1: entry (i, j), i >= j, is sum_{k >= i} inv(k, i) inv(k, j).
    for (Eigen::Index j = 0; j < r; ++j) {
      for (Eigen::Index i = j; i < r; ++i) {
        double sum = 0;
        for (Eigen::Index k = i; k < r; ++k) sum += inv(k, i) * inv(k, j);
        m(i, j) = sum;
      }
    }
    for (Eigen::Index j = 0; j < r; ++j) {
      for (Eigen::Index i = j; i < r; ++i) inv(i, j) = inv(j, i) = m(i, j);
    }
  }

  // Column block k * r .. k * r + r - 1 of out = sum_i weight(k, i) p_i p_i' over the rows p_i of
  // p, for every k: one product weight * KhatriRao(p) (row i: p_i (x) p_i).
  void WeightedGrams(const Eigen::MatrixXd& weight, Eigen::Map<const Eigen::MatrixXd> p,
                     Eigen::MatrixXd* out) {
    for (Eigen::Index k = 0; k < r_; ++k) {
      for (Eigen::Index l = 0; l < r_; ++l) kr_.col(k * r_ + l) = p.col(k).cwiseProduct(p.col(l));
    }
    grams_.noalias() = weight * kr_;  // row k: the r x r block of k, column-major
    out->resize(r_, d_ * r_);
    for (Eigen::Index k = 0; k < d_; ++k) {
      out->middleCols(k * r_, r_) = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::InnerStride<>>(
          grams_.data() + k, r_, r_, Eigen::InnerStride<>(d_));
    }
  }

  void Factor(const Eigen::VectorXd& x) {
    const auto u = U(x), v = V(x);
    ExpAt(x);
    const double c2 = 2.0 * std::max(0.0, rho_ * h_ + alpha_);
    kr_.resize(d_, r_ * r_);
    // B_i = V' diag(a(i, .)) V with a(i, j) = var(i) + c2 E(j, i).
    weight_ = c2 * e_.transpose();
    weight_.colwise() += var_;
    WeightedGrams(weight_, v, &blocks_);
    b_inv_.resize(r_, d_ * r_);
    for (Eigen::Index i = 0; i < d_; ++i) {
      InvertBlock(blocks_.middleCols(i * r_, r_), b_inv_.middleCols(i * r_, r_));
    }
    use_mean_ = mean_.squaredNorm() > 0;
    if (use_mean_) {
      Eigen::MatrixXd q = Eigen::MatrixXd::Zero(r_, r_);
      for (Eigen::Index i = 0; i < d_; ++i) {
        q += mean_(i) * mean_(i) * b_inv_.middleCols(i * r_, r_);
      }
      vtv_.noalias() = v.transpose() * v;
      mean_lu_.compute(Eigen::MatrixXd::Identity(r_, r_) + vtv_ * q);
    }
    // C_j = U' S U + U' diag(c2 E(j, .)) U.
    su_.noalias() = s_ * u;
    usu_.noalias() = u.transpose() * su_;
    weight_ = c2 * e_;
    WeightedGrams(weight_, u, &blocks_);
    c_inv_.resize(r_, d_ * r_);
    for (Eigen::Index j = 0; j < d_; ++j) {
      blocks_.middleCols(j * r_, r_) += usu_;
      InvertBlock(blocks_.middleCols(j * r_, r_), c_inv_.middleCols(j * r_, r_));
    }
    factored_ = true;
  }

  // Iterates between refactorisations of the preconditioner.
  static constexpr int kRefactorEvery = 10;
  // Relative ridge of the preconditioner's blocks (V'V is singular when V has rank < r).
  static constexpr double kRidge = 1e-8;

  const Eigen::MatrixXd& s_;
  const Eigen::VectorXd& mean_;
  const Eigen::VectorXd& var_;
  Eigen::Index d_, r_;
  double rho_ = 1, alpha_ = 0;
  // Cache of ExpAt.
  Eigen::VectorXd exp_at_;
  Eigen::MatrixXd w_, ww_, e_;
  ExpmWorkspace expm_;
  double h_ = 0;
  // Workspace of Evaluate.
  Eigen::MatrixXd su_, g_;
  // Cache and workspace of Factor: the blocks' inverses side by side (r x d r each).
  Eigen::VectorXd seen_at_;
  bool factored_ = false;
  int since_factor_ = 0;
  Eigen::RowVectorXd row_;
  Eigen::VectorXd acc_;
  Eigen::MatrixXd correction_;
  Eigen::MatrixXd b_inv_, c_inv_, blocks_, weight_, kr_, grams_, usu_, vtv_;
  Eigen::PartialPivLU<Eigen::MatrixXd> mean_lu_;
  bool use_mean_ = false;
};

// The factors of a rank-r truncated SVD of w, packed as the Lagrangian expects: U = U_r S_r,
// V = V_r (the reference's u_new, v_new).
Eigen::VectorXd FactorsOf(const Eigen::MatrixXd& w, Eigen::Index r) {
  const Eigen::Index d = w.rows();
  // w is square, so its thin SVD is the full one.
  const stats::ThinSvdResult svd = stats::JacobiThinSvd(w, /*want_u=*/true, /*want_v=*/true);
  Eigen::VectorXd x(2 * d * r);
  Eigen::Map<Eigen::MatrixXd>(x.data(), d, r) = svd.u.leftCols(r) * svd.values.head(r).asDiagonal();
  Eigen::Map<Eigen::MatrixXd>(x.data() + d * r, d, r) = svd.v.leftCols(r);
  return x;
}

// The reference's first start, W = 0: LAPACK's SVD of the zero matrix is U = V = I, so U = 0 and
// V = the first r columns of the identity.
Eigen::VectorXd ZeroStart(Eigen::Index d, Eigen::Index r) {
  Eigen::VectorXd x = Eigen::VectorXd::Zero(2 * d * r);
  Eigen::Map<Eigen::MatrixXd>(x.data() + d * r, d, r) = Eigen::MatrixXd::Identity(d, r);
  return x;
}

// One run of NotearsLowRank.notears_low_rank from the packed start x0. kDataError when a solve
// cannot start (non-finite objective): the caller restarts.
Result<NotearsLowRankResult> Solve(const Eigen::MatrixXd& s, const Eigen::VectorXd& mean,
                                   const Eigen::VectorXd& var, Eigen::Index r,
                                   const Eigen::VectorXd& x0, const NotearsLowRankOptions& o) {
  const Eigen::Index d = s.rows();
  if (x0.head(d * r).cwiseAbs().sum() <= 1e-6 && x0.tail(d * r).cwiseAbs().sum() <= 1e-6) {
    return Status::DataError("notears: nearly zero start");  // as the reference's ValueError
  }
  Lagrangian lagrangian(s, mean, var, r);
  stats::LbfgsOptions lbfgs;
  // The budget of scipy's TNC, maxfun = max(100, 10 * #parameters); the gradient test about TNC's
  // pgtol (1.2e-6). What ends a solve in practice is L-BFGS-B's relative decrease test (ftol
  // 2.2e-9 per iteration), which on standardised data asks about as much as TNC's absolute
  // |f_k - f_k+1| <= 1.5e-8 per Newton iteration.
  lbfgs.max_evals = std::max<int>(100, static_cast<int>(10 * x0.size()));
  lbfgs.max_iter = lbfgs.max_evals;
  lbfgs.gtol = 1e-6;
  lbfgs.deadline = o.deadline;
  lbfgs.precondition = [&](const Eigen::VectorXd& x, Eigen::VectorXd* v) {
    lagrangian.Precondition(x, v);
  };
  const stats::Objective objective = [&](const Eigen::VectorXd& x, Eigen::VectorXd* grad) {
    return lagrangian.Evaluate(x, grad);
  };

  NotearsLowRankResult out;
  double rho = 1, alpha = 0, h = std::numeric_limits<double>::infinity();
  Eigen::VectorXd x_est = x0, x_new = x0;
  double h_new = h;
  for (int outer = 0; outer < o.max_iter; ++outer) {
    if (rho > o.rho_max) break;  // the reference's remaining iterations change nothing
    LLMRCA_RETURN_IF_ERROR(o.deadline.Check("notears"));
    // Raise rho tenfold until h has shrunk to a quarter (Zheng et al. 2018, Algorithm 1).
    while (rho <= o.rho_max) {
      lagrangian.SetMultipliers(rho, alpha);
      LLMRCA_ASSIGN_OR_RETURN(const stats::LbfgsResult solved,
                              stats::MinimizeLbfgs(objective, x_est, lbfgs));
      ++out.inner_solves;
      out.evaluations += solved.evaluations;
      if (!solved.converged) ++out.unconverged_solves;
      x_new = solved.x;
      h_new = lagrangian.Acyclicity(lagrangian.Weights(x_new));
      if (h_new > 0.25 * h) {
        rho *= 10;
      } else {
        break;
      }
    }
    x_est = x_new;
    h = h_new;
    alpha += rho * h;
    out.outer_iterations = outer + 1;
    if (outer >= 3 && h <= o.h_tol) break;
  }
  out.weights = lagrangian.Weights(x_new);
  if (!out.weights.allFinite()) return Status::DataError("notears: non-finite weights");
  out.h = lagrangian.Acyclicity(out.weights);
  out.rho = rho;
  return out;
}

Status CheckInputs(const Eigen::MatrixXd& x, const NotearsLowRankOptions& o) {
  if (o.rank < 1 || !std::isfinite(o.w_threshold) || o.w_threshold < 0 || o.max_iter < 1 ||
      !std::isfinite(o.h_tol) || o.h_tol < 0 || !(o.rho_max > 0)) {
    return Status::InvalidArgument(fmt::format(
        "notears: options: rank={} w_threshold={} max_iter={} h_tol={} rho_max={}: need rank >= "
        "1, a finite w_threshold >= 0, max_iter >= 1, a finite h_tol >= 0, rho_max > 0",
        o.rank, o.w_threshold, o.max_iter, o.h_tol, o.rho_max));
  }
  if (x.cols() < 1) return Status::DataError("notears: data: no columns");
  if (x.rows() < 2) {
    return Status::DataError(fmt::format("notears: data: {} rows, need at least 2", x.rows()));
  }
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    if (!x.col(j).allFinite()) {
      return Status::DataError(fmt::format("notears: data: column {} has a non-finite value", j));
    }
    if ((x.col(j).array() == x(0, j)).all()) {
      return Status::DataError(fmt::format("notears: data: column {} is constant", j));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<NotearsLowRankResult> FitNotearsLowRank(const Eigen::MatrixXd& data,
                                               const NotearsLowRankOptions& options) {
  LLMRCA_RETURN_IF_ERROR(CheckInputs(data, options));
  LLMRCA_RETURN_IF_ERROR(options.deadline.Check("notears"));
  const Eigen::Index d = data.cols();
  const Eigen::Index r = std::min<Eigen::Index>(options.rank, d);
  const double n = static_cast<double>(data.rows());
  Eigen::VectorXd mean = data.colwise().mean().transpose();
  Eigen::MatrixXd centred = data.rowwise() - mean.transpose();
  Eigen::VectorXd var = centred.colwise().squaredNorm().transpose() / n;
  Eigen::MatrixXd s;
  if (options.standardize) {
    for (Eigen::Index j = 0; j < d; ++j) {
      if (!(var(j) > 0) || !std::isfinite(var(j))) {
        return Status::DataError(
            fmt::format("notears: data: column {} has variance {}, cannot standardise", j, var(j)));
      }
    }
    centred.array().rowwise() /= var.transpose().array().sqrt();
    s = centred.transpose() * centred / n;
    mean.setZero();
    var.setOnes();
  } else {
    s = data.transpose() * data / n;
  }
  if (!s.allFinite() || !var.allFinite()) {
    return Status::DataError("notears: data: X'X overflows");
  }

  // The reference's learn(): start from W = 0; after a failure, from W ~ U(-0.3, 0.3); at most 21
  // starts in all.
  constexpr int kMaxStarts = 21;
  Rng rng(options.seed);
  Status last;
  for (int start = 0; start < kMaxStarts; ++start) {
    Eigen::VectorXd x0;
    if (start == 0) {
      x0 = ZeroStart(d, r);
    } else {
      Eigen::MatrixXd w0(d, d);
      for (Eigen::Index i = 0; i < d; ++i) {
        for (Eigen::Index j = 0; j < d; ++j) w0(i, j) = -0.3 + 0.6 * rng.Uniform();
      }
      x0 = FactorsOf(w0, r);
    }
    Result<NotearsLowRankResult> fitted = Solve(s, mean, var, r, x0, options);
    if (fitted.ok()) {
      NotearsLowRankResult out = std::move(fitted).value();
      out.restarts = start;
      out.causal_matrix = (out.weights.array().abs() > options.w_threshold).cast<int>();
      out.causal_matrix.diagonal().setZero();
      return out;
    }
    if (fitted.status().code() != StatusCode::kDataError) return fitted.status();
    last = fitted.status();
  }
  return Status::DataError(
      fmt::format("notears: every one of {} starts failed; last: {}", kMaxStarts, last.message()));
}

Result<Eigen::MatrixXi> NotearsLowRank(const Eigen::MatrixXd& data,
                                       const NotearsLowRankOptions& options) {
  LLMRCA_ASSIGN_OR_RETURN(NotearsLowRankResult r, FitNotearsLowRank(data, options));
  return std::move(r.causal_matrix);
}

}  // namespace llmrca::causal
