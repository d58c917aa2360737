// The faults the simulator can inject, as causes inside the model (sim/simulator.cc applies
// them): their names (which are also the fault labels of the case folders, `<target>_<fault>`),
// parameters with defaults, valid targets, and the metric that is the root cause of each.
// The study's four faults keep its labels: cpu, memory, network (a delay) and gpu (a power cap);
// docs/reference/seed-study.md A.4 gives their parameters.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace llmrca::sim {

enum class FaultKind {
  kCpu,            // CPU stress inside the target container (Chaos Mesh StressChaos)
  kMemory,         // memory stress: the working set grows by `size_gb`
  kOom,            // memory stress beyond the container limit: OOM kill, restart, reload
  kNetwork,        // egress delay on the target (Chaos Mesh NetworkChaos delay)
  kLoss,           // egress packet loss on the target
  kGpu,            // GPU power cap (nvidia-smi -pl)
  kGpuContention,  // another process's kernels on the target's GPU
  kKvCache,        // the target's KV pool shrinks while long requests are pinned to it:
                   // exhaustion and a preemption storm
  kXid,            // GPU XID error: the engine crashes and restarts after recovery
  kDisk,           // disk I/O stress in the target container
  kLoadSurge,      // the arrival rate multiplies: every replica degrades; root cause "load"
};

enum class TelemetryMode { kSeed, kFull };

struct FaultSpec {
  FaultKind kind = FaultKind::kCpu;
  std::string target;        // a component name, or "load" for load-surge
  double start_s = 285;      // offset from the run's start (seed: 285 s)
  double duration_s = 60;    // seed: 60 s
  std::map<std::string, double, std::less<>> params;  // every declared parameter, defaults filled

  double Param(std::string_view name) const;
};

// The label of a fault kind ("cpu", "gpu-contention", ...).
std::string_view FaultName(FaultKind kind);
// Every fault kind, in declaration order.
std::vector<FaultKind> AllFaultKinds();
Result<FaultKind> ParseFaultKind(std::string_view name);

// Parameters a fault kind declares, with defaults: name -> default.
std::map<std::string, double, std::less<>> DefaultFaultParams(FaultKind kind);

// A fault template from the command line: `name[:key=value[:key=value...]]`; parameters are
// checked against DefaultFaultParams (kInvalidArgument with a suggestion otherwise).
struct FaultTemplate {
  FaultKind kind;
  std::map<std::string, double, std::less<>> params;
};
Result<std::vector<FaultTemplate>> ParseFaultList(std::string_view text);

// True when `kind` can target a component named `target` (engines: ray-head and
// ray-replicas-*; nginx-proxy has no GPU and no engine; load-surge targets "load").
bool FaultAppliesTo(FaultKind kind, std::string_view target);

// The root-cause indicator (the part of the column name after the service) that the fault acts
// on in the given telemetry, or empty when that telemetry has no such metric.
std::string RootIndicator(FaultKind kind, TelemetryMode telemetry);

}  // namespace llmrca::sim
