#include "rca/ranking.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace llmrca::rca {

Result<Ranking> RankColumns(std::string_view method, const data::Frame& frame,
                            std::span<const Eigen::Index> cols, std::span<const double> scores) {
  if (cols.size() != scores.size()) {
    return Status::Internal(fmt::format("{}: {} scores for {} columns", method, scores.size(),
                                        cols.size()));
  }
  std::vector<size_t> order(cols.size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) {
      return Status::Internal(
          fmt::format("{}: NaN score for column '{}'", method, frame.Name(cols[i])));
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  Ranking ranking;
  ranking.reserve(order.size());
  for (size_t i : order) {
    data::ColumnName name = data::SplitColumnName(frame.Name(cols[i]));
    ranking.push_back({std::move(name.service), std::move(name.indicator), scores[i]});
  }
  return ranking;
}

Result<Eigen::Index> SplitAtInjectTime(std::string_view method, const data::Case& c) {
  const Eigen::Index split = c.FirstAnomalousRow();
  const Eigen::Index n = c.metrics.NumRows();
  if (split == 0) {
    return Status::DataError(fmt::format(
        "{}: case '{}' has no row before the inject time {} (first row at {})", method, c.id,
        c.inject_time, n > 0 ? c.metrics.Time()[0] : c.inject_time));
  }
  if (split == n) {
    return Status::DataError(fmt::format(
        "{}: case '{}' has no row at or after the inject time {} (last row at {})", method, c.id,
        c.inject_time, c.metrics.Time()[static_cast<size_t>(n - 1)]));
  }
  return split;
}

}  // namespace llmrca::rca
