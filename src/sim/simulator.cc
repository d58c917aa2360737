#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <queue>

#include <fmt/format.h>

#include "base/random.h"
#include "sim/engine.h"
#include "sim/promql.h"

namespace llmrca::sim {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Costs along the request path. Reference 4.2-4.3: proxy overhead ~1-3 ms per hop, API server
// ~20-50 us of CPU per streamed token, the V1 EngineCore busy loop pins ~1 core; the rest is
// inference, chosen so that the idle stack uses little CPU.
constexpr double kHopS = 0.3e-3;               // one network hop inside the cluster
constexpr double kRayRpcS = 0.5e-3;            // head -> replica actor call
constexpr double kNginxRequestCpuS = 0.3e-3;
constexpr double kNginxChunkCpuS = 3e-6;
constexpr double kProxyRequestCpuS = 2e-3;     // Serve HTTP proxy + router
constexpr double kProxyChunkCpuS = 10e-6;
constexpr double kApiRequestCpuS = 1.5e-3;     // HTTP, chat template, tokenising ~512 tokens
constexpr double kApiTokenCpuS = 30e-6;        // detokenising and one SSE event per token
constexpr double kEngineLoopCores = 1.0;       // EngineCore busy-polls (vllm issue 16968)
constexpr double kEngineIdleCores = 0.15;      // API server and Ray worker at rest
constexpr double kHeadServicesCores = 0.3;     // GCS, raylet, dashboard on the head pod
constexpr double kNginxIdleCores = 0.01;
constexpr double kStartupCores = 2.0;          // loading weights, compiling, capturing graphs
constexpr double kMemoryStressorCores = 1.0;   // a stress-ng vm worker keeps touching its pages
constexpr double kDiskWorkerCores = 0.15;      // kernel time of one hdd stressor
constexpr double kRtoS = 0.2;                  // Linux TCP_RTO_MIN (reference 6)
constexpr double kHealthCheckS = 10;           // Ray Serve replica health-check period
constexpr double kRestartBackoffS = 10;        // Kubernetes back-off before a second restart
constexpr int kPreemptionWarningEvery = 50;    // V0 scheduler warns on every 50th preemption
constexpr double kStatsLogPeriodS = 10;        // vLLM V1 stats line interval
constexpr double kReplicaHeartbeatPps = 5;
constexpr double kHeadHeartbeatPps = 20;
constexpr double kNodeCores = 16;
constexpr double kNodeMemoryBytes = 64e9;
constexpr double kAmbientC = 32;                // GPU temperature at zero power
constexpr double kThermalCPerW = 0.11;          // steady-state rise per watt (inference)
constexpr double kThermalTauS = 30;
constexpr int kLatencyWindows = 12;             // rate(...[1m]) at 5 s steps

// Base working sets (reference 5.1: ~8-12 GB anonymous for a 7B replica; the head pod also runs
// Ray's GCS, raylet and dashboard). Chosen so that the study's 8 GB stress stays under 16 GiB.
constexpr double kEngineWorkingSet = 7.0e9;
constexpr double kHeadWorkingSet = 8.2e9;
constexpr double kNginxWorkingSet = 60e6;

enum class Ev : uint8_t {
  kArrival,
  kFloodArrival,
  kHeadIn,
  kReplicaIn,
  kStepDone,
  kWindow,
  kFaultStart,
  kFaultEnd,
  kRestartDone,
};

struct Event {
  double t;
  uint64_t seq;
  Ev type;
  uint32_t a;
  uint64_t b;
};

struct EventLater {
  bool operator()(const Event& x, const Event& y) const {
    return x.t != y.t ? x.t > y.t : x.seq > y.seq;
  }
};

// Per-component state: the container, its engine (if any), faults acting on it and the
// accumulators of the current telemetry window.
struct Component {
  std::string name;
  bool is_nginx = false;
  bool is_head = false;
  bool is_engine = false;
  std::unique_ptr<Engine> engine;
  uint64_t engine_generation = 0;
  EngineConditions conditions;
  Rng rng{0};

  // Container state.
  bool alive = true;        // the main process runs
  bool starting = false;    // restarting: alive but not ready
  double start_began = 0;
  double ready_at = 0;
  bool healthy = true;      // the router's view
  double unhealthy_at = kNaN;
  int restarts = 0;
  double base_working_set = 0;
  double ws_noise = 0;
  double working_set = 0;
  std::string pod_name, pod_ip, node_name, node_ip;
  double scrape_offset = 0;

  // Faults acting on the component.
  double stress_cores = 0;
  double disk_cores = 0;
  double disk_bytes_per_s = 0;
  double disk_slowdown = 1;
  double delay_s = 0, jitter_s = 0, correlation = 0, jitter_state = 0;
  double loss = 0;
  bool memory_stress = false;
  double memory_stress_bytes = 0, memory_stress_start = 0, memory_ramp_s = 1;
  double contention_fb_bytes = 0;
  double gpu_back_at = kNaN;  // XID or a co-tenant's memory: the GPU is usable again then
  std::string gpu_start_error;  // why a restart fails until then
  int xid = 0;

  // Cumulative counters (reset when the container restarts, as cAdvisor's do).
  double cpu_total = 0, packets_total = 0, disk_total = 0;
  std::deque<Sample> cpu_samples, packet_samples, ws_samples;
  double gpu_util_gauge = kNaN;
  double temperature_c = kAmbientC;

  // Current-window accumulators.
  double work_cpu_s = 0;
  double packets = 0;
  double gpu_busy_s = 0, energy_busy_j = 0, clock_busy_mhz_s = 0, violation_s = 0, dram_s = 0;
  double prompt_tokens = 0, generation_tokens = 0, preemptions = 0;
  double http_requests = 0, http_5xx = 0;
  std::vector<double> ttft, tpot, e2e;
  std::deque<std::vector<double>> ttft_windows, tpot_windows, e2e_windows;
  int64_t preemptions_total = 0;
  double stats_prompt = 0, stats_generation = 0;

  // Istio latency histograms (per window, non-cumulative bucket counts incl. +Inf).
  std::map<int64_t, std::vector<double>> pending_hist;
  std::deque<std::vector<double>> hist_windows;
  std::map<int64_t, std::vector<double>> pending_ms;  // full telemetry: exact edge durations
  std::deque<std::vector<double>> edge_ms_windows;
};

struct Request {
  RequestRecord rec;
  int engine = -1;  // component index
  bool active = false;
};

// Moves the observations of window `w` (possibly none) from `pending` to the trailing `windows`
// of the last minute; drops older pending windows.
void RollWindow(std::map<int64_t, std::vector<double>>& pending, int64_t w,
                std::deque<std::vector<double>>& windows) {
  auto it = pending.find(w);
  if (it != pending.end()) {
    windows.push_back(std::move(it->second));
    pending.erase(it);
  } else {
    windows.emplace_back();
  }
  while (!pending.empty() && pending.begin()->first < w) pending.erase(pending.begin());
  while (windows.size() > kLatencyWindows) windows.pop_front();
}

std::string FormatLogTime(double t, bool with_year) {
  const auto seconds = static_cast<int64_t>(std::floor(t));
  const int millis = static_cast<int>((t - static_cast<double>(seconds)) * 1000);
  // Civil date from unix days (Howard Hinnant's algorithm).
  int64_t days = seconds / 86400;
  const int64_t sod = seconds % 86400;
  days += 719468;
  const int64_t era = days / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (with_year) {
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}", year, month, day, sod / 3600,
                       sod / 60 % 60, sod % 60, millis);
  }
  return fmt::format("{:02}-{:02} {:02}:{:02}:{:02}", month, day, sod / 3600, sod / 60 % 60,
                     sod % 60);
}

class Simulation {
 public:
  Simulation(const CaseConfig& config, CaseSink& sink)
      : cfg_(config), sink_(sink), rng_(config.seed) {}

  Result<CaseResult> Run();

 private:
  void Push(double t, Ev type, uint32_t a = 0, uint64_t b = 0) {
    events_.push(Event{t, next_seq_++, type, a, b});
  }
  // Keeps the first sink error; the run stops at the next event.
  void Check(Status s) {
    if (!s.ok() && sink_status_.ok()) sink_status_ = std::move(s);
  }
  void Log(double t, const Component& c, const std::string& message) {
    Check(sink_.OnLog(t, c.name, message));
  }

  void SetUp();
  double ArrivalRate(double t) const;
  double NextArrival(double t);
  double RunFraction(const Component& c) const;
  void UpdateConditions(Component& c);
  double Egress(Component& c, int messages);
  double ReturnDelay(int engine, int tail_messages);
  int Route(uint32_t req);

  void OnArrival(double t, bool flood);
  void OnHeadIn(double t, uint32_t req);
  void OnReplicaIn(double t, uint32_t req);
  void StartStep(double t, int comp);
  void OnStepDone(double t, int comp, uint64_t generation);
  void OnWindow(double t);
  void OnFault(double t, size_t fault, bool start);
  void OnRestartDone(double t, int comp);

  void Fail(double t, uint32_t req, int status, const std::string& where);
  void Finish(double t, uint32_t req);
  void Observe(int comp, double t_obs, double duration_s);
  void Crash(double t, int comp, const std::string& reason, double restart_at);
  uint32_t NewRequest();
  void Release(uint32_t req);
  void BuildColumns();
  std::vector<double> BuildRow(double t);
  int64_t WindowIndex(double t) const {
    return static_cast<int64_t>(std::floor((t - t_begin_) / cfg_.telemetry.step_s + 1e-9));
  }

  const CaseConfig& cfg_;
  CaseSink& sink_;
  Rng rng_;
  Status sink_status_;
  std::priority_queue<Event, std::vector<Event>, EventLater> events_;
  uint64_t next_seq_ = 0;
  std::vector<Component> comps_;  // 0 nginx-proxy, 1 ray-head, then replicas
  std::vector<int> engines_;      // component indices of engines
  std::vector<Request> reqs_;
  std::vector<uint32_t> free_reqs_;
  uint64_t next_request_id_ = 1;
  double t_begin_ = 0, t_load_end_ = 0, t_end_ = 0;
  double surge_factor_ = 1;
  int flood_target_ = -1;
  double flood_qps_ = 0, flood_prompt_ = 0, flood_output_ = 0;
  double arrivals_window_ = 0;
  std::vector<ColumnSpec> columns_;
  CaseResult result_;
  double last_stats_log_ = 0;
};

void Simulation::SetUp() {
  const std::vector<std::string> names = cfg_.topology.ComponentNames();
  comps_.resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    Component& c = comps_[i];
    c.name = names[i];
    c.rng = Rng(Rng::Derive(cfg_.seed, c.name));
    c.is_nginx = i == 0;
    c.is_head = i == 1;
    c.is_engine = i >= 1;
    c.base_working_set = c.is_nginx ? kNginxWorkingSet
                                    : (c.is_head ? kHeadWorkingSet : kEngineWorkingSet);
    c.base_working_set *= 1 + 0.05 * (c.rng.Uniform() - 0.5);
    c.working_set = c.base_working_set;
    if (c.is_engine) {
      c.engine = std::make_unique<Engine>(cfg_.engine, cfg_.model, cfg_.gpu);
      engines_.push_back(static_cast<int>(i));
    }
    // Kubernetes-looking names: a deployment hash and a pod suffix from the case seed.
    const char* kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    std::string suffix;
    for (int k = 0; k < 5; ++k) suffix += kAlphabet[c.rng.UniformInt(27)];
    c.pod_name = c.is_engine && !c.is_head ? fmt::format("{}-worker-{}", c.name, suffix)
                                           : fmt::format("{}-{}", c.name, suffix);
    c.pod_ip = fmt::format("10.42.{}.{}", i % 4, 10 + c.rng.UniformInt(200));
    c.node_name = fmt::format("k3s-worker-{}", i % 4);
    c.node_ip = fmt::format("192.168.10.{}", 11 + i % 4);
    c.scrape_offset = cfg_.telemetry.step_s *
                      static_cast<double>(c.rng.UniformInt(static_cast<uint64_t>(std::max(
                          1.0, std::round(cfg_.telemetry.scrape_interval_s /
                                          cfg_.telemetry.step_s)))));
    c.gpu_util_gauge = c.is_engine ? 0 : kNaN;
    UpdateConditions(c);
  }
}

double Simulation::ArrivalRate(double t) const {
  const LoadConfig& l = cfg_.load;
  double rate = l.qps;
  if (l.burst_period_s > 0 && l.burst_length_s > 0) {
    const double phase = std::fmod(t - cfg_.start_unix, l.burst_period_s);
    if (phase < l.burst_length_s) rate *= l.burst_factor;
  }
  if (l.daily_amplitude != 0) {
    rate *= std::max(0.05, 1 + l.daily_amplitude * std::sin(2 * M_PI * t / 86400));
  }
  return rate * surge_factor_;
}

double Simulation::NextArrival(double t) {
  const double rate = ArrivalRate(t);
  if (cfg_.load.arrival == ArrivalPattern::kPoisson) {
    return t - std::log(1 - rng_.Uniform()) / rate;
  }
  return t + 1 / rate;
}

double Simulation::RunFraction(const Component& c) const {
  // Threads that want CPU in the container, in cores; the CFS quota gives limit / demand of the
  // wall time when the demand exceeds the limit (reference 4.2, C.2 "CPU contention").
  double demand = c.is_nginx ? kNginxIdleCores
                             : kEngineLoopCores + kEngineIdleCores +
                                   (c.is_head ? kHeadServicesCores : 0);
  demand += c.stress_cores + c.disk_cores + (c.memory_stress ? kMemoryStressorCores : 0);
  double run = std::min(1.0, cfg_.topology.cpu_limit / demand);
  // Memory pressure near the limit: reclaim steals CPU (inference): up to -20 % at the limit.
  const double fill = c.working_set / cfg_.topology.memory_limit_bytes;
  if (fill > 0.9) run *= 1 - 2 * std::min(0.1, fill - 0.9);
  return run * c.disk_slowdown;
}

void Simulation::UpdateConditions(Component& c) { c.conditions.run_fraction = RunFraction(c); }

double Simulation::Egress(Component& c, int messages) {
  double d = kHopS;
  if (c.delay_s > 0 || c.jitter_s > 0) {
    // netem delay with correlated jitter: each draw keeps `correlation` of the previous one.
    const double fresh = (2 * c.rng.Uniform() - 1) * c.jitter_s;
    c.jitter_state = c.correlation * c.jitter_state + (1 - c.correlation) * fresh;
    d += std::max(0.0, c.delay_s + c.jitter_state);
  }
  if (c.loss > 0 && messages > 0) {
    // A loss among the last `messages` packets stalls the stream until the retransmission
    // (RTO, doubling on a repeated loss).
    const double p_any = 1 - std::pow(1 - c.loss, messages);
    double rto = kRtoS;
    while (c.rng.Uniform() < p_any && rto < 10) {
      d += rto;
      rto *= 2;
    }
  }
  return d;
}

double Simulation::ReturnDelay(int engine, int tail_messages) {
  Component& head = comps_[1];
  Component& nginx = comps_[0];
  double d = 0;
  if (engine != 1) d += Egress(comps_[static_cast<size_t>(engine)], tail_messages);
  d += kProxyChunkCpuS / head.conditions.run_fraction + Egress(head, tail_messages);
  d += kNginxChunkCpuS / RunFraction(nginx) + Egress(nginx, tail_messages);
  return d;
}

uint32_t Simulation::NewRequest() {
  uint32_t idx;
  if (!free_reqs_.empty()) {
    idx = free_reqs_.back();
    free_reqs_.pop_back();
  } else {
    idx = static_cast<uint32_t>(reqs_.size());
    reqs_.emplace_back();
  }
  Request& r = reqs_[idx];
  r = Request{};
  r.active = true;
  r.rec.id = next_request_id_++;
  r.rec.t_head = r.rec.t_replica = r.rec.t_first_token = r.rec.t_engine_done = kNaN;
  r.rec.t_head_done = r.rec.t_nginx_done = r.rec.t_client_first = r.rec.t_client_done = kNaN;
  return idx;
}

void Simulation::Release(uint32_t req) {
  reqs_[req].active = false;
  free_reqs_.push_back(req);
}

void Simulation::OnArrival(double t, bool flood) {
  const uint32_t idx = NewRequest();
  Request& r = reqs_[idx];
  r.rec.flood = flood;
  r.rec.t_arrival = t;
  if (flood) {
    r.rec.prompt_tokens = static_cast<int>(flood_prompt_);
    r.rec.output_tokens = static_cast<int>(flood_output_);
  } else {
    // Prompt lengths scatter around the configured mean; most chats run to max_tokens, some stop
    // at an end-of-sequence token earlier (inference).
    r.rec.prompt_tokens = std::max(
        1, static_cast<int>(std::lround(cfg_.load.prompt_tokens * std::exp(0.1 * rng_.Normal()))));
    const double out = cfg_.load.output_tokens;
    r.rec.output_tokens = rng_.Uniform() < 0.85
                              ? static_cast<int>(out)
                              : std::max(1, static_cast<int>(out * (0.125 + 0.875 * rng_.Uniform())));
  }
  Component& nginx = comps_[0];
  arrivals_window_ += 1;
  nginx.http_requests += 1;
  nginx.work_cpu_s += kNginxRequestCpuS;
  nginx.packets += 2;
  if (!nginx.alive || nginx.starting) {
    Fail(t, idx, 502, "nginx-proxy");
  } else {
    Push(t + kNginxRequestCpuS / nginx.conditions.run_fraction + Egress(nginx, 1), Ev::kHeadIn,
         idx);
  }
  if (flood) {
    const double next = t + 1 / flood_qps_;
    if (flood_target_ >= 0 && next < t_load_end_) Push(next, Ev::kFloodArrival);
  } else {
    const double next = NextArrival(t);
    if (next < t_load_end_) Push(next, Ev::kArrival);
  }
}

int Simulation::Route(uint32_t req) {
  if (reqs_[req].rec.flood) return comps_[static_cast<size_t>(flood_target_)].healthy ? flood_target_ : -1;
  // Ray Serve's PowerOfTwoChoicesReplicaScheduler: two random healthy replicas, the one with
  // fewer requests in flight (reference 4.3).
  std::vector<int> healthy;
  for (int e : engines_) {
    if (comps_[static_cast<size_t>(e)].healthy) healthy.push_back(e);
  }
  if (healthy.empty()) return -1;
  if (healthy.size() == 1) return healthy[0];
  const size_t a = rng_.UniformInt(healthy.size());
  size_t b = rng_.UniformInt(healthy.size() - 1);
  if (b >= a) ++b;
  const int ea = healthy[a], eb = healthy[b];
  const int la = comps_[static_cast<size_t>(ea)].engine->Load();
  const int lb = comps_[static_cast<size_t>(eb)].engine->Load();
  return lb < la ? eb : ea;
}

void Simulation::OnHeadIn(double t, uint32_t req) {
  Request& r = reqs_[req];
  Component& head = comps_[1];
  r.rec.t_head = t;
  head.work_cpu_s += kProxyRequestCpuS;
  if (!head.alive || head.starting) {  // the Serve proxy runs in the head pod
    Fail(t, req, 502, "ray-head");
    return;
  }
  const int target = Route(req);
  if (target < 0) {
    Fail(t + kProxyRequestCpuS / head.conditions.run_fraction, req, 503, "ray-head");
    return;
  }
  r.engine = target;
  r.rec.engine = comps_[static_cast<size_t>(target)].name;
  double at = t + kProxyRequestCpuS / head.conditions.run_fraction;
  if (target != 1) {
    head.packets += 2;
    at += kRayRpcS + Egress(head, 1);
  }
  Component& e = comps_[static_cast<size_t>(target)];
  at += kApiRequestCpuS / e.conditions.run_fraction;
  Push(at, Ev::kReplicaIn, req);
}

void Simulation::OnReplicaIn(double t, uint32_t req) {
  Request& r = reqs_[req];
  Component& e = comps_[static_cast<size_t>(r.engine)];
  r.rec.t_replica = t;
  e.work_cpu_s += kApiRequestCpuS;
  if (!e.alive || e.starting) {
    Fail(t, req, 500, e.name);
    return;
  }
  if (!e.engine->Enqueue(req, r.rec.prompt_tokens, r.rec.output_tokens)) {
    Fail(t, req, 400, e.name);
    return;
  }
  Log(t, e, fmt::format("INFO:     {}:{} - \"POST /v1/chat/completions HTTP/1.1\" 200 OK",
                        comps_[1].pod_ip, 40000 + r.rec.id % 20000));
  if (!e.engine->busy()) StartStep(t, r.engine);
}

void Simulation::StartStep(double t, int comp) {
  Component& c = comps_[static_cast<size_t>(comp)];
  StepStats stats;
  const double dt = c.engine->StartStep(c.conditions, stats);
  if (dt <= 0) return;
  c.gpu_busy_s += stats.gpu_busy_s;
  c.energy_busy_j += stats.power_w * stats.gpu_busy_s;
  c.clock_busy_mhz_s += stats.sm_clock_mhz * stats.gpu_busy_s;
  c.violation_s += stats.violation_s;
  c.dram_s += stats.dram_util * stats.gpu_busy_s;
  c.prompt_tokens += stats.prompt_tokens;
  c.stats_prompt += stats.prompt_tokens;
  Push(t + dt, Ev::kStepDone, static_cast<uint32_t>(comp), c.engine_generation);
}

void Simulation::OnStepDone(double t, int comp, uint64_t generation) {
  Component& c = comps_[static_cast<size_t>(comp)];
  if (generation != c.engine_generation || !c.alive) return;  // the engine crashed meanwhile
  StepEvents ev;
  c.engine->FinishStep(ev);
  // Every token is one SSE event: detokenised by the API server, relayed by the head's proxy
  // and by nginx, one packet per hop.
  const double tokens = ev.tokens;
  c.generation_tokens += tokens;
  c.stats_generation += tokens;
  c.work_cpu_s += tokens * kApiTokenCpuS;
  comps_[1].work_cpu_s += tokens * kProxyChunkCpuS;
  comps_[0].work_cpu_s += tokens * kNginxChunkCpuS;
  if (comp != 1) c.packets += tokens;
  comps_[1].packets += tokens;
  comps_[0].packets += tokens;
  if (ev.preemptions > 0) {
    for (int k = 0; k < ev.preemptions; ++k) {
      ++c.preemptions_total;
      if (c.preemptions_total % kPreemptionWarningEvery == 1 || kPreemptionWarningEvery == 1) {
        Log(t, c,
            fmt::format("WARNING {} scheduler.py:1057 Sequence group {} is preempted by "
                        "PreemptionMode.RECOMPUTE mode because there is not enough KV cache "
                        "space. This can affect the end-to-end performance. Increase "
                        "gpu_memory_utilization or tensor_parallel_size to provide more KV cache "
                        "memory. total_num_cumulative_preemption={}",
                        FormatLogTime(t, false), c.preemptions_total, c.preemptions_total));
      }
    }
    c.preemptions += ev.preemptions;
    result_.preemptions += ev.preemptions;
  }
  for (uint32_t req : ev.first_tokens) {
    Request& r = reqs_[req];
    r.rec.t_first_token = t;
    r.rec.t_client_first = t + ReturnDelay(comp, 1);
  }
  for (uint32_t req : ev.finished) Finish(t, req);
  StartStep(t, comp);
}

void Simulation::Finish(double t, uint32_t req) {
  Request& r = reqs_[req];
  Component& e = comps_[static_cast<size_t>(r.engine)];
  Component& head = comps_[1];
  Component& nginx = comps_[0];
  r.rec.generated_tokens = r.rec.output_tokens;
  r.rec.t_engine_done = t;
  // The tail of the stream: a loss among its last chunks (those within one RTO) delays it.
  const double itl = (t - r.rec.t_first_token) / std::max(1, r.rec.generated_tokens - 1);
  const int tail = static_cast<int>(std::min<double>(r.rec.generated_tokens,
                                                     std::ceil(kRtoS / std::max(itl, 1e-4))));
  double at = t;
  if (r.engine != 1) at += Egress(e, tail);
  at += kProxyChunkCpuS / head.conditions.run_fraction;
  r.rec.t_head_done = at;
  at += Egress(head, tail);
  r.rec.t_nginx_done = at;
  r.rec.t_client_done = at + kNginxChunkCpuS / nginx.conditions.run_fraction + Egress(nginx, tail);
  // Istio waypoint edges: nginx-proxy -> ray-head and ray-head -> engine (seed A.5(b)).
  Observe(0, r.rec.t_nginx_done, r.rec.t_nginx_done - r.rec.t_arrival);
  Observe(1, r.rec.t_nginx_done, r.rec.t_nginx_done - r.rec.t_arrival);
  Observe(1, r.rec.t_head_done, r.rec.t_head_done - r.rec.t_head);
  if (r.engine != 1) Observe(r.engine, r.rec.t_head_done, r.rec.t_head_done - r.rec.t_head);
  // vLLM's own histograms: TTFT, time per output token and e2e from the engine's view.
  e.ttft.push_back(r.rec.t_first_token - r.rec.t_replica);
  if (r.rec.generated_tokens > 1) {
    e.tpot.push_back((t - r.rec.t_first_token) / (r.rec.generated_tokens - 1));
  }
  e.e2e.push_back(t - r.rec.t_replica);
  const double duration_ms = (r.rec.t_head_done - r.rec.t_replica) * 1000;
  Log(t, e,
      fmt::format("INFO {} default_VLLMDeployment {} {} /v1/chat/completions replica.py:373 - "
                  "__CALL__ OK {:.1f}ms",
                  FormatLogTime(t, true), e.pod_name.substr(e.pod_name.size() - 5),
                  fmt::format("{:016x}", r.rec.id * 0x9E3779B97F4A7C15ULL), duration_ms));
  Log(r.rec.t_head_done, head,
      fmt::format("INFO {} proxy {} {:016x} /v1/chat/completions default proxy.py:1002 - POST "
                  "200 {:.1f}ms",
                  FormatLogTime(r.rec.t_head_done, true), nginx.pod_ip,
                  r.rec.id * 0x9E3779B97F4A7C15ULL, (r.rec.t_head_done - r.rec.t_head) * 1000));
  Log(r.rec.t_nginx_done, nginx,
      fmt::format("10.42.0.1 - - [{}] \"POST /v1/chat/completions HTTP/1.1\" 200 {} \"-\" "
                  "\"python-requests/2.31.0\" rt={:.3f}",
                  FormatLogTime(r.rec.t_nginx_done, true), 180 * r.rec.generated_tokens + 400,
                  r.rec.t_nginx_done - r.rec.t_arrival));
  ++result_.requests;
  Check(sink_.OnRequest(r.rec));
  Release(req);
}

void Simulation::Fail(double t, uint32_t req, int status, const std::string& where) {
  Request& r = reqs_[req];
  Component& head = comps_[1];
  Component& nginx = comps_[0];
  r.rec.status = status;
  r.rec.t_engine_done = t;
  double at = t;
  if (r.engine >= 0 && r.engine != 1 && where != "ray-head" && where != "nginx-proxy") {
    at += Egress(comps_[static_cast<size_t>(r.engine)], 1);
  }
  if (where != "nginx-proxy") {
    r.rec.t_head_done = at;
    at += Egress(head, 1);
  }
  r.rec.t_nginx_done = at;
  r.rec.t_client_done = at + Egress(nginx, 1);
  nginx.http_5xx += 1;
  if (where != "nginx-proxy") {
    Observe(0, r.rec.t_nginx_done, r.rec.t_nginx_done - r.rec.t_arrival);
    Observe(1, r.rec.t_nginx_done, r.rec.t_nginx_done - r.rec.t_arrival);
  }
  if (r.engine >= 0 && !std::isnan(r.rec.t_head)) {
    Log(r.rec.t_head_done, head,
        fmt::format("ERROR {} proxy {} {:016x} /v1/chat/completions default proxy.py:1002 - "
                    "POST {} {:.1f}ms",
                    FormatLogTime(r.rec.t_head_done, true), nginx.pod_ip,
                    r.rec.id * 0x9E3779B97F4A7C15ULL, status,
                    (r.rec.t_head_done - r.rec.t_head) * 1000));
  }
  Log(r.rec.t_nginx_done, nginx,
      fmt::format("10.42.0.1 - - [{}] \"POST /v1/chat/completions HTTP/1.1\" {} 0 \"-\" "
                  "\"python-requests/2.31.0\" rt={:.3f}",
                  FormatLogTime(r.rec.t_nginx_done, true), status,
                  r.rec.t_nginx_done - r.rec.t_arrival));
  ++result_.requests;
  ++result_.failed_requests;
  Check(sink_.OnRequest(r.rec));
  Release(req);
}

void Simulation::Observe(int comp, double t_obs, double duration_s) {
  const std::span<const double> buckets = IstioDurationBucketsMs();
  const double ms = duration_s * 1000;
  size_t b = 0;
  while (b < buckets.size() && ms > buckets[b]) ++b;
  Component& c = comps_[static_cast<size_t>(comp)];
  std::vector<double>& h = c.pending_hist[WindowIndex(t_obs)];
  if (h.empty()) h.assign(buckets.size() + 1, 0.0);
  h[b] += 1;
  if (cfg_.telemetry.mode == TelemetryMode::kFull) c.pending_ms[WindowIndex(t_obs)].push_back(ms);
}

void Simulation::Crash(double t, int comp, const std::string& reason, double restart_at) {
  Component& c = comps_[static_cast<size_t>(comp)];
  if (c.is_engine && c.engine) {
    for (const auto& [req, generated] : c.engine->Crash()) {
      reqs_[req].rec.generated_tokens = generated;
      Fail(t, req, 500, c.name);
    }
    c.engine_generation++;
  }
  if (!reason.empty()) Log(t, c, reason);
  c.alive = false;
  c.starting = false;
  c.unhealthy_at = t + c.rng.Uniform() * kHealthCheckS;  // noticed at the next health check
  c.restarts++;
  result_.restarts++;
  // A restarted container starts its cAdvisor counters from zero.
  c.cpu_total = 0;
  c.packets_total = 0;
  c.disk_total = 0;
  c.memory_stress = false;
  c.stress_cores = 0;
  c.disk_cores = 0;
  c.disk_bytes_per_s = 0;
  c.disk_slowdown = 1;
  Push(restart_at, Ev::kRestartDone, static_cast<uint32_t>(comp), 0);
}

void Simulation::OnRestartDone(double t, int comp) {
  Component& c = comps_[static_cast<size_t>(comp)];
  if (!std::isnan(c.gpu_back_at) && t < c.gpu_back_at) {
    // The GPU is still gone: the new container fails at start-up and backs off again.
    Log(t, c, fmt::format("ERROR {} [core.py:402] EngineCore failed to start: {}",
                          FormatLogTime(t, false), c.gpu_start_error));
    Push(std::max(c.gpu_back_at, t + kRestartBackoffS), Ev::kRestartDone,
         static_cast<uint32_t>(comp));
    return;
  }
  if (!c.starting) {
    // The process is up: load weights, profile memory, capture graphs (reference 5.3, 7).
    c.alive = true;
    c.starting = true;
    c.start_began = t;
    c.ready_at = t + cfg_.engine.startup_s * (c.is_nginx ? 0.05 : 1);
    if (c.is_engine) {
      Log(t, c,
          fmt::format("INFO {} [gpu_model_runner.py:1329] Model loading took {:.4f} GiB and "
                      "{:.6f} seconds",
                      FormatLogTime(t + 12, false), 2 * cfg_.model.params / 1073741824.0,
                      10.2 + c.rng.Uniform()));
    }
    Push(c.ready_at, Ev::kRestartDone, static_cast<uint32_t>(comp));
    return;
  }
  c.starting = false;
  c.healthy = true;
  c.unhealthy_at = kNaN;
  c.gpu_back_at = kNaN;
  c.xid = 0;
  if (c.is_engine) {
    c.engine = std::make_unique<Engine>(cfg_.engine, cfg_.model, cfg_.gpu);
    c.engine_generation++;
    Log(t, c,
        fmt::format("INFO {} [kv_cache_utils.py:634] GPU KV cache size: {} tokens",
                    FormatLogTime(t, false), c.engine->total_blocks() * cfg_.engine.block_size));
    Log(t, c, "INFO:     Application startup complete.");
  }
  UpdateConditions(c);
}

void Simulation::OnFault(double t, size_t index, bool start) {
  const FaultSpec& f = cfg_.faults[index];
  if (f.kind == FaultKind::kLoadSurge) {
    surge_factor_ = start ? f.Param("factor") : 1;
    return;
  }
  int comp = -1;
  for (size_t i = 0; i < comps_.size(); ++i) {
    if (comps_[i].name == f.target) comp = static_cast<int>(i);
  }
  Component& c = comps_[static_cast<size_t>(comp)];
  switch (f.kind) {
    case FaultKind::kCpu:
      c.stress_cores = start ? f.Param("workers") * f.Param("load") / 100 : 0;
      break;
    case FaultKind::kMemory:
    case FaultKind::kOom:
      c.memory_stress = start && c.alive;
      c.memory_stress_bytes = f.Param("size_gb") * 1e9;
      c.memory_stress_start = t;
      c.memory_ramp_s = std::max(1.0, f.Param("ramp_s"));
      break;
    case FaultKind::kNetwork:
      c.delay_s = start ? f.Param("delay_ms") / 1000 : 0;
      c.jitter_s = start ? f.Param("jitter_ms") / 1000 : 0;
      c.correlation = f.Param("correlation");
      break;
    case FaultKind::kLoss:
      c.loss = start ? std::min(0.99, f.Param("loss_pct") / 100) : 0;
      break;
    case FaultKind::kGpu:
      c.conditions.power_cap_w = start ? f.Param("power_cap_w") : 0;
      break;
    case FaultKind::kGpuContention: {
      c.conditions.contention = start ? f.Param("slowdown") : 0;
      c.contention_fb_bytes = start ? f.Param("fb_gib") * 1073741824.0 : 0;
      // vLLM pre-allocates gpu_memory_utilization of the device; a co-tenant taking more than
      // the rest makes the engine's next allocation fail (reference 5.4), and a restart is
      // refused while the memory stays taken.
      const double spare = cfg_.gpu.memory_bytes * (1 - cfg_.engine.gpu_memory_utilization);
      if (start && c.alive && !c.starting && c.contention_fb_bytes > spare) {
        const double gib = 1073741824.0;
        c.gpu_back_at = t + f.duration_s;
        c.gpu_start_error = fmt::format(
            "ValueError: Free memory on device cuda:0 ({:.2f}/{:.2f} GiB) on startup is less "
            "than desired GPU memory utilization ({}, {:.2f} GiB)",
            (cfg_.gpu.memory_bytes - c.contention_fb_bytes) / gib, cfg_.gpu.memory_bytes / gib,
            cfg_.engine.gpu_memory_utilization,
            cfg_.gpu.memory_bytes * cfg_.engine.gpu_memory_utilization / gib);
        Crash(t, comp,
              fmt::format("ERROR {} [core.py:400] EngineCore encountered a fatal error. "
                          "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 "
                          "GiB. GPU 0 has a total capacity of {:.2f} GiB of which {:.2f} MiB is "
                          "free.",
                          FormatLogTime(t, false), cfg_.gpu.memory_bytes / gib,
                          std::max(0.0, spare - c.contention_fb_bytes) / 1048576.0),
              t);
        return;
      }
      break;
    }
    case FaultKind::kKvCache:
      // The pool shrinks (as a co-tenant allocation at start-up or a lowered
      // gpu_memory_utilization would leave it) and long requests are pinned to the target.
      if (c.engine) c.engine->SetPoolFraction(start ? f.Param("pool_fraction") : 1.0);
      if (start) {
        flood_target_ = comp;
        flood_qps_ = std::max(1e-3, f.Param("qps"));
        flood_prompt_ = std::max(1.0, f.Param("prompt_tokens"));
        flood_output_ = std::max(1.0, f.Param("output_tokens"));
        Push(t, Ev::kFloodArrival);
      } else {
        flood_target_ = -1;
      }
      break;
    case FaultKind::kXid:
      if (start && c.alive) {
        const int code = static_cast<int>(f.Param("code"));
        c.xid = code;
        c.gpu_back_at = t + f.duration_s + f.Param("recovery_s");
        c.gpu_start_error = "RuntimeError: CUDA error: no CUDA-capable device is detected";
        Log(t, c,
            fmt::format("kernel: NVRM: Xid (PCI:0000:{:02x}:00): {}, pid={}, GPU has fallen off "
                        "the bus.",
                        0x17 + comp, code, 3000 + comp));
        Crash(t, comp,
              fmt::format("ERROR {} [core.py:400] EngineCore encountered a fatal error. "
                          "RuntimeError: CUDA error: unspecified launch failure",
                          FormatLogTime(t, false)),
              t);
        return;
      }
      break;
    case FaultKind::kDisk:
      c.disk_cores = start ? f.Param("workers") * kDiskWorkerCores : 0;
      c.disk_bytes_per_s = start ? f.Param("write_mbps") * 1e6 : 0;
      c.disk_slowdown = start ? 0.93 : 1;  // I/O wait and writeback contention (inference)
      break;
    case FaultKind::kLoadSurge:
      break;
  }
  UpdateConditions(c);
}

void Simulation::BuildColumns() {
  const bool full = cfg_.telemetry.mode == TelemetryMode::kFull;
  for (const Component& c : comps_) {
    for (const char* m : {"ctn_cpu", "ctn_network", "ctn_memory", "ctn_gpu"}) {
      columns_.push_back({c.name + "_" + m, ColumnKind::kNumber, ""});
    }
    columns_.push_back({c.name + "_pod_name", ColumnKind::kText, c.pod_name});
    columns_.push_back({c.name + "_pod_ip", ColumnKind::kText, c.pod_ip});
    columns_.push_back({c.name + "_node_name", ColumnKind::kText, c.node_name});
    columns_.push_back({c.name + "_node_ip", ColumnKind::kText, c.node_ip});
    for (const char* m : {"node_cpu", "node_network", "node_memory"}) {
      columns_.push_back({c.name + "_" + m, ColumnKind::kNumber, ""});
    }
    if (!full) continue;
    for (const char* m : {"ctn_restarts", "ctn_disk_io", "ctn_working_set"}) {
      columns_.push_back({c.name + "_" + m, ColumnKind::kNumber, ""});
    }
    if (c.is_nginx) {
      for (const char* m : {"http_requests", "http_5xx"}) {
        columns_.push_back({c.name + "_" + m, ColumnKind::kNumber, ""});
      }
    }
    if (c.is_engine) {
      for (const char* m :
           {"vllm_num_requests_running", "vllm_num_requests_waiting", "vllm_kv_cache_usage",
            "vllm_num_preemptions", "vllm_prompt_throughput", "vllm_generation_throughput",
            "vllm_ttft_p90", "vllm_tpot_p90", "vllm_e2e_p90", "gpu_util", "gpu_sm_clock",
            "gpu_power", "gpu_power_violation", "gpu_temp", "gpu_fb_used", "gpu_mem_util",
            "gpu_xid"}) {
        columns_.push_back({c.name + "_" + m, ColumnKind::kNumber, ""});
      }
    }
  }
  // latency_aggregated_{50,90}: one column per service (seed A.6, renamed by the harness).
  for (const Component& c : comps_) {
    columns_.push_back({c.name + "_latency-50", ColumnKind::kNumber, ""});
    columns_.push_back({c.name + "_latency-90", ColumnKind::kNumber, ""});
    // Full telemetry: the exact p90 of the same edges, free of the bucket interpolation.
    if (full) columns_.push_back({c.name + "_latency_p90", ColumnKind::kNumber, ""});
  }
  if (full) columns_.push_back({"load_request_rate", ColumnKind::kNumber, ""});
}

double Percentile90(const std::deque<std::vector<double>>& windows) {
  std::vector<double> all;
  for (const auto& w : windows) all.insert(all.end(), w.begin(), w.end());
  if (all.empty()) return kNaN;
  const size_t k = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(all.size()))) - 1;
  std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
  return all[k];
}

std::vector<double> Simulation::BuildRow(double t) {
  const bool full = cfg_.telemetry.mode == TelemetryMode::kFull;
  const double range = cfg_.telemetry.rate_window_s;
  const double step = cfg_.telemetry.step_s;
  std::vector<double> row;
  row.reserve(columns_.size());
  for (Component& c : comps_) {
    // The study's queries (seed A.5(b)): rate() of cAdvisor counters and of the working-set
    // gauge (a counter rule on a gauge), squared packet rate, Ray's GPU utilisation gauge.
    row.push_back(PromRate(std::vector<Sample>(c.cpu_samples.begin(), c.cpu_samples.end()), t,
                           range));
    const double pps = PromRate(
        std::vector<Sample>(c.packet_samples.begin(), c.packet_samples.end()), t, range);
    row.push_back((pps / 1000) * (pps / 1000));
    row.push_back(PromRate(std::vector<Sample>(c.ws_samples.begin(), c.ws_samples.end()), t,
                           range) /
                  1000);
    row.push_back(c.is_engine ? c.gpu_util_gauge : kNaN);
    // node_cpu (busy share), node_network (packets/s of the node), node_memory (used share).
    const double cores = c.work_cpu_s / step;
    row.push_back(std::min(1.0, (cores + 1.0) / kNodeCores));
    row.push_back(c.packets / step + 50);
    row.push_back((c.working_set + 6e9) / kNodeMemoryBytes);
    if (!full) continue;
    row.push_back(c.restarts);
    row.push_back(c.disk_bytes_per_s * (c.alive ? 1 : 0));
    row.push_back(c.working_set);
    if (c.is_nginx) {
      row.push_back(c.http_requests / step);
      row.push_back(c.http_5xx / step);
    }
    if (c.is_engine) {
      const bool up = c.alive && !c.starting;
      const double busy = std::min(1.0, c.gpu_busy_s / step);
      row.push_back(up ? c.engine->running() : 0);
      row.push_back(up ? c.engine->waiting() : 0);
      row.push_back(up ? c.engine->KvUsage() : 0);
      row.push_back(c.preemptions / step);
      row.push_back(c.prompt_tokens / step);
      row.push_back(c.generation_tokens / step);
      row.push_back(Percentile90(c.ttft_windows));
      row.push_back(Percentile90(c.tpot_windows));
      row.push_back(Percentile90(c.e2e_windows));
      row.push_back(100 * busy);
      const double idle_clock = up ? cfg_.gpu.idle_sm_clock_mhz : 0;
      row.push_back(c.gpu_busy_s > 0 ? (c.clock_busy_mhz_s + idle_clock * (step - c.gpu_busy_s)) /
                                           step
                                     : idle_clock);
      const double idle_power = c.alive ? cfg_.gpu.idle_w : cfg_.gpu.idle_w * 0.6;
      row.push_back((c.energy_busy_j + idle_power * (step - std::min(step, c.gpu_busy_s))) / step);
      row.push_back(c.violation_s / step * 1e6);
      row.push_back(c.temperature_c);
      double fb = 0;
      if (c.alive && !c.starting) {
        fb = cfg_.gpu.memory_bytes * cfg_.engine.gpu_memory_utilization;
      } else if (c.starting) {
        fb = cfg_.gpu.memory_bytes * cfg_.engine.gpu_memory_utilization *
             std::min(1.0, (t - c.start_began) / std::max(1.0, c.ready_at - c.start_began));
      }
      row.push_back((fb + c.contention_fb_bytes) / 1048576.0);
      row.push_back(100 * (c.gpu_busy_s > 0 ? c.dram_s / step : 0));
      row.push_back(c.xid);
    }
  }
  for (Component& c : comps_) {
    // histogram_quantile over the last minute of Istio buckets (seed A.5(b)).
    std::vector<double> cumulative(IstioDurationBucketsMs().size() + 1, 0.0);
    for (const auto& w : c.hist_windows) {
      double run = 0;
      for (size_t b = 0; b < w.size(); ++b) {
        run += w[b];
        cumulative[b] += run;
      }
    }
    row.push_back(HistogramQuantile(0.5, IstioDurationBucketsMs(), cumulative));
    row.push_back(HistogramQuantile(0.9, IstioDurationBucketsMs(), cumulative));
    if (full) row.push_back(Percentile90(c.edge_ms_windows));
  }
  if (full) row.push_back(arrivals_window_ / step);
  return row;
}

void Simulation::OnWindow(double t) {
  const double step = cfg_.telemetry.step_s;
  const double scrape = cfg_.telemetry.scrape_interval_s;
  const int64_t w = WindowIndex(t) - 1;  // the window that just closed
  for (Component& c : comps_) {
    // Container CPU: the engine's busy loop and idle threads, the request work, the stressors;
    // capped by the CFS quota.
    double used = 0;
    if (c.alive && c.starting) {
      used = kStartupCores * step;
    } else if (c.alive) {
      const double base = c.is_nginx ? kNginxIdleCores
                                     : kEngineLoopCores + kEngineIdleCores +
                                           (c.is_head ? kHeadServicesCores : 0);
      used = (base + c.stress_cores + c.disk_cores + (c.memory_stress ? kMemoryStressorCores : 0)) *
                 step +
             c.work_cpu_s;
      used = std::min(used, cfg_.topology.cpu_limit * step);
    }
    used *= 1 + 0.02 * c.rng.Normal();
    c.cpu_total += std::max(0.0, used);
    c.packets += (c.is_head ? kHeadHeartbeatPps : (c.is_engine ? kReplicaHeartbeatPps : 1)) * step;
    c.packets *= 1 + c.loss;  // retransmissions
    if (c.alive) c.packets_total += c.packets;
    c.disk_total += c.disk_bytes_per_s * step;
    // Working set: the process, slow allocator growth with an occasional release (so the
    // study's rate() of this gauge mostly reads small, with a reset spike now and then), and the
    // memory stressor's pages.
    if (c.rng.Uniform() < 0.02) {
      c.ws_noise -= 5e6 + 45e6 * c.rng.Uniform();
    } else {
      c.ws_noise += 1e6 * c.rng.Uniform();
    }
    c.ws_noise = std::clamp(c.ws_noise, -0.2 * c.base_working_set, 0.2 * c.base_working_set);
    double ws = 0;
    if (c.alive && !c.starting) {
      ws = c.base_working_set + c.ws_noise;
    } else if (c.starting) {
      ws = 0.3e9 + (c.base_working_set - 0.3e9) *
                       std::min(1.0, (t - c.start_began) / std::max(1.0, c.ready_at - c.start_began));
    }
    if (c.memory_stress) {
      ws += c.memory_stress_bytes * std::min(1.0, (t - c.memory_stress_start) / c.memory_ramp_s);
    }
    c.working_set = ws;
    if (c.alive && ws > cfg_.topology.memory_limit_bytes) {
      // Kubernetes >= 1.28 on cgroup v2 sets memory.oom.group: the whole container is killed
      // (inference for the study's k3s 1.29); it restarts at once, then reloads the model.
      Crash(t, static_cast<int>(&c - comps_.data()), "", t + 1);
      c.working_set = 0;
    }
    UpdateConditions(c);
    // GPU: utilisation, temperature.
    if (c.is_engine) {
      const double power = c.gpu_busy_s > 0 ? (c.energy_busy_j + cfg_.gpu.idle_w * (step - std::min(step, c.gpu_busy_s))) / step
                                            : cfg_.gpu.idle_w;
      const double target = kAmbientC + kThermalCPerW * power;
      c.temperature_c += (target - c.temperature_c) * (1 - std::exp(-step / kThermalTauS));
    }
    // Router: a dead replica is noticed at its next health check.
    if ((!c.alive || c.starting) && c.healthy && !std::isnan(c.unhealthy_at) &&
        t >= c.unhealthy_at) {
      c.healthy = false;
    }
    // Scrapes every scrape interval, at the component's offset.
    const double phase = std::fmod(t - t_begin_ - c.scrape_offset + 1e9 * scrape, scrape);
    if (phase < 1e-6 || scrape - phase < 1e-6) {
      if (c.alive) {
        c.cpu_samples.push_back({t, c.cpu_total});
        c.packet_samples.push_back({t, c.packets_total});
        c.ws_samples.push_back({t, c.working_set});
      }
      if (c.is_engine) {
        c.gpu_util_gauge = c.alive && !c.starting ? 100 * std::min(1.0, c.gpu_busy_s / step) : 0;
      }
      for (auto* s : {&c.cpu_samples, &c.packet_samples, &c.ws_samples}) {
        while (!s->empty() && s->front().t < t - 2 * cfg_.telemetry.rate_window_s) s->pop_front();
      }
    }
    // Observations of the closed window join the last minute.
    RollWindow(c.pending_hist, w, c.hist_windows);
    RollWindow(c.pending_ms, w, c.edge_ms_windows);
    if (c.is_engine) {
      c.ttft_windows.push_back(std::move(c.ttft));
      c.tpot_windows.push_back(std::move(c.tpot));
      c.e2e_windows.push_back(std::move(c.e2e));
      c.ttft.clear();
      c.tpot.clear();
      c.e2e.clear();
      for (auto* d : {&c.ttft_windows, &c.tpot_windows, &c.e2e_windows}) {
        while (d->size() > kLatencyWindows) d->pop_front();
      }
    }
  }
  // vLLM's periodic stats line.
  if (t - last_stats_log_ >= kStatsLogPeriodS - 1e-9) {
    const double span = t - last_stats_log_;
    last_stats_log_ = t;
    for (Component& c : comps_) {
      if (!c.is_engine || !c.alive || c.starting) continue;
      Log(t, c,
          fmt::format("INFO {} [loggers.py:116] Engine 000: Avg prompt throughput: {:.1f} "
                      "tokens/s, Avg generation throughput: {:.1f} tokens/s, Running: {} reqs, "
                      "Waiting: {} reqs, GPU KV cache usage: {:.1f}%, Prefix cache hit rate: 0.0%",
                      FormatLogTime(t, false), c.stats_prompt / span, c.stats_generation / span,
                      c.engine->running(), c.engine->waiting(), 100 * c.engine->KvUsage()));
      c.stats_prompt = c.stats_generation = 0;
    }
  }
  // The row of this query time.
  if (t >= cfg_.start_unix - 1e-6 && t < t_end_ - 1e-6) {
    std::vector<double> row = BuildRow(t);
    Check(sink_.OnRow(t, row));
    ++result_.rows;
  }
  // Reset the window accumulators.
  for (Component& c : comps_) {
    c.work_cpu_s = c.packets = 0;
    c.gpu_busy_s = c.energy_busy_j = c.clock_busy_mhz_s = c.violation_s = c.dram_s = 0;
    c.prompt_tokens = c.generation_tokens = c.preemptions = 0;
    c.http_requests = c.http_5xx = 0;
  }
  arrivals_window_ = 0;
  if (t + step < t_end_ - 1e-6) Push(t + step, Ev::kWindow);
}

Result<CaseResult> Simulation::Run() {
  LLMRCA_RETURN_IF_ERROR(cfg_.Validate());
  SetUp();
  BuildColumns();
  LLMRCA_RETURN_IF_ERROR(sink_.OnColumns(columns_));
  const double step = cfg_.telemetry.step_s;
  const double warmup = std::ceil(cfg_.warmup_s / step) * step;
  t_begin_ = cfg_.start_unix - warmup;
  t_load_end_ = cfg_.start_unix + cfg_.duration_s;
  t_end_ = cfg_.start_unix + cfg_.duration_s;
  last_stats_log_ = t_begin_;
  Push(t_begin_ + step, Ev::kWindow);
  Push(cfg_.start_unix, Ev::kArrival);
  for (size_t i = 0; i < cfg_.faults.size(); ++i) {
    const FaultSpec& f = cfg_.faults[i];
    Push(cfg_.start_unix + f.start_s, Ev::kFaultStart, static_cast<uint32_t>(i));
    Push(cfg_.start_unix + f.start_s + f.duration_s, Ev::kFaultEnd, static_cast<uint32_t>(i));
  }
  while (!events_.empty() && sink_status_.ok()) {
    const Event e = events_.top();
    if (e.t >= t_end_ - 1e-9 && e.type != Ev::kWindow) {
      events_.pop();
      continue;
    }
    events_.pop();
    switch (e.type) {
      case Ev::kArrival: OnArrival(e.t, false); break;
      case Ev::kFloodArrival:
        if (flood_target_ >= 0) OnArrival(e.t, true);
        break;
      case Ev::kHeadIn: OnHeadIn(e.t, e.a); break;
      case Ev::kReplicaIn: OnReplicaIn(e.t, e.a); break;
      case Ev::kStepDone: OnStepDone(e.t, static_cast<int>(e.a), e.b); break;
      case Ev::kWindow: OnWindow(e.t); break;
      case Ev::kFaultStart: OnFault(e.t, e.a, true); break;
      case Ev::kFaultEnd: OnFault(e.t, e.a, false); break;
      case Ev::kRestartDone: OnRestartDone(e.t, static_cast<int>(e.a)); break;
    }
  }
  LLMRCA_RETURN_IF_ERROR(sink_status_);
  return result_;
}

}  // namespace

Result<CaseResult> SimulateCase(const CaseConfig& config, CaseSink& sink) {
  Simulation sim(config, sink);
  return sim.Run();
}

}  // namespace llmrca::sim
