#include "data/dataset.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "data/testing/temp_dir.h"

namespace llmrca::data {
namespace {

using ::llmrca::testutil::TempDir;

constexpr char kCsv[] = "time,a\n1,2\n";

std::vector<std::string> Ids(const std::vector<CaseRef>& cases) {
  std::vector<std::string> ids;
  for (const CaseRef& c : cases) ids.push_back(c.id);
  return ids;
}

TEST(NaturalLessTest, ComparesDigitRunsAsNumbers) {
  EXPECT_TRUE(NaturalLess("x/2", "x/10"));
  EXPECT_FALSE(NaturalLess("x/10", "x/2"));
  EXPECT_TRUE(NaturalLess("case2", "case10"));
  EXPECT_TRUE(NaturalLess("svc_cpu/9", "svc_cpu/10"));
  EXPECT_TRUE(NaturalLess("ray-replicas-2_cpu", "ray-replicas-10_cpu"));
}

TEST(NaturalLessTest, ComparesOtherCharactersAsBytes) {
  EXPECT_TRUE(NaturalLess("a", "b"));
  EXPECT_TRUE(NaturalLess("a_cpu/1", "b_cpu/1"));
  EXPECT_TRUE(NaturalLess("a", "a1"));  // a prefix sorts first
  EXPECT_FALSE(NaturalLess("a1", "a"));
}

TEST(NaturalLessTest, IsIrreflexiveAndIgnoresLeadingZeros) {
  EXPECT_FALSE(NaturalLess("x/10", "x/10"));
  EXPECT_FALSE(NaturalLess("", ""));
  EXPECT_TRUE(NaturalLess("x/02", "x/10"));  // 2 < 10
  // 007 and 7 are the same number; the tie falls back to bytes so the order stays total and
  // the listing order of the filesystem cannot leak in: "007" < "7" as '0' < '7'.
  EXPECT_TRUE(NaturalLess("007", "7"));
  EXPECT_FALSE(NaturalLess("7", "007"));
}

TEST(NaturalLessTest, HandlesDigitRunsLongerThanAnInteger) {
  // 30 digits would overflow any integer type; the longer number is the larger.
  EXPECT_TRUE(NaturalLess("x999999999999999999999999999999", "x1000000000000000000000000000000"));
  EXPECT_FALSE(NaturalLess("x1000000000000000000000000000000", "x999999999999999999999999999999"));
}

TEST(DiscoverCasesTest, FindsCasesInNaturalOrder) {
  TempDir root;
  root.WriteFile("svc_cpu/10/data.csv", kCsv);
  root.WriteFile("svc_cpu/2/data.csv", kCsv);
  root.WriteFile("svc_cpu/1/data.csv", kCsv);
  root.WriteFile("other_mem/3/data.csv", kCsv);
  Result<std::vector<CaseRef>> cases = DiscoverCases(root.path());
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_EQ(Ids(*cases),
            (std::vector<std::string>{"other_mem/3", "svc_cpu/1", "svc_cpu/2", "svc_cpu/10"}));
  EXPECT_EQ((*cases)[3].dir, root.path() / "svc_cpu/10");
}

TEST(DiscoverCasesTest, AcceptsSimpleMetricsAndMetricsCsv) {
  TempDir root;
  root.WriteFile("a_cpu/1/simple_metrics.csv", kCsv);
  root.WriteFile("a_cpu/2/metrics.csv", kCsv);
  root.WriteFile("a_cpu/3/data.csv", kCsv);
  Result<std::vector<CaseRef>> cases = DiscoverCases(root.path());
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_EQ(Ids(*cases), (std::vector<std::string>{"a_cpu/1", "a_cpu/2", "a_cpu/3"}));
}

TEST(DiscoverCasesTest, IgnoresDirectoriesWithoutAMetricsFile) {
  TempDir root;
  root.WriteFile("a_cpu/1/data.csv", kCsv);
  root.WriteFile("a_cpu/1/logs/logs.csv", "time,container_name,message\n");
  root.WriteFile("a_cpu/2/inject_time.txt", "100\n");
  root.MakeDir("empty_dir/1");
  Result<std::vector<CaseRef>> cases = DiscoverCases(root.path());
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_EQ(Ids(*cases), (std::vector<std::string>{"a_cpu/1"}));
}

TEST(DiscoverCasesTest, FindsCasesAtAnyDepth) {
  TempDir root;
  root.WriteFile("re2/RE2-OB/cart_cpu/1/data.csv", kCsv);
  root.WriteFile("flat/data.csv", kCsv);
  Result<std::vector<CaseRef>> cases = DiscoverCases(root.path());
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_EQ(Ids(*cases), (std::vector<std::string>{"flat", "re2/RE2-OB/cart_cpu/1"}));
}

TEST(DiscoverCasesTest, RootThatIsACaseIsFoundUnderItsOwnName) {
  TempDir root;
  root.WriteFile("svc_cpu/4/data.csv", kCsv);
  Result<std::vector<CaseRef>> cases = DiscoverCases(root.path() / "svc_cpu/4");
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_EQ(Ids(*cases), (std::vector<std::string>{"4"}));
  // A trailing slash (as shell completion adds) names the same case.
  Result<std::vector<CaseRef>> slash = DiscoverCases((root.path() / "svc_cpu/4").string() + "/");
  ASSERT_TRUE(slash.ok()) << slash.status().message();
  EXPECT_EQ(Ids(*slash), (std::vector<std::string>{"4"}));
}

TEST(DiscoverCasesTest, TrailingSlashOnTheRootGivesTheSameIds) {
  TempDir root;
  root.WriteFile("svc_cpu/1/data.csv", kCsv);
  Result<std::vector<CaseRef>> cases = DiscoverCases(root.path().string() + "/");
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  EXPECT_EQ(Ids(*cases), (std::vector<std::string>{"svc_cpu/1"}));
}

TEST(DiscoverCasesTest, EmptyDirectoryIsNotFound) {
  TempDir root;
  Result<std::vector<CaseRef>> cases = DiscoverCases(root.path());
  ASSERT_FALSE(cases.ok());
  EXPECT_EQ(cases.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cases.status().message(),
            "data: no case (a directory with data.csv) under " + root.path().string());
}

TEST(DiscoverCasesTest, PathThatIsNotADirectoryIsNotFound) {
  TempDir root;
  const auto file = root.WriteFile("data.csv", kCsv);
  Result<std::vector<CaseRef>> cases = DiscoverCases(file);
  ASSERT_FALSE(cases.ok());
  EXPECT_EQ(cases.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cases.status().message(), "data: dataset " + file.string() + " is not a directory");

  const auto missing = root.path() / "missing";
  Result<std::vector<CaseRef>> none = DiscoverCases(missing);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "data: dataset " + missing.string() + " is not a directory");
}

TEST(DiscoverCasesTest, FindsTheSixParityCases) {
  Result<std::vector<CaseRef>> cases =
      DiscoverCases(std::filesystem::path(LLMRCA_TESTDATA_DIR) / "parity");
  ASSERT_TRUE(cases.ok()) << cases.status().message();
  // "ray-head" sorts before "ray-replicas" because 'h' < 'r'; then by fault name.
  EXPECT_EQ(Ids(*cases),
            (std::vector<std::string>{"ray-head_cpu/1", "ray-head_delay/1", "ray-replicas-0_gpu/1",
                                      "ray-replicas-0_memory/1", "ray-replicas-1_delay/1",
                                      "ray-replicas-2_cpu/1"}));
}

}  // namespace
}  // namespace llmrca::data
