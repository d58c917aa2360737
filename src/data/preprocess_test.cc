#include "data/preprocess.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::data {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> ToVector(std::span<const double> s) { return {s.begin(), s.end()}; }

// A frame with time 0, 1, ..., rows-1 and the given columns (each of `rows` values).
Frame MakeFrame(const std::vector<std::string>& names,
                const std::vector<std::vector<double>>& columns) {
  const Eigen::Index rows = columns.empty() ? 0 : static_cast<Eigen::Index>(columns[0].size());
  std::vector<double> time(static_cast<size_t>(rows));
  for (size_t i = 0; i < time.size(); ++i) time[i] = static_cast<double>(i);
  Eigen::MatrixXd values(rows, static_cast<Eigen::Index>(columns.size()));
  for (size_t j = 0; j < columns.size(); ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) {
      values(i, static_cast<Eigen::Index>(j)) = columns[j][static_cast<size_t>(i)];
    }
  }
  return Frame(std::move(time), names, std::move(values));
}

// One column "a" with time 0..9 and value = 10 * time.
Frame TenRows() { return MakeFrame({"a"}, {{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}}); }

TEST(PreprocessTest, StepNamesComeInRunOrder) {
  EXPECT_EQ(PreprocessStepNames(),
            (std::vector<std::string>{"drop-latency-50", "drop-pod-node", "fill", "window",
                                      "rename-latency-90", "drop-constant"}));
}

TEST(PreprocessTest, DefaultsRunEveryStepWithSixHundredRowsPerSide) {
  PreprocessOptions o;
  EXPECT_TRUE(o.drop_latency_50 && o.drop_pod_node && o.fill && o.window && o.rename_latency_90 &&
              o.drop_constant);
  EXPECT_EQ(o.window_rows, 600);  // RCAEval --length 20 (minutes): 20 * 60 // 2
}

TEST(SkipStepTest, SwitchesOffExactlyTheNamedStep) {
  struct Expect {
    const char* step;
    bool PreprocessOptions::*flag;
  };
  const Expect steps[] = {
      {"drop-latency-50", &PreprocessOptions::drop_latency_50},
      {"drop-pod-node", &PreprocessOptions::drop_pod_node},
      {"fill", &PreprocessOptions::fill},
      {"window", &PreprocessOptions::window},
      {"rename-latency-90", &PreprocessOptions::rename_latency_90},
      {"drop-constant", &PreprocessOptions::drop_constant},
  };
  for (const Expect& e : steps) {
    PreprocessOptions o;
    ASSERT_TRUE(SkipStep(e.step, o).ok()) << e.step;
    for (const Expect& other : steps) {
      EXPECT_EQ(o.*(other.flag), other.flag != e.flag) << "skip " << e.step << ", " << other.step;
    }
  }
}

TEST(SkipStepTest, UnknownStepIsInvalidArgumentWithASuggestion) {
  PreprocessOptions o;
  Status s = SkipStep("windw", o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "preprocess: unknown step 'windw'; did you mean 'window'?");
  // "drop-latency" is a prefix of "drop-latency-50" (the first such name in run order).
  EXPECT_EQ(SkipStep("drop-latency", o).message(),
            "preprocess: unknown step 'drop-latency'; did you mean 'drop-latency-50'?");
  EXPECT_TRUE(o.window && o.drop_latency_50);  // nothing was switched off
}

TEST(SkipStepTest, UnknownStepFarFromEveryNameHasNoSuggestion) {
  PreprocessOptions o;
  Status s = SkipStep("xyzzy-foo", o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "preprocess: unknown step 'xyzzy-foo'");
}

TEST(ReadOptionsForTest, DropsLatency50AndPodNodeAndUnknownColumns) {
  CsvReadOptions read = ReadOptionsFor(PreprocessOptions{});
  ASSERT_TRUE(read.keep_column);
  EXPECT_TRUE(read.keep_column("ray-head_ctn_cpu"));
  EXPECT_TRUE(read.keep_column("ray-head_latency-90"));
  EXPECT_TRUE(read.keep_column("ray-head_latency-500"));  // the suffix must be exactly -50
  EXPECT_FALSE(read.keep_column("ray-head_latency-50"));
  EXPECT_FALSE(read.keep_column("ray-head_pod_ip"));
  EXPECT_FALSE(read.keep_column("ray-head_node_cpu"));
  EXPECT_FALSE(read.keep_column("unknown_ctn_cpu"));
  EXPECT_FALSE(read.keep_column("ray-head_unknown"));
  EXPECT_TRUE(read.keep_column("ray-head_podcast"));  // "_pod_" needs both underscores
}

TEST(ReadOptionsForTest, EachFilterCanBeSwitchedOffAlone) {
  PreprocessOptions keep50;
  keep50.drop_latency_50 = false;
  CsvReadOptions a = ReadOptionsFor(keep50);
  EXPECT_TRUE(a.keep_column("x_latency-50"));
  EXPECT_FALSE(a.keep_column("x_pod_ip"));

  PreprocessOptions keep_pods;
  keep_pods.drop_pod_node = false;
  CsvReadOptions b = ReadOptionsFor(keep_pods);
  EXPECT_FALSE(b.keep_column("x_latency-50"));
  EXPECT_TRUE(b.keep_column("x_pod_ip"));
  EXPECT_TRUE(b.keep_column("unknown_cpu"));
}

TEST(ReadOptionsForTest, NoFilterWhenBothAreOff) {
  PreprocessOptions o;
  o.drop_latency_50 = false;
  o.drop_pod_node = false;
  EXPECT_FALSE(ReadOptionsFor(o).keep_column);
}

TEST(FillMissingTest, ForwardFillsAndZeroesLeadingGaps) {
  Frame f = MakeFrame({"a"}, {{kNaN, 1, kNaN, kNaN, 3, kNaN}});
  FillMissing(f);
  // Leading NaN -> 0; each later NaN takes the last value: 1, 1, then 3.
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{0, 1, 1, 1, 3, 3}));
}

TEST(FillMissingTest, TurnsInfinitiesIntoNanFirst) {
  // inf -> NaN before the forward fill, so an infinity takes the previous finite value, and a
  // leading infinity becomes 0 like a leading NaN.
  Frame f = MakeFrame({"a", "b"}, {{2, kInf, -kInf, 5}, {kInf, kNaN, 7, -kInf}});
  FillMissing(f);
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2, 2, 2, 5}));
  EXPECT_EQ(ToVector(f.Column(1)), (std::vector<double>{0, 0, 7, 7}));
}

TEST(FillMissingTest, AllMissingColumnBecomesZeros) {
  Frame f = MakeFrame({"a", "b"}, {{kNaN, kNaN, kNaN}, {1, 2, 3}});
  FillMissing(f);
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(ToVector(f.Column(1)), (std::vector<double>{1, 2, 3}));  // untouched
}

TEST(FirstRowAtOrAfterTest, FindsTheFirstRowAtOrAfterTheTime) {
  Frame f = TenRows();  // time 0..9
  EXPECT_EQ(FirstRowAtOrAfter(f, 5), 5);
  EXPECT_EQ(FirstRowAtOrAfter(f, 4.5), 5);
  EXPECT_EQ(FirstRowAtOrAfter(f, -3), 0);
  EXPECT_EQ(FirstRowAtOrAfter(f, 9), 9);
  EXPECT_EQ(FirstRowAtOrAfter(f, 9.5), 10);  // none: NumRows()
}

TEST(FirstRowAtOrAfterTest, RepeatedTimesSplitBeforeTheFirstCopy) {
  Eigen::MatrixXd v = Eigen::MatrixXd::Zero(4, 1);
  Frame f({0, 5, 5, 10}, {"a"}, v);
  EXPECT_EQ(FirstRowAtOrAfter(f, 5), 1);
}

TEST(CutWindowTest, KeepsRowsOnEachSideOfAnInjectTimeInsideTheData) {
  // Split at time 5 (row 5): normal rows 3, 4 and anomalous rows 5, 6.
  Frame w = CutWindow(TenRows(), 5, 2);
  EXPECT_EQ(ToVector(w.Time()), (std::vector<double>{3, 4, 5, 6}));
  EXPECT_EQ(ToVector(w.Column(0)), (std::vector<double>{30, 40, 50, 60}));
  // Between samples: 5.5 splits before row 6.
  EXPECT_EQ(ToVector(CutWindow(TenRows(), 5.5, 2).Time()), (std::vector<double>{4, 5, 6, 7}));
}

TEST(CutWindowTest, ShortSidesKeepWhatThereIs) {
  // Split at row 1: one normal row, then the first 3 anomalous rows.
  EXPECT_EQ(ToVector(CutWindow(TenRows(), 1, 3).Time()), (std::vector<double>{0, 1, 2, 3}));
}

TEST(CutWindowTest, InjectTimeBeforeTheDataKeepsTheFirstRows) {
  // No normal row; the anomalous side is rows 0, 1, 2.
  EXPECT_EQ(ToVector(CutWindow(TenRows(), -100, 3).Time()), (std::vector<double>{0, 1, 2}));
}

TEST(CutWindowTest, InjectTimeAfterTheDataKeepsTheLastRows) {
  // Every row is normal; the last 3 are kept.
  EXPECT_EQ(ToVector(CutWindow(TenRows(), 100, 3).Time()), (std::vector<double>{7, 8, 9}));
}

TEST(CutWindowTest, WideWindowKeepsEveryRow) {
  Frame w = CutWindow(TenRows(), 5, 600);
  EXPECT_EQ(w.NumRows(), 10);
  EXPECT_EQ(ToVector(w.Column(0)), ToVector(TenRows().Column(0)));
}

TEST(RenameLatency90Test, RenamesTheSuffixToLatency) {
  Frame f = MakeFrame({"svc_latency-90", "svc_cpu", "other_latency-90x"}, {{1}, {2}, {3}});
  ASSERT_TRUE(RenameLatency90(f).ok());
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"svc_latency", "svc_cpu", "other_latency-90x"}));
  EXPECT_EQ(f.Column(0)[0], 1);  // values stay with their column
}

TEST(RenameLatency90Test, RefusesToDuplicateAnExistingColumn) {
  Frame f = MakeFrame({"svc_latency", "svc_latency-90"}, {{1}, {2}});
  Status s = RenameLatency90(f);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.message(),
            "preprocess: renaming 'svc_latency-90' to 'svc_latency' would duplicate an existing "
            "column");
}

TEST(DropConstantColumnsTest, DropsColumnsEqualToTheirFirstValueEverywhere) {
  Frame f = MakeFrame({"const", "varies", "late_change", "nan_first", "nan_later", "all_nan"},
                      {{2, 2, 2, 2},
                       {1, 2, 1, 2},
                       {5, 5, 5, 6},
                       {kNaN, 1, 1, 1},
                       {1, kNaN, 1, 1},
                       {kNaN, kNaN, kNaN, kNaN}});
  Frame d = DropConstantColumns(f);
  // RCAEval keeps a column when (df != df.iloc[0]).any(); NaN != anything, so a column starting
  // with NaN (even all NaN) is never constant, and a later NaN differs from the first value.
  EXPECT_EQ(d.Names(), (std::vector<std::string>{"varies", "late_change", "nan_first", "nan_later",
                                                 "all_nan"}));
  EXPECT_EQ(ToVector(d.Column(1)), (std::vector<double>{5, 5, 5, 6}));
}

TEST(DropConstantColumnsTest, SingleRowMakesEveryColumnConstant) {
  Frame d = DropConstantColumns(MakeFrame({"a", "b"}, {{1}, {2}}));
  EXPECT_EQ(d.NumCols(), 0);
  EXPECT_EQ(d.NumRows(), 1);
}

TEST(ApplyPreprocessingTest, RunsFillBeforeDropConstant) {
  // "gap" is 3, NaN, 3, 3: forward fill makes it constant, so it is dropped. "lead" is NaN, 3, 3,
  // 3: the leading NaN becomes 0, so it varies and stays.
  Frame f = MakeFrame({"gap", "lead"}, {{3, kNaN, 3, 3}, {kNaN, 3, 3, 3}});
  Result<Frame> r = ApplyPreprocessing(f, 2, PreprocessOptions{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Names(), (std::vector<std::string>{"lead"}));
  EXPECT_EQ(ToVector(r->Column(0)), (std::vector<double>{0, 3, 3, 3}));
}

TEST(ApplyPreprocessingTest, WithoutFillNanColumnsAreKeptAsTheyAre) {
  PreprocessOptions o;
  o.fill = false;
  Frame f = MakeFrame({"gap", "lead"}, {{3, kNaN, 3, 3}, {kNaN, 3, 3, 3}});
  Result<Frame> r = ApplyPreprocessing(f, 2, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Names(), (std::vector<std::string>{"gap", "lead"}));
  EXPECT_TRUE(std::isnan(r->Column(0)[1]));
}

TEST(ApplyPreprocessingTest, CutsTheWindowBeforeDroppingConstants) {
  // "edge" changes only at row 0, which the window (rows 3..6 around time 5) cuts away.
  PreprocessOptions o;
  o.window_rows = 2;
  Frame f = MakeFrame({"a", "edge"},
                      {{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}, {9, 1, 1, 1, 1, 1, 1, 1, 1, 1}});
  Result<Frame> r = ApplyPreprocessing(f, 5, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ToVector(r->Time()), (std::vector<double>{3, 4, 5, 6}));
  EXPECT_EQ(r->Names(), (std::vector<std::string>{"a"}));

  o.window = false;
  Result<Frame> whole = ApplyPreprocessing(f, 5, o);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->NumRows(), 10);
  EXPECT_EQ(whole->Names(), (std::vector<std::string>{"a", "edge"}));
}

TEST(ApplyPreprocessingTest, ZeroWindowRowsMeansNoCut) {
  PreprocessOptions o;
  o.window_rows = 0;
  Result<Frame> r = ApplyPreprocessing(TenRows(), 5, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->NumRows(), 10);
}

TEST(ApplyPreprocessingTest, RenamesLatency90AndReportsADuplicate) {
  Frame f = MakeFrame({"svc_latency-90"}, {{1, 2}});
  Result<Frame> r = ApplyPreprocessing(f, 1, PreprocessOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Names(), (std::vector<std::string>{"svc_latency"}));

  PreprocessOptions keep_names;
  keep_names.rename_latency_90 = false;
  EXPECT_EQ(ApplyPreprocessing(f, 1, keep_names)->Names(),
            (std::vector<std::string>{"svc_latency-90"}));

  Frame dup = MakeFrame({"svc_latency", "svc_latency-90"}, {{1, 2}, {3, 4}});
  Result<Frame> bad = ApplyPreprocessing(dup, 1, PreprocessOptions{});
  EXPECT_EQ(bad.status().code(), StatusCode::kDataError);
  EXPECT_EQ(ApplyPreprocessing(dup, 1, keep_names).status().code(), StatusCode::kOk);
}

TEST(ApplyPreprocessingTest, WithoutDropConstantEveryColumnStays) {
  PreprocessOptions o;
  o.drop_constant = false;
  Frame f = MakeFrame({"const", "varies"}, {{2, 2, 2}, {1, 2, 3}});
  Result<Frame> r = ApplyPreprocessing(f, 1, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Names(), (std::vector<std::string>{"const", "varies"}));
}

}  // namespace
}  // namespace llmrca::data
