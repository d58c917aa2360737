#include "sim/hardware.h"

#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::sim {
namespace {

constexpr double kKiB = 1024.0;

// llm-serving-model.md 2.1 (bandwidth, FLOP/s, memory, TDP), 3.1 (H100 settable range
// 200-700 W; A100 lower bound ~100-150 W, unverified: 100 W used), 3.3 (boost clocks H100
// 1980 MHz, A100 1410 MHz), section 8 (H200 measured: idle 79 W at 345 MHz, 1980 MHz busy).
// Idle power with a CUDA context: bare idle + 26-50 W (3.1); the A100 figures are inference.
std::vector<GpuProfile> Gpus() {
  return {
      {"a100-40", 1.555e12, 312e12, 40 * 1e9, 400, 100, 55, 1410, 210},
      {"a100-80", 2.039e12, 312e12, 80 * 1e9, 400, 100, 60, 1410, 210},
      {"h100", 3.35e12, 989e12, 80 * 1e9, 700, 200, 90, 1980, 345},
      {"h200", 4.8e12, 989e12, 141 * 1e9, 700, 200, 79, 1980, 345},
  };
}

// llm-serving-model.md 2.2: KV bytes/token = 2 x layers x kv_heads x head_dim x 2 bytes;
// Falcon-H1-7B: 44 layers, 2 KV heads -> 44 KiB/token plus ~69 MB of Mamba2 state per
// sequence (BF16, inference from the config).
std::vector<ModelProfile> Models() {
  return {
      {"falcon-h1-7b", 7.6e9, 44 * kKiB, 69e6},
      {"llama-3-8b", 8.03e9, 128 * kKiB, 0},
      {"qwen2.5-7b", 7.6e9, 56 * kKiB, 0},
  };
}

template <typename T>
Result<T> FindByName(const std::vector<T>& items, std::string_view name, std::string_view what) {
  std::vector<std::string> names;
  for (const T& item : items) {
    if (item.name == name) return item;
    names.push_back(item.name);
  }
  return Status::InvalidArgument(fmt::format("sim: unknown {} '{}'{} (known: {})", what, name,
                                             DidYouMean(name, names), Join(names, ", ")));
}

template <typename T>
std::vector<std::string> NamesOf(const std::vector<T>& items) {
  std::vector<std::string> names;
  for (const T& item : items) names.push_back(item.name);
  return names;
}

}  // namespace

Result<GpuProfile> FindGpuProfile(std::string_view name) { return FindByName(Gpus(), name, "GPU"); }
std::vector<std::string> GpuProfileNames() { return NamesOf(Gpus()); }
Result<ModelProfile> FindModelProfile(std::string_view name) {
  return FindByName(Models(), name, "model");
}
std::vector<std::string> ModelProfileNames() { return NamesOf(Models()); }

Status CheckPowerCap(const GpuProfile& gpu, double cap_w) {
  if (!(cap_w >= gpu.min_power_limit_w) || !(cap_w <= gpu.tdp_w)) {
    return Status::InvalidArgument(
        fmt::format("power cap {} W is rejected by the driver of {} (settable {}-{} W)", cap_w,
                    gpu.name, gpu.min_power_limit_w, gpu.tdp_w));
  }
  return Status::Ok();
}

}  // namespace llmrca::sim
