// ServeEngine: the OpenAI-compatible HTTP front of one simulated vLLM engine (`llmrca serve-sim
// engine`). POST /v1/completions and /v1/chat/completions (streamed as SSE or whole, usage in
// the final chunk when stream_options.include_usage asks, as vLLM does), GET /v1/models,
// /health and /metrics (vLLM's series and a simulated GPU in DCGM-exporter names). Requests go
// to a LiveEngine; tokens are written as the engine emits them.
//
// /control/gpu applies simulated GPU faults (sim::GpuFault): GET reads them, POST a JSON object
// with any of power_cap_w, contention and xid sets those fields, DELETE clears them all. A power
// cap lowers the SM clock and slows steps as the engine model computes it; contention lengthens
// kernels; an XID fails every request in flight (an error event in a stream, else a 500), and
// /health answers 500 and new requests 500 until it is cleared.
//
// Deviations from vLLM, for now: prompt tokens are estimated (4 bytes a token) instead of
// tokenised; a request whose client disconnects is aborted at its next token, not at once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/status.h"
#include "net/http_server.h"
#include "sim/exposition.h"
#include "sim/live_engine.h"
#include "sim/otlp.h"

namespace llmrca::sim {

struct ServeEngineOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string name = "ray-replicas-0";       // the engine's name (logs, the engine label)
  std::string served_model = "llama-3-8b";   // the model name clients send and /v1/models lists
  LiveEngineOptions engine;
  // Receives a span per generation request when set: vLLM's "llm_request" server span with its
  // gen_ai.* attributes, a child of the caller's `traceparent` when it sent one.
  std::function<void(Span span)> on_span;
};

class ServeEngine {
 public:
  static Result<std::unique_ptr<ServeEngine>> Start(ServeEngineOptions options);
  ~ServeEngine();
  int port() const { return server_->port(); }
  std::string MetricsText() const;
  const net::HttpServer& http() const { return *server_; }

 private:
  struct Stream {
    net::Responder responder;
    bool chat = false;
    bool stream = false;
    bool include_usage = false;
    int prompt_tokens = 0;
    int max_tokens = 0;
    std::string id;
    int64_t created = 0;
    std::string text;  // non-streamed: the output so far
    // Tracing (when on_span is set).
    TraceContext trace;
    SpanId parent{};
    uint64_t start_ns = 0;
    std::chrono::steady_clock::time_point arrival;
    double ttft_s = -1;
  };
  void EmitSpan(const Stream& s, int completion_tokens, bool failed, std::string_view error);

  explicit ServeEngine(ServeEngineOptions options);
  void Handle(net::HttpRequest request, net::Responder responder);
  void Generate(const net::HttpRequest& request, net::Responder responder, bool chat);
  void OnToken(const TokenEvent& t);
  void Control(const net::HttpRequest& request, net::Responder responder);
  DcgmGpu Gpu() const;

  const ServeEngineOptions options_;
  std::mutex mu_;
  std::unordered_map<uint64_t, Stream> streams_;  // under mu_
  std::atomic<uint64_t> next_response_{1};
  std::mt19937_64 trace_rng_{std::random_device{}()};  // under mu_
  std::unique_ptr<LiveEngine> engine_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  struct Scrape {
    std::chrono::steady_clock::time_point time;
    double busy_s = 0;
  };
  mutable std::mutex scrape_mu_;
  mutable Scrape last_scrape_{started_, 0};  // under scrape_mu_: GPU utilisation between scrapes
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace llmrca::sim
