// `llmrca sim generate`: write a dataset of simulated LLM-serving incidents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/command.h"

namespace llmrca::cli {

struct SimGenerateOptions {
  std::string out;
  std::string profile = "seed-parity";
  uint64_t seed = 1;
  int cases = 0;
  int replicas = -1;
  double duration_s = -1;
  double fault_start_s = -1;
  double fault_duration_s = -1;
  std::string telemetry;  // "", "seed" or "full"
  std::string faults;
  double qps = -1;
  std::string arrival;
  std::vector<double> burst;  // period_s, length_s, factor
  double daily_amplitude = 0;
  std::string gpu;
  std::string model;
  int64_t jobs = 1;
  bool force = false;
  bool no_progress = false;
};

void AddSimCommand(CLI::App& app, CliContext& ctx);
Status RunSimGenerate(const SimGenerateOptions& options);

}  // namespace llmrca::cli
