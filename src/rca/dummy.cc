#include "rca/dummy.h"

#include <numeric>
#include <vector>

#include "base/random.h"
#include "rca/params.h"
#include "rca/ranking.h"

namespace llmrca::rca {
namespace {

constexpr std::string_view kName = "dummy";

class Dummy final : public Method {
 public:
  Result<Ranking> Rank(const data::Case& c, const RunContext& ctx) const override {
    const size_t n = static_cast<size_t>(c.metrics.NumCols());
    std::vector<Eigen::Index> order(n);
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    Rng rng(ctx.seed);
    rng.Shuffle(std::span<Eigen::Index>(order));
    std::vector<double> scores(n);
    for (size_t i = 0; i < n; ++i) scores[i] = static_cast<double>(n - i);
    return RankColumns(kName, c.metrics, order, scores);
  }
};

}  // namespace

MethodInfo DummyInfo() {
  return {kName, "random order of the candidates (seeded): the baseline of every table",
          "RCAEval baseline (Pham, Ha, Zhang 2025)", {}};
}

Result<std::unique_ptr<Method>> CreateDummy(const ParamMap& given) {
  LLMRCA_RETURN_IF_ERROR(Params::Parse(DummyInfo(), given).status());
  return std::unique_ptr<Method>(std::make_unique<Dummy>());
}

}  // namespace llmrca::rca
