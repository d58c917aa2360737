// The scoring shared by BARO's RobustScorer and N-Sigma: fit a location and scale on each
// column's normal rows, and score the column by the largest scaled deviation of its anomalous
// rows. Only the scaler differs between the two methods (baro.h and nsigma.h document them).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "base/status.h"
#include "data/case.h"
#include "rca/method.h"

namespace llmrca::rca {

enum class Scaler { kRobust, kStandard };
// kUp: the largest signed z (the reference: a drop never ranks high); kBoth: the largest |z|.
enum class Direction { kUp, kBoth };

struct DeviationOptions {
  Scaler scaler = Scaler::kRobust;
  Direction direction = Direction::kUp;
  // RCAEval: preprocess the normal and anomalous parts separately and keep only the columns that
  // are non-constant in both (a column flat before the fault is then never scored).
  bool rcaeval_compat = false;
};

// The score of one column from its normal and anomalous values. Non-finite values are ignored;
// with no finite value in either part the score is 0.
double DeviationScore(std::span<const double> normal, std::span<const double> anomalous,
                      Scaler scaler, Direction direction);

// Ranks the case's columns by DeviationScore. Columns named `*_mem` are divided by 1e6 first,
// as RCAEval's preprocess does (it changes scores only where the scale falls back to 1).
// kDataError when the case has no row before or none after the inject time.
Result<Ranking> RankByDeviation(std::string_view method, const data::Case& c,
                                const DeviationOptions& options);

// The parameters both methods declare: compat and direction.
inline constexpr ParamSpec kDeviationParams[] = {
    {"compat", "enum:none|rcaeval", "none",
     "none: score every candidate (reference bugs fixed); rcaeval: reproduce RCAEval exactly, "
     "dropping columns constant before or after the inject time"},
    {"direction", "enum:up|both", "up",
     "up: score = largest signed z-score after the inject time (reference); both: largest |z|"},
};

// Creates the method `info.name` ranking by DeviationScore with `scaler`, configured by `given`
// (validated against info.params, which must be kDeviationParams).
Result<std::unique_ptr<Method>> CreateDeviationMethod(const MethodInfo& info, Scaler scaler,
                                                      const ParamMap& given);

}  // namespace llmrca::rca
