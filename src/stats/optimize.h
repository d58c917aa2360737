// Small numerical optimisers for the causal-discovery methods: the minimum-cost assignment
// (scipy.optimize.linear_sum_assignment, which ICA-LiNGAM uses to permute its unmixing matrix)
// and an unconstrained limited-memory BFGS minimiser (the inner solver of NOTEARS low-rank).
//
// Papers: D. F. Crouse (2016), "On implementing 2D rectangular assignment algorithms", IEEE TAES
// (shortest augmenting paths with dual potentials, what scipy implements); D. C. Liu, J. Nocedal
// (1989), "On the limited memory BFGS method for large scale optimization", Math. Programming;
// J. Nocedal, S. J. Wright (2006), "Numerical Optimization", 2nd ed., Algorithms 3.5-3.6 (the
// strong-Wolfe line search) and 7.4 (the two-loop recursion, here with an optional preconditioner
// as the initial matrix H0). Pure functions, thread-safe (as far as the callbacks are).
#pragma once

#include <functional>
#include <vector>

#include <Eigen/Core>

#include "base/deadline.h"
#include "base/status.h"

namespace llmrca::stats {

// The assignment of rows to distinct columns of an n x m `cost` matrix with the smallest total
// cost, as scipy.optimize.linear_sum_assignment: element i is the column given to row i (every
// row gets a column when n <= m; when n > m, the rows left out get -1). Equal-cost optima may be
// broken differently from scipy. Costs must be finite (kInvalidArgument otherwise).
Result<std::vector<int>> LinearSumAssignment(const Eigen::MatrixXd& cost);

// The value at x of the function being minimised; it also writes the gradient into *grad (sized
// like x by the caller). A non-finite value means "outside the domain": the line search backs off.
using Objective = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd* grad)>;

// Replaces *v by P(x) *v, where P(x) is a symmetric positive definite approximation of the inverse
// Hessian of the objective at x (a preconditioner). It may keep state (a cache keyed on x).
using Preconditioner = std::function<void(const Eigen::VectorXd& x, Eigen::VectorXd* v)>;

struct LbfgsOptions {
  int memory = 10;          // correction pairs kept (scipy L-BFGS-B's maxcor)
  int max_iter = 15000;     // iterations (scipy L-BFGS-B's maxiter)
  int max_evals = 15000;    // objective evaluations (scipy L-BFGS-B's maxfun)
  double gtol = 1e-5;       // stop when max_i |grad_i| <= gtol (scipy L-BFGS-B's pgtol)
  // Stop when (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol: scipy L-BFGS-B's factr 1e7 times
  // the machine epsilon.
  double ftol = 1e7 * 2.220446049250313e-16;
  // When set, each two-loop recursion starts from the inverse Hessian gamma P(x) at the current x
  // instead of gamma I (Nocedal & Wright 2006, section 7.2; gamma = s'y / y'P(x)y of the newest
  // pair, 1 before there is one), and quasi-Newton steps try step length 1 from the start. A
  // linear change of variables in all but name: what plain L-BFGS needs thousands of iterations
  // for on an ill-conditioned objective, a good P does in tens.
  Preconditioner precondition;
  Deadline deadline;
};

struct LbfgsResult {
  Eigen::VectorXd x;
  double f = 0;
  int iterations = 0;
  int evaluations = 0;
  bool converged = false;  // a gtol or ftol test passed (not an iteration or evaluation cap)
};

// Minimises `f` from `x0` by L-BFGS with a strong-Wolfe line search (c1 = 1e-4, c2 = 0.9),
// optionally preconditioned (LbfgsOptions::precondition).
// Returns the best point found; reaching max_iter or max_evals, or a line search that can make
// no progress, is not an error (converged says which). kDataError when f(x0) or its gradient is
// not finite; kDeadlineExceeded when options.deadline passes; kInvalidArgument for bad options.
Result<LbfgsResult> MinimizeLbfgs(const Objective& f, const Eigen::VectorXd& x0,
                                  const LbfgsOptions& options);

}  // namespace llmrca::stats
