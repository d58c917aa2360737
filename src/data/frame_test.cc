#include "data/frame.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::data {
namespace {

// 3 rows x 3 columns:      time  a    b     c
//                            10   1   10   100
//                            20   2   20   200
//                            30   3   30   300
Frame MakeFrame() {
  Eigen::MatrixXd values(3, 3);
  values << 1, 10, 100,  //
      2, 20, 200,        //
      3, 30, 300;
  return Frame({10, 20, 30}, {"svc-a_cpu", "svc-b_mem", "svc-c_latency"}, values);
}

std::vector<double> ToVector(std::span<const double> s) { return {s.begin(), s.end()}; }

TEST(SplitColumnNameTest, SplitsAtTheFirstUnderscore) {
  ColumnName n = SplitColumnName("ray-replicas-0_ctn_cpu");
  EXPECT_EQ(n.service, "ray-replicas-0");
  EXPECT_EQ(n.indicator, "ctn_cpu");
}

TEST(SplitColumnNameTest, NameWithoutUnderscoreIsAllService) {
  ColumnName n = SplitColumnName("nginx-proxy");
  EXPECT_EQ(n.service, "nginx-proxy");
  EXPECT_EQ(n.indicator, "");
}

TEST(SplitColumnNameTest, UnderscoreAtEitherEndGivesAnEmptyPart) {
  EXPECT_EQ(SplitColumnName("_cpu").service, "");
  EXPECT_EQ(SplitColumnName("_cpu").indicator, "cpu");
  EXPECT_EQ(SplitColumnName("svc_").service, "svc");
  EXPECT_EQ(SplitColumnName("svc_").indicator, "");
}

TEST(FrameTest, DefaultFrameIsEmpty) {
  Frame f;
  EXPECT_EQ(f.NumRows(), 0);
  EXPECT_EQ(f.NumCols(), 0);
  EXPECT_TRUE(f.Time().empty());
  EXPECT_TRUE(f.Names().empty());
}

TEST(FrameTest, ExposesShapeTimeNamesAndColumns) {
  Frame f = MakeFrame();
  EXPECT_EQ(f.NumRows(), 3);
  EXPECT_EQ(f.NumCols(), 3);
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"svc-a_cpu", "svc-b_mem", "svc-c_latency"}));
  EXPECT_EQ(f.Name(1), "svc-b_mem");
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(ToVector(f.Column(2)), (std::vector<double>{100, 200, 300}));
  EXPECT_EQ(f.Values()(1, 2), 200);
}

TEST(FrameTest, ColumnsAreContiguousInTheMatrix) {
  Frame f = MakeFrame();
  // Column-major: column 1 starts right after column 0's three values.
  EXPECT_EQ(f.Column(1).data(), f.Values().data() + 3);
}

TEST(FrameTest, MutableColumnWritesThrough) {
  Frame f = MakeFrame();
  std::span<double> col = f.MutableColumn(1);
  col[2] = -5;
  EXPECT_EQ(f.Values()(2, 1), -5);
  f.MutableValues()(0, 0) = 42;
  EXPECT_EQ(f.Column(0)[0], 42);
}

TEST(FrameTest, FindsColumnsByExactName) {
  Frame f = MakeFrame();
  EXPECT_EQ(f.FindColumn("svc-c_latency"), 2);
  EXPECT_EQ(f.FindColumn("svc-a_cpu"), 0);
  EXPECT_EQ(f.FindColumn("svc-a"), std::nullopt);
  EXPECT_EQ(f.FindColumn("time"), std::nullopt);
}

TEST(FrameTest, SelectColumnsKeepsTheGivenOrderAndTheTimeAxis) {
  Frame f = MakeFrame();
  const std::vector<Eigen::Index> cols = {2, 0};
  Frame s = f.SelectColumns(cols);
  EXPECT_EQ(s.NumRows(), 3);
  EXPECT_EQ(s.Names(), (std::vector<std::string>{"svc-c_latency", "svc-a_cpu"}));
  EXPECT_EQ(ToVector(s.Column(0)), (std::vector<double>{100, 200, 300}));
  EXPECT_EQ(ToVector(s.Column(1)), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(ToVector(s.Time()), (std::vector<double>{10, 20, 30}));
}

TEST(FrameTest, SelectNoColumnsKeepsTheRows) {
  Frame s = MakeFrame().SelectColumns({});
  EXPECT_EQ(s.NumCols(), 0);
  EXPECT_EQ(s.NumRows(), 3);
  EXPECT_EQ(s.Time().size(), 3u);
}

TEST(FrameTest, SliceRowsIsHalfOpen) {
  Frame s = MakeFrame().SliceRows(1, 3);
  EXPECT_EQ(s.NumRows(), 2);
  EXPECT_EQ(s.NumCols(), 3);
  EXPECT_EQ(ToVector(s.Time()), (std::vector<double>{20, 30}));
  EXPECT_EQ(ToVector(s.Column(1)), (std::vector<double>{20, 30}));
  EXPECT_EQ(s.Names(), MakeFrame().Names());
}

TEST(FrameTest, EmptySliceHasNoRows) {
  Frame s = MakeFrame().SliceRows(2, 2);
  EXPECT_EQ(s.NumRows(), 0);
  EXPECT_EQ(s.NumCols(), 3);
}

TEST(FrameTest, RenameColumnChangesOnlyThatName) {
  Frame f = MakeFrame();
  f.RenameColumn(1, "svc-b_memory");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"svc-a_cpu", "svc-b_memory", "svc-c_latency"}));
  EXPECT_EQ(f.FindColumn("svc-b_memory"), 1);
}

TEST(FrameDeathTest, ConstructorAbortsWhenTimeAndRowsDisagree) {
  EXPECT_DEATH(Frame({1, 2}, {"a"}, Eigen::MatrixXd::Zero(3, 1)), "2 timestamps for 3 rows");
}

TEST(FrameDeathTest, ConstructorAbortsWhenNamesAndColumnsDisagree) {
  EXPECT_DEATH(Frame({1}, {"a", "b"}, Eigen::MatrixXd::Zero(1, 1)), "2 names for 1 columns");
}

TEST(FrameDeathTest, SliceRowsAbortsOutsideTheFrame) {
  EXPECT_DEATH((void)MakeFrame().SliceRows(2, 4), "2\\.\\.4");
}

}  // namespace
}  // namespace llmrca::data
