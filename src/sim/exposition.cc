#include "sim/exposition.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace llmrca::sim {

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.1f}", v);
  return fmt::format("{}", v);
}

std::string FormatLabels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(labels[i].first);
    out.append("=\"");
    for (const char c : labels[i].second) {
      switch (c) {
        case '\\': out.append("\\\\"); break;
        case '"': out.append("\\\""); break;
        case '\n': out.append("\\n"); break;
        default: out.push_back(c); break;
      }
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), per_bucket_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  // The first bound >= v: Prometheus buckets are "le" (upper bound inclusive).
  const size_t i = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  ++per_bucket_[i];
  ++count_;
  sum_ += v;
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t k = 0; k <= i && k < per_bucket_.size(); ++k) total += per_bucket_[k];
  return total;
}

void ExpositionWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void ExpositionWriter::Sample(std::string_view name, const Labels& labels, double value) {
  fmt::format_to(std::back_inserter(text_), "{}{} {}\n", name, FormatLabels(labels),
                 FormatSampleValue(value));
}

void ExpositionWriter::HistogramSamples(std::string_view name, const Labels& labels,
                                        const Histogram& h) {
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  const std::string bucket = fmt::format("{}_bucket", name);
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    with_le.back().second = i < h.bounds().size() ? FormatSampleValue(h.bounds()[i]) : "+Inf";
    Sample(bucket, with_le, static_cast<double>(h.CumulativeCount(i)));
  }
  Sample(fmt::format("{}_sum", name), labels, h.sum());
  Sample(fmt::format("{}_count", name), labels, static_cast<double>(h.count()));
}

std::vector<double> VllmTtftBounds() {
  return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
          1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
}

std::vector<double> VllmTpotBounds() {
  return {0.01, 0.025, 0.05, 0.075, 0.1,  0.15, 0.2,  0.3,  0.4, 0.5,
          0.75, 1.0,   2.5,  5.0,   7.5,  10.0, 20.0, 40.0, 80.0};
}

std::vector<double> VllmRequestLatencyBounds() {
  return {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
          30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
}

std::vector<double> VllmTokenCountBounds(int64_t max_model_len) {
  // 1, 2, 5, 10, 20, 50, ... while <= max_model_len (vLLM's build_1_2_5_buckets).
  std::vector<double> out;
  for (int64_t scale = 1;; scale *= 10) {
    for (const int64_t m : {1, 2, 5}) {
      if (m * scale > max_model_len) return out;
      out.push_back(static_cast<double>(m * scale));
    }
  }
}

VllmMetrics::VllmMetrics(int64_t max_model_len)
    : ttft_s(VllmTtftBounds()),
      tpot_s(VllmTpotBounds()),
      e2e_s(VllmRequestLatencyBounds()),
      queue_s(VllmRequestLatencyBounds()),
      prefill_s(VllmRequestLatencyBounds()),
      decode_s(VllmRequestLatencyBounds()),
      prompt_tokens_per_request(VllmTokenCountBounds(max_model_len)),
      generation_tokens_per_request(VllmTokenCountBounds(max_model_len)) {}

void VllmMetrics::Render(ExpositionWriter& out, std::string_view model_name,
                         int engine_index) const {
  const Labels labels = {{"model_name", std::string(model_name)},
                         {"engine", std::to_string(engine_index)}};
  const auto gauge = [&](std::string_view name, std::string_view help, double v) {
    out.Family(name, "gauge", help);
    out.Sample(name, labels, v);
  };
  const auto counter = [&](std::string_view name, std::string_view help, uint64_t v) {
    out.Family(name, "counter", help);
    out.Sample(fmt::format("{}_total", name), labels, static_cast<double>(v));
  };
  const auto histogram = [&](std::string_view name, std::string_view help, const Histogram& h) {
    out.Family(name, "histogram", help);
    out.HistogramSamples(name, labels, h);
  };
  gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
        static_cast<double>(num_requests_running));
  gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
        static_cast<double>(num_requests_waiting));
  gauge("vllm:num_requests_swapped", "Number of requests swapped to CPU (V0; always 0 here).", 0);
  gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kv_cache_usage);
  gauge("vllm:gpu_cache_usage_perc",
        "GPU KV-cache usage. 1 means 100 percent usage (deprecated: vllm:kv_cache_usage_perc).",
        kv_cache_usage);
  counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
          num_preemptions);
  counter("vllm:prompt_tokens", "Number of prefill tokens processed.", prompt_tokens);
  counter("vllm:generation_tokens", "Number of generation tokens processed.", generation_tokens);
  out.Family("vllm:request_success", "counter", "Count of successfully processed requests.");
  for (const auto& [reason, n] : {std::pair<const char*, uint64_t>{"stop", success_stop},
                                  {"length", success_length},
                                  {"abort", success_abort}}) {
    Labels l = labels;
    l.emplace_back("finished_reason", reason);
    out.Sample("vllm:request_success_total", l, static_cast<double>(n));
  }
  histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            ttft_s);
  histogram("vllm:time_per_output_token_seconds",
            "Histogram of time per output token in seconds.", tpot_s);
  histogram("vllm:e2e_request_latency_seconds",
            "Histogram of e2e request latency in seconds.", e2e_s);
  histogram("vllm:request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.", queue_s);
  histogram("vllm:request_prefill_time_seconds",
            "Histogram of time spent in PREFILL phase for request.", prefill_s);
  histogram("vllm:request_decode_time_seconds",
            "Histogram of time spent in DECODE phase for request.", decode_s);
  histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.",
            prompt_tokens_per_request);
  histogram("vllm:request_generation_tokens", "Number of generation tokens processed.",
            generation_tokens_per_request);
}

void RenderDcgm(ExpositionWriter& out, std::span<const DcgmGpu> gpus) {
  const auto labels_of = [](const DcgmGpu& g) {
    return Labels{{"gpu", std::to_string(g.index)},
                  {"UUID", g.uuid},
                  {"device", fmt::format("nvidia{}", g.index)},
                  {"modelName", g.model_name},
                  {"Hostname", g.hostname}};
  };
  struct Field {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const DcgmGpu&);
  };
  static constexpr Field kFields[] = {
      {"DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).",
       [](const DcgmGpu& g) { return g.sm_clock_mhz; }},
      {"DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).",
       [](const DcgmGpu& g) { return g.mem_clock_mhz; }},
      {"DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).",
       [](const DcgmGpu& g) { return g.gpu_temp_c; }},
      {"DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).",
       [](const DcgmGpu& g) { return g.power_usage_w; }},
      {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter",
       "Total energy consumption since boot (in mJ).",
       [](const DcgmGpu& g) { return static_cast<double>(g.total_energy_mj); }},
      {"DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).",
       [](const DcgmGpu& g) { return g.gpu_util_pct; }},
      {"DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).",
       [](const DcgmGpu& g) { return g.mem_copy_util_pct; }},
      {"DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).",
       [](const DcgmGpu& g) { return g.fb_free_mib; }},
      {"DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).",
       [](const DcgmGpu& g) { return g.fb_used_mib; }},
      {"DCGM_FI_DEV_POWER_VIOLATION", "counter", "Throttling duration due to power constraints.",
       [](const DcgmGpu& g) { return static_cast<double>(g.power_violation_ns); }},
      {"DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.",
       [](const DcgmGpu& g) { return static_cast<double>(g.last_xid); }},
  };
  for (const Field& f : kFields) {
    out.Family(f.name, f.type, f.help);
    for (const DcgmGpu& g : gpus) out.Sample(f.name, labels_of(g), f.value(g));
  }
}

}  // namespace llmrca::sim
