#include "data/case.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "data/testing/temp_dir.h"

namespace llmrca::data {
namespace {

using ::llmrca::testutil::TempDir;

std::vector<double> ToVector(std::span<const double> s) { return {s.begin(), s.end()}; }

// Six samples 5 s apart around an inject time of 115: rows at 100, 105, 110 are normal and rows
// at 115, 120, 125 anomalous. `b_cpu` is constant and is dropped by drop-constant.
constexpr char kData[] =
    "time,a_cpu,a_latency-90,b_cpu\n"
    "100,1,10,7\n"
    "105,2,11,7\n"
    "110,1,10,7\n"
    "115,5,30,7\n"
    "120,6,31,7\n"
    "125,5,29,7\n";

TEST(FindMetricsFileTest, PrefersDataCsvThenSimpleMetricsThenMetrics) {
  TempDir dir;
  dir.WriteFile("metrics.csv", "");
  EXPECT_EQ(*FindMetricsFile(dir.path()), dir.path() / "metrics.csv");
  dir.WriteFile("simple_metrics.csv", "");
  EXPECT_EQ(*FindMetricsFile(dir.path()), dir.path() / "simple_metrics.csv");
  dir.WriteFile("data.csv", "");
  EXPECT_EQ(*FindMetricsFile(dir.path()), dir.path() / "data.csv");
}

TEST(FindMetricsFileTest, NoMetricsFileIsNotFoundNamingTheDirectory) {
  TempDir dir;
  dir.MakeDir("data.csv/inner");  // a directory named data.csv does not count
  Result<std::filesystem::path> r = FindMetricsFile(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "data: no data.csv (or simple_metrics.csv, metrics.csv) in " + dir.path().string());
}

TEST(ReadInjectTimeTest, ReadsAnInteger) {
  TempDir dir;
  EXPECT_EQ(*ReadInjectTime(dir.WriteFile("inject_time.txt", "1700000285")), 1700000285.0);
}

TEST(ReadInjectTimeTest, ReadsADecimal) {
  TempDir dir;
  EXPECT_EQ(*ReadInjectTime(dir.WriteFile("inject_time.txt", "1700000285.5\n")), 1700000285.5);
}

TEST(ReadInjectTimeTest, IgnoresATrailingNewlineSpacesAndLaterLines) {
  TempDir dir;
  EXPECT_EQ(*ReadInjectTime(dir.WriteFile("a.txt", "1700000285\n")), 1700000285.0);
  EXPECT_EQ(*ReadInjectTime(dir.WriteFile("b.txt", "  42 \r\n")), 42.0);
  EXPECT_EQ(*ReadInjectTime(dir.WriteFile("c.txt", "100\n200\n")), 100.0);
  const std::string bom = "\xEF\xBB\xBF";
  EXPECT_EQ(*ReadInjectTime(dir.WriteFile("d.txt", bom + "7\n")), 7.0);
}

TEST(ReadInjectTimeTest, EmptyFileIsADataErrorNamingFileLineAndColumn) {
  TempDir dir;
  const auto file = dir.WriteFile("inject_time.txt", "");
  Result<double> r = ReadInjectTime(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_EQ(r.status().message(), "data: " + file.string() + ":1:1: empty inject time");
  EXPECT_EQ(ReadInjectTime(dir.WriteFile("blank.txt", " \n")).status().code(),
            StatusCode::kDataError);
}

TEST(ReadInjectTimeTest, TextIsADataErrorNamingFileLineAndColumn) {
  TempDir dir;
  const auto file = dir.WriteFile("inject_time.txt", "soon\n");
  Result<double> r = ReadInjectTime(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_EQ(r.status().message(),
            "data: " + file.string() + ":1:1: inject time 'soon' is not a number");
  // Two leading spaces: the value starts in column 3.
  const auto indented = dir.WriteFile("indented.txt", "  12abc\n");
  EXPECT_EQ(ReadInjectTime(indented).status().message(),
            "data: " + indented.string() + ":1:3: inject time '12abc' is not a number");
}

TEST(ReadInjectTimeTest, NonFiniteIsADataError) {
  TempDir dir;
  EXPECT_EQ(ReadInjectTime(dir.WriteFile("a.txt", "nan")).status().code(), StatusCode::kDataError);
  EXPECT_EQ(ReadInjectTime(dir.WriteFile("b.txt", "inf")).status().code(), StatusCode::kDataError);
}

TEST(ReadInjectTimeTest, MissingFileIsAnIoErrorNamingThePath) {
  TempDir dir;
  const auto missing = dir.path() / "inject_time.txt";
  Result<double> r = ReadInjectTime(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_EQ(r.status().message(),
            "data: cannot open " + missing.string() + ": No such file or directory");
}

TEST(LoadCaseTest, LoadsAndPreprocessesACase) {
  TempDir root;
  root.WriteFile("svc_cpu/1/data.csv", kData);
  root.WriteFile("svc_cpu/1/inject_time.txt", "115\n");
  Result<Case> c = LoadCase(root.path() / "svc_cpu/1", PreprocessOptions{});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->id, "1");  // the directory's name by default
  EXPECT_EQ(c->inject_time, 115.0);
  EXPECT_EQ(c->sli, "");
  // b_cpu is constant (dropped); a_latency-90 is renamed.
  EXPECT_EQ(c->metrics.Names(), (std::vector<std::string>{"a_cpu", "a_latency"}));
  EXPECT_EQ(ToVector(c->metrics.Time()), (std::vector<double>{100, 105, 110, 115, 120, 125}));
  EXPECT_EQ(ToVector(c->metrics.Column(1)), (std::vector<double>{10, 11, 10, 30, 31, 29}));
  EXPECT_EQ(c->FirstAnomalousRow(), 3);  // time 115
}

TEST(LoadCaseTest, UsesTheGivenIdAndHandlesATrailingSlash) {
  TempDir root;
  root.WriteFile("svc_cpu/1/data.csv", kData);
  root.WriteFile("svc_cpu/1/inject_time.txt", "115\n");
  EXPECT_EQ(LoadCase(root.path() / "svc_cpu/1", PreprocessOptions{}, "svc_cpu/1")->id, "svc_cpu/1");
  EXPECT_EQ(LoadCase((root.path() / "svc_cpu/1").string() + "/", PreprocessOptions{})->id, "1");
}

TEST(LoadCaseTest, WindowFollowsTheOptions) {
  TempDir root;
  root.WriteFile("c/data.csv", kData);
  root.WriteFile("c/inject_time.txt", "115");
  PreprocessOptions o;
  o.window_rows = 1;  // rows at 110 and 115 only
  o.drop_constant = false;
  Result<Case> c = LoadCase(root.path() / "c", o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(ToVector(c->metrics.Time()), (std::vector<double>{110, 115}));
  EXPECT_EQ(c->metrics.NumCols(), 3);
  EXPECT_EQ(c->FirstAnomalousRow(), 1);
}

TEST(LoadCaseTest, ReadsTheSliFromCaseJson) {
  TempDir root;
  root.WriteFile("c/data.csv", kData);
  root.WriteFile("c/inject_time.txt", "115");
  root.WriteFile("c/case.json", R"({"root_cause": {"service": "a", "indicator": null},
                                    "sli": "a_latency"})");
  Result<Case> c = LoadCase(root.path() / "c", PreprocessOptions{});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->sli, "a_latency");
}

TEST(LoadCaseTest, NullOrAbsentSliIsEmpty) {
  TempDir root;
  root.WriteFile("c/data.csv", kData);
  root.WriteFile("c/inject_time.txt", "115");
  root.WriteFile("c/case.json", R"({"sli": null})");
  EXPECT_EQ(LoadCase(root.path() / "c", PreprocessOptions{})->sli, "");
  root.WriteFile("c/case.json", R"({"root_cause": {"service": "a"}})");
  EXPECT_EQ(LoadCase(root.path() / "c", PreprocessOptions{})->sli, "");
}

TEST(LoadCaseTest, MalformedCaseJsonIsADataErrorNamingTheFile) {
  TempDir root;
  root.WriteFile("c/data.csv", kData);
  root.WriteFile("c/inject_time.txt", "115");
  const auto json = root.WriteFile("c/case.json", "{\"sli\": ");
  Result<Case> c = LoadCase(root.path() / "c", PreprocessOptions{});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataError);
  EXPECT_EQ(c.status().message(), "data: " + json.string() + ": not valid JSON");

  root.WriteFile("c/case.json", "[\"a_latency\"]");
  EXPECT_EQ(LoadCase(root.path() / "c", PreprocessOptions{}).status().message(),
            "data: " + json.string() + ": expected a JSON object");
  root.WriteFile("c/case.json", R"({"sli": 3})");
  EXPECT_EQ(LoadCase(root.path() / "c", PreprocessOptions{}).status().message(),
            "data: " + json.string() + ": 'sli' must be a string");
}

TEST(LoadCaseTest, DropsLatency50AndPodNodeColumnsWhileReading) {
  TempDir root;
  // The pod and node columns hold text (as the study's exports do); they must never be parsed.
  root.WriteFile("c/data.csv",
                 "time,a_cpu,a_latency-50,a_pod_ip,a_node_name,unknown_cpu\n"
                 "1,1,n/a,10.0.0.1,node-1,x\n"
                 "2,2,n/a,10.0.0.1,node-1,x\n");
  root.WriteFile("c/inject_time.txt", "2");
  Result<Case> c = LoadCase(root.path() / "c", PreprocessOptions{});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->metrics.Names(), (std::vector<std::string>{"a_cpu"}));

  // With the read-time filter off, the text is parsed and rejected.
  PreprocessOptions keep_pods;
  keep_pods.drop_pod_node = false;
  Result<Case> bad = LoadCase(root.path() / "c", keep_pods);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataError);
  EXPECT_EQ(bad.status().message(), "data: " + (root.path() / "c/data.csv").string() +
                                        ":2: column 4 ('a_pod_ip'): non-numeric cell '10.0.0.1'");
}

TEST(LoadCaseTest, NoColumnLeftIsADataError) {
  TempDir root;
  const auto csv = root.WriteFile("c/data.csv",
                                  "time,a_latency-50,a_pod_ip\n"
                                  "1,5,10.0.0.1\n");
  root.WriteFile("c/inject_time.txt", "1");
  Result<Case> c = LoadCase(root.path() / "c", PreprocessOptions{});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataError);
  EXPECT_EQ(c.status().message(),
            "data: " + csv.string() + ": no metric column left after preprocessing");

  // Every column constant: drop-constant leaves nothing either.
  root.WriteFile("c/data.csv", "time,a_cpu\n1,3\n2,3\n");
  EXPECT_EQ(LoadCase(root.path() / "c", PreprocessOptions{}).status().message(),
            "data: " + csv.string() + ": no metric column left after preprocessing");
}

TEST(LoadCaseTest, PreprocessingErrorsNameTheMetricsFile) {
  TempDir root;
  const auto csv = root.WriteFile("c/data.csv", "time,a_latency,a_latency-90\n1,1,2\n2,3,4\n");
  root.WriteFile("c/inject_time.txt", "2");
  Result<Case> c = LoadCase(root.path() / "c", PreprocessOptions{});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataError);
  EXPECT_EQ(c.status().message(), "data: " + csv.string() +
                                      ": preprocess: renaming 'a_latency-90' to 'a_latency' would "
                                      "duplicate an existing column");
}

TEST(LoadCaseTest, MissingFilesAreErrorsNamingThem) {
  TempDir root;
  root.MakeDir("c");
  Result<Case> none = LoadCase(root.path() / "c", PreprocessOptions{});
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);

  root.WriteFile("c/data.csv", kData);
  Result<Case> no_inject = LoadCase(root.path() / "c", PreprocessOptions{});
  ASSERT_FALSE(no_inject.ok());
  EXPECT_EQ(no_inject.status().code(), StatusCode::kIoError);
  EXPECT_EQ(no_inject.status().message(), "data: cannot open " +
                                              (root.path() / "c/inject_time.txt").string() +
                                              ": No such file or directory");
}

TEST(LoadCaseTest, LoadsTheParityFixture) {
  // testdata/parity/ray-head_cpu/1: data.csv has a header and 72 rows (lines 2-73) of time plus
  // 20 metric columns, 5 s apart from 1700000000 (so the last is 1700000000 + 71 * 5 =
  // 1700000355); inject_time.txt holds 1700000285, the time on line 59, i.e. row 57 (57 normal
  // rows, 15 anomalous). No column is constant, none is a latency-50/pod/node column, and the
  // 600-row window is wider than the data, so preprocessing keeps everything.
  const auto dir = std::filesystem::path(LLMRCA_TESTDATA_DIR) / "parity/ray-head_cpu/1";
  Result<Case> c = LoadCase(dir, PreprocessOptions{}, "ray-head_cpu/1");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->id, "ray-head_cpu/1");
  EXPECT_EQ(c->inject_time, 1700000285.0);
  EXPECT_EQ(c->sli, "");  // case.json has "sli": null
  ASSERT_EQ(c->metrics.NumRows(), 72);
  ASSERT_EQ(c->metrics.NumCols(), 20);
  EXPECT_EQ(c->metrics.Name(0), "nginx-proxy_ctn_cpu");
  EXPECT_EQ(c->metrics.Name(4), "ray-head_ctn_cpu");
  EXPECT_EQ(c->metrics.Name(19), "ray-replicas-2_latency");
  EXPECT_EQ(c->metrics.Time()[0], 1700000000.0);
  EXPECT_EQ(c->metrics.Time()[71], 1700000355.0);
  const Eigen::Index split = c->FirstAnomalousRow();
  EXPECT_EQ(split, 57);
  EXPECT_EQ(c->metrics.Time()[static_cast<size_t>(split)], 1700000285.0);
  EXPECT_EQ(c->metrics.Time()[static_cast<size_t>(split) - 1], 1700000280.0);
  // First data line: 1700000000,1.000191,3.825382,...
  EXPECT_EQ(c->metrics.Values()(0, 0), 1.000191);
  EXPECT_EQ(c->metrics.Values()(0, 1), 3.825382);
}

}  // namespace
}  // namespace llmrca::data
