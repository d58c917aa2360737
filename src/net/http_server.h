// HttpServer: a small event-driven HTTP/1.1 server for llmrca's live services (serve-sim's
// engine and router). One thread, epoll, non-blocking sockets, keep-alive; requests with a
// Content-Length body (Transfer-Encoding request bodies are answered 501); responses whole
// (Content-Length) or streamed (chunked transfer coding, as SSE servers send them).
//
// A handler runs on the server thread and must not block; it answers through a Responder,
// which any thread may use later (an engine thread emitting tokens), so thousands of streams
// need no thread each. Requests on one connection are answered in order: the next is read
// once the current response has ended.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "net/http.h"

namespace llmrca::net {

struct HttpRequest {
  HttpHead head;
  std::string body;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The answer to one request. Copyable; every method is thread-safe and does nothing once the
// response has ended, the client has gone, or the server has stopped.
class Responder {
 public:
  // The whole response: status, Content-Type, Content-Length and `extra` headers, then `body`.
  void Send(int status, std::string_view content_type, std::string_view body,
            const HeaderList& extra = {});
  // A streamed response: the head now (chunked), then Write() per piece, then End().
  void Start(int status, std::string_view content_type, const HeaderList& extra = {});
  void Write(std::string_view data);  // one chunk; empty data is skipped (it would end)
  void End();
  // True once the client closed the connection (or the server stopped): stop producing.
  bool closed() const;

  struct Exchange;  // shared with the server (http_server.cc)
  explicit Responder(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}

 private:
  std::shared_ptr<Exchange> exchange_;
};

using HttpHandler = std::function<void(HttpRequest request, Responder responder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an IPv4 address to listen on
  int port = 0;                    // 0: the kernel picks a free port
  size_t max_head_bytes = 64 * 1024;         // beyond: 431
  size_t max_body_bytes = 16 * 1024 * 1024;  // beyond: 413
  size_t max_output_bytes = 64 * 1024 * 1024;  // a client that reads nothing is disconnected
};

struct HttpServerStats {
  int64_t connections_accepted = 0;
  int64_t connections_open = 0;
  int64_t requests = 0;
  int64_t responses_in_flight = 0;
};

class HttpServer {
 public:
  // Binds, listens and starts the server thread. kUnavailable when the address cannot be bound
  // (in use, no permission), kInvalidArgument for a bad host.
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  HttpServerStats stats() const;
  // Closes every connection and joins the thread; responders then do nothing. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrca::net
