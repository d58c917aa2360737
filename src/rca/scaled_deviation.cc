#include "rca/scaled_deviation.h"

#include <cmath>
#include <limits>
#include <vector>

#include "rca/params.h"
#include "rca/ranking.h"
#include "stats/descriptive.h"

namespace llmrca::rca {
namespace {

// RCAEval's drop_constant on one part: a column is kept when some row differs from its first.
bool VariesFromFirst(std::span<const double> x) {
  for (double v : x) {
    if (!(v == x[0])) return true;
  }
  return false;
}

bool EndsWithMem(const std::string& name) {
  return name.size() >= 4 && name.compare(name.size() - 4, 4, "_mem") == 0;
}

class DeviationMethod final : public Method {
 public:
  DeviationMethod(std::string_view name, DeviationOptions options)
      : name_(name), options_(options) {}
  Result<Ranking> Rank(const data::Case& c, const RunContext& /*ctx*/) const override {
    return RankByDeviation(name_, c, options_);
  }

 private:
  std::string_view name_;
  DeviationOptions options_;
};

}  // namespace

Result<std::unique_ptr<Method>> CreateDeviationMethod(const MethodInfo& info, Scaler scaler,
                                                      const ParamMap& given) {
  LLMRCA_ASSIGN_OR_RETURN(Params p, Params::Parse(info, given));
  DeviationOptions options;
  options.scaler = scaler;
  options.direction = p.String("direction") == "both" ? Direction::kBoth : Direction::kUp;
  options.rcaeval_compat = p.RcaevalCompat();
  return std::unique_ptr<Method>(std::make_unique<DeviationMethod>(info.name, options));
}

double DeviationScore(std::span<const double> normal, std::span<const double> anomalous,
                      Scaler scaler, Direction direction) {
  std::vector<double> fit = stats::FiniteValues(normal);
  if (fit.empty()) return 0;
  const stats::Scale s =
      scaler == Scaler::kRobust ? stats::RobustScale(fit) : stats::StandardScale(fit);
  double best = -std::numeric_limits<double>::infinity();
  for (double v : anomalous) {
    if (!std::isfinite(v)) continue;
    double z = (v - s.center) / s.scale;
    if (direction == Direction::kBoth) z = std::fabs(z);
    if (z > best) best = z;
  }
  return std::isfinite(best) ? best : 0;
}

Result<Ranking> RankByDeviation(std::string_view method, const data::Case& c,
                                const DeviationOptions& options) {
  LLMRCA_ASSIGN_OR_RETURN(const Eigen::Index split, SplitAtInjectTime(method, c));
  const data::Frame& f = c.metrics;
  const size_t n_normal = static_cast<size_t>(split);
  std::vector<Eigen::Index> cols;
  std::vector<double> scores;
  std::vector<double> scaled;
  for (Eigen::Index j = 0; j < f.NumCols(); ++j) {
    std::span<const double> col = f.Column(j);
    std::span<const double> normal = col.first(n_normal);
    std::span<const double> anomalous = col.subspan(n_normal);
    if (options.rcaeval_compat && !(VariesFromFirst(normal) && VariesFromFirst(anomalous))) {
      continue;
    }
    if (EndsWithMem(f.Name(j))) {
      scaled.assign(col.begin(), col.end());
      for (double& v : scaled) v /= 1e6;
      normal = std::span<const double>(scaled).first(n_normal);
      anomalous = std::span<const double>(scaled).subspan(n_normal);
    }
    cols.push_back(j);
    scores.push_back(DeviationScore(normal, anomalous, options.scaler, options.direction));
  }
  return RankColumns(method, f, cols, scores);
}

}  // namespace llmrca::rca
