#include "causal/graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace llmrca::causal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(GraphTest, EncodesEdgesAsCausalLearnDoes) {
  // causal-learn: i -> j is graph[i,j] = -1, graph[j,i] = 1; i -- j is -1/-1; i <-> j 1/1;
  // i o-> j is 2/1.
  Graph g(4);
  g.SetEdge(0, 1, Mark::kTail, Mark::kArrow);    // 0 -> 1
  g.SetEdge(1, 2, Mark::kTail, Mark::kTail);     // 1 -- 2
  g.SetEdge(2, 3, Mark::kArrow, Mark::kArrow);   // 2 <-> 3
  g.SetEdge(0, 3, Mark::kCircle, Mark::kArrow);  // 0 o-> 3
  const Eigen::MatrixXi m = g.EndpointMatrix();
  EXPECT_EQ(m(0, 1), -1);
  EXPECT_EQ(m(1, 0), 1);
  EXPECT_EQ(m(1, 2), -1);
  EXPECT_EQ(m(2, 1), -1);
  EXPECT_EQ(m(2, 3), 1);
  EXPECT_EQ(m(3, 2), 1);
  EXPECT_EQ(m(0, 3), 2);
  EXPECT_EQ(m(3, 0), 1);
  EXPECT_EQ(m(0, 2), 0);
  EXPECT_EQ(Graph::FromEndpointMatrix(m), g);
  EXPECT_TRUE(g.IsDirected(0, 1));
  EXPECT_FALSE(g.IsDirected(1, 0));
  EXPECT_TRUE(g.IsUndirected(2, 1));
}

TEST(GraphTest, NeighboursParentsChildrenAndDegrees) {
  Graph g(4);
  g.SetEdge(0, 2, Mark::kTail, Mark::kArrow);  // 0 -> 2
  g.SetEdge(1, 2, Mark::kTail, Mark::kArrow);  // 1 -> 2
  g.SetEdge(2, 3, Mark::kTail, Mark::kArrow);  // 2 -> 3
  EXPECT_THAT(g.Neighbors(2), ElementsAre(0, 1, 3));
  EXPECT_THAT(g.Parents(2), ElementsAre(0, 1));
  EXPECT_THAT(g.Children(2), ElementsAre(3));
  EXPECT_EQ(g.Degree(2), 3);
  EXPECT_EQ(g.MaxDegree(), 3);
  EXPECT_EQ(g.NumEdges(), 3);
  g.RemoveEdge(2, 3);
  EXPECT_FALSE(g.Adjacent(3, 2));
  EXPECT_EQ(g.NumEdges(), 2);
  g.SetMark(2, 0, Mark::kCircle);
  EXPECT_EQ(g.At(2, 0), Mark::kCircle);
  EXPECT_EQ(g.At(0, 2), Mark::kTail);
}

TEST(GraphTest, CompleteAndFromDirected) {
  const Graph complete = Graph::Complete(3);
  EXPECT_EQ(complete.NumEdges(), 3);
  EXPECT_TRUE(complete.IsUndirected(0, 2));
  // adj(cause, effect): 0 -> 1, and 1 <-> 2 (both directions).
  Eigen::MatrixXi adj = Eigen::MatrixXi::Zero(3, 3);
  adj(0, 1) = 1;
  adj(1, 2) = 1;
  adj(2, 1) = 1;
  const Graph g = Graph::FromDirected(adj);
  EXPECT_TRUE(g.IsDirected(0, 1));
  EXPECT_EQ(g.At(1, 2), Mark::kArrow);
  EXPECT_EQ(g.At(2, 1), Mark::kArrow);
  EXPECT_FALSE(g.Adjacent(0, 2));
}

TEST(GraphTest, PrintsDotAndJson) {
  Graph g(3);
  g.SetEdge(0, 1, Mark::kCircle, Mark::kArrow);
  g.SetEdge(1, 2, Mark::kArrow, Mark::kTail);  // 2 -> 1
  const std::string dot = ToDot(g, {"a_x", "b_y", "c_z"});
  EXPECT_THAT(dot, HasSubstr("n0 [label=\"a_x\"]"));
  EXPECT_THAT(dot, HasSubstr("n0 -> n1 [dir=both, arrowtail=odot, arrowhead=normal]"));
  EXPECT_THAT(dot, HasSubstr("  n2 -> n1;\n"));
  const nlohmann::json doc = nlohmann::json::parse(ToJson(g, {"a_x", "b_y", "c_z"}));
  ASSERT_EQ(doc["edges"].size(), 2u);
  EXPECT_EQ(doc["edges"][0]["from"], "a_x");
  EXPECT_EQ(doc["edges"][0]["mark_from"], "circle");
  EXPECT_EQ(doc["edges"][0]["mark_to"], "arrow");
}

}  // namespace
}  // namespace llmrca::causal
