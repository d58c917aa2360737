// Log lines of a simulated vLLM engine, in vLLM's own formats (reference/llm-serving-model.md
// section 7), so that log-based RCA and the people reading a run's logs see what a real
// deployment writes: the V1 periodic stats line, start-up KV-cache lines, the V0 preemption
// warning (V1 logs none; the warning is what operators grep for) and an XID as the kernel
// reports it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/exposition.h"

namespace llmrca::sim {

// "INFO 11-27 03:40:01 [loggers.py:271] " (local time, as vLLM's formatter writes it).
std::string VllmLogPrefix(std::string_view level, std::string_view where,
                          std::chrono::system_clock::time_point time);

// The periodic stats line of vLLM V1 (LoggingStatLogger), computed from two snapshots of the
// engine's counters `interval_s` apart. Like vLLM, it stays quiet (returns "") when this and
// the previous interval were both idle.
class VllmStatsLine {
 public:
  std::string Next(const VllmMetrics& now, double interval_s);

 private:
  uint64_t prompt_tokens_ = 0;
  uint64_t generation_tokens_ = 0;
  bool last_idle_ = false;
};

// "Engine 000: Avg prompt throughput: 12.5 tokens/s, Avg generation throughput: ... " without
// the prefix; exposed for tests.
std::string VllmStatsMessage(double prompt_tps, double generation_tps, int64_t running,
                             int64_t waiting, double kv_usage);

// vLLM V0's warning, logged on the 1st, 51st, 101st ... preemption; "" for the others.
std::string VllmPreemptionWarning(int64_t total_preemptions);

// The kernel's line for an XID ("NVRM: Xid (PCI:0000:01:00): 79, pid=..., GPU has fallen off
// the bus.") with the description of the common codes.
std::string XidKernelLine(int xid, int64_t pid);

}  // namespace llmrca::sim
