// What every subcommand file shares: the context a subcommand runs in, the signature of the
// functions that add a subcommand to the CLI11 app, and the preprocessing flags common to the
// commands that read cases.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "data/preprocess.h"
#include "rca/method.h"

namespace llmrca::cli {

struct CliContext {
  const rca::MethodRegistry* methods = nullptr;
  // Set by the subcommand that ran; a kInvalidArgument status is a usage error (exit 2).
  Status status;
};

// Adds one subcommand to `app`; its callback runs the command and stores the Status in `ctx`.
using AddCommandFn = void (*)(CLI::App& app, CliContext& ctx);

struct Command {
  const char* name;
  AddCommandFn add;
};
// The table of every subcommand (commands.cc), like ninja's kTools[].
std::span<const Command> Commands();

// Flags of the harness preprocessing: --skip STEP (repeatable or comma-separated) and --window N.
struct PreprocessFlags {
  std::vector<std::string> skip;
  int64_t window_rows = data::kDefaultWindowRows;
};
void AddPreprocessFlags(CLI::App& command, PreprocessFlags& flags);
Result<data::PreprocessOptions> ToPreprocessOptions(const PreprocessFlags& flags);

// Parses "key=value" strings into a ParamMap; kInvalidArgument for a malformed item.
Result<rca::ParamMap> ParseParamFlags(const std::vector<std::string>& items);

// Writes to stdout; a failed write (e.g. a closed pipe) is a kIoError.
Status WriteStdout(const std::string& text);

// Makes SIGINT and SIGTERM set the returned flag (cleared first) instead of killing the
// process, so that a long-running command (load, serve-sim) can stop cleanly; a second signal
// kills the process the usual way. ReleaseStopSignals() restores the default handlers.
std::atomic<bool>& CatchStopSignals();
void ReleaseStopSignals();

// Turns "unknown method" (kNotFound from the registry) into a usage error.
Status AsUsageError(Status status);

}  // namespace llmrca::cli
