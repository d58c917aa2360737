#include "sim/vllm_log.h"

#include <ctime>

#include <fmt/format.h>

namespace llmrca::sim {

std::string VllmLogPrefix(std::string_view level, std::string_view where,
                          std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%m-%d %H:%M:%S", &tm);
  return fmt::format("{} {} [{}] ", level, stamp, where);
}

std::string VllmStatsMessage(double prompt_tps, double generation_tps, int64_t running,
                             int64_t waiting, double kv_usage) {
  return fmt::format(
      "Engine 000: Avg prompt throughput: {:.1f} tokens/s, Avg generation throughput: {:.1f} "
      "tokens/s, Running: {} reqs, Waiting: {} reqs, GPU KV cache usage: {:.1f}%, Prefix cache "
      "hit rate: 0.0%",
      prompt_tps, generation_tps, running, waiting, 100 * kv_usage);
}

std::string VllmStatsLine::Next(const VllmMetrics& now, double interval_s) {
  const double dt = interval_s > 0 ? interval_s : 1;
  const double prompt = static_cast<double>(now.prompt_tokens - prompt_tokens_) / dt;
  const double generation = static_cast<double>(now.generation_tokens - generation_tokens_) / dt;
  prompt_tokens_ = now.prompt_tokens;
  generation_tokens_ = now.generation_tokens;
  const bool idle = prompt == 0 && generation == 0 && now.num_requests_running == 0 &&
                    now.num_requests_waiting == 0;
  const bool quiet = idle && last_idle_;
  last_idle_ = idle;
  if (quiet) return "";
  return VllmStatsMessage(prompt, generation, now.num_requests_running, now.num_requests_waiting,
                          now.kv_cache_usage);
}

std::string VllmPreemptionWarning(int64_t total) {
  if (total < 1 || (total - 1) % 50 != 0) return "";
  return fmt::format(
      "Sequence group {} is preempted by PreemptionMode.RECOMPUTE mode because there is not "
      "enough KV cache space. This can affect the end-to-end performance. Increase "
      "gpu_memory_utilization or tensor_parallel_size to provide more KV cache memory. "
      "total_num_cumulative_preemption={}",
      total - 1, total);
}

std::string XidKernelLine(int xid, int64_t pid) {
  std::string_view what;
  switch (xid) {
    case 13: what = "Graphics Engine Exception"; break;
    case 31: what = "MMU Fault"; break;
    case 43: what = "GPU stopped processing"; break;
    case 48: what = "DBE (Double Bit Error) ECC Error"; break;
    case 63: case 64: what = "Row remapping event"; break;
    case 74: what = "NVLink Error"; break;
    case 79: what = "GPU has fallen off the bus."; break;
    case 94: what = "Contained ECC error"; break;
    case 95: what = "Uncontained ECC error"; break;
    case 119: what = "Timeout waiting for RPC from GSP!"; break;
    case 120: what = "GSP RPC error"; break;
    default: what = "GPU error"; break;
  }
  return fmt::format("kernel: NVRM: Xid (PCI:0000:01:00): {}, pid={}, {}", xid, pid, what);
}

}  // namespace llmrca::sim
