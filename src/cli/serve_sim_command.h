// `llmrca serve-sim`: run parts of a simulated LLM serving stack as live servers on this machine.
// `serve-sim engine` is one OpenAI-compatible vLLM engine (sim/serve_engine.h).
#pragma once

#include <string>

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
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
};

void AddServeSimCommand(CLI::App& app, CliContext& ctx);
Status RunServeSimEngine(const ServeSimEngineFlags& flags);

}  // namespace llmrca::cli
