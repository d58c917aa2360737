#include "sim/router.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/test_client.h"
#include "sim/serve_engine.h"
#include "sim/testing/serve_test_util.h"

namespace llmrca::sim {
namespace {

using net::test_support::Client;
using net::test_support::UnusedLoopbackPort;
using test_support::Events;
using test_support::Post;
using Json = nlohmann::json;

std::unique_ptr<ServeEngine> StartEngine(const std::string& name) {
  ServeEngineOptions o;
  o.name = name;
  o.engine.model = *FindModelProfile("llama-3-8b");
  o.engine.gpu = *FindGpuProfile("h100");
  o.engine.max_model_len = 4096;
  auto s = ServeEngine::Start(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::string Url(int port) { return fmt::format("http://127.0.0.1:{}", port); }

std::string Get(std::string_view path) { return fmt::format("GET {} HTTP/1.1\r\n\r\n", path); }

// The value of the sample `series` (name and labels exactly as written) in a metrics text.
double Sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(PowerOfTwoChoicesTest, PicksTheLessLoadedOfTwoEligibleReplicas) {
  std::mt19937_64 rng(5);
  const std::array<int, 3> one_busy = {5, -1, 2};  // replica 1 cannot take it
  const std::array<int, 2> none = {-1, -1};
  const std::array<int, 2> only = {-1, 7};
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(PowerOfTwoChoices(one_busy, rng), 2);
    EXPECT_EQ(PowerOfTwoChoices(none, rng), -1);
    EXPECT_EQ(PowerOfTwoChoices(only, rng), 1);
  }
}

TEST(PowerOfTwoChoicesTest, ChoiceFrequenciesMatchTheTwoDrawRule) {
  // Loads {0, 1, 2}: the three pairs are equally likely. Replica 0 wins both pairs it is in
  // (2/3), replica 1 wins {1, 2} (1/3), replica 2 never wins. Equal loads: 1/3 each.
  std::mt19937_64 rng(11);
  const std::array<int, 3> load = {0, 1, 2};
  const std::array<int, 3> equal = {4, 4, 4};
  std::array<int, 3> wins{}, wins_equal{};
  const int n = 30000;
  for (int i = 0; i < n; ++i) {
    ++wins[static_cast<size_t>(PowerOfTwoChoices(load, rng))];
    ++wins_equal[static_cast<size_t>(PowerOfTwoChoices(equal, rng))];
  }
  EXPECT_NEAR(wins[0] / double(n), 2.0 / 3, 0.02);
  EXPECT_NEAR(wins[1] / double(n), 1.0 / 3, 0.02);
  EXPECT_EQ(wins[2], 0);
  for (int w : wins_equal) EXPECT_NEAR(w / double(n), 1.0 / 3, 0.02);
}

TEST(RouterTest, ParsesBackends) {
  auto a = ParseRouterBackend("http://127.0.0.1:8001/", 2);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "ray-replicas-2");
  EXPECT_EQ(a->url, "http://127.0.0.1:8001");
  auto b = ParseRouterBackend("gpu-a=http://10.0.0.2:9000", 0);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->name, "gpu-a");
  EXPECT_EQ(b->url, "http://10.0.0.2:9000");
  EXPECT_FALSE(ParseRouterBackend("127.0.0.1:8001", 0).ok());
  EXPECT_FALSE(ParseRouterBackend("http://127.0.0.1", 0).ok());
  EXPECT_FALSE(ParseRouterBackend("http://127.0.0.1:0", 0).ok());
  EXPECT_FALSE(ParseRouterBackend("https://127.0.0.1:443", 0).ok());
  EXPECT_FALSE(Router::Start(RouterOptions{}).ok());  // no backends
}

TEST(RouterTest, ForwardsStreamsAndWholeAnswersAndCountsThemInRayServeMetrics) {
  auto e0 = StartEngine("ray-replicas-0");
  auto e1 = StartEngine("ray-replicas-1");
  ASSERT_TRUE(e0 && e1);
  RouterOptions o;
  o.backends = {{"ray-replicas-0", Url(e0->port())}, {"ray-replicas-1", Url(e1->port())}};
  auto r = Router::Start(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Client c((*r)->port());
  ASSERT_TRUE(c.Send(Post("/v1/completions",
                          R"({"prompt":"hello","max_tokens":12,"stream":true,)"
                          R"("stream_options":{"include_usage":true}})")));
  auto s = c.Read();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, 200);
  EXPECT_NE(s->head.find("Content-Type: text/event-stream"), std::string::npos);
  const std::vector<std::string> ev = Events(s->body);
  ASSERT_EQ(ev.size(), 14u);  // 12 tokens, usage, [DONE]
  EXPECT_EQ(ev.back(), "[DONE]");
  EXPECT_EQ(Json::parse(ev[12])["usage"]["completion_tokens"], 12);
  EXPECT_GE(s->chunk_times.size(), 2u);  // passed on as it came, not buffered

  ASSERT_TRUE(c.Send(Post("/v1/chat/completions",
                          R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":2})")));
  auto w = c.Read();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->status, 200);
  EXPECT_NE(w->head.find("Content-Length: "), std::string::npos);
  EXPECT_EQ(Json::parse(w->body)["choices"][0]["message"]["content"], "The quick");

  ASSERT_TRUE(c.Send(Post("/v1/completions", R"({"max_tokens":3})")));  // the engine's 400
  auto bad = c.Read();
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 400);

  ASSERT_TRUE(c.Send(Get("/-/healthz")));
  auto h = c.Read();
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->body, "success");

  ASSERT_TRUE(c.Send(Get("/metrics")));
  auto m = c.Read();
  ASSERT_TRUE(m.has_value());
  const std::string& t = m->body;
  EXPECT_EQ(Sample(t, R"(ray_serve_num_http_requests_total{route="/",method="POST",)"
                      R"(application="default",status_code="200"})"),
            2);
  EXPECT_EQ(Sample(t, R"(ray_serve_num_http_error_requests_total{route="/",error_code="400",)"
                      R"(method="POST",application="default"})"),
            1);
  EXPECT_EQ(Sample(t, R"(ray_serve_num_router_requests_total{deployment="VLLMDeployment",)"
                      R"(route="/",application="default",handle="proxy",actor_id="ray-head"})"),
            3);
  EXPECT_EQ(Sample(t, R"(ray_serve_num_ongoing_http_requests{node_id="ray-head",)"
                      R"(node_ip_address="127.0.0.1"})"),
            0);
  const double served =
      Sample(t, R"(ray_serve_deployment_request_counter_total{deployment="VLLMDeployment",)"
                R"(replica="ray-replicas-0",route="/",application="default"})") +
      Sample(t, R"(ray_serve_deployment_request_counter_total{deployment="VLLMDeployment",)"
                R"(replica="ray-replicas-1",route="/",application="default"})");
  EXPECT_EQ(served, 3);
  EXPECT_NE(t.find("ray_serve_deployment_processing_latency_ms_bucket{deployment=\"VLLMDeployment\","
                   "replica=\"ray-replicas-0\",route=\"/\",application=\"default\",le=\"600000.0\"}"),
            std::string::npos);
}

TEST(RouterTest, RetriesARefusedConnectionOnAnotherReplicaAndSkipsTheDeadOne) {
  auto live = StartEngine("ray-replicas-1");
  ASSERT_TRUE(live);
  RouterOptions o;
  o.backends = {{"dead", Url(UnusedLoopbackPort())}, {"live", Url(live->port())}};
  o.down_for = std::chrono::seconds(30);
  std::mutex mu;
  std::vector<std::string> lines;
  o.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  auto r = Router::Start(o);
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < 10; ++i) {
    Client c((*r)->port());
    ASSERT_TRUE(c.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":1})")));
    auto a = c.Read();
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->status, 200) << a->body;
  }
  const std::vector<RouterReplicaStats> st = (*r)->Replicas();
  // Two idle replicas tie and a tie goes to the first drawn, so each request may try the dead
  // one; with the router's seed it does on one of the ten, is refused, and is then skipped
  // for down_for while the request is retried on the live one.
  EXPECT_EQ(st[0].connect_failures, 1);
  EXPECT_EQ(st[1].requests, 10);
  EXPECT_EQ(st[1].errors, 0);
  r->reset();
  // Ray Serve's text format: level, date time,ms, component, host, request id, route, app,
  // file:line - message.
  const auto is_access = [](const std::string& line) {
    std::istringstream in(line);
    std::string level, date, time, component, host, id, route, app, where, dash, method, status,
        ms;
    in >> level >> date >> time >> component >> host >> id >> route >> app >> where >> dash >>
        method >> status >> ms;
    return level == "INFO" && date.size() == 10 && date[4] == '-' && time.size() == 12 &&
           time[8] == ',' && component == "proxy" && host == "127.0.0.1" && id.size() == 36 &&
           id[14] == '4' && route == "/" && app == "default" && where == "proxy.py:538" &&
           dash == "-" && method == "POST" && status == "200" && ms.size() > 4 &&
           ms.substr(ms.size() - 2) == "ms" && ms[ms.size() - 4] == '.' && in.eof();
  };
  int access_lines = 0, warnings = 0;
  for (const std::string& line : lines) {
    if (is_access(line)) ++access_lines;
    if (line.rfind("WARNING", 0) == 0 && line.find("Failed to reach replica dead") != std::string::npos) {
      ++warnings;
    }
  }
  EXPECT_EQ(access_lines, 10);
  EXPECT_EQ(warnings, 1);
  EXPECT_NE(lines.front().find("PowerOfTwoChoicesReplicaScheduler"), std::string::npos);
}

TEST(RouterTest, LogsOneJsonObjectPerLineWithRaysFields) {
  auto e = StartEngine("ray-replicas-0");
  ASSERT_TRUE(e);
  RouterOptions o;
  o.backends = {{"ray-replicas-0", Url(e->port())}};
  o.log_json = true;
  std::mutex mu;
  std::vector<std::string> lines;
  o.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  auto r = Router::Start(o);
  ASSERT_TRUE(r.ok());
  Client c((*r)->port());
  ASSERT_TRUE(c.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":1})")));
  ASSERT_TRUE(c.Read().has_value());
  r->reset();
  ASSERT_EQ(lines.size(), 3u);  // the router and replica lines at start, one access line
  const Json j = Json::parse(lines.back());
  EXPECT_EQ(j["levelname"], "INFO");
  EXPECT_EQ(j["deployment"], "VLLMDeployment");
  EXPECT_EQ(j["replica"], "ray-replicas-0");
  EXPECT_EQ(j["route"], "/");
  EXPECT_EQ(j["application"], "default");
  EXPECT_EQ(j["request_id"].get<std::string>().size(), 36u);
  EXPECT_TRUE(j["message"].get<std::string>().rfind("POST 200 ", 0) == 0) << j["message"];
}

TEST(RouterTest, AnswersServiceUnavailableWhenNoReplicaAnswers) {
  RouterOptions o;
  o.backends = {{"a", Url(UnusedLoopbackPort())}, {"b", Url(UnusedLoopbackPort())}};
  o.retries = 3;
  o.down_for = std::chrono::milliseconds(20);
  auto r = Router::Start(o);
  ASSERT_TRUE(r.ok());
  Client c((*r)->port());
  ASSERT_TRUE(c.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":1})")));
  auto a = c.Read();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 503);
  EXPECT_EQ(Json::parse(a->body)["code"], 503);
  const std::vector<RouterReplicaStats> st = (*r)->Replicas();
  EXPECT_EQ(st[0].connect_failures + st[1].connect_failures, 4);  // 1 try + 3 retries
}

TEST(RouterTest, QueuesBeyondMaxOngoingRequestsAndServesInOrder) {
  auto e = StartEngine("ray-replicas-0");
  ASSERT_TRUE(e);
  RouterOptions o;
  o.backends = {{"ray-replicas-0", Url(e->port())}};
  o.max_ongoing_requests = 1;
  auto r = Router::Start(o);
  ASSERT_TRUE(r.ok());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>((*r)->port()));
    ASSERT_TRUE(clients.back()->Send(
        Post("/v1/completions", R"({"prompt":"x","max_tokens":40,"stream":true})")));
  }
  // 40 decode steps take > 250 ms on the h100 profile: meanwhile one request is at the
  // replica and two wait at the router.
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    seen = (*r)->queued() == 2 && (*r)->Replicas()[0].ongoing == 1;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(seen);
  EXPECT_LE((*r)->Replicas()[0].ongoing, 1);
  for (auto& c : clients) {
    auto a = c->Read(std::chrono::seconds(20));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(Events(a->body).size(), 41u);
  }
  EXPECT_EQ((*r)->queued(), 0);
  EXPECT_EQ((*r)->Replicas()[0].requests, 3);
}

TEST(RouterTest, SpreadsConcurrentStreamsAndReleasesAClientThatLeaves) {
  auto e0 = StartEngine("ray-replicas-0");
  auto e1 = StartEngine("ray-replicas-1");
  auto e2 = StartEngine("ray-replicas-2");
  ASSERT_TRUE(e0 && e1 && e2);
  RouterOptions o;
  o.backends = {{"r0", Url(e0->port())}, {"r1", Url(e1->port())}, {"r2", Url(e2->port())}};
  auto r = Router::Start(o);
  ASSERT_TRUE(r.ok());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 30; ++i) {
    clients.push_back(std::make_unique<Client>((*r)->port()));
    ASSERT_TRUE(clients.back()->Send(
        Post("/v1/completions", R"({"prompt":"x","max_tokens":300,"stream":true})")));
  }
  // Wait until all 30 are at replicas (300 tokens take seconds; none finishes meanwhile).
  std::vector<RouterReplicaStats> st;
  for (int i = 0; i < 500; ++i) {
    st = (*r)->Replicas();
    if (st[0].ongoing + st[1].ongoing + st[2].ongoing == 30) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(st[0].ongoing + st[1].ongoing + st[2].ongoing, 30);
  // Each choice takes the less loaded of two, so loads cannot drift apart: with sequential
  // arrivals and no completions, the spread stays within a few requests of 10 each.
  for (const RouterReplicaStats& s : st) {
    EXPECT_GE(s.ongoing, 7) << s.name;
    EXPECT_LE(s.ongoing, 13) << s.name;
  }
  clients.clear();  // every client leaves mid-stream
  for (int i = 0; i < 500; ++i) {
    st = (*r)->Replicas();
    if (st[0].ongoing + st[1].ongoing + st[2].ongoing == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(st[0].ongoing + st[1].ongoing + st[2].ongoing, 0);
  EXPECT_EQ(st[0].requests + st[1].requests + st[2].requests, 30);
}

TEST(RouterTest, OneTraceLinksTheClientTheRouterAndTheEngine) {
  std::mutex mu;
  std::vector<Span> spans;
  const auto collect = [&](Span span) {
    std::lock_guard<std::mutex> lock(mu);
    spans.push_back(std::move(span));
  };
  ServeEngineOptions eo;
  eo.name = "ray-replicas-0";
  eo.engine.model = *FindModelProfile("llama-3-8b");
  eo.engine.gpu = *FindGpuProfile("h100");
  eo.engine.max_model_len = 4096;
  eo.on_span = collect;
  auto e = ServeEngine::Start(eo);
  ASSERT_TRUE(e.ok());
  RouterOptions o;
  o.backends = {{"ray-replicas-0", Url((*e)->port())}};
  o.on_span = collect;
  auto r = Router::Start(o);
  ASSERT_TRUE(r.ok());
  Client c((*r)->port());
  const std::string body = R"({"prompt":"hello","max_tokens":5,"stream":true})";
  // The client's own span: the W3C specification's example context.
  ASSERT_TRUE(c.Send(fmt::format(
      "POST /v1/completions HTTP/1.1\r\nContent-Length: {}\r\n"
      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n{}",
      body.size(), body)));
  auto a = c.Read();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 200);
  r->reset();
  e->reset();
  ASSERT_EQ(spans.size(), 3u);
  const Span* server = nullptr;
  const Span* client = nullptr;
  const Span* engine = nullptr;
  for (const Span& s : spans) {
    if (s.name == "POST /v1/completions") server = &s;
    if (s.name == "POST") client = &s;
    if (s.name == "llm_request") engine = &s;
  }
  ASSERT_TRUE(server && client && engine);
  const TraceContext caller =
      *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  for (const Span* s : {server, client, engine}) EXPECT_EQ(s->trace_id, caller.trace_id);
  EXPECT_EQ(server->parent_span_id, caller.span_id);
  EXPECT_EQ(server->kind, SpanKind::kServer);
  EXPECT_EQ(client->parent_span_id, server->span_id);
  EXPECT_EQ(client->kind, SpanKind::kClient);
  EXPECT_EQ(engine->parent_span_id, client->span_id);
  EXPECT_EQ(engine->kind, SpanKind::kServer);
  EXPECT_LE(server->start_unix_ns, client->start_unix_ns);
  EXPECT_LE(client->start_unix_ns, engine->start_unix_ns);
  EXPECT_LE(engine->end_unix_ns, server->end_unix_ns);
  bool tokens = false;
  for (const auto& [key, value] : engine->attributes) {
    if (key == "gen_ai.usage.completion_tokens") tokens = std::get<int64_t>(value) == 5;
  }
  EXPECT_TRUE(tokens);
  EXPECT_FALSE(server->error || client->error || engine->error);
}

}  // namespace
}  // namespace llmrca::sim
