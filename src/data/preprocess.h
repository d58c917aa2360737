// The harness-level preprocessing of the seed study and RCAEval (seed-study.md A.7,
// rcaeval-methods.md section 1), applied to a case's metrics before any method sees them.
// Each step can be switched off. Steps, in order:
//   drop-latency-50    drop columns ending `_latency-50` (done while reading, never parsed)
//   drop-pod-node      drop columns containing `_pod_`, `_node_` or `unknown` (done while
//                      reading, so such columns may hold text such as the study's pod IPs)
//   fill               +-inf -> NaN, forward fill, then the remaining NaN (leading) -> 0
//   window             keep the last N rows before the inject time and the first N from it
//   rename-latency-90  rename the suffix `_latency-90` to `_latency`
//   drop-constant      drop columns whose every value equals the first (RCAEval's rule: a
//                      column starting with NaN is never constant)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "data/csv.h"
#include "data/frame.h"

namespace llmrca::data {

// RCAEval main.py's default `--length 20` minutes -> 20*60//2 rows on each side.
constexpr int64_t kDefaultWindowRows = 600;

struct PreprocessOptions {
  bool drop_latency_50 = true;
  bool drop_pod_node = true;
  bool fill = true;
  bool window = true;
  int64_t window_rows = kDefaultWindowRows;  // per side; used when `window` is on
  bool rename_latency_90 = true;
  bool drop_constant = true;
};

// The step names accepted by SkipStep(), in the order they run.
std::vector<std::string> PreprocessStepNames();
// Switches one step off by name; kInvalidArgument (with a suggestion) for an unknown name.
Status SkipStep(std::string_view step, PreprocessOptions& options);

// The read-time column filter implementing drop-latency-50 and drop-pod-node.
CsvReadOptions ReadOptionsFor(const PreprocessOptions& options);

// Applies fill, window, rename-latency-90 and drop-constant to a frame read with
// ReadOptionsFor(options). kDataError when renaming would duplicate a column name.
Result<Frame> ApplyPreprocessing(Frame frame, double inject_time, const PreprocessOptions& options);

// The steps one by one, each usable on its own.
void FillMissing(Frame& frame);
Frame CutWindow(const Frame& frame, double inject_time, int64_t rows_per_side);
Status RenameLatency90(Frame& frame);
Frame DropConstantColumns(const Frame& frame);

// RCAEval's constant rule (drop_constant): true when some value differs from the first; NaN
// differs from everything, so a series starting with NaN always varies.
bool VariesFromFirst(std::span<const double> x);

// RCAEval's convert_mem_mb: columns whose name ends in `_mem` are divided by 1e6 (bytes to MB);
// returns that divisor, or 1 for other columns.
double RcaevalUnitDivisor(std::string_view column);

// Index of the first row whose time is >= inject_time (NumRows() if none); rows are sorted.
Eigen::Index FirstRowAtOrAfter(const Frame& frame, double inject_time);

}  // namespace llmrca::data
