// Sampling a Prometheus /metrics endpoint during a load run (`llmrca load --scrape URL`): the
// text exposition format parsed into samples, and a background scraper that fetches the page at
// a fixed period and appends the samples to a CSV on the client's clock, the same clock as the
// request records, so server-side queue lengths and KV-cache use line up with client latencies.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"

namespace llmrca::load {

// One sample of the text format: `name{labels} value [timestamp_ms]`.
struct PromSample {
  std::string name;
  std::string labels;  // the text between the braces, as written (empty when none)
  double value = 0;
};

// Parses a text-format page (version 0.0.4). Comment and blank lines are skipped. kDataError
// naming the line for a sample line that does not parse (bad name, unterminated label set,
// missing or bad value).
Result<std::vector<PromSample>> ParsePrometheusText(std::string_view text);

struct ScrapeOptions {
  std::string url;  // the full URL of the page, e.g. http://127.0.0.1:8000/metrics
  std::chrono::milliseconds period{1000};
  std::chrono::milliseconds timeout{2000};  // per fetch
  // Only samples whose name starts with one of these are kept; empty keeps every sample.
  std::vector<std::string> prefixes = {"vllm:", "ray_serve_", "serve_", "DCGM_", "llmrca_"};
  std::string csv_path;  // written: header "client_s,unix_ms,metric,labels,value", then rows
};

// Fetches the page every period on its own thread from Start() until Stop(). A fetch that fails
// (refused, timeout, non-200, unparsable page) is counted and the scraper keeps going; nothing
// already written is lost. Rows are flushed after every fetch.
class Scraper {
 public:
  // kInvalidArgument for a bad URL or period; kIoError when the CSV cannot be created.
  static Result<std::unique_ptr<Scraper>> Start(const ScrapeOptions& options,
                                               std::chrono::steady_clock::time_point run_start);
  ~Scraper();  // stops
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  void Stop();
  int64_t fetches() const { return fetches_.load(); }
  int64_t failures() const { return failures_.load(); }
  int64_t samples() const { return samples_.load(); }
  // The message of the last failed fetch ("" when none).
  std::string last_error() const;

 private:
  Scraper(ScrapeOptions options, std::chrono::steady_clock::time_point run_start, int fd);
  void Loop();

  ScrapeOptions options_;
  std::chrono::steady_clock::time_point run_start_;
  int fd_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> fetches_{0}, failures_{0}, samples_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace llmrca::load
