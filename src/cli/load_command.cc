#include "cli/load_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "base/strings.h"
#include "load/engine.h"
#include "load/histogram.h"
#include "load/prompts.h"
#include "load/provider.h"
#include "load/record.h"
#include "load/schedule.h"
#include "load/scrape.h"
#include "load/summary.h"

namespace llmrca::cli {
namespace {

constexpr const char* kMetricHelp =
    "Metrics (times in ms; every request is also written to requests.jsonl with --out):\n"
    "  ttft            first content chunk - actual send (time to first token)\n"
    "  ttft_intended   first content chunk - intended send from the schedule; free of\n"
    "                  coordinated omission: a client or server that falls behind shows here\n"
    "  tpot            (e2e - ttft) / (N - 1), per request, N output tokens (N > 1): vLLM bench's\n"
    "                  TPOT, which genai-perf and GuideLLM call ITL\n"
    "  itl             every gap between consecutive content chunks, pooled over requests:\n"
    "                  vLLM bench's ITL (a chunk may carry several tokens)\n"
    "  e2e             last byte - actual send; e2e_intended from the intended send\n"
    "  e2e_per_token   e2e / N; latency_per_token (e2e - ttft) / N is the seed's per-token figure\n"
    "  schedule_lag    actual send - intended send (open loop; 0 in closed loop)\n"
    "Goodput: requests meeting every --slo-* given, per second of the run.\n"
    "Error classes, each request counted once: refused, timeout, http_4xx, http_429, http_5xx,\n"
    "in_stream (an error object in a 200 body), malformed_stream, closed_mid_stream, other.";

std::optional<std::string> ApiKeyFromEnvironment() {
  for (const char* name : {"LLMRCA_API_KEY", "OPENAI_API_KEY"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return std::string(v);
  }
  return std::nullopt;
}

// The sink of the CLI: JSONL records (when --out is given), the summary, and the live figures.
class CliSink : public load::RecordSink {
 public:
  CliSink(load::SummaryBuilder builder, load::HdrHistogram ttft_us)
      : builder_(std::move(builder)), ttft_us_(std::move(ttft_us)) {}

  // Called once the run's start time is known (the JSONL header holds it), before any record.
  void SetWriter(std::unique_ptr<load::RecordWriter> writer) {
    std::lock_guard<std::mutex> lock(mu_);
    writer_ = std::move(writer);
  }

  void Add(const load::RequestRecord& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    builder_.Add(r);
    if (r.ok() && r.first_content_s) {
      const double us = (*r.first_content_s - r.send_s) * 1e6;
      if (us >= 1) (void)ttft_us_.Record(static_cast<int64_t>(us));
    }
    if (writer_ && write_error_.ok()) write_error_ = writer_->Append(r);
  }
  double TtftP50Ms() {
    std::lock_guard<std::mutex> lock(mu_);
    return ttft_us_.count() == 0 ? 0 : ttft_us_.ValueAtPercentile(50) / 1e3;
  }
  load::RunSummary Summary() {
    std::lock_guard<std::mutex> lock(mu_);
    return builder_.Build();
  }
  Status Close() {
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_) {
      const Status closed = writer_->Close();
      if (write_error_.ok()) write_error_ = closed;
    }
    return write_error_;
  }

 private:
  std::mutex mu_;
  load::SummaryBuilder builder_;
  std::unique_ptr<load::RecordWriter> writer_;
  load::HdrHistogram ttft_us_;
  Status write_error_;
};

Status WriteFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("load: {}: {}", path, std::strerror(errno)));
  const ssize_t n = write(fd, text.data(), text.size());
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return Status::IoError(fmt::format("load: {}: short write", path));
  }
  return Status::Ok();
}

// The seed's --summary-file: append one CSV row, with the header when the file is empty.
Status AppendSummaryRow(const std::string& path, const load::RunSummary& summary) {
  std::string csv = load::RenderSummaryCsv(summary);
  const size_t header_end = csv.find('\n');
  const size_t first_row_end = csv.find('\n', header_end + 1);
  struct stat st {};
  const bool empty = stat(path.c_str(), &st) != 0 || st.st_size == 0;
  std::string text = empty ? csv.substr(0, first_row_end + 1)
                           : csv.substr(header_end + 1, first_row_end - header_end);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("load: --summary-file {}: {}", path, std::strerror(errno)));
  const ssize_t n = write(fd, text.data(), text.size());
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return Status::IoError(fmt::format("load: --summary-file {}: short write", path));
  }
  return Status::Ok();
}

std::chrono::milliseconds Ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000 + 0.5));
}

Result<std::vector<double>> ParseRates(const std::string& text, const char* flag) {
  std::vector<double> out;
  for (const std::string& item : Split(text, ',')) {
    const std::optional<double> v = ParseDouble(Trim(item));
    if (!v || !(*v > 0) || !std::isfinite(*v)) {
      return Status::InvalidArgument(
          fmt::format("load: {} '{}': need positive request rates separated by commas", flag, text));
    }
    out.push_back(*v);
  }
  if (out.empty()) return Status::InvalidArgument(fmt::format("load: {}: no rate given", flag));
  return out;
}

}  // namespace

Result<double> ParseDurationSeconds(const std::string& text) {
  std::string t(Trim(text));
  double scale = 1;
  auto strip = [&](std::string_view suffix, double s) {
    if (t.size() > suffix.size() && t.compare(t.size() - suffix.size(), suffix.size(), suffix) == 0) {
      t.resize(t.size() - suffix.size());
      scale = s;
      return true;
    }
    return false;
  };
  strip("ms", 1e-3) || strip("s", 1) || strip("m", 60) || strip("h", 3600);
  const std::optional<double> v = ParseDouble(t);
  if (!v || !(*v > 0) || !std::isfinite(*v)) {
    return Status::InvalidArgument(fmt::format(
        "load: duration '{}': need a positive number of seconds, or with ms/s/m/h", text));
  }
  return *v * scale;
}

void AddLoadCommand(CLI::App& app, CliContext& ctx) {
  auto f = std::make_shared<LoadFlags>();
  CLI::App* cmd = app.add_subcommand(
      "load", "Drive an LLM server with requests and measure TTFT, TPOT, ITL and E2E latency");
  cmd->footer(std::string(
      "Load patterns (one of them):\n"
      "  --qps R [--qps-distribution constant|poisson|gamma|uniform]   open loop at R requests/s\n"
      "  --burst S -u N        every S seconds a burst of N requests at once\n"
      "  --sweep 1,2,4 --step-duration S   open loop, one rate per step, one result per step\n"
      "  --ramp 1:20           open loop, rate rising linearly over --duration\n"
      "  --replay FILE         the timestamps (and prompts) of a request log\n"
      "  -u N                  closed loop: N users, each sends when its last request ended\n"
      "Every run is bounded by --duration and/or --requests. Ctrl-C stops sending, waits\n"
      "--drain-timeout for requests in flight and still writes the summary.\n"
      "Examples:\n"
      "  llmrca load --url http://127.0.0.1:8000 --provider vllm --chat -p 512 -o 256 --qps 5 \\\n"
      "      --qps-distribution poisson -t 360s --out run1 --scrape http://127.0.0.1:8000/metrics\n"
      "  llmrca load --url http://127.0.0.1:8000 -u 32 --requests 1000 --format json\n\n") +
      kMetricHelp);
  cmd->add_option("--url", f->url, "Base URL of the server, e.g. http://127.0.0.1:8000")->required();
  cmd->add_option("--provider", f->provider, "API flavour")
      ->check(CLI::IsMember(load::ProviderNames()))
      ->default_val("openai");
  cmd->add_option("-m,--model", f->model, "Model name for the body (Triton: for the URL)");
  cmd->add_flag("--chat,!--no-chat", f->chat, "Chat completions instead of completions");
  cmd->add_flag("--stream,!--no-stream", f->stream, "Streaming responses (default on: TTFT needs it)")
      ->default_val(true);
  cmd->add_option("-p,--prompt-tokens", f->prompt_tokens, "Synthetic prompt length in tokens (mean)")
      ->check(CLI::PositiveNumber)
      ->default_val(512);
  cmd->add_option("--prompt-tokens-distribution", f->prompt_tokens_distribution,
                  "constant|uniform|exponential|normal")
      ->check(CLI::IsMember({"constant", "uniform", "exponential", "normal"}))
      ->default_val("constant");
  cmd->add_option("--prompt-tokens-range", f->prompt_tokens_range, "Relative width of the prompt "
                  "length distribution (uniform: m +- a*m; normal: sd a*m)")
      ->default_val(0.3);
  cmd->add_option("-o,--max-tokens", f->max_tokens, "Output tokens per request (mean)")
      ->check(CLI::PositiveNumber)
      ->default_val(64);
  cmd->add_option("--max-tokens-distribution", f->max_tokens_distribution,
                  "constant|uniform|exponential|normal")
      ->check(CLI::IsMember({"constant", "uniform", "exponential", "normal"}))
      ->default_val("constant");
  cmd->add_option("--max-tokens-range", f->max_tokens_range, "Relative width (as the seed's)")
      ->default_val(0.3);
  cmd->add_option("--max-tokens-cap", f->max_tokens_cap, "Redraw output lengths above this (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->default_val(0);
  cmd->add_flag("--prompt-randomize", f->prompt_randomize,
                "Prefix 10 random letters to every prompt (defeats prefix caching)");
  cmd->add_option("--prompts", f->prompts_file, "Prompts from a ShareGPT JSON or a JSONL file");
  cmd->add_option("--prompts-format", f->prompts_format, "auto (by extension)|sharegpt|jsonl")
      ->check(CLI::IsMember({"auto", "sharegpt", "jsonl"}))
      ->default_val("auto");
  cmd->add_option("--temperature", f->temperature, "Sampling temperature")->default_val(1.0);
  cmd->add_option("--logprobs", f->logprobs, "Ask for logprobs (N; -1: not asked)")->default_val(-1);
  cmd->add_option("--ignore-eos", f->ignore_eos, "vLLM ignore_eos: auto (provider default)|on|off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->default_val("auto");
  cmd->add_option("--include-usage", f->include_usage,
                  "stream_options.include_usage: auto (on for OpenAI-family streams)|on|off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->default_val("auto");
  cmd->add_flag("--min-tokens", f->min_tokens, "Send min_tokens = max_tokens (vLLM, Fireworks)");
  cmd->add_option("--extra-body", f->extra_body, "JSON object merged into every request body");
  cmd->add_option("--qps", f->qps, "Open loop: requests per second")->check(CLI::PositiveNumber);
  cmd->add_option("--qps-distribution", f->qps_distribution,
                  "Gaps between arrivals: constant|poisson (= the seed's exponential)|gamma|uniform")
      ->check(CLI::IsMember({"constant", "poisson", "exponential", "gamma", "uniform"}))
      ->default_val("constant");
  cmd->add_option("--burstiness", f->burstiness, "Gamma shape: 1 Poisson, < 1 burstier")
      ->check(CLI::PositiveNumber)
      ->default_val(1.0);
  cmd->add_option("--burst", f->burst_s, "Burst period in seconds (burst size: --users)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-u,--users", f->users, "Closed loop: concurrent users (burst: burst size)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--ramp", f->ramp, "Open loop ramp START:END requests/s over --duration");
  cmd->add_option("--sweep", f->sweep, "Open loop sweep: rates separated by commas");
  cmd->add_option("--step-duration", f->step_duration_s, "Seconds per sweep step")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--replay", f->replay, "Replay a timestamped request log (JSONL or CSV)");
  cmd->add_option("--replay-speedup", f->replay_speedup, "Replay faster (> 1) or slower")
      ->check(CLI::PositiveNumber)
      ->default_val(1.0);
  cmd->add_option("-t,--duration", f->duration, "Run time: 90, 90s, 5m, 1h");
  cmd->add_option("-n,--requests", f->requests, "Number of requests")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", f->threads, "Event loops (each drives thousands of streams)")
      ->check(CLI::Range(1, 256))
      ->default_val(1);
  cmd->add_option("--timeout", f->timeout_s, "Per-request time limit, seconds")
      ->check(CLI::PositiveNumber)
      ->default_val(600);
  cmd->add_option("--connect-timeout", f->connect_timeout_s, "Connection time limit, seconds")
      ->check(CLI::PositiveNumber)
      ->default_val(10);
  cmd->add_option("--drain-timeout", f->drain_timeout_s,
                  "After Ctrl-C: seconds to let requests in flight finish")
      ->check(CLI::NonNegativeNumber)
      ->default_val(10);
  cmd->add_flag("--http2", f->http2, "HTTP/2 (ALPN over TLS, prior knowledge over http)");
  cmd->add_option("--http-client", f->http_client,
                  "HTTP client for plain http:// URLs: native (default; llmrca's own HTTP/1.1 "
                  "client) or curl (libcurl). https:// and --http2 always use libcurl")
      ->check(CLI::IsMember({"native", "curl"}));
  cmd->add_flag("--insecure", f->insecure, "Do not verify the server's TLS certificate");
  cmd->add_option("-k,--api-key", f->api_key,
                  "Bearer token (else $LLMRCA_API_KEY or $OPENAI_API_KEY); never printed");
  cmd->add_option("--seed", f->seed, "Seed of arrivals, prompts and lengths")->default_val(0);
  cmd->add_option("--slo-ttft-ms", f->slo_ttft_ms, "Goodput SLO on TTFT (from the intended send)");
  cmd->add_option("--slo-tpot-ms", f->slo_tpot_ms, "Goodput SLO on TPOT");
  cmd->add_option("--slo-e2e-ms", f->slo_e2e_ms, "Goodput SLO on E2E (from the intended send)");
  cmd->add_option("--format", f->format, "Summary on stdout: table|json|csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->default_val("table");
  cmd->add_option("--out", f->out_dir,
                  "Directory for requests.jsonl (written as requests end), summary.json, "
                  "summary.csv, summary.txt and scrape.csv");
  cmd->add_option("--summary-file", f->summary_file, "Append one summary CSV row (the seed's)");
  cmd->add_option("--scrape", f->scrape_url, "Sample this Prometheus /metrics URL during the run");
  cmd->add_option("--scrape-interval", f->scrape_interval_s, "Seconds between samples")
      ->check(CLI::PositiveNumber)
      ->default_val(1.0);
  cmd->add_option("--progress", f->progress, "Live line on stderr: auto (when a terminal)|on|off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->default_val("auto");
  cmd->callback([f, &ctx] { ctx.status = RunLoad(*f); });
}

Status RunLoad(const LoadFlags& f) {
  using load::ErrorClass;
  // ---- What to send.
  LLMRCA_ASSIGN_OR_RETURN(load::Provider provider, load::ProviderFromName(f.provider));
  load::RequestOptions request;
  request.provider = provider;
  request.model = f.model;
  request.chat = f.chat;
  request.stream = f.stream;
  request.temperature = f.temperature;
  if (f.logprobs >= 0) request.logprobs = static_cast<int>(f.logprobs);
  if (f.ignore_eos != "auto") request.ignore_eos = f.ignore_eos == "on";
  if (f.min_tokens) request.min_tokens = true;
  const bool openai_family = provider != load::Provider::kTgi &&
                             provider != load::Provider::kTritonInfer &&
                             provider != load::Provider::kTritonGenerate;
  if (f.include_usage == "auto") {
    if (openai_family && f.stream) request.include_usage = true;
  } else {
    request.include_usage = f.include_usage == "on";
  }
  request.extra_body = f.extra_body;

  load::PromptOptions prompt_options;
  LLMRCA_ASSIGN_OR_RETURN(prompt_options.output.distribution,
                          load::LengthDistributionFromName(f.max_tokens_distribution));
  prompt_options.output.mean = f.max_tokens;
  prompt_options.output.range = f.max_tokens_range;
  if (f.max_tokens_cap > 0) prompt_options.output.cap = f.max_tokens_cap;
  LLMRCA_ASSIGN_OR_RETURN(prompt_options.input.distribution,
                          load::LengthDistributionFromName(f.prompt_tokens_distribution));
  prompt_options.input.mean = f.prompt_tokens;
  prompt_options.input.range = f.prompt_tokens_range;
  prompt_options.randomize = f.prompt_randomize;
  prompt_options.seed = f.seed;
  std::optional<load::PromptSource> prompts;
  if (f.prompts_file.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(prompts, load::PromptSource::Synthetic(prompt_options));
  } else {
    const bool sharegpt = f.prompts_format == "sharegpt" ||
                          (f.prompts_format == "auto" && !std::string_view(f.prompts_file).ends_with(".jsonl"));
    if (sharegpt) {
      LLMRCA_ASSIGN_OR_RETURN(prompts, load::PromptSource::FromShareGpt(f.prompts_file, prompt_options));
    } else {
      LLMRCA_ASSIGN_OR_RETURN(prompts, load::PromptSource::FromJsonl(f.prompts_file, prompt_options));
    }
  }

  // ---- When to send.
  std::optional<std::chrono::nanoseconds> duration;
  if (!f.duration.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(const double s, ParseDurationSeconds(f.duration));
    duration = std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9));
  }
  std::optional<int64_t> max_requests;
  if (f.requests > 0) max_requests = f.requests;
  const int patterns = (f.qps > 0) + (f.burst_s > 0) + !f.ramp.empty() + !f.sweep.empty() +
                       !f.replay.empty();
  if (patterns > 1) {
    return Status::InvalidArgument(
        "load: choose one load pattern: --qps, --burst, --ramp, --sweep or --replay");
  }
  if (patterns == 0 && f.users == 0) {
    return Status::InvalidArgument(
        "load: no load pattern: give --qps R, --burst S, --ramp A:B, --sweep R1,R2,.., --replay "
        "FILE or --users N (closed loop)");
  }
  if (!duration && !max_requests && f.sweep.empty() && f.replay.empty()) {
    return Status::InvalidArgument("load: unbounded run: give --duration and/or --requests");
  }
  load::EngineOptions engine;
  engine.url = f.url;
  engine.request = request;
  if (!f.api_key.empty()) {
    engine.api_key = f.api_key;
  } else if (std::optional<std::string> key = ApiKeyFromEnvironment()) {
    engine.api_key = *key;
  }
  engine.threads = static_cast<int>(f.threads);
  engine.request_timeout = Ms(f.timeout_s);
  engine.connect_timeout = Ms(f.connect_timeout_s);
  engine.drain_timeout = Ms(f.drain_timeout_s);
  engine.http_version = f.http2 ? load::HttpVersion::kHttp2 : load::HttpVersion::kHttp11;
  engine.http_client = f.http_client == "curl" ? load::HttpClient::kCurl : load::HttpClient::kNative;
  if (f.http_client == "native" && !load::UsesNativeHttp(engine)) {
    return Status::InvalidArgument(
        "load: --http-client native speaks plain http:// over HTTP/1.1 only; https:// and --http2 "
        "use libcurl (leave --http-client out, or give --http-client curl)");
  }
  engine.insecure_tls = f.insecure;

  std::unique_ptr<load::ArrivalSchedule> schedule;
  std::string concurrency;
  std::vector<double> step_rates;
  if (f.burst_s > 0) {
    if (f.users <= 0) return Status::InvalidArgument("load: --burst needs -u/--users (the burst size)");
    load::BurstScheduleOptions b;
    b.period = std::chrono::nanoseconds(static_cast<int64_t>(f.burst_s * 1e9));
    b.size = f.users;
    b.duration = duration;
    b.max_requests = max_requests;
    LLMRCA_ASSIGN_OR_RETURN(schedule, load::MakeBurstSchedule(b));
    concurrency = fmt::format("burst {} every {} s", f.users, f.burst_s);
  } else if (!f.replay.empty()) {
    load::ReplayScheduleOptions r;
    r.path = f.replay;
    r.speedup = f.replay_speedup;
    r.duration = duration;
    r.max_requests = max_requests;
    LLMRCA_ASSIGN_OR_RETURN(schedule, load::OpenReplaySchedule(r));
    concurrency = fmt::format("replay {}", f.replay);
  } else if (patterns == 1) {
    load::RateScheduleOptions r;
    const std::string dist = f.qps_distribution == "exponential" ? "poisson" : f.qps_distribution;
    const std::optional<load::ArrivalProcess> process = load::ArrivalProcessFromName(dist);
    if (!process) return Status::InvalidArgument(fmt::format("load: --qps-distribution {}", dist));
    r.process = *process;
    r.burstiness = f.burstiness;
    r.duration = duration;
    r.max_requests = max_requests;
    r.seed = Rng::Derive(f.seed, "arrivals");
    if (f.qps > 0) {
      r.rate_rps = f.qps;
      concurrency = fmt::format("QPS {} {}", f.qps, dist);
    } else if (!f.ramp.empty()) {
      const std::vector<std::string> parts = Split(f.ramp, ':');
      const std::optional<double> a = parts.size() == 2 ? ParseDouble(parts[0]) : std::nullopt;
      const std::optional<double> b = parts.size() == 2 ? ParseDouble(parts[1]) : std::nullopt;
      if (!a || !b || *a < 0 || *b < 0 || (*a == 0 && *b == 0)) {
        return Status::InvalidArgument(
            fmt::format("load: --ramp '{}': need START:END requests/s, not both 0", f.ramp));
      }
      if (!duration) return Status::InvalidArgument("load: --ramp needs --duration");
      r.ramp = load::LinearRamp{*a, *b};
      concurrency = fmt::format("ramp {}->{} rps {}", *a, *b, dist);
    } else {
      LLMRCA_ASSIGN_OR_RETURN(step_rates, ParseRates(f.sweep, "--sweep"));
      if (!(f.step_duration_s > 0)) return Status::InvalidArgument("load: --sweep needs --step-duration");
      r.sweep = load::RateSweep{step_rates, std::chrono::nanoseconds(
                                                static_cast<int64_t>(f.step_duration_s * 1e9))};
      concurrency = fmt::format("sweep {} rps x {} s {}", f.sweep, f.step_duration_s, dist);
    }
    LLMRCA_ASSIGN_OR_RETURN(schedule, load::MakeRateSchedule(r));
  } else {
    engine.users = static_cast<int>(f.users);
    engine.duration = duration;
    engine.max_requests = max_requests;
    concurrency = fmt::format("{}", f.users);
  }

  // ---- Where results go.
  load::RunInfo info;
  info.provider = f.provider;
  info.model = f.model;
  info.prompt_tokens = f.prompts_file.empty() ? std::optional<int64_t>(f.prompt_tokens) : std::nullopt;
  info.generation_tokens = fmt::format("{}", f.max_tokens);
  info.stream = f.stream;
  info.temperature = f.temperature;
  info.logprobs = f.logprobs >= 0 ? fmt::format("{}", f.logprobs) : "";
  info.concurrency = concurrency;
  info.step_rates_rps = step_rates;
  load::Slo slo;
  if (f.slo_ttft_ms >= 0) slo.ttft_ms = f.slo_ttft_ms;
  if (f.slo_tpot_ms >= 0) slo.tpot_ms = f.slo_tpot_ms;
  if (f.slo_e2e_ms >= 0) slo.e2e_ms = f.slo_e2e_ms;
  LLMRCA_ASSIGN_OR_RETURN(load::SummaryBuilder builder, load::SummaryBuilder::Create(info, slo));
  load::HdrHistogramOptions hist_options;
  LLMRCA_ASSIGN_OR_RETURN(load::HdrHistogram ttft_hist, load::HdrHistogram::Create(hist_options));

  if (!f.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(f.out_dir, ec);
    if (ec) return Status::IoError(fmt::format("load: --out {}: {}", f.out_dir, ec.message()));
  }

  CliSink sink(std::move(builder), std::move(ttft_hist));
  std::unique_ptr<load::Scraper> scraper;
  Status setup;
  const bool progress = f.progress == "on" || (f.progress == "auto" && isatty(STDERR_FILENO) == 1);
  load::EngineProgress counters;

  // Ctrl-C: the engine stops scheduling when it sees the flag.
  std::atomic<bool>& stop_flag = CatchStopSignals();
  auto on_start = [&](const load::EngineResult& start) {
    if (!f.out_dir.empty()) {
      load::RecordsHeader header;
      header.start_unix_ns = start.start_unix_ns;
      header.labels = {{"url", f.url}, {"provider", f.provider}, {"model", f.model},
                       {"load", concurrency}, {"stream", f.stream ? "true" : "false"}};
      Result<std::unique_ptr<load::RecordWriter>> w =
          load::RecordWriter::Create(f.out_dir + "/requests.jsonl", header);
      if (w.ok()) {
        sink.SetWriter(std::move(w).value());
      } else {
        setup = w.status();
        stop_flag = true;
      }
    }
    if (!f.scrape_url.empty()) {
      load::ScrapeOptions s;
      s.url = f.scrape_url;
      s.period = Ms(f.scrape_interval_s);
      s.csv_path = f.out_dir.empty() ? "scrape.csv" : f.out_dir + "/scrape.csv";
      Result<std::unique_ptr<load::Scraper>> started = load::Scraper::Start(s, start.start);
      if (started.ok()) {
        scraper = std::move(started).value();
      } else {
        setup = started.status();
        stop_flag = true;
      }
    }
  };
  auto on_tick = [&] {
    if (!progress) return;
    const int64_t done = counters.completed.load() + counters.failed.load();
    fmt::print(stderr, "\r  sent {}  in flight {}  done {}  errors {}  p50 TTFT {:.1f} ms   ",
               counters.started.load(), counters.in_flight.load(), done, counters.failed.load(),
               sink.TtftP50Ms());
  };
  Result<load::EngineResult> ran =
      load::RunEngine(engine, schedule.get(), *prompts, sink, counters, stop_flag, on_start, on_tick);
  ReleaseStopSignals();
  if (progress) fmt::print(stderr, "\n");
  if (scraper) scraper->Stop();
  if (!ran.ok()) return ran.status();
  const Status closed = sink.Close();

  // ---- The summary: always written, also when requests failed or the run was cut short.
  const load::RunSummary summary = sink.Summary();
  const std::string table = load::RenderSummaryTable(summary);
  const std::string json = load::RenderSummaryJson(summary);
  const std::string csv = load::RenderSummaryCsv(summary);
  Status written;
  if (!f.out_dir.empty()) {
    for (const auto& [name, text] : {std::pair{"summary.txt", &table}, std::pair{"summary.json", &json},
                                     std::pair{"summary.csv", &csv}}) {
      const Status s = WriteFile(f.out_dir + "/" + name, *text);
      if (written.ok()) written = s;
    }
  }
  if (!f.summary_file.empty()) {
    const Status s = AppendSummaryRow(f.summary_file, summary);
    if (written.ok()) written = s;
  }
  LLMRCA_RETURN_IF_ERROR(WriteStdout(f.format == "json" ? json : f.format == "csv" ? csv : table));
  if (scraper) {
    fmt::print(stderr, "scrape: {} fetches, {} failed{}, {} samples\n", scraper->fetches(),
               scraper->failures(),
               scraper->failures() > 0 ? fmt::format(" (last: {})", scraper->last_error()) : "",
               scraper->samples());
  }
  if (ran->interrupted) {
    fmt::print(stderr, "load: interrupted after {:.1f} s; the summary covers {} requests\n",
               ran->elapsed_s, ran->requests);
  }
  LLMRCA_RETURN_IF_ERROR(setup);
  LLMRCA_RETURN_IF_ERROR(closed);
  LLMRCA_RETURN_IF_ERROR(written);
  return ran->error;
}

}  // namespace llmrca::cli
