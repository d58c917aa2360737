#include "causal/graph.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/check.h"

namespace llmrca::causal {

Graph::Graph(int n) : n_(n), m_(static_cast<size_t>(n) * static_cast<size_t>(n), 0) {}

Graph Graph::Complete(int n, Mark mark) {
  Graph g(n);
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) g.SetEdge(a, b, mark, mark);
  }
  return g;
}

Graph Graph::FromDirected(const Eigen::MatrixXi& adj) {
  LLMRCA_CHECK(adj.rows() == adj.cols()) << "square adjacency";
  const int n = static_cast<int>(adj.rows());
  Graph g(n);
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      const bool ab = adj(a, b) != 0, ba = adj(b, a) != 0;
      if (ab && ba) {
        g.SetEdge(a, b, Mark::kArrow, Mark::kArrow);
      } else if (ab) {
        g.SetEdge(a, b, Mark::kTail, Mark::kArrow);
      } else if (ba) {
        g.SetEdge(a, b, Mark::kArrow, Mark::kTail);
      }
    }
  }
  return g;
}

void Graph::SetEdge(int a, int b, Mark at_a, Mark at_b) {
  LLMRCA_CHECK(a != b && a >= 0 && b >= 0 && a < n_ && b < n_) << a << " " << b;
  m_[Index(a, b)] = static_cast<int8_t>(at_a);
  m_[Index(b, a)] = static_cast<int8_t>(at_b);
}

void Graph::SetMark(int a, int b, Mark at_a) {
  LLMRCA_CHECK(Adjacent(a, b)) << "no edge " << a << "-" << b;
  m_[Index(a, b)] = static_cast<int8_t>(at_a);
}

std::vector<int> Graph::Neighbors(int a) const {
  std::vector<int> out;
  for (int b = 0; b < n_; ++b) {
    if (b != a && Adjacent(a, b)) out.push_back(b);
  }
  return out;
}

int Graph::Degree(int a) const {
  int d = 0;
  for (int b = 0; b < n_; ++b) d += (b != a && Adjacent(a, b)) ? 1 : 0;
  return d;
}

int Graph::MaxDegree() const {
  int best = 0;
  for (int a = 0; a < n_; ++a) best = std::max(best, Degree(a));
  return best;
}

int Graph::NumEdges() const {
  int e = 0;
  for (int a = 0; a < n_; ++a) {
    for (int b = a + 1; b < n_; ++b) e += Adjacent(a, b) ? 1 : 0;
  }
  return e;
}

std::vector<int> Graph::Parents(int a) const {
  std::vector<int> out;
  for (int b = 0; b < n_; ++b) {
    if (b != a && IsDirected(b, a)) out.push_back(b);
  }
  return out;
}

std::vector<int> Graph::Children(int a) const {
  std::vector<int> out;
  for (int b = 0; b < n_; ++b) {
    if (b != a && IsDirected(a, b)) out.push_back(b);
  }
  return out;
}

Eigen::MatrixXi Graph::EndpointMatrix() const {
  Eigen::MatrixXi m(n_, n_);
  for (int a = 0; a < n_; ++a) {
    for (int b = 0; b < n_; ++b) m(a, b) = a == b ? 0 : static_cast<int>(At(a, b));
  }
  return m;
}

Graph Graph::FromEndpointMatrix(const Eigen::MatrixXi& m) {
  LLMRCA_CHECK(m.rows() == m.cols()) << "square matrix";
  Graph g(static_cast<int>(m.rows()));
  for (int a = 0; a < g.n_; ++a) {
    for (int b = 0; b < g.n_; ++b) {
      if (a != b) g.m_[g.Index(a, b)] = static_cast<int8_t>(m(a, b));
    }
  }
  return g;
}

namespace {

const char* DotArrow(Mark m) {
  switch (m) {
    case Mark::kArrow: return "normal";
    case Mark::kCircle: return "odot";
    default: return "none";
  }
}

const char* MarkName(Mark m) {
  switch (m) {
    case Mark::kTail: return "tail";
    case Mark::kArrow: return "arrow";
    case Mark::kCircle: return "circle";
    case Mark::kNone: return "none";
  }
  return "none";
}

}  // namespace

std::string ToDot(const Graph& g, const std::vector<std::string>& names) {
  std::string out = "digraph causal {\n";
  for (int a = 0; a < g.size(); ++a) {
    out += fmt::format("  n{} [label=\"{}\"];\n", a, static_cast<size_t>(a) < names.size() ? names[static_cast<size_t>(a)] : fmt::format("X{}", a));
  }
  for (int a = 0; a < g.size(); ++a) {
    for (int b = a + 1; b < g.size(); ++b) {
      if (!g.Adjacent(a, b)) continue;
      // A directed edge reads cause -> effect; any other pair of marks is drawn at both ends.
      if (g.At(a, b) == Mark::kTail && g.At(b, a) == Mark::kArrow) {
        out += fmt::format("  n{} -> n{};\n", a, b);
      } else if (g.At(b, a) == Mark::kTail && g.At(a, b) == Mark::kArrow) {
        out += fmt::format("  n{} -> n{};\n", b, a);
      } else {
        out += fmt::format("  n{} -> n{} [dir=both, arrowtail={}, arrowhead={}];\n", a, b,
                           DotArrow(g.At(a, b)), DotArrow(g.At(b, a)));
      }
    }
  }
  out += "}\n";
  return out;
}

std::string ToJson(const Graph& g, const std::vector<std::string>& names) {
  nlohmann::ordered_json doc;
  doc["nodes"] = names;
  nlohmann::ordered_json edges = nlohmann::ordered_json::array();
  for (int a = 0; a < g.size(); ++a) {
    for (int b = a + 1; b < g.size(); ++b) {
      if (!g.Adjacent(a, b)) continue;
      nlohmann::ordered_json e;
      e["from"] = static_cast<size_t>(a) < names.size() ? names[static_cast<size_t>(a)] : fmt::format("X{}", a);
      e["to"] = static_cast<size_t>(b) < names.size() ? names[static_cast<size_t>(b)] : fmt::format("X{}", b);
      e["mark_from"] = MarkName(g.At(a, b));
      e["mark_to"] = MarkName(g.At(b, a));
      edges.push_back(std::move(e));
    }
  }
  doc["edges"] = std::move(edges);
  return doc.dump(2);
}

}  // namespace llmrca::causal
