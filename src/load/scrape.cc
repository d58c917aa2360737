#include "load/scrape.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::load {
namespace {

bool IsNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Prometheus values: a float, or NaN / +Inf / -Inf in any case.
bool ParseValue(std::string_view token, double& out) {
  std::string t(token);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "nan") {
    out = std::nan("");
    return true;
  }
  if (t == "+inf" || t == "inf") {
    out = HUGE_VAL;
    return true;
  }
  if (t == "-inf") {
    out = -HUGE_VAL;
    return true;
  }
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size();
}

size_t AppendBody(char* data, size_t size, size_t n, void* userp) {
  auto* body = static_cast<std::string*>(userp);
  constexpr size_t kMaxPage = size_t{64} << 20;  // a /metrics page is a few hundred KB
  if (body->size() + size * n > kMaxPage) return 0;  // makes libcurl fail the fetch
  body->append(data, size * n);
  return size * n;
}

}  // namespace

Result<std::vector<PromSample>> ParsePrometheusText(std::string_view text) {
  std::vector<PromSample> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size() || line[i] == '#') continue;
    auto fail = [&](std::string_view what) {
      return Status::DataError(fmt::format("scrape: metrics page line {}: {}: '{}'", line_no, what,
                                           line.substr(0, 120)));
    };
    if (!IsNameStart(line[i])) return fail("bad metric name");
    const size_t name_start = i;
    while (i < line.size() && IsNameChar(line[i])) ++i;
    PromSample s;
    s.name = std::string(line.substr(name_start, i - name_start));
    if (i < line.size() && line[i] == '{') {
      const size_t labels_start = ++i;
      bool in_quotes = false;
      for (; i < line.size(); ++i) {
        if (in_quotes && line[i] == '\\') {
          ++i;
          continue;
        }
        if (line[i] == '"') in_quotes = !in_quotes;
        if (!in_quotes && line[i] == '}') break;
      }
      if (i >= line.size()) return fail("unterminated label set");
      s.labels = std::string(line.substr(labels_start, i - labels_start));
      ++i;
    }
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t value_end = i;
    while (value_end < line.size() && line[value_end] != ' ' && line[value_end] != '\t') ++value_end;
    if (!ParseValue(line.substr(i, value_end - i), s.value)) return fail("bad or missing value");
    out.push_back(std::move(s));
  }
  return out;
}

Scraper::Scraper(ScrapeOptions options, std::chrono::steady_clock::time_point run_start, int fd)
    : options_(std::move(options)), run_start_(run_start), fd_(fd) {}

Result<std::unique_ptr<Scraper>> Scraper::Start(const ScrapeOptions& options,
                                                std::chrono::steady_clock::time_point run_start) {
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument(
        fmt::format("scrape: --scrape '{}': need an http:// or https:// URL", options.url));
  }
  if (options.period.count() <= 0 || options.timeout.count() <= 0) {
    return Status::InvalidArgument("scrape: the period and timeout must be positive");
  }
  const int fd = open(options.csv_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError(
        fmt::format("scrape: {}: cannot create: {}", options.csv_path, std::strerror(errno)));
  }
  const std::string header = "client_s,unix_ms,metric,labels,value\n";
  if (write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size())) {
    close(fd);
    return Status::IoError(fmt::format("scrape: {}: write failed", options.csv_path));
  }
  std::unique_ptr<Scraper> s(new Scraper(options, run_start, fd));
  s->thread_ = std::thread([p = s.get()] { p->Loop(); });
  return s;
}

Scraper::~Scraper() {
  Stop();
  if (fd_ >= 0) close(fd_);
}

void Scraper::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string Scraper::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

void Scraper::Loop() {
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = "libcurl: cannot create a handle";
    return;
  }
  std::string body;
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(easy, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  auto next = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    body.clear();
    error_buffer[0] = '\0';
    const auto fetched_at = std::chrono::steady_clock::now();
    const int64_t unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    const CURLcode code = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    ++fetches_;
    std::string error;
    if (code != CURLE_OK) {
      error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    } else if (status != 200) {
      error = fmt::format("HTTP {}", status);
    } else {
      Result<std::vector<PromSample>> samples = ParsePrometheusText(body);
      if (!samples.ok()) {
        error = samples.status().message();
      } else {
        const double client_s =
            std::chrono::duration<double>(fetched_at - run_start_).count();
        std::string rows;
        int64_t kept = 0;
        for (const PromSample& s : *samples) {
          bool keep = options_.prefixes.empty();
          for (const std::string& p : options_.prefixes) keep = keep || s.name.rfind(p, 0) == 0;
          if (!keep) continue;
          rows += fmt::format("{:.6f},{},{},{},{}\n", client_s, unix_ms, CsvQuote(s.name),
                              CsvQuote(s.labels), s.value);
          ++kept;
        }
        if (!rows.empty() && write(fd_, rows.data(), rows.size()) != static_cast<ssize_t>(rows.size())) {
          error = fmt::format("{}: write failed: {}", options_.csv_path, std::strerror(errno));
        }
        samples_ += kept;
      }
    }
    if (!error.empty()) {
      ++failures_;
      std::lock_guard<std::mutex> lock(error_mu_);
      last_error_ = std::move(error);
    }
    next += options_.period;
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
    while (!stop_.load() && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(20), next - std::chrono::steady_clock::now()));
    }
  }
  curl_easy_cleanup(easy);
}

}  // namespace llmrca::load
