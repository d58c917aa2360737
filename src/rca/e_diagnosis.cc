#include "rca/e_diagnosis.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "base/random.h"
#include "data/preprocess.h"
#include "rca/params.h"
#include "rca/ranking.h"
#include "stats/descriptive.h"

namespace llmrca::rca {
namespace {

constexpr std::string_view kName = "e_diagnosis";

constexpr ParamSpec kParams[] = {
    kCompatParam,
    {"alpha", "double", "0.01",
     "significance level of the bootstrap threshold, in (0, 1) (RCAEval's E_ALPHA default)"},
    {"bootstrap", "int", "200", "bootstrap replicates drawn from the normal rows (PyRCA default)"},
    {"top_k", "int", "3",
     "compat=rcaeval only: the most root causes returned (PyRCA's root_cause_top_k)"},
};

// Minimum paired rows for a correlation that is not trivially 1.
constexpr Eigen::Index kMinPairs = 3;

struct Options {
  bool rcaeval_compat = false;
  double alpha = 0.01;
  int64_t bootstrap = 200;
  int64_t top_k = 3;
};

// Squared Pearson correlation of paired samples; 0 when either is constant.
// `var_ddof` lets the compat mode reproduce PyRCA's ddof-0 variances.
double SquaredCorrelation(std::span<const double> a, std::span<const double> b, int var_ddof) {
  const double va = stats::Variance(a, var_ddof), vb = stats::Variance(b, var_ddof);
  if (!(va > 0) || !(vb > 0)) return 0;
  const double cov = stats::Covariance(a, b, 1);
  return cov * cov / (va * vb);
}

class EDiagnosis final : public Method {
 public:
  explicit EDiagnosis(Options options) : options_(options) {}

  Result<Ranking> Rank(const data::Case& c, const RunContext& ctx) const override {
    LLMRCA_ASSIGN_OR_RETURN(const Eigen::Index split, SplitAtInjectTime(kName, c));
    const data::Frame& f = c.metrics;
    const Eigen::Index m = std::min(split, f.NumRows() - split);
    if (m < kMinPairs) {
      return Status::DataError(fmt::format(
          "{}: case '{}' has {} paired rows around the inject time, need >= {}", kName, c.id, m,
          kMinPairs));
    }
    // The last m normal rows and the first m anomalous rows.
    const size_t normal_begin = static_cast<size_t>(split - m);
    const size_t anomalous_begin = static_cast<size_t>(split);
    std::vector<Eigen::Index> cols;
    for (Eigen::Index j = 0; j < f.NumCols(); ++j) {
      if (options_.rcaeval_compat) {
        std::span<const double> col = f.Column(j);
        if (!data::VariesFromFirst(col.first(static_cast<size_t>(split))) ||
            !data::VariesFromFirst(col.subspan(static_cast<size_t>(split)))) {
          continue;
        }
      }
      cols.push_back(j);
    }
    // Paired windows, with `_mem` columns in MB as RCAEval's preprocess converts them.
    Eigen::MatrixXd a(m, static_cast<Eigen::Index>(cols.size()));
    Eigen::MatrixXd b(m, static_cast<Eigen::Index>(cols.size()));
    for (size_t k = 0; k < cols.size(); ++k) {
      std::span<const double> col = f.Column(cols[k]);
      const double unit = data::RcaevalUnitDivisor(f.Name(cols[k]));
      for (Eigen::Index r = 0; r < m; ++r) {
        a(r, static_cast<Eigen::Index>(k)) = col[normal_begin + static_cast<size_t>(r)] / unit;
        b(r, static_cast<Eigen::Index>(k)) = col[anomalous_begin + static_cast<size_t>(r)] / unit;
      }
    }
    if (options_.rcaeval_compat) return RankCompat(c, cols, a, b, ctx);
    return RankDefault(c, cols, a, b, ctx);
  }

 private:
  static std::span<const double> Col(const Eigen::MatrixXd& x, Eigen::Index j) {
    return {x.data() + j * x.rows(), static_cast<size_t>(x.rows())};
  }

  Result<Ranking> RankDefault(const data::Case& c, const std::vector<Eigen::Index>& cols,
                              const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                              const RunContext& ctx) const {
    const size_t m = static_cast<size_t>(a.rows());
    std::vector<double> scores(cols.size());
    std::vector<double> null(static_cast<size_t>(options_.bootstrap));
    for (size_t k = 0; k < cols.size(); ++k) {
      const Eigen::Index j = static_cast<Eigen::Index>(k);
      std::span<const double> normal = Col(a, j);
      // Pairs with a non-finite value on either side are left out.
      std::vector<double> pa, pb;
      for (size_t r = 0; r < m; ++r) {
        if (std::isfinite(normal[r]) && std::isfinite(Col(b, j)[r])) {
          pa.push_back(normal[r]);
          pb.push_back(Col(b, j)[r]);
        }
      }
      if (pa.size() < static_cast<size_t>(kMinPairs)) {
        scores[k] = 0;
        continue;
      }
      const double score = SquaredCorrelation(pa, pb, 1);
      // Null distribution: two independent resamples of the normal rows have no alignment.
      // One pass of sums per replicate over values centred on their mean (r^2 is shift-free, and
      // centring keeps the one-pass variance from cancelling on large-valued metrics).
      const double mean = stats::Mean(pa);
      for (double& v : pa) v -= mean;
      Rng rng(Rng::Derive(ctx.seed, c.metrics.Name(cols[k])));
      const uint64_t size = pa.size();
      const double count = static_cast<double>(size);
      for (double& v : null) {
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        for (uint64_t r = 0; r < size; ++r) {
          const double x = pa[rng.UniformInt(size)];
          const double y = pa[rng.UniformInt(size)];
          sx += x;
          sy += y;
          sxx += x * x;
          syy += y * y;
          sxy += x * y;
        }
        const double vx = sxx - sx * sx / count, vy = syy - sy * sy / count;
        const double cov = sxy - sx * sy / count;
        v = (vx > 0 && vy > 0) ? std::min(1.0, cov * cov / (vx * vy)) : 0;
      }
      const double threshold = stats::Quantile(null, 1 - options_.alpha);
      scores[k] = score - threshold;
    }
    return RankColumns(kName, c.metrics, cols, scores);
  }

  Result<Ranking> RankCompat(const data::Case& c, const std::vector<Eigen::Index>& cols,
                             const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                             const RunContext& ctx) const {
    const Eigen::Index m = a.rows();
    const Eigen::Index n = a.cols();
    if (n < 2) {
      return Status::DataError(fmt::format(
          "{}: case '{}' has {} usable column(s); the reference needs >= 2 for its pairwise "
          "bootstrap",
          kName, c.id, n));
    }
    // PyRCA hands replicate i's threshold to column i, so only the first min(n, B) replicates
    // are ever read; the rest are not drawn.
    const Eigen::Index used = std::min<Eigen::Index>(n, options_.bootstrap);
    std::vector<double> thresholds(static_cast<size_t>(used));
    Rng rng(ctx.seed);
    Eigen::MatrixXd sample(m, n);
    std::vector<double> pairs(static_cast<size_t>(n * (n - 1) / 2));
    for (Eigen::Index rep = 0; rep < used; ++rep) {
      for (Eigen::Index j = 0; j < n; ++j) {
        for (Eigen::Index r = 0; r < m; ++r) {
          sample(r, j) = a(rng.UniformInt(static_cast<uint64_t>(m)), j);
        }
      }
      // np.cov: ddof 1 covariance of the columns.
      Eigen::MatrixXd centered = sample.rowwise() - sample.colwise().mean();
      Eigen::MatrixXd cov = (centered.transpose() * centered) / static_cast<double>(m - 1);
      size_t idx = 0;
      for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = i + 1; j < n; ++j) {
          pairs[idx++] = (cov(i, i) == 0 || cov(j, j) == 0)
                             ? 0
                             : cov(i, j) * cov(i, j) / (cov(i, i) * cov(j, j));
        }
      }
      thresholds[static_cast<size_t>(rep)] = stats::Quantile(pairs, 1 - options_.alpha);
    }
    std::vector<Eigen::Index> found;
    std::vector<double> found_scores;
    for (Eigen::Index j = 0; j < n; ++j) {
      // PyRCA: np.var (ddof 0) for the zero checks and the denominator, np.cov (ddof 1) above.
      if (stats::Variance(Col(a, j), 0) == 0 || stats::Variance(Col(b, j), 0) == 0) continue;
      if (j >= used) {
        return Status::DataError(fmt::format(
            "{}: column '{}' is number {} but the reference draws only {} bootstrap thresholds "
            "(compat=rcaeval reproduces its failure)",
            kName, c.metrics.Name(cols[static_cast<size_t>(j)]), j + 1, options_.bootstrap));
      }
      const double score = SquaredCorrelation(Col(a, j), Col(b, j), 0);
      if (score > thresholds[static_cast<size_t>(j)]) {
        found.push_back(cols[static_cast<size_t>(j)]);
        found_scores.push_back(score);
      }
    }
    LLMRCA_ASSIGN_OR_RETURN(Ranking ranking, RankColumns(kName, c.metrics, found, found_scores));
    if (static_cast<int64_t>(ranking.size()) > options_.top_k) {
      ranking.resize(static_cast<size_t>(options_.top_k));
    }
    return ranking;
  }

  Options options_;
};

}  // namespace

MethodInfo EDiagnosisInfo() {
  return {kName,
          "epsilon-Diagnosis: squared correlation of normal vs anomalous windows against a "
          "bootstrap threshold",
          "Shan et al. (2019), epsilon-Diagnosis: Unsupervised and Real-time Diagnosis of "
          "Small-window Long-tail Latency in Large-scale Microservice Platforms, WWW",
          kParams};
}

Result<std::unique_ptr<Method>> CreateEDiagnosis(const ParamMap& given) {
  LLMRCA_ASSIGN_OR_RETURN(Params p, Params::Parse(EDiagnosisInfo(), given));
  LLMRCA_RETURN_IF_ERROR(p.CheckRange("alpha", 1e-9, 1 - 1e-9));
  LLMRCA_RETURN_IF_ERROR(p.CheckRange("bootstrap", 1, 1e6));
  LLMRCA_RETURN_IF_ERROR(p.CheckRange("top_k", 1, 1e9));
  Options options;
  options.rcaeval_compat = p.RcaevalCompat();
  options.alpha = p.Double("alpha");
  options.bootstrap = p.Int("bootstrap");
  options.top_k = p.Int("top_k");
  return std::unique_ptr<Method>(std::make_unique<EDiagnosis>(options));
}

}  // namespace llmrca::rca
