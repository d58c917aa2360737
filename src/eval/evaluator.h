// The evaluation harness: runs methods over every case of a dataset and scores their rankings
// with AC@k / Avg@k per fault type and overall, at service level and fine-grained level, beside
// the expected accuracy of a random ranker. A method that fails on a case (or a case whose data
// cannot be read) is recorded as a failure, counted as a miss, and the run goes on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "data/ground_truth.h"
#include "data/preprocess.h"
#include "eval/metrics.h"
#include "rca/method.h"

namespace llmrca::eval {

// One method configuration to evaluate: `label` is how it appears in tables ("baro" or
// "baro:direction=both").
struct MethodSpec {
  std::string label;
  std::string name;
  rca::ParamMap params;
};

// Parses "all" or a comma-separated list of `name[:key=value[:key=value...]]`; every name and
// parameter is checked against `registry` (kNotFound / kInvalidArgument with suggestions).
// `common` parameters (e.g. compat=rcaeval) are added to every method that declares them.
Result<std::vector<MethodSpec>> ParseMethodSpecs(std::string_view text,
                                                 const rca::MethodRegistry& registry,
                                                 const rca::ParamMap& common = {});

struct EvalOptions {
  data::PreprocessOptions preprocess;
  size_t jobs = 1;         // cases evaluated in parallel
  uint64_t seed = 0;       // each case gets the stream Rng::Derive(seed, case id)
  bool progress = false;   // draw a progress bar when stderr is a terminal
  bool skip_flagged = false;  // leave out cases whose case.json says "flagged": true
  double timeout_s = 0;       // per method and case (0: none): past it, a failure
  size_t threads = 1;         // threads a method may use within one case
  // When set: per-case ranking JSON files are written there as cases finish.
  std::optional<std::filesystem::path> out_dir;
};

// One method on one case.
struct CaseOutcome {
  std::string case_id;
  std::string method;  // MethodSpec::label
  data::GroundTruth truth;
  bool failed = false;
  std::string error;
  rca::Ranking ranking;
  double seconds = 0;  // the Rank() call alone
  AtK service_hits{};
  std::optional<AtK> fine_hits;  // nullopt when the case has no fine-grained answer
};

// Per case (not per method): what a random ranker would score; absent when data failed to load.
struct CaseChance {
  std::string case_id;
  data::GroundTruth truth;
  std::optional<AtK> service;
  std::optional<AtK> fine;
};

enum class Level { kService, kFine };
std::string_view LevelName(Level level);

// One row of the report: a method (or "(random)") at one level over one group of cases.
struct SummaryRow {
  std::string method;
  Level level = Level::kService;
  std::string group;  // a fault type, "<service>_<fault>", or "overall"
  int64_t cases = 0;
  int64_t failed = 0;
  AtK ac{};
  double avg5 = 0;
  AtK chance_ac{};
  double chance_avg5 = 0;
  double seconds_per_case = 0;
};

struct EvalResult {
  std::string dataset;
  std::vector<MethodSpec> methods;
  int64_t total_cases = 0;
  std::vector<CaseOutcome> outcomes;   // case-major, method order within a case
  std::vector<CaseChance> chances;
  std::vector<std::string> skipped;    // cases without ground truth: "<id>: <why>"
  std::vector<std::string> flagged_skipped;  // cases left out by skip_flagged
  std::vector<SummaryRow> rows;        // service level first, then fine-grained
  Status output_status;                // the first failure writing per-case files, if any
};

// Evaluates `methods` on every case under `dataset`. Fails only when the dataset cannot be listed
// or the output directory cannot be created; per-case problems are recorded in the result, and a
// failure to write a per-case file in `output_status` (the evaluation itself is kept).
Result<EvalResult> RunEvaluation(const std::filesystem::path& dataset,
                                 const std::vector<MethodSpec>& methods,
                                 const rca::MethodRegistry& registry, const EvalOptions& options);

// Aggregates outcomes into rows per (method, level, group); exposed for tests.
std::vector<SummaryRow> Summarize(const std::vector<MethodSpec>& methods,
                                  const std::vector<CaseOutcome>& outcomes,
                                  const std::vector<CaseChance>& chances);

}  // namespace llmrca::eval
