#include "stats/optimize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

namespace llmrca::stats {

// ---- Linear sum assignment ---------------------------------------------------------------------

namespace {

// Rows <= columns. Shortest augmenting paths with row and column potentials: rows are added one
// at a time; each addition runs a Dijkstra-like search over reduced costs cost - u - v (kept
// non-negative by the potentials) until it reaches a free column, then flips the path.
std::vector<int> AssignRowsToColumns(const Eigen::MatrixXd& cost) {
  const int n = static_cast<int>(cost.rows());
  const int m = static_cast<int>(cost.cols());
  const double inf = std::numeric_limits<double>::infinity();
  // Index 0 is a virtual column / row that starts every search; real ones are 1-based here.
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0);
  std::vector<int> row_of_col(m + 1, 0);
  std::vector<int> previous_col(m + 1, 0);
  for (int row = 1; row <= n; ++row) {
    row_of_col[0] = row;
    int col = 0;
    std::vector<double> min_reduced(m + 1, inf);
    std::vector<char> visited(m + 1, 0);
    do {
      visited[col] = 1;
      const int r = row_of_col[col];
      double delta = inf;
      int next_col = 0;
      for (int j = 1; j <= m; ++j) {
        if (visited[j]) continue;
        const double reduced = cost(r - 1, j - 1) - u[r] - v[j];
        if (reduced < min_reduced[j]) {
          min_reduced[j] = reduced;
          previous_col[j] = col;
        }
        if (min_reduced[j] < delta) {
          delta = min_reduced[j];
          next_col = j;
        }
      }
      for (int j = 0; j <= m; ++j) {
        if (visited[j]) {
          u[row_of_col[j]] += delta;
          v[j] -= delta;
        } else {
          min_reduced[j] -= delta;
        }
      }
      col = next_col;
    } while (row_of_col[col] != 0);
    // Flip the augmenting path back to the virtual column.
    do {
      const int prev = previous_col[col];
      row_of_col[col] = row_of_col[prev];
      col = prev;
    } while (col != 0);
  }
  std::vector<int> col_of_row(n, -1);
  for (int j = 1; j <= m; ++j) {
    const int r = row_of_col[j];
    if (r > 0) col_of_row[r - 1] = j - 1;
  }
  return col_of_row;
}

}  // namespace

Result<std::vector<int>> LinearSumAssignment(const Eigen::MatrixXd& cost) {
  if (!cost.allFinite()) {
    return Status::InvalidArgument("linear_sum_assignment: cost matrix: non-finite entry");
  }
  if (cost.rows() <= cost.cols()) return AssignRowsToColumns(cost);
  // More rows than columns: assign the columns to rows, then invert.
  const std::vector<int> row_of_col = AssignRowsToColumns(cost.transpose());
  std::vector<int> col_of_row(cost.rows(), -1);
  for (size_t j = 0; j < row_of_col.size(); ++j) {
    col_of_row[row_of_col[j]] = static_cast<int>(j);
  }
  return col_of_row;
}

// ---- L-BFGS ------------------------------------------------------------------------------------

namespace {

constexpr double kC1 = 1e-4;         // sufficient decrease (Armijo) constant
constexpr double kC2 = 0.9;          // curvature constant, the usual one for quasi-Newton steps
constexpr int kMaxBracketSteps = 40;  // step doublings before giving up on bracketing
constexpr int kMaxZoomSteps = 40;     // interval reductions in zoom (each at least 10 %)

struct Point {
  double step = 0;
  double f = 0;
  double slope = 0;  // directional derivative along the search direction
  Eigen::VectorXd x;
  Eigen::VectorXd grad;
};

class LineSearch {
 public:
  LineSearch(const Objective& f, const Eigen::VectorXd& x, const Eigen::VectorXd& direction,
             int max_evals, int* evals)
      : f_(f), x_(x), d_(direction), max_evals_(max_evals), evals_(evals) {}

  // Nocedal & Wright Algorithm 3.5: returns a point meeting the strong Wolfe conditions, or the
  // best point with sufficient decrease, or nothing (step 0) when none was found.
  Point Search(const Point& start, double first_step) {
    Point prev = start;
    double step = first_step;
    for (int i = 0; i < kMaxBracketSteps && *evals_ < max_evals_; ++i) {
      Point cur = Evaluate(step);
      if (!std::isfinite(cur.f) || cur.f > start.f + kC1 * step * start.slope ||
          (i > 0 && cur.f >= prev.f)) {
        return Zoom(start, prev, cur);
      }
      if (std::abs(cur.slope) <= -kC2 * start.slope) return cur;
      if (cur.slope >= 0) return Zoom(start, cur, prev);
      prev = cur;
      step *= 2;
    }
    return prev;  // the last acceptable point (start itself when none)
  }

 private:
  Point Evaluate(double step) {
    Point p;
    p.step = step;
    p.x = x_ + step * d_;
    p.grad.resize(x_.size());
    p.f = f_(p.x, &p.grad);
    ++*evals_;
    if (!std::isfinite(p.f) || !p.grad.allFinite()) {
      p.f = std::numeric_limits<double>::infinity();
      p.slope = std::numeric_limits<double>::quiet_NaN();
    } else {
      p.slope = p.grad.dot(d_);
    }
    return p;
  }

  // Algorithm 3.6: `lo` has sufficient decrease and the lowest value so far; the interval between
  // lo and hi holds a strong-Wolfe step.
  Point Zoom(const Point& start, Point lo, Point hi) {
    for (int i = 0; i < kMaxZoomSteps && *evals_ < max_evals_; ++i) {
      const double a = lo.step, b = hi.step;
      const double width = std::abs(b - a);
      if (width <= 1e-16 * std::max(1.0, std::abs(a))) break;
      double step = 0.5 * (a + b);
      if (std::isfinite(hi.f)) {
        // Minimiser of the cubic through both values and slopes (Nocedal & Wright eq. 3.59),
        // kept at least 10 % of the interval away from either end.
        const double d1 = lo.slope + hi.slope - 3 * (lo.f - hi.f) / (a - b);
        const double disc = d1 * d1 - lo.slope * hi.slope;
        if (disc >= 0) {
          const double d2 = std::copysign(std::sqrt(disc), b - a);
          const double cubic = b - (b - a) * (hi.slope + d2 - d1) / (hi.slope - lo.slope + 2 * d2);
          const double lower = std::min(a, b) + 0.1 * width, upper = std::max(a, b) - 0.1 * width;
          if (std::isfinite(cubic) && cubic >= lower && cubic <= upper) step = cubic;
        }
      }
      Point cur = Evaluate(step);
      if (!std::isfinite(cur.f) || cur.f > start.f + kC1 * step * start.slope || cur.f >= lo.f) {
        hi = std::move(cur);
      } else {
        if (std::abs(cur.slope) <= -kC2 * start.slope) return cur;
        if (cur.slope * (b - a) >= 0) hi = lo;
        lo = std::move(cur);
      }
    }
    return lo;
  }

  const Objective& f_;
  const Eigen::VectorXd& x_;
  const Eigen::VectorXd& d_;
  int max_evals_;
  int* evals_;
};

}  // namespace

Result<LbfgsResult> MinimizeLbfgs(const Objective& f, const Eigen::VectorXd& x0,
                                  const LbfgsOptions& options) {
  if (options.memory < 1 || options.max_iter < 0 || options.max_evals < 1 ||
      !(options.gtol >= 0) || !(options.ftol >= 0)) {
    return Status::InvalidArgument(fmt::format(
        "lbfgs: options: memory={} max_iter={} max_evals={} gtol={} ftol={}: need memory >= 1, "
        "max_iter >= 0, max_evals >= 1, gtol >= 0, ftol >= 0",
        options.memory, options.max_iter, options.max_evals, options.gtol, options.ftol));
  }
  LbfgsResult out;
  out.x = x0;
  Eigen::VectorXd grad(x0.size());
  out.f = f(out.x, &grad);
  out.evaluations = 1;
  if (!std::isfinite(out.f) || !grad.allFinite()) {
    return Status::DataError("lbfgs: the objective or its gradient is not finite at the start");
  }
  if (x0.size() == 0 || grad.lpNorm<Eigen::Infinity>() <= options.gtol) {
    out.converged = true;
    return out;
  }
  // The newest `count` correction pairs, oldest first, in a ring starting at `oldest`.
  const int memory = options.memory;
  std::vector<Eigen::VectorXd> s_hist(static_cast<size_t>(memory)),
      y_hist(static_cast<size_t>(memory));
  std::vector<double> rho_hist(static_cast<size_t>(memory)), alpha(static_cast<size_t>(memory));
  int count = 0, oldest = 0;
  auto slot = [&](int i) { return static_cast<size_t>((oldest + i) % memory); };
  Eigen::VectorXd direction(x0.size()), scratch(x0.size());
  for (out.iterations = 0; out.iterations < options.max_iter;) {
    LLMRCA_RETURN_IF_ERROR(options.deadline.Check("lbfgs"));
    // Two-loop recursion: direction = -H grad with H0 = gamma P (P = I without a preconditioner)
    // and gamma = s'y / y'P y of the newest pair (Nocedal & Wright 2006, eq. 7.20).
    direction = -grad;
    for (int i = count - 1; i >= 0; --i) {
      const size_t j = slot(i);
      alpha[j] = rho_hist[j] * s_hist[j].dot(direction);
      direction -= alpha[j] * y_hist[j];
    }
    if (options.precondition) options.precondition(out.x, &direction);
    if (count > 0) {
      const size_t newest = slot(count - 1);
      double yhy = y_hist[newest].squaredNorm();
      if (options.precondition) {
        scratch = y_hist[newest];
        options.precondition(out.x, &scratch);
        yhy = y_hist[newest].dot(scratch);
      }
      if (yhy > 0 && std::isfinite(yhy)) direction *= 1.0 / (rho_hist[newest] * yhy);
    }
    for (int i = 0; i < count; ++i) {
      const size_t j = slot(i);
      const double beta = rho_hist[j] * y_hist[j].dot(direction);
      direction += (alpha[j] - beta) * s_hist[j];
    }
    double slope = direction.dot(grad);
    bool steepest = false;
    if (!(slope < 0) || !direction.allFinite()) {
      // Not a descent direction (rounding, or a preconditioner that is not positive definite):
      // restart from steepest descent.
      count = 0;
      direction = -grad;
      slope = -grad.squaredNorm();
      steepest = true;
    }
    // A steepest-descent step has length at most 1 (as L-BFGS-B's first iteration); a quasi-Newton
    // or preconditioned step tries step 1.
    const double first_step = steepest || (count == 0 && !options.precondition)
                                  ? std::min(1.0, 1.0 / direction.norm())
                                  : 1.0;
    Point start;
    start.f = out.f;
    start.slope = slope;
    LineSearch search(f, out.x, direction, options.max_evals, &out.evaluations);
    Point next = search.Search(start, first_step);
    if (next.step <= 0 || !(next.f < out.f)) {
      if (steepest || (count == 0 && !options.precondition)) break;  // no progress along -grad
      // Stale curvature pairs or preconditioner: retry once from steepest descent.
      count = 0;
      if (out.evaluations >= options.max_evals) break;
      direction = -grad;
      slope = -grad.squaredNorm();
      start.slope = slope;
      LineSearch retry(f, out.x, direction, options.max_evals, &out.evaluations);
      next = retry.Search(start, std::min(1.0, 1.0 / direction.norm()));
      if (next.step <= 0 || !(next.f < out.f)) break;
    }
    ++out.iterations;
    scratch = next.x - out.x;  // s
    Eigen::VectorXd y = next.grad - grad;
    const double sy = scratch.dot(y);
    if (sy > 2.220446049250313e-16 * y.squaredNorm()) {
      const size_t j = count < memory ? slot(count) : slot(0);
      if (count < memory) {
        ++count;
      } else {
        oldest = (oldest + 1) % memory;
      }
      s_hist[j].swap(scratch);
      y_hist[j].swap(y);
      rho_hist[j] = 1.0 / sy;
    }
    const double decrease = (out.f - next.f) / std::max({std::abs(out.f), std::abs(next.f), 1.0});
    out.x.swap(next.x);
    out.f = next.f;
    grad.swap(next.grad);
    if (decrease <= options.ftol || grad.lpNorm<Eigen::Infinity>() <= options.gtol) {
      out.converged = true;
      break;
    }
    if (out.evaluations >= options.max_evals) break;
  }
  return out;
}

}  // namespace llmrca::stats
