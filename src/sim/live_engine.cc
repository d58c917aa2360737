#include "sim/live_engine.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sim/vllm_log.h"

namespace llmrca::sim {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::array<std::string_view, 10> kWords = {"The",   " quick", " brown", " fox",
                                                     " jumps", " over",  " the",   " lazy",
                                                     " dog",  "."};

int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::chrono::nanoseconds BurnThreadCpu(double seconds) {
  const Clock::time_point wall0 = Clock::now();
  if (!(seconds > 0)) return std::chrono::nanoseconds(0);
  const int64_t until = ThreadCpuNs() + static_cast<int64_t>(seconds * 1e9);
  // FNV-1a over a rolling buffer: cheap, and its result is kept, so it is not optimised away.
  static thread_local uint64_t sink = 1469598103934665603ull;
  uint64_t h = sink;
  do {
    for (int i = 0; i < 512; ++i) {
      h ^= static_cast<uint64_t>(i) & 0xff;
      h *= 1099511628211ull;
    }
  } while (ThreadCpuNs() < until);
  sink = h;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - wall0);
}

LiveEngine::LiveEngine(LiveEngineOptions options, TokenCallback on_token)
    : options_(std::move(options)),
      on_token_(std::move(on_token)),
      engine_(options_.config, options_.model, options_.gpu),
      metrics_(options_.max_model_len) {}

Result<std::unique_ptr<LiveEngine>> LiveEngine::Start(LiveEngineOptions options,
                                                     TokenCallback on_token) {
  if (options.model.params <= 0 || options.gpu.memory_bandwidth <= 0) {
    return Status::InvalidArgument("serve-sim: engine: no model or GPU profile");
  }
  if (options.max_model_len < 1) {
    return Status::InvalidArgument(
        fmt::format("serve-sim: engine: max_model_len {}: need >= 1", options.max_model_len));
  }
  if (!(options.cpu_per_token_s >= 0) || !(options.config.cpu_step_s >= 0)) {
    return Status::InvalidArgument("serve-sim: engine: CPU times must be >= 0");
  }
  if (options.log && !(options.log_interval_s > 0)) {
    return Status::InvalidArgument("serve-sim: engine: the stats log interval must be > 0");
  }
  std::unique_ptr<LiveEngine> e(new LiveEngine(std::move(options), std::move(on_token)));
  {
    // vLLM's start-up lines about the KV cache.
    const int64_t tokens = int64_t{e->engine_.total_blocks()} * e->options_.config.block_size;
    e->Log("INFO", "kv_cache_utils.py:864", fmt::format("GPU KV cache size: {} tokens", tokens));
    e->Log("INFO", "kv_cache_utils.py:868",
           fmt::format("Maximum concurrency for {} tokens per request: {:.2f}x",
                       e->options_.max_model_len,
                       static_cast<double>(tokens) / e->options_.max_model_len));
  }
  e->next_stats_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(e->options_.log_interval_s));
  e->thread_ = std::thread([raw = e.get()] { raw->Run(); });
  if (e->options_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<size_t>(e->options_.cpu), &set);
    const int rc = pthread_setaffinity_np(e->thread_.native_handle(), sizeof(set), &set);
    if (rc != 0) {
      return Status::InvalidArgument(
          fmt::format("serve-sim: engine: cannot pin to CPU {}: {}", e->options_.cpu,
                      std::strerror(rc)));  // the destructor stops the thread
    }
  }
  return e;
}

LiveEngine::~LiveEngine() { Stop(); }

void LiveEngine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

Result<uint64_t> LiveEngine::Submit(int prompt_tokens, int output_tokens) {
  if (prompt_tokens < 1 || output_tokens < 1 ||
      static_cast<int64_t>(prompt_tokens) + output_tokens > options_.max_model_len) {
    return Status::InvalidArgument(fmt::format(
        "This model's maximum context length is {} tokens. However, you requested {} tokens "
        "({} in the messages, {} in the completion).",
        options_.max_model_len, static_cast<int64_t>(prompt_tokens) + output_tokens,
        prompt_tokens, output_tokens));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (fault_.xid != 0) {
    return Status::Unavailable(fmt::format("the engine is dead: its GPU reported XID {}", fault_.xid));
  }
  const uint32_t id = next_id_++;
  if (!engine_.Enqueue(id, prompt_tokens, output_tokens)) {
    return Status::InvalidArgument(fmt::format(
        "the request ({} prompt + {} output tokens) can never fit the KV cache ({} blocks)",
        prompt_tokens, output_tokens, engine_.total_blocks()));
  }
  Live& l = live_[id];
  l.prompt = prompt_tokens;
  l.target = output_tokens;
  l.arrival = Clock::now();
  UpdateGauges();
  wake_.notify_one();
  return uint64_t{id};
}

VllmMetrics LiveEngine::Metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

int LiveEngine::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return engine_.running();
}

int LiveEngine::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return engine_.waiting();
}

Status LiveEngine::SetGpuFault(const GpuFault& fault) {
  if (fault.power_cap_w != 0) LLMRCA_RETURN_IF_ERROR(CheckPowerCap(options_.gpu, fault.power_cap_w));
  if (!(fault.contention >= 0) || !(fault.contention <= 100)) {
    return Status::InvalidArgument(
        fmt::format("contention {} must be from 0 to 100 (extra GPU time, 1 = +100 %)",
                    fault.contention));
  }
  if (fault.xid < 0) return Status::InvalidArgument("xid must be >= 0");
  std::vector<TokenEvent> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool lost = fault.xid != 0 && fault_.xid == 0;
    fault_ = fault;
    if (lost) {
      engine_.Crash();
      const Clock::time_point now = Clock::now();
      for (const auto& [id, l] : live_) {
        TokenEvent t;
        t.id = id;
        t.index = l.emitted;
        t.last = true;
        t.failed = true;
        t.text = "the engine died: its GPU reported an XID error";
        t.time = now;
        failed.push_back(t);
      }
      live_.clear();
      UpdateGauges();
    }
  }
  if (fault.xid != 0) {
    Log("ERROR", "core.py:700", XidKernelLine(fault.xid, static_cast<int64_t>(::getpid())));
    Log("ERROR", "core.py:701",
        fmt::format("EngineCore encountered a fatal error: the GPU reported XID {}; {} requests "
                    "aborted",
                    fault.xid, failed.size()));
  }
  if (on_token_) {
    for (const TokenEvent& t : failed) on_token_(t);
  }
  return Status::Ok();
}

bool LiveEngine::Abort(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint32_t key = static_cast<uint32_t>(id);
  const bool held = engine_.Abort(key);
  live_.erase(key);
  UpdateGauges();
  return held;
}

GpuFault LiveEngine::gpu_fault() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fault_;
}

GpuCounters LiveEngine::gpu() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gpu_;
}

void LiveEngine::Log(std::string_view level, std::string_view where,
                     std::string_view message) const {
  if (options_.log) options_.log(level, where, message);
}

void LiveEngine::UpdateGauges() {
  metrics_.num_requests_running = engine_.running();
  metrics_.num_requests_waiting = engine_.waiting();
  metrics_.kv_cache_usage = engine_.KvUsage();
}

void LiveEngine::Run() {
  std::vector<TokenEvent> out;
  for (;;) {
    StepStats stats;
    double cpu_s = 0;
    std::string stats_line;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto due = [&] { return options_.log && Clock::now() >= next_stats_; };
      const auto ready = [&] { return stop_.load() || engine_.Load() > 0 || due(); };
      if (options_.log) {
        wake_.wait_until(lock, next_stats_, ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (stop_) return;
      if (due()) {
        stats_line = stats_.Next(metrics_, options_.log_interval_s);
        next_stats_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(options_.log_interval_s));
      }
    }
    if (!stats_line.empty()) Log("INFO", "loggers.py:271", stats_line);
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_) return;
      EngineConditions conditions;
      conditions.power_cap_w = fault_.power_cap_w;
      conditions.contention = fault_.contention;
      if (engine_.StartStep(conditions, stats) <= 0) continue;
      cpu_s = options_.config.cpu_step_s + options_.config.cpu_per_seq_s * stats.seqs;
      UpdateGauges();
    }
    // The CPU part (real work), then the GPU part (slept).
    BurnThreadCpu(cpu_s);
    std::this_thread::sleep_until(Clock::now() + std::chrono::nanoseconds(
                                                      static_cast<int64_t>(stats.gpu_busy_s * 1e9)));
    if (stop_) return;
    StepEvents ev;
    out.clear();
    std::vector<std::string> warnings;
    {
      std::lock_guard<std::mutex> lock(mu_);
      engine_.FinishStep(ev);
      gpu_.busy_s += stats.gpu_busy_s;
      gpu_.energy_j += stats.power_w * stats.gpu_busy_s;
      gpu_.violation_s += stats.violation_s;
      gpu_.power_w = stats.power_w;
      gpu_.sm_clock_mhz = stats.sm_clock_mhz;
      gpu_.last_step = Clock::now();
      for (int i = 0; i < ev.preemptions; ++i) {
        ++metrics_.num_preemptions;
        std::string w = VllmPreemptionWarning(static_cast<int64_t>(metrics_.num_preemptions));
        if (!w.empty()) warnings.push_back(std::move(w));
      }
      metrics_.prompt_tokens += static_cast<uint64_t>(stats.prompt_tokens);
      metrics_.generation_tokens += static_cast<uint64_t>(ev.tokens);
    }
    for (const std::string& w : warnings) Log("WARNING", "scheduler.py:1057", w);
    // Detokenising: real work per emitted token.
    BurnThreadCpu(options_.cpu_per_token_s * static_cast<double>(ev.emitted.size()));
    const Clock::time_point now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const uint32_t id : ev.emitted) {
        auto it = live_.find(id);
        if (it == live_.end()) continue;
        Live& l = it->second;
        TokenEvent t;
        t.id = id;
        t.index = l.emitted++;
        t.last = l.emitted >= l.target;
        t.text = kWords[static_cast<size_t>(t.index) % kWords.size()];
        t.time = now;
        if (t.index == 0) {
          l.first = now;
          metrics_.ttft_s.Observe(Seconds(now - l.arrival));
        } else {
          metrics_.tpot_s.Observe(Seconds(now - l.last));  // V1: every inter-token interval
        }
        l.last = now;
        if (t.last) {
          metrics_.e2e_s.Observe(Seconds(now - l.arrival));
          metrics_.decode_s.Observe(Seconds(now - l.first));
          metrics_.prompt_tokens_per_request.Observe(l.prompt);
          metrics_.generation_tokens_per_request.Observe(l.target);
          ++metrics_.success_length;  // every request runs to its max_tokens
          live_.erase(it);
        }
        out.push_back(t);
      }
      UpdateGauges();
    }
    if (on_token_) {
      for (const TokenEvent& t : out) on_token_(t);
    }
  }
}

}  // namespace llmrca::sim
