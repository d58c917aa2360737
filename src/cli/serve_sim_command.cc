#include "cli/serve_sim_command.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "sim/hardware.h"
#include "sim/serve_engine.h"

namespace llmrca::cli {

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
  engine->add_option("--cpu", f->cpu, "Pin the engine thread to this CPU");
  engine->add_option("--duration", f->duration_s, "Stop after this many seconds (0: run until "
                     "Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  engine->callback([f, &ctx] { ctx.status = RunServeSimEngine(*f); });
}

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
  const auto start = std::chrono::steady_clock::now();
  while (printed.ok() && !stop.load()) {
    if (f.duration_s > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(f.duration_s)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  server->reset();  // closes the connections, joins the threads
  ReleaseStopSignals();
  std::fprintf(stderr, "serve-sim engine %s: stopped\n", f.name.c_str());
  return printed;
}

}  // namespace llmrca::cli
