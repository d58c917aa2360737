// Case: everything a root-cause method may see about one incident, read from a case directory
// (FORMATS.md): the preprocessed metric frame, the inject time that splits it into a normal and
// an anomalous part, and the SLI column when case.json names one. Ground truth is deliberately
// absent (see ground_truth.h): no method can read the answer by accident.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"
#include "data/frame.h"
#include "data/preprocess.h"

namespace llmrca::data {

struct Case {
  std::string id;     // the case's path relative to its dataset, e.g. "ray-head_cpu/1"
  Frame metrics;      // preprocessed; columns are the candidates a method ranks
  double inject_time = 0;  // unix seconds; rows with time < inject_time are normal
  std::string sli;    // an SLI column named by case.json, or empty

  // Rows [0, FirstAnomalousRow()) are normal, the rest anomalous.
  Eigen::Index FirstAnomalousRow() const { return FirstRowAtOrAfter(metrics, inject_time); }
};

// The metrics file of a case directory: data.csv, else simple_metrics.csv, else metrics.csv
// (RCAEval's RE2/RE3 names); kNotFound naming the directory when there is none.
Result<std::filesystem::path> FindMetricsFile(const std::filesystem::path& dir);

// Reads inject_time.txt: the first line holds the unix seconds of the fault start (an integer;
// a decimal is accepted). kIoError if unreadable, kDataError naming file, line and column if not
// a finite number.
Result<double> ReadInjectTime(const std::filesystem::path& path);

// Loads the case in `dir`: metrics (preprocessed per `options`), inject time and, from case.json
// if present, the SLI. `id` defaults to the directory's name. Errors name the file at fault;
// kDataError when no metric column survives preprocessing.
Result<Case> LoadCase(const std::filesystem::path& dir, const PreprocessOptions& options,
                      std::string id = "");

}  // namespace llmrca::data
