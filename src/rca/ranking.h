// Helpers shared by methods to turn per-column scores into a Ranking, with the tie rule of the
// reference implementations (Python's stable sort, descending: equal scores keep column order).
#pragma once

#include <span>
#include <string_view>

#include <Eigen/Core>

#include "base/status.h"
#include "data/frame.h"
#include "rca/method.h"

namespace llmrca::rca {

// Ranks columns `cols` of `frame` by `scores` (same length), best first, stable. kInternal
// naming the method and column when a score is NaN (a method must never emit one).
Result<Ranking> RankColumns(std::string_view method, const data::Frame& frame,
                            std::span<const Eigen::Index> cols, std::span<const double> scores);

// The split of a case into its normal rows [0, split) and anomalous rows [split, n): kDataError
// naming the case when either part is empty.
Result<Eigen::Index> SplitAtInjectTime(std::string_view method, const data::Case& c);

}  // namespace llmrca::rca
