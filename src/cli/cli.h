// RunCli: the whole command-line program behind main(). Parses argv with CLI11, runs one
// subcommand and maps the outcome to an exit code: 0 success, 1 runtime failure (non-OK Status),
// 2 usage error (bad flag, unknown method or parameter). Data goes to stdout, errors and logs to
// stderr as one line "llmrca: <message>".
#pragma once

namespace llmrca::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 70;  // EX_SOFTWARE: a bug

int RunCli(int argc, char** argv);

}  // namespace llmrca::cli
