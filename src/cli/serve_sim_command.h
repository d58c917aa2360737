// `llmrca serve-sim`: run parts of a simulated LLM serving stack as live servers on this machine.
// `serve-sim engine` is one OpenAI-compatible vLLM engine (sim/serve_engine.h), `serve-sim
// router` the Serve proxy in front of engines (sim/router.h), and `serve-sim stack` the study's
// topology (nginx-proxy -> ray-head -> ray-replicas-N) as child processes on loopback.
#pragma once

#include <string>
#include <vector>

#include "cli/command.h"

namespace llmrca::cli {

struct ServeSimEngineFlags {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string name = "ray-replicas-0";
  std::string model = "llama-3-8b";
  std::string served_model_name;  // empty: the model profile's name
  std::string gpu_profile = "h100";
  int max_num_seqs = 256;
  int max_num_batched_tokens = 2048;
  int kv_blocks = 0;
  int max_model_len = 8192;
  int cpu = -1;
  std::string otlp_endpoint;  // empty: no traces
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
};

struct ServeSimRouterFlags {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string name = "ray-head";
  std::vector<std::string> backends;  // URL or NAME=URL
  int max_ongoing_requests = 500;
  int max_queued_requests = -1;
  int retries = 3;
  std::string log_encoding = "TEXT";  // TEXT or JSON (Ray Serve's RAY_SERVE_LOG_ENCODING)
  std::string otlp_endpoint;
  double duration_s = 0;
};

struct ServeSimStackFlags {
  ServeSimEngineFlags engine;  // per replica (host, port and name are set by the stack)
  int replicas = 3;
  std::string host = "127.0.0.1";
  int port = 8000;  // the entry point: nginx with --nginx, else the router
  bool nginx = false;
  std::string nginx_bin;  // empty: nginx in PATH, else /usr/sbin/nginx
  int max_ongoing_requests = 500;
  std::string run_dir;    // logs and nginx's files; empty: a new directory under /tmp
  std::string otlp_endpoint;  // passed to the engines and the router
  double duration_s = 0;
};

void AddServeSimCommand(CLI::App& app, CliContext& ctx);
Status RunServeSimEngine(const ServeSimEngineFlags& flags);
Status RunServeSimRouter(const ServeSimRouterFlags& flags);
Status RunServeSimStack(const ServeSimStackFlags& flags);

}  // namespace llmrca::cli
