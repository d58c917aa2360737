#include "load/schedule.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::load {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

std::vector<Arrival> Collect(Result<std::unique_ptr<ArrivalSchedule>> schedule,
                             int64_t limit = 10'000'000) {
  EXPECT_TRUE(schedule.ok()) << schedule.status().ToString();
  if (!schedule.ok()) return {};
  Result<std::vector<Arrival>> all = CollectArrivals(**schedule, limit);
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  return all.ok() ? std::move(all).value() : std::vector<Arrival>{};
}

std::vector<int64_t> OffsetsNs(const std::vector<Arrival>& arrivals) {
  std::vector<int64_t> out;
  for (const Arrival& a : arrivals) out.push_back(a.offset.count());
  return out;
}

std::vector<double> GapsS(const std::vector<Arrival>& arrivals) {
  std::vector<double> gaps;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    gaps.push_back(static_cast<double>((arrivals[i].offset - arrivals[i - 1].offset).count()) *
                   1e-9);
  }
  return gaps;
}

// Kolmogorov-Smirnov statistic D = sup |F_n(x) - F(x)| of `sample` against the CDF `cdf`.
template <typename Cdf>
double KsStatistic(std::vector<double> sample, Cdf cdf) {
  std::sort(sample.begin(), sample.end());
  const double n = static_cast<double>(sample.size());
  double d = 0;
  for (size_t i = 0; i < sample.size(); ++i) {
    const double f = cdf(sample[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

// Critical value of D at alpha = 0.01 for large n: sqrt(-ln(alpha / 2) / 2) / sqrt(n)
// = 1.6276 / sqrt(n) (Smirnov's asymptotic distribution; tables print 1.63 / sqrt(n), n > 35).
double KsCritical01(size_t n) {
  return std::sqrt(-std::log(0.01 / 2) / 2) / std::sqrt(static_cast<double>(n));
}

double Mean(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double Variance(const std::vector<double>& x) {
  const double m = Mean(x);
  double s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return s / static_cast<double>(x.size() - 1);
}

std::string TempFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/llmrca_schedule_" + name;
  std::ofstream out(path, std::ios::binary);
  out << contents;
  return path;
}

std::string ReplayFixture(const std::string& name) {
  return std::string(LLMRCA_TESTDATA_DIR) + "/load/replay/" + name;
}

// ---------------------------------------------------------------------------------------------

TEST(ScheduleTest, ConstantGapsAreExact) {
  // 4 req/s for 2 s: every 250 ms from 0, 8 arrivals, the last at 1.75 s (< 2 s).
  RateScheduleOptions o;
  o.rate_rps = 4;
  o.duration = seconds(2);
  std::vector<Arrival> a = Collect(MakeRateSchedule(o));
  ASSERT_EQ(a.size(), 8u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].offset, milliseconds(250 * static_cast<int64_t>(i)));
    EXPECT_EQ(a[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(a[i].step, 0);
    EXPECT_FALSE(a[i].replay.has_value());
  }
}

TEST(ScheduleTest, ConstantRateRoundsToTheNearestNanosecond) {
  // 3 req/s: i / 3 s = 0, 333333333.3, 666666666.7, 1e9 ns.
  RateScheduleOptions o;
  o.rate_rps = 3;
  o.max_requests = 4;
  EXPECT_EQ(OffsetsNs(Collect(MakeRateSchedule(o))),
            (std::vector<int64_t>{0, 333'333'333, 666'666'667, 1'000'000'000}));
}

TEST(ScheduleTest, TheFirstBoundReachedEndsTheSchedule) {
  RateScheduleOptions o;
  o.rate_rps = 10;
  o.duration = seconds(1);
  o.max_requests = 5;
  EXPECT_EQ(Collect(MakeRateSchedule(o)).size(), 5u);
  o.max_requests = 50;
  EXPECT_EQ(Collect(MakeRateSchedule(o)).size(), 10u);
  o.max_requests = 0;
  EXPECT_EQ(Collect(MakeRateSchedule(o)).size(), 0u);
}

TEST(ScheduleTest, ExhaustedScheduleStaysExhausted) {
  RateScheduleOptions o;
  o.rate_rps = 1;
  o.max_requests = 1;
  Result<std::unique_ptr<ArrivalSchedule>> s = MakeRateSchedule(o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Next().value().has_value());
  EXPECT_FALSE((*s)->Next().value().has_value());
  EXPECT_FALSE((*s)->Next().value().has_value());
}

TEST(ScheduleTest, PoissonGapsPassKolmogorovSmirnov) {
  RateScheduleOptions o;
  o.process = ArrivalProcess::kPoisson;
  o.rate_rps = 100;
  o.max_requests = 5001;
  o.seed = 20240501;
  const std::vector<double> gaps = GapsS(Collect(MakeRateSchedule(o)));
  ASSERT_EQ(gaps.size(), 5000u);
  const auto exponential = [](double x) { return 1.0 - std::exp(-100.0 * x); };
  EXPECT_LT(KsStatistic(gaps, exponential), KsCritical01(gaps.size()));
  // The same test rejects constant gaps: F(1/r) = 1 - 1/e, so D = 1 - 1/e = 0.632.
  o.process = ArrivalProcess::kConstant;
  const std::vector<double> constant = GapsS(Collect(MakeRateSchedule(o)));
  EXPECT_NEAR(KsStatistic(constant, exponential), 1.0 - std::exp(-1.0), 1e-6);
}

TEST(ScheduleTest, UniformGapsPassKolmogorovSmirnov) {
  // The seed's uniform distribution: gaps uniform on [0, 2/r] = [0, 0.04] s at r = 50.
  RateScheduleOptions o;
  o.process = ArrivalProcess::kUniform;
  o.rate_rps = 50;
  o.max_requests = 4001;
  o.seed = 3;
  const std::vector<double> gaps = GapsS(Collect(MakeRateSchedule(o)));
  const auto uniform = [](double x) { return std::clamp(x / 0.04, 0.0, 1.0); };
  EXPECT_LT(KsStatistic(gaps, uniform), KsCritical01(gaps.size()));
}

TEST(ScheduleTest, GammaGapsHaveTheRequestedMeanAndVariance) {
  // Gamma(k = burstiness, theta = 1 / (r k)): mean 1/r, variance 1 / (k r^2). With n gaps the
  // standard error of the mean is sqrt(var / n) and that of the sample variance about
  // var * sqrt((2 + 6 / k) / n) (the gamma's excess kurtosis is 6 / k); allow 5 of each.
  const double rate = 10;
  const int n = 20000;
  for (double k : {0.5, 1.0, 4.0}) {
    RateScheduleOptions o;
    o.process = ArrivalProcess::kGamma;
    o.rate_rps = rate;
    o.burstiness = k;
    o.max_requests = n + 1;
    o.seed = 11;
    const std::vector<double> gaps = GapsS(Collect(MakeRateSchedule(o)));
    ASSERT_EQ(gaps.size(), static_cast<size_t>(n));
    const double mean = 1 / rate;
    const double var = 1 / (k * rate * rate);
    EXPECT_NEAR(Mean(gaps), mean, 5 * std::sqrt(var / n)) << "burstiness " << k;
    EXPECT_NEAR(Variance(gaps), var, 5 * var * std::sqrt((2 + 6 / k) / n)) << "burstiness " << k;
  }
}

TEST(ScheduleTest, SeededAndReproducible) {
  RateScheduleOptions o;
  o.process = ArrivalProcess::kPoisson;
  o.rate_rps = 100;
  o.max_requests = 200;
  o.seed = 5;
  const std::vector<int64_t> first = OffsetsNs(Collect(MakeRateSchedule(o)));
  EXPECT_EQ(OffsetsNs(Collect(MakeRateSchedule(o))), first);
  o.seed = 6;
  EXPECT_NE(OffsetsNs(Collect(MakeRateSchedule(o))), first);
}

TEST(ScheduleTest, SweepCarriesStepIndices) {
  // Rates 2, 4, 0, 1 req/s for 1 s each, constant: step 0 at 0 and 0.5 s; step 1 at 1, 1.25, 1.5,
  // 1.75 s; step 2 is a pause; step 3 at 3 s; the sweep ends at 4 s.
  RateScheduleOptions o;
  o.sweep = RateSweep{{2, 4, 0, 1}, seconds(1)};
  const std::vector<Arrival> a = Collect(MakeRateSchedule(o));
  EXPECT_EQ(OffsetsNs(a), (std::vector<int64_t>{0, 500'000'000, 1'000'000'000, 1'250'000'000,
                                                1'500'000'000, 1'750'000'000, 3'000'000'000}));
  std::vector<int> steps;
  for (const Arrival& x : a) steps.push_back(x.step);
  EXPECT_EQ(steps, (std::vector<int>{0, 0, 1, 1, 1, 1, 3}));
  // A duration cuts the sweep short.
  o.duration = milliseconds(1500);
  EXPECT_EQ(Collect(MakeRateSchedule(o)).size(), 4u);
}

TEST(ScheduleTest, PoissonSweepKeepsArrivalsInTheirStepWindows) {
  RateScheduleOptions o;
  o.process = ArrivalProcess::kPoisson;
  o.sweep = RateSweep{{50, 200, 100}, seconds(10)};
  o.seed = 9;
  const std::vector<Arrival> a = Collect(MakeRateSchedule(o));
  std::vector<int> per_step(3, 0);
  for (const Arrival& x : a) {
    ASSERT_GE(x.step, 0);
    ASSERT_LT(x.step, 3);
    EXPECT_GE(x.offset, seconds(10 * x.step));
    EXPECT_LT(x.offset, seconds(10 * (x.step + 1)));
    ++per_step[static_cast<size_t>(x.step)];
  }
  // Poisson counts: mean r * 10 s, sd sqrt(mean); allow 5 sd.
  const double expected[] = {500, 2000, 1000};
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(per_step[static_cast<size_t>(k)], expected[k], 5 * std::sqrt(expected[k])) << k;
  }
}

TEST(ScheduleTest, LinearRampFollowsTheIntegratedRate) {
  // r(t) = t over 10 s (0 -> 10 req/s): the integral t^2 / 2 reaches k at t = sqrt(2k), for
  // k = 0 .. 49 (the integral to 10 s is 50).
  RateScheduleOptions o;
  o.ramp = LinearRamp{0, 10};
  o.duration = seconds(10);
  std::vector<Arrival> a = Collect(MakeRateSchedule(o));
  ASSERT_EQ(a.size(), 50u);
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_NEAR(static_cast<double>(a[k].offset.count()), std::sqrt(2.0 * k) * 1e9, 1.0) << k;
  }
  // Down from 10 to 0: the integral 10 t - t^2 / 2 reaches k at t = 10 - sqrt(100 - 2k).
  o.ramp = LinearRamp{10, 0};
  a = Collect(MakeRateSchedule(o));
  ASSERT_EQ(a.size(), 50u);
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_NEAR(static_cast<double>(a[k].offset.count()), (10 - std::sqrt(100.0 - 2.0 * k)) * 1e9,
                1.0)
        << k;
  }
  // A flat ramp is a constant rate.
  o.ramp = LinearRamp{4, 4};
  o.duration = seconds(1);
  EXPECT_EQ(OffsetsNs(Collect(MakeRateSchedule(o))),
            (std::vector<int64_t>{0, 250'000'000, 500'000'000, 750'000'000}));
}

TEST(ScheduleTest, RejectsBadRateOptions) {
  const auto bad = [](RateScheduleOptions o) {
    return MakeRateSchedule(o).status().IsInvalidArgument();
  };
  RateScheduleOptions base;
  base.rate_rps = 5;
  base.duration = seconds(10);
  ASSERT_TRUE(MakeRateSchedule(base).ok());
  RateScheduleOptions o = base;
  o.duration.reset();
  EXPECT_TRUE(bad(o));  // unbounded
  for (double r : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    o = base;
    o.rate_rps = r;
    EXPECT_TRUE(bad(o)) << r;
  }
  o = base;
  o.process = ArrivalProcess::kGamma;
  o.burstiness = 0;
  EXPECT_TRUE(bad(o));
  o = base;
  o.duration = seconds(0);
  EXPECT_TRUE(bad(o));
  o = base;
  o.max_requests = -1;
  EXPECT_TRUE(bad(o));
  o = base;
  o.ramp = LinearRamp{1, 2};
  o.duration.reset();
  o.max_requests = 10;
  EXPECT_TRUE(bad(o));  // a ramp needs the duration
  o = base;
  o.ramp = LinearRamp{0, 0};
  EXPECT_TRUE(bad(o));
  o = base;
  o.ramp = LinearRamp{1, 2};
  o.sweep = RateSweep{{1}, seconds(1)};
  EXPECT_TRUE(bad(o));
  o = base;
  o.sweep = RateSweep{{}, seconds(1)};
  EXPECT_TRUE(bad(o));
  o = base;
  o.sweep = RateSweep{{0, 0}, seconds(1)};
  EXPECT_TRUE(bad(o));
  o = base;
  o.sweep = RateSweep{{1, -2}, seconds(1)};
  EXPECT_TRUE(bad(o));
  o = base;
  o.sweep = RateSweep{{1}, seconds(0)};
  EXPECT_TRUE(bad(o));
  o = base;
  o.sweep = RateSweep{{1, 1, 1}, nanoseconds(int64_t{4'000'000'000'000'000'000})};
  EXPECT_TRUE(bad(o));  // 12e18 ns overflows the offsets
}

TEST(ScheduleTest, ProcessNamesRoundTrip) {
  for (ArrivalProcess p : {ArrivalProcess::kConstant, ArrivalProcess::kPoisson,
                           ArrivalProcess::kUniform, ArrivalProcess::kGamma}) {
    EXPECT_EQ(ArrivalProcessFromName(ArrivalProcessName(p)), p);
  }
  EXPECT_EQ(ArrivalProcessName(ArrivalProcess::kPoisson), "poisson");
  EXPECT_FALSE(ArrivalProcessFromName("exponential").has_value());
}

TEST(ScheduleTest, BurstsOfSizeEveryPeriod) {
  // Every 2 s a burst of 3 for 5 s: bursts at 0, 2 and 4 s.
  BurstScheduleOptions o;
  o.period = seconds(2);
  o.size = 3;
  o.duration = seconds(5);
  std::vector<Arrival> a = Collect(MakeBurstSchedule(o));
  const int64_t s = 1'000'000'000;
  EXPECT_EQ(OffsetsNs(a),
            (std::vector<int64_t>{0, 0, 0, 2 * s, 2 * s, 2 * s, 4 * s, 4 * s, 4 * s}));
  EXPECT_EQ(a.back().index, 8);
  // A request count cuts the last burst.
  o.max_requests = 7;
  EXPECT_EQ(OffsetsNs(Collect(MakeBurstSchedule(o))),
            (std::vector<int64_t>{0, 0, 0, 2 * s, 2 * s, 2 * s, 4 * s}));
  // Duration 4 s exactly: the burst at 4 s is not before it.
  o.max_requests.reset();
  o.duration = seconds(4);
  EXPECT_EQ(Collect(MakeBurstSchedule(o)).size(), 6u);
}

TEST(ScheduleTest, RejectsBadBurstOptions) {
  BurstScheduleOptions o;
  o.period = seconds(1);
  o.size = 2;
  EXPECT_TRUE(MakeBurstSchedule(o).status().IsInvalidArgument());  // unbounded
  o.max_requests = 4;
  EXPECT_TRUE(MakeBurstSchedule(o).ok());
  o.size = 0;
  EXPECT_TRUE(MakeBurstSchedule(o).status().IsInvalidArgument());
  o.size = 2;
  o.period = nanoseconds(0);
  EXPECT_TRUE(MakeBurstSchedule(o).status().IsInvalidArgument());
}

// ---------------------------------------------------------------------------------------------
// Replay

TEST(ScheduleTest, ReplaysJsonlFixture) {
  // requests.jsonl: millisecond timestamps 1700000000000, +250, +250, +1500, and a blank line.
  ReplayScheduleOptions o;
  o.path = ReplayFixture("requests.jsonl");
  std::vector<Arrival> a = Collect(OpenReplaySchedule(o));
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(OffsetsNs(a), (std::vector<int64_t>{0, 250'000'000, 250'000'000, 1'500'000'000}));
  ASSERT_TRUE(a[0].replay.has_value());
  EXPECT_EQ(a[0].replay->prompt, "Hello");
  EXPECT_EQ(a[0].replay->max_tokens, 16);
  EXPECT_EQ(a[0].replay->prompt_tokens, 2);
  EXPECT_EQ(a[1].replay->prompt, "Tell me a joke");
  EXPECT_EQ(a[1].replay->max_tokens, 64);
  EXPECT_FALSE(a[1].replay->prompt_tokens.has_value());
  EXPECT_EQ(a[2].replay->prompt, "Line one\nline two");
  EXPECT_FALSE(a[2].replay->max_tokens.has_value());
  EXPECT_EQ(a[2].replay->prompt_tokens, 5);
  ASSERT_TRUE(a[3].replay.has_value());
  EXPECT_FALSE(a[3].replay->prompt.has_value());
  EXPECT_EQ(a[3].index, 3);

  // Twice as fast; and the bounds.
  o.speedup = 2;
  EXPECT_EQ(OffsetsNs(Collect(OpenReplaySchedule(o))),
            (std::vector<int64_t>{0, 125'000'000, 125'000'000, 750'000'000}));
  o.speedup = 1;
  o.duration = seconds(1);
  EXPECT_EQ(Collect(OpenReplaySchedule(o)).size(), 3u);
  o.duration.reset();
  o.max_requests = 2;
  EXPECT_EQ(Collect(OpenReplaySchedule(o)).size(), 2u);
}

TEST(ScheduleTest, ReplaysCsvFixture) {
  // requests.csv: seconds 10.0, 10.25, 10.25, 11.5; a quoted prompt with a comma and a quote.
  ReplayScheduleOptions o;
  o.path = ReplayFixture("requests.csv");
  std::vector<Arrival> a = Collect(OpenReplaySchedule(o));
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(OffsetsNs(a), (std::vector<int64_t>{0, 250'000'000, 250'000'000, 1'500'000'000}));
  EXPECT_EQ(a[0].replay->prompt, "Hello");
  EXPECT_EQ(a[0].replay->max_tokens, 16);
  EXPECT_EQ(a[0].replay->prompt_tokens, 2);
  EXPECT_EQ(a[1].replay->prompt, "Tell me, a \"joke\"");
  EXPECT_FALSE(a[1].replay->prompt_tokens.has_value());
  EXPECT_FALSE(a[2].replay->max_tokens.has_value());
  EXPECT_EQ(a[2].replay->prompt_tokens, 5);
  EXPECT_FALSE(a[3].replay->prompt.has_value());
}

TEST(ScheduleTest, ReplayPlainTimestampUsesTheGivenUnit) {
  const std::string path = TempFile("plain.jsonl", "{\"timestamp\": 100}\n{\"timestamp\": 130}\n");
  ReplayScheduleOptions o;
  o.path = path;
  EXPECT_EQ(OffsetsNs(Collect(OpenReplaySchedule(o))), (std::vector<int64_t>{0, 30'000'000'000}));
  o.timestamp_unit = ReplayScheduleOptions::TimeUnit::kMilliseconds;
  EXPECT_EQ(OffsetsNs(Collect(OpenReplaySchedule(o))), (std::vector<int64_t>{0, 30'000'000}));
}

TEST(ScheduleTest, ReplayReportsMalformedLinesWithFileAndLine) {
  ReplayScheduleOptions o;
  o.path = ReplayFixture("bad_max_tokens.jsonl");
  Status s = OpenReplaySchedule(o).status();
  EXPECT_TRUE(s.IsDataError());
  EXPECT_NE(s.message().find("bad_max_tokens.jsonl:3: 'max_tokens' is not an integer"),
            std::string::npos)
      << s.message();

  o.path = ReplayFixture("backwards.csv");
  s = OpenReplaySchedule(o).status();
  EXPECT_TRUE(s.IsDataError());
  EXPECT_NE(s.message().find("backwards.csv:4: timestamp 1.5 s is before"), std::string::npos)
      << s.message();

  struct Case {
    std::string name, contents, where;
  };
  const Case cases[] = {
      {"notjson.jsonl", "{\"timestamp_s\": 1}\n{oops\n", ":2: not valid JSON"},
      {"array.jsonl", "[1, 2]\n", ":1: not a JSON object"},
      {"none.jsonl", "{\"prompt\": \"x\"}\n", ":1: need exactly one of"},
      {"two.jsonl", "{\"timestamp_s\": 1, \"timestamp_ms\": 1000}\n", ":1: need exactly one of"},
      {"zero.jsonl", "{\"timestamp_s\": 1, \"max_tokens\": 0}\n", ":1: max_tokens is 0"},
      {"prompt.jsonl", "{\"timestamp_s\": 1, \"prompt\": 5}\n", ":1: 'prompt' is not a string"},
      {"fields.csv", "timestamp_s,prompt\n1,a\n2,b,c\n", ":3: 3 fields, but the header has 2"},
      {"quote.csv", "timestamp_s,prompt\n1,\"open\n", ":2: unterminated quoted field"},
      {"header.csv", "time,prompt\n1,a\n", ":1: the header needs exactly one of"},
      {"number.csv", "timestamp_ms\nsoon\n", ":2: timestamp 'soon' is not a finite number"},
  };
  for (const Case& c : cases) {
    o.path = TempFile(c.name, c.contents);
    s = OpenReplaySchedule(o).status();
    EXPECT_TRUE(s.IsDataError()) << c.name << ": " << s.ToString();
    EXPECT_NE(s.message().find(o.path + c.where), std::string::npos) << s.message();
  }
}

TEST(ScheduleTest, ReplayRejectsMissingFilesAndBadOptions) {
  ReplayScheduleOptions o;
  o.path = ReplayFixture("no_such_file.jsonl");
  EXPECT_EQ(OpenReplaySchedule(o).status().code(), StatusCode::kNotFound);
  o.path = ::testing::TempDir();
  EXPECT_TRUE(OpenReplaySchedule(o).status().IsIoError());
  o.path = ReplayFixture("requests.jsonl");
  o.speedup = 0;
  EXPECT_TRUE(OpenReplaySchedule(o).status().IsInvalidArgument());
  o.speedup = 1;
  o.format = ReplayFormat::kCsv;  // a JSONL file read as CSV has no timestamp column
  EXPECT_TRUE(OpenReplaySchedule(o).status().IsDataError());
}

TEST(ScheduleTest, ReplayOfAnEmptyLogIsEmpty) {
  ReplayScheduleOptions o;
  o.path = TempFile("empty.jsonl", "\n\n");
  EXPECT_TRUE(Collect(OpenReplaySchedule(o)).empty());
  o.path = TempFile("header_only.csv", "timestamp_s,prompt\n");
  EXPECT_TRUE(Collect(OpenReplaySchedule(o)).empty());
}

}  // namespace
}  // namespace llmrca::load
