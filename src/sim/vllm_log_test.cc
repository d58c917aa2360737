#include "sim/vllm_log.h"

#include <cctype>

#include <gtest/gtest.h>

namespace llmrca::sim {
namespace {

TEST(VllmLogTest, StatsMessageMatchesARealV1Line) {
  // The message part of a vLLM V1 log line quoted in reference/llm-serving-model.md section 7.
  EXPECT_EQ(VllmStatsMessage(2123.9, 23.2, 0, 0, 0.0),
            "Engine 000: Avg prompt throughput: 2123.9 tokens/s, Avg generation throughput: 23.2 "
            "tokens/s, Running: 0 reqs, Waiting: 0 reqs, GPU KV cache usage: 0.0%, Prefix cache "
            "hit rate: 0.0%");
}

TEST(VllmLogTest, StatsLineRatesOverTheIntervalAndQuietWhenIdleTwice) {
  VllmStatsLine line;
  VllmMetrics m(4096);
  m.prompt_tokens = 100;
  m.generation_tokens = 50;
  m.num_requests_running = 3;
  m.num_requests_waiting = 1;
  m.kv_cache_usage = 0.4567;
  // 100 prompt and 50 output tokens in 5 s: 20.0 and 10.0 tokens/s.
  EXPECT_EQ(line.Next(m, 5),
            "Engine 000: Avg prompt throughput: 20.0 tokens/s, Avg generation throughput: 10.0 "
            "tokens/s, Running: 3 reqs, Waiting: 1 reqs, GPU KV cache usage: 45.7%, Prefix cache "
            "hit rate: 0.0%");
  m.num_requests_running = 0;
  m.num_requests_waiting = 0;
  m.kv_cache_usage = 0;
  EXPECT_NE(line.Next(m, 5), "");  // the first idle interval is still logged
  EXPECT_EQ(line.Next(m, 5), "");  // the second is not
  m.generation_tokens += 7;
  EXPECT_NE(line.Next(m, 5).find("generation throughput: 1.4 tokens/s"), std::string::npos);
}

TEST(VllmLogTest, PreemptionWarningOnTheFirstAndEveryFiftiethAfter) {
  EXPECT_NE(VllmPreemptionWarning(1).find("total_num_cumulative_preemption=1"), std::string::npos);
  EXPECT_NE(VllmPreemptionWarning(1).find("PreemptionMode.RECOMPUTE"), std::string::npos);
  for (int n = 2; n <= 50; ++n) EXPECT_EQ(VllmPreemptionWarning(n), "") << n;
  EXPECT_NE(VllmPreemptionWarning(51).find("total_num_cumulative_preemption=51"), std::string::npos);
  EXPECT_EQ(VllmPreemptionWarning(0), "");
}

TEST(VllmLogTest, PrefixAndXidLineHaveTheRealFormats) {
  const std::string prefix =
      VllmLogPrefix("INFO", "loggers.py:271", std::chrono::system_clock::now());
  // "INFO MM-DD HH:MM:SS [loggers.py:271] ": digits where the pattern has 9.
  const std::string shape = "INFO 99-99 99:99:99 [loggers.py:271] ";
  ASSERT_EQ(prefix.size(), shape.size()) << prefix;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == '9') {
      EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(prefix[i]))) << prefix;
    } else {
      EXPECT_EQ(prefix[i], shape[i]) << prefix;
    }
  }
  // The kernel line quoted in reference/llm-serving-model.md section 7.
  EXPECT_EQ(XidKernelLine(79, 1122),
            "kernel: NVRM: Xid (PCI:0000:01:00): 79, pid=1122, GPU has fallen off the bus.");
}

}  // namespace
}  // namespace llmrca::sim
