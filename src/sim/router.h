// Router: the Serve-proxy role of the study's topology (`llmrca serve-sim router`), between the
// nginx proxy and the vLLM replicas (reference/seed-study.md C.1: nginx-proxy -> ray-head ->
// ray-replicas-N). It accepts HTTP on its own port and forwards each request, streamed
// responses included, to one of its backends, as Ray Serve's proxy and router do:
//
// - Replica choice: power of two choices on the number of requests the router has in flight
//   at each replica (Ray Serve's PowerOfTwoChoicesReplicaScheduler): two distinct replicas drawn
//   at random, the one with fewer ongoing requests wins. A replica at `max_ongoing_requests`
//   (Ray Serve's deployment option; the study set 500) takes no more: requests then wait in the
//   router's queue, first come first served, up to `max_queued_requests` (beyond: 503).
// - Retries: a request whose connection to a replica fails before any response byte (refused,
//   connect timeout, closed before the status line) goes to another replica, up to `retries`
//   more times; that replica is skipped for `down_for`. With no replica left: 503.
// - Its own /metrics with Ray Serve's names and labels (reference/load-testing.md 4.2; label
//   sets from Ray's built-in metrics table; latency buckets from Ray Serve's
//   DEFAULT_LATENCY_BUCKET_MS): HTTP requests and errors at the proxy, router and handle
//   request counters, queued queries, per-replica processing queries, request and error
//   counters, and the processing-latency histogram. /-/healthz and /-/routes as Ray's proxy
//   answers them. Every other path is forwarded.
//
// Each request gets an id (a UUID, as Ray Serve's), sent to the replica as X-Request-Id and
// written in the access log.
//
// Threads: the HTTP server's thread parses requests and hands them over; one client thread
// runs libcurl's multi interface for every upstream transfer and writes the response through
// the server's thread-safe Responder as bytes arrive. A client that leaves mid-stream aborts
// the upstream transfer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/otlp.h"

namespace llmrca::sim {

struct RouterBackend {
  std::string name;  // the replica label (ray-replicas-0, ...)
  std::string url;   // base URL, e.g. http://127.0.0.1:8001 (no trailing slash)
};

struct RouterOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string name = "ray-head";  // the proxy's node_id label, logs
  std::string application = "default";
  std::string deployment = "VLLMDeployment";
  std::string route_prefix = "/";
  std::vector<RouterBackend> backends;
  int max_ongoing_requests = 500;  // per replica
  int max_queued_requests = -1;    // -1: unbounded
  int retries = 3;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds down_for{1000};
  uint64_t seed = 1;
  // Log lines as Ray Serve writes them (reference/llm-serving-model.md section 7): an access
  // line per request ("INFO 2026-11-27 03:40:01,123 proxy 127.0.0.1 <request id> / default
  // proxy.py:538 - POST 200 8.9ms"), replica failures as warnings; one JSON object per line
  // with `log_json` (RAY_SERVE_LOG_ENCODING=JSON). None when `log` is empty.
  std::function<void(const std::string& line)> log;
  bool log_json = false;
  // Receives the router's spans when set (see sim/otlp.h): a server span per request (a child
  // of the client's `traceparent` when it sent one) and a client span per attempt at a
  // replica, whose context goes to the replica in `traceparent`. Called on the client thread.
  std::function<void(Span span)> on_span;
};

// Parses "URL" or "NAME=URL" (the name defaults to ray-replicas-<index>). kInvalidArgument for
// a URL that is not http://HOST:PORT[/].
Result<RouterBackend> ParseRouterBackend(const std::string& text, int index);

// Power of two choices over `load` (ongoing requests per replica; a negative entry is a replica
// that cannot take the request now). Draws two distinct eligible replicas uniformly and returns
// the one with the smaller load (the first drawn on a tie); with one eligible replica, that one;
// with none, -1.
int PowerOfTwoChoices(std::span<const int> load, std::mt19937_64& rng);

struct RouterReplicaStats {
  std::string name;
  int ongoing = 0;
  int64_t requests = 0;          // finished, any outcome
  int64_t errors = 0;            // 5xx answers, failed or broken transfers
  int64_t connect_failures = 0;  // attempts that never got a response (retried or not)
};

class Router {
 public:
  // Listens and starts both threads. kInvalidArgument without backends or with a bad option,
  // kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<Router>> Start(RouterOptions options);
  ~Router();  // stops both threads; open responses end
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  int port() const;
  std::string MetricsText() const;
  std::vector<RouterReplicaStats> Replicas() const;
  int queued() const;

  class Impl;

 private:
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrca::sim
