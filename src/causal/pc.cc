#include "causal/pc.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "base/thread_pool.h"

namespace llmrca::causal {
namespace {

using Triple = std::array<int, 3>;
using KiteQuad = std::array<int, 4>;

// A worker looks at the deadline before its first CI test and then every this many tests
// (reading the clock costs about a tenth of a Fisher-z test).
constexpr int kDeadlineStride = 16;
// maxP enumerates every subset of a node's neighbours: 2^30 CI tests is already beyond reach.
constexpr int kMaxNeighborsForMaxP = 30;

// ---- causal-learn's GeneralGraph, reduced to what PC does with it ----------------------------

// The endpoint matrix (graph[i][j] = mark at i on the edge i-j: -1 tail, 1 arrow, 0 none) plus
// causal-learn's `dpath` ancestor table, kept exactly as GeneralGraph keeps it: add_edge of a
// directed edge updates it incrementally (adjust_dpath, which does not close it transitively) and
// removing a directed edge rebuilds it from the remaining edges (reconstitute_dpath). The Meek
// rules consult it through is_ancestor_of, so its incompleteness shapes the result.
class EndpointGraph {
 public:
  explicit EndpointGraph(int n)
      : n_(n),
        g_(static_cast<size_t>(n) * static_cast<size_t>(n), 0),
        dpath_(static_cast<size_t>(n) * static_cast<size_t>(n), 0) {
    for (int i = 0; i < n; ++i) dpath_[Idx(i, i)] = 1;
  }

  int size() const { return n_; }
  int At(int i, int j) const { return g_[Idx(i, j)]; }
  bool Adjacent(int i, int j) const { return At(i, j) != 0; }
  // i -> j
  bool FullyDirected(int i, int j) const { return At(i, j) == -1 && At(j, i) == 1; }
  bool Undirected(int i, int j) const { return At(i, j) == -1 && At(j, i) == -1; }
  // is_ancestor_of(a, b): dpath[b, a].
  bool AncestorOf(int a, int b) const { return dpath_[Idx(b, a)] != 0; }

  void SetUndirected(int i, int j) { g_[Idx(i, j)] = g_[Idx(j, i)] = -1; }

  // remove_edge(get_edge(i, j)): nothing without an edge; a directed edge's removal rebuilds the
  // ancestor table from the edges left.
  void RemoveEdge(int i, int j) {
    if (!Adjacent(i, j)) return;
    const bool directed = FullyDirected(i, j) || FullyDirected(j, i);
    g_[Idx(i, j)] = g_[Idx(j, i)] = 0;
    if (directed) ReconstituteAncestors();
  }
  // add_edge(Edge(i, j, TAIL, ARROW)). causal-learn refuses it when i and j are adjacent; PC only
  // adds an edge it has just removed, so that case (and its bidirected-plus-directed codes 4/5)
  // never arises.
  void AddDirected(int i, int j) {
    if (Adjacent(i, j)) return;
    g_[Idx(i, j)] = -1;
    g_[Idx(j, i)] = 1;
    AdjustAncestors(i, j);
  }
  // add_edge(Edge(i, j, ARROW, ARROW)); the ancestor table is untouched.
  void AddBidirected(int i, int j) {
    if (Adjacent(i, j)) return;
    g_[Idx(i, j)] = g_[Idx(j, i)] = 1;
  }

  Graph ToGraph() const {
    Graph out(n_);
    for (int a = 0; a < n_; ++a) {
      for (int b = a + 1; b < n_; ++b) {
        if (Adjacent(a, b)) out.SetEdge(a, b, static_cast<Mark>(At(a, b)), static_cast<Mark>(At(b, a)));
      }
    }
    return out;
  }

 private:
  size_t Idx(int i, int j) const {
    return static_cast<size_t>(i) * static_cast<size_t>(n_) + static_cast<size_t>(j);
  }

  // adjust_dpath(i, j) for a new edge i -> j: i becomes an ancestor of j, the ancestors of i
  // ancestors of j, and i an ancestor of j's descendants (but not i's ancestors).
  void AdjustAncestors(int i, int j) {
    dpath_[Idx(j, i)] = 1;
    for (int k = 0; k < n_; ++k) {
      if (dpath_[Idx(i, k)]) dpath_[Idx(j, k)] = 1;
      if (dpath_[Idx(k, j)]) dpath_[Idx(k, i)] = 1;
    }
  }

  // reconstitute_dpath(get_graph_edges()): the identity, then adjust_dpath for every directed
  // edge, popping the (i < j, row-major) edge list from its end.
  void ReconstituteAncestors() {
    std::fill(dpath_.begin(), dpath_.end(), 0);
    for (int i = 0; i < n_; ++i) dpath_[Idx(i, i)] = 1;
    std::vector<std::pair<int, int>> edges;
    for (int i = 0; i < n_; ++i) {
      for (int j = i + 1; j < n_; ++j) {
        const int m = At(j, i);
        if (m == 1 || m == -1 || m == 2) edges.emplace_back(i, j);
      }
    }
    for (auto it = edges.rbegin(); it != edges.rend(); ++it) {
      const auto [i, j] = *it;
      if (FullyDirected(i, j)) {
        AdjustAncestors(i, j);
      } else if (FullyDirected(j, i)) {
        AdjustAncestors(j, i);
      }
    }
  }

  int n_;
  std::vector<int8_t> g_;
  std::vector<uint8_t> dpath_;
};

// CausalGraph.find_adj: the ordered adjacent pairs (b, a) for every tail mark graph[a][b] == -1
// in row-major order, then for every arrowhead graph[a][b] == 1. Each ordered pair occurs once.
std::vector<std::pair<int, int>> FindAdjacencies(const EndpointGraph& g) {
  std::vector<std::pair<int, int>> out;
  for (int mark : {-1, 1}) {
    for (int a = 0; a < g.size(); ++a) {
      for (int b = 0; b < g.size(); ++b) {
        if (g.At(a, b) == mark) out.emplace_back(b, a);
      }
    }
  }
  return out;
}

// Positions in `adj` grouped by the pair's first node, ascending.
std::vector<std::vector<size_t>> PositionsByFirst(const std::vector<std::pair<int, int>>& adj,
                                                  int n) {
  std::vector<std::vector<size_t>> by_first(static_cast<size_t>(n));
  for (size_t q = 0; q < adj.size(); ++q) by_first[static_cast<size_t>(adj[q].first)].push_back(q);
  return by_first;
}

// (a, b, c) for every ordered pair of positions (p, q) of find_adj with adj[p] = (a, b),
// adj[q] = (b, c), a != c, and a, c adjacent (`shielded`) or not, in permutation order.
std::vector<Triple> Triples(const EndpointGraph& g, bool shielded) {
  const std::vector<std::pair<int, int>> adj = FindAdjacencies(g);
  const std::vector<std::vector<size_t>> by_first = PositionsByFirst(adj, g.size());
  std::vector<Triple> out;
  for (const auto& [a, b] : adj) {
    for (size_t q : by_first[static_cast<size_t>(b)]) {
      const int c = adj[q].second;
      if (a != c && g.Adjacent(a, c) == shielded) out.push_back({a, b, c});
    }
  }
  return out;
}

// find_unshielded_triples.
std::vector<Triple> UnshieldedTriples(const EndpointGraph& g) { return Triples(g, false); }

// find_triangles: causal-learn asks whether c is adjacent to a; adjacency is symmetric.
std::vector<Triple> Triangles(const EndpointGraph& g) { return Triples(g, true); }

// find_kites: (i, j, k, l) for every ordered pair of triangles (i, j, l), (i, k, l) with j < k
// and j, k not adjacent, in permutation order.
std::vector<KiteQuad> Kites(const EndpointGraph& g, const std::vector<Triple>& triangles) {
  std::map<std::pair<int, int>, std::vector<size_t>> by_ends;
  for (size_t q = 0; q < triangles.size(); ++q) {
    by_ends[{triangles[q][0], triangles[q][2]}].push_back(q);
  }
  std::vector<KiteQuad> out;
  for (size_t p = 0; p < triangles.size(); ++p) {
    const Triple& t = triangles[p];
    for (size_t q : by_ends[{t[0], t[2]}]) {
      const Triple& u = triangles[q];
      if (q != p && t[1] < u[1] && !g.Adjacent(t[1], u[1])) out.push_back({t[0], t[1], u[1], t[2]});
    }
  }
  return out;
}

// ---- Skeleton --------------------------------------------------------------------------------

struct Skeleton {
  int n = 0;
  std::vector<uint8_t> adjacent;  // n x n, symmetric
  // For each removed pair (index min * n + max): every node in any separating set the search
  // recorded for it, sorted. causal-learn keeps a list of sets per pair, but uc_sepset only asks
  // whether a node is in one of them.
  std::vector<std::vector<int>> sepset;

  bool Adjacent(int a, int b) const {
    return adjacent[static_cast<size_t>(a) * static_cast<size_t>(n) + static_cast<size_t>(b)] != 0;
  }
  void Remove(int a, int b) {
    adjacent[static_cast<size_t>(a) * static_cast<size_t>(n) + static_cast<size_t>(b)] = 0;
    adjacent[static_cast<size_t>(b) * static_cast<size_t>(n) + static_cast<size_t>(a)] = 0;
  }
  std::vector<int>& Sepset(int a, int b) {
    return sepset[static_cast<size_t>(std::min(a, b)) * static_cast<size_t>(n) +
                  static_cast<size_t>(std::max(a, b))];
  }
  bool InSepset(int a, int b, int v) const {
    const std::vector<int>& s = sepset[static_cast<size_t>(std::min(a, b)) * static_cast<size_t>(n) +
                                       static_cast<size_t>(std::max(a, b))];
    return std::binary_search(s.begin(), s.end(), v);
  }
  std::vector<int> Neighbors(int a) const {
    std::vector<int> out;
    for (int b = 0; b < n; ++b) {
      if (Adjacent(a, b)) out.push_back(b);
    }
    return out;
  }
  int MaxDegree() const {
    int best = 0;
    for (int a = 0; a < n; ++a) {
      int d = 0;
      for (int b = 0; b < n; ++b) d += Adjacent(a, b) ? 1 : 0;
      best = std::max(best, d);
    }
    return best;
  }
};

// Calls fn(S) for the size-k subsets S of `pool` in itertools.combinations order (pool ascending,
// so each S is ascending) until fn returns false.
template <typename Fn>
void ForEachCombination(const std::vector<int>& pool, int k, Fn&& fn) {
  const int m = static_cast<int>(pool.size());
  if (k > m) return;
  std::vector<int> idx(static_cast<size_t>(k));
  std::vector<int> set(static_cast<size_t>(k));
  for (int i = 0; i < k; ++i) idx[static_cast<size_t>(i)] = i;
  while (true) {
    for (int i = 0; i < k; ++i) set[static_cast<size_t>(i)] = pool[static_cast<size_t>(idx[static_cast<size_t>(i)])];
    if (!fn(set)) return;
    int i = k - 1;
    while (i >= 0 && idx[static_cast<size_t>(i)] == m - k + i) --i;
    if (i < 0) return;
    ++idx[static_cast<size_t>(i)];
    for (int j = i + 1; j < k; ++j) idx[static_cast<size_t>(j)] = idx[static_cast<size_t>(j - 1)] + 1;
  }
}

// Lowers `target` to `value` if smaller.
void AtomicMin(std::atomic<size_t>& target, size_t value) {
  size_t current = target.load();
  while (value < current && !target.compare_exchange_weak(current, value)) {
  }
}

Status DeadlineStatus() { return Status::DeadlineExceeded("pc: time limit reached"); }

// One depth level of the stable search (SkeletonDiscovery with stable=True): on the graph as it
// stands at the start of the level, every ordered adjacent pair (x, y) is tested given every set
// of `depth` other neighbours of x; any p > alpha marks the edge for removal after the level and
// adds that set's nodes to the pair's separating nodes (the union over sets and over both
// directions). causal-learn tests (x, y | S) and (y, x | S) separately and answers the second
// from its p-value cache; here each unordered pair is one task that tests the union of both
// sides' sets once. Pairs run in parallel; results land in per-pair slots.
Status StableLevel(const stats::CiTest& test, const PcOptions& options, int depth, Skeleton& sk) {
  const int n = sk.n;
  std::vector<std::vector<int>> neighbors(static_cast<size_t>(n));
  for (int x = 0; x < n; ++x) neighbors[static_cast<size_t>(x)] = sk.Neighbors(x);
  std::vector<std::pair<int, int>> pairs;
  for (int x = 0; x < n; ++x) {
    for (int y : neighbors[static_cast<size_t>(x)]) {
      if (x < y) pairs.emplace_back(x, y);
    }
  }
  struct PairResult {
    bool removed = false;
    std::vector<int> separating;
    Status status;
  };
  std::vector<PairResult> results(pairs.size());
  // Lowest pair index that failed; pairs above it may stop early, pairs below run to the end, so
  // the error reported is the first in pair order whatever the thread count.
  std::atomic<size_t> first_failure{pairs.size()};
  ParallelFor(pairs.size(), std::max<size_t>(1, options.threads), [&](size_t t) {
    if (t > first_failure.load(std::memory_order_relaxed)) return;
    const auto [x, y] = pairs[t];
    const std::vector<int>& nx = neighbors[static_cast<size_t>(x)];
    std::vector<int> pool_x, pool_y;
    for (int v : nx) {
      if (v != y) pool_x.push_back(v);
    }
    for (int v : neighbors[static_cast<size_t>(y)]) {
      if (v != x) pool_y.push_back(v);
    }
    PairResult& r = results[t];
    int tests = 0;
    // Returns false to stop the enumeration.
    auto run = [&](std::span<const int> s) {
      if (tests++ % kDeadlineStride == 0) {
        if (t > first_failure.load(std::memory_order_relaxed)) return false;
        if (options.deadline.Expired()) {
          r.status = DeadlineStatus();
          AtomicMin(first_failure, t);
          return false;
        }
      }
      Result<double> p = test.PValue(x, y, s);
      if (!p.ok()) {
        r.status = p.status().WithPrefix("pc");
        AtomicMin(first_failure, t);
        return false;
      }
      if (*p > options.alpha) {
        r.removed = true;
        r.separating.insert(r.separating.end(), s.begin(), s.end());
      }
      return true;
    };
    bool go_on = true;
    ForEachCombination(pool_x, depth, [&](std::span<const int> s) { return go_on = run(s); });
    if (go_on) {
      // y's sets, except those x's side has already tested (all members neighbours of x).
      ForEachCombination(pool_y, depth, [&](std::span<const int> s) {
        const bool seen = std::all_of(s.begin(), s.end(), [&](int v) {
          return std::binary_search(nx.begin(), nx.end(), v);
        });
        return seen || run(s);
      });
    }
    std::sort(r.separating.begin(), r.separating.end());
    r.separating.erase(std::unique(r.separating.begin(), r.separating.end()), r.separating.end());
  });
  for (const PairResult& r : results) {
    if (!r.status.ok()) return r.status;
  }
  for (size_t t = 0; t < pairs.size(); ++t) {
    if (!results[t].removed) continue;
    const auto [x, y] = pairs[t];
    sk.Remove(x, y);
    sk.Sepset(x, y) = std::move(results[t].separating);
  }
  return Status::Ok();
}

// One depth level of the original, order-dependent search (stable=False), sequential: x's
// neighbours are read once when x's turn comes, an edge goes as soon as a set separates it, and
// that first set is its separating set. As in causal-learn, later y of the same x still draw
// their conditioning sets from x's neighbours as read at the start of x's turn.
Status UnstableLevel(const stats::CiTest& test, const PcOptions& options, int depth, Skeleton& sk) {
  for (int x = 0; x < sk.n; ++x) {
    const std::vector<int> neighbors = sk.Neighbors(x);
    for (int y : neighbors) {
      std::vector<int> pool;
      for (int v : neighbors) {
        if (v != y) pool.push_back(v);
      }
      Status status;
      int tests = 0;
      ForEachCombination(pool, depth, [&](std::span<const int> s) {
        if (tests++ % kDeadlineStride == 0 && options.deadline.Expired()) {
          status = DeadlineStatus();
          return false;
        }
        Result<double> p = test.PValue(x, y, s);
        if (!p.ok()) {
          status = p.status().WithPrefix("pc");
          return false;
        }
        if (*p > options.alpha) {
          sk.Remove(x, y);
          sk.Sepset(x, y).assign(s.begin(), s.end());
          return false;
        }
        return true;
      });
      LLMRCA_RETURN_IF_ERROR(status);
    }
  }
  return Status::Ok();
}

// SkeletonDiscovery.skeleton_discovery: depth 0, 1, ... while some node has more than depth + 1
// neighbours (and, here, up to options.depth).
Result<Skeleton> DiscoverSkeleton(const stats::CiTest& test, const PcOptions& options) {
  Skeleton sk;
  sk.n = test.NumVariables();
  const size_t cells = static_cast<size_t>(sk.n) * static_cast<size_t>(sk.n);
  sk.adjacent.assign(cells, 1);
  for (int a = 0; a < sk.n; ++a) {
    sk.adjacent[static_cast<size_t>(a) * static_cast<size_t>(sk.n) + static_cast<size_t>(a)] = 0;
  }
  sk.sepset.resize(cells);
  int depth = -1;
  while (sk.MaxDegree() - 1 > depth && (options.depth < 0 || depth < options.depth)) {
    ++depth;
    if (options.deadline.Expired()) return DeadlineStatus();
    if (options.stable) {
      LLMRCA_RETURN_IF_ERROR(StableLevel(test, options, depth, sk));
    } else {
      LLMRCA_RETURN_IF_ERROR(UnstableLevel(test, options, depth, sk));
    }
  }
  return sk;
}

// ---- Conditioning sets of maxP ---------------------------------------------------------------

// What maxP-style rules need to know about x _||_ z | S over causal-learn's find_cond_sets(x, z)
// (every subset of x's neighbours and every subset of z's, each once), split by whether S holds
// the middle node y.
struct CondSetScan {
  double max_with = 0;     // largest p over sets holding y
  double max_without = 0;  // largest p over sets without y
  bool any_with_above = false;     // some set holding y has p > alpha
  bool any_without_above = false;  // some set without y has p > alpha
  Status status;
};

// Scans the conditioning sets of the triple (x, y, z). With `stop_when_both_above`, stops once
// both any_* flags are set (definite maxP's breaks; the maxima are then incomplete but unused).
CondSetScan ScanCondSets(const stats::CiTest& test, const PcOptions& options,
                         const std::vector<int>& nx, const std::vector<int>& nz, Triple t,
                         bool stop_when_both_above) {
  CondSetScan scan;
  if (nx.size() > static_cast<size_t>(kMaxNeighborsForMaxP) ||
      nz.size() > static_cast<size_t>(kMaxNeighborsForMaxP)) {
    scan.status = Status::DataError(fmt::format(
        "pc: maxP would test every subset of {} neighbours of node {} or {}; at most {} are "
        "supported",
        std::max(nx.size(), nz.size()), t[0], t[2], kMaxNeighborsForMaxP));
    return scan;
  }
  const int x = t[0], y = t[1], z = t[2];
  std::vector<int> s;
  int tests = 0;
  // Returns false to stop.
  auto visit = [&]() {
    if (tests++ % kDeadlineStride == 0 && options.deadline.Expired()) {
      scan.status = DeadlineStatus();
      return false;
    }
    Result<double> p = test.PValue(x, z, s);
    if (!p.ok()) {
      scan.status = p.status().WithPrefix("pc");
      return false;
    }
    const bool with = std::find(s.begin(), s.end(), y) != s.end();
    double& best = with ? scan.max_with : scan.max_without;
    best = std::max(best, *p);
    if (*p > options.alpha) (with ? scan.any_with_above : scan.any_without_above) = true;
    return !(stop_when_both_above && scan.any_with_above && scan.any_without_above);
  };
  const uint64_t x_subsets = uint64_t{1} << nx.size();
  for (uint64_t mask = 0; mask < x_subsets; ++mask) {
    s.clear();
    for (size_t i = 0; i < nx.size(); ++i) {
      if (mask >> i & 1) s.push_back(nx[i]);
    }
    if (!visit()) return scan;
  }
  // Subsets of z's neighbours that are not also subsets of x's.
  uint64_t outside_x = 0;
  for (size_t i = 0; i < nz.size(); ++i) {
    if (!std::binary_search(nx.begin(), nx.end(), nz[i])) outside_x |= uint64_t{1} << i;
  }
  const uint64_t z_subsets = uint64_t{1} << nz.size();
  for (uint64_t mask = 0; mask < z_subsets; ++mask) {
    if ((mask & outside_x) == 0) continue;
    s.clear();
    for (size_t i = 0; i < nz.size(); ++i) {
      if (mask >> i & 1) s.push_back(nz[i]);
    }
    if (!visit()) return scan;
  }
  return scan;
}

// Scans the given triples in parallel (one slot each); the first failure in triple order wins.
Result<std::vector<CondSetScan>> ScanTriples(const stats::CiTest& test, const PcOptions& options,
                                             const EndpointGraph& g,
                                             const std::vector<Triple>& triples,
                                             bool stop_when_both_above) {
  std::vector<std::vector<int>> neighbors(static_cast<size_t>(g.size()));
  for (int a = 0; a < g.size(); ++a) {
    for (int b = 0; b < g.size(); ++b) {
      if (g.Adjacent(a, b)) neighbors[static_cast<size_t>(a)].push_back(b);
    }
  }
  std::vector<CondSetScan> scans(triples.size());
  ParallelFor(triples.size(), std::max<size_t>(1, options.threads), [&](size_t i) {
    const Triple& t = triples[i];
    scans[i] = ScanCondSets(test, options, neighbors[static_cast<size_t>(t[0])],
                            neighbors[static_cast<size_t>(t[2])], t, stop_when_both_above);
  });
  for (const CondSetScan& s : scans) {
    if (!s.status.ok()) return s.status;
  }
  return scans;
}

// ---- Unshielded colliders --------------------------------------------------------------------

// Orients x -> y <- z the way uc_sepset / maxp do under priority 0, 1 and 2.
void OrientCollider(EndpointGraph& g, int x, int y, int z, int priority) {
  if (priority == 0) {
    // Overwrite whatever is there.
    g.RemoveEdge(x, y);
    g.AddDirected(x, y);
    g.RemoveEdge(y, z);
    g.AddDirected(z, y);
  } else if (priority == 1) {
    // An undirected edge becomes directed into y, one out of y becomes bidirected.
    for (int a : {x, z}) {
      if (!g.Adjacent(a, y)) {
        g.AddDirected(a, y);
      } else if (g.Undirected(a, y)) {
        g.RemoveEdge(a, y);
        g.AddDirected(a, y);
      } else if (g.FullyDirected(y, a)) {
        g.RemoveEdge(a, y);
        g.AddBidirected(a, y);
      }
    }
  } else if (!g.FullyDirected(y, x) && !g.FullyDirected(y, z)) {
    // Priority 2 and the ordered passes of 3 and 4: only if neither edge points out of y. The
    // edges are removed and added again even when already oriented (which rebuilds dpath).
    g.RemoveEdge(x, y);
    g.AddDirected(x, y);
    g.RemoveEdge(z, y);
    g.AddDirected(z, y);
  }
}

// Orients the triples of `order` whose value is recorded, by ascending value (priority 3) or
// descending (priority 4), stably, as sort_dict_ascending; priority 2 keeps the order given.
// Appends the triples it orients to `oriented` when not null.
void OrientByStrength(EndpointGraph& g, std::vector<std::pair<Triple, double>> dict, int priority,
                      std::vector<Triple>* oriented) {
  if (priority == 3) {
    std::stable_sort(dict.begin(), dict.end(),
                     [](const auto& a, const auto& b) { return a.second < b.second; });
  } else if (priority == 4) {
    std::stable_sort(dict.begin(), dict.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
  }
  for (const auto& [t, value] : dict) {
    if (!g.FullyDirected(t[1], t[0]) && !g.FullyDirected(t[1], t[2])) {
      OrientCollider(g, t[0], t[1], t[2], 2);
      if (oriented != nullptr) oriented->push_back(t);
    }
  }
}

std::vector<Triple> OrderedTriples(const EndpointGraph& g) {
  std::vector<Triple> out;
  for (const Triple& t : UnshieldedTriples(g)) {
    if (t[0] < t[2]) out.push_back(t);
  }
  return out;
}

// UCSepset.uc_sepset: x - y - z (x < z) is a collider when y is in none of the separating sets
// recorded for x and z.
Status UcSepset(const stats::CiTest& test, const PcOptions& options, const Skeleton& sk,
                int priority, EndpointGraph& g) {
  const std::vector<Triple> triples = OrderedTriples(g);
  std::vector<Triple> candidates;
  for (const Triple& t : triples) {
    if (sk.InSepset(t[0], t[2], t[1])) continue;
    if (priority <= 2) {
      OrientCollider(g, t[0], t[1], t[2], priority);
    } else {
      candidates.push_back(t);
    }
  }
  if (priority <= 2) return Status::Ok();
  // 3: by the largest p of x, z given a set holding y, ascending; 4: given a set without y,
  // descending.
  LLMRCA_ASSIGN_OR_RETURN(const std::vector<CondSetScan> scans,
                          ScanTriples(test, options, g, candidates, false));
  std::vector<std::pair<Triple, double>> dict;
  for (size_t i = 0; i < candidates.size(); ++i) {
    dict.emplace_back(candidates[i], priority == 3 ? scans[i].max_with : scans[i].max_without);
  }
  OrientByStrength(g, std::move(dict), priority, nullptr);
  return Status::Ok();
}

// UCSepset.maxp: a collider when the largest p given a set without y beats the largest given a
// set with y.
Status MaxP(const stats::CiTest& test, const PcOptions& options, int priority, EndpointGraph& g) {
  const std::vector<Triple> triples = OrderedTriples(g);
  LLMRCA_ASSIGN_OR_RETURN(const std::vector<CondSetScan> scans,
                          ScanTriples(test, options, g, triples, false));
  std::vector<std::pair<Triple, double>> dict;
  for (size_t i = 0; i < triples.size(); ++i) {
    const Triple& t = triples[i];
    if (!(scans[i].max_without > scans[i].max_with)) continue;
    if (priority <= 2) {
      OrientCollider(g, t[0], t[1], t[2], priority);
    } else {
      dict.emplace_back(t, priority == 3 ? scans[i].max_with : scans[i].max_without);
    }
  }
  if (priority >= 3) OrientByStrength(g, std::move(dict), priority, nullptr);
  return Status::Ok();
}

struct DefiniteTriples {
  std::vector<Triple> colliders;      // definite_UC
  std::vector<Triple> non_colliders;  // definite_non_UC
};

// UCSepset.definite_maxp: a collider only if no set holding y separates x and z; a definite
// non-collider if no set without y does, or none with y does not either but the maxima say so.
Result<DefiniteTriples> DefiniteMaxP(const stats::CiTest& test, const PcOptions& options,
                                     int priority, EndpointGraph& g) {
  const std::vector<Triple> triples = OrderedTriples(g);
  LLMRCA_ASSIGN_OR_RETURN(const std::vector<CondSetScan> scans,
                          ScanTriples(test, options, g, triples, true));
  DefiniteTriples out;
  std::vector<std::pair<Triple, double>> dict;
  for (size_t i = 0; i < triples.size(); ++i) {
    const CondSetScan& s = scans[i];
    const bool uc = !s.any_with_above;
    const bool nuc = !s.any_without_above;
    const double value = priority == 4 ? s.max_without : s.max_with;
    if (uc) {
      if (nuc && !(s.max_without > s.max_with)) {
        out.non_colliders.push_back(triples[i]);
      } else {
        dict.emplace_back(triples[i], value);
      }
    } else if (nuc) {
      out.non_colliders.push_back(triples[i]);
    }
  }
  OrientByStrength(g, std::move(dict), priority, &out.colliders);
  return out;
}

// ---- Meek rules ------------------------------------------------------------------------------

// Orients j - k as j -> k unless k is (by dpath) an ancestor of j; returns whether it did.
bool OrientAway(EndpointGraph& g, int j, int k) {
  if (g.AncestorOf(k, j)) return false;
  g.RemoveEdge(j, k);
  g.AddDirected(j, k);
  return true;
}

// Meek rules 2 and 3 over the triangles and kites listed at the start.
bool ApplyTriangleRule(EndpointGraph& g, const std::vector<Triple>& triangles) {
  bool changed = false;
  for (const auto& [i, j, k] : triangles) {
    if (g.FullyDirected(i, j) && g.FullyDirected(j, k) && g.Undirected(i, k)) {
      changed = OrientAway(g, i, k) || changed;
    }
  }
  return changed;
}

// Meek.meek: rules 1-3 (rule 3 as causal-learn's kites) to a fixed point, each pass over the
// unshielded triples, triangles and kites of the graph as it was on entry, in their list order.
Status Meek(const PcOptions& options, EndpointGraph& g) {
  const std::vector<Triple> triples = UnshieldedTriples(g);
  const std::vector<Triple> triangles = Triangles(g);
  const std::vector<KiteQuad> kites = Kites(g, triangles);
  bool changed = true;
  while (changed) {
    if (options.deadline.Expired()) return DeadlineStatus();
    changed = false;
    for (const auto& [i, j, k] : triples) {
      if (g.FullyDirected(i, j) && g.Undirected(j, k)) changed = OrientAway(g, j, k) || changed;
    }
    changed = ApplyTriangleRule(g, triangles) || changed;
    for (const auto& [i, j, k, l] : kites) {
      if (g.Undirected(i, j) && g.Undirected(i, k) && g.FullyDirected(j, l) &&
          g.FullyDirected(k, l) && g.Undirected(i, l)) {
        changed = OrientAway(g, i, l) || changed;
      }
    }
  }
  return Status::Ok();
}

// Meek.definite_meek: rule 1 over the definite non-colliders (both directions), rule 2 over the
// triangles, rule 3 over kites whose sides are a definite collider and a definite non-collider.
Status DefiniteMeek(const PcOptions& options, const DefiniteTriples& definite, EndpointGraph& g) {
  const std::vector<Triple> triangles = Triangles(g);
  const std::vector<KiteQuad> kites = Kites(g, triangles);
  const std::set<Triple> colliders(definite.colliders.begin(), definite.colliders.end());
  const std::set<Triple> non_colliders(definite.non_colliders.begin(),
                                       definite.non_colliders.end());
  bool changed = true;
  while (changed) {
    if (options.deadline.Expired()) return DeadlineStatus();
    changed = false;
    for (const auto& [i, j, k] : definite.non_colliders) {
      if (g.FullyDirected(i, j) && g.Undirected(j, k)) {
        changed = OrientAway(g, j, k) || changed;
      } else if (g.FullyDirected(k, j) && g.Undirected(j, i)) {
        changed = OrientAway(g, j, i) || changed;
      }
    }
    changed = ApplyTriangleRule(g, triangles) || changed;
    for (const auto& [i, j, k, l] : kites) {
      const bool collider = colliders.count({j, l, k}) > 0 || colliders.count({k, l, j}) > 0;
      const bool non_collider =
          non_colliders.count({j, i, k}) > 0 || non_colliders.count({k, i, j}) > 0;
      if (collider && non_collider && g.Undirected(i, l)) changed = OrientAway(g, i, l) || changed;
    }
  }
  return Status::Ok();
}

Status ValidateOptions(const PcOptions& o) {
  if (!(o.alpha > 0 && o.alpha < 1)) {
    return Status::InvalidArgument(fmt::format("pc: alpha must be in (0, 1), got {}", o.alpha));
  }
  if (o.depth < -1) {
    return Status::InvalidArgument(fmt::format("pc: depth must be >= -1, got {}", o.depth));
  }
  if (o.uc_rule < 0 || o.uc_rule > 2) {
    return Status::InvalidArgument(fmt::format("pc: uc_rule must be 0, 1 or 2, got {}", o.uc_rule));
  }
  if (o.uc_priority < -1 || o.uc_priority > 4) {
    return Status::InvalidArgument(
        fmt::format("pc: uc_priority must be in -1..4, got {}", o.uc_priority));
  }
  if (o.uc_rule == 2 && (o.uc_priority == 0 || o.uc_priority == 1)) {
    return Status::InvalidArgument(fmt::format(
        "pc: uc_rule 2 (definite maxP) takes uc_priority -1, 2, 3 or 4, got {}", o.uc_priority));
  }
  return Status::Ok();
}

}  // namespace

Result<Graph> Pc(const stats::CiTest& test, const PcOptions& options) {
  LLMRCA_RETURN_IF_ERROR(ValidateOptions(options));
  if (options.deadline.Expired()) return DeadlineStatus();
  LLMRCA_ASSIGN_OR_RETURN(const Skeleton sk, DiscoverSkeleton(test, options));

  EndpointGraph g(sk.n);
  for (int a = 0; a < sk.n; ++a) {
    for (int b = a + 1; b < sk.n; ++b) {
      if (sk.Adjacent(a, b)) g.SetUndirected(a, b);
    }
  }
  // uc_priority -1 means the rule's own default: 3 for uc_sepset and maxp, 4 for definite maxp.
  if (options.uc_rule == 0) {
    LLMRCA_RETURN_IF_ERROR(
        UcSepset(test, options, sk, options.uc_priority == -1 ? 3 : options.uc_priority, g));
  } else if (options.uc_rule == 1) {
    LLMRCA_RETURN_IF_ERROR(
        MaxP(test, options, options.uc_priority == -1 ? 3 : options.uc_priority, g));
  } else {
    LLMRCA_ASSIGN_OR_RETURN(
        const DefiniteTriples definite,
        DefiniteMaxP(test, options, options.uc_priority == -1 ? 4 : options.uc_priority, g));
    LLMRCA_RETURN_IF_ERROR(DefiniteMeek(options, definite, g));
  }
  LLMRCA_RETURN_IF_ERROR(Meek(options, g));
  return g.ToGraph();
}

}  // namespace llmrca::causal
