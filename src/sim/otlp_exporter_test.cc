#include "sim/otlp_exporter.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net/http_server.h"
#include "net/test_client.h"

namespace llmrca::sim {
namespace {

using Json = nlohmann::json;

// A stand-in OpenTelemetry collector: keeps the bodies POSTed to /v1/traces.
struct Collector {
  std::mutex mu;
  std::vector<std::string> bodies;
  std::unique_ptr<net::HttpServer> server;

  Collector() {
    auto s = net::HttpServer::Start({}, [this](net::HttpRequest r, net::Responder w) {
      if (r.head.method == "POST" && r.head.path == "/v1/traces" &&
          r.head.Field("content-type") == "application/json") {
        std::lock_guard<std::mutex> lock(mu);
        bodies.push_back(r.body);
        w.Send(200, "application/json", "{}");
      } else {
        w.Send(404, "text/plain", "no");
      }
    });
    EXPECT_TRUE(s.ok());
    server = std::move(s).value();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/v1/traces", server->port()); }
  int SpansReceived() {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (const std::string& b : bodies) {
      n += static_cast<int>(Json::parse(b)["resourceSpans"][0]["scopeSpans"][0]["spans"].size());
    }
    return n;
  }
};

Span NamedSpan(const std::string& name) {
  std::mt19937_64 rng(std::hash<std::string>{}(name));
  Span s;
  s.trace_id = NewTraceId(rng);
  s.span_id = NewSpanId(rng);
  s.name = name;
  s.start_unix_ns = 1;
  s.end_unix_ns = 2;
  return s;
}

TEST(SpanExporterTest, PostsBatchesToTheCollectorAndFlushesOnStop) {
  Collector c;
  SpanExporterOptions o;
  o.url = c.url();
  o.service_name = "ray-head";
  o.max_batch = 2;
  o.period = std::chrono::milliseconds(20);
  auto e = SpanExporter::Start(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  for (int i = 0; i < 5; ++i) (*e)->Add(NamedSpan(fmt::format("s{}", i)));
  e->reset();  // flushes what is queued
  EXPECT_EQ(c.SpansReceived(), 5);
  std::lock_guard<std::mutex> lock(c.mu);
  EXPECT_GE(c.bodies.size(), 3u);  // at most 2 spans a batch
  const Json first = Json::parse(c.bodies[0]);
  EXPECT_EQ(first["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "ray-head");
}

TEST(SpanExporterTest, AnAbsentCollectorCostsTheSpansNotTheCaller) {
  SpanExporterOptions o;
  o.url = fmt::format("http://127.0.0.1:{}/v1/traces", net::test_support::UnusedLoopbackPort());
  o.period = std::chrono::milliseconds(10);
  auto e = SpanExporter::Start(o);
  ASSERT_TRUE(e.ok());
  for (int i = 0; i < 3; ++i) (*e)->Add(NamedSpan("x"));
  SpanExporterStats st;
  for (int i = 0; i < 400 && st.dropped < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    st = (*e)->stats();
  }
  EXPECT_EQ(st.dropped, 3);
  EXPECT_EQ(st.exported, 0);
  EXPECT_GE(st.failed_posts, 1);
  EXPECT_NE(st.last_error.find("POST http://127.0.0.1:"), std::string::npos) << st.last_error;
  SpanExporterOptions no_scheme;
  no_scheme.url = "127.0.0.1:4318";
  EXPECT_FALSE(SpanExporter::Start(no_scheme).ok());
}

}  // namespace
}  // namespace llmrca::sim
