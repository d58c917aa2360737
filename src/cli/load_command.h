// `llmrca load`: drive an LLM server with requests (open loop at a rate, bursts, sweeps, replay,
// or closed loop with N users) and report exact latency metrics; records every request as JSONL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/command.h"

namespace llmrca::cli {

struct LoadFlags {
  std::string url;
  std::string provider = "openai";
  std::string model;
  bool chat = false;
  bool stream = true;
  int64_t prompt_tokens = 512;
  std::string prompt_tokens_distribution = "constant";
  double prompt_tokens_range = 0.3;
  int64_t max_tokens = 64;
  std::string max_tokens_distribution = "constant";
  double max_tokens_range = 0.3;
  int64_t max_tokens_cap = 0;
  bool prompt_randomize = false;
  std::string prompts_file;
  std::string prompts_format = "auto";
  double temperature = 1.0;
  int64_t logprobs = -1;
  std::string ignore_eos = "auto";
  std::string include_usage = "auto";
  bool min_tokens = false;
  std::string extra_body;
  double qps = 0;
  std::string qps_distribution = "constant";
  double burstiness = 1;
  double burst_s = 0;
  int64_t users = 0;
  std::string ramp;
  std::string sweep;
  double step_duration_s = 0;
  std::string replay;
  double replay_speedup = 1;
  std::string duration;
  int64_t requests = 0;
  int64_t threads = 1;
  double timeout_s = 600;
  double connect_timeout_s = 10;
  double drain_timeout_s = 10;
  bool http2 = false;
  std::string http_client;  // "native", "curl", or empty: native where it can
  bool insecure = false;
  std::string api_key;
  uint64_t seed = 0;
  double slo_ttft_ms = -1;
  double slo_tpot_ms = -1;
  double slo_e2e_ms = -1;
  std::string format = "table";
  std::string out_dir;
  std::string summary_file;
  std::string scrape_url;
  double scrape_interval_s = 1;
  std::string progress = "auto";
};

void AddLoadCommand(CLI::App& app, CliContext& ctx);
Status RunLoad(const LoadFlags& flags);

// "90", "90s", "1500ms", "5m", "2h" -> seconds. kInvalidArgument otherwise.
Result<double> ParseDurationSeconds(const std::string& text);

}  // namespace llmrca::cli
