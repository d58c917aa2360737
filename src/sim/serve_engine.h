// ServeEngine: the OpenAI-compatible HTTP front of one simulated vLLM engine (`llmrca serve-sim
// engine`). POST /v1/completions and /v1/chat/completions (streamed as SSE or whole, usage in
// the final chunk when stream_options.include_usage asks, as vLLM does), GET /v1/models,
// /health and /metrics (vLLM's series and a simulated GPU in DCGM-exporter names). Requests go
// to a LiveEngine; tokens are written as the engine emits them.
//
// Deviations from vLLM, for now: prompt tokens are estimated (4 bytes a token) instead of
// tokenised; a request whose client disconnects still runs to its end in the engine; the GPU
// series are derived from the engine's load, not from step-level power and clock figures.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/status.h"
#include "net/http_server.h"
#include "sim/live_engine.h"

namespace llmrca::sim {

struct ServeEngineOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string name = "ray-replicas-0";       // the engine's name (logs, the engine label)
  std::string served_model = "llama-3-8b";   // the model name clients send and /v1/models lists
  LiveEngineOptions engine;
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
  };

  explicit ServeEngine(ServeEngineOptions options);
  void Handle(net::HttpRequest request, net::Responder responder);
  void Generate(const net::HttpRequest& request, net::Responder responder, bool chat);
  void OnToken(const TokenEvent& t);

  const ServeEngineOptions options_;
  std::mutex mu_;
  std::unordered_map<uint64_t, Stream> streams_;  // under mu_
  std::atomic<uint64_t> next_response_{1};
  std::unique_ptr<LiveEngine> engine_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace llmrca::sim
