// The summary of a `llmrca load` run, computed from its request records, overall and per sweep
// step: throughput, goodput under SLOs, error counts by class, peak concurrency, and latency
// distributions under one unambiguous name each (see MetricDefinition; load-testing.md §2 shows
// how the tools' names disagree). Always produced, also when every request failed. Rendered as a
// human table, a JSON object, or CSV rows whose first columns are the seed's summary columns.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "load/error_class.h"
#include "load/record.h"

namespace llmrca::load {

// The latency distributions, in the order they are rendered.
enum class Metric {
  kTtft,             // first content chunk - actual send
  kTtftIntended,     // first content chunk - intended send (coordinated-omission free)
  kTpot,             // (e2e - ttft) / (N - 1)
  kItl,              // gaps between consecutive content chunks, pooled
  kE2e,              // end - actual send
  kE2eIntended,      // end - intended send (coordinated-omission free)
  kE2ePerToken,      // e2e / N
  kLatencyPerToken,  // (e2e - ttft) / N, the seed's latency_per_token
  kScheduleLag,      // actual send - intended send
};
inline constexpr int kNumMetrics = 9;
inline constexpr Metric kAllMetrics[kNumMetrics] = {
    Metric::kTtft,       Metric::kTtftIntended, Metric::kTpot,        Metric::kItl,
    Metric::kE2e,        Metric::kE2eIntended,  Metric::kE2ePerToken, Metric::kLatencyPerToken,
    Metric::kScheduleLag};

// The stable snake_case name used in JSON keys and CSV columns ("ttft", "ttft_intended", "tpot",
// "itl", "e2e", "e2e_intended", "e2e_per_token", "latency_per_token", "schedule_lag").
std::string_view MetricName(Metric metric);
// A one-line definition, for --help, the README and the rendered summary.
std::string_view MetricDefinition(Metric metric);

// Service-level objectives for goodput; any subset may be set (thresholds in ms, inclusive).
struct Slo {
  std::optional<double> ttft_ms = std::nullopt;
  std::optional<double> tpot_ms = std::nullopt;
  std::optional<double> e2e_ms = std::nullopt;
  // Judge TTFT and E2E from the intended send time (what a user waiting on the schedule sees),
  // or from the actual send (what vLLM bench's --goodput does).
  bool from_intended = true;

  bool any() const { return ttft_ms || tpot_ms || e2e_ms; }
};

// Run description for the rendered summary, chiefly the seed's CSV columns (load-testing.md §1.7).
struct RunInfo {
  std::string provider;
  std::string model;
  std::optional<int64_t> prompt_tokens;  // requested; the measured mean replaces it when known
  std::string generation_tokens;         // requested output tokens, e.g. "256"
  bool stream = true;
  double temperature = 1.0;
  std::string logprobs;     // as given on the command line; empty when not requested
  std::string concurrency;  // seed style: "QPS 5.0 constant", or the number of users
  // Rate of each sweep step (req/s), to label the steps; a step listed here appears in the
  // summary even when no request of it completed.
  std::vector<double> step_rates_rps;
};

// One distribution, in milliseconds. count == 0 means "no data": the other fields are then 0 and
// every rendering shows them as missing (n/a, null, empty CSV field). Mean, std (population), min
// and max are exact; the percentiles come from an HdrHistogram in microseconds with 3 significant
// digits (HdrHistogram's definition, clamped to [min, max]), so they are within 0.1 % (or 1 us).
// Every value is rounded to the nanosecond (1e-6 ms), the resolution of the clock.
struct Distribution {
  int64_t count = 0;
  double mean_ms = 0;
  double std_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  double p99_9_ms = 0;
};

// The summary of one group of requests: the whole run or one sweep step.
struct GroupSummary {
  std::optional<int> step;  // nullopt for the whole run
  std::optional<double> step_rate_rps;
  int64_t requests = 0;
  int64_t completed = 0;  // error class none
  int64_t failed = 0;
  // From the earliest send to the latest end among the group's requests; 0 with no requests.
  double duration_s = 0;
  // Completed requests and their tokens over duration_s (0 when duration_s is 0).
  double request_throughput_rps = 0;
  double output_token_throughput_tps = 0;
  double total_token_throughput_tps = 0;  // prompt + output tokens
  int64_t prompt_tokens_total = 0;        // over completed requests that report it
  int64_t prompt_tokens_known = 0;        // how many completed requests report prompt tokens
  int64_t output_tokens_total = 0;        // over completed requests
  int64_t tokens_mismatch = 0;            // completed requests with output tokens != max_tokens
  // Completed requests meeting every SLO given; zero when no SLO is set (see RunSummary::slo).
  int64_t goodput_requests = 0;
  double goodput_rps = 0;       // goodput_requests / duration_s
  double goodput_fraction = 0;  // goodput_requests / requests (0 with no requests)
  // Requests per error class, indexed by static_cast<int>(ErrorClass); [kNone] = completed.
  std::array<int64_t, std::size(kAllErrorClasses)> errors{};
  // Most requests in flight at once: the peak over the [send_s, end_s) intervals.
  int64_t max_concurrency = 0;
  std::array<Distribution, kNumMetrics> distributions{};

  const Distribution& Get(Metric m) const { return distributions[static_cast<size_t>(m)]; }
  int64_t Errors(ErrorClass c) const { return errors[static_cast<size_t>(c)]; }
};

struct RunSummary {
  RunInfo info;
  Slo slo;
  GroupSummary overall;
  // One per sweep step, by step index; empty unless the run has more than one step.
  std::vector<GroupSummary> steps;
};

// Accumulates records one at a time (a run's records need not fit in memory: the builder keeps
// a few histograms per step plus 24 bytes per request for the concurrency sweep-line).
// Not thread-safe.
class SummaryBuilder {
 public:
  // kInvalidArgument for an SLO threshold that is not finite and >= 0, or a step rate < 0.
  static Result<SummaryBuilder> Create(RunInfo info, Slo slo);

  SummaryBuilder(SummaryBuilder&&) noexcept;
  SummaryBuilder& operator=(SummaryBuilder&&) noexcept;
  ~SummaryBuilder();

  // Adds one request. Which distributions it feeds: schedule_lag always; the others only when
  // it completed, ttft/tpot/latency_per_token only when it has first_content_s, tpot only with
  // N > 1 output tokens, e2e_per_token and latency_per_token only with N >= 1, itl with >= 2
  // chunk times. Bad times are never rejected: an end before the send counts as the send in the
  // duration and concurrency, negative latencies as 0 in the percentiles (exact in min and
  // mean), and a non-finite time leaves out only what depends on it.
  void Add(const RequestRecord& record);

  // The summary of everything added so far.
  RunSummary Build() const;

 private:
  struct Group;
  struct Interval {
    double start_s;
    double end_s;
    int step;
  };
  SummaryBuilder(RunInfo info, Slo slo);
  Group& GroupFor(int step);
  GroupSummary Summarize(const Group& group, std::optional<int> step) const;

  RunInfo info_;
  Slo slo_;
  std::unique_ptr<Group> overall_;
  std::map<int, std::unique_ptr<Group>> steps_;
  std::vector<Interval> intervals_;
};

// SummaryBuilder over a span of records.
Result<RunSummary> Summarize(std::span<const RequestRecord> records, const RunInfo& info,
                             const Slo& slo);

// A table for people: one block per group (overall first), then the metric definitions.
std::string RenderSummaryTable(const RunSummary& summary);

// A JSON object: {"run": {...}, "slo": {...}, "definitions": {...}, "overall": {...},
// "steps": [...]}; missing values are null (never NaN). Pretty-printed with 2 spaces.
std::string RenderSummaryJson(const RunSummary& summary);

// CSV: the header line, then one row for the whole run (step "all") and one per sweep step.
// The first 14 columns are the seed's summary columns with its names and meaning (averages, in
// ms; TTFT and per-token latency blank when there is no data), then ours. Each line ends in '\n'.
std::string RenderSummaryCsv(const RunSummary& summary);
// The CSV column names, in order.
std::vector<std::string> SummaryCsvColumns();

}  // namespace llmrca::load
