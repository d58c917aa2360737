#include "sim/faults.h"

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "base/check.h"
#include "base/strings.h"

namespace llmrca::sim {

namespace {

struct FaultInfo {
  FaultKind kind;
  std::string_view name;
};

constexpr FaultInfo kFaults[] = {
    {FaultKind::kCpu, "cpu"},
    {FaultKind::kMemory, "memory"},
    {FaultKind::kOom, "oom"},
    {FaultKind::kNetwork, "network"},
    {FaultKind::kLoss, "loss"},
    {FaultKind::kGpu, "gpu"},
    {FaultKind::kGpuContention, "gpu-contention"},
    {FaultKind::kKvCache, "kv-cache"},
    {FaultKind::kXid, "xid"},
    {FaultKind::kDisk, "disk"},
    {FaultKind::kLoadSurge, "load-surge"},
};

}  // namespace

double FaultSpec::Param(std::string_view name) const {
  auto it = params.find(name);
  LLMRCA_CHECK(it != params.end()) << "fault " << FaultName(kind) << " has no parameter " << name;
  return it->second;
}

std::string_view FaultName(FaultKind kind) {
  for (const FaultInfo& f : kFaults) {
    if (f.kind == kind) return f.name;
  }
  return "?";
}

std::vector<FaultKind> AllFaultKinds() {
  std::vector<FaultKind> out;
  for (const FaultInfo& f : kFaults) out.push_back(f.kind);
  return out;
}

Result<FaultKind> ParseFaultKind(std::string_view name) {
  std::vector<std::string> names;
  for (const FaultInfo& f : kFaults) {
    if (f.name == name) return f.kind;
    names.emplace_back(f.name);
  }
  return Status::InvalidArgument(fmt::format("sim: unknown fault '{}'{} (faults: {})", name,
                                             DidYouMean(name, names), Join(names, ", ")));
}

std::map<std::string, double, std::less<>> DefaultFaultParams(FaultKind kind) {
  switch (kind) {
    case FaultKind::kCpu:  // seed: mode one, 16 workers, load 100
      return {{"workers", 16}, {"load", 100}};
    case FaultKind::kMemory:  // seed: 1 worker, size 8GB
      return {{"size_gb", 8}, {"ramp_s", 8}};
    case FaultKind::kOom:  // enough to pass the study's 16 GiB pod limit
      return {{"size_gb", 12}, {"ramp_s", 8}};
    case FaultKind::kNetwork:  // seed: latency 1000ms, jitter 100ms, correlation 0.25
      return {{"delay_ms", 1000}, {"jitter_ms", 100}, {"correlation", 0.25}};
    case FaultKind::kLoss:
      return {{"loss_pct", 10}};
    case FaultKind::kGpu:  // seed: nvidia-smi -pl 150
      return {{"power_cap_w", 150}};
    case FaultKind::kGpuContention:  // measured on an H200: decode step +63 % (reference §8)
      return {{"slowdown", 0.63}, {"fb_gib", 1}};
    case FaultKind::kKvCache:
      return {{"pool_fraction", 0.05}, {"qps", 2}, {"prompt_tokens", 2000}, {"output_tokens", 1000}};
    case FaultKind::kXid:  // 79: GPU has fallen off the bus; back after `recovery_s`
      return {{"code", 79}, {"recovery_s", 30}};
    case FaultKind::kDisk:
      return {{"workers", 4}, {"write_mbps", 400}};
    case FaultKind::kLoadSurge:
      return {{"factor", 4}};
  }
  return {};
}

Result<std::vector<FaultTemplate>> ParseFaultList(std::string_view text) {
  std::vector<FaultTemplate> out;
  for (const std::string& raw : Split(text, ',')) {
    const std::string item(Trim(raw));
    if (item.empty()) return Status::InvalidArgument("sim: empty fault name in --faults");
    std::vector<std::string> parts = Split(item, ':');
    LLMRCA_ASSIGN_OR_RETURN(FaultKind kind, ParseFaultKind(Trim(parts[0])));
    FaultTemplate t{kind, DefaultFaultParams(kind)};
    std::vector<std::string> declared;
    for (const auto& [key, value] : t.params) declared.push_back(key);
    for (size_t i = 1; i < parts.size(); ++i) {
      const size_t eq = parts[i].find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::InvalidArgument(
            fmt::format("sim: '{}' in '{}' is not key=value", parts[i], item));
      }
      const std::string key(Trim(parts[i].substr(0, eq)));
      auto it = t.params.find(key);
      if (it == t.params.end()) {
        return Status::InvalidArgument(
            fmt::format("sim: fault {} has no parameter '{}'{} (parameters: {})", FaultName(kind),
                        key, DidYouMean(key, declared), Join(declared, ", ")));
      }
      std::optional<double> value = ParseDouble(parts[i].substr(eq + 1));
      if (!value || !std::isfinite(*value) || *value < 0) {
        return Status::InvalidArgument(fmt::format(
            "sim: fault {} parameter '{}' must be a non-negative number, got '{}'",
            FaultName(kind), key, Trim(parts[i].substr(eq + 1))));
      }
      it->second = *value;
    }
    out.push_back(std::move(t));
  }
  if (out.empty()) return Status::InvalidArgument("sim: --faults is empty");
  return out;
}

bool FaultAppliesTo(FaultKind kind, std::string_view target) {
  if (kind == FaultKind::kLoadSurge) return target == "load";
  if (target == "load") return false;
  const bool engine = target == "ray-head" || target.rfind("ray-replicas-", 0) == 0;
  switch (kind) {
    case FaultKind::kCpu:
    case FaultKind::kMemory:
    case FaultKind::kOom:
    case FaultKind::kNetwork:
    case FaultKind::kLoss:
    case FaultKind::kDisk:
      return engine || target == "nginx-proxy";
    default:
      return engine;  // GPU and engine faults need a GPU and an engine
  }
}

std::string RootIndicator(FaultKind kind, TelemetryMode telemetry) {
  const bool full = telemetry == TelemetryMode::kFull;
  switch (kind) {
    case FaultKind::kCpu: return "ctn_cpu";
    case FaultKind::kMemory:
    case FaultKind::kOom: return full ? "ctn_working_set" : "ctn_memory";
    case FaultKind::kNetwork:
    case FaultKind::kLoss: return full ? "latency_p90" : "latency";
    case FaultKind::kGpu: return full ? "gpu_sm_clock" : "ctn_gpu";
    case FaultKind::kGpuContention: return full ? "gpu_mem_util" : "ctn_gpu";
    case FaultKind::kKvCache: return full ? "vllm_kv_cache_usage" : "latency";
    case FaultKind::kXid: return full ? "gpu_xid" : "ctn_gpu";
    case FaultKind::kDisk: return full ? "ctn_disk_io" : "";
    case FaultKind::kLoadSurge: return full ? "request_rate" : "";
  }
  return "";
}

}  // namespace llmrca::sim
