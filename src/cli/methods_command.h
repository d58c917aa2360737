// `llmrca methods`: list the registered methods with their summaries and parameters.
#pragma once

#include <string>

#include "cli/command.h"

namespace llmrca::cli {

struct MethodsOptions {
  std::string format = "table";
};

void AddMethodsCommand(CLI::App& app, CliContext& ctx);
Status RunMethods(const MethodsOptions& options, const CliContext& ctx);

}  // namespace llmrca::cli
