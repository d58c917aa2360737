#include "net/http_server.h"
#include "net/test_client.h"


#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::net {
namespace {

using Clock = std::chrono::steady_clock;
using test_support::Client;

std::unique_ptr<HttpServer> StartOrDie(HttpHandler handler, HttpServerOptions options = {}) {
  Result<std::unique_ptr<HttpServer>> s = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(HttpServerTest, AnswersWholeResponsesOnOneKeptAliveConnection) {
  auto server = StartOrDie([](HttpRequest req, Responder r) {
    r.Send(200, "text/plain", req.head.method + " " + req.head.path + " " + req.body,
           {{"X-Test", "1"}});
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"));
  auto a = c.Read();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "POST /echo hello");
  EXPECT_NE(a->head.find("X-Test: 1\r\n"), std::string::npos);
  EXPECT_NE(a->head.find("Connection: keep-alive\r\n"), std::string::npos);
  ASSERT_TRUE(c.Send("GET /two HTTP/1.1\r\n\r\n"));
  auto b = c.Read();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->body, "GET /two ");
  const HttpServerStats s = server->stats();
  EXPECT_EQ(s.connections_accepted, 1);
  EXPECT_EQ(s.requests, 2);
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = StartOrDie([](HttpRequest req, Responder r) { r.Send(200, "text/plain", req.head.path); });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.Send("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\nConnection: close\r\n\r\n"));
  for (const char* want : {"/1", "/2", "/3"}) {
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << want;
    EXPECT_EQ(r->body, want);
  }
  EXPECT_TRUE(c.ClosedByServer());  // the last asked for Connection: close
}

TEST(HttpServerTest, StreamsChunksWrittenFromAnotherThreadAsTheyAreWritten) {
  std::mutex mu;
  std::optional<Responder> pending;
  auto server = StartOrDie([&](HttpRequest, Responder r) {
    std::lock_guard<std::mutex> lock(mu);
    pending = r;
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.Send("POST /stream HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
  std::thread producer([&] {
    std::optional<Responder> r;
    while (!r) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::lock_guard<std::mutex> lock(mu);
      r = pending;
    }
    r->Start(200, "text/event-stream");
    for (int i = 0; i < 10; ++i) {
      r->Write("data: " + std::to_string(i) + "\n\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    r->End();
    r->Write("after the end: dropped");
  });
  auto resp = c.Read();
  producer.join();
  ASSERT_TRUE(resp.has_value());
  EXPECT_NE(resp->head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  std::string want;
  for (int i = 0; i < 10; ++i) want += "data: " + std::to_string(i) + "\n\n";
  EXPECT_EQ(resp->body, want);
  ASSERT_EQ(resp->chunk_times.size(), 10u);
  // Written 20 ms apart (180 ms from the first to the last), so they arrive spread out, not in
  // one burst at the end; the bound leaves room for a test thread that reads late.
  const double spread_ms =
      std::chrono::duration<double, std::milli>(resp->chunk_times[9] - resp->chunk_times[0]).count();
  EXPECT_GT(spread_ms, 100.0);
  EXPECT_EQ(server->stats().responses_in_flight, 0);
}

TEST(HttpServerTest, AClientThatGoesAwayMidStreamIsSeenAsClosed) {
  std::mutex mu;
  std::optional<Responder> pending;
  auto server = StartOrDie([&](HttpRequest, Responder r) {
    r.Start(200, "text/event-stream");
    std::lock_guard<std::mutex> lock(mu);
    pending = r;
  });
  ASSERT_NE(server, nullptr);
  {
    Client c(server->port());
    ASSERT_TRUE(c.Send("GET /s HTTP/1.1\r\n\r\n"));
    while (true) {
      std::lock_guard<std::mutex> lock(mu);
      if (pending) break;
    }
  }  // the client closes here
  std::optional<Responder> r;
  {
    std::lock_guard<std::mutex> lock(mu);
    r = pending;
  }
  const Clock::time_point until = Clock::now() + std::chrono::seconds(5);
  while (!r->closed() && Clock::now() < until) {
    r->Write("data: x\n\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(r->closed());
}

TEST(HttpServerTest, ProtocolErrorsAreAnsweredAndTheConnectionClosed) {
  HttpServerOptions o;
  o.max_head_bytes = 256;
  o.max_body_bytes = 100;
  std::atomic<int> handled{0};
  auto server = StartOrDie([&](HttpRequest, Responder r) {
    ++handled;
    r.Send(200, "text/plain", "");
  }, o);
  ASSERT_NE(server, nullptr);
  const std::pair<std::string, int> cases[] = {
      {"NONSENSE\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n", 431},
      {"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
  };
  for (const auto& [request, status] : cases) {
    Client c(server->port());
    ASSERT_TRUE(c.Send(request));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << status;
    EXPECT_EQ(r->status, status);
    EXPECT_NE(r->body.find("\"code\":" + std::to_string(status)), std::string::npos) << r->body;
    EXPECT_TRUE(c.ClosedByServer()) << status;
  }
  EXPECT_EQ(handled.load(), 0);
}

TEST(HttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  auto server = StartOrDie([](HttpRequest req, Responder r) { r.Send(200, "text/plain", req.body); });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.Send("POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(c.Send("abc"));
  auto r = c.Read();  // Read() skips the 100
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "abc");
}

TEST(HttpServerTest, StopEndsStreamsAndLaterWritesAreHarmless) {
  std::optional<Responder> kept;
  auto server = StartOrDie([&](HttpRequest, Responder r) {
    r.Start(200, "text/event-stream");
    kept = r;
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\n\r\n"));
  const Clock::time_point until = Clock::now() + std::chrono::seconds(5);
  while (server->stats().responses_in_flight == 0 && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server->Stop();
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(kept->closed());
  kept->Write("data: late\n\n");
  kept->End();
  EXPECT_TRUE(c.ClosedByServer());
}

TEST(HttpServerTest, APortInUseIsAClearError) {
  auto first = StartOrDie([](HttpRequest, Responder r) { r.Send(204, "text/plain", ""); });
  ASSERT_NE(first, nullptr);
  HttpServerOptions o;
  o.port = first->port();
  Result<std::unique_ptr<HttpServer>> second =
      HttpServer::Start(o, [](HttpRequest, Responder) {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(std::to_string(o.port)), std::string::npos);
  o.host = "not-an-address";
  o.port = 0;
  EXPECT_TRUE(HttpServer::Start(o, [](HttpRequest, Responder) {}).status().IsInvalidArgument());
}

}  // namespace
}  // namespace llmrca::net
