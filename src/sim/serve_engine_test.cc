#include "sim/serve_engine.h"

#include <sched.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/subprocess.h"
#include "net/test_client.h"
#include "sim/testing/serve_test_util.h"

namespace llmrca::sim {
namespace {

using net::test_support::Client;
using test_support::Events;
using test_support::Post;
using Json = nlohmann::json;

ServeEngineOptions Options() {
  ServeEngineOptions o;
  o.engine.model = *FindModelProfile("llama-3-8b");
  o.engine.gpu = *FindGpuProfile("h100");
  o.engine.max_model_len = 4096;
  return o;
}

TEST(ServeEngineTest, StreamsACompletionInVllmsWireFormatWithUsageAndDone) {
  auto s = ServeEngine::Start(Options());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Client c((*s)->port());
  ASSERT_TRUE(c.Send(Post("/v1/completions",
                          R"({"model":"llama-3-8b","prompt":"0123456789abcdef","max_tokens":20,)"
                          R"("stream":true,"stream_options":{"include_usage":true}})")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->head.find("Content-Type: text/event-stream"), std::string::npos);
  const std::vector<std::string> ev = Events(r->body);
  ASSERT_EQ(ev.size(), 22u);  // 20 tokens, the usage chunk, [DONE]
  std::string text;
  for (int i = 0; i < 20; ++i) {
    const Json j = Json::parse(ev[static_cast<size_t>(i)]);
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["model"], "llama-3-8b");
    text += j["choices"][0]["text"].get<std::string>();
    EXPECT_EQ(j["choices"][0]["finish_reason"], i == 19 ? Json("length") : Json(nullptr));
  }
  EXPECT_EQ(text.substr(0, 25), "The quick brown fox jumps");
  const Json usage = Json::parse(ev[20]);
  EXPECT_TRUE(usage["choices"].empty());
  // 16 prompt bytes at 4 bytes a token: 4 prompt tokens.
  EXPECT_EQ(usage["usage"], Json::parse(R"({"prompt_tokens":4,"completion_tokens":20,"total_tokens":24})"));
  EXPECT_EQ(ev[21], "[DONE]");
  // Tokens come one engine step apart (~6.9 ms by the roofline, see live_engine_test.cc), not
  // in one burst: 19 steps, ~130 ms, from the first chunk to the last. Asserted with room for a
  // test thread that reads late on a loaded machine.
  ASSERT_GE(r->chunk_times.size(), 2u);
  const double spread_ms = std::chrono::duration<double, std::milli>(
                               r->chunk_times.back() - r->chunk_times.front()).count();
  EXPECT_GT(spread_ms, 60.0);
}

TEST(ServeEngineTest, AnswersChatWholeAndCountsItInTheMetrics) {
  auto s = ServeEngine::Start(Options());
  ASSERT_TRUE(s.ok());
  Client c((*s)->port());
  ASSERT_TRUE(c.Send(Post("/v1/chat/completions",
                          R"({"messages":[{"role":"user","content":"Hello there!"}],"max_tokens":3})")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  const Json j = Json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "The quick brown");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 3);  // 12 bytes

  ASSERT_TRUE(c.Send("GET /metrics HTTP/1.1\r\n\r\n"));
  auto m = c.Read();
  ASSERT_TRUE(m.has_value());
  const std::string l = "{model_name=\"llama-3-8b\",engine=\"0\"}";
  EXPECT_NE(m->body.find("vllm:generation_tokens_total" + l + " 3.0\n"), std::string::npos);
  EXPECT_NE(m->body.find("vllm:prompt_tokens_total" + l + " 3.0\n"), std::string::npos);
  EXPECT_NE(m->body.find("vllm:e2e_request_latency_seconds_count" + l + " 1.0\n"), std::string::npos);
  EXPECT_NE(m->body.find("DCGM_FI_DEV_SM_CLOCK{gpu=\"0\""), std::string::npos);
}

TEST(ServeEngineTest, BadRequestsGetVllmStyleErrors) {
  auto s = ServeEngine::Start(Options());
  ASSERT_TRUE(s.ok());
  const std::pair<std::string, int> cases[] = {
      {Post("/v1/completions", "{not json"), 400},
      {Post("/v1/completions", R"({"max_tokens":3})"), 400},
      {Post("/v1/completions", R"({"prompt":"x","max_tokens":0})"), 400},
      {Post("/v1/completions", R"({"prompt":"x","max_tokens":5000})"), 400},
      {Post("/v1/chat/completions", R"({"messages":[]})"), 400},
      {Post("/v1/completions", R"({"model":"other","prompt":"x"})"), 404},
      {"GET /nowhere HTTP/1.1\r\n\r\n", 404},
  };
  for (const auto& [request, status] : cases) {
    Client c((*s)->port());
    ASSERT_TRUE(c.Send(request));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << request;
    EXPECT_EQ(r->status, status) << request;
    const Json j = Json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    EXPECT_EQ(j["object"], "error");
    EXPECT_EQ(j["code"], status);
  }
}

TEST(ServeEngineTest, ManyConcurrentStreamsAllComplete) {
  auto s = ServeEngine::Start(Options());
  ASSERT_TRUE(s.ok());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<Client>((*s)->port()));
    ASSERT_TRUE(clients.back()->Send(
        Post("/v1/completions", R"({"prompt":"hello","max_tokens":8,"stream":true})")));
  }
  for (auto& c : clients) {
    auto r = c->Read(std::chrono::milliseconds(20000));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(Events(r->body).size(), 9u);  // 8 tokens and [DONE]
  }
  EXPECT_EQ((*s)->http().stats().responses_in_flight, 0);
}

// The value of the first sample of `name` whose line contains `has`; -1 when none.
double MetricValue(const std::string& text, const std::string& name, const std::string& has = "") {
  size_t pos = 0;
  while ((pos = text.find("\n" + name + "{", pos)) != std::string::npos) {
    const size_t eol = text.find('\n', pos + 1);
    const std::string line = text.substr(pos + 1, eol - pos - 1);
    if (line.find(has) != std::string::npos) return std::stod(line.substr(line.rfind(' ') + 1));
    pos = eol;
  }
  return -1;
}

std::string Control(int port, const std::string& request) {
  Client c(port);
  if (!c.Send(request)) return "";
  auto r = c.Read();
  return r ? std::to_string(r->status) + " " + r->body : "";
}

TEST(ServeEngineTest, APowerCapLowersTheSmClockAndPowerAndCountsViolationTime) {
  auto s = ServeEngine::Start(Options());
  ASSERT_TRUE(s.ok());
  const int port = (*s)->port();
  EXPECT_EQ(Control(port, "GET /control/gpu HTTP/1.1\r\n\r\n"),
            R"(200 {"contention":0.0,"power_cap_w":0.0,"xid":0})");
  EXPECT_EQ(Control(port, Post("/control/gpu", R"({"power_cap_w":200})")),
            R"(200 {"contention":0.0,"power_cap_w":200.0,"xid":0})");
  Client stream(port);
  ASSERT_TRUE(stream.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":100,"stream":true})")));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Client scrape(port);
  ASSERT_TRUE(scrape.Send("GET /metrics HTTP/1.1\r\n\r\n"));
  auto m = scrape.Read();
  ASSERT_TRUE(m.has_value());
  // A one-sequence decode step of llama-3-8b on an H100 is memory-bound: compute share ~0.003,
  // so it demands 90 + 610 x (0.5 + 0.45 x 0.003) = 396 W. Capped at 200 W the clock factor is
  // sqrt((200 - 90) / (396 - 90)) = 0.600: SM clock 1980 x 0.600 = 1188 MHz, power at the cap.
  const double clock = MetricValue(m->body, "DCGM_FI_DEV_SM_CLOCK");
  EXPECT_NEAR(clock, 1188, 15);
  EXPECT_EQ(MetricValue(m->body, "DCGM_FI_DEV_POWER_USAGE"), 200);
  EXPECT_GT(MetricValue(m->body, "DCGM_FI_DEV_POWER_VIOLATION"), 0);
  EXPECT_GT(MetricValue(m->body, "DCGM_FI_DEV_GPU_UTIL"), 50);
  auto done = stream.Read(std::chrono::seconds(20));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(Events(done->body).size(), 101u);

  EXPECT_THAT(Control(port, Post("/control/gpu", R"({"power_cap_w":150})")),
              ::testing::HasSubstr("rejected by the driver of h100"));
  EXPECT_THAT(Control(port, Post("/control/gpu", R"({"clock":1})")),
              ::testing::StartsWith("400 "));
  EXPECT_EQ(Control(port, "DELETE /control/gpu HTTP/1.1\r\n\r\n"),
            R"(200 {"contention":0.0,"power_cap_w":0.0,"xid":0})");
}

TEST(ServeEngineTest, AnXidFailsRequestsInFlightAndTheEngineUntilCleared) {
  auto s = ServeEngine::Start(Options());
  ASSERT_TRUE(s.ok());
  const int port = (*s)->port();
  Client streamed(port), whole(port);
  ASSERT_TRUE(streamed.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":500,"stream":true})")));
  ASSERT_TRUE(whole.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":500})")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_THAT(Control(port, Post("/control/gpu", R"({"xid":79})")), ::testing::StartsWith("200 "));
  auto a = streamed.Read();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 200);
  const std::vector<std::string> ev = Events(a->body);
  ASSERT_GE(ev.size(), 2u);
  EXPECT_LT(ev.size(), 500u);
  const Json last = Json::parse(ev.back());
  EXPECT_EQ(last["error"]["type"], "EngineDeadError");  // an error event, no [DONE]
  auto b = whole.Read();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->status, 500);
  EXPECT_THAT(Control(port, "GET /health HTTP/1.1\r\n\r\n"), ::testing::StartsWith("500 "));
  EXPECT_THAT(Control(port, Post("/v1/completions", R"({"prompt":"x","max_tokens":2})")),
              ::testing::HasSubstr("XID 79"));
  Client scrape(port);
  ASSERT_TRUE(scrape.Send("GET /metrics HTTP/1.1\r\n\r\n"));
  auto m = scrape.Read();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(MetricValue(m->body, "DCGM_FI_DEV_XID_ERRORS"), 79);
  EXPECT_EQ(MetricValue(m->body, "vllm:num_requests_running"), 0);

  EXPECT_THAT(Control(port, "DELETE /control/gpu HTTP/1.1\r\n\r\n"), ::testing::StartsWith("200 "));
  EXPECT_EQ(Control(port, "GET /health HTTP/1.1\r\n\r\n"), "200 {}");
  EXPECT_THAT(Control(port, Post("/v1/completions", R"({"prompt":"x","max_tokens":2})")),
              ::testing::StartsWith("200 "));
}

TEST(ServeEngineTest, AClientThatLeavesHasItsRequestAborted) {
  auto s = ServeEngine::Start(Options());
  ASSERT_TRUE(s.ok());
  {
    Client c((*s)->port());
    ASSERT_TRUE(c.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":3000,"stream":true})")));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }  // closed after ~10 of 3,000 tokens (3,000 would take > 20 s)
  double running = -1;
  for (int i = 0; i < 200 && running != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    running = MetricValue((*s)->MetricsText(), "vllm:num_requests_running");
  }
  EXPECT_EQ(running, 0);
  EXPECT_EQ(MetricValue((*s)->MetricsText(), "vllm:kv_cache_usage_perc"), 0);
}

// A busy process started by the test on the engine's CPU raises TTFT: the first token needs a
// prefill step whose CPU part (5 ms of scheduler work here) competes with four processes that
// never sleep. CFS then gives the engine thread about a fifth of the core, so the CPU part
// takes ~25 ms instead of 5 and TTFT (about 5 ms CPU + 1.5 ms prefill GPU time + HTTP) grows
// about fourfold. Asserted: at least 1.4x on the median of 5 requests.
TEST(ServeEngineTest, CpuContentionFromABusyProcessRaisesTtft) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  int cpu = -1;
  for (int k = 0; k < CPU_SETSIZE && cpu < 0; ++k) {
    if (CPU_ISSET(k, &allowed)) cpu = k;
  }
  ServeEngineOptions o = Options();
  o.engine.config.cpu_step_s = 5e-3;
  o.engine.cpu = cpu;
  auto s = ServeEngine::Start(o);
  ASSERT_TRUE(s.ok());
  const auto median_ttft_ms = [&] {
    std::vector<double> ttft;
    for (int i = 0; i < 5; ++i) {
      Client c((*s)->port());
      const auto sent = std::chrono::steady_clock::now();
      EXPECT_TRUE(c.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":2,"stream":true})")));
      auto r = c.Read(std::chrono::seconds(20));
      if (!r || r->chunk_times.empty()) return -1.0;
      ttft.push_back(std::chrono::duration<double, std::milli>(r->chunk_times[0] - sent).count());
    }
    std::sort(ttft.begin(), ttft.end());
    return ttft[2];
  };
  const double quiet = median_ttft_ms();
  std::vector<Subprocess> busy;
  for (int i = 0; i < 4; ++i) {
    auto p = Subprocess::Start({"taskset", "-c", std::to_string(cpu), "sh", "-c", "while :; do :; done"});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    busy.push_back(std::move(p).value());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the loops are running
  const double contended = median_ttft_ms();
  for (Subprocess& p : busy) p.Stop(std::chrono::seconds(2));
  ASSERT_GT(quiet, 0);
  EXPECT_GT(contended, 1.4 * quiet) << "quiet " << quiet << " ms, contended " << contended << " ms";
}

}  // namespace
}  // namespace llmrca::sim
