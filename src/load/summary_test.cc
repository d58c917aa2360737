#include "load/summary.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace llmrca::load {
namespace {

RequestRecord Ok(int64_t id, int step, double scheduled, double send, double first, double end,
                 std::vector<double> chunks, int64_t out, int64_t prompt) {
  RequestRecord r;
  r.id = id;
  r.step = step;
  r.scheduled_s = scheduled;
  r.send_s = send;
  r.first_content_s = first;
  r.end_s = end;
  r.chunk_times_s = std::move(chunks);
  r.output_tokens = out;
  r.output_tokens_source = TokenSource::kUsage;
  r.prompt_tokens = prompt;
  r.prompt_tokens_source = TokenSource::kUsage;
  r.http_status = 200;
  return r;
}

RequestRecord Failed(int64_t id, int step, double scheduled, double send, double end,
                     ErrorClass cls, int http_status) {
  RequestRecord r;
  r.id = id;
  r.step = step;
  r.scheduled_s = scheduled;
  r.send_s = send;
  r.end_s = end;
  r.error_class = cls;
  r.http_status = http_status;
  r.error = "failed";
  return r;
}

// Five requests, times in seconds (chunk times relative to send):
//   r0 step 0: scheduled 0, sent 0.01, first content 0.11, end 0.51, chunks .1 .2 .3 .5, 5 of 5
//      tokens, prompt 10 -> ttft 100 ms (from schedule 110), e2e 500 (510), tpot 400/4 = 100,
//      e2e/N 100, (e2e-ttft)/N 80, chunk gaps 100 100 200, lag 10.
//   r1 step 0: scheduled = sent 0.3, first 0.35, end 0.55, chunks .05 .15 .25, 3 of 5 tokens,
//      prompt 10 -> ttft 50 (50), e2e 250 (250), tpot 200/2 = 100, e2e/N 83.33,
//      (e2e-ttft)/N 66.67, gaps 100 100, lag 0.
//   r2 step 1: scheduled 2, sent 2.5, first 2.6, end 2.7, one chunk, 1 token, prompt 20 ->
//      ttft 100 (600), e2e 200 (700), no tpot (N = 1), e2e/N 200, (e2e-ttft)/N 100, lag 500.
//   r3 step 0: HTTP 429 at 0.5, ends 0.51.      r4 step 1: timeout, sent 4, ends 5.
// In flight at 0.5 s: r0 [0.01, 0.51), r1 [0.3, 0.55) and r3 [0.5, 0.51) -> peak 3.
std::vector<RequestRecord> HandMade() {
  std::vector<RequestRecord> rs;
  rs.push_back(Ok(0, 0, 0.0, 0.01, 0.11, 0.51, {0.1, 0.2, 0.3, 0.5}, 5, 10));
  rs.back().max_tokens = 5;
  rs.push_back(Ok(1, 0, 0.3, 0.3, 0.35, 0.55, {0.05, 0.15, 0.25}, 3, 10));
  rs.back().max_tokens = 5;
  rs.push_back(Ok(2, 1, 2.0, 2.5, 2.6, 2.7, {0.1}, 1, 20));
  rs.push_back(Failed(3, 0, 0.5, 0.5, 0.51, ErrorClass::kHttp429, 429));
  rs.push_back(Failed(4, 1, 4.0, 4.0, 5.0, ErrorClass::kTimeout, 0));
  return rs;
}

RunInfo Info() {
  RunInfo info;
  info.provider = "vllm";
  info.model = "llama";
  info.prompt_tokens = 512;
  info.generation_tokens = "256";
  info.stream = true;
  info.temperature = 1.0;
  info.logprobs = "true";
  info.concurrency = "QPS 5.0 constant";
  return info;
}

RunSummary Summary(const std::vector<RequestRecord>& rs, const RunInfo& info, const Slo& slo) {
  Result<RunSummary> s = Summarize(rs, info, slo);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

constexpr double kTol = 1e-9;

void ExpectDistribution(const Distribution& d, int64_t count, double mean, double std, double min,
                        double max) {
  EXPECT_EQ(d.count, count);
  EXPECT_NEAR(d.mean_ms, mean, 1e-6);
  EXPECT_NEAR(d.std_ms, std, 1e-6);
  EXPECT_NEAR(d.min_ms, min, kTol);
  EXPECT_NEAR(d.max_ms, max, kTol);
}

// Percentiles come from an HdrHistogram with 3 significant digits: within 0.1 % above the exact
// nearest-rank value.
void ExpectPercentile(double got, double exact) {
  EXPECT_GE(got, exact - kTol);
  EXPECT_LE(got, exact * 1.001 + kTol);
}

TEST(SummaryTest, HandComputedMetrics) {
  const RunSummary s = Summary(HandMade(), Info(), Slo{});
  const GroupSummary& g = s.overall;
  EXPECT_EQ(g.requests, 5);
  EXPECT_EQ(g.completed, 3);
  EXPECT_EQ(g.failed, 2);
  EXPECT_NEAR(g.duration_s, 5.0 - 0.01, kTol);  // first send to last end
  EXPECT_NEAR(g.request_throughput_rps, 3 / 4.99, kTol);
  EXPECT_NEAR(g.output_token_throughput_tps, 9 / 4.99, kTol);
  EXPECT_NEAR(g.total_token_throughput_tps, (40 + 9) / 4.99, kTol);
  EXPECT_EQ(g.prompt_tokens_total, 40);
  EXPECT_EQ(g.output_tokens_total, 9);
  EXPECT_EQ(g.tokens_mismatch, 1);  // r1: 3 of 5
  EXPECT_EQ(g.max_concurrency, 3);

  // ttft 100, 50, 100: mean 83.33, population std sqrt(((50/3)^2 * 2 + (100/3)^2) / 3).
  ExpectDistribution(g.Get(Metric::kTtft), 3, 250.0 / 3, std::sqrt(5000.0 / 9), 50, 100);
  ExpectPercentile(g.Get(Metric::kTtft).p50_ms, 100);  // rank ceil(1.5) = 2 of 50, 100, 100
  ExpectDistribution(g.Get(Metric::kTtftIntended), 3, 760.0 / 3,
                     std::sqrt((std::pow(110 - 760.0 / 3, 2) + std::pow(50 - 760.0 / 3, 2) +
                                std::pow(600 - 760.0 / 3, 2)) /
                               3),
                     50, 600);
  ExpectPercentile(g.Get(Metric::kTtftIntended).p50_ms, 110);
  ExpectDistribution(g.Get(Metric::kTpot), 2, 100, 0, 100, 100);
  // Chunk gaps 100 100 200 100 100: mean 120, deviations -20 (x4) and 80 -> variance 1600.
  ExpectDistribution(g.Get(Metric::kItl), 5, 120, 40, 100, 200);
  ExpectPercentile(g.Get(Metric::kItl).p50_ms, 100);  // rank 3 of 100 100 100 100 200
  ExpectPercentile(g.Get(Metric::kItl).p90_ms, 200);  // rank ceil(4.5) = 5
  ExpectDistribution(g.Get(Metric::kE2e), 3, 950.0 / 3,
                     std::sqrt((std::pow(500 - 950.0 / 3, 2) + std::pow(250 - 950.0 / 3, 2) +
                                std::pow(200 - 950.0 / 3, 2)) /
                               3),
                     200, 500);
  ExpectPercentile(g.Get(Metric::kE2e).p50_ms, 250);
  ExpectPercentile(g.Get(Metric::kE2e).p99_9_ms, 500);
  EXPECT_NEAR(g.Get(Metric::kE2eIntended).mean_ms, (510 + 250 + 700) / 3.0, 1e-6);
  EXPECT_NEAR(g.Get(Metric::kE2ePerToken).mean_ms, (100 + 250.0 / 3 + 200) / 3, 1e-6);
  EXPECT_NEAR(g.Get(Metric::kLatencyPerToken).mean_ms, (80 + 200.0 / 3 + 100) / 3, 1e-6);
  EXPECT_EQ(g.Get(Metric::kLatencyPerToken).count, 3);
  // Lags 10, 0, 500, 0, 0 over every request: mean 102, variance (92^2 + 3 * 102^2 + 398^2) / 5.
  ExpectDistribution(g.Get(Metric::kScheduleLag), 5, 102, std::sqrt(39616.0), 0, 500);
  ExpectPercentile(g.Get(Metric::kScheduleLag).p50_ms, 0);
  ExpectPercentile(g.Get(Metric::kScheduleLag).p90_ms, 500);

  // Every class is counted, zeros included.
  for (ErrorClass c : kAllErrorClasses) {
    const int64_t expected = c == ErrorClass::kNone      ? 3
                             : c == ErrorClass::kHttp429 ? 1
                             : c == ErrorClass::kTimeout ? 1
                                                         : 0;
    EXPECT_EQ(g.Errors(c), expected) << ErrorClassName(c);
  }
}

TEST(SummaryTest, PerStepGroups) {
  RunInfo info = Info();
  info.step_rates_rps = {1.0, 2.0};
  const RunSummary s = Summary(HandMade(), info, Slo{});
  ASSERT_EQ(s.steps.size(), 2u);
  const GroupSummary& s0 = s.steps[0];
  EXPECT_EQ(s0.step, 0);
  EXPECT_EQ(s0.step_rate_rps, 1.0);
  EXPECT_EQ(s0.requests, 3);
  EXPECT_EQ(s0.completed, 2);
  EXPECT_NEAR(s0.duration_s, 0.55 - 0.01, kTol);
  EXPECT_EQ(s0.max_concurrency, 3);
  EXPECT_EQ(s0.Errors(ErrorClass::kHttp429), 1);
  EXPECT_EQ(s0.Get(Metric::kItl).count, 5);
  const GroupSummary& s1 = s.steps[1];
  EXPECT_EQ(s1.requests, 2);
  EXPECT_EQ(s1.completed, 1);
  EXPECT_NEAR(s1.duration_s, 5.0 - 2.5, kTol);
  EXPECT_EQ(s1.max_concurrency, 1);
  EXPECT_EQ(s1.Errors(ErrorClass::kTimeout), 1);
  EXPECT_EQ(s1.Get(Metric::kTpot).count, 0);  // r2 has one token
  EXPECT_NEAR(s1.request_throughput_rps, 1 / 2.5, kTol);

  // A listed step with no request still appears, empty; a single-step run has no step groups.
  info.step_rates_rps = {1.0, 2.0, 3.0};
  const RunSummary three = Summary(HandMade(), info, Slo{});
  ASSERT_EQ(three.steps.size(), 3u);
  EXPECT_EQ(three.steps[2].requests, 0);
  EXPECT_EQ(three.steps[2].duration_s, 0);
  std::vector<RequestRecord> one_step = HandMade();
  for (RequestRecord& r : one_step) r.step = 0;
  EXPECT_TRUE(Summary(one_step, Info(), Slo{}).steps.empty());
}

TEST(SummaryTest, GoodputUnderSlos) {
  Slo slo;
  // Thresholds sit off the computed values (100 ms), which floating point may put either side.
  slo.ttft_ms = 100.5;
  slo.tpot_ms = 100.5;
  // From the intended send: r0 waited 110 ms, r2 600 ms; only r1 (50 ms, tpot 100) is good.
  RunSummary s = Summary(HandMade(), Info(), slo);
  EXPECT_EQ(s.overall.goodput_requests, 1);
  EXPECT_NEAR(s.overall.goodput_rps, 1 / 4.99, kTol);
  EXPECT_NEAR(s.overall.goodput_fraction, 1.0 / 5, kTol);
  // From the actual send all three pass (r2 has one token: its TPOT counts as 0, as in vLLM).
  slo.from_intended = false;
  s = Summary(HandMade(), Info(), slo);
  EXPECT_EQ(s.overall.goodput_requests, 3);
  EXPECT_NEAR(s.overall.goodput_fraction, 3.0 / 5, kTol);
  // E2E alone, 300 ms from the actual send: r1 (250) and r2 (200).
  Slo e2e;
  e2e.e2e_ms = 300;
  e2e.from_intended = false;
  EXPECT_EQ(Summary(HandMade(), Info(), e2e).overall.goodput_requests, 2);
  // A TTFT objective fails a request that never produced content to time.
  std::vector<RequestRecord> rs = HandMade();
  rs[1].first_content_s.reset();
  EXPECT_EQ(Summary(rs, Info(), Slo{.ttft_ms = 1000}).overall.goodput_requests, 2);
  // No SLO, no goodput.
  EXPECT_EQ(Summary(HandMade(), Info(), Slo{}).overall.goodput_requests, 0);
}

TEST(SummaryTest, RejectsBadSlos) {
  EXPECT_TRUE(Summarize({}, Info(), Slo{.ttft_ms = -1}).status().IsInvalidArgument());
  EXPECT_TRUE(Summarize({}, Info(), Slo{.e2e_ms = NAN}).status().IsInvalidArgument());
  RunInfo info = Info();
  info.step_rates_rps = {1, -1};
  EXPECT_TRUE(Summarize({}, info, Slo{}).status().IsInvalidArgument());
}

void ExpectNoNonFinite(const std::string& text) {
  for (const char* bad : {"nan", "NaN", "inf", "Infinity"}) {
    EXPECT_EQ(text.find(bad), std::string::npos) << bad << " in:\n" << text;
  }
}

TEST(SummaryTest, AllFailedRunStillSummarized) {
  std::vector<RequestRecord> rs;
  rs.push_back(Failed(0, 0, 0, 0, 0.001, ErrorClass::kRefused, 0));
  rs.push_back(Failed(1, 0, 1, 1, 1.5, ErrorClass::kHttp5xx, 503));
  RequestRecord cut = Failed(2, 0, 2, 2, 2.5, ErrorClass::kClosedMidStream, 200);
  cut.first_content_s = 2.1;  // content arrived, but the request failed: no latency from it
  cut.chunk_times_s = {0.1, 0.2};
  rs.push_back(cut);
  const RunSummary s = Summary(rs, Info(), Slo{.ttft_ms = 500});
  EXPECT_EQ(s.overall.requests, 3);
  EXPECT_EQ(s.overall.completed, 0);
  EXPECT_EQ(s.overall.failed, 3);
  EXPECT_NEAR(s.overall.duration_s, 2.5, kTol);
  EXPECT_EQ(s.overall.request_throughput_rps, 0);
  EXPECT_EQ(s.overall.goodput_fraction, 0);
  for (Metric m : kAllMetrics) {
    EXPECT_EQ(s.overall.Get(m).count, m == Metric::kScheduleLag ? 3 : 0) << MetricName(m);
  }
  EXPECT_EQ(s.overall.Errors(ErrorClass::kRefused), 1);
  EXPECT_EQ(s.overall.Errors(ErrorClass::kHttp5xx), 1);
  EXPECT_EQ(s.overall.Errors(ErrorClass::kClosedMidStream), 1);

  const std::string table = RenderSummaryTable(s);
  const std::string json = RenderSummaryJson(s);
  const std::string csv = RenderSummaryCsv(s);
  EXPECT_NE(table.find("n/a"), std::string::npos);
  ExpectNoNonFinite(table);
  ExpectNoNonFinite(json);
  ExpectNoNonFinite(csv);
  const nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["overall"]["completed"], 0);
  EXPECT_TRUE(j["overall"]["distributions_ms"]["ttft"]["mean"].is_null());
  EXPECT_EQ(j["overall"]["distributions_ms"]["ttft"]["count"], 0);
  EXPECT_EQ(j["overall"]["errors"]["closed_mid_stream"], 1);
  EXPECT_EQ(j["overall"]["errors"]["in_stream"], 0);

  // And with no records at all.
  const RunSummary empty = Summary({}, Info(), Slo{});
  EXPECT_EQ(empty.overall.requests, 0);
  EXPECT_EQ(empty.overall.duration_s, 0);
  ExpectNoNonFinite(RenderSummaryTable(empty));
  ExpectNoNonFinite(RenderSummaryJson(empty));
  ExpectNoNonFinite(RenderSummaryCsv(empty));
}

TEST(SummaryTest, NonFiniteTimesAreLeftOut) {
  // An engine bug could hand over NaN or infinite times; they must not reach any statistic.
  std::vector<RequestRecord> rs = HandMade();
  rs[0].first_content_s = NAN;
  rs[1].chunk_times_s.push_back(INFINITY);
  rs[3].send_s = NAN;
  const RunSummary s = Summary(rs, Info(), Slo{.ttft_ms = 1000});
  EXPECT_EQ(s.overall.requests, 5);
  EXPECT_EQ(s.overall.Get(Metric::kTtft).count, 2);  // r1 and r2
  EXPECT_EQ(s.overall.Get(Metric::kItl).count, 5);   // r1's gap to infinity is left out
  EXPECT_EQ(s.overall.Get(Metric::kScheduleLag).count, 4);
  EXPECT_NEAR(s.overall.duration_s, 4.99, kTol);
  EXPECT_EQ(s.overall.max_concurrency, 2);  // r3 is out of the sweep-line
  ExpectNoNonFinite(RenderSummaryTable(s));
  ExpectNoNonFinite(RenderSummaryJson(s));
  ExpectNoNonFinite(RenderSummaryCsv(s));
}

TEST(SummaryTest, CsvStartsWithTheSeedColumns) {
  // The seed's --summary-file columns, in order (load-testing.md §1.7, from exalsius/rca-llm
  // llm-benchmark/main.py: snake_case keys title-cased by pretty_name()).
  const std::vector<std::string> seed = {"Provider",          "Model",       "Prompt Tokens",
                                         "Generation Tokens", "Stream",      "Temperature",
                                         "Logprobs",          "Concurrency", "Time To First Token",
                                         "Latency Per Token", "Num Tokens",  "Total Latency",
                                         "Num Requests",      "Qps"};
  const std::vector<std::string> cols = SummaryCsvColumns();
  ASSERT_GT(cols.size(), seed.size());
  EXPECT_EQ(std::vector<std::string>(cols.begin(), cols.begin() + 14), seed);
  const std::set<std::string> unique(cols.begin(), cols.end());
  EXPECT_EQ(unique.size(), cols.size());  // no column name twice

  RunInfo info = Info();
  info.step_rates_rps = {1.0, 2.0};
  const RunSummary s = Summary(HandMade(), info, Slo{.ttft_ms = 100});
  const std::vector<std::string> lines = Split(RenderSummaryCsv(s), '\n');
  ASSERT_EQ(lines.size(), 5u);  // header, whole run, 2 steps, and "" after the final newline
  EXPECT_EQ(lines[0], Join(cols, ","));
  EXPECT_EQ(lines[4], "");
  const std::vector<std::string> row = Split(lines[1], ',');
  ASSERT_EQ(row.size(), cols.size());
  const auto field = [&](const std::string& name) {
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i] == name) return row[i];
    }
    ADD_FAILURE() << "no column " << name;
    return std::string();
  };
  EXPECT_EQ(field("Provider"), "vllm");
  EXPECT_EQ(field("Prompt Tokens"), "13.333333333333334");  // measured mean 40 / 3
  EXPECT_EQ(field("Generation Tokens"), "256");
  EXPECT_EQ(field("Stream"), "True");      // Python's str(True)
  EXPECT_EQ(field("Temperature"), "1.0");  // Python's str(1.0)
  EXPECT_EQ(field("Concurrency"), "QPS 5.0 constant");
  EXPECT_NEAR(ParseDouble(field("Time To First Token")).value(), 250.0 / 3, 1e-6);
  EXPECT_NEAR(ParseDouble(field("Latency Per Token")).value(), (80 + 200.0 / 3 + 100) / 3, 1e-6);
  EXPECT_EQ(field("Num Tokens"), "3.0");  // 9 tokens over 3 completed requests
  EXPECT_NEAR(ParseDouble(field("Total Latency")).value(), 950.0 / 3, 1e-6);
  EXPECT_EQ(field("Num Requests"), "3");
  EXPECT_NEAR(ParseDouble(field("Qps")).value(), 3 / 4.99, 1e-12);
  EXPECT_EQ(field("step"), "all");
  EXPECT_EQ(field("errors_http_429"), "1");
  EXPECT_EQ(field("errors_refused"), "0");
  EXPECT_EQ(field("goodput_requests"), "1");
  EXPECT_EQ(field("ttft_count"), "3");
  EXPECT_EQ(Split(lines[2], ',')[14], "0");  // step column of the first step row

  // Without streaming the seed leaves TTFT and per-token latency blank.
  info.stream = false;
  const std::vector<std::string> no_stream =
      Split(Split(RenderSummaryCsv(Summary(HandMade(), info, Slo{})), '\n')[1], ',');
  EXPECT_EQ(no_stream[8], "");
  EXPECT_EQ(no_stream[9], "");
  EXPECT_EQ(no_stream[4], "False");
}

TEST(SummaryTest, JsonAndTableCarryTheDefinitions) {
  RunInfo info = Info();
  info.step_rates_rps = {1.0, 2.0};
  const RunSummary s = Summary(HandMade(), info, Slo{.tpot_ms = 50});
  const nlohmann::json j = nlohmann::json::parse(RenderSummaryJson(s));
  EXPECT_EQ(j["run"]["provider"], "vllm");
  EXPECT_EQ(j["slo"]["tpot_ms"], 50.0);
  EXPECT_TRUE(j["slo"]["ttft_ms"].is_null());
  EXPECT_EQ(j["overall"]["completed"], 3);
  EXPECT_EQ(j["overall"]["max_concurrency"], 3);
  EXPECT_EQ(j["overall"]["distributions_ms"]["itl"]["count"], 5);
  EXPECT_NEAR(j["overall"]["distributions_ms"]["itl"]["mean"].get<double>(), 120, 1e-9);
  EXPECT_EQ(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][1]["step"], 1);
  EXPECT_EQ(j["overall"]["errors"].size(), std::size(kAllErrorClasses) - 1);  // all but "none"
  const std::string table = RenderSummaryTable(s);
  std::set<std::string_view> names;
  for (Metric m : kAllMetrics) {
    names.insert(MetricName(m));
    EXPECT_FALSE(MetricDefinition(m).empty());
    EXPECT_EQ(j["definitions"][std::string(MetricName(m))], std::string(MetricDefinition(m)));
    EXPECT_NE(table.find(std::string(MetricDefinition(m))), std::string::npos);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kNumMetrics));
  EXPECT_NE(table.find("step 1 (2 req/s)"), std::string::npos);
}

TEST(SummaryTest, BuilderMatchesTheSpanHelper) {
  Result<SummaryBuilder> builder = SummaryBuilder::Create(Info(), Slo{});
  ASSERT_TRUE(builder.ok());
  for (const RequestRecord& r : HandMade()) builder->Add(r);
  const RunSummary a = builder->Build();
  const RunSummary b = Summary(HandMade(), Info(), Slo{});
  EXPECT_EQ(RenderSummaryJson(a), RenderSummaryJson(b));
}

}  // namespace
}  // namespace llmrca::load
