// Graph: the one graph type every causal-discovery algorithm returns. Edges carry an endpoint
// mark at each end, in causal-learn's encoding so graphs compare cell by cell with that library:
// At(a, b) is the mark at `a` on the edge between a and b: -1 tail, 1 arrowhead, 2 circle, 0 no
// edge. a -> b is At(a, b) = -1, At(b, a) = 1; a -- b is -1/-1; a <-> b is 1/1; a o-> b is 2/1.
// Directed adjacencies (Granger, LiNGAM, NOTEARS) are stored as a -> b edges, and as a <-> b when
// both directions hold. Value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace llmrca::causal {

enum class Mark : int8_t { kNone = 0, kTail = -1, kArrow = 1, kCircle = 2 };

class Graph {
 public:
  explicit Graph(int n = 0);
  // Every pair joined by an undirected (tail-tail) edge: PC's and FCI's starting point.
  static Graph Complete(int n, Mark mark = Mark::kTail);
  // From a 0/1 matrix where adj(cause, effect) != 0 means cause -> effect.
  static Graph FromDirected(const Eigen::MatrixXi& adj);

  int size() const { return n_; }
  Mark At(int a, int b) const { return static_cast<Mark>(m_[Index(a, b)]); }
  bool Adjacent(int a, int b) const { return At(a, b) != Mark::kNone; }
  // a -> b: a tail at a and an arrowhead at b.
  bool IsDirected(int a, int b) const { return At(a, b) == Mark::kTail && At(b, a) == Mark::kArrow; }
  bool IsUndirected(int a, int b) const { return At(a, b) == Mark::kTail && At(b, a) == Mark::kTail; }

  // Sets the edge a-b with `at_a` at a and `at_b` at b (both kNone removes it).
  void SetEdge(int a, int b, Mark at_a, Mark at_b);
  void SetMark(int a, int b, Mark at_a);  // only the mark at a (the edge must exist)
  void RemoveEdge(int a, int b) { SetEdge(a, b, Mark::kNone, Mark::kNone); }

  std::vector<int> Neighbors(int a) const;  // adjacent nodes, ascending
  int Degree(int a) const;
  int MaxDegree() const;
  int NumEdges() const;
  std::vector<int> Parents(int a) const;   // b with b -> a
  std::vector<int> Children(int a) const;  // b with a -> b

  // causal-learn's G.graph: matrix(a, b) = At(a, b) as -1, 0, 1, 2.
  Eigen::MatrixXi EndpointMatrix() const;
  static Graph FromEndpointMatrix(const Eigen::MatrixXi& m);

  bool operator==(const Graph& other) const { return n_ == other.n_ && m_ == other.m_; }

 private:
  size_t Index(int a, int b) const {
    return static_cast<size_t>(a) * static_cast<size_t>(n_) + static_cast<size_t>(b);
  }
  int n_;
  std::vector<int8_t> m_;
};

// Text forms for `llmrca graph`: Graphviz dot (arrowheads and circles as Graphviz shapes) and
// JSON {"nodes": [...], "edges": [{"from","to","mark_from","mark_to"}]}.
std::string ToDot(const Graph& g, const std::vector<std::string>& names);
std::string ToJson(const Graph& g, const std::vector<std::string>& names);

}  // namespace llmrca::causal
