// Open-loop arrival schedules for `llmrca load`: when each request should be sent, planned before
// the run and independent of how the server answers, so that latency can be measured from the
// intended send time (free of coordinated omission, load-testing.md §5). Constant, Poisson, uniform
// and gamma (burstiness) arrivals at a fixed, linearly ramped or swept rate; bursts; replay of a
// request log. Schedules are lazy generators (O(1) memory whatever the run length) and seeded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace llmrca::load {

// What a replayed log line asks for besides its time; each field is absent when the log lacks it.
struct ReplayRequest {
  std::optional<std::string> prompt;
  std::optional<int64_t> max_tokens;     // >= 1
  std::optional<int64_t> prompt_tokens;  // >= 0
};

// One planned request.
struct Arrival {
  int64_t index = 0;                    // 0, 1, 2, ... in schedule order
  std::chrono::nanoseconds offset{0};   // intended send time, from the start of the run
  int step = 0;                         // sweep step (0 for every other schedule)
  std::optional<ReplayRequest> replay;  // set by replay schedules only
};

// How the gaps between arrivals are drawn at rate r (each has mean 1/r).
enum class ArrivalProcess {
  kConstant,  // every gap exactly 1/r
  kPoisson,   // exponential gaps (a Poisson process)
  kUniform,   // gaps uniform on [0, 2/r] (the seed's --qps-distribution uniform)
  kGamma,     // Gamma(shape = burstiness, scale = 1/(r * burstiness)) gaps, as vLLM bench draws
              // them: burstiness 1 is Poisson, < 1 burstier, > 1 more regular
};

// "constant", "poisson", "uniform", "gamma"; and back (nullopt for an unknown name).
std::string_view ArrivalProcessName(ArrivalProcess process);
std::optional<ArrivalProcess> ArrivalProcessFromName(std::string_view name);

// The rate goes linearly from start_rps at t = 0 to end_rps at t = duration.
struct LinearRamp {
  double start_rps = 0;
  double end_rps = 0;
};

// Step k lasts step_duration at rates_rps[k]; arrivals carry k as their step. A rate may be 0 (a
// pause). The sweep ends after the last step.
struct RateSweep {
  std::vector<double> rates_rps;
  std::chrono::nanoseconds step_duration{0};
};

// Arrivals of `process` at a rate that is fixed (rate_rps), a linear ramp, or a sweep: at most one
// of ramp and sweep is set. A time-varying rate r(t) is followed exactly by drawing the process at
// unit rate in "operational time" u and sending at the t where the integral of r reaches u (the
// time-rescaling theorem), so a step or ramp changes the rate, not the shape of the gaps.
// The first arrival is at t = 0.
struct RateScheduleOptions {
  ArrivalProcess process = ArrivalProcess::kConstant;
  double rate_rps = 0;  // > 0, used when neither ramp nor sweep is set
  std::optional<LinearRamp> ramp;
  std::optional<RateSweep> sweep;
  double burstiness = 1;  // gamma shape, > 0; only for kGamma
  // Bounds: arrivals have offset < duration, and there are at most max_requests of them. A fixed
  // rate needs at least one; a ramp needs the duration (it ramps over it); a sweep is bounded by
  // its steps, and either bound may cut it shorter.
  std::optional<std::chrono::nanoseconds> duration;
  std::optional<int64_t> max_requests;
  uint64_t seed = 0;
};

// Every `period` a burst of `size` requests all at the same instant (the seed's --burst, whose
// size is -u): bursts at 0, period, 2 * period, ... A request-count bound may cut the last burst.
struct BurstScheduleOptions {
  std::chrono::nanoseconds period{0};                // > 0
  int64_t size = 0;                                  // >= 1
  std::optional<std::chrono::nanoseconds> duration;  // at least one bound is required
  std::optional<int64_t> max_requests;
};

enum class ReplayFormat {
  kAuto,  // by extension: ".csv" is CSV, anything else JSONL
  kJsonl,
  kCsv,
};

// Replay of a timestamped request log, one request per line, in either of two formats:
//   JSONL: one object per line, e.g. {"timestamp_s": 12.5, "prompt": "Hi", "max_tokens": 128}.
//     Time: exactly one of "timestamp_s" (seconds), "timestamp_ms" (milliseconds) or "timestamp"
//     (unit given by `timestamp_unit`), a number. Optional: "prompt" (string), "max_tokens"
//     (integer >= 1), "prompt_tokens" (integer >= 0); null counts as absent. Other keys are
//     ignored. Blank lines are skipped.
//   CSV: a header line naming the columns, then one row per request with as many fields as the
//     header; the same column names as the JSONL keys; an empty field is absent. Fields may be
//     double-quoted ("" for a quote inside), but may not span lines (use JSONL for multi-line
//     prompts). Unknown columns are ignored.
// Timestamps must not decrease. The first line's timestamp is time 0; offsets are divided by
// `speedup` (2 replays twice as fast). The log bounds the schedule; duration and max_requests
// may cut it shorter.
struct ReplayScheduleOptions {
  std::string path;
  ReplayFormat format = ReplayFormat::kAuto;
  enum class TimeUnit { kSeconds, kMilliseconds };
  TimeUnit timestamp_unit = TimeUnit::kSeconds;  // unit of the plain "timestamp" field
  double speedup = 1;                            // > 0
  std::optional<std::chrono::nanoseconds> duration;
  std::optional<int64_t> max_requests;
};

// A lazy sequence of arrivals with non-decreasing offsets. Not thread-safe: one caller pulls.
class ArrivalSchedule {
 public:
  virtual ~ArrivalSchedule() = default;

  // The next arrival, or nullopt once the schedule is exhausted (and on every later call).
  // Only replay schedules can fail: kIoError when the log cannot be read, kDataError naming the
  // file and line when a line is malformed (possible only if the file changed after opening).
  virtual Result<std::optional<Arrival>> Next() = 0;
};

// A constant / Poisson / uniform / gamma schedule. kInvalidArgument naming the problem for a
// rate that is not finite and > 0 (>= 0 in ramps and sweeps, not all zero), burstiness <= 0, no
// bound, a ramp without a duration, both ramp and sweep, an empty sweep or step_duration <= 0,
// duration <= 0 or max_requests < 0.
Result<std::unique_ptr<ArrivalSchedule>> MakeRateSchedule(const RateScheduleOptions& options);

// A burst schedule. kInvalidArgument for period <= 0, size < 1 or no bound.
Result<std::unique_ptr<ArrivalSchedule>> MakeBurstSchedule(const BurstScheduleOptions& options);

// Opens a replay log and checks every line before returning, so a malformed log fails before the
// run starts: kNotFound / kIoError for the file, kDataError "<path>:<line>: <what>" for a bad line
// (not an object, no or two timestamps, a timestamp going back, a bad field type or value, a CSV
// row with the wrong number of fields), kInvalidArgument for bad options. The schedule then reads
// the file again lazily, one line per Next().
Result<std::unique_ptr<ArrivalSchedule>> OpenReplaySchedule(const ReplayScheduleOptions& options);

// Pulls up to `limit` arrivals from `schedule` into a vector (the caller accepts the memory:
// about 100 bytes per arrival plus any replayed prompt). For tests and small runs.
Result<std::vector<Arrival>> CollectArrivals(ArrivalSchedule& schedule, int64_t limit);

}  // namespace llmrca::load
