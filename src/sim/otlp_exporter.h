// SpanExporter: posts spans as OTLP/JSON (sim/otlp.h) to an OpenTelemetry collector's HTTP
// traces endpoint (e.g. http://127.0.0.1:4318/v1/traces), in batches, from its own thread, so a
// slow or absent collector never delays a request. Spans that cannot be sent are counted and
// dropped; nothing blocks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "sim/otlp.h"

namespace llmrca::sim {

struct SpanExporterOptions {
  std::string url;                      // http(s)://HOST:PORT/v1/traces
  std::string service_name;             // resource service.name (ray-head, ray-replicas-0)
  std::vector<std::pair<std::string, std::string>> resource_attributes;
  std::chrono::milliseconds period{500};  // a batch at least this often while spans wait
  size_t max_batch = 512;
  size_t max_queue = 65536;             // beyond: new spans are dropped
  std::chrono::milliseconds timeout{2000};  // per POST
};

struct SpanExporterStats {
  int64_t exported = 0;      // spans the collector accepted (2xx)
  int64_t dropped = 0;       // spans lost: queue full, or their POST failed
  int64_t failed_posts = 0;  // POSTs refused, timed out or answered non-2xx
  std::string last_error;
};

class SpanExporter {
 public:
  // kInvalidArgument for a URL that is not http(s)://.
  static Result<std::unique_ptr<SpanExporter>> Start(SpanExporterOptions options);
  ~SpanExporter();  // sends what is queued (one last batch per max_batch), then stops
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  void Add(Span span);  // thread-safe; never blocks on the network
  SpanExporterStats stats() const;

 private:
  explicit SpanExporter(SpanExporterOptions options);
  void Run();
  void Post(std::vector<Span> batch);

  const SpanExporterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Span> queue_;  // under mu_
  SpanExporterStats stats_;  // under mu_
  bool stop_ = false;        // under mu_
  std::thread thread_;
};

}  // namespace llmrca::sim
