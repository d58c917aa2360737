// LiveEngine: the simulator's engine model (sim/engine.h: continuous batching, paged KV cache,
// preemption, roofline step times) run on the wall clock, for `llmrca serve-sim engine`.
//
// One thread runs steps back to back while there is work. A step's GPU part is slept (no GPU is
// used); its CPU part -- the scheduler and input preparation (EngineConfig::cpu_step_s and
// cpu_per_seq_s) and detokenising each emitted token (`cpu_per_token_s`) -- is real work on this
// thread, measured in the thread's own CPU time. So a step takes longer when this machine's CPU
// is contended (a busy process on the same core, a cgroup quota), exactly as vLLM's CPU-bound
// scheduler does (llm-serving-model.md 4.2), and faults applied by `llmrca chaos` act on it.
//
// Tokens are handed to a callback on the engine thread as each step ends; the server turns them
// into SSE events. vLLM's metrics (sim/exposition.h) are kept as requests flow.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "base/status.h"
#include "sim/config.h"
#include "sim/engine.h"
#include "sim/exposition.h"
#include "sim/hardware.h"
#include "sim/vllm_log.h"

namespace llmrca::sim {

struct LiveEngineOptions {
  EngineConfig config;
  ModelProfile model;
  GpuProfile gpu;
  double cpu_per_token_s = 30e-6;  // detokenising + one SSE event (the simulator's figure)
  int max_model_len = 8192;        // token-count histogram bounds; longer requests are refused
  int cpu = -1;                    // >= 0: pin the engine thread to this CPU
  // Where vLLM-format log lines go (level "INFO"/"WARNING"/"ERROR", vLLM's file:line, the
  // message; see sim/vllm_log.h); none when empty. Called on the engine thread or the caller's.
  std::function<void(std::string_view level, std::string_view where, std::string_view message)>
      log;
  double log_interval_s = 5;       // the periodic stats line (vLLM V1: every 5-10 s)
  // Not yet kept: vLLM's queue and prefill time histograms (the model does not report when a
  // request was first scheduled); they are exposed empty.
};

// One output token, as the engine emits it.
struct TokenEvent {
  uint64_t id = 0;             // from Submit()
  int index = 0;               // 0-based position in the output
  bool last = false;           // the request is complete
  std::string_view text;       // the token's text (a fixed vocabulary: "The", " quick", ...);
                               // with `failed`, why the request failed
  bool failed = false;         // the request ends here without its output (the GPU was lost)
  std::chrono::steady_clock::time_point time;  // when the step that made it ended
};

// Simulated GPU faults that a real host cannot inject here (no GPU, or no permission): what
// `nvidia-smi -pl`, a concurrent GPU job and an XID error do to a vLLM engine.
struct GpuFault {
  double power_cap_w = 0;  // 0: the default limit (TDP); else within the GPU's power range
  double contention = 0;   // extra GPU time taken by another process (0.5 = kernels take +50 %)
  int xid = 0;             // 0: none. Else the GPU is lost (as after XID 79): every request
                           // fails now, new ones are refused until the fault is cleared
};

// What the engine's GPU did since start, for the DCGM series.
struct GpuCounters {
  double busy_s = 0;        // time kernels ran
  double energy_j = 0;      // energy of the busy time
  double violation_s = 0;   // time throttled by the power cap
  double power_w = 0;       // the last step's average power
  double sm_clock_mhz = 0;  // the last step's SM clock
  std::chrono::steady_clock::time_point last_step{};  // when the last step ended
};

class LiveEngine {
 public:
  using TokenCallback = std::function<void(const TokenEvent&)>;

  // Starts the engine thread. kInvalidArgument for a bad option (no model, max_model_len < 1).
  static Result<std::unique_ptr<LiveEngine>> Start(LiveEngineOptions options,
                                                   TokenCallback on_token);
  ~LiveEngine();  // Stop()
  // Stops and joins the engine thread; requests in flight get no more tokens. Idempotent.
  void Stop();
  LiveEngine(const LiveEngine&) = delete;
  LiveEngine& operator=(const LiveEngine&) = delete;

  // Queues a request. Thread-safe. kInvalidArgument when prompt + output exceed max_model_len
  // or could never fit the KV pool (vLLM answers such a request 400); kUnavailable while an
  // XID fault holds.
  Result<uint64_t> Submit(int prompt_tokens, int output_tokens);

  // Drops request `id` (its client went away), as vLLM aborts a request whose connection
  // closed. Thread-safe; no more tokens come for it. False when it is not in the engine.
  bool Abort(uint64_t id);

  // A copy of the metrics now (thread-safe).
  VllmMetrics Metrics() const;
  int running() const;
  int waiting() const;

  // Applies `fault` from the next step on (thread-safe). kInvalidArgument for a power cap outside
  // the GPU's range or a negative contention. Setting an XID fails every request in flight
  // through the token callback (failed events, called on this thread).
  Status SetGpuFault(const GpuFault& fault);
  GpuFault gpu_fault() const;
  GpuCounters gpu() const;
  const LiveEngineOptions& options() const { return options_; }

 private:
  struct Live {
    int prompt = 0;
    int target = 0;
    int emitted = 0;
    std::chrono::steady_clock::time_point arrival, first, last;
  };

  LiveEngine(LiveEngineOptions options, TokenCallback on_token);
  void Run();
  void UpdateGauges();  // the gauges of metrics_ from engine_; under mu_
  void Log(std::string_view level, std::string_view where, std::string_view message) const;

  const LiveEngineOptions options_;
  const TokenCallback on_token_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  Engine engine_;                               // under mu_
  std::unordered_map<uint32_t, Live> live_;    // under mu_
  VllmMetrics metrics_;                         // under mu_
  GpuFault fault_;                              // under mu_
  GpuCounters gpu_;                             // under mu_
  VllmStatsLine stats_;                         // under mu_
  std::chrono::steady_clock::time_point next_stats_;  // under mu_
  uint32_t next_id_ = 1;                        // under mu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Spends `seconds` of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID) on work the compiler
// cannot remove; returns the wall time it took. Under contention the wall time is longer.
std::chrono::nanoseconds BurnThreadCpu(double seconds);

}  // namespace llmrca::sim
