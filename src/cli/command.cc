#include "cli/command.h"

#include <csignal>
#include <cstdio>

#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::cli {

void AddPreprocessFlags(CLI::App& command, PreprocessFlags& flags) {
  command
      .add_option("--skip", flags.skip,
                  "Switch off preprocessing steps (comma-separated or repeated). The steps, in "
                  "order (seed study A.7, RCAEval main.py):\n"
                  "  drop-latency-50    drop columns ending _latency-50\n"
                  "  drop-pod-node      drop columns containing _pod_, _node_ or unknown\n"
                  "  fill               inf -> NaN, forward fill, then NaN -> 0\n"
                  "  window             keep --window rows before and after the inject time\n"
                  "  rename-latency-90  rename the suffix _latency-90 to _latency\n"
                  "  drop-constant      drop columns with a single value")
      ->delimiter(',');
  command.add_option("--window", flags.window_rows,
                     "Rows kept on each side of the inject time (RCAEval: length*60//2; "
                     "the seed study used 1800); 0 keeps every row")
      ->default_val(data::kDefaultWindowRows)
      ->check(CLI::NonNegativeNumber);
}

Result<data::PreprocessOptions> ToPreprocessOptions(const PreprocessFlags& flags) {
  data::PreprocessOptions options;
  for (const std::string& step : flags.skip) {
    LLMRCA_RETURN_IF_ERROR(data::SkipStep(Trim(step), options));
  }
  options.window_rows = flags.window_rows;
  if (flags.window_rows == 0) options.window = false;
  return options;
}

Result<rca::ParamMap> ParseParamFlags(const std::vector<std::string>& items) {
  rca::ParamMap params;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument(fmt::format("--param '{}' is not key=value", item));
    }
    params[std::string(Trim(item.substr(0, eq)))] = std::string(Trim(item.substr(eq + 1)));
  }
  return params;
}

Status WriteStdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    return Status::IoError("cannot write to standard output");
  }
  return Status::Ok();
}

Status AsUsageError(Status status) {
  if (status.code() == StatusCode::kNotFound) {
    return Status::InvalidArgument(status.message());
  }
  return status;
}

namespace {

// Set by SIGINT/SIGTERM. A lock-free atomic is async-signal-safe to store to.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void OnStopSignal(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

std::atomic<bool>& CatchStopSignals() {
  g_stop = false;
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  return g_stop;
}

void ReleaseStopSignals() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace llmrca::cli
