#include "sim/generator.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/case.h"
#include "data/dataset.h"
#include "data/ground_truth.h"

namespace llmrca::sim {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("llmrca_gen_test_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

// Direction a fault must move its root-cause metric (full telemetry), and whether users must
// see it in the SLI (z >= 3) or only not better (z > -1): a memory stress below the limit, disk
// I/O and a crash whose failures stay under 10 % of a 30 s window hurt little.
struct Expectation {
  const char* fault;
  const char* target;
  int root_sign;  // +1 up, -1 down, 0 either way (|z| >= 3)
  bool sli_must_rise;
};

TEST_F(GeneratorTest, EveryFaultMovesItsRootCauseAndTheSliAsExpected) {
  const Expectation kCases[] = {
      {"cpu", "ray-replicas-0", +1, true},       {"memory", "ray-replicas-0", +1, false},
      {"oom", "ray-replicas-0", 0, true},         {"network", "ray-replicas-0", +1, true},
      {"loss", "ray-replicas-0", +1, true},       {"gpu", "ray-replicas-0", -1, true},
      {"gpu-contention", "ray-replicas-0", -1, true}, {"kv-cache", "ray-replicas-0", +1, true},
      {"xid", "ray-replicas-0", +1, false},       {"disk", "ray-replicas-0", +1, false},
      {"load-surge", "load", +1, true},
  };
  for (const Expectation& e : kCases) {
    GenerateOptions o;
    o.profile = "llm-extended";
    o.faults = e.fault;
    o.cases = 4;
    o.seed = 3;
    Result<std::vector<PlannedCase>> plan = PlanDataset(o);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    const PlannedCase* pc = nullptr;
    for (const PlannedCase& p : *plan) {
      if (p.config.faults.front().target == e.target) pc = &p;
    }
    ASSERT_NE(pc, nullptr) << e.fault;
    const fs::path out = dir_ / pc->id;
    Result<bool> flagged = WriteCase(*pc, out, o.profile);
    ASSERT_TRUE(flagged.ok()) << flagged.status().message();
    EXPECT_FALSE(*flagged) << e.fault;
    const nlohmann::json doc = nlohmann::json::parse(Slurp(out / "case.json"));
    const nlohmann::json& root = doc["effect"]["root"];
    ASSERT_FALSE(root.is_null()) << e.fault;
    const double root_z = root["z"].get<double>();
    const double signed_z = e.root_sign == 0 ? std::fabs(root_z) : e.root_sign * root_z;
    EXPECT_GE(signed_z, 3) << e.fault << " root " << root["column"];
    const double sli_z = doc["effect"]["sli"]["z"].get<double>();
    if (e.sli_must_rise) {
      EXPECT_GE(sli_z, 3) << e.fault;
    } else {
      EXPECT_GT(sli_z, -1) << e.fault;
    }
  }
}

TEST_F(GeneratorTest, SameSeedGivesByteIdenticalFiles) {
  GenerateOptions o;
  o.profile = "llm-extended";
  o.cases = 3;
  o.out = dir_ / "a";
  ASSERT_TRUE(GenerateDataset(o).ok());
  o.out = dir_ / "b";
  o.jobs = 2;  // parallel generation writes the same bytes
  ASSERT_TRUE(GenerateDataset(o).ok());
  int compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "a")) {
    if (!entry.is_regular_file()) continue;
    const fs::path rel = fs::relative(entry.path(), dir_ / "a");
    EXPECT_EQ(Slurp(entry.path()), Slurp(dir_ / "b" / rel)) << rel;
    ++compared;
  }
  // data, inject_time, case.json, logs, logts, traces, tracets_lat, tracets_err, mpg.
  EXPECT_EQ(compared, 3 * 9);
  o.out = dir_ / "c";
  o.seed = 2;
  ASSERT_TRUE(GenerateDataset(o).ok());
  EXPECT_NE(Slurp(dir_ / "a" / "ray-head_cpu" / "1" / "data.csv"),
            Slurp(dir_ / "c" / "ray-head_cpu" / "1" / "data.csv"));
}

TEST_F(GeneratorTest, SeedParityDatasetLoadsThroughTheCoreLoader) {
  GenerateOptions o;
  o.out = dir_;
  o.cases = 4;  // one repetition of the cpu fault on each of the 4 engines
  Result<GenerateReport> report = GenerateDataset(o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->cases, 4);
  Result<std::vector<data::CaseRef>> cases = data::DiscoverCases(dir_);
  ASSERT_TRUE(cases.ok());
  ASSERT_EQ(cases->size(), 4u);
  for (const data::CaseRef& ref : *cases) {
    Result<data::Case> c = data::LoadCase(ref.dir, data::PreprocessOptions{}, ref.id);
    ASSERT_TRUE(c.ok()) << c.status().message();
    Result<data::GroundTruth> truth = data::ReadGroundTruth(ref.dir);
    ASSERT_TRUE(truth.ok());
    EXPECT_EQ(truth->fault, "cpu");
    EXPECT_EQ(ref.id, truth->service + "_cpu/1");
    EXPECT_EQ(truth->indicator, "ctn_cpu");
    // 72 rows, the fault at 285 s: 57 normal rows and 15 anomalous (seed A.4).
    EXPECT_EQ(c->metrics.NumRows(), 72);
    EXPECT_EQ(c->FirstAnomalousRow(), 57);
    // After the study's preprocessing: ctn_cpu, ctn_network, ctn_memory and latency for
    // nginx-proxy (its empty ctn_gpu becomes a constant 0 and is dropped) and those plus ctn_gpu
    // for the 4 engines: 4 + 4 x 5 = 24 metric columns.
    EXPECT_EQ(c->metrics.NumCols(), 24);
    EXPECT_TRUE(c->metrics.FindColumn("ray-head_latency").has_value());
    EXPECT_FALSE(c->metrics.FindColumn("ray-head_pod_ip").has_value());
    EXPECT_EQ(c->sli, "nginx-proxy_latency");
  }
}

TEST_F(GeneratorTest, BadOptionsAreClearErrors) {
  GenerateOptions o;
  o.out = dir_;
  o.profile = "seed-parit";
  Status profile = GenerateDataset(o).status();
  EXPECT_TRUE(profile.IsInvalidArgument());
  EXPECT_THAT(profile.message(), HasSubstr("did you mean 'seed-parity'?"));
  o.profile = "seed-parity";
  o.faults = "cpu,gpuu";
  Status fault = GenerateDataset(o).status();
  EXPECT_TRUE(fault.IsInvalidArgument());
  EXPECT_THAT(fault.message(), HasSubstr("unknown fault 'gpuu'"));
  o.faults = "";
  o.replicas = 1001;
  EXPECT_THAT(GenerateDataset(o).status().message(), HasSubstr("--replicas must be in [1, 1000]"));
  o.replicas = 0;
  EXPECT_THAT(GenerateDataset(o).status().message(), HasSubstr("got 0"));
  o.replicas = -1;  // the profile's
  o.fault_start_s = 330;  // 330 + 60 s ends after the 360 s run
  EXPECT_THAT(GenerateDataset(o).status().message(), HasSubstr("is outside the run [0, 360] s"));
  o.fault_start_s = -1;
  o.gpu = "h100";  // the study's 150 W cap is below an H100's 200 W minimum
  EXPECT_THAT(GenerateDataset(o).status().message(), HasSubstr("rejected by the driver of h100"));
  o.gpu = "";
  o.faults = "cpu:cores=3";
  EXPECT_THAT(GenerateDataset(o).status().message(), HasSubstr("has no parameter 'cores'"));
}

TEST_F(GeneratorTest, RefusesANonEmptyDirectoryUnlessForced) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "keep.txt") << "x";
  GenerateOptions o;
  o.out = dir_;
  o.cases = 1;
  Status s = GenerateDataset(o).status();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), HasSubstr("is not empty"));
  o.force = true;
  EXPECT_TRUE(GenerateDataset(o).ok());
  EXPECT_TRUE(fs::exists(dir_ / "keep.txt"));
}

}  // namespace
}  // namespace llmrca::sim
