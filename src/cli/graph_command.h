// `llmrca graph`: learn one causal graph from a case or a plain table and print it.
#pragma once

#include <cstdint>
#include <string>

#include "causal/learn.h"
#include "cli/command.h"

namespace llmrca::cli {

struct GraphOptions {
  std::string case_dir;
  std::string csv;
  causal::LearnOptions learn;  // the algorithm's options, bound to the flags directly
  // Flags whose values are names of enumerators in `learn`.
  std::string score = "bic";
  std::string granger_test = "ssr_f";
  std::string lingam = "ica";
  std::string format = "json";
  int64_t threads = 1;
  double timeout_s = 0;
  PreprocessFlags preprocess;
};

void AddGraphCommand(CLI::App& app, CliContext& ctx);
Status RunGraph(const GraphOptions& options);

}  // namespace llmrca::cli
