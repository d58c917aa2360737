// Http1Client: llmrca's own HTTP/1.1 client for plain http:// URLs, driven by the caller's epoll
// loop (one client per event loop). Non-blocking sockets, a keep-alive connection pool, the
// request written straight from Start(), responses framed by net::ResponseReader (Content-Length,
// chunked, or read until the close) and handed over as they arrive, each piece with the time of
// the read that brought it. Connect and whole-request timeouts; a request whose reused
// connection turns out closed by the server is sent again once on a new connection.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "load/error_class.h"
#include "net/http.h"

namespace llmrca::load {

// The parts of a plain "http://host[:port][/path]" URL the client needs.
struct HttpTarget {
  std::string host;         // without the brackets of an IPv6 literal
  int port = 80;
  std::string host_header;  // the Host header: host[:port] as the URL wrote it
  std::string path = "/";   // the request target
};

// kInvalidArgument for a URL that is not plain http://, has no host, a bad port, a userinfo
// part or a fragment.
Result<HttpTarget> ParseHttpUrl(std::string_view url);

class Http1Client {
 public:
  using Clock = std::chrono::steady_clock;

  // What the caller hears about each exchange; `tag` is its Start() argument. Calls come from
  // HandleEvent() and OnTimer() only, never from Start() or Cancel().
  class Handler {
   public:
    virtual ~Handler() = default;
    // The final response head arrived (once per exchange, before any OnBody).
    virtual void OnHead(void* tag, const net::HttpResponseHead& head, Clock::time_point now) = 0;
    // Body bytes, decoded from the transfer coding, read at `now`.
    virtual void OnBody(void* tag, std::string_view bytes, Clock::time_point now) = 0;
    // The exchange ended: `error` kNone when the whole response arrived, else kRefused (connect
    // failed), kTimeout (connect or request time limit), kClosedMidStream (the peer closed or
    // reset the connection before the response ended) or kMalformedStream (not HTTP/1.x, bad
    // chunked coding). The tag is not used again.
    virtual void OnEnd(void* tag, ErrorClass error, std::string_view message,
                       Clock::time_point now) = 0;
  };

  struct Options {
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds request_timeout{600'000};  // from Start() to the response's end
    // Header lines sent with every request besides Host and Content-Length, each "Name: value"
    // (may hold secrets: never logged).
    std::vector<std::string> headers;
  };

  // Resolves the target's host once (a name that does not resolve makes every request fail as
  // kRefused, as libcurl's would). Events of its sockets carry a data.u64 that is never
  // UINT64_MAX, which the caller may use for its own descriptors.
  Http1Client(int epoll_fd, HttpTarget target, Options options, Handler& handler);
  ~Http1Client();
  Http1Client(const Http1Client&) = delete;
  Http1Client& operator=(const Http1Client&) = delete;

  struct Conn;  // a connection and the exchange it carries; opaque
  // Sends a POST of `body` (copied) to the target on an idle connection or a new one.
  Conn* Start(std::string_view body, void* tag);
  // Drops the exchange that Start() put on `conn`, still in flight, without calling its
  // handler; the connection is closed.
  void Cancel(Conn* conn);

  // An epoll event whose data.u64 is not the caller's.
  void HandleEvent(const epoll_event& event);
  // The earliest time OnTimer() has work to do, nullopt when none.
  std::optional<Clock::time_point> NextDeadline() const;
  // Ends the exchanges whose time is up, and those that failed inside Start().
  void OnTimer(Clock::time_point now);

  int64_t connections_opened() const { return connections_opened_; }
  size_t idle_connections() const;

 private:
  struct List {
    Conn* head = nullptr;
    Conn* tail = nullptr;
  };
  Conn* NewConn();
  bool Connect(Conn& c, size_t address);
  void CloseSocket(Conn& c);  // the exchange, if any, stays
  void Free(Conn& c);         // the socket closed, the slot free for a new connection
  void Link(int list, Conn& c);    // 0: active_, 1: connecting_
  void Unlink(int list, Conn& c);
  bool Write(Conn& c, std::string& error);
  void Read(Conn& c, Clock::time_point now);
  void OnConnected(Conn& c, Clock::time_point now);
  void Complete(Conn& c, bool reuse, Clock::time_point now);
  void Fail(Conn& c, ErrorClass error, std::string message, Clock::time_point now);
  void Defer(Conn& c, ErrorClass error, std::string message);
  void Retry(Conn& c);
  void StartWrite(Conn& c, Clock::time_point now);
  void SetInterest(Conn& c, bool want_write);
  std::string Where() const;
  void DropStaleIdle();

  int epoll_fd_;
  HttpTarget target_;
  Options options_;
  Handler& handler_;
  struct Address {
    sockaddr_storage addr{};
    socklen_t len = 0;
  };
  std::vector<Address> addresses_;  // of the host, in getaddrinfo's order
  size_t preferred_ = 0;            // the address the last successful connect used
  std::string resolve_error_;  // non-empty when the host did not resolve
  std::string prefix_;         // the request up to the Content-Length value
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<uint32_t> free_;                              // slots of conns_ not in use
  std::vector<std::pair<uint32_t, uint32_t>> idle_;         // (slot, generation), last is newest
  std::vector<std::pair<uint32_t, uint64_t>> deferred_;     // (slot, exchange): failed in Start()
  List active_;      // exchanges in flight, in the order they started (their deadlines' order)
  List connecting_;  // connections being made, in the order they started
  size_t idle_count_ = 0;  // connections in State::kIdle
  int64_t connections_opened_ = 0;
  uint64_t next_exchange_ = 1;
  std::string body_;  // decoded body bytes of one read
  std::vector<char> buffer_;
};

}  // namespace llmrca::load
