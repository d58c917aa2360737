// llmrca's entry point: everything lives in the llmrca_cli library (RunCli); this file only adds
// the last-resort handler for an exception that escaped (a bug), reported with exit code 70.
#include <cstdio>
#include <exception>

#include "cli/cli.h"

int main(int argc, char** argv) {
  try {
    return llmrca::cli::RunCli(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmrca: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "llmrca: internal error: unknown exception\n");
  }
  return llmrca::cli::kExitInternal;
}
