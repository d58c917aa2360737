#include "load/schedule.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "base/strings.h"

namespace llmrca::load {
namespace {

using std::chrono::nanoseconds;

// Offsets are int64 nanoseconds; a schedule stops before it would reach this (about 146 years),
// far beyond any run, so that no conversion can overflow.
constexpr double kMaxOffsetNs = 4.6e18;

std::optional<Arrival> NoArrival() { return std::nullopt; }

bool IsFinite(double x) { return std::isfinite(x); }

// ---------------------------------------------------------------------------------------------
// Draws for the unit-rate processes (mean gap 1).

// Gamma(shape, 1) by Marsaglia and Tsang, "A Simple Method for Generating Gamma Variables" (2000);
// for shape < 1 the boost Gamma(shape + 1) * U^(1/shape) from the same paper.
double DrawGamma(Rng& rng, double shape) {
  if (shape < 1) {
    const double u = 1.0 - rng.Uniform();  // (0, 1]
    return DrawGamma(rng, shape + 1) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = rng.Normal();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = rng.Uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double DrawUnitGap(Rng& rng, ArrivalProcess process, double burstiness) {
  switch (process) {
    case ArrivalProcess::kConstant:
      return 1.0;
    case ArrivalProcess::kPoisson:
      return -std::log1p(-rng.Uniform());  // Exp(1); U < 1
    case ArrivalProcess::kUniform:
      return 2.0 * rng.Uniform();
    case ArrivalProcess::kGamma:
      return DrawGamma(rng, burstiness) / burstiness;
  }
  return 1.0;
}

// ---------------------------------------------------------------------------------------------
// Rate schedules: a piecewise-linear rate r(t) made of segments; u(t) = integral of r.

struct Segment {
  int64_t start_ns = 0;
  double length_s = 0;  // +infinity for a fixed rate
  double rate_start = 0;
  double rate_end = 0;
  double u_start = 0;
  double u_end = 0;
  int step = 0;
};

// Time into `seg` at which the integral of the rate reaches du (0 <= du < seg's u span): solves
// a*s + (b - a)/(2L)*s^2 = du in the form without cancellation, 2du / (a + sqrt(a^2 + 2(b-a)du/L)).
double TimeInSegment(const Segment& seg, double du) {
  const double a = seg.rate_start;
  const double b = seg.rate_end;
  if (a == b || !IsFinite(seg.length_s)) return du / a;
  if (du == 0) return 0;
  const double disc = std::max(0.0, a * a + 2.0 * (b - a) * du / seg.length_s);
  return 2.0 * du / (a + std::sqrt(disc));
}

class RateSchedule final : public ArrivalSchedule {
 public:
  RateSchedule(std::vector<Segment> segments, ArrivalProcess process, double burstiness,
               std::optional<int64_t> end_ns, std::optional<int64_t> max_requests, uint64_t seed)
      : segments_(std::move(segments)),
        process_(process),
        burstiness_(burstiness),
        end_ns_(end_ns),
        max_requests_(max_requests),
        rng_(seed) {}

  Result<std::optional<Arrival>> Next() override {
    if (done_) return NoArrival();
    if (max_requests_ && index_ >= *max_requests_) return Finish();
    while (segment_ < segments_.size() && u_ >= segments_[segment_].u_end) ++segment_;
    if (segment_ >= segments_.size()) return Finish();
    const Segment& seg = segments_[segment_];
    const double in_segment_ns = TimeInSegment(seg, u_ - seg.u_start) * 1e9;
    if (!(in_segment_ns < kMaxOffsetNs - static_cast<double>(seg.start_ns))) return Finish();
    const int64_t offset_ns = seg.start_ns + std::llround(in_segment_ns);
    if (end_ns_ && offset_ns >= *end_ns_) return Finish();
    Arrival arrival;
    arrival.index = index_++;
    arrival.offset = nanoseconds(offset_ns);
    arrival.step = seg.step;
    u_ += DrawUnitGap(rng_, process_, burstiness_);
    return std::optional<Arrival>(std::move(arrival));
  }

 private:
  Result<std::optional<Arrival>> Finish() {
    done_ = true;
    return NoArrival();
  }

  std::vector<Segment> segments_;
  ArrivalProcess process_;
  double burstiness_;
  std::optional<int64_t> end_ns_;
  std::optional<int64_t> max_requests_;
  Rng rng_;
  size_t segment_ = 0;
  double u_ = 0;  // operational time of the next arrival
  int64_t index_ = 0;
  bool done_ = false;
};

Status CheckBounds(std::optional<nanoseconds> duration, std::optional<int64_t> max_requests) {
  if (duration && duration->count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("schedule: duration is {} ns, need > 0", duration->count()));
  }
  if (max_requests && *max_requests < 0) {
    return Status::InvalidArgument(
        fmt::format("schedule: max_requests is {}, need >= 0", *max_requests));
  }
  return Status::Ok();
}

Status CheckRate(double rate, std::string_view what, bool allow_zero) {
  if (!IsFinite(rate) || rate < 0 || (!allow_zero && rate == 0)) {
    return Status::InvalidArgument(fmt::format("schedule: {} is {}, need a finite rate {} 0 req/s",
                                               what, rate, allow_zero ? ">=" : ">"));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Bursts.

class BurstSchedule final : public ArrivalSchedule {
 public:
  explicit BurstSchedule(const BurstScheduleOptions& options) : options_(options) {}

  Result<std::optional<Arrival>> Next() override {
    if (done_) return NoArrival();
    if (options_.max_requests && index_ >= *options_.max_requests) return Finish();
    const int64_t burst = index_ / options_.size;
    int64_t offset_ns = 0;
    if (__builtin_mul_overflow(burst, options_.period.count(), &offset_ns)) return Finish();
    if (options_.duration && offset_ns >= options_.duration->count()) return Finish();
    Arrival arrival;
    arrival.index = index_++;
    arrival.offset = nanoseconds(offset_ns);
    return std::optional<Arrival>(std::move(arrival));
  }

 private:
  Result<std::optional<Arrival>> Finish() {
    done_ = true;
    return NoArrival();
  }

  BurstScheduleOptions options_;
  int64_t index_ = 0;
  bool done_ = false;
};

// ---------------------------------------------------------------------------------------------
// Replay.

struct ReplayLine {
  double timestamp_s = 0;
  ReplayRequest request;
};

// One CSV row split into fields (RFC 4180 quoting, within one line).
Result<std::vector<std::string>> SplitCsvRow(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return Status::DataError("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') {
        return Status::DataError(
            fmt::format("unexpected character after a quoted field at column {}", i + 1));
      }
    } else {
      while (i < line.size() && line[i] != ',') field += line[i++];
    }
    fields.push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

// The integer in `j` (an integer, or a float with an integral value), or nullopt.
std::optional<int64_t> JsonInteger(const nlohmann::json& j) {
  // nlohmann counts unsigned numbers as integers too, so ask for unsigned first.
  if (j.is_number_unsigned()) {
    const uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (IsFinite(v) && v == std::floor(v) && std::abs(v) < 9e18) return static_cast<int64_t>(v);
  }
  return std::nullopt;
}

Status CheckTokens(std::string_view name, int64_t value) {
  const int64_t min = name == "max_tokens" ? 1 : 0;
  if (value < min) return Status::DataError(fmt::format("{} is {}, need >= {}", name, value, min));
  return Status::Ok();
}

class ReplayReader {
 public:
  static Result<ReplayReader> Open(const ReplayScheduleOptions& options, bool csv) {
    std::error_code dir_ec;
    if (std::filesystem::is_directory(options.path, dir_ec)) {
      return Status::IoError(fmt::format("replay: {}: is a directory", options.path));
    }
    ReplayReader reader(options, csv);
    reader.in_ = std::make_unique<std::ifstream>(options.path, std::ios::binary);
    if (!reader.in_->is_open()) {
      std::error_code ec;
      if (!std::filesystem::exists(options.path, ec)) {
        return Status::NotFound(fmt::format("replay: {}: no such file", options.path));
      }
      return Status::IoError(fmt::format("replay: {}: cannot open", options.path));
    }
    if (csv) LLMRCA_RETURN_IF_ERROR(reader.ReadCsvHeader());
    return reader;
  }

  // The next request line (blank lines skipped), or nullopt at end of file.
  Result<std::optional<ReplayLine>> Next() {
    std::string line;
    while (true) {
      if (!ReadLine(line)) {
        if (in_->bad()) return Status::IoError(fmt::format("replay: {}: read failed", path()));
        return std::optional<ReplayLine>();
      }
      if (Trim(line).empty()) continue;
      Result<ReplayLine> parsed = csv_ ? ParseCsvRow(line) : ParseJsonLine(line);
      if (!parsed.ok()) return Located(parsed.status().message());
      return std::optional<ReplayLine>(std::move(parsed).value());
    }
  }

  Status Located(std::string_view what) const {
    return Status::DataError(fmt::format("replay: {}:{}: {}", path(), line_number_, what));
  }

 private:
  ReplayReader(const ReplayScheduleOptions& options, bool csv) : options_(options), csv_(csv) {}

  const std::string& path() const { return options_.path; }

  bool ReadLine(std::string& line) {
    if (!std::getline(*in_, line)) return false;
    ++line_number_;
    if (line_number_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  Status ReadCsvHeader() {
    std::string line;
    while (true) {
      if (!ReadLine(line)) {
        return Status::DataError(fmt::format("replay: {}: no CSV header line", path()));
      }
      if (!Trim(line).empty()) break;
    }
    Result<std::vector<std::string>> fields = SplitCsvRow(line);
    if (!fields.ok()) return Located(fields.status().message());
    columns_ = fields->size();
    int timestamps = 0;
    for (size_t i = 0; i < fields->size(); ++i) {
      const std::string name(Trim((*fields)[i]));
      std::optional<size_t>* slot = nullptr;
      if (name == "timestamp_s") slot = &ts_s_col_;
      if (name == "timestamp_ms") slot = &ts_ms_col_;
      if (name == "timestamp") slot = &ts_col_;
      if (name == "prompt") slot = &prompt_col_;
      if (name == "max_tokens") slot = &max_tokens_col_;
      if (name == "prompt_tokens") slot = &prompt_tokens_col_;
      if (slot == nullptr) continue;
      if (slot->has_value()) return Located(fmt::format("column '{}' appears twice", name));
      *slot = i;
      if (name.rfind("timestamp", 0) == 0) ++timestamps;
    }
    if (timestamps != 1) {
      return Located(fmt::format(
          "the header needs exactly one of timestamp_s, timestamp_ms, timestamp; found {}",
          timestamps));
    }
    return Status::Ok();
  }

  double PlainTimestampScale() const {
    return options_.timestamp_unit == ReplayScheduleOptions::TimeUnit::kMilliseconds ? 1e-3 : 1.0;
  }

  Result<ReplayLine> ParseJsonLine(const std::string& line) const {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::DataError("not valid JSON");
    if (!j.is_object()) return Status::DataError("not a JSON object");
    ReplayLine out;
    int timestamps = 0;
    const std::pair<const char*, double> kTimeKeys[] = {
        {"timestamp_s", 1.0}, {"timestamp_ms", 1e-3}, {"timestamp", PlainTimestampScale()}};
    for (const auto& [key, scale] : kTimeKeys) {
      const auto it = j.find(key);
      if (it == j.end() || it->is_null()) continue;
      ++timestamps;
      if (!it->is_number()) return Status::DataError(fmt::format("'{}' is not a number", key));
      const double v = it->get<double>();
      if (!IsFinite(v)) return Status::DataError(fmt::format("'{}' is not finite", key));
      out.timestamp_s = v * scale;
    }
    if (timestamps != 1) {
      return Status::DataError(fmt::format(
          "need exactly one of timestamp_s, timestamp_ms, timestamp; found {}", timestamps));
    }
    if (const auto it = j.find("prompt"); it != j.end() && !it->is_null()) {
      if (!it->is_string()) return Status::DataError("'prompt' is not a string");
      out.request.prompt = it->get<std::string>();
    }
    for (const char* key : {"max_tokens", "prompt_tokens"}) {
      const auto it = j.find(key);
      if (it == j.end() || it->is_null()) continue;
      const std::optional<int64_t> v = JsonInteger(*it);
      if (!v) return Status::DataError(fmt::format("'{}' is not an integer", key));
      LLMRCA_RETURN_IF_ERROR(CheckTokens(key, *v));
      (std::string_view(key) == "max_tokens" ? out.request.max_tokens : out.request.prompt_tokens) =
          *v;
    }
    return out;
  }

  Result<ReplayLine> ParseCsvRow(const std::string& line) const {
    LLMRCA_ASSIGN_OR_RETURN(std::vector<std::string> fields, SplitCsvRow(line));
    if (fields.size() != columns_) {
      return Status::DataError(
          fmt::format("{} fields, but the header has {} columns", fields.size(), columns_));
    }
    ReplayLine out;
    const std::pair<const std::optional<size_t>*, double> kTimeCols[] = {
        {&ts_s_col_, 1.0}, {&ts_ms_col_, 1e-3}, {&ts_col_, PlainTimestampScale()}};
    for (const auto& [col, scale] : kTimeCols) {
      if (!col->has_value()) continue;
      const std::optional<double> v = ParseDouble(fields[**col]);
      if (!v || !IsFinite(*v)) {
        return Status::DataError(
            fmt::format("timestamp '{}' is not a finite number", fields[**col]));
      }
      out.timestamp_s = *v * scale;
    }
    if (prompt_col_ && !fields[*prompt_col_].empty()) out.request.prompt = fields[*prompt_col_];
    const std::pair<const std::optional<size_t>*, const char*> kIntCols[] = {
        {&max_tokens_col_, "max_tokens"}, {&prompt_tokens_col_, "prompt_tokens"}};
    for (const auto& [col, name] : kIntCols) {
      if (!col->has_value() || Trim(fields[**col]).empty()) continue;
      const std::optional<int64_t> v = ParseInt(fields[**col]);
      if (!v)
        return Status::DataError(fmt::format("{} '{}' is not an integer", name, fields[**col]));
      LLMRCA_RETURN_IF_ERROR(CheckTokens(name, *v));
      (std::string_view(name) == "max_tokens" ? out.request.max_tokens
                                              : out.request.prompt_tokens) = *v;
    }
    return out;
  }

  ReplayScheduleOptions options_;
  bool csv_;
  std::unique_ptr<std::ifstream> in_;
  int64_t line_number_ = 0;
  size_t columns_ = 0;
  std::optional<size_t> ts_s_col_, ts_ms_col_, ts_col_, prompt_col_, max_tokens_col_,
      prompt_tokens_col_;
};

// Turns timestamps into offsets and applies the bounds; shared by the check pass and the schedule.
class ReplayClock {
 public:
  explicit ReplayClock(const ReplayScheduleOptions& options)
      : speedup_(options.speedup),
        duration_(options.duration),
        max_requests_(options.max_requests) {}

  // The offset of a line with timestamp `ts_s`; a message when it goes back or is too far.
  Result<int64_t> Offset(double ts_s) {
    if (!first_) first_ = ts_s;
    if (previous_ && ts_s < *previous_) {
      return Status::DataError(
          fmt::format("timestamp {} s is before the previous line's {} s", ts_s, *previous_));
    }
    previous_ = ts_s;
    const double offset_ns = (ts_s - *first_) / speedup_ * 1e9;
    if (!(offset_ns < kMaxOffsetNs)) {
      return Status::DataError(
          fmt::format("timestamp {} s is too far from the first ({} s)", ts_s, *first_));
    }
    return std::llround(offset_ns);
  }

  bool WithinBounds(int64_t index, int64_t offset_ns) const {
    if (max_requests_ && index >= *max_requests_) return false;
    if (duration_ && offset_ns >= duration_->count()) return false;
    return true;
  }

 private:
  double speedup_;
  std::optional<nanoseconds> duration_;
  std::optional<int64_t> max_requests_;
  std::optional<double> first_;
  std::optional<double> previous_;
};

class ReplaySchedule final : public ArrivalSchedule {
 public:
  ReplaySchedule(ReplayScheduleOptions options, ReplayReader reader)
      : options_(std::move(options)), reader_(std::move(reader)), clock_(options_) {}

  Result<std::optional<Arrival>> Next() override {
    if (done_) return NoArrival();
    Result<std::optional<ReplayLine>> line = reader_.Next();
    if (!line.ok()) return Fail(line.status());
    if (!line->has_value()) return Finish();
    Result<int64_t> offset_ns = clock_.Offset((*line)->timestamp_s);
    if (!offset_ns.ok()) return Fail(reader_.Located(offset_ns.status().message()));
    if (!clock_.WithinBounds(index_, *offset_ns)) return Finish();
    Arrival arrival;
    arrival.index = index_++;
    arrival.offset = nanoseconds(*offset_ns);
    arrival.replay = std::move((*line)->request);
    return std::optional<Arrival>(std::move(arrival));
  }

 private:
  Result<std::optional<Arrival>> Finish() {
    done_ = true;
    return NoArrival();
  }
  Result<std::optional<Arrival>> Fail(Status status) {
    done_ = true;
    return status;
  }

  ReplayScheduleOptions options_;
  ReplayReader reader_;
  ReplayClock clock_;
  int64_t index_ = 0;
  bool done_ = false;
};

bool EndsWithCsv(std::string_view path) {
  if (path.size() < 4) return false;
  std::string ext(path.substr(path.size() - 4));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".csv";
}

}  // namespace

std::string_view ArrivalProcessName(ArrivalProcess process) {
  switch (process) {
    case ArrivalProcess::kConstant:
      return "constant";
    case ArrivalProcess::kPoisson:
      return "poisson";
    case ArrivalProcess::kUniform:
      return "uniform";
    case ArrivalProcess::kGamma:
      return "gamma";
  }
  return "constant";
}

std::optional<ArrivalProcess> ArrivalProcessFromName(std::string_view name) {
  for (ArrivalProcess p : {ArrivalProcess::kConstant, ArrivalProcess::kPoisson,
                           ArrivalProcess::kUniform, ArrivalProcess::kGamma}) {
    if (ArrivalProcessName(p) == name) return p;
  }
  return std::nullopt;
}

Result<std::unique_ptr<ArrivalSchedule>> MakeRateSchedule(const RateScheduleOptions& options) {
  LLMRCA_RETURN_IF_ERROR(CheckBounds(options.duration, options.max_requests));
  if (options.process == ArrivalProcess::kGamma &&
      (!IsFinite(options.burstiness) || options.burstiness <= 0)) {
    return Status::InvalidArgument(
        fmt::format("schedule: burstiness is {}, need a finite value > 0", options.burstiness));
  }
  if (options.ramp && options.sweep) {
    return Status::InvalidArgument("schedule: a ramp and a sweep were both given; choose one");
  }
  std::vector<Segment> segments;
  if (options.sweep) {
    const RateSweep& sweep = *options.sweep;
    if (sweep.rates_rps.empty()) return Status::InvalidArgument("schedule: the sweep has no rates");
    if (sweep.step_duration.count() <= 0) {
      return Status::InvalidArgument(fmt::format("schedule: sweep step_duration is {} ns, need > 0",
                                                 sweep.step_duration.count()));
    }
    if (static_cast<double>(sweep.step_duration.count()) *
            static_cast<double>(sweep.rates_rps.size()) >=
        kMaxOffsetNs) {
      return Status::InvalidArgument(
          fmt::format("schedule: a sweep of {} steps of {} ns is too long", sweep.rates_rps.size(),
                      sweep.step_duration.count()));
    }
    double u = 0;
    for (size_t k = 0; k < sweep.rates_rps.size(); ++k) {
      LLMRCA_RETURN_IF_ERROR(CheckRate(sweep.rates_rps[k], fmt::format("sweep rate {}", k), true));
      Segment seg;
      seg.start_ns = static_cast<int64_t>(k) * sweep.step_duration.count();
      seg.length_s = static_cast<double>(sweep.step_duration.count()) * 1e-9;
      seg.rate_start = seg.rate_end = sweep.rates_rps[k];
      seg.u_start = u;
      u += sweep.rates_rps[k] * seg.length_s;
      seg.u_end = u;
      seg.step = static_cast<int>(k);
      segments.push_back(seg);
    }
    if (u == 0) return Status::InvalidArgument("schedule: every sweep rate is 0");
  } else if (options.ramp) {
    if (!options.duration) {
      return Status::InvalidArgument("schedule: a ramp needs a duration to ramp over");
    }
    LLMRCA_RETURN_IF_ERROR(CheckRate(options.ramp->start_rps, "ramp start rate", true));
    LLMRCA_RETURN_IF_ERROR(CheckRate(options.ramp->end_rps, "ramp end rate", true));
    if (options.ramp->start_rps == 0 && options.ramp->end_rps == 0) {
      return Status::InvalidArgument("schedule: the ramp's start and end rates are both 0");
    }
    Segment seg;
    seg.length_s = static_cast<double>(options.duration->count()) * 1e-9;
    seg.rate_start = options.ramp->start_rps;
    seg.rate_end = options.ramp->end_rps;
    seg.u_end = 0.5 * (seg.rate_start + seg.rate_end) * seg.length_s;
    segments.push_back(seg);
  } else {
    LLMRCA_RETURN_IF_ERROR(CheckRate(options.rate_rps, "rate", false));
    if (!options.duration && !options.max_requests) {
      return Status::InvalidArgument(
          "schedule: unbounded; give a duration, a request count, or both");
    }
    Segment seg;
    seg.length_s = std::numeric_limits<double>::infinity();
    seg.rate_start = seg.rate_end = options.rate_rps;
    seg.u_end = std::numeric_limits<double>::infinity();
    segments.push_back(seg);
  }
  std::optional<int64_t> end_ns;
  if (options.duration) end_ns = options.duration->count();
  if (options.sweep) {
    const int64_t sweep_end = static_cast<int64_t>(options.sweep->rates_rps.size()) *
                              options.sweep->step_duration.count();
    end_ns = end_ns ? std::min(*end_ns, sweep_end) : sweep_end;
  }
  return std::unique_ptr<ArrivalSchedule>(
      std::make_unique<RateSchedule>(std::move(segments), options.process, options.burstiness,
                                     end_ns, options.max_requests, options.seed));
}

Result<std::unique_ptr<ArrivalSchedule>> MakeBurstSchedule(const BurstScheduleOptions& options) {
  LLMRCA_RETURN_IF_ERROR(CheckBounds(options.duration, options.max_requests));
  if (options.period.count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("schedule: burst period is {} ns, need > 0", options.period.count()));
  }
  if (options.size < 1) {
    return Status::InvalidArgument(
        fmt::format("schedule: burst size is {}, need >= 1", options.size));
  }
  if (!options.duration && !options.max_requests) {
    return Status::InvalidArgument(
        "schedule: unbounded; give a duration, a request count, or both");
  }
  return std::unique_ptr<ArrivalSchedule>(std::make_unique<BurstSchedule>(options));
}

Result<std::unique_ptr<ArrivalSchedule>> OpenReplaySchedule(const ReplayScheduleOptions& options) {
  LLMRCA_RETURN_IF_ERROR(CheckBounds(options.duration, options.max_requests));
  if (!IsFinite(options.speedup) || options.speedup <= 0) {
    return Status::InvalidArgument(
        fmt::format("schedule: replay speedup is {}, need a finite value > 0", options.speedup));
  }
  const bool csv = options.format == ReplayFormat::kCsv ||
                   (options.format == ReplayFormat::kAuto && EndsWithCsv(options.path));
  {
    // Check pass over the whole log, so that a bad line fails now rather than mid-run.
    LLMRCA_ASSIGN_OR_RETURN(ReplayReader check, ReplayReader::Open(options, csv));
    ReplayClock clock(options);
    while (true) {
      LLMRCA_ASSIGN_OR_RETURN(std::optional<ReplayLine> line, check.Next());
      if (!line) break;
      Result<int64_t> offset = clock.Offset(line->timestamp_s);
      if (!offset.ok()) return check.Located(offset.status().message());
    }
  }
  LLMRCA_ASSIGN_OR_RETURN(ReplayReader reader, ReplayReader::Open(options, csv));
  return std::unique_ptr<ArrivalSchedule>(
      std::make_unique<ReplaySchedule>(options, std::move(reader)));
}

Result<std::vector<Arrival>> CollectArrivals(ArrivalSchedule& schedule, int64_t limit) {
  std::vector<Arrival> out;
  while (static_cast<int64_t>(out.size()) < limit) {
    LLMRCA_ASSIGN_OR_RETURN(std::optional<Arrival> next, schedule.Next());
    if (!next) break;
    out.push_back(std::move(*next));
  }
  return out;
}

}  // namespace llmrca::load
