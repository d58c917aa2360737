#include "sim/serve_engine.h"

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace llmrca::sim
