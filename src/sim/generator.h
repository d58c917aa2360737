// The dataset generator behind `llmrca sim generate`: named profiles (the study's seed-parity
// experiment, every LLM fault, a scale test) expand into cases `<target>_<fault>/<rep>/`, each
// simulated (sim/simulator.h) and written in the FORMATS.md layout with inject_time.txt and a
// case.json holding the ground truth, the fault, and the measured effect on the SLI and on the
// root-cause metric; a case whose fault moved neither is flagged so `eval` can skip it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/config.h"

namespace llmrca::sim {

struct GenerateOptions {
  std::filesystem::path out;
  std::string profile = "seed-parity";
  uint64_t seed = 1;
  int cases = 0;        // 0: every case of the profile; else the first N (repetition-major)
  int replicas = -1;    // < 0: the profile's; else 1..1000
  double duration_s = -1;        // < 0: the profile's run length
  double fault_start_s = -1;     // < 0: the profile's fault start (offset from the load start)
  double fault_duration_s = -1;  // < 0: the profile's fault duration
  std::optional<TelemetryMode> telemetry;  // unset: the profile's
  std::string faults;   // empty: the profile's; else a fault list (ParseFaultList)
  // Load overrides (< 0 or empty: the profile's): total arrival rate, arrival pattern
  // ("constant" or "poisson"), bursts and a daily pattern (LoadConfig).
  double qps = -1;
  std::string arrival;
  double burst_period_s = 0, burst_length_s = 0, burst_factor = 1;
  double daily_amplitude = 0;
  std::string gpu;      // empty: the profile's GPU profile
  std::string model;    // empty: the profile's model
  size_t jobs = 1;
  bool force = false;   // write into a non-empty directory
  bool progress = false;
};

// One planned case.
struct PlannedCase {
  std::string id;  // "<target>_<fault>/<rep>"
  CaseConfig config;
};

// The profile names: "seed-parity", "llm-extended", "scale".
std::vector<std::string> ProfileNames();

// Expands `options` into cases (no files written). kInvalidArgument for an unknown profile,
// fault, GPU or model, zero or too many replicas, or a fault the profile cannot place.
Result<std::vector<PlannedCase>> PlanDataset(const GenerateOptions& options);

struct GenerateReport {
  int cases = 0;
  int flagged = 0;
  int64_t requests = 0;
  int64_t failed_requests = 0;
  double seconds = 0;
};

// Plans, simulates and writes the dataset. Per-case failures stop the run with the case named.
Result<GenerateReport> GenerateDataset(const GenerateOptions& options);

// Simulates one planned case into `dir` (all files); returns whether it was flagged.
Result<bool> WriteCase(const PlannedCase& planned, const std::filesystem::path& dir,
                       const std::string& profile, int64_t* requests = nullptr,
                       int64_t* failed = nullptr);

}  // namespace llmrca::sim
