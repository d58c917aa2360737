#include "cli/serve_sim_command.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

#include "sim/hardware.h"
#include "sim/serve_engine.h"
#include "sim/vllm_log.h"
#ifdef LLMRCA_WITH_ROUTER
#include "sim/otlp_exporter.h"
#include "sim/router.h"
#endif

namespace llmrca::cli {

namespace {

// The flags of an engine's model and scheduler, shared by `engine` and `stack`.
void AddEngineModelFlags(CLI::App* engine, ServeSimEngineFlags& flags) {
  ServeSimEngineFlags* f = &flags;
  engine->add_option("--model", f->model, "Model profile")
      ->check(CLI::IsMember(sim::ModelProfileNames()))
      ->default_val("llama-3-8b");
  engine->add_option("--served-model-name", f->served_model_name,
                     "The model name clients send (default: the profile's)");
  engine->add_option("--gpu-profile", f->gpu_profile, "GPU profile")
      ->check(CLI::IsMember(sim::GpuProfileNames()))
      ->default_val("h100");
  engine->add_option("--max-num-seqs", f->max_num_seqs, "Most requests in a batch (vLLM's flag)")
      ->default_val(256)
      ->check(CLI::PositiveNumber);
  engine->add_option("--max-num-batched-tokens", f->max_num_batched_tokens,
                     "Token budget of a step (vLLM's flag)")
      ->default_val(2048)
      ->check(CLI::PositiveNumber);
  engine->add_option("--kv-blocks", f->kv_blocks,
                     "KV-cache blocks of 16 tokens (vLLM's --num-gpu-blocks-override; default: "
                     "from GPU memory)")
      ->check(CLI::NonNegativeNumber);
  engine->add_option("--max-model-len", f->max_model_len, "Longest prompt + output in tokens")
      ->default_val(8192)
      ->check(CLI::PositiveNumber);
}

}  // namespace

void AddServeSimCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "serve-sim", "Run a simulated LLM serving stack (vLLM engines) as live servers here");
  cmd->require_subcommand(1);
  auto f = std::make_shared<ServeSimEngineFlags>();
  CLI::App* engine = cmd->add_subcommand(
      "engine",
      "One OpenAI-compatible vLLM engine: continuous batching over a paged KV cache, step times "
      "from the GPU profile (the GPU part is slept, the scheduler's CPU work is real, so CPU "
      "contention here slows it), vLLM's /metrics");
  engine->footer(
      "Endpoints: POST /v1/completions, /v1/chat/completions (SSE with \"stream\": true; usage in\n"
      "the last chunk with stream_options.include_usage), GET /v1/models, /health, /metrics.\n"
      "Stops cleanly on Ctrl-C / SIGTERM, or after --duration.\n"
      "Example:\n"
      "  llmrca serve-sim engine --port 8000 --model llama-3-8b --gpu-profile h100 &\n"
      "  llmrca load --url http://127.0.0.1:8000 --provider vllm --qps 20 -t 60s");
  engine->add_option("--host", f->host, "IPv4 address to listen on")->default_val("127.0.0.1");
  engine->add_option("--port", f->port, "Port (0: any free port; the URL is printed)")
      ->default_val(8000)
      ->check(CLI::Range(0, 65535));
  engine->add_option("--name", f->name, "Engine name (the study's ray-head, ray-replicas-N)")
      ->default_val("ray-replicas-0");
  AddEngineModelFlags(engine, *f);
#ifdef LLMRCA_WITH_ROUTER
  engine->add_option("--otlp-endpoint", f->otlp_endpoint, "Post traces as OTLP/JSON to this collector URL (e.g. http://127.0.0.1:4318/v1/traces)");
#endif
  engine->add_option("--cpu", f->cpu, "Pin the engine thread to this CPU");
  engine->add_option("--duration", f->duration_s, "Stop after this many seconds (0: run until "
                     "Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  engine->callback([f, &ctx] { ctx.status = RunServeSimEngine(*f); });

#ifdef LLMRCA_WITH_ROUTER
  auto rf = std::make_shared<ServeSimRouterFlags>();
  CLI::App* router = cmd->add_subcommand(
      "router",
      "The Serve proxy in front of engines: power of two choices on in-flight requests, a queue "
      "beyond --max-ongoing-requests per replica, retries on connection failure, Ray Serve's "
      "metrics");
  router->footer(
      "Endpoints: every path is forwarded to a replica (streams as they come) except\n"
      "GET /metrics (ray_serve_* series), /-/healthz and /-/routes.\n"
      "Example:\n"
      "  llmrca serve-sim router --port 8000 \\\n"
      "    --backends ray-replicas-0=http://127.0.0.1:8001,ray-replicas-1=http://127.0.0.1:8002");
  router->add_option("--host", rf->host, "IPv4 address to listen on")->default_val("127.0.0.1");
  router->add_option("--port", rf->port, "Port (0: any free port; the URL is printed)")
      ->default_val(8000)
      ->check(CLI::Range(0, 65535));
  router->add_option("--name", rf->name, "The proxy's name (metrics' node_id)")
      ->default_val("ray-head");
  router->add_option("--backends", rf->backends,
                     "Replicas: URL or NAME=URL, comma-separated (names default to "
                     "ray-replicas-<index>)")
      ->required()
      ->delimiter(',');
  router->add_option("--max-ongoing-requests", rf->max_ongoing_requests,
                     "Most requests in flight at one replica; more wait at the router (Ray "
                     "Serve's max_ongoing_requests; the study's 500)")
      ->default_val(500)
      ->check(CLI::PositiveNumber);
  router->add_option("--max-queued-requests", rf->max_queued_requests,
                     "Most requests waiting at the router; beyond, 503 (-1: no limit)")
      ->default_val(-1);
  router->add_option("--retries", rf->retries,
                     "Other replicas tried after a connection failure")
      ->default_val(3)
      ->check(CLI::NonNegativeNumber);
  router->add_option("--log-encoding", rf->log_encoding,
                     "Log lines on stderr as Ray Serve writes them: TEXT, or JSON (one object "
                     "per line, as with RAY_SERVE_LOG_ENCODING=JSON)")
      ->check(CLI::IsMember({"TEXT", "JSON"}))
      ->default_val("TEXT");
  router->add_option("--otlp-endpoint", rf->otlp_endpoint, "Post traces as OTLP/JSON to this collector URL (e.g. http://127.0.0.1:4318/v1/traces)");
  router->add_option("--duration", rf->duration_s, "Stop after this many seconds (0: run until "
                     "Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  router->callback([rf, &ctx] { ctx.status = RunServeSimRouter(*rf); });

  auto sf = std::make_shared<ServeSimStackFlags>();
  CLI::App* stack = cmd->add_subcommand(
      "stack",
      "The study's topology as processes on loopback: R engines (ray-replicas-N), the router "
      "(ray-head) and, with --nginx, Debian's nginx in front (nginx-proxy)");
  stack->footer(
      "Each part is a child process of this one, started with a parent-death signal; Ctrl-C or\n"
      "SIGTERM stops them all (SIGKILL after 5 s), and so does a part that dies on its own.\n"
      "Logs of every part, and nginx's configuration, are in --run-dir.\n"
      "Example:\n"
      "  llmrca serve-sim stack --replicas 3 --nginx --port 8000 &\n"
      "  llmrca load --url http://127.0.0.1:8000 --provider vllm --qps 20 -t 60s");
  stack->add_option("--replicas", sf->replicas, "Engines")
      ->default_val(3)
      ->check(CLI::Range(1, 64));
  stack->add_option("--host", sf->host, "IPv4 address of every part")->default_val("127.0.0.1");
  stack->add_option("--port", sf->port, "Port of the entry point (nginx with --nginx, else the "
                    "router)")
      ->default_val(8000)
      ->check(CLI::Range(1, 65535));
  stack->add_flag("--nginx", sf->nginx, "Put Debian's nginx in front as the study's nginx-proxy");
  stack->add_option("--nginx-bin", sf->nginx_bin, "The nginx program (default: nginx in PATH, "
                    "else /usr/sbin/nginx)");
  stack->add_option("--max-ongoing-requests", sf->max_ongoing_requests,
                    "The router's limit per replica")
      ->default_val(500)
      ->check(CLI::PositiveNumber);
  stack->add_option("--run-dir", sf->run_dir, "Directory for logs and nginx's files (default: "
                    "a new one under /tmp)");
  stack->add_option("--otlp-endpoint", sf->otlp_endpoint,
                    "Every part posts its spans as OTLP/JSON to this collector URL");
  AddEngineModelFlags(stack, sf->engine);
  stack->add_option("--duration", sf->duration_s, "Stop after this many seconds (0: run until "
                    "Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  stack->callback([sf, &ctx] { ctx.status = RunServeSimStack(*sf); });
#endif
}

namespace {

#ifdef LLMRCA_WITH_ROUTER
Result<std::unique_ptr<sim::SpanExporter>> StartExporter(const std::string& url,
                                                         const std::string& service) {
  sim::SpanExporterOptions o;
  o.url = url;
  o.service_name = service;
  o.resource_attributes = {{"service.namespace", "llmrca-serve-sim"}};
  return sim::SpanExporter::Start(o);
}
#endif

// Sleeps in short steps until a stop signal, the duration, or `more()` returning false.
void RunUntilStopped(const std::atomic<bool>& stop, double duration_s,
                     const std::function<bool()>& more = [] { return true; }) {
  const auto start = std::chrono::steady_clock::now();
  while (!stop.load() && more()) {
    if (duration_s > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(duration_s)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

Status RunServeSimEngine(const ServeSimEngineFlags& f) {
  sim::ServeEngineOptions o;
  o.host = f.host;
  o.port = f.port;
  o.name = f.name;
  LLMRCA_ASSIGN_OR_RETURN(o.engine.model, sim::FindModelProfile(f.model));
  LLMRCA_ASSIGN_OR_RETURN(o.engine.gpu, sim::FindGpuProfile(f.gpu_profile));
  o.served_model = f.served_model_name.empty() ? f.model : f.served_model_name;
  o.engine.config.max_num_seqs = f.max_num_seqs;
  o.engine.config.max_num_batched_tokens = f.max_num_batched_tokens;
  o.engine.config.num_gpu_blocks_override = f.kv_blocks;
  o.engine.max_model_len = f.max_model_len;
  o.engine.cpu = f.cpu;
  // vLLM's log lines on stderr, with the process tags of vLLM V1's multi-process layout.
  o.engine.log = [pid = ::getpid()](std::string_view level, std::string_view where,
                                    std::string_view message) {
    const bool api = where.substr(0, 8) == "loggers.";
    const std::string line = fmt::format(
        "({} pid={}) {}{}\n", api ? "APIServer" : "EngineCore_DP0", pid,
        sim::VllmLogPrefix(level, where, std::chrono::system_clock::now()), message);
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
#ifdef LLMRCA_WITH_ROUTER
  std::unique_ptr<sim::SpanExporter> exporter;
  if (!f.otlp_endpoint.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(exporter, StartExporter(f.otlp_endpoint, f.name));
    o.on_span = [e = exporter.get()](sim::Span s) { e->Add(std::move(s)); };
  }
#endif
  std::atomic<bool>& stop = CatchStopSignals();
  Result<std::unique_ptr<sim::ServeEngine>> server = sim::ServeEngine::Start(o);
  if (!server.ok()) {
    ReleaseStopSignals();
    return server.status();
  }
  Status printed = WriteStdout(fmt::format(
      "serve-sim engine {} listening on http://{}:{} (model {}, GPU {})\n", f.name, f.host,
      (*server)->port(), o.served_model, o.engine.gpu.name));
  std::fflush(stdout);
  if (printed.ok()) RunUntilStopped(stop, f.duration_s);
  server->reset();  // closes the connections, joins the threads
  ReleaseStopSignals();
  std::fprintf(stderr, "serve-sim engine %s: stopped\n", f.name.c_str());
  return printed;
}

#ifdef LLMRCA_WITH_ROUTER
Status RunServeSimRouter(const ServeSimRouterFlags& f) {
  sim::RouterOptions o;
  o.host = f.host;
  o.port = f.port;
  o.name = f.name;
  o.max_ongoing_requests = f.max_ongoing_requests;
  o.max_queued_requests = f.max_queued_requests;
  o.retries = f.retries;
  o.log_json = f.log_encoding == "JSON";
  o.log = [](const std::string& line) {
    const std::string text = line + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
  };
  for (size_t i = 0; i < f.backends.size(); ++i) {
    LLMRCA_ASSIGN_OR_RETURN(sim::RouterBackend b,
                            sim::ParseRouterBackend(f.backends[i], static_cast<int>(i)));
    o.backends.push_back(std::move(b));
  }
  std::unique_ptr<sim::SpanExporter> exporter;
  if (!f.otlp_endpoint.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(exporter, StartExporter(f.otlp_endpoint, f.name));
    o.on_span = [e = exporter.get()](sim::Span s) { e->Add(std::move(s)); };
  }
  std::atomic<bool>& stop = CatchStopSignals();
  Result<std::unique_ptr<sim::Router>> router = sim::Router::Start(o);
  if (!router.ok()) {
    ReleaseStopSignals();
    return router.status();
  }
  std::string names;
  for (const sim::RouterBackend& b : o.backends) {
    names += fmt::format("{}{}={}", names.empty() ? "" : ", ", b.name, b.url);
  }
  Status printed = WriteStdout(fmt::format("serve-sim router {} listening on http://{}:{} "
                                           "(replicas {})\n",
                                           f.name, f.host, (*router)->port(), names));
  std::fflush(stdout);
  if (printed.ok()) RunUntilStopped(stop, f.duration_s);
  router->reset();
  ReleaseStopSignals();
  std::fprintf(stderr, "serve-sim router %s: stopped\n", f.name.c_str());
  return printed;
}
#endif

}  // namespace llmrca::cli
