// Engine: one vLLM replica as a continuous-batching scheduler (vLLM V1, docs/reference/
// llm-serving-model.md 1.3-1.4): a FCFS waiting queue, a running batch limited by max_num_seqs,
// a per-step token budget (chunked prefill) and a paged KV cache of fixed-size blocks; when a
// running request needs a block and none is free, the most recently admitted request is
// preempted (its blocks freed, recomputed later from the head of the queue). Step time follows
// the roofline of section 2.4 (weights + KV read vs 2 x params FLOPs per token), slowed by a
// power cap (section 3.2), GPU contention (section 8) and the CPU time the container gets
// (section 4.2). The engine holds no clock: the simulator calls it at event times.
#pragma once

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "sim/config.h"

namespace llmrca::sim {

// What the simulator sets on an engine from the faults and the container state.
struct EngineConditions {
  double run_fraction = 1;   // share of wall time the container's threads may run (CPU quota)
  double power_cap_w = 0;    // 0: the default limit (TDP)
  double contention = 0;     // extra GPU time from another process (0.63 = +63 %)
};

// Per-step accounting the simulator aggregates into telemetry windows.
struct StepStats {
  double wall_s = 0;         // step duration
  double gpu_busy_s = 0;     // time kernels ran
  double power_w = 0;        // average power while busy
  double sm_clock_mhz = 0;   // SM clock while busy
  double violation_s = 0;    // time throttled by the power cap
  double dram_util = 0;      // memory-bandwidth share of the busy time (0..1)
  int prompt_tokens = 0;     // prefill tokens computed
  int seqs = 0;
};

// Events of one finished step, for the simulator to act on.
struct StepEvents {
  std::vector<uint32_t> first_tokens;  // requests whose first token was emitted
  std::vector<uint32_t> finished;      // requests that emitted their last token
  std::vector<uint32_t> emitted;       // requests that emitted a token, in batch order
  int tokens = 0;                      // output tokens emitted
  int preemptions = 0;
};

class Engine {
 public:
  Engine(const EngineConfig& config, const ModelProfile& model, const GpuProfile& gpu);

  // Adds request `req` (an id owned by the simulator) with its token counts to the queue; false
  // (and nothing queued) when prompt + output could never fit the KV pool.
  bool Enqueue(uint32_t req, int prompt_tokens, int output_tokens);
  // True when a step is in flight.
  bool busy() const { return busy_; }
  // Schedules the next step if there is work; returns its duration (0 if idle) and fills stats.
  double StartStep(const EngineConditions& conditions, StepStats& stats);
  // Applies the in-flight step's results; the simulator then calls StartStep again.
  void FinishStep(StepEvents& events);
  // Limits the KV pool to `fraction` of its size (1 restores it). Running requests that no
  // longer fit are preempted at the next step, as when blocks run out.
  void SetPoolFraction(double fraction);
  // Removes request `req` wherever it is (the client went away), freeing its blocks; a step in
  // flight loses its work for it. False when the engine does not hold it.
  bool Abort(uint32_t req);
  // Drops every queued and running request (crash); returns their ids and tokens generated.
  std::vector<std::pair<uint32_t, int>> Crash();

  int running() const { return static_cast<int>(running_.size()); }
  int waiting() const { return static_cast<int>(waiting_.size()); }
  // Share of the KV cache in use (0..1).
  double KvUsage() const;
  int total_blocks() const { return total_blocks_; }
  int64_t preemptions_total() const { return preemptions_total_; }
  // Requests waiting + running (what the router compares).
  int Load() const { return running() + waiting(); }

 private:
  struct Seq {
    uint32_t req;
    int prompt;
    int target;
    int generated = 0;
    int computed = 0;   // tokens whose KV is in the cache
    int blocks = 0;     // KV blocks held, the per-sequence state included
    int scheduled = 0;  // tokens computed by the in-flight step
  };

  // Blocks for `tokens` tokens of KV plus the per-sequence state.
  int BlocksFor(int tokens) const;
  void Preempt(size_t index);

  EngineConfig config_;
  ModelProfile model_;
  GpuProfile gpu_;
  int total_blocks_ = 0;   // blocks usable now
  int full_blocks_ = 0;    // blocks of the whole pool
  int free_blocks_ = 0;    // may go negative right after the pool shrinks
  int state_blocks_ = 0;  // per-sequence state expressed in blocks
  double weight_bytes_ = 0;
  std::deque<Seq> waiting_;
  std::vector<Seq> running_;
  bool busy_ = false;
  int64_t preemptions_total_ = 0;
  int pending_preemptions_ = 0;
};

}  // namespace llmrca::sim
