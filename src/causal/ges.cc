#include "causal/ges.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <Eigen/LU>
#include <fmt/format.h>

#include "base/thread_pool.h"

namespace llmrca::causal {
namespace {

// Endpoint values as causal-learn stores them in G.graph.
constexpr int8_t kNull = 0;
constexpr int8_t kTail = -1;
constexpr int8_t kArrow = 1;

// causal-learn's starting value of the best score change in each step: an operator is taken
// only if its change is below it.
constexpr double kNoOperator = 1e7;

// How many subsets are scored between two deadline checks.
constexpr int kDeadlineStride = 1024;

// Both scores take logs of (rows - 1) or of a residual variance: fewer rows make no sense.
constexpr Eigen::Index kMinRows = 3;

// Sorted-vector set operations (causal-learn uses numpy's sorted union1d / intersect1d).
std::vector<int> Union(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<int> Intersect(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<int> Difference(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<int> WithElement(std::vector<int> a, int x) {
  auto it = std::lower_bound(a.begin(), a.end(), x);
  if (it == a.end() || *it != x) a.insert(it, x);
  return a;
}

std::vector<int> WithoutElement(std::vector<int> a, int x) {
  auto it = std::lower_bound(a.begin(), a.end(), x);
  if (it != a.end() && *it == x) a.erase(it);
  return a;
}

// A partially directed graph as causal-learn's G.graph: At(a, b) is the mark at a on the edge
// between a and b (kTail, kArrow or kNull).
class Pdag {
 public:
  explicit Pdag(int n) : n_(n), m_(static_cast<size_t>(n) * static_cast<size_t>(n), kNull) {}

  int size() const { return n_; }
  int8_t At(int a, int b) const { return m_[Index(a, b)]; }
  bool Adjacent(int a, int b) const { return At(a, b) != kNull; }
  bool Undirected(int a, int b) const { return At(a, b) == kTail && At(b, a) == kTail; }
  void Set(int a, int b, int8_t at_a, int8_t at_b) {
    m_[Index(a, b)] = at_a;
    m_[Index(b, a)] = at_b;
  }

  // Nodes joined to y by an undirected edge ("neighbours of Xj" in GESUtils).
  std::vector<int> Neighbors(int y) const {
    std::vector<int> out;
    for (int k = 0; k < n_; ++k) {
      if (k != y && Undirected(k, y)) out.push_back(k);
    }
    return out;
  }
  // Nodes adjacent to x by any edge.
  std::vector<int> Adjacents(int x) const {
    std::vector<int> out;
    for (int k = 0; k < n_; ++k) {
      if (k != x && (Adjacent(x, k) || Adjacent(k, x))) out.push_back(k);
    }
    return out;
  }
  // Nodes k with an arrowhead at y on the edge k-y (k -> y): the parents as GES counts them.
  std::vector<int> ArrowsInto(int y) const {
    std::vector<int> out;
    for (int k = 0; k < n_; ++k) {
      if (At(y, k) == kArrow) out.push_back(k);
    }
    return out;
  }
  // Every pair of `nodes` adjacent, whatever the edge (GESUtils.check_clique).
  bool IsClique(const std::vector<int>& nodes) const {
    for (size_t a = 0; a < nodes.size(); ++a) {
      for (size_t b = a + 1; b < nodes.size(); ++b) {
        if (!Adjacent(nodes[a], nodes[b])) return false;
      }
    }
    return true;
  }

  Graph ToGraph() const {
    Graph g(n_);
    for (int a = 0; a < n_; ++a) {
      for (int b = a + 1; b < n_; ++b) {
        if (Adjacent(a, b) || Adjacent(b, a)) {
          g.SetEdge(a, b, static_cast<Mark>(At(a, b)), static_cast<Mark>(At(b, a)));
        }
      }
    }
    return g;
  }

 private:
  size_t Index(int a, int b) const {
    return static_cast<size_t>(a) * static_cast<size_t>(n_) + static_cast<size_t>(b);
  }
  int n_;
  std::vector<int8_t> m_;
};

// ---------------------------------------------------------------------------------------------
// Local scores (lower is better).

// log Gamma without std::lgamma's write to the global `signgam` (scores run on several threads).
double LogGamma(double v) {
  int sign = 0;
  return ::lgamma_r(v, &sign);
}

class LocalScorer {
 public:
  virtual ~LocalScorer() = default;
  // `parents` sorted ascending, without `node`.
  virtual double Compute(int node, const std::vector<int>& parents) const = 0;
};

// causal-learn local_score_BIC_from_cov with parameters {"lambda_value": 2}, on np.corrcoef.
class BicScorer final : public LocalScorer {
 public:
  explicit BicScorer(const Eigen::MatrixXd& data)
      : corr_(Correlation(data)), n_(static_cast<double>(data.rows())) {}

  double Compute(int node, const std::vector<int>& parents) const override {
    const auto k = static_cast<Eigen::Index>(parents.size());
    if (k == 0) return n_ * std::log(corr_(node, node));
    Eigen::MatrixXd xx(k, k);
    Eigen::RowVectorXd yx(k);
    for (Eigen::Index a = 0; a < k; ++a) {
      yx(a) = corr_(node, parents[static_cast<size_t>(a)]);
      for (Eigen::Index b = 0; b < k; ++b) {
        xx(a, b) = corr_(parents[static_cast<size_t>(a)], parents[static_cast<size_t>(b)]);
      }
    }
    // np.linalg.inv (LU with partial pivoting) raises on an exactly zero pivot: not finite here.
    const Eigen::PartialPivLU<Eigen::MatrixXd> lu(xx);
    if ((lu.matrixLU().diagonal().array() == 0.0).any()) return std::nan("");
    const Eigen::RowVectorXd t = yx * lu.inverse();
    const double explained = t.dot(yx);
    const double h = std::log(corr_(node, node) - explained);
    return n_ * h + std::log(n_) * static_cast<double>(k) * kLambda;
  }

 private:
  // causal-learn's penalty discount for ges(score_func='local_score_BIC').
  static constexpr double kLambda = 2.0;

  // np.corrcoef of the columns, in numpy's order of operations: the covariance scaled by
  // 1 / (n - 1), divided by the row's then the column's standard deviation, clipped to [-1, 1].
  static Eigen::MatrixXd Correlation(const Eigen::MatrixXd& data) {
    const Eigen::Index n = data.rows(), p = data.cols();
    Eigen::MatrixXd x = data;
    for (Eigen::Index c = 0; c < p; ++c) {
      x.col(c).array() -= x.col(c).sum() / static_cast<double>(n);
    }
    Eigen::MatrixXd cov(p, p);
    for (Eigen::Index a = 0; a < p; ++a) {
      for (Eigen::Index b = a; b < p; ++b) {
        cov(a, b) = x.col(a).dot(x.col(b));
        cov(b, a) = cov(a, b);
      }
    }
    cov *= 1.0 / static_cast<double>(n - 1);
    const Eigen::VectorXd sd = cov.diagonal().array().sqrt();
    for (Eigen::Index a = 0; a < p; ++a) {
      for (Eigen::Index b = 0; b < p; ++b) {
        cov(a, b) = std::clamp(cov(a, b) / sd(a) / sd(b), -1.0, 1.0);
      }
    }
    return cov;
  }

  Eigen::MatrixXd corr_;
  double n_;
};

// causal-learn local_score_BDeu with its defaults (sample prior 1, structure prior 1, the states
// of a variable = its distinct values).
class BdeuScorer final : public LocalScorer {
 public:
  explicit BdeuScorer(const Eigen::MatrixXd& data)
      : rows_(static_cast<int>(data.rows())),
        codes_(data.rows(), data.cols()),
        states_(static_cast<size_t>(data.cols())) {
    for (Eigen::Index c = 0; c < data.cols(); ++c) {
      std::vector<double> values(data.col(c).begin(), data.col(c).end());
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
      states_[static_cast<size_t>(c)] = static_cast<int>(values.size());
      for (Eigen::Index r = 0; r < data.rows(); ++r) {
        codes_(r, c) = static_cast<int>(std::lower_bound(values.begin(), values.end(), data(r, c)) -
                                        values.begin());
      }
    }
  }

  double Compute(int node, const std::vector<int>& parents) const override {
    double q = 1;  // parent configurations, observed or not
    for (int pa : parents) q *= states_[static_cast<size_t>(pa)];
    const double r = states_[static_cast<size_t>(node)];
    // Rows grouped by parent configuration, then by the node's state (pandas groupby order).
    std::vector<int> order(static_cast<size_t>(rows_));
    std::iota(order.begin(), order.end(), 0);
    auto same_parents = [&](int a, int b) {
      for (int pa : parents) {
        if (codes_(a, pa) != codes_(b, pa)) return false;
      }
      return true;
    };
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      for (int pa : parents) {
        if (codes_(a, pa) != codes_(b, pa)) return codes_(a, pa) < codes_(b, pa);
      }
      if (codes_(a, node) != codes_(b, node)) return codes_(a, node) < codes_(b, node);
      return a < b;
    });
    const double vm = rows_ - 1;
    const auto k = static_cast<double>(parents.size());
    double score =
        k * std::log(kStructurePrior / vm) + (vm - k) * std::log(1 - kStructurePrior / vm);
    const double a_ij = kSamplePrior / q, a_ijk = kSamplePrior / (r * q);
    size_t start = 0;
    while (start < order.size()) {
      size_t end = start;
      double second = 0;
      while (end < order.size() && same_parents(order[start], order[end])) {
        size_t run = end;
        while (run < order.size() && same_parents(order[start], order[run]) &&
               codes_(order[run], node) == codes_(order[end], node)) {
          ++run;
        }
        second += LogGamma(static_cast<double>(run - end) + a_ijk) - LogGamma(a_ijk);
        end = run;
      }
      const double first = LogGamma(a_ij) - LogGamma(static_cast<double>(end - start) + a_ij);
      score += first + second;
      start = end;
    }
    return -score;
  }

 private:
  static constexpr double kSamplePrior = 1;     // causal-learn's default sample_prior
  static constexpr double kStructurePrior = 1;  // causal-learn's default structure_prior

  int rows_;
  Eigen::MatrixXi codes_;  // state index of each value, by sorted distinct values
  std::vector<int> states_;
};

// Memoised local scores keyed by (node, parent set), as causal-learn's LocalScoreClass. A parent
// set's key is its bitmap in a string (no allocation up to 120 variables: short-string
// optimisation). Not thread-safe; Find() may run concurrently with other Find() calls.
class ScoreCache {
 public:
  explicit ScoreCache(int n)
      : bytes_((static_cast<size_t>(n) + 7) / 8), cache_(static_cast<size_t>(n)) {}

  std::string Key(const std::vector<int>& parents) const {
    std::string key(bytes_, '\0');
    for (int p : parents) {
      auto& byte = key[static_cast<size_t>(p) / 8];
      byte = static_cast<char>(static_cast<unsigned char>(byte) | (1u << (p % 8)));
    }
    return key;
  }
  const double* Find(int node, const std::string& key) const {
    const auto& slot = cache_[static_cast<size_t>(node)];
    auto it = slot.find(key);
    return it == slot.end() ? nullptr : &it->second;
  }
  void Insert(int node, std::string key, double score) {
    cache_[static_cast<size_t>(node)].emplace(std::move(key), score);
  }

 private:
  size_t bytes_;
  std::vector<std::unordered_map<std::string, double>> cache_;
};

// ---------------------------------------------------------------------------------------------
// Graph conversions.

// GESUtils.insert_vc2_new: is there a semi-directed path from `from` to `to` (each step u -> c
// or u -- c) whose nodes other than `to` are all outside `blocked`? causal-learn walks every
// simple path depth-first; reachability in the graph without the blocked nodes is the same
// answer.
bool SemiDirectedPath(const Pdag& g, int from, int to, const std::vector<int>& blocked) {
  const int n = g.size();
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (int b : blocked) seen[static_cast<size_t>(b)] = 1;
  std::vector<int> stack = {from};
  seen[static_cast<size_t>(from)] = 1;
  while (!stack.empty()) {
    const int u = stack.back();
    stack.pop_back();
    for (int c = 0; c < n; ++c) {
      if (c == u || !(g.At(c, u) == kArrow || g.Undirected(u, c))) continue;
      if (c == to) return true;
      if (!seen[static_cast<size_t>(c)]) {
        seen[static_cast<size_t>(c)] = 1;
        stack.push_back(c);
      }
    }
  }
  return false;
}

// The nodes reachable from `from` by semi-directed paths (`from` itself only through a cycle).
std::vector<char> Reachable(const Pdag& g, int from) {
  const int n = g.size();
  std::vector<char> seen(static_cast<size_t>(n), 0);
  std::vector<int> stack = {from};
  while (!stack.empty()) {
    const int u = stack.back();
    stack.pop_back();
    for (int c = 0; c < n; ++c) {
      if (c == u || seen[static_cast<size_t>(c)]) continue;
      if (g.At(c, u) == kArrow || g.Undirected(u, c)) {
        seen[static_cast<size_t>(c)] = 1;
        stack.push_back(c);
      }
    }
  }
  return seen;
}

// causal-learn PDAG2DAG.pdag2dag (Dor & Tarsi): repeatedly take, in index order, a node with no
// children among the remaining nodes whose undirected neighbours are adjacent to all its other
// remaining adjacents, and orient its undirected edges into it (an edge already oriented from
// the other side stays as it is).
Result<Pdag> ConsistentExtension(const Pdag& p) {
  const int n = p.size();
  Pdag d(n);
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      if (p.At(a, b) == kTail && p.At(b, a) == kArrow) d.Set(a, b, kTail, kArrow);
    }
  }
  std::vector<char> removed(static_cast<size_t>(n), 0);
  int left = n;
  while (left > 0) {
    bool progress = false;
    for (int i = 0; i < n; ++i) {
      if (removed[static_cast<size_t>(i)]) continue;
      bool sink = true;
      for (int k = 0; k < n && sink; ++k) {
        if (!removed[static_cast<size_t>(k)] && p.At(k, i) == kArrow) sink = false;
      }
      if (!sink) continue;
      std::vector<int> nx, ax;
      for (int k = 0; k < n; ++k) {
        if (k == i || removed[static_cast<size_t>(k)]) continue;
        if (p.Undirected(k, i)) {
          nx.push_back(k);
          ax.push_back(k);
        } else if (p.At(i, k) == kArrow || p.At(k, i) == kArrow) {
          ax.push_back(k);
        }
      }
      bool ok = true;
      for (int y : nx) {
        for (int a : ax) {
          if (a != y && !p.Adjacent(y, a)) ok = false;
        }
      }
      if (!ok) continue;
      for (int k = 0; k < n; ++k) {
        if (k != i && p.Undirected(k, i) && !d.Adjacent(k, i) && !d.Adjacent(i, k)) {
          d.Set(k, i, kTail, kArrow);
        }
      }
      removed[static_cast<size_t>(i)] = 1;
      --left;
      progress = true;
    }
    if (!progress) {
      return Status::Internal(
          "ges: extending the graph to a DAG: the PDAG has no consistent extension");
    }
  }
  return d;
}

// causal-learn DAG2CPDAG.dag2cpdag: Chickering's (1995) edge ordering and compelled/reversible
// labelling, with causal-learn's causal order (GraphUtils.get_causal_order).
Result<Pdag> EssentialGraph(const Pdag& d) {
  const int n = d.size();
  auto is_parent = [&](int a, int b) { return d.At(a, b) == kTail && d.At(b, a) == kArrow; };
  // Causal order: passes over the remaining nodes in index order; a node joins as soon as all its
  // parents have (within the same pass too).
  std::vector<int> order;
  std::vector<char> placed(static_cast<size_t>(n), 0);
  while (static_cast<int>(order.size()) < n) {
    bool progress = false;
    for (int v = 0; v < n; ++v) {
      if (placed[static_cast<size_t>(v)]) continue;
      bool ready = true;
      for (int u = 0; u < n && ready; ++u) {
        if (is_parent(u, v) && !placed[static_cast<size_t>(u)]) ready = false;
      }
      if (ready) {
        order.push_back(v);
        placed[static_cast<size_t>(v)] = 1;
        progress = true;
      }
    }
    if (!progress) return Status::Internal("ges: converting to a CPDAG: the DAG has a cycle");
  }

  int num_edges = 0;
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) num_edges += d.Adjacent(a, b) ? 1 : 0;
  }
  // Order-Edges: y = the lowest node in the order with an unordered edge into it, x = the highest
  // unordered parent of y.
  std::vector<std::pair<int, int>> edges;
  std::vector<int> edge_id(static_cast<size_t>(n) * static_cast<size_t>(n), -1);
  auto id_of = [&](int a, int b) -> int& {
    return edge_id[static_cast<size_t>(a) * static_cast<size_t>(n) + static_cast<size_t>(b)];
  };
  int x = 0, y = 0;
  while (static_cast<int>(edges.size()) < num_edges) {
    for (int pos = n - 1; pos >= 0; --pos) {
      y = order[static_cast<size_t>(pos)];
      bool open = false;
      for (int k = 0; k < n && !open; ++k) open = d.At(y, k) == kArrow && id_of(k, y) < 0;
      if (open) break;
    }
    for (int pos = 0; pos < n; ++pos) {
      x = order[static_cast<size_t>(pos)];
      if (d.At(y, x) == kArrow && id_of(x, y) < 0) break;
    }
    id_of(x, y) = static_cast<int>(edges.size());
    edges.emplace_back(x, y);
  }
  std::vector<std::vector<int>> into(static_cast<size_t>(n));  // edge ids into each node
  for (size_t m = 0; m < edges.size(); ++m) {
    into[static_cast<size_t>(edges[m].second)].push_back(static_cast<int>(m));
  }

  // Find-Compelled: 1 compelled, -1 reversible, 0 unknown; the lowest ordered unknown edge first.
  std::vector<int8_t> label(edges.size(), 0);
  auto label_into = [&](int node, int8_t value, bool only_unknown) {
    for (int m : into[static_cast<size_t>(node)]) {
      if (!only_unknown || label[static_cast<size_t>(m)] == 0)
        label[static_cast<size_t>(m)] = value;
    }
  };
  while (true) {
    int current = -1;
    for (int m = num_edges - 1; m >= 0; --m) {
      if (label[static_cast<size_t>(m)] == 0) {
        current = m;
        break;
      }
    }
    if (current < 0) break;
    const auto [ex, ey] = edges[static_cast<size_t>(current)];
    bool done = false;
    for (int m : into[static_cast<size_t>(ex)]) {
      if (label[static_cast<size_t>(m)] != 1) continue;
      const int w = edges[static_cast<size_t>(m)].first;
      if (d.At(ey, w) != kArrow) {  // w -> x compelled, w not a parent of y
        label_into(ey, 1, /*only_unknown=*/false);
        done = true;
        break;
      }
      label[static_cast<size_t>(id_of(w, ey))] = 1;
    }
    if (done) continue;
    bool compelled = false;  // another parent z of y that is not a parent of x
    for (int z = 0; z < n && !compelled; ++z) {
      compelled =
          z != ex && d.At(ey, z) == kArrow && (d.At(ex, z) == kNull || d.At(ex, z) == kTail);
    }
    const int8_t value = compelled ? 1 : -1;
    label[static_cast<size_t>(current)] = value;
    label_into(ey, value, /*only_unknown=*/true);
  }

  Pdag cpdag(n);
  for (size_t m = 0; m < edges.size(); ++m) {
    const auto [a, b] = edges[m];
    cpdag.Set(a, b, kTail, label[m] == 1 ? kArrow : kTail);
  }
  return cpdag;
}

Result<Pdag> Complete(const Pdag& p) {
  LLMRCA_ASSIGN_OR_RETURN(Pdag dag, ConsistentExtension(p));
  return EssentialGraph(dag);
}

// ---------------------------------------------------------------------------------------------
// The search.

// One operator of a step with y's parent set before and after it: the score change is
// s(y, after) - s(y, before).
struct Candidate {
  int x;
  int y;
  std::vector<int> set;  // T of Insert(x, y, T), H of Delete(x, y, H)
  std::vector<int> after;
  std::vector<int> before;
};

// Calls visit(subset) for every subset of `base` that is a clique of `g`, by size, then in
// lexicographic order of positions (itertools.combinations order). visit returns false to stop.
bool ForEachCliqueSubset(const Pdag& g, const std::vector<int>& base,
                         const std::function<bool(const std::vector<int>&)>& visit) {
  std::vector<int> chosen;
  for (size_t size = 0; size <= base.size(); ++size) {
    bool any = false;
    std::function<bool(size_t)> extend = [&](size_t from) -> bool {
      if (chosen.size() == size) {
        any = true;
        return visit(chosen);
      }
      for (size_t p = from; p + (size - chosen.size()) <= base.size(); ++p) {
        const int v = base[p];
        bool fits = true;
        for (int c : chosen) fits = fits && g.Adjacent(c, v);
        if (!fits) continue;
        chosen.push_back(v);
        const bool go_on = extend(p + 1);
        chosen.pop_back();
        if (!go_on) return false;
      }
      return true;
    };
    if (!extend(0)) return false;
    if (!any) break;  // no clique of this size, so none larger
  }
  return true;
}

// Calls visit(subset) for every subset of `base`, by size, then lexicographically.
bool ForEachSubset(const std::vector<int>& base,
                   const std::function<bool(const std::vector<int>&)>& visit) {
  const size_t n = base.size();
  for (size_t size = 0; size <= n; ++size) {
    std::vector<size_t> pos(size);
    std::iota(pos.begin(), pos.end(), size_t{0});
    std::vector<int> subset(size);
    while (true) {
      for (size_t a = 0; a < size; ++a) subset[a] = base[pos[a]];
      if (!visit(subset)) return false;
      size_t a = size;
      while (a > 0 && pos[a - 1] == n - size + a - 1) --a;
      if (a == 0) break;
      ++pos[a - 1];
      for (size_t b = a; b < size; ++b) pos[b] = pos[b - 1] + 1;
    }
  }
  return true;
}

// The adjacency sets of every node, computed once per step.
struct Neighborhoods {
  explicit Neighborhoods(const Pdag& g) {
    for (int v = 0; v < g.size(); ++v) {
      undirected.push_back(g.Neighbors(v));
      adjacent.push_back(g.Adjacents(v));
      parents.push_back(g.ArrowsInto(v));
    }
  }
  std::vector<std::vector<int>> undirected;  // neighbours by an undirected edge
  std::vector<std::vector<int>> adjacent;    // adjacent by any edge
  std::vector<std::vector<int>> parents;     // k with k -> v
};

class Search {
 public:
  Search(const LocalScorer& scorer, int n, const GesOptions& options)
      : scorer_(scorer), cache_(n), n_(n), options_(options) {}

  Result<Graph> Run() {
    Pdag g(n_);
    double score = 0;
    for (int v = 0; v < n_; ++v) {
      const double s = scorer_.Compute(v, {});
      cache_.Insert(v, cache_.Key({}), s);
      score += s;
    }
    LLMRCA_ASSIGN_OR_RETURN(g, Complete(g));
    for (bool forward : {true, false}) {
      while (true) {
        LLMRCA_RETURN_IF_ERROR(options_.deadline.Check("ges"));
        std::vector<Candidate> candidates;
        LLMRCA_RETURN_IF_ERROR(Collect(g, forward, &candidates));
        const std::vector<double> change = Changes(candidates);
        LLMRCA_RETURN_IF_ERROR(options_.deadline.Check("ges"));
        // causal-learn keeps the first operator with a strictly smaller change below 1e7; NaN
        // never compares smaller there, and we also pass over infinite changes (see ges.h).
        double best_change = kNoOperator;
        const Candidate* best = nullptr;
        for (size_t c = 0; c < candidates.size(); ++c) {
          if (std::isfinite(change[c]) && change[c] < best_change) {
            best_change = change[c];
            best = &candidates[c];
          }
        }
        if (best == nullptr) break;
        const double score_new = score + best_change;
        if (score - score_new <= 0) break;  // causal-learn's stopping test, literally
        forward ? ApplyInsert(*best, &g) : ApplyDelete(*best, &g);
        LLMRCA_ASSIGN_OR_RETURN(g, Complete(g));
        score = score_new;
      }
    }
    return g.ToGraph();
  }

 private:
  bool ParentsAllowed(size_t parents) const {
    // maxP=None is variables / 2 as a float, compared with <=.
    if (options_.max_parents < 0) return 2 * parents <= static_cast<size_t>(n_);
    return parents <= static_cast<size_t>(options_.max_parents);
  }

  // Every valid operator of this step in causal-learn's order: x, then y, then the subset. The
  // x rows are independent and collected on `threads` threads.
  Status Collect(const Pdag& g, bool forward, std::vector<Candidate>* out) const {
    const Neighborhoods nb(g);
    // reach[y][x]: a semi-directed path from y to x with nothing blocked (insertions only).
    std::vector<std::vector<char>> reach(static_cast<size_t>(n_));
    if (forward) {
      for (int y = 0; y < n_; ++y) reach[static_cast<size_t>(y)] = Reachable(g, y);
    }
    std::vector<std::vector<Candidate>> rows(static_cast<size_t>(n_));
    std::vector<Status> status(static_cast<size_t>(n_));
    ParallelFor(static_cast<size_t>(n_), std::max<size_t>(1, options_.threads), [&](size_t x) {
      status[x] = forward ? InsertionsFrom(g, nb, reach, static_cast<int>(x), &rows[x])
                          : DeletionsFrom(g, nb, static_cast<int>(x), &rows[x]);
    });
    for (size_t x = 0; x < rows.size(); ++x) {
      LLMRCA_RETURN_IF_ERROR(status[x]);
      for (Candidate& c : rows[x]) out->push_back(std::move(c));
    }
    return Status::Ok();
  }

  // Insert(x, y, T) for every y not adjacent to x and every valid T (Chickering's Theorem 15):
  // NA_yx ∪ T a clique and every semi-directed path from y to x blocked by NA_yx ∪ T, where
  // NA_yx = neighbours of y adjacent to x and T ⊆ neighbours of y not adjacent to x.
  // y's parent set goes from NA ∪ T ∪ Pa_y to NA ∪ T ∪ Pa_y ∪ {x}.
  Status InsertionsFrom(const Pdag& g, const Neighborhoods& nb,
                        const std::vector<std::vector<char>>& reach, int x,
                        std::vector<Candidate>* out) const {
    LLMRCA_RETURN_IF_ERROR(options_.deadline.Check("ges"));
    const std::vector<int>& adj_x = nb.adjacent[static_cast<size_t>(x)];
    int ticks = 0;
    Status status;
    for (int y = 0; y < n_; ++y) {
      if (x == y || g.Adjacent(x, y) || g.Adjacent(y, x)) continue;
      const std::vector<int>& parents = nb.parents[static_cast<size_t>(y)];
      if (!ParentsAllowed(parents.size())) continue;
      const std::vector<int>& nbr_y = nb.undirected[static_cast<size_t>(y)];
      const std::vector<int> na = Intersect(nbr_y, adj_x);
      if (!g.IsClique(na)) continue;  // then no T gives a clique
      std::vector<int> members;       // T's members must be adjacent to all of NA
      for (int t : Difference(nbr_y, adj_x)) {
        bool fits = true;
        for (int a : na) fits = fits && g.Adjacent(a, t);
        if (fits) members.push_back(t);
      }
      // Blocking only grows with T: no path with NA blocked means none for any T.
      const bool never_path =
          !reach[static_cast<size_t>(y)][static_cast<size_t>(x)] || !SemiDirectedPath(g, y, x, na);
      const std::vector<int> base = Union(na, parents);
      ForEachCliqueSubset(g, members, [&](const std::vector<int>& t) {
        if (++ticks % kDeadlineStride == 0 && options_.deadline.Expired()) {
          status = options_.deadline.Check("ges");
          return false;
        }
        if (!never_path && SemiDirectedPath(g, y, x, Union(na, t))) return true;
        std::vector<int> before = Union(base, t);
        std::vector<int> after = WithElement(before, x);
        out->push_back(Candidate{x, y, t, std::move(after), std::move(before)});
        return true;
      });
      LLMRCA_RETURN_IF_ERROR(status);
    }
    return Status::Ok();
  }

  // Delete(x, y, H) for every edge x -- y or x -> y and every H ⊆ NA_yx with NA_yx \ H a clique.
  // y's parent set goes from (NA \ H) ∪ Pa_y ∪ {x} to the same without x.
  Status DeletionsFrom(const Pdag& g, const Neighborhoods& nb, int x,
                       std::vector<Candidate>* out) const {
    LLMRCA_RETURN_IF_ERROR(options_.deadline.Check("ges"));
    const std::vector<int>& adj_x = nb.adjacent[static_cast<size_t>(x)];
    int ticks = 0;
    Status status;
    for (int y = 0; y < n_; ++y) {
      if (x == y || !(g.Undirected(x, y) || g.At(y, x) == kArrow)) continue;
      const std::vector<int> na = Intersect(nb.undirected[static_cast<size_t>(y)], adj_x);
      const std::vector<int> parents = WithElement(nb.parents[static_cast<size_t>(y)], x);
      const bool na_clique = g.IsClique(na);
      ForEachSubset(na, [&](const std::vector<int>& h) {
        if (++ticks % kDeadlineStride == 0 && options_.deadline.Expired()) {
          status = options_.deadline.Check("ges");
          return false;
        }
        const std::vector<int> rest = Difference(na, h);
        if (!na_clique && !g.IsClique(rest)) return true;
        std::vector<int> before = Union(rest, parents);
        std::vector<int> after = WithoutElement(before, x);
        out->push_back(Candidate{x, y, h, std::move(after), std::move(before)});
        return true;
      });
      LLMRCA_RETURN_IF_ERROR(status);
    }
    return Status::Ok();
  }

  // s(y, after) - s(y, before) of each candidate. Local scores not yet cached are computed once
  // each, on `threads` threads, then cached in candidate order.
  std::vector<double> Changes(const std::vector<Candidate>& candidates) {
    std::vector<double> after(candidates.size()), before(candidates.size());
    struct Job {
      int node;
      const std::vector<int>* parents;
      std::string key;
    };
    std::vector<Job> jobs;
    std::unordered_map<std::string, size_t> job_of;  // node and key -> job
    std::vector<std::pair<double*, size_t>> pending;
    auto lookup = [&](int node, const std::vector<int>& parents, double* out) {
      std::string key = cache_.Key(parents);
      if (const double* s = cache_.Find(node, key)) {
        *out = *s;
        return;
      }
      std::string full = fmt::format("{}:{}", node, key);
      auto [it, inserted] = job_of.emplace(std::move(full), jobs.size());
      if (inserted) jobs.push_back(Job{node, &parents, std::move(key)});
      pending.emplace_back(out, it->second);
    };
    for (size_t c = 0; c < candidates.size(); ++c) {
      lookup(candidates[c].y, candidates[c].after, &after[c]);
      lookup(candidates[c].y, candidates[c].before, &before[c]);
    }
    std::vector<double> computed(jobs.size());
    ParallelFor(jobs.size(), std::max<size_t>(1, options_.threads),
                [&](size_t k) { computed[k] = scorer_.Compute(jobs[k].node, *jobs[k].parents); });
    for (size_t k = 0; k < jobs.size(); ++k) {
      cache_.Insert(jobs[k].node, std::move(jobs[k].key), computed[k]);
    }
    for (const auto& [out, k] : pending) *out = computed[k];
    std::vector<double> change(candidates.size());
    for (size_t c = 0; c < candidates.size(); ++c) change[c] = after[c] - before[c];
    return change;
  }

  // GESUtils.insert: x -> y, and t -> y for every t in T.
  static void ApplyInsert(const Candidate& op, Pdag* g) {
    g->Set(op.x, op.y, kTail, kArrow);
    for (int t : op.set) g->Set(t, op.y, kTail, kArrow);
  }

  // GESUtils.delete: remove x-y, then y -> h and x -> h for every h in H.
  static void ApplyDelete(const Candidate& op, Pdag* g) {
    g->Set(op.x, op.y, kNull, kNull);
    for (int h : op.set) {
      g->Set(op.y, h, kTail, kArrow);
      g->Set(op.x, h, kTail, kArrow);
    }
  }

  const LocalScorer& scorer_;
  ScoreCache cache_;
  int n_;
  const GesOptions& options_;
};

Status CheckData(const Eigen::MatrixXd& data, GesScore score) {
  if (data.rows() < kMinRows) {
    return Status::DataError(
        fmt::format("ges: too few rows: {}, need at least {}", data.rows(), kMinRows));
  }
  for (Eigen::Index c = 0; c < data.cols(); ++c) {
    if (!data.col(c).allFinite()) {
      return Status::DataError(fmt::format("ges: column {} has NaN or infinite values", c));
    }
    if (score == GesScore::kBic && (data.col(c).array() == data(0, c)).all()) {
      return Status::DataError(
          fmt::format("ges: column {} is constant: its correlations are undefined", c));
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<LocalScorer>> MakeScorer(const Eigen::MatrixXd& data, GesScore score) {
  switch (score) {
    case GesScore::kBic:
      LLMRCA_RETURN_IF_ERROR(CheckData(data, score));
      return std::unique_ptr<LocalScorer>(std::make_unique<BicScorer>(data));
    case GesScore::kBdeu:
      LLMRCA_RETURN_IF_ERROR(CheckData(data, score));
      return std::unique_ptr<LocalScorer>(std::make_unique<BdeuScorer>(data));
  }
  return Status::InvalidArgument(fmt::format("ges: unknown score: {}", static_cast<int>(score)));
}

}  // namespace

Result<Graph> Ges(const Eigen::MatrixXd& data, const GesOptions& options) {
  if (options.max_parents < -1) {
    return Status::InvalidArgument(
        fmt::format("ges: max_parents must be -1 or >= 0, got {}", options.max_parents));
  }
  LLMRCA_ASSIGN_OR_RETURN(std::unique_ptr<LocalScorer> scorer, MakeScorer(data, options.score));
  Search search(*scorer, static_cast<int>(data.cols()), options);
  return search.Run();
}

Result<double> GesLocalScore(const Eigen::MatrixXd& data, int node, std::span<const int> parents,
                             GesScore score) {
  const auto n = static_cast<int>(data.cols());
  if (node < 0 || node >= n) {
    return Status::InvalidArgument(fmt::format("ges: node {} out of range [0, {})", node, n));
  }
  std::vector<int> sorted(parents.begin(), parents.end());
  std::sort(sorted.begin(), sorted.end());
  for (size_t a = 0; a < sorted.size(); ++a) {
    if (sorted[a] < 0 || sorted[a] >= n || sorted[a] == node ||
        (a > 0 && sorted[a] == sorted[a - 1])) {
      return Status::InvalidArgument(
          fmt::format("ges: bad parent {} of node {} ({} variables)", sorted[a], node, n));
    }
  }
  LLMRCA_ASSIGN_OR_RETURN(std::unique_ptr<LocalScorer> scorer, MakeScorer(data, score));
  return scorer->Compute(node, sorted);
}

}  // namespace llmrca::causal
