// Hardware and model constants of the simulated serving stack: GPU profiles (memory bandwidth,
// dense BF16 FLOP/s, power range, clocks) and model profiles (parameters, KV bytes per token,
// per-sequence state). Values and their sources are in docs/reference/llm-serving-model.md
// sections 2.1-2.3 and 3; where a value is our inference it says so.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace llmrca::sim {

struct GpuProfile {
  std::string name;
  double memory_bandwidth = 0;   // bytes/s (HBM peak)
  double peak_flops = 0;         // dense BF16 FLOP/s
  double memory_bytes = 0;       // device memory
  double tdp_w = 0;              // default power limit
  double min_power_limit_w = 0;  // the driver rejects lower caps
  double idle_w = 0;             // idle with a CUDA context
  double max_sm_clock_mhz = 0;
  double idle_sm_clock_mhz = 0;
};

struct ModelProfile {
  std::string name;
  double params = 0;             // parameter count (weights are BF16: 2 bytes each)
  double kv_bytes_per_token = 0;  // K and V of all attention layers
  double state_bytes_per_seq = 0;  // constant per-sequence state (Mamba layers), 0 otherwise
};

// Known profiles: "a100-80" (default of the study-parity profile: accepts a 150 W cap),
// "a100-40", "h100" (SXM), "h200".
Result<GpuProfile> FindGpuProfile(std::string_view name);
// kInvalidArgument when `cap_w` is outside the power limits the driver of `gpu` accepts (what
// `nvidia-smi -pl` refuses).
Status CheckPowerCap(const GpuProfile& gpu, double cap_w);
std::vector<std::string> GpuProfileNames();

// Known models: "falcon-h1-7b" (the study's model), "llama-3-8b", "qwen2.5-7b".
Result<ModelProfile> FindModelProfile(std::string_view name);
std::vector<std::string> ModelProfileNames();

}  // namespace llmrca::sim
