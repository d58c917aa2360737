#include "cli/cli.h"

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/log.h"
#include "cli/command.h"
#include "rca/method.h"

namespace llmrca::cli {

int RunCli(int argc, char** argv) {
  rca::MethodRegistry methods;
  rca::AddBuiltinMethods(methods);
  CliContext ctx;
  ctx.methods = &methods;

  CLI::App app("llmrca: root cause analysis for LLM inference systems", "llmrca");
  app.require_subcommand(1);
  app.footer("Run `llmrca <command> --help` for a command's flags and examples.");
  std::string log_level = "warning";
  app.add_option("--log-level", log_level, "Messages on stderr at or above this level")
      ->check(CLI::IsMember({"debug", "info", "warning", "error", "off"}))
      ->default_val("warning");
  for (const Command& command : Commands()) command.add(app, ctx);
  app.parse_complete_callback([&log_level] {
    if (log_level == "debug") SetLogLevel(LogLevel::kDebug);
    if (log_level == "info") SetLogLevel(LogLevel::kInfo);
    if (log_level == "warning") SetLogLevel(LogLevel::kWarning);
    if (log_level == "error") SetLogLevel(LogLevel::kError);
    if (log_level == "off") SetLogLevel(LogLevel::kOff);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; the rest are usage errors.
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (ctx.status.ok()) return kExitOk;
  std::fprintf(stderr, "llmrca: %s\n", ctx.status.message().c_str());
  return ctx.status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

}  // namespace llmrca::cli
