#include "causal/fci.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/thread_pool.h"

namespace llmrca::causal {
namespace {

// causal-learn's discriminating-path search stops past this distance when max_path_length is
// -1, and so does its possible-d-sep search, which is always called with -1.
constexpr int kUnlimitedPathLength = 1000;

// Deadline checks cost a clock read; an adjacency-search task checks once per this many tests.
constexpr int kTestsPerDeadlineCheck = 64;

// Possible-d-sep subsets tested ahead per thread in one parallel batch.
constexpr size_t kSubsetsPerThread = 16;

bool Contains(std::span<const int> sorted, int v) {
  return std::binary_search(sorted.begin(), sorted.end(), v);
}

// Advances `idx` (strictly increasing positions into n items) to the next combination of the
// same size in lexicographic order, as itertools.combinations and causal-learn's
// ChoiceGenerator; false after the last.
bool NextCombination(std::vector<int>& idx, int n) {
  const int k = static_cast<int>(idx.size());
  for (int i = k - 1; i >= 0; --i) {
    if (idx[static_cast<size_t>(i)] < n - k + i) {
      ++idx[static_cast<size_t>(i)];
      for (int j = i + 1; j < k; ++j) idx[static_cast<size_t>(j)] = idx[static_cast<size_t>(j - 1)] + 1;
      return true;
    }
  }
  return false;
}

// The CI test as causal-learn calls it: p-values are keyed (and computed) with x < y and the
// conditioning set sorted, as its CIT cache does, so the order callers build sets in is moot.
class Tester {
 public:
  Tester(const stats::CiTest& test, double alpha) : test_(test), alpha_(alpha) {}

  // p > alpha: independent.
  Result<bool> Independent(int x, int y, std::vector<int> s) const {
    if (x > y) std::swap(x, y);
    std::sort(s.begin(), s.end());
    LLMRCA_ASSIGN_OR_RETURN(const double p, test_.PValue(x, y, s));
    return p > alpha_;  // a NaN p-value reads as dependent, as in Python
  }

 private:
  const stats::CiTest& test_;
  double alpha_;
};

// causal-learn's sep_sets dict: keyed by the ordered pair, so a set stored under (x, y) is not
// found under (y, x). Sets are kept sorted.
class SepSets {
 public:
  explicit SepSets(int n) : n_(n), sets_(static_cast<size_t>(n) * static_cast<size_t>(n)) {}
  void Set(int x, int y, std::vector<int> s) {
    std::sort(s.begin(), s.end());
    sets_[Index(x, y)] = std::move(s);
  }
  const std::vector<int>* Get(int x, int y) const {
    const std::optional<std::vector<int>>& s = sets_[Index(x, y)];
    return s ? &*s : nullptr;
  }

 private:
  size_t Index(int x, int y) const {
    return static_cast<size_t>(x) * static_cast<size_t>(n_) + static_cast<size_t>(y);
  }
  int n_;
  std::vector<std::optional<std::vector<int>>> sets_;
};

// ---- Adjacency search (causal-learn utils/Fas.py, stable) ---------------------------------

struct PairOutcome {
  bool separated = false;
  std::vector<int> sepset;  // union of every S with x _||_ y | S at this depth, sorted
  Status status;
};

// Tests x _||_ y | S for every S of `depth` nodes from adj(x) \ {y} and from adj(y) \ {x}.
// causal-learn tests all of them, without stopping at the first independence, and keeps the
// union of the separating sets; a set drawn from both neighbourhoods is tested once here.
PairOutcome TestPair(const Tester& tester, const std::vector<int>& adj_x,
                     const std::vector<int>& adj_y, int x, int y, int depth, int n,
                     const Deadline& deadline, std::atomic<bool>& expired) {
  PairOutcome out;
  std::vector<char> in_union(static_cast<size_t>(n), 0);
  int tests = 0;
  auto side = [&](const std::vector<int>& cand, const std::vector<int>* tested) -> Status {
    const int m = static_cast<int>(cand.size());
    if (m < depth) return Status::Ok();
    std::vector<int> idx(static_cast<size_t>(depth));
    for (int i = 0; i < depth; ++i) idx[static_cast<size_t>(i)] = i;
    std::vector<int> s(static_cast<size_t>(depth));
    do {
      for (int i = 0; i < depth; ++i) {
        s[static_cast<size_t>(i)] = cand[static_cast<size_t>(idx[static_cast<size_t>(i)])];
      }
      if (tested != nullptr &&
          std::all_of(s.begin(), s.end(), [&](int v) { return Contains(*tested, v); })) {
        continue;
      }
      if (++tests % kTestsPerDeadlineCheck == 0 && (expired.load() || deadline.Expired())) {
        expired.store(true);
        return Status::DeadlineExceeded("fci: adjacency search: time limit reached");
      }
      LLMRCA_ASSIGN_OR_RETURN(const bool independent, tester.Independent(x, y, s));
      if (independent) {
        out.separated = true;
        for (int v : s) in_union[static_cast<size_t>(v)] = 1;
      }
    } while (NextCombination(idx, m));
    return Status::Ok();
  };
  out.status = side(adj_x, nullptr);
  if (out.status.ok()) out.status = side(adj_y, &adj_x);
  for (size_t v = 0; v < in_union.size(); ++v) {
    if (in_union[v]) out.sepset.push_back(static_cast<int>(v));
  }
  return out;
}

// Removes edges depth by depth (0, 1, ...) while some node has more than `depth` neighbours.
// Within a depth the graph is fixed (stable), so the pairs are independent and run in parallel.
Status AdjacencySearch(const Tester& tester, const FciOptions& o, Graph& g, SepSets& sep) {
  const int n = g.size();
  for (int depth = 0; g.MaxDegree() - 1 > depth - 1; ++depth) {
    if (o.depth >= 0 && depth > o.depth) break;
    LLMRCA_RETURN_IF_ERROR(o.deadline.Check("fci: adjacency search"));
    std::vector<std::vector<int>> adj(static_cast<size_t>(n));
    for (int a = 0; a < n; ++a) adj[static_cast<size_t>(a)] = g.Neighbors(a);
    std::vector<std::pair<int, int>> pairs;
    for (int x = 0; x < n; ++x) {
      for (int y : adj[static_cast<size_t>(x)]) {
        if (y > x) pairs.emplace_back(x, y);
      }
    }
    std::vector<PairOutcome> outcomes(pairs.size());
    std::atomic<bool> expired{false};
    ParallelFor(pairs.size(), o.threads, [&](size_t k) {
      const auto [x, y] = pairs[k];
      std::vector<int> ax, ay;
      for (int v : adj[static_cast<size_t>(x)]) {
        if (v != y) ax.push_back(v);
      }
      for (int v : adj[static_cast<size_t>(y)]) {
        if (v != x) ay.push_back(v);
      }
      outcomes[k] = TestPair(tester, ax, ay, x, y, depth, n, o.deadline, expired);
    });
    // The first failure in pair order, whatever the thread count.
    for (const PairOutcome& out : outcomes) LLMRCA_RETURN_IF_ERROR(out.status);
    for (size_t k = 0; k < pairs.size(); ++k) {
      if (!outcomes[k].separated) continue;
      const auto [x, y] = pairs[k];
      g.RemoveEdge(x, y);
      sep.Set(x, y, outcomes[k].sepset);
      sep.Set(y, x, outcomes[k].sepset);
    }
  }
  return Status::Ok();
}

// ---- Graph predicates in causal-learn's terms ---------------------------------------------

// Every edge becomes o-o (reorientAllWith(CIRCLE)).
void ReorientAllWithCircles(Graph& g) {
  for (int a = 0; a < g.size(); ++a) {
    for (int b = a + 1; b < g.size(); ++b) {
      if (g.Adjacent(a, b)) g.SetEdge(a, b, Mark::kCircle, Mark::kCircle);
    }
  }
}

// is_def_collider(a, b, c): arrowheads at b on both a-b and b-c.
bool IsDefCollider(const Graph& g, int a, int b, int c) {
  return g.Adjacent(a, b) && g.Adjacent(b, c) && g.At(b, a) == Mark::kArrow &&
         g.At(b, c) == Mark::kArrow;
}

// is_arrow_point_allowed(x, y) without background knowledge: an arrowhead may go at y on x-y
// when the mark there is already an arrowhead or a circle.
bool ArrowPointAllowed(const Graph& g, int x, int y) {
  const Mark m = g.At(y, x);
  return m == Mark::kArrow || m == Mark::kCircle;
}

// is_parent_of(a, c): a -> c.
bool IsParent(const Graph& g, int a, int c) {
  return g.At(a, c) == Mark::kTail && g.At(c, a) == Mark::kArrow;
}

// ---- R0: unshielded colliders (rule0) -----------------------------------------------------

// Re-circles every edge, then for each unshielded triple a *-* b *-* c (pairs of b's neighbours
// in index order) orients a *-> b <-* c when the separating set stored under (a, c), a < c,
// exists and lacks b.
void Rule0(Graph& g, const SepSets& sep) {
  ReorientAllWithCircles(g);
  for (int b = 0; b < g.size(); ++b) {
    const std::vector<int> adj = g.Neighbors(b);
    for (size_t i = 0; i < adj.size(); ++i) {
      for (size_t j = i + 1; j < adj.size(); ++j) {
        const int a = adj[i], c = adj[j];
        if (g.Adjacent(a, c) || IsDefCollider(g, a, b, c)) continue;
        const std::vector<int>* s = sep.Get(a, c);
        if (s == nullptr || Contains(*s, b)) continue;
        if (!ArrowPointAllowed(g, a, b) || !ArrowPointAllowed(g, c, b)) continue;
        g.SetMark(b, a, Mark::kArrow);
        g.SetMark(b, c, Mark::kArrow);
      }
    }
  }
}

// ---- Possible-d-sep removal (removeByPossibleDsep) ----------------------------------------

// Whether a semi-directed path leads from `from` to `to`: steps u -> v where the mark at u on
// u-v is a tail or a circle (existsSemiDirectedPath). Memoised per source; the graph must not
// change while one instance is in use.
class SemiDirectedReach {
 public:
  explicit SemiDirectedReach(const Graph& g) : g_(g), reach_(static_cast<size_t>(g.size())) {}
  bool Exists(int from, int to) {
    std::vector<char>& r = reach_[static_cast<size_t>(from)];
    if (r.empty()) {
      r.assign(static_cast<size_t>(g_.size()), 0);
      std::deque<int> queue;
      auto visit = [&](int u) {
        for (int v = 0; v < g_.size(); ++v) {
          if (v == u || !g_.Adjacent(u, v)) continue;
          const Mark m = g_.At(u, v);
          if ((m == Mark::kTail || m == Mark::kCircle) && !r[static_cast<size_t>(v)]) {
            r[static_cast<size_t>(v)] = 1;
            queue.push_back(v);
          }
        }
      };
      visit(from);
      while (!queue.empty()) {
        const int u = queue.front();
        queue.pop_front();
        visit(u);
      }
    }
    return r[static_cast<size_t>(to)] != 0;
  }

 private:
  const Graph& g_;
  std::vector<std::vector<char>> reach_;
};

// causal-learn's getPossibleDsep(x, y, graph, -1). A breadth-first search over pairs; the pair
// it enqueues after (a, b) is (a, c), not (b, c), so `a` stays x and the search reaches the
// neighbours of x and, beyond them, nodes c with x *-> b <-* c. A node is kept when one of the
// nodes it was reached from has a semi-directed path to x or to it. Returned in causal-learn's
// order: descending by node name "X<i+1>" compared as strings.
std::vector<int> PossibleDsep(const Graph& g, int x, int y, const std::vector<int>& name_rank) {
  const int n = g.size();
  std::vector<char> dsep(static_cast<size_t>(n), 0);
  std::vector<std::vector<int>> previous(static_cast<size_t>(n));  // reached-from sets
  std::vector<char> seen(static_cast<size_t>(n) * static_cast<size_t>(n), 0);
  std::deque<std::pair<int, int>> queue;
  std::optional<std::pair<int, int>> level_end;
  int distance = 0;
  auto add_previous = [&](int node, int from) {
    std::vector<int>& p = previous[static_cast<size_t>(node)];
    if (std::find(p.begin(), p.end(), from) == p.end()) p.push_back(from);
  };
  auto enqueue = [&](int a, int b) -> bool {
    char& s = seen[static_cast<size_t>(a) * static_cast<size_t>(n) + static_cast<size_t>(b)];
    if (s) return false;
    s = 1;
    queue.emplace_back(a, b);
    if (!level_end) level_end = std::make_pair(a, b);
    return true;
  };
  for (int b : g.Neighbors(x)) {
    if (b == y) continue;
    enqueue(x, b);
    add_previous(x, b);
    dsep[static_cast<size_t>(b)] = 1;
  }
  SemiDirectedReach reach(g);
  while (!queue.empty()) {
    const auto t = queue.front();
    queue.pop_front();
    if (level_end && *level_end == t) {
      level_end.reset();
      if (++distance > kUnlimitedPathLength) break;
    }
    const auto [a, b] = t;
    // existOnePathWithPossibleParents(previous, b, x, b).
    for (int r : previous[static_cast<size_t>(b)]) {
      if (r == b || r == x) continue;
      if (reach.Exists(r, x) || reach.Exists(r, b)) {
        dsep[static_cast<size_t>(b)] = 1;
        break;
      }
    }
    for (int c : g.Neighbors(b)) {
      if (c == a || c == x || c == y) continue;
      add_previous(c, b);
      if (IsDefCollider(g, a, b, c) || g.Adjacent(a, c)) enqueue(a, c);
    }
  }
  dsep[static_cast<size_t>(x)] = dsep[static_cast<size_t>(y)] = 0;
  std::vector<int> out;
  for (int v = 0; v < n; ++v) {
    if (dsep[static_cast<size_t>(v)]) out.push_back(v);
  }
  std::sort(out.begin(), out.end(), [&](int u, int v) {
    return name_rank[static_cast<size_t>(u)] < name_rank[static_cast<size_t>(v)];
  });
  return out;
}

// Tests x _||_ y | S for the subsets S of `pd` with at least two nodes, by size and then
// lexicographically in pd's order (DepthChoiceGenerator), skipping those inside adj(x) or inside
// adj(y); returns the first separating set, or nullopt. Batches of subsets are tested ahead in
// parallel and read in order, so the answer (and the first error) is the sequential one.
Result<std::optional<std::vector<int>>> FirstSeparatingSubset(const Tester& tester,
                                                              const FciOptions& o,
                                                              const Graph& g, int x, int y,
                                                              const std::vector<int>& pd) {
  const int k = static_cast<int>(pd.size());
  if (k < 2) return std::optional<std::vector<int>>();
  std::vector<int> adj_x = g.Neighbors(x), adj_y = g.Neighbors(y);
  auto inside = [](const std::vector<int>& s, const std::vector<int>& set) {
    return std::all_of(s.begin(), s.end(), [&](int v) { return Contains(set, v); });
  };
  const size_t batch = o.threads <= 1 ? 1 : kSubsetsPerThread * o.threads;
  int size = 2;
  std::vector<int> idx = {0, 1};
  bool exhausted = false;
  std::vector<std::vector<int>> subsets;
  std::vector<Result<bool>> results;
  while (!exhausted) {
    LLMRCA_RETURN_IF_ERROR(o.deadline.Check("fci: possible-d-sep search"));
    subsets.clear();
    while (!exhausted && subsets.size() < batch) {
      std::vector<int> s;
      for (int i : idx) s.push_back(pd[static_cast<size_t>(i)]);
      if (!NextCombination(idx, k)) {
        if (++size > k) {
          exhausted = true;
        } else {
          idx.resize(static_cast<size_t>(size));
          for (int i = 0; i < size; ++i) idx[static_cast<size_t>(i)] = i;
        }
      }
      if (inside(s, adj_x) || inside(s, adj_y)) continue;
      subsets.push_back(std::move(s));
    }
    results.assign(subsets.size(), Result<bool>(false));
    ParallelFor(subsets.size(), o.threads,
                [&](size_t i) { results[i] = tester.Independent(x, y, subsets[i]); });
    for (size_t i = 0; i < subsets.size(); ++i) {
      if (!results[i].ok()) return results[i].status();
      if (*results[i]) return std::optional<std::vector<int>>(subsets[i]);
    }
  }
  return std::optional<std::vector<int>>();
}

// For each edge present after R0 (i < j order; the edge's first node is j when the marks read
// i <-o j, as causal-learn's Edge flips "left-pointing" edges), searches possible-d-sep of its
// first node, then of its second, for a separating set; removes the edge and stores the set
// under (first, second) only.
Status RemoveByPossibleDsep(const Tester& tester, const FciOptions& o, Graph& g, SepSets& sep) {
  const int n = g.size();
  // Node names X1..Xn sorted descending as strings: causal-learn sorts possible-d-sep so.
  std::vector<int> by_name(static_cast<size_t>(n));
  for (int v = 0; v < n; ++v) by_name[static_cast<size_t>(v)] = v;
  std::sort(by_name.begin(), by_name.end(),
            [](int u, int v) { return std::to_string(u + 1) > std::to_string(v + 1); });
  std::vector<int> name_rank(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) name_rank[static_cast<size_t>(by_name[static_cast<size_t>(r)])] = r;

  std::vector<std::pair<int, int>> edges;
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      if (!g.Adjacent(i, j)) continue;
      const bool points_left = g.At(i, j) == Mark::kArrow &&
                               (g.At(j, i) == Mark::kTail || g.At(j, i) == Mark::kCircle);
      edges.push_back(points_left ? std::make_pair(j, i) : std::make_pair(i, j));
    }
  }
  for (const auto& [a, b] : edges) {
    for (const bool from_a : {true, false}) {
      const std::vector<int> pd = from_a ? PossibleDsep(g, a, b, name_rank)
                                         : PossibleDsep(g, b, a, name_rank);
      LLMRCA_ASSIGN_OR_RETURN(const std::optional<std::vector<int>> s,
                              FirstSeparatingSubset(tester, o, g, a, b, pd));
      if (s) {
        g.RemoveEdge(a, b);
        sep.Set(a, b, *s);
        break;
      }
    }
  }
  return Status::Ok();
}

// ---- Orientation rules --------------------------------------------------------------------

// R1: a *-> b o-* c, a and c not adjacent: b -> c.
bool RuleR1(Graph& g, int a, int b, int c) {
  if (g.Adjacent(a, c)) return false;
  if (g.At(b, a) != Mark::kArrow || g.At(b, c) != Mark::kCircle) return false;
  if (!ArrowPointAllowed(g, b, c)) return false;
  g.SetEdge(b, c, Mark::kTail, Mark::kArrow);
  return true;
}

// R2: a -> b *-> c or a *-> b -> c, and a *-o c: a *-> c.
bool RuleR2(Graph& g, int a, int b, int c) {
  if (!g.Adjacent(a, c) || g.At(c, a) != Mark::kCircle) return false;
  if (g.At(b, a) != Mark::kArrow || g.At(c, b) != Mark::kArrow) return false;
  if (g.At(a, b) != Mark::kTail && g.At(b, c) != Mark::kTail) return false;
  if (!ArrowPointAllowed(g, a, c)) return false;
  g.SetMark(c, a, Mark::kArrow);
  return true;
}

// rulesR1R2cycle: for each b, each pair (a, c) of its neighbours in index order, R1 both ways
// and R2 both ways, each seeing the previous ones' changes.
bool RulesR1R2(Graph& g) {
  bool changed = false;
  for (int b = 0; b < g.size(); ++b) {
    const std::vector<int> adj = g.Neighbors(b);
    for (size_t i = 0; i < adj.size(); ++i) {
      for (size_t j = i + 1; j < adj.size(); ++j) {
        const int a = adj[i], c = adj[j];
        changed = RuleR1(g, a, b, c) || changed;
        changed = RuleR1(g, c, b, a) || changed;
        changed = RuleR2(g, a, b, c) || changed;
        changed = RuleR2(g, c, b, a) || changed;
      }
    }
  }
  return changed;
}

// causal-learn's ruleR3 continues unless a is adjacent to d and c is NOT adjacent to d, and
// then requires a circle at d on c-d, which a missing edge never has: it orients nothing. (It
// can only raise KeyError on a one-sided sepset key, see the header.) So R3 is left out.

struct DdpState {
  const Tester& tester;
  const FciOptions& o;
  const SepSets& sep;
};

// doDdpOrientation: d ... a b c is a discriminating path for b. Tests d _||_ c given the path
// nodes behind d (b included) and given them without b; when both are dependent, falls back on
// the stored separating set of (d, c) (no set: no orientation). Independence orients b -> c,
// otherwise a *-> b <-* c. Returns whether it oriented.
Result<bool> DoDdpOrientation(const DdpState& st, Graph& g, int d, int a, int b, int c,
                              const std::vector<int>& previous) {
  std::vector<int> path;
  for (int p = previous[static_cast<size_t>(d)]; p >= 0 && path.size() <= previous.size();
       p = previous[static_cast<size_t>(p)]) {
    path.push_back(p);
  }
  LLMRCA_ASSIGN_OR_RETURN(bool independent, st.tester.Independent(d, c, path));
  std::vector<int> without_b;
  for (int p : path) {
    if (p != b) without_b.push_back(p);
  }
  LLMRCA_ASSIGN_OR_RETURN(const bool independent2, st.tester.Independent(d, c, without_b));
  if (!independent && !independent2) {
    const std::vector<int>* s = st.sep.Get(d, c);
    if (s == nullptr) return false;
    independent = Contains(*s, b);
  }
  if (independent) {
    g.SetMark(b, c, Mark::kTail);
    return true;
  }
  if (!ArrowPointAllowed(g, a, b) || !ArrowPointAllowed(g, c, b)) return false;
  g.SetMark(b, a, Mark::kArrow);
  g.SetMark(b, c, Mark::kArrow);
  return true;
}

// ddpOrient: a breadth-first search back from a for the far end d of a discriminating path
// <d, ..., a, b, c> whose inner nodes are colliders and parents of c. Stops at the first
// orientation. (causal-learn's distance count only ever reaches 1, so max_path_length acts only
// when it is 0.)
Result<bool> DdpOrient(const DdpState& st, Graph& g, int a, int b, int c) {
  const int n = g.size();
  const int limit = st.o.max_path_length == -1 ? kUnlimitedPathLength : st.o.max_path_length;
  std::deque<int> queue = {a};
  std::vector<char> visited(static_cast<size_t>(n), 0);
  visited[static_cast<size_t>(a)] = visited[static_cast<size_t>(b)] = 1;
  std::vector<int> previous(static_cast<size_t>(n), -1);
  previous[static_cast<size_t>(a)] = b;
  const std::vector<int> c_parents = g.Parents(c);
  int level_end = -1, distance = 0;
  while (!queue.empty()) {
    const int t = queue.front();
    queue.pop_front();
    if (level_end == -1 || level_end == t) {
      level_end = t;
      if (++distance > limit) return false;
    }
    for (int d = 0; d < n; ++d) {
      if (d == t || !g.Adjacent(t, d) || g.At(t, d) != Mark::kArrow) continue;  // d *-> t
      if (visited[static_cast<size_t>(d)]) continue;
      previous[static_cast<size_t>(d)] = t;
      if (!IsDefCollider(g, d, t, previous[static_cast<size_t>(t)])) continue;
      if (!g.Adjacent(d, c) && d != c) {
        LLMRCA_ASSIGN_OR_RETURN(const bool oriented, DoDdpOrientation(st, g, d, a, b, c, previous));
        if (oriented) return true;
      }
      if (std::find(c_parents.begin(), c_parents.end(), d) != c_parents.end()) {
        queue.push_back(d);
        visited[static_cast<size_t>(d)] = 1;
      }
    }
  }
  return false;
}

// ruleR4B: for each b, each a with b *-> a and each c with c *-o b (lists taken before any
// change), where a -> c and b *-> c, searches a discriminating path. Returns whether any
// search oriented an edge.
Result<bool> RuleR4(const DdpState& st, Graph& g) {
  const int n = g.size();
  bool changed = false;
  for (int b = 0; b < n; ++b) {
    LLMRCA_RETURN_IF_ERROR(st.o.deadline.Check("fci: discriminating paths"));
    std::vector<int> poss_a, poss_c;
    for (int v = 0; v < n; ++v) {
      if (v == b || !g.Adjacent(b, v)) continue;
      if (g.At(v, b) == Mark::kArrow) poss_a.push_back(v);
      if (g.At(b, v) == Mark::kCircle) poss_c.push_back(v);
    }
    for (int a : poss_a) {
      for (int c : poss_c) {
        if (!IsParent(g, a, c) || g.At(c, b) != Mark::kArrow) continue;
        LLMRCA_ASSIGN_OR_RETURN(const bool oriented, DdpOrient(st, g, a, b, c));
        changed = oriented || changed;
      }
    }
  }
  return changed;
}

Status ValidateOptions(const stats::CiTest& test, const FciOptions& o) {
  if (!(o.alpha > 0 && o.alpha < 1)) {
    return Status::InvalidArgument(fmt::format("fci: alpha must be in (0, 1), got {}", o.alpha));
  }
  if (o.depth < -1) {
    return Status::InvalidArgument(fmt::format("fci: depth must be >= -1, got {}", o.depth));
  }
  if (o.max_path_length < -1) {
    return Status::InvalidArgument(
        fmt::format("fci: max_path_length must be >= -1, got {}", o.max_path_length));
  }
  if (o.threads < 1) return Status::InvalidArgument("fci: threads must be >= 1, got 0");
  if (test.NumVariables() < 0) {
    return Status::InvalidArgument(
        fmt::format("fci: the CI test has {} variables", test.NumVariables()));
  }
  return Status::Ok();
}

}  // namespace

Result<Graph> Fci(const stats::CiTest& test, const FciOptions& options) {
  LLMRCA_RETURN_IF_ERROR(ValidateOptions(test, options));
  LLMRCA_RETURN_IF_ERROR(options.deadline.Check("fci"));
  const int n = test.NumVariables();
  const Tester tester(test, options.alpha);
  SepSets sep(n);
  Graph g = Graph::Complete(n, Mark::kCircle);

  LLMRCA_RETURN_IF_ERROR(AdjacencySearch(tester, options, g, sep));
  Rule0(g, sep);
  LLMRCA_RETURN_IF_ERROR(RemoveByPossibleDsep(tester, options, g, sep));
  Rule0(g, sep);

  // R1/R2 (and the no-op R3) each round; R4 only in a round where they changed something, so
  // the loop ends at the first round in which R1/R2 change nothing.
  const DdpState st{tester, options, sep};
  for (bool changed = true; changed;) {
    LLMRCA_RETURN_IF_ERROR(options.deadline.Check("fci: orientation"));
    changed = RulesR1R2(g);
    if (changed) LLMRCA_RETURN_IF_ERROR(RuleR4(st, g).status());
  }
  return g;
}

}  // namespace llmrca::causal
