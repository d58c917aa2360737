#include "data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::data {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> PreprocessStepNames() {
  return {"drop-latency-50", "drop-pod-node",     "fill",
          "window",          "rename-latency-90", "drop-constant"};
}

Status SkipStep(std::string_view step, PreprocessOptions& options) {
  if (step == "drop-latency-50") {
    options.drop_latency_50 = false;
  } else if (step == "drop-pod-node") {
    options.drop_pod_node = false;
  } else if (step == "fill") {
    options.fill = false;
  } else if (step == "window") {
    options.window = false;
  } else if (step == "rename-latency-90") {
    options.rename_latency_90 = false;
  } else if (step == "drop-constant") {
    options.drop_constant = false;
  } else {
    return Status::InvalidArgument(fmt::format("preprocess: unknown step '{}'{}", step,
                                               DidYouMean(step, PreprocessStepNames())));
  }
  return Status::Ok();
}

CsvReadOptions ReadOptionsFor(const PreprocessOptions& options) {
  CsvReadOptions read;
  if (!options.drop_latency_50 && !options.drop_pod_node) return read;
  read.keep_column = [drop50 = options.drop_latency_50,
                      drop_pod_node = options.drop_pod_node](std::string_view name) {
    if (drop50 && EndsWith(name, "_latency-50")) return false;
    if (drop_pod_node && (name.find("_pod_") != std::string_view::npos ||
                          name.find("_node_") != std::string_view::npos ||
                          name.find("unknown") != std::string_view::npos)) {
      return false;
    }
    return true;
  };
  return read;
}

void FillMissing(Frame& frame) {
  for (Eigen::Index j = 0; j < frame.NumCols(); ++j) {
    std::span<double> col = frame.MutableColumn(j);
    double last = std::numeric_limits<double>::quiet_NaN();
    for (double& v : col) {
      if (std::isfinite(v)) {
        last = v;
      } else {
        v = last;  // NaN until the first finite value
      }
    }
    for (double& v : col) {
      if (std::isnan(v)) v = 0.0;
    }
  }
}

Eigen::Index FirstRowAtOrAfter(const Frame& frame, double inject_time) {
  std::span<const double> t = frame.Time();
  return static_cast<Eigen::Index>(std::lower_bound(t.begin(), t.end(), inject_time) - t.begin());
}

Frame CutWindow(const Frame& frame, double inject_time, int64_t rows_per_side) {
  const Eigen::Index split = FirstRowAtOrAfter(frame, inject_time);
  const Eigen::Index begin = std::max<Eigen::Index>(0, split - rows_per_side);
  const Eigen::Index end = std::min<Eigen::Index>(frame.NumRows(), split + rows_per_side);
  if (begin == 0 && end == frame.NumRows()) return frame;
  return frame.SliceRows(begin, end);
}

Status RenameLatency90(Frame& frame) {
  constexpr std::string_view kFrom = "_latency-90";
  std::set<std::string, std::less<>> names(frame.Names().begin(), frame.Names().end());
  for (Eigen::Index j = 0; j < frame.NumCols(); ++j) {
    const std::string& name = frame.Name(j);
    if (!EndsWith(name, kFrom)) continue;
    std::string renamed = name.substr(0, name.size() - kFrom.size()) + "_latency";
    if (names.count(renamed) > 0) {
      return Status::DataError(fmt::format(
          "preprocess: renaming '{}' to '{}' would duplicate an existing column", name, renamed));
    }
    names.insert(renamed);
    frame.RenameColumn(j, std::move(renamed));
  }
  return Status::Ok();
}

bool VariesFromFirst(std::span<const double> x) {
  for (double v : x) {
    if (!(v == x[0])) return true;
  }
  return false;
}

double RcaevalUnitDivisor(std::string_view column) {
  return EndsWith(column, "_mem") ? 1e6 : 1.0;
}

Frame DropConstantColumns(const Frame& frame) {
  std::vector<Eigen::Index> keep;
  for (Eigen::Index j = 0; j < frame.NumCols(); ++j) {
    if (VariesFromFirst(frame.Column(j))) keep.push_back(j);
  }
  if (static_cast<Eigen::Index>(keep.size()) == frame.NumCols()) return frame;
  return frame.SelectColumns(keep);
}

Result<Frame> ApplyPreprocessing(Frame frame, double inject_time, const PreprocessOptions& options) {
  if (options.fill) FillMissing(frame);
  if (options.window && options.window_rows > 0) {
    frame = CutWindow(frame, inject_time, options.window_rows);
  }
  if (options.rename_latency_90) LLMRCA_RETURN_IF_ERROR(RenameLatency90(frame));
  if (options.drop_constant) frame = DropConstantColumns(frame);
  return frame;
}

}  // namespace llmrca::data
