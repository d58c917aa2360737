#include "rca/scaled_deviation.h"

#include <cmath>
#include <limits>
#include <vector>

#include "data/preprocess.h"
#include "rca/params.h"
#include "rca/ranking.h"
#include "stats/descriptive.h"

namespace llmrca::rca {
namespace {

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
    if (options.rcaeval_compat &&
        !(data::VariesFromFirst(normal) && data::VariesFromFirst(anomalous))) {
      continue;
    }
    const double divisor = data::RcaevalUnitDivisor(f.Name(j));
    if (divisor != 1.0) {
      scaled.assign(col.begin(), col.end());
      for (double& v : scaled) v /= divisor;
      normal = std::span<const double>(scaled).first(n_normal);
      anomalous = std::span<const double>(scaled).subspan(n_normal);
    }
    cols.push_back(j);
    scores.push_back(DeviationScore(normal, anomalous, options.scaler, options.direction));
  }
  return RankColumns(method, f, cols, scores);
}

}  // namespace llmrca::rca
