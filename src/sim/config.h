// Configuration of one simulated case: the topology of the study (nginx-proxy -> ray-head ->
// ray-replicas-*), the open-loop load, the engine knobs of vLLM, hardware, telemetry and faults.
// Defaults follow docs/reference/seed-study.md A.3-A.4 (360 s runs at 5 QPS, 512/256 tokens,
// 5 s steps, 8 CPU / 16 GiB pods) and llm-serving-model.md 1.2 (vLLM defaults).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/faults.h"
#include "sim/hardware.h"

namespace llmrca::sim {

enum class ArrivalPattern { kConstant, kPoisson };

struct LoadConfig {
  double qps = 5;  // seed: target QPS [5], constant
  ArrivalPattern arrival = ArrivalPattern::kConstant;
  double prompt_tokens = 512;  // seed: prompt / max output tokens 512 / 256
  double output_tokens = 256;
  // Bursts: every `burst_period_s`, `burst_length_s` seconds at `burst_factor` x qps (0 = off).
  double burst_period_s = 0;
  double burst_length_s = 0;
  double burst_factor = 1;
  // Daily pattern: qps x (1 + daily_amplitude x sin(2 pi t / 86400)) (0 = off).
  double daily_amplitude = 0;
};

struct EngineConfig {
  int max_num_seqs = 256;             // vLLM OpenAI server default below 70 GiB or on A100
  int max_num_batched_tokens = 2048;  // the same branch (arg_utils.py)
  int block_size = 16;                // tokens per KV block
  double gpu_memory_utilization = 0.9;
  double activation_reserve_bytes = 3.2e9;  // activations + CUDA graphs + non-torch (2-5 GiB)
  double bandwidth_efficiency = 0.75;  // measured MBU 0.7-0.8 (reference 2.4; H200 run: 0.73)
  double compute_efficiency = 0.5;     // MFU 0.4-0.6 (reference 2.4, inference)
  double cpu_step_s = 0.5e-3;          // scheduler + input prep per step (V1: 0.3-1 ms)
  double cpu_per_seq_s = 3e-6;         // + per running request (2-5 us)
  double startup_s = 45;               // restart to "Application startup complete" (30-60 s warm)
  int num_gpu_blocks_override = 0;     // > 0: the KV pool has this many blocks (vLLM's flag)
};

struct Topology {
  int replicas = 4;  // engines: ray-head + ray-replicas-0..replicas-2 (seed: DP = 4)
  double cpu_limit = 8;  // cores per pod (seed: 8 CPU, 16 GiB, 1 GPU per Ray pod)
  double memory_limit_bytes = 16.0 * 1024 * 1024 * 1024;

  // Component names in column order: nginx-proxy, ray-head, ray-replicas-0, ...
  std::vector<std::string> ComponentNames() const;
};

struct TelemetryConfig {
  TelemetryMode mode = TelemetryMode::kSeed;
  double step_s = 5;             // seed: Prometheus query_range step
  double scrape_interval_s = 15;  // cAdvisor / Ray exporter scrape interval (inference)
  double rate_window_s = 60;     // seed: rate(...[1m])
};

// Everything needed to simulate one case deterministically.
struct CaseConfig {
  std::string id;         // "<target>_<fault>/<repetition>"
  uint64_t seed = 0;
  double start_unix = 1764151200;  // 2025-11-26 10:00:00 UTC: the load starts here
  double duration_s = 360;        // seed: load duration 360 s
  double warmup_s = 120;          // simulated before the load so rate windows are full
  Topology topology;
  LoadConfig load;
  EngineConfig engine;
  GpuProfile gpu;
  ModelProfile model;
  TelemetryConfig telemetry;
  std::vector<FaultSpec> faults;  // at most one in the profiles; more are allowed

  // kInvalidArgument naming the first problem: no replicas, a fault outside the run, a target
  // that does not exist or cannot take the fault, a power cap the GPU rejects, ...
  Status Validate() const;
};

}  // namespace llmrca::sim
