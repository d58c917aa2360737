// `llmrca version`: the version and which components were compiled in.
#pragma once

#include "cli/command.h"

namespace llmrca::cli {

void AddVersionCommand(CLI::App& app, CliContext& ctx);
Status RunVersion(const CliContext& ctx);

}  // namespace llmrca::cli
