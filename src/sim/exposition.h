// Prometheus text exposition (format 0.0.4) for `llmrca serve-sim`: the series a vLLM engine
// exposes on /metrics (names, types, labels and histogram buckets of vLLM's V1
// PrometheusStatLogger, docs/reference/load-testing.md 4.1) and the GPU series of NVIDIA's
// DCGM exporter (docs/reference/chaos-and-telemetry.md, DCGM table), so that a scraper or a
// Prometheus server pointed at the simulated stack reads what it would read from a real one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmrca::sim {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A sample value as Prometheus clients write it: "+Inf", "-Inf", "NaN", integral values with
// one decimal ("3.0", as prometheus_client does), others in the shortest form that reads back
// exactly ("0.001", "1e-07").
std::string FormatSampleValue(double v);

// `{a="x",b="y"}` with label values escaped as the format requires (\\, \", \n); empty for no
// labels.
std::string FormatLabels(const Labels& labels);

// A cumulative histogram with fixed upper bounds (ascending, finite; +Inf is implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);  // NaN is ignored, as prometheus_client would count it in no bucket
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i]; i == bounds().size() is +Inf (= count).
  uint64_t CumulativeCount(size_t i) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> per_bucket_;  // observations in (bounds[i-1], bounds[i]]; last: > max
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Builds one exposition text. Each family starts with its # HELP and # TYPE lines; samples of a
// family must follow its header (the format's only ordering rule).
class ExpositionWriter {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  // The _bucket (with le), _sum and _count samples of `h` under `name`.
  void HistogramSamples(std::string_view name, const Labels& labels, const Histogram& h);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// vLLM's histogram bounds (V1 PrometheusStatLogger): TTFT 0.001 s to 2,560 s, time per output
// token 0.01 s to 80 s, request latencies (E2E, queue, prefill, decode, inference) 0.3 s to
// 7,680 s, and 1-2-5 token-count bounds up to `max_model_len`.
std::vector<double> VllmTtftBounds();
std::vector<double> VllmTpotBounds();
std::vector<double> VllmRequestLatencyBounds();
std::vector<double> VllmTokenCountBounds(int64_t max_model_len);

// The state of one engine as vLLM reports it. Counters only grow; the owner updates them.
struct VllmMetrics {
  explicit VllmMetrics(int64_t max_model_len);

  // Gauges.
  int64_t num_requests_running = 0;
  int64_t num_requests_waiting = 0;
  double kv_cache_usage = 0;  // 0..1
  // Counters.
  uint64_t num_preemptions = 0;
  uint64_t prompt_tokens = 0;
  uint64_t generation_tokens = 0;
  uint64_t success_stop = 0;    // request_success_total{finished_reason="stop"}
  uint64_t success_length = 0;  // {finished_reason="length"}
  uint64_t success_abort = 0;   // {finished_reason="abort"}
  // Histograms.
  Histogram ttft_s;
  Histogram tpot_s;
  Histogram e2e_s;
  Histogram queue_s;
  Histogram prefill_s;
  Histogram decode_s;
  Histogram prompt_tokens_per_request;
  Histogram generation_tokens_per_request;

  // Every series above with the labels model_name and engine (vLLM V1's), plus the deprecated
  // vllm:gpu_cache_usage_perc (same value) and vllm:num_requests_swapped (0) that the study's
  // queries still read.
  void Render(ExpositionWriter& out, std::string_view model_name, int engine_index) const;
};

// One simulated GPU as the DCGM exporter reports it (labels gpu, UUID, device, modelName,
// Hostname).
struct DcgmGpu {
  int index = 0;
  std::string uuid;
  std::string model_name;  // e.g. "NVIDIA H100 80GB HBM3"
  std::string hostname;
  double sm_clock_mhz = 0;
  double mem_clock_mhz = 0;
  double gpu_util_pct = 0;
  double mem_copy_util_pct = 0;
  double fb_used_mib = 0;
  double fb_free_mib = 0;
  double power_usage_w = 0;
  double gpu_temp_c = 0;
  uint64_t total_energy_mj = 0;      // counter
  uint64_t power_violation_ns = 0;   // counter: time throttled by the power limit
  int64_t last_xid = 0;              // gauge: the last XID error, 0 for none
};

// Renders several GPUs with one header per family, as the exporter does.
void RenderDcgm(ExpositionWriter& out, std::span<const DcgmGpu> gpus);

}  // namespace llmrca::sim
