// `llmrca rca`: rank the root causes of one case with one method.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/command.h"

namespace llmrca::cli {

struct RcaOptions {
  std::string case_dir;
  std::string method;
  std::vector<std::string> params;  // key=value
  int64_t top = 0;                  // 0 = every candidate
  std::string format = "table";
  uint64_t seed = 0;
  double timeout_s = 0;
  int64_t threads = 1;
  PreprocessFlags preprocess;
};

void AddRcaCommand(CLI::App& app, CliContext& ctx);
Status RunRca(const RcaOptions& options, const CliContext& ctx);

}  // namespace llmrca::cli
