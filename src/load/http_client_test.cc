#include "load/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace llmrca::load {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A server on 127.0.0.1 (a free port) that answers each request, in order over all its
// connections, with the scripted bytes, then keeps the connection, closes it, or never answers.
// One thread; every wait is bounded; Stop() (or the destructor) ends it.
class ScriptedServer {
 public:
  struct Reply {
    std::string bytes;
    bool close_after = false;
    bool hang = false;  // read the request, answer nothing
  };
  explicit ScriptedServer(std::function<Reply(int index)> script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 64), 0);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~ScriptedServer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  struct Conn {
    std::string in;
    bool hung = false;
  };
  void Loop() {
    std::map<int, Conn> conns;
    int index = 0;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const auto& [fd, c] : conns) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          conns[fd] = Conn();
          ++accepted_;
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        const int fd = fds[i].fd;
        Conn& c = conns[fd];
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(fd);
          conns.erase(fd);
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        const size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos || c.hung) continue;
        const size_t cl = c.in.find("Content-Length: ");
        const size_t body = cl == std::string::npos ? 0 : std::stoul(c.in.substr(cl + 16));
        if (c.in.size() < end + 4 + body) continue;
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(c.in.substr(0, end + 4 + body));
        }
        c.in.erase(0, end + 4 + body);
        const Reply r = script_(index++);
        if (r.hang) {
          c.hung = true;
          continue;
        }
        ::send(fd, r.bytes.data(), r.bytes.size(), MSG_NOSIGNAL);
        if (r.close_after) {
          ::close(fd);
          conns.erase(fd);
        }
      }
    }
    for (const auto& [fd, c] : conns) ::close(fd);
  }

  std::function<Reply(int)> script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

struct Outcome {
  int status = 0;
  std::string body;
  int body_calls = 0;
  bool ended = false;
  ErrorClass error = ErrorClass::kNone;
  std::string message;
};

// The client on its own epoll loop, one exchange at a time.
class ClientHarness : public Http1Client::Handler {
 public:
  explicit ClientHarness(int port, Http1Client::Options options = {}) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    Result<HttpTarget> t = ParseHttpUrl(fmt::format("http://127.0.0.1:{}/v1/x", port));
    EXPECT_TRUE(t.ok());
    options.headers.push_back("Content-Type: application/json");
    client_ = std::make_unique<Http1Client>(epoll_fd_, *t, options, *this);
  }
  ~ClientHarness() override {
    client_.reset();
    ::close(epoll_fd_);
  }
  // Sends `body` and runs the loop until the exchange ends (at most 5 s).
  Outcome Exchange(std::string_view body) {
    Outcome out;
    client_->Start(body, &out);
    const Clock::time_point until = Clock::now() + 5s;
    while (!out.ended && Clock::now() < until) {
      epoll_event events[16];
      int wait_ms = 10;
      if (const auto d = client_->NextDeadline()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*d - Clock::now());
        wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 10));
      }
      const int n = epoll_wait(epoll_fd_, events, 16, wait_ms);
      for (int i = 0; i < n; ++i) client_->HandleEvent(events[i]);
      client_->OnTimer(Clock::now());
    }
    EXPECT_TRUE(out.ended) << "the exchange did not end within 5 s";
    return out;
  }
  Http1Client& client() { return *client_; }

  void OnHead(void* tag, const net::HttpResponseHead& head, Clock::time_point) override {
    static_cast<Outcome*>(tag)->status = head.status;
  }
  void OnBody(void* tag, std::string_view bytes, Clock::time_point) override {
    auto* o = static_cast<Outcome*>(tag);
    o->body.append(bytes);
    ++o->body_calls;
  }
  void OnEnd(void* tag, ErrorClass error, std::string_view message, Clock::time_point) override {
    auto* o = static_cast<Outcome*>(tag);
    o->ended = true;
    o->error = error;
    o->message = std::string(message);
  }

 private:
  int epoll_fd_ = -1;
  std::unique_ptr<Http1Client> client_;
};

const char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(ParseHttpUrlTest, SplitsHostPortAndPath) {
  Result<HttpTarget> t = ParseHttpUrl("http://127.0.0.1:8000/v1/completions");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 8000);
  EXPECT_EQ(t->host_header, "127.0.0.1:8000");
  EXPECT_EQ(t->path, "/v1/completions");
  t = ParseHttpUrl("http://example.com");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->port, 80);
  EXPECT_EQ(t->path, "/");
  t = ParseHttpUrl("http://[::1]:9/a?b=1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, 9);
  EXPECT_EQ(t->host_header, "[::1]:9");
  EXPECT_EQ(t->path, "/a?b=1");
  for (const char* bad : {"https://x/", "http://", "http://:80/", "http://x:0/", "http://x:65536",
                          "http://x:8a/", "http://u:p@x/", "http://x/#f", "http://[::1/",
                          "http://x:/"}) {
    EXPECT_TRUE(ParseHttpUrl(bad).status().IsInvalidArgument()) << bad;
  }
}

TEST(Http1ClientTest, KeepAliveCarriesEveryRequestOnOneConnection) {
  ScriptedServer server([](int) { return ScriptedServer::Reply{kOk}; });
  ClientHarness h(server.port());
  for (int i = 0; i < 5; ++i) {
    const Outcome o = h.Exchange("hello");
    EXPECT_EQ(o.error, ErrorClass::kNone) << o.message;
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(o.body, "ok");
  }
  EXPECT_EQ(h.client().connections_opened(), 1);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(h.client().idle_connections(), 1u);
  const std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0], fmt::format("POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: "
                                     "application/json\r\nContent-Length: 5\r\n\r\nhello",
                                     server.port()));
}

TEST(Http1ClientTest, ConnectionCloseOpensAConnectionPerRequest) {
  ScriptedServer server([](int) {
    return ScriptedServer::Reply{
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true};
  });
  ClientHarness h(server.port());
  for (int i = 0; i < 3; ++i) {
    const Outcome o = h.Exchange("x");
    EXPECT_EQ(o.error, ErrorClass::kNone) << o.message;
    EXPECT_EQ(o.body, "ok");
  }
  EXPECT_EQ(h.client().connections_opened(), 3);
  EXPECT_EQ(server.accepted(), 3);
  EXPECT_EQ(h.client().idle_connections(), 0u);
}

// The server closes a kept-alive connection without saying so; the next request finds it closed
// before any response byte and goes again, once, on a new connection.
TEST(Http1ClientTest, AStaleKeptAliveConnectionIsRetriedOnANewOne) {
  ScriptedServer server([](int) { return ScriptedServer::Reply{kOk, /*close_after=*/true}; });
  ClientHarness h(server.port());
  EXPECT_EQ(h.Exchange("a").error, ErrorClass::kNone);
  std::this_thread::sleep_for(50ms);  // the close reaches the client's socket
  const Outcome o = h.Exchange("b");
  EXPECT_EQ(o.error, ErrorClass::kNone) << o.message;
  EXPECT_EQ(o.body, "ok");
  EXPECT_EQ(h.client().connections_opened(), 2);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Http1ClientTest, ChunkedBodiesAndErrorStatusesArrive) {
  ScriptedServer server([](int i) {
    if (i == 0) {
      return ScriptedServer::Reply{
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"};
    }
    if (i == 1) {
      return ScriptedServer::Reply{
          "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 13\r\n\r\n{\"error\":\"x\"}"};
    }
    return ScriptedServer::Reply{
        "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbad\r\n0\r\n\r\n"};
  });
  ClientHarness h(server.port());
  Outcome o = h.Exchange("x");
  EXPECT_EQ(o.error, ErrorClass::kNone);
  EXPECT_EQ(o.body, "Wikipedia");
  o = h.Exchange("x");
  EXPECT_EQ(o.error, ErrorClass::kNone);  // the transport succeeded; the status is the caller's
  EXPECT_EQ(o.status, 429);
  EXPECT_EQ(o.body, "{\"error\":\"x\"}");
  o = h.Exchange("x");
  EXPECT_EQ(o.status, 500);
  EXPECT_EQ(o.body, "bad");
  EXPECT_EQ(h.client().connections_opened(), 1);
}

TEST(Http1ClientTest, BrokenResponsesGetTheirClasses) {
  ScriptedServer server([](int i) {
    switch (i) {
      case 0:  // a bad chunk size after one good chunk
        return ScriptedServer::Reply{
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n"};
      case 1:  // closed mid-body: 3 of 10 bytes
        return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true};
      case 2:  // closed before any response
        return ScriptedServer::Reply{"", true};
      case 3:  // not HTTP
        return ScriptedServer::Reply{"hello there\r\n\r\n", true};
      default:  // read until the close: complete
        return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\n\r\nto the end", true};
    }
  });
  ClientHarness h(server.port());
  Outcome o = h.Exchange("x");
  EXPECT_EQ(o.error, ErrorClass::kMalformedStream);
  EXPECT_EQ(o.body, "ok");
  EXPECT_EQ(o.message, "chunked body: bad chunk size 'zz'");
  o = h.Exchange("x");  // a new connection: the last one was not reusable
  EXPECT_EQ(o.error, ErrorClass::kClosedMidStream);
  EXPECT_EQ(o.body, "abc");
  EXPECT_EQ(o.message, "connection closed mid-body after 3 bytes");
  o = h.Exchange("x");
  EXPECT_EQ(o.error, ErrorClass::kClosedMidStream);
  EXPECT_EQ(o.message, "connection closed before the response head");
  o = h.Exchange("x");
  EXPECT_EQ(o.error, ErrorClass::kMalformedStream);
  o = h.Exchange("x");
  EXPECT_EQ(o.error, ErrorClass::kNone) << o.message;
  EXPECT_EQ(o.body, "to the end");
  EXPECT_EQ(h.client().connections_opened(), 5);
  EXPECT_EQ(h.client().idle_connections(), 0u);
}

TEST(Http1ClientTest, RefusedAndTimedOut) {
  int port = 0;
  {
    ScriptedServer gone([](int) { return ScriptedServer::Reply{kOk}; });
    port = gone.port();
  }
  ClientHarness refused(port);
  Outcome o = refused.Exchange("x");
  EXPECT_EQ(o.error, ErrorClass::kRefused);
  EXPECT_NE(o.message.find("Connection refused"), std::string::npos) << o.message;

  ScriptedServer hang([](int) { return ScriptedServer::Reply{"", false, /*hang=*/true}; });
  Http1Client::Options options;
  options.request_timeout = 100ms;
  ClientHarness h(hang.port(), options);
  const Clock::time_point start = Clock::now();
  o = h.Exchange("x");
  const double took_s = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(o.error, ErrorClass::kTimeout);
  EXPECT_EQ(o.message, "request timed out after 100 ms");
  EXPECT_GE(took_s, 0.1);
  EXPECT_LT(took_s, 2.0);
}

}  // namespace
}  // namespace llmrca::load
