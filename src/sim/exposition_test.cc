#include "sim/exposition.h"

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::sim {
namespace {

TEST(ExpositionTest, SampleValuesAreWrittenAsPrometheusClientsWriteThem) {
  EXPECT_EQ(FormatSampleValue(3), "3.0");
  EXPECT_EQ(FormatSampleValue(0), "0.0");
  EXPECT_EQ(FormatSampleValue(-2), "-2.0");
  EXPECT_EQ(FormatSampleValue(0.001), "0.001");
  EXPECT_EQ(FormatSampleValue(2.5), "2.5");
  EXPECT_EQ(FormatSampleValue(1e-7), "1e-07");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(ExpositionTest, LabelValuesAreEscaped) {
  EXPECT_EQ(FormatLabels({}), "");
  EXPECT_EQ(FormatLabels({{"a", "x"}, {"b", "q\"b\\s\nn"}}), "{a=\"x\",b=\"q\\\"b\\\\s\\nn\"}");
}

TEST(ExpositionTest, HistogramBucketsAreCumulativeAndUpperBoundInclusive) {
  // Bounds 1, 2, 5; observations 0.5, 1 (on a bound: counts in le="1"), 1.5, 7 and NaN (dropped).
  // By hand: le=1 -> 2, le=2 -> 3, le=5 -> 3, +Inf -> 4; sum 10; count 4.
  Histogram h({1, 2, 5});
  for (const double v : {0.5, 1.0, 1.5, 7.0, std::numeric_limits<double>::quiet_NaN()}) {
    h.Observe(v);
  }
  ExpositionWriter w;
  w.Family("x_seconds", "histogram", "Help text.");
  w.HistogramSamples("x_seconds", {{"m", "a"}}, h);
  EXPECT_EQ(w.text(),
            "# HELP x_seconds Help text.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{m=\"a\",le=\"1.0\"} 2.0\n"
            "x_seconds_bucket{m=\"a\",le=\"2.0\"} 3.0\n"
            "x_seconds_bucket{m=\"a\",le=\"5.0\"} 3.0\n"
            "x_seconds_bucket{m=\"a\",le=\"+Inf\"} 4.0\n"
            "x_seconds_sum{m=\"a\"} 10.0\n"
            "x_seconds_count{m=\"a\"} 4.0\n");
}

TEST(ExpositionTest, VllmBoundsMatchTheReference) {
  // docs/reference/load-testing.md 4.1: TTFT 0.001...2560 s, TPOT 0.01...80 s, E2E 0.3...7680 s.
  EXPECT_EQ(VllmTtftBounds().front(), 0.001);
  EXPECT_EQ(VllmTtftBounds().back(), 2560.0);
  EXPECT_EQ(VllmTpotBounds().front(), 0.01);
  EXPECT_EQ(VllmTpotBounds().back(), 80.0);
  EXPECT_EQ(VllmRequestLatencyBounds().front(), 0.3);
  EXPECT_EQ(VllmRequestLatencyBounds().back(), 7680.0);
  for (const auto& b : {VllmTtftBounds(), VllmTpotBounds(), VllmRequestLatencyBounds()}) {
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  }
  // 1-2-5 up to max_model_len 2048: 1 2 5 10 20 50 100 200 500 1000 2000.
  EXPECT_EQ(VllmTokenCountBounds(2048),
            (std::vector<double>{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000}));
}

// Every line of an exposition is a comment or `name{labels} value`, every sample's family was
// declared before it with one of the four types, and no family is declared twice.
void ExpectWellFormed(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::map<std::string, std::string> types;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      std::string name, type;
      f >> name >> type;
      EXPECT_TRUE(type == "gauge" || type == "counter" || type == "histogram" || type == "summary")
          << line;
      EXPECT_TRUE(types.emplace(name, type).second) << "declared twice: " << name;
      continue;
    }
    const size_t name_end = line.find_first_of("{ ");
    ASSERT_NE(name_end, std::string::npos) << line;
    std::string name = line.substr(0, name_end);
    for (const char* suffix : {"_bucket", "_sum", "_count", "_total"}) {
      const std::string s(suffix);
      if (!types.count(name) && name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0) {
        name.resize(name.size() - s.size());
      }
    }
    EXPECT_TRUE(types.count(name)) << "sample before its # TYPE: " << line;
    const std::string value = line.substr(line.rfind(' ') + 1);
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    EXPECT_TRUE(*end == '\0' || value == "+Inf" || value == "NaN") << line;
  }
}

TEST(ExpositionTest, VllmSeriesCarryTheirNamesTypesAndValues) {
  VllmMetrics m(4096);
  m.num_requests_running = 3;
  m.num_requests_waiting = 7;
  m.kv_cache_usage = 0.25;
  m.num_preemptions = 2;
  m.prompt_tokens = 1024;
  m.generation_tokens = 300;
  m.success_length = 5;
  m.ttft_s.Observe(0.03);  // in le="0.04" and above
  ExpositionWriter w;
  m.Render(w, "llama", 0);
  const std::string& t = w.text();
  ExpectWellFormed(t);
  const std::string l = "{model_name=\"llama\",engine=\"0\"}";
  for (const std::string& want : std::vector<std::string>{
           "# TYPE vllm:num_requests_running gauge\n", "vllm:num_requests_running" + l + " 3.0\n",
        "vllm:num_requests_waiting" + l + " 7.0\n", "vllm:kv_cache_usage_perc" + l + " 0.25\n",
        "vllm:gpu_cache_usage_perc" + l + " 0.25\n", "# TYPE vllm:num_preemptions counter\n",
        "vllm:num_preemptions_total" + l + " 2.0\n", "vllm:prompt_tokens_total" + l + " 1024.0\n",
        "vllm:generation_tokens_total" + l + " 300.0\n",
        "vllm:request_success_total{model_name=\"llama\",engine=\"0\",finished_reason=\"length\"} 5.0\n",
        "# TYPE vllm:time_to_first_token_seconds histogram\n",
        "vllm:time_to_first_token_seconds_bucket{model_name=\"llama\",engine=\"0\",le=\"0.02\"} 0.0\n",
        "vllm:time_to_first_token_seconds_bucket{model_name=\"llama\",engine=\"0\",le=\"0.04\"} 1.0\n",
        "vllm:time_to_first_token_seconds_count" + l + " 1.0\n",
        "vllm:time_to_first_token_seconds_sum" + l + " 0.03\n"}) {
    EXPECT_NE(t.find(want), std::string::npos) << "missing: " << want;
  }
}

TEST(ExpositionTest, DcgmSeriesHaveOneHeaderPerFamilyAndOneSamplePerGpu) {
  DcgmGpu a;
  a.index = 0;
  a.uuid = "GPU-0";
  a.model_name = "NVIDIA H100 80GB HBM3";
  a.hostname = "sim";
  a.sm_clock_mhz = 1980;
  a.power_usage_w = 412.5;
  a.last_xid = 79;
  DcgmGpu b = a;
  b.index = 1;
  b.uuid = "GPU-1";
  b.power_violation_ns = 1500;
  ExpositionWriter w;
  const DcgmGpu gpus[] = {a, b};
  RenderDcgm(w, gpus);
  const std::string& t = w.text();
  ExpectWellFormed(t);
  const std::string la =
      "{gpu=\"0\",UUID=\"GPU-0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\","
      "Hostname=\"sim\"}";
  const std::string lb =
      "{gpu=\"1\",UUID=\"GPU-1\",device=\"nvidia1\",modelName=\"NVIDIA H100 80GB HBM3\","
      "Hostname=\"sim\"}";
  EXPECT_NE(t.find("DCGM_FI_DEV_SM_CLOCK" + la + " 1980.0\n"), std::string::npos);
  EXPECT_NE(t.find("DCGM_FI_DEV_POWER_USAGE" + la + " 412.5\n"), std::string::npos);
  EXPECT_NE(t.find("DCGM_FI_DEV_XID_ERRORS" + lb + " 79.0\n"), std::string::npos);
  EXPECT_NE(t.find("DCGM_FI_DEV_POWER_VIOLATION" + lb + " 1500.0\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE DCGM_FI_DEV_POWER_VIOLATION counter\n"), std::string::npos);
}

}  // namespace
}  // namespace llmrca::sim
