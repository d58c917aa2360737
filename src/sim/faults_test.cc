#include "sim/faults.h"

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/status.h"
#include "sim/config.h"
#include "sim/hardware.h"

namespace llmrca::sim {
namespace {

using ::testing::HasSubstr;
using Names = std::vector<std::string>;

TEST(FaultNameTest, EveryKindRoundTripsThroughItsName) {
  const std::vector<FaultKind> kinds = AllFaultKinds();
  ASSERT_EQ(kinds.size(), 11u);
  std::set<std::string> seen;
  for (FaultKind kind : kinds) {
    const std::string name(FaultName(kind));
    EXPECT_NE(name, "?");
    EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
    Result<FaultKind> parsed = ParseFaultKind(name);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, kind) << name;
  }
  // The study's four labels (seed-study A.4) are among them.
  EXPECT_EQ(FaultName(FaultKind::kCpu), "cpu");
  EXPECT_EQ(FaultName(FaultKind::kMemory), "memory");
  EXPECT_EQ(FaultName(FaultKind::kNetwork), "network");
  EXPECT_EQ(FaultName(FaultKind::kGpu), "gpu");
  EXPECT_EQ(FaultName(FaultKind::kGpuContention), "gpu-contention");
  EXPECT_EQ(FaultName(FaultKind::kLoadSurge), "load-surge");
}

TEST(FaultNameTest, UnknownNameIsAnInvalidArgumentWithASuggestion) {
  Result<FaultKind> r = ParseFaultKind("gpu-contetion");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("unknown fault 'gpu-contetion'"));
  EXPECT_THAT(r.status().message(), HasSubstr("did you mean 'gpu-contention'?"));

  r = ParseFaultKind("CPU");  // names are case-sensitive
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(FaultParamsTest, StudyFaultsUseTheStudysParameters) {
  // seed-study.md A.4: StressChaos cpu 16 workers load 100; memory size 8GB; NetworkChaos
  // delay latency 1000ms jitter 100ms correlation 0.25; nvidia-smi -pl 150.
  auto cpu = DefaultFaultParams(FaultKind::kCpu);
  EXPECT_DOUBLE_EQ(cpu.at("workers"), 16);
  EXPECT_DOUBLE_EQ(cpu.at("load"), 100);
  auto memory = DefaultFaultParams(FaultKind::kMemory);
  EXPECT_DOUBLE_EQ(memory.at("size_gb"), 8);
  auto network = DefaultFaultParams(FaultKind::kNetwork);
  EXPECT_DOUBLE_EQ(network.at("delay_ms"), 1000);
  EXPECT_DOUBLE_EQ(network.at("jitter_ms"), 100);
  EXPECT_DOUBLE_EQ(network.at("correlation"), 0.25);
  auto gpu = DefaultFaultParams(FaultKind::kGpu);
  EXPECT_EQ(gpu.size(), 1u);
  EXPECT_DOUBLE_EQ(gpu.at("power_cap_w"), 150);
}

TEST(FaultParamsTest, EveryKindDeclaresItsParameters) {
  for (FaultKind kind : AllFaultKinds()) {
    EXPECT_FALSE(DefaultFaultParams(kind).empty()) << FaultName(kind);
  }
}

TEST(FaultSpecTest, ParamReturnsTheStoredValue) {
  FaultSpec f;
  f.kind = FaultKind::kGpu;
  f.params = DefaultFaultParams(FaultKind::kGpu);
  EXPECT_DOUBLE_EQ(f.Param("power_cap_w"), 150);
  // The study's timing (seed-study A.4): 285 s after the start, for 60 s.
  EXPECT_DOUBLE_EQ(f.start_s, 285);
  EXPECT_DOUBLE_EQ(f.duration_s, 60);
}

TEST(FaultListTest, ParsesNamesAndParameterOverrides) {
  Result<std::vector<FaultTemplate>> r = ParseFaultList("cpu,gpu:power_cap_w=200");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].kind, FaultKind::kCpu);
  EXPECT_DOUBLE_EQ((*r)[0].params.at("workers"), 16);  // defaults filled
  EXPECT_DOUBLE_EQ((*r)[0].params.at("load"), 100);
  EXPECT_EQ((*r)[1].kind, FaultKind::kGpu);
  EXPECT_DOUBLE_EQ((*r)[1].params.at("power_cap_w"), 200);
}

TEST(FaultListTest, TrimsSpacesAndTakesSeveralParameters) {
  Result<std::vector<FaultTemplate>> r =
      ParseFaultList(" network:delay_ms=500:jitter_ms=0 , memory ");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].kind, FaultKind::kNetwork);
  EXPECT_DOUBLE_EQ((*r)[0].params.at("delay_ms"), 500);
  EXPECT_DOUBLE_EQ((*r)[0].params.at("jitter_ms"), 0);
  EXPECT_DOUBLE_EQ((*r)[0].params.at("correlation"), 0.25);
  EXPECT_EQ((*r)[1].kind, FaultKind::kMemory);
  EXPECT_DOUBLE_EQ((*r)[1].params.at("size_gb"), 8);
}

TEST(FaultListTest, RejectsAnUnknownParameterWithASuggestion) {
  Result<std::vector<FaultTemplate>> r = ParseFaultList("cpu,gpu:power_cap=200");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("fault gpu has no parameter 'power_cap'"));
  EXPECT_THAT(r.status().message(), HasSubstr("did you mean 'power_cap_w'?"));
}

TEST(FaultListTest, RejectsNonNumericAndNegativeValues) {
  for (const char* text : {"gpu:power_cap_w=abc", "gpu:power_cap_w=-5",
                           "gpu:power_cap_w=", "gpu:power_cap_w=12x", "gpu:power_cap_w=inf"}) {
    Result<std::vector<FaultTemplate>> r = ParseFaultList(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(r.status().message(), HasSubstr("must be a non-negative number")) << text;
  }
}

TEST(FaultListTest, RejectsEmptyItemsAndMalformedParameters) {
  for (const char* text : {"", "cpu,,gpu", "cpu,", " , "}) {
    Result<std::vector<FaultTemplate>> r = ParseFaultList(text);
    ASSERT_FALSE(r.ok()) << "'" << text << "'";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(r.status().message(), HasSubstr("empty")) << text;
  }
  for (const char* text : {"cpu:workers", "cpu:=3"}) {
    Result<std::vector<FaultTemplate>> r = ParseFaultList(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_THAT(r.status().message(), HasSubstr("is not key=value")) << text;
  }
  Result<std::vector<FaultTemplate>> r = ParseFaultList("cpu,gpuu");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("unknown fault 'gpuu'"));
}

TEST(FaultAppliesToTest, NginxTakesContainerFaultsButNoGpuOrEngineFault) {
  for (FaultKind kind : {FaultKind::kCpu, FaultKind::kMemory, FaultKind::kNetwork}) {
    EXPECT_TRUE(FaultAppliesTo(kind, "nginx-proxy")) << FaultName(kind);
  }
  for (FaultKind kind : {FaultKind::kGpu, FaultKind::kGpuContention, FaultKind::kKvCache,
                         FaultKind::kXid, FaultKind::kLoadSurge}) {
    EXPECT_FALSE(FaultAppliesTo(kind, "nginx-proxy")) << FaultName(kind);
  }
}

TEST(FaultAppliesToTest, EnginesTakeEveryFaultButLoadSurge) {
  for (FaultKind kind : AllFaultKinds()) {
    const bool expected = kind != FaultKind::kLoadSurge;
    EXPECT_EQ(FaultAppliesTo(kind, "ray-head"), expected) << FaultName(kind);
    EXPECT_EQ(FaultAppliesTo(kind, "ray-replicas-2"), expected) << FaultName(kind);
  }
}

TEST(FaultAppliesToTest, LoadSurgeTargetsOnlyLoad) {
  EXPECT_TRUE(FaultAppliesTo(FaultKind::kLoadSurge, "load"));
  for (FaultKind kind : AllFaultKinds()) {
    if (kind == FaultKind::kLoadSurge) continue;
    EXPECT_FALSE(FaultAppliesTo(kind, "load")) << FaultName(kind);
  }
}

TEST(FaultsTest, RootIndicatorOfTheStudysFaultsInSeedTelemetry) {
  // The seed's per-container columns (seed-study A.5(b)): ctn_cpu, ctn_memory, ctn_gpu, and the
  // Istio latency columns.
  EXPECT_EQ(RootIndicator(FaultKind::kCpu, TelemetryMode::kSeed), "ctn_cpu");
  EXPECT_EQ(RootIndicator(FaultKind::kMemory, TelemetryMode::kSeed), "ctn_memory");
  EXPECT_EQ(RootIndicator(FaultKind::kNetwork, TelemetryMode::kSeed), "latency");
  EXPECT_EQ(RootIndicator(FaultKind::kGpu, TelemetryMode::kSeed), "ctn_gpu");
  // Seed telemetry has no disk or request-rate metric.
  EXPECT_EQ(RootIndicator(FaultKind::kDisk, TelemetryMode::kSeed), "");
  EXPECT_EQ(RootIndicator(FaultKind::kLoadSurge, TelemetryMode::kSeed), "");
}

TEST(FaultsTest, RootIndicatorInFullTelemetry) {
  EXPECT_EQ(RootIndicator(FaultKind::kCpu, TelemetryMode::kFull), "ctn_cpu");
  EXPECT_EQ(RootIndicator(FaultKind::kMemory, TelemetryMode::kFull), "ctn_working_set");
  EXPECT_EQ(RootIndicator(FaultKind::kOom, TelemetryMode::kFull), "ctn_working_set");
  EXPECT_EQ(RootIndicator(FaultKind::kNetwork, TelemetryMode::kFull), "latency_p90");
  EXPECT_EQ(RootIndicator(FaultKind::kGpu, TelemetryMode::kFull), "gpu_sm_clock");
  EXPECT_EQ(RootIndicator(FaultKind::kGpuContention, TelemetryMode::kFull), "gpu_mem_util");
  EXPECT_EQ(RootIndicator(FaultKind::kKvCache, TelemetryMode::kFull), "vllm_kv_cache_usage");
  EXPECT_EQ(RootIndicator(FaultKind::kXid, TelemetryMode::kFull), "gpu_xid");
  EXPECT_EQ(RootIndicator(FaultKind::kDisk, TelemetryMode::kFull), "ctn_disk_io");
  EXPECT_EQ(RootIndicator(FaultKind::kLoadSurge, TelemetryMode::kFull), "request_rate");
}

TEST(TopologyTest, ComponentNamesForFourReplicas) {
  Topology t;
  t.replicas = 4;
  EXPECT_EQ(t.ComponentNames(), (Names{"nginx-proxy", "ray-head", "ray-replicas-0",
                                       "ray-replicas-1", "ray-replicas-2"}));
  t.replicas = 1;
  EXPECT_EQ(t.ComponentNames(), (Names{"nginx-proxy", "ray-head"}));
}

// The study's case: a 150 W cap on ray-replicas-0, 285 s into a 360 s run, on the
// study-parity "a100-80" GPU.
CaseConfig StudyCase() {
  CaseConfig c;
  c.id = "ray-replicas-0_gpu/1";
  Result<GpuProfile> gpu = FindGpuProfile("a100-80");
  EXPECT_TRUE(gpu.ok());
  if (gpu.ok()) c.gpu = *gpu;
  Result<ModelProfile> model = FindModelProfile("falcon-h1-7b");
  EXPECT_TRUE(model.ok());
  if (model.ok()) c.model = *model;
  FaultSpec f;
  f.kind = FaultKind::kGpu;
  f.target = "ray-replicas-0";
  f.params = DefaultFaultParams(FaultKind::kGpu);
  c.faults.push_back(f);
  return c;
}

void ExpectInvalid(const CaseConfig& c, const std::string& fragment) {
  const Status s = c.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << fragment;
  EXPECT_THAT(s.message(), HasSubstr(fragment));
  EXPECT_THAT(s.message(), HasSubstr(fmt::format("sim: case {}: ", c.id)));
}

TEST(CaseConfigTest, TheStudysGpuCaseIsValid) {
  const CaseConfig c = StudyCase();
  const Status s = c.Validate();
  EXPECT_TRUE(s.ok()) << s.message();
  // 285 + 60 = 345 s <= 360 s; a window ending exactly at the run end is allowed too.
  CaseConfig end = StudyCase();
  end.faults[0].start_s = 300;
  EXPECT_TRUE(end.Validate().ok());
  // No fault at all is a valid (normal) case.
  CaseConfig normal = StudyCase();
  normal.faults.clear();
  EXPECT_TRUE(normal.Validate().ok());
}

TEST(CaseConfigTest, RejectsReplicaCountsOutsideOneToAThousand) {
  CaseConfig c = StudyCase();
  c.topology.replicas = 0;
  ExpectInvalid(c, "replicas must be in [1, 1000], got 0");
  c.topology.replicas = 1001;
  ExpectInvalid(c, "replicas must be in [1, 1000], got 1001");
  c.topology.replicas = 1000;
  EXPECT_TRUE(c.Validate().ok());
}

TEST(CaseConfigTest, RejectsAFaultWindowPastTheRunEnd) {
  CaseConfig c = StudyCase();
  c.faults[0].start_s = 330;  // 330 + 60 = 390 > 360
  ExpectInvalid(c, "fault gpu window [330, 390] s is outside the run [0, 360] s");
  c.faults[0].start_s = -1;
  ExpectInvalid(c, "is outside the run");
  c.faults[0].start_s = 100;
  c.faults[0].duration_s = 0;
  ExpectInvalid(c, "is outside the run");
}

TEST(CaseConfigTest, RejectsAnUnknownTarget) {
  CaseConfig c = StudyCase();
  c.faults[0].target = "ray-replicas-3";  // replicas = 4: ray-replicas-0..2 exist
  ExpectInvalid(c, "fault target 'ray-replicas-3' is not a component of this topology");
  EXPECT_THAT(c.Validate().message(),
              HasSubstr("(nginx-proxy, ray-head, ray-replicas-0, ray-replicas-1, ray-replicas-2)"));
}

TEST(CaseConfigTest, RejectsAGpuFaultOnNginx) {
  CaseConfig c = StudyCase();
  c.faults[0].target = "nginx-proxy";
  ExpectInvalid(c, "fault gpu cannot target nginx-proxy");
  // A CPU fault there is fine.
  c.faults[0].kind = FaultKind::kCpu;
  c.faults[0].params = DefaultFaultParams(FaultKind::kCpu);
  EXPECT_TRUE(c.Validate().ok());
}

TEST(CaseConfigTest, LoadSurgeMustTargetLoad) {
  CaseConfig c = StudyCase();
  c.faults[0].kind = FaultKind::kLoadSurge;
  c.faults[0].params = DefaultFaultParams(FaultKind::kLoadSurge);
  c.faults[0].target = "load";
  EXPECT_TRUE(c.Validate().ok());
  c.faults[0].target = "ray-head";
  ExpectInvalid(c, "fault load-surge cannot target ray-head");
}

TEST(CaseConfigTest, PowerCapMustBeSettableOnTheGpu) {
  // The H100 driver accepts 200-700 W (llm-serving-model.md 3.1): 150 W is rejected.
  CaseConfig c = StudyCase();
  Result<GpuProfile> h100 = FindGpuProfile("h100");
  ASSERT_TRUE(h100.ok());
  c.gpu = *h100;
  ExpectInvalid(c, "power cap 150 W is rejected by the driver of h100 (settable 200-700 W)");
  // 200 W is the lowest it accepts; above the default limit is rejected too.
  c.faults[0].params["power_cap_w"] = 200;
  EXPECT_TRUE(c.Validate().ok());
  c.faults[0].params["power_cap_w"] = 701;
  ExpectInvalid(c, "power cap 701 W is rejected");
  // The study-parity A100 80 GB takes 150 W.
  EXPECT_TRUE(StudyCase().Validate().ok());
}

TEST(CaseConfigTest, RejectsADurationShorterThanTwoSteps) {
  CaseConfig c = StudyCase();
  c.faults.clear();
  c.duration_s = 9;  // two 5 s steps need 10 s
  ExpectInvalid(c, "duration 9 s must cover at least two 5 s steps");
  c.duration_s = 10;
  EXPECT_TRUE(c.Validate().ok());
  c.duration_s = 0;
  ExpectInvalid(c, "must cover at least two");
  c.duration_s = 360;
  c.telemetry.step_s = 0;
  ExpectInvalid(c, "must cover at least two");
}

TEST(CaseConfigTest, RejectsNonPositiveLoad) {
  CaseConfig c = StudyCase();
  c.load.qps = 0;
  ExpectInvalid(c, "qps must be positive, got 0");
  c = StudyCase();
  c.load.output_tokens = 0.5;
  ExpectInvalid(c, "prompt and output tokens must be at least 1");
}

}  // namespace
}  // namespace llmrca::sim
