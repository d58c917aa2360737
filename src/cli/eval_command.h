// `llmrca eval`: run methods over a dataset and print AC@k / Avg@k tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/command.h"

namespace llmrca::cli {

struct EvalOptions {
  std::string dataset;
  std::string methods;
  std::vector<std::string> params;  // key=value applied to every method that declares the key
  int64_t jobs = 1;
  std::string format = "table";
  std::string out_dir;
  uint64_t seed = 0;
  bool no_progress = false;
  bool skip_flagged = false;
  double timeout_s = 0;
  int64_t threads = 1;
  PreprocessFlags preprocess;
};

void AddEvalCommand(CLI::App& app, CliContext& ctx);
Status RunEval(const EvalOptions& options, const CliContext& ctx);

}  // namespace llmrca::cli
