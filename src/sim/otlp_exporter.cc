#include "sim/otlp_exporter.h"

#include <curl/curl.h>

#include <fmt/format.h>

namespace llmrca::sim {
namespace {

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

SpanExporter::SpanExporter(SpanExporterOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<SpanExporter>> SpanExporter::Start(SpanExporterOptions options) {
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument(fmt::format(
        "OTLP endpoint '{}': expected http(s)://HOST:PORT/v1/traces", options.url));
  }
  if (options.max_batch == 0) options.max_batch = 1;
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) return Status::Internal("curl_global_init failed");
  std::unique_ptr<SpanExporter> e(new SpanExporter(std::move(options)));
  e->thread_ = std::thread([raw = e.get()] { raw->Run(); });
  return e;
}

SpanExporter::~SpanExporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpanExporter::Add(Span span) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() >= options_.max_queue) {
    ++stats_.dropped;
    return;
  }
  queue_.push_back(std::move(span));
  if (queue_.size() >= options_.max_batch) wake_.notify_one();
}

SpanExporterStats SpanExporter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void SpanExporter::Run() {
  for (;;) {
    std::vector<Span> batch;
    bool last = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, options_.period,
                     [&] { return stop_ || queue_.size() >= options_.max_batch; });
      last = stop_;
      const size_t n = std::min(queue_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      if (last && !queue_.empty()) last = false;  // drain before stopping
    }
    if (!batch.empty()) Post(std::move(batch));
    if (last) return;
  }
}

void SpanExporter::Post(std::vector<Span> batch) {
  const std::string body =
      OtlpTraceJson(batch, options_.service_name, options_.resource_attributes);
  CURL* easy = curl_easy_init();
  std::string error;
  long status = 0;
  if (easy == nullptr) {
    error = "curl_easy_init failed";
  } else {
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(easy, CURLOPT_URL, options_.url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Discard);
    const CURLcode code = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK) {
      error = fmt::format("POST {}: {}", options_.url, curl_easy_strerror(code));
    } else if (status < 200 || status > 299) {
      error = fmt::format("POST {}: HTTP {}", options_.url, status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (error.empty()) {
    stats_.exported += static_cast<int64_t>(batch.size());
  } else {
    stats_.dropped += static_cast<int64_t>(batch.size());
    ++stats_.failed_posts;
    stats_.last_error = std::move(error);
  }
}

}  // namespace llmrca::sim
