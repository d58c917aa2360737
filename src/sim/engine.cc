#include "sim/engine.h"

#include <algorithm>
#include <cmath>

namespace llmrca::sim {

Engine::Engine(const EngineConfig& config, const ModelProfile& model, const GpuProfile& gpu)
    : config_(config), model_(model), gpu_(gpu) {
  weight_bytes_ = 2.0 * model.params;  // BF16
  // KV pool = memory x utilisation - weights - activation peak (reference 1.4, 2.3).
  const double kv_bytes = gpu.memory_bytes * config.gpu_memory_utilization - weight_bytes_ -
                          config.activation_reserve_bytes;
  const double block_bytes = config.block_size * model.kv_bytes_per_token;
  total_blocks_ = config.num_gpu_blocks_override > 0
                      ? config.num_gpu_blocks_override
                      : std::max(1, static_cast<int>(kv_bytes / block_bytes));
  full_blocks_ = total_blocks_;
  free_blocks_ = total_blocks_;
  state_blocks_ = static_cast<int>(std::ceil(model.state_bytes_per_seq / block_bytes));
}

bool Engine::Enqueue(uint32_t req, int prompt_tokens, int output_tokens) {
  Seq s{req, std::max(1, prompt_tokens), std::max(1, output_tokens)};
  // A request that cannot fit the whole KV pool is refused, as vLLM refuses prompts beyond
  // max_model_len; otherwise it would preempt itself forever.
  if (BlocksFor(s.prompt + s.target) > total_blocks_) return false;
  waiting_.push_back(s);
  return true;
}

int Engine::BlocksFor(int tokens) const {
  return (tokens + config_.block_size - 1) / config_.block_size + state_blocks_;
}

void Engine::Preempt(size_t index) {
  // vLLM V1 RECOMPUTE: free the victim's blocks and put it back at the head of the queue.
  Seq victim = running_[index];
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  free_blocks_ += victim.blocks;
  victim.blocks = 0;
  victim.computed = 0;
  victim.scheduled = 0;
  waiting_.push_front(victim);
  ++preemptions_total_;
  ++pending_preemptions_;
}

double Engine::StartStep(const EngineConditions& conditions, StepStats& stats) {
  stats = StepStats{};
  int budget = config_.max_num_batched_tokens;
  // 0. A pool that shrank under the running requests: preempt from the tail until they fit.
  while (free_blocks_ < 0 && !running_.empty()) Preempt(running_.size() - 1);
  // 1. Running requests, oldest first: a decode token, or the next chunk of a prefill.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Seq& s = running_[i];
    const int want = s.prompt + s.generated - s.computed;
    const int take = std::min(want, budget);
    const int need = BlocksFor(s.computed + take) - s.blocks;
    bool evicted_self = false;
    while (need > free_blocks_) {
      // Preempt the most recently admitted request (the tail of the running list).
      if (running_.size() - 1 == i) {
        Preempt(i);
        evicted_self = true;
        break;
      }
      Preempt(running_.size() - 1);
    }
    if (evicted_self) break;
    free_blocks_ -= need;
    running_[i].blocks += need;
    running_[i].scheduled = take;
    budget -= take;
    ++i;
  }
  // 2. Admit waiting requests while the budget, max_num_seqs and free blocks allow. V1 admits on
  //    the blocks a request needs now, not on its future growth (reference 1.3).
  while (!waiting_.empty() && budget > 0 &&
         static_cast<int>(running_.size()) < config_.max_num_seqs) {
    Seq& s = waiting_.front();
    const int want = s.prompt + s.generated - s.computed;
    const int take = std::min(want, budget);
    const int need = BlocksFor(s.computed + take) - s.blocks;
    if (need > free_blocks_) break;
    free_blocks_ -= need;
    s.blocks += need;
    s.scheduled = take;
    budget -= take;
    running_.push_back(s);
    waiting_.pop_front();
  }
  // 3. Step time from what was scheduled.
  double tokens = 0, context = 0, seqs = 0;
  for (const Seq& s : running_) {
    if (s.scheduled == 0) continue;
    tokens += s.scheduled;
    context += s.computed + s.scheduled;
    seqs += 1;
    // A decode step computes the KV of the last generated token; anything else is prefill
    // (the prompt, or prompt + output again after a preemption).
    const bool decode = s.generated >= 1 && s.computed == s.prompt + s.generated - 1;
    if (!decode) stats.prompt_tokens += s.scheduled;
  }
  if (seqs == 0) {
    busy_ = false;
    return 0;
  }
  busy_ = true;
  const double bandwidth = gpu_.memory_bandwidth * config_.bandwidth_efficiency;
  const double flops = gpu_.peak_flops * config_.compute_efficiency;
  const double t_mem = (weight_bytes_ + context * model_.kv_bytes_per_token +
                        seqs * model_.state_bytes_per_seq) / bandwidth;
  const double t_comp = 2.0 * model_.params * tokens / flops;
  // Power demand rises with the compute-bound share of the step (reference 3.2: decode draws
  // about half the dynamic range, long prefill nearly all of it; H200 run in section 8).
  const double compute_share = t_comp / (t_comp + t_mem);
  const double demand = gpu_.idle_w + (gpu_.tdp_w - gpu_.idle_w) * (0.5 + 0.45 * compute_share);
  const double cap = conditions.power_cap_w > 0 ? conditions.power_cap_w : gpu_.tdp_w;
  double clock = 1.0;
  stats.power_w = demand;
  if (demand > cap) {
    // Dynamic power ~ f V^2 with V tracking f: f ~ ((cap - idle) / (demand - idle))^(1/2).
    clock = std::clamp(std::sqrt(std::max(0.0, (cap - gpu_.idle_w) / (demand - gpu_.idle_w))),
                       0.2, 1.0);
    stats.power_w = cap;
  }
  // Memory-bound work slows less than compute-bound work at a lower clock (reference 3.2 table:
  // 200 W on H100: +20-40 % TPOT, ~2x TTFT).
  const double mem_time = t_mem * (1 + 0.6 * (1 / clock - 1));
  const double comp_time = t_comp / clock;
  const double gpu_time = std::max(mem_time, comp_time) * (1 + conditions.contention);
  const double cpu_time = config_.cpu_step_s + config_.cpu_per_seq_s * seqs;
  const double run = std::clamp(conditions.run_fraction, 0.01, 1.0);
  stats.wall_s = (gpu_time + cpu_time) / run;
  stats.gpu_busy_s = gpu_time;
  stats.sm_clock_mhz = gpu_.max_sm_clock_mhz * clock;
  stats.violation_s = clock < 1 ? gpu_time : 0;
  stats.dram_util = mem_time / std::max(mem_time, comp_time) / (1 + conditions.contention);
  stats.seqs = static_cast<int>(seqs);
  return stats.wall_s;
}

void Engine::FinishStep(StepEvents& events) {
  events.preemptions = pending_preemptions_;
  pending_preemptions_ = 0;
  busy_ = false;
  for (size_t i = 0; i < running_.size();) {
    Seq& s = running_[i];
    if (s.scheduled == 0) {
      ++i;
      continue;
    }
    s.computed += s.scheduled;
    s.scheduled = 0;
    if (s.computed == s.prompt + s.generated) {
      // The whole context is in the cache: the step sampled the next token.
      ++s.generated;
      ++events.tokens;
      events.emitted.push_back(s.req);
      if (s.generated == 1) events.first_tokens.push_back(s.req);
      if (s.generated >= s.target) {
        events.finished.push_back(s.req);
        free_blocks_ += s.blocks;
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
    }
    ++i;
  }
}

void Engine::SetPoolFraction(double fraction) {
  const int target = std::max(1, static_cast<int>(full_blocks_ * std::clamp(fraction, 0.0, 1.0)));
  free_blocks_ += target - total_blocks_;
  total_blocks_ = target;
}

bool Engine::Abort(uint32_t req) {
  for (size_t i = 0; i < running_.size(); ++i) {
    if (running_[i].req != req) continue;
    free_blocks_ += running_[i].blocks;
    running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
    return true;
  }
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->req != req) continue;
    free_blocks_ += it->blocks;
    waiting_.erase(it);
    return true;
  }
  return false;
}

std::vector<std::pair<uint32_t, int>> Engine::Crash() {
  std::vector<std::pair<uint32_t, int>> dropped;
  for (const Seq& s : running_) dropped.emplace_back(s.req, s.generated);
  for (const Seq& s : waiting_) dropped.emplace_back(s.req, s.generated);
  running_.clear();
  waiting_.clear();
  free_blocks_ = total_blocks_;
  busy_ = false;
  pending_preemptions_ = 0;
  return dropped;
}

double Engine::KvUsage() const {
  // Right after the pool shrinks the held blocks may exceed it until the next step preempts.
  return std::clamp(1.0 - static_cast<double>(free_blocks_) / static_cast<double>(total_blocks_),
                    0.0, 1.0);
}

}  // namespace llmrca::sim
