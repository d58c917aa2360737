// Strict, fast reader of wide metric CSV files (data.csv): a header line, then one row per
// sample with a `time` column (unix seconds) and one numeric column per series. Every problem is
// a kDataError naming the file, line and column: a ragged row, a non-numeric cell, a missing or
// non-finite or decreasing time, a duplicate column name. Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "base/file.h"
#include "base/status.h"
#include "data/frame.h"

namespace llmrca::data {

struct CsvReadOptions {
  // Called once per header name (other than the time column); columns for which it returns
  // false are skipped without being parsed, so they may hold text (e.g. the study's `_pod_ip`).
  // Empty: keep every column.
  std::function<bool(std::string_view name)> keep_column;
};

// Parses `text`; `source` names it in error messages (usually the file path).
// Accepted: comma-separated cells, optional double quotes around a cell ("" inside quotes is a
// quote), CRLF or LF line ends, a UTF-8 byte-order mark, blank lines (skipped, as pandas does),
// spaces around numbers, a leading '+'. An empty cell is NaN; `inf`, `-inf`, `infinity` and
// `nan` (any case) are read as such. The time column is `time` (or `Time`). Columns named
// `Unnamed: <n>` or with an empty name (a pandas index) and `time.<n>` (RCAEval's duplicate time
// column) are skipped.
Result<Frame> ParseMetricsCsv(std::string_view text, std::string_view source,
                              const CsvReadOptions& options = {});

// Reads and parses the file at `path`; kIoError if it cannot be read.
Result<Frame> ReadMetricsCsv(const std::filesystem::path& path, const CsvReadOptions& options = {});

// Reads a whole file into a string; kIoError naming the path and the OS error (base/file.h).
using llmrca::ReadFileToString;

}  // namespace llmrca::data
