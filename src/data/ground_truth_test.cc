#include "data/ground_truth.h"

#include <string>

#include <gtest/gtest.h>

#include "data/testing/temp_dir.h"

namespace llmrca::data {
namespace {

using ::llmrca::testutil::TempDir;

TEST(GroundTruthTest, DerivesServiceAndFaultFromTheParentFolderName) {
  TempDir root;
  const auto dir = root.MakeDir("ray-replicas-0_cpu/3");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_EQ(truth->service, "ray-replicas-0");
  EXPECT_EQ(truth->fault, "cpu");
  EXPECT_EQ(truth->indicator, std::nullopt);
  EXPECT_FALSE(truth->from_case_json);
}

TEST(GroundTruthTest, AcceptsATrailingSlashAndAHyphenatedFault) {
  TempDir root;
  const auto dir = root.MakeDir("nginx-proxy_kv-cache/1");
  Result<GroundTruth> truth = ReadGroundTruth(dir.string() + "/");
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_EQ(truth->service, "nginx-proxy");
  EXPECT_EQ(truth->fault, "kv-cache");
}

TEST(GroundTruthTest, CaseJsonOverridesTheFolderName) {
  TempDir root;
  const auto dir = root.MakeDir("ray-head_cpu/1");
  root.WriteFile("ray-head_cpu/1/case.json", R"({
    "root_cause": {"service": "nginx-proxy", "indicator": "latency"},
    "fault": {"type": "delay", "start": 1732500000, "end": null, "params": {}},
    "sli": "nginx-proxy_latency"})");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_EQ(truth->service, "nginx-proxy");
  EXPECT_EQ(truth->fault, "delay");
  EXPECT_EQ(truth->indicator, "latency");
  EXPECT_TRUE(truth->from_case_json);
}

TEST(GroundTruthTest, CaseJsonRescuesAFolderNameThatIsNotServiceUnderscoreFault) {
  TempDir root;
  const auto dir = root.MakeDir("run_2024_11/7");
  root.WriteFile("run_2024_11/7/case.json",
                 R"({"root_cause": {"service": "ray-head", "indicator": "ctn_gpu"}})");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_EQ(truth->service, "ray-head");
  EXPECT_EQ(truth->fault, "");  // no "fault" object and no <service>_<fault> folder: unknown
  EXPECT_EQ(truth->indicator, "ctn_gpu");
}

TEST(GroundTruthTest, NullIndicatorMeansOnlyTheServiceIsKnown) {
  TempDir root;
  const auto dir = root.MakeDir("x_cpu/1");
  root.WriteFile("x_cpu/1/case.json",
                 R"({"root_cause": {"service": "ray-head", "indicator": null},
                     "fault": {"type": null}})");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_EQ(truth->service, "ray-head");
  EXPECT_EQ(truth->indicator, std::nullopt);
  EXPECT_EQ(truth->fault, "cpu");  // fault.type is null: the folder name x_cpu supplies it
  EXPECT_TRUE(truth->from_case_json);
}

TEST(GroundTruthTest, RejectsAFolderNameWithThreeParts) {
  TempDir root;
  const auto dir = root.MakeDir("ray_head_cpu/1");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_FALSE(truth.ok());
  EXPECT_EQ(truth.status().code(), StatusCode::kDataError);
  EXPECT_EQ(truth.status().message(),
            "data: " + dir.string() +
                ": cannot derive ground truth: parent folder 'ray_head_cpu' is not "
                "'<service>_<fault>' and there is no case.json");
}

TEST(GroundTruthTest, RejectsAFolderNameWithoutUnderscore) {
  TempDir root;
  const auto dir = root.MakeDir("rayhead/1");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_FALSE(truth.ok());
  EXPECT_EQ(truth.status().code(), StatusCode::kDataError);
  EXPECT_EQ(truth.status().message(),
            "data: " + dir.string() +
                ": cannot derive ground truth: parent folder 'rayhead' is not "
                "'<service>_<fault>' and there is no case.json");
}

TEST(GroundTruthTest, RejectsAnEmptyServiceOrFault) {
  TempDir root;
  EXPECT_EQ(ReadGroundTruth(root.MakeDir("_cpu/1")).status().code(), StatusCode::kDataError);
  EXPECT_EQ(ReadGroundTruth(root.MakeDir("ray-head_/1")).status().code(), StatusCode::kDataError);
}

TEST(GroundTruthTest, MalformedCaseJsonIsADataErrorNamingTheFile) {
  TempDir root;
  const auto dir = root.MakeDir("ray-head_cpu/1");
  const auto file = root.WriteFile("ray-head_cpu/1/case.json", R"({"root_cause": {"service": )");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_FALSE(truth.ok());
  EXPECT_EQ(truth.status().code(), StatusCode::kDataError);
  // The folder name would have worked: a broken case.json is still an error, not ignored.
  EXPECT_EQ(truth.status().message(), "data: " + file.string() + ": not valid JSON");
}

TEST(GroundTruthTest, CaseJsonWithWrongShapesNamesTheField) {
  TempDir root;
  const auto dir = root.MakeDir("ray-head_cpu/1");
  const std::string prefix = "data: " + (dir / "case.json").string() + ": ";
  struct Bad {
    const char* json;
    const char* message;
  };
  const Bad cases[] = {
      {"[1, 2]", "expected a JSON object"},
      {R"({"fault": {"type": "cpu"}})", "missing object 'root_cause'"},
      {R"({"root_cause": "ray-head"})", "missing object 'root_cause'"},
      {R"({"root_cause": {"indicator": "x"}})", "'root_cause.service' must be a non-empty string"},
      {R"({"root_cause": {"service": ""}})", "'root_cause.service' must be a non-empty string"},
      {R"({"root_cause": {"service": 3}})", "'root_cause.service' must be a non-empty string"},
      {R"({"root_cause": {"service": "a", "indicator": 5}})",
       "'root_cause.indicator' must be a string or null"},
      {R"({"root_cause": {"service": "a"}, "fault": {"type": 1}})",
       "'fault.type' must be a string"},
  };
  for (const Bad& bad : cases) {
    root.WriteFile("ray-head_cpu/1/case.json", bad.json);
    Result<GroundTruth> truth = ReadGroundTruth(dir);
    ASSERT_FALSE(truth.ok()) << bad.json;
    EXPECT_EQ(truth.status().code(), StatusCode::kDataError) << bad.json;
    EXPECT_EQ(truth.status().message(), prefix + bad.message) << bad.json;
  }
}

TEST(GroundTruthTest, ReadsTheParityFixture) {
  Result<GroundTruth> truth =
      ReadGroundTruth(std::filesystem::path(LLMRCA_TESTDATA_DIR) / "parity/ray-head_cpu/1");
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  // testdata/parity/ray-head_cpu/1/case.json: root_cause ray-head / ctn_cpu, fault cpu.
  EXPECT_EQ(truth->service, "ray-head");
  EXPECT_EQ(truth->indicator, "ctn_cpu");
  EXPECT_EQ(truth->fault, "cpu");
  EXPECT_TRUE(truth->from_case_json);
}

TEST(GroundTruthTest, ReadsTheFlaggedMarkOfGeneratedCases) {
  TempDir root;
  const auto dir = root.MakeDir("ray-head_cpu/1");
  root.WriteFile("ray-head_cpu/1/case.json",
                 R"({"root_cause": {"service": "ray-head", "indicator": "ctn_cpu"},
                     "fault": {"type": "cpu"}, "flagged": true})");
  Result<GroundTruth> truth = ReadGroundTruth(dir);
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  EXPECT_TRUE(truth->flagged);
  root.WriteFile("ray-head_cpu/1/case.json",
                 R"({"root_cause": {"service": "ray-head"}, "flagged": "yes"})");
  Result<GroundTruth> bad = ReadGroundTruth(dir);
  EXPECT_TRUE(bad.status().IsDataError());
  EXPECT_NE(bad.status().message().find("'flagged' must be true or false"), std::string::npos);
}

}  // namespace
}  // namespace llmrca::data
