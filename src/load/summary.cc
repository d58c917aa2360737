#include "load/summary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "base/strings.h"
#include <nlohmann/json.hpp>

#include "base/check.h"
#include "load/histogram.h"

namespace llmrca::load {
namespace {

using Json = nlohmann::ordered_json;

// Percentiles are kept in microseconds with 3 significant digits (load-testing.md §8.5) up to
// about 27.8 hours, longer than any request; longer values are counted at that ceiling.
constexpr int64_t kHistogramHighestUs = 100'000'000'000;

struct Percentile {
  double p;
  double Distribution::*field;
  std::string_view label;  // JSON key and CSV column suffix
  std::string_view title;  // table header
};
constexpr Percentile kPercentiles[] = {{50, &Distribution::p50_ms, "p50", "p50"},
                                       {90, &Distribution::p90_ms, "p90", "p90"},
                                       {95, &Distribution::p95_ms, "p95", "p95"},
                                       {99, &Distribution::p99_ms, "p99", "p99"},
                                       {99.9, &Distribution::p99_9_ms, "p99_9", "p99.9"}};

// Latencies come from a clock with nanosecond resolution; rounding to it (1e-6 ms) drops the
// floating-point noise of subtracting times (100.00000000000009 -> 100).
double RoundToNs(double ms) { return std::round(ms * 1e6) / 1e6; }

// Exact moments and extremes (Welford's update) plus an HdrHistogram for the percentiles.
class Accumulator {
 public:
  Accumulator()
      : histogram_(HdrHistogram::Create({.lowest_discernible_value = 1,
                                         .highest_trackable_value = kHistogramHighestUs,
                                         .significant_digits = 3})
                       .value()) {}

  // Non-finite values (a broken clock reading) are left out rather than poisoning every statistic.
  void Add(double ms) {
    if (!std::isfinite(ms)) return;
    ++count_;
    const double delta = ms - mean_;
    mean_ += delta / static_cast<double>(count_);
    m2_ += delta * (ms - mean_);
    min_ = count_ == 1 ? ms : std::min(min_, ms);
    max_ = count_ == 1 ? ms : std::max(max_, ms);
    // Negative values (bad clocks in a hand-edited file, an early send) count as 0 here; the exact
    // min and the clamp in Get() keep them visible.
    const double us =
        std::clamp(std::round(ms * 1000.0), 0.0, static_cast<double>(kHistogramHighestUs));
    const Status recorded = histogram_.Record(static_cast<int64_t>(us));
    LLMRCA_DCHECK(recorded.ok()) << recorded.ToString();
  }

  Distribution Get() const {
    Distribution d;
    d.count = count_;
    if (count_ == 0) return d;
    d.mean_ms = RoundToNs(mean_);
    d.std_ms = RoundToNs(std::sqrt(std::max(0.0, m2_ / static_cast<double>(count_))));
    d.min_ms = RoundToNs(min_);
    d.max_ms = RoundToNs(max_);
    for (const Percentile& p : kPercentiles) {
      // HdrHistogram answers the highest value equivalent to the rank's bucket; it can only lie
      // above the exact percentile, and the exact one lies in [min, max], so clamping is safe.
      const double v = static_cast<double>(histogram_.ValueAtPercentile(p.p)) / 1000.0;
      d.*p.field = RoundToNs(std::clamp(v, min_, max_));
    }
    return d;
  }

 private:
  int64_t count_ = 0;
  double mean_ = 0;
  double m2_ = 0;
  double min_ = 0;
  double max_ = 0;
  HdrHistogram histogram_;
};

bool FiniteNonNegative(const std::optional<double>& v) {
  return !v || (std::isfinite(*v) && *v >= 0);
}

// Peak of the number of [start, end) intervals covering one instant.
int64_t MaxConcurrency(std::vector<std::pair<double, int>> events) {
  // At equal times ends (-1) sort before starts (+1): [a, b) and [b, c) do not overlap.
  std::sort(events.begin(), events.end());
  int64_t current = 0;
  int64_t peak = 0;
  for (const auto& [t, delta] : events) {
    current += delta;
    peak = std::max(peak, current);
  }
  return peak;
}

// Python's str(float), as the seed's csv.DictWriter writes numbers: shortest round-trip digits,
// with ".0" on integral values.
std::string PyFloat(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // 'n': inf / nan
  return s;
}

// The error classes that count as failures, in declaration order (kNone is `completed`).
std::vector<ErrorClass> FailureClasses() {
  std::vector<ErrorClass> out;
  for (ErrorClass c : kAllErrorClasses) {
    if (c != ErrorClass::kNone) out.push_back(c);
  }
  return out;
}

std::string SloText(const Slo& slo) {
  std::vector<std::string> parts;
  if (slo.ttft_ms) parts.push_back(fmt::format("ttft <= {} ms", *slo.ttft_ms));
  if (slo.tpot_ms) parts.push_back(fmt::format("tpot <= {} ms", *slo.tpot_ms));
  if (slo.e2e_ms) parts.push_back(fmt::format("e2e <= {} ms", *slo.e2e_ms));
  return fmt::format("{}, ttft and e2e from the {} send", fmt::join(parts, ", "),
                     slo.from_intended ? "intended" : "actual");
}

std::string GroupTitle(const GroupSummary& g) {
  if (!g.step) return "whole run";
  if (g.step_rate_rps) return fmt::format("step {} ({} req/s)", *g.step, *g.step_rate_rps);
  return fmt::format("step {}", *g.step);
}

void RenderGroupTable(const RunSummary& s, const GroupSummary& g, fmt::memory_buffer& out) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "== llmrca load summary: {} ==\n", GroupTitle(g));
  fmt::format_to(it, "{:<22}{} (completed {}, failed {})\n", "requests", g.requests, g.completed,
                 g.failed);
  fmt::format_to(it, "{:<22}{:.3f} s\n", "duration", g.duration_s);
  fmt::format_to(it, "{:<22}{:.3f} req/s, {:.1f} output tok/s, {:.1f} total tok/s\n", "throughput",
                 g.request_throughput_rps, g.output_token_throughput_tps,
                 g.total_token_throughput_tps);
  if (s.slo.any()) {
    fmt::format_to(it, "{:<22}{:.3f} req/s, {:.1f} % of requests ({})\n", "goodput", g.goodput_rps,
                   100.0 * g.goodput_fraction, SloText(s.slo));
  } else {
    fmt::format_to(it, "{:<22}n/a (no SLO given)\n", "goodput");
  }
  fmt::format_to(it, "{:<22}{}\n", "max in flight", g.max_concurrency);
  fmt::format_to(it, "{:<22}{} in, {} out\n", "tokens", g.prompt_tokens_total,
                 g.output_tokens_total);
  fmt::format_to(it, "{:<22}{}\n", "tokens != max_tokens", g.tokens_mismatch);
  std::vector<std::string> errors;
  for (ErrorClass c : FailureClasses()) {
    errors.push_back(fmt::format("{} {}", ErrorClassName(c), g.Errors(c)));
  }
  fmt::format_to(it, "{:<22}{}\n\n", "errors", fmt::join(errors, ", "));
  fmt::format_to(it, "{:<20}{:>8}{:>11}{:>11}{:>11}", "metric (ms)", "count", "mean", "std", "min");
  for (const Percentile& p : kPercentiles) fmt::format_to(it, "{:>11}", p.title);
  fmt::format_to(it, "{:>11}\n", "max");
  for (Metric m : kAllMetrics) {
    const Distribution& d = g.Get(m);
    fmt::format_to(it, "{:<20}{:>8}", MetricName(m), d.count);
    if (d.count == 0) {
      for (int i = 0; i < 9; ++i) fmt::format_to(it, "{:>11}", "n/a");
    } else {
      fmt::format_to(it, "{:>11.3f}{:>11.3f}{:>11.3f}", d.mean_ms, d.std_ms, d.min_ms);
      for (const Percentile& p : kPercentiles) fmt::format_to(it, "{:>11.3f}", d.*p.field);
      fmt::format_to(it, "{:>11.3f}", d.max_ms);
    }
    fmt::format_to(it, "\n");
  }
  fmt::format_to(it, "\n");
}

Json OptionalNumber(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json DistributionJson(const Distribution& d) {
  Json j;
  j["count"] = d.count;
  const auto value = [&](double v) { return d.count == 0 ? Json(nullptr) : Json(v); };
  j["mean"] = value(d.mean_ms);
  j["std"] = value(d.std_ms);
  j["min"] = value(d.min_ms);
  for (const Percentile& p : kPercentiles) j[std::string(p.label)] = value(d.*p.field);
  j["max"] = value(d.max_ms);
  return j;
}

Json GroupJson(const RunSummary& s, const GroupSummary& g) {
  Json j;
  j["step"] = g.step ? Json(*g.step) : Json(nullptr);
  j["step_rate_rps"] = OptionalNumber(g.step_rate_rps);
  j["requests"] = g.requests;
  j["completed"] = g.completed;
  j["failed"] = g.failed;
  j["duration_s"] = g.duration_s;
  j["request_throughput_rps"] = g.request_throughput_rps;
  j["output_token_throughput_tps"] = g.output_token_throughput_tps;
  j["total_token_throughput_tps"] = g.total_token_throughput_tps;
  j["prompt_tokens_total"] = g.prompt_tokens_total;
  j["output_tokens_total"] = g.output_tokens_total;
  j["tokens_mismatch"] = g.tokens_mismatch;
  if (s.slo.any()) {
    j["goodput"] = {
        {"requests", g.goodput_requests}, {"rps", g.goodput_rps}, {"fraction", g.goodput_fraction}};
  } else {
    j["goodput"] = nullptr;
  }
  j["max_concurrency"] = g.max_concurrency;
  Json errors = Json::object();
  for (ErrorClass c : FailureClasses()) errors[std::string(ErrorClassName(c))] = g.Errors(c);
  j["errors"] = std::move(errors);
  Json dists = Json::object();
  for (Metric m : kAllMetrics) dists[std::string(MetricName(m))] = DistributionJson(g.Get(m));
  j["distributions_ms"] = std::move(dists);
  return j;
}

std::vector<std::string> SeedColumns() {
  // The seed's --summary-file header (load-testing.md §1.7), in its order.
  return {"Provider",          "Model",       "Prompt Tokens",
          "Generation Tokens", "Stream",      "Temperature",
          "Logprobs",          "Concurrency", "Time To First Token",
          "Latency Per Token", "Num Tokens",  "Total Latency",
          "Num Requests",      "Qps"};
}

std::vector<std::string> CsvRow(const RunSummary& s, const GroupSummary& g) {
  std::vector<std::string> row;
  const auto mean_or_blank = [](const Distribution& d) {
    return d.count == 0 ? std::string() : PyFloat(d.mean_ms);
  };
  // The seed's columns.
  row.push_back(CsvQuote(s.info.provider));
  row.push_back(CsvQuote(s.info.model));
  if (g.prompt_tokens_known > 0) {
    row.push_back(PyFloat(static_cast<double>(g.prompt_tokens_total) /
                          static_cast<double>(g.prompt_tokens_known)));
  } else {
    row.push_back(s.info.prompt_tokens ? fmt::format("{}", *s.info.prompt_tokens) : "");
  }
  row.push_back(CsvQuote(s.info.generation_tokens));
  row.push_back(s.info.stream ? "True" : "False");
  row.push_back(PyFloat(s.info.temperature));
  row.push_back(CsvQuote(s.info.logprobs));
  row.push_back(CsvQuote(s.info.concurrency));
  // Without streaming the seed leaves these two blank: they would be meaningless.
  row.push_back(s.info.stream ? mean_or_blank(g.Get(Metric::kTtft)) : "");
  row.push_back(s.info.stream ? mean_or_blank(g.Get(Metric::kLatencyPerToken)) : "");
  row.push_back(g.completed == 0 ? std::string()
                                 : PyFloat(static_cast<double>(g.output_tokens_total) /
                                           static_cast<double>(g.completed)));
  row.push_back(mean_or_blank(g.Get(Metric::kE2e)));
  row.push_back(fmt::format("{}", g.completed));
  row.push_back(PyFloat(g.request_throughput_rps));
  // Ours.
  row.push_back(g.step ? fmt::format("{}", *g.step) : "all");
  row.push_back(g.step_rate_rps ? PyFloat(*g.step_rate_rps) : "");
  for (int64_t v : {g.requests, g.completed, g.failed}) row.push_back(fmt::format("{}", v));
  for (double v : {g.duration_s, g.request_throughput_rps, g.output_token_throughput_tps,
                   g.total_token_throughput_tps}) {
    row.push_back(PyFloat(v));
  }
  for (int64_t v : {g.prompt_tokens_total, g.output_tokens_total, g.tokens_mismatch}) {
    row.push_back(fmt::format("{}", v));
  }
  if (s.slo.any()) {
    row.push_back(fmt::format("{}", g.goodput_requests));
    row.push_back(PyFloat(g.goodput_rps));
    row.push_back(PyFloat(g.goodput_fraction));
  } else {
    row.insert(row.end(), 3, "");
  }
  row.push_back(fmt::format("{}", g.max_concurrency));
  for (Metric m : kAllMetrics) {
    const Distribution& d = g.Get(m);
    row.push_back(fmt::format("{}", d.count));
    const auto cell = [&](double v) { return d.count == 0 ? std::string() : PyFloat(v); };
    row.push_back(cell(d.mean_ms));
    row.push_back(cell(d.std_ms));
    row.push_back(cell(d.min_ms));
    for (const Percentile& p : kPercentiles) row.push_back(cell(d.*p.field));
    row.push_back(cell(d.max_ms));
  }
  for (ErrorClass c : FailureClasses()) row.push_back(fmt::format("{}", g.Errors(c)));
  return row;
}

}  // namespace

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kTtft:
      return "ttft";
    case Metric::kTtftIntended:
      return "ttft_intended";
    case Metric::kTpot:
      return "tpot";
    case Metric::kItl:
      return "itl";
    case Metric::kE2e:
      return "e2e";
    case Metric::kE2eIntended:
      return "e2e_intended";
    case Metric::kE2ePerToken:
      return "e2e_per_token";
    case Metric::kLatencyPerToken:
      return "latency_per_token";
    case Metric::kScheduleLag:
      return "schedule_lag";
  }
  return "";
}

std::string_view MetricDefinition(Metric metric) {
  switch (metric) {
    case Metric::kTtft:
      return "time to first token: first non-empty content chunk - actual send (what most tools "
             "report)";
    case Metric::kTtftIntended:
      return "first non-empty content chunk - intended send time from the schedule (free of "
             "coordinated omission)";
    case Metric::kTpot:
      return "(e2e - ttft) / (N - 1) per request with N > 1 output tokens: vLLM's TPOT, which "
             "genai-perf and GuideLLM call ITL";
    case Metric::kItl:
      return "every gap between consecutive content chunks, pooled across requests: vLLM's ITL "
             "(a chunk may carry several tokens)";
    case Metric::kE2e:
      return "end of the response - actual send";
    case Metric::kE2eIntended:
      return "end of the response - intended send time from the schedule (free of coordinated "
             "omission)";
    case Metric::kE2ePerToken:
      return "e2e / N per request: llmperf's inter_token_latency, the seed's "
             "overall_latency_per_token";
    case Metric::kLatencyPerToken:
      return "(e2e - ttft) / N per request: the seed's latency_per_token (divides by N, not N - 1)";
    case Metric::kScheduleLag:
      return "actual send - intended send, every request (the client falling behind its "
             "schedule)";
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// SummaryBuilder

struct SummaryBuilder::Group {
  std::vector<Accumulator> metrics = std::vector<Accumulator>(kNumMetrics);
  int64_t requests = 0;
  int64_t completed = 0;
  int64_t prompt_tokens_total = 0;
  int64_t prompt_tokens_known = 0;
  int64_t output_tokens_total = 0;
  int64_t tokens_mismatch = 0;
  int64_t goodput_requests = 0;
  std::array<int64_t, std::size(kAllErrorClasses)> errors{};
  double first_send_s = std::numeric_limits<double>::infinity();
  double last_end_s = -std::numeric_limits<double>::infinity();

  void AddMetric(Metric m, double ms) { metrics[static_cast<size_t>(m)].Add(ms); }
};

SummaryBuilder::SummaryBuilder(RunInfo info, Slo slo)
    : info_(std::move(info)), slo_(slo), overall_(std::make_unique<Group>()) {}
SummaryBuilder::SummaryBuilder(SummaryBuilder&&) noexcept = default;
SummaryBuilder& SummaryBuilder::operator=(SummaryBuilder&&) noexcept = default;
SummaryBuilder::~SummaryBuilder() = default;

Result<SummaryBuilder> SummaryBuilder::Create(RunInfo info, Slo slo) {
  const std::pair<const std::optional<double>*, std::string_view> kThresholds[] = {
      {&slo.ttft_ms, "ttft"}, {&slo.tpot_ms, "tpot"}, {&slo.e2e_ms, "e2e"}};
  for (const auto& [value, name] : kThresholds) {
    if (!FiniteNonNegative(*value)) {
      return Status::InvalidArgument(
          fmt::format("summary: the {} SLO is {} ms, need a finite value >= 0", name, **value));
    }
  }
  for (size_t k = 0; k < info.step_rates_rps.size(); ++k) {
    const double r = info.step_rates_rps[k];
    if (!std::isfinite(r) || r < 0) {
      return Status::InvalidArgument(fmt::format("summary: step {} has rate {} req/s", k, r));
    }
  }
  return SummaryBuilder(std::move(info), slo);
}

SummaryBuilder::Group& SummaryBuilder::GroupFor(int step) {
  std::unique_ptr<Group>& g = steps_[step];
  if (!g) g = std::make_unique<Group>();
  return *g;
}

void SummaryBuilder::Add(const RequestRecord& r) {
  // A record whose send or end is not a finite time still counts as a request of its class, but
  // stays out of the duration and the concurrency sweep (NaN would break their ordering).
  const bool timed = std::isfinite(r.send_s) && std::isfinite(r.end_s);
  const double end_s = std::max(r.end_s, r.send_s);
  if (timed) intervals_.push_back({r.send_s, end_s, r.step});

  // Everything below depends only on the record, so compute it once and apply it to both groups.
  const bool ok = r.ok();
  const double n = static_cast<double>(r.output_tokens);
  const double lag_ms = (r.send_s - r.scheduled_s) * 1000.0;
  const double e2e_ms = (r.end_s - r.send_s) * 1000.0;
  const double e2e_intended_ms = (r.end_s - r.scheduled_s) * 1000.0;
  std::optional<double> ttft_ms, ttft_intended_ms, tpot_ms;
  if (r.first_content_s) {
    ttft_ms = (*r.first_content_s - r.send_s) * 1000.0;
    ttft_intended_ms = (*r.first_content_s - r.scheduled_s) * 1000.0;
    if (r.output_tokens > 1) tpot_ms = (e2e_ms - *ttft_ms) / (n - 1);
  }
  bool good = false;
  if (ok && slo_.any()) {
    good = true;
    const std::optional<double> ttft_judged = slo_.from_intended ? ttft_intended_ms : ttft_ms;
    const double e2e_judged = slo_.from_intended ? e2e_intended_ms : e2e_ms;
    if (slo_.ttft_ms && !(ttft_judged && *ttft_judged <= *slo_.ttft_ms)) good = false;
    if (slo_.tpot_ms) {
      // As vLLM bench: a request with at most one token has TPOT 0.
      const std::optional<double> tpot = r.output_tokens <= 1 ? std::optional<double>(0) : tpot_ms;
      if (!(tpot && *tpot <= *slo_.tpot_ms)) good = false;
    }
    if (slo_.e2e_ms && !(e2e_judged <= *slo_.e2e_ms)) good = false;
  }

  for (Group* g : {overall_.get(), &GroupFor(r.step)}) {
    ++g->requests;
    ++g->errors[static_cast<size_t>(r.error_class)];
    if (timed) {
      g->first_send_s = std::min(g->first_send_s, r.send_s);
      g->last_end_s = std::max(g->last_end_s, end_s);
    }
    g->AddMetric(Metric::kScheduleLag, lag_ms);
    if (!ok) continue;
    ++g->completed;
    if (r.prompt_tokens) {
      g->prompt_tokens_total += *r.prompt_tokens;
      ++g->prompt_tokens_known;
    }
    g->output_tokens_total += r.output_tokens;
    if (r.TokensMismatch()) ++g->tokens_mismatch;
    if (good) ++g->goodput_requests;
    g->AddMetric(Metric::kE2e, e2e_ms);
    g->AddMetric(Metric::kE2eIntended, e2e_intended_ms);
    if (r.output_tokens >= 1) g->AddMetric(Metric::kE2ePerToken, e2e_ms / n);
    if (ttft_ms) {
      g->AddMetric(Metric::kTtft, *ttft_ms);
      g->AddMetric(Metric::kTtftIntended, *ttft_intended_ms);
      if (tpot_ms) g->AddMetric(Metric::kTpot, *tpot_ms);
      if (r.output_tokens >= 1) g->AddMetric(Metric::kLatencyPerToken, (e2e_ms - *ttft_ms) / n);
    }
    for (size_t i = 1; i < r.chunk_times_s.size(); ++i) {
      g->AddMetric(Metric::kItl, (r.chunk_times_s[i] - r.chunk_times_s[i - 1]) * 1000.0);
    }
  }
}

GroupSummary SummaryBuilder::Summarize(const Group& group, std::optional<int> step) const {
  GroupSummary g;
  g.step = step;
  if (step && *step >= 0 && static_cast<size_t>(*step) < info_.step_rates_rps.size()) {
    g.step_rate_rps = info_.step_rates_rps[static_cast<size_t>(*step)];
  }
  g.requests = group.requests;
  g.completed = group.completed;
  g.failed = group.requests - group.completed;
  g.duration_s =
      group.last_end_s > group.first_send_s ? group.last_end_s - group.first_send_s : 0.0;
  if (g.duration_s > 0) {
    g.request_throughput_rps = static_cast<double>(group.completed) / g.duration_s;
    g.output_token_throughput_tps = static_cast<double>(group.output_tokens_total) / g.duration_s;
    g.total_token_throughput_tps =
        static_cast<double>(group.prompt_tokens_total + group.output_tokens_total) / g.duration_s;
    g.goodput_rps = static_cast<double>(group.goodput_requests) / g.duration_s;
  }
  g.prompt_tokens_total = group.prompt_tokens_total;
  g.prompt_tokens_known = group.prompt_tokens_known;
  g.output_tokens_total = group.output_tokens_total;
  g.tokens_mismatch = group.tokens_mismatch;
  g.goodput_requests = group.goodput_requests;
  if (group.requests > 0) {
    g.goodput_fraction =
        static_cast<double>(group.goodput_requests) / static_cast<double>(group.requests);
  }
  g.errors = group.errors;
  std::vector<std::pair<double, int>> events;
  for (const Interval& iv : intervals_) {
    if (step && iv.step != *step) continue;
    events.emplace_back(iv.start_s, +1);
    events.emplace_back(iv.end_s, -1);
  }
  g.max_concurrency = MaxConcurrency(std::move(events));
  for (Metric m : kAllMetrics) {
    g.distributions[static_cast<size_t>(m)] = group.metrics[static_cast<size_t>(m)].Get();
  }
  return g;
}

RunSummary SummaryBuilder::Build() const {
  RunSummary s;
  s.info = info_;
  s.slo = slo_;
  s.overall = Summarize(*overall_, std::nullopt);
  std::set<int> steps;
  for (const auto& [step, group] : steps_) steps.insert(step);
  for (size_t k = 0; k < info_.step_rates_rps.size(); ++k) steps.insert(static_cast<int>(k));
  if (steps.size() > 1) {
    const Group empty;
    for (int step : steps) {
      const auto it = steps_.find(step);
      s.steps.push_back(Summarize(it == steps_.end() ? empty : *it->second, step));
    }
  }
  return s;
}

Result<RunSummary> Summarize(std::span<const RequestRecord> records, const RunInfo& info,
                             const Slo& slo) {
  LLMRCA_ASSIGN_OR_RETURN(SummaryBuilder builder, SummaryBuilder::Create(info, slo));
  for (const RequestRecord& r : records) builder.Add(r);
  return builder.Build();
}

// ---------------------------------------------------------------------------------------------
// Renderings

std::string RenderSummaryTable(const RunSummary& s) {
  fmt::memory_buffer out;
  RenderGroupTable(s, s.overall, out);
  for (const GroupSummary& g : s.steps) RenderGroupTable(s, g, out);
  auto it = std::back_inserter(out);
  fmt::format_to(it, "definitions:\n");
  for (Metric m : kAllMetrics) {
    fmt::format_to(it, "  {:<18}{}\n", MetricName(m), MetricDefinition(m));
  }
  return fmt::to_string(out);
}

std::string RenderSummaryJson(const RunSummary& s) {
  Json j;
  Json run;
  run["provider"] = s.info.provider;
  run["model"] = s.info.model;
  run["prompt_tokens"] = s.info.prompt_tokens ? Json(*s.info.prompt_tokens) : Json(nullptr);
  run["generation_tokens"] = s.info.generation_tokens;
  run["stream"] = s.info.stream;
  run["temperature"] = s.info.temperature;
  run["logprobs"] = s.info.logprobs;
  run["concurrency"] = s.info.concurrency;
  run["step_rates_rps"] = s.info.step_rates_rps;
  j["run"] = std::move(run);
  j["slo"] = {{"ttft_ms", OptionalNumber(s.slo.ttft_ms)},
              {"tpot_ms", OptionalNumber(s.slo.tpot_ms)},
              {"e2e_ms", OptionalNumber(s.slo.e2e_ms)},
              {"from", s.slo.from_intended ? "intended" : "send"}};
  Json definitions = Json::object();
  for (Metric m : kAllMetrics) {
    definitions[std::string(MetricName(m))] = std::string(MetricDefinition(m));
  }
  j["definitions"] = std::move(definitions);
  j["overall"] = GroupJson(s, s.overall);
  Json steps = Json::array();
  for (const GroupSummary& g : s.steps) steps.push_back(GroupJson(s, g));
  j["steps"] = std::move(steps);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::vector<std::string> SummaryCsvColumns() {
  std::vector<std::string> cols = SeedColumns();
  for (const char* c :
       {"step", "step_rate_rps", "requests", "completed", "failed", "duration_s",
        "request_throughput_rps", "output_token_throughput_tps", "total_token_throughput_tps",
        "prompt_tokens_total", "output_tokens_total", "tokens_mismatch", "goodput_requests",
        "goodput_rps", "goodput_fraction", "max_concurrency"}) {
    cols.emplace_back(c);
  }
  for (Metric m : kAllMetrics) {
    const std::string name(MetricName(m));
    cols.push_back(name + "_count");
    for (std::string_view stat : {"mean", "std", "min"}) {
      cols.push_back(fmt::format("{}_{}_ms", name, stat));
    }
    for (const Percentile& p : kPercentiles) cols.push_back(fmt::format("{}_{}_ms", name, p.label));
    cols.push_back(name + "_max_ms");
  }
  for (ErrorClass c : FailureClasses()) cols.push_back(fmt::format("errors_{}", ErrorClassName(c)));
  return cols;
}

std::string RenderSummaryCsv(const RunSummary& s) {
  std::string out = fmt::format("{}\n", fmt::join(SummaryCsvColumns(), ","));
  out += fmt::format("{}\n", fmt::join(CsvRow(s, s.overall), ","));
  for (const GroupSummary& g : s.steps) out += fmt::format("{}\n", fmt::join(CsvRow(s, g), ","));
  return out;
}

}  // namespace llmrca::load
