#include "rca/graph_method.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/check.h"
#include "causal/graph.h"
#include "causal/learn.h"
#include "data/preprocess.h"
#include "rca/graph_rankers.h"
#include "rca/params.h"
#include "rca/ranking.h"
#include "rca/scaled_deviation.h"

namespace llmrca::rca {
namespace {

// ---- Parameters -------------------------------------------------------------------------

constexpr ParamSpec kCompat = {
    "compat", "enum:none|rcaeval", "none",
    "none: the method as intended (personalised PageRank, an anomaly-weighted walk, fixed "
    "conversions); rcaeval: reproduce the RCAEval reference exactly, quirks included"};

constexpr ParamSpec kCiParams[] = {
    {"alpha", "double", "0.05", "significance level of the independence tests"},
    {"depth", "int", "-1", "largest conditioning set (-1: unlimited)"},
    {"indep_test", "enum:fisherz|chisq|gsq", "fisherz",
     "independence test; chisq and gsq discretise each metric into `bins` quantile bins"},
    {"bins", "int", "5", "quantile bins per metric for chisq / gsq"},
};
constexpr ParamSpec kPcOnly[] = {
    {"stable", "bool", "true", "order-independent skeleton (causal-learn's stable)"},
    {"uc_rule", "enum:0|1|2", "0", "unshielded colliders: 0 uc_sepset, 1 maxP, 2 definiteMaxP"},
    {"uc_priority", "enum:-1|0|1|2|3|4", "2", "collider conflicts, as causal-learn's uc_priority"},
};
constexpr ParamSpec kFciOnly[] = {
    {"max_path_length", "int", "-1", "longest discriminating / possible-d-sep path (-1: any)"},
};
constexpr ParamSpec kGesParams[] = {
    {"score", "enum:bic|bdeu", "bic", "local score: BIC (continuous) or BDeu (discretised)"},
    {"max_parents", "int", "-1", "largest parent set (-1: unlimited)"},
    {"bins", "int", "5", "quantile bins per metric for bdeu"},
};
constexpr ParamSpec kGrangerParams[] = {
    {"max_lag", "int", "3", "largest lag tested"},
    {"alpha", "double", "0.05", "significance level"},
    {"test", "enum:auto|ssr_f|rcaeval", "auto",
     "ssr_f: the F test; rcaeval: the mean p of the four statsmodels tests; auto: ssr_f, or "
     "rcaeval under compat=rcaeval"},
    {"multivariate", "bool", "false", "one VAR over all metrics instead of pairs"},
};
constexpr ParamSpec kLingamParams[] = {
    {"variant", "enum:ica|direct", "ica", "ICA-LiNGAM (the reference) or DirectLiNGAM"},
};
constexpr ParamSpec kNtlrParams[] = {
    {"rank", "int", "10", "rank of the weighted adjacency (the reference: 10)"},
    {"threshold", "double", "0.3", "weights below this are no edge"},
};
constexpr ParamSpec kPageRankParams[] = {
    {"damping", "double", "0.85", "damping factor"},
    {"personalize", "bool", "true", "teleport to metrics in proportion to their anomaly scores"},
    {"iterations", "int", "0",
     "power iterations (0: to convergence; under compat the reference's cap)"},
};
constexpr ParamSpec kRandomWalkParams[] = {
    {"rho", "double", "0.5", "weight of a step back to an effect relative to a step to a cause"},
    {"steps", "int", "0", "walk length (0: 1000 per metric)"},
};

std::vector<ParamSpec> BuilderParams(std::string_view builder) {
  std::vector<ParamSpec> out;
  auto add = [&](std::span<const ParamSpec> specs) { out.insert(out.end(), specs.begin(), specs.end()); };
  if (builder == "pc") {
    add(kCiParams);
    add(kPcOnly);
  } else if (builder == "fci") {
    add(kCiParams);
    add(kFciOnly);
  } else if (builder == "ges") {
    add(kGesParams);
  } else if (builder == "granger") {
    add(kGrangerParams);
  } else if (builder == "lingam") {
    add(kLingamParams);
  } else if (builder == "ntlr") {
    add(kNtlrParams);
  }
  return out;
}

struct Definition {
  std::string_view name;
  std::string_view builder;
  std::string_view ranker;
  std::string_view summary;
  std::string_view citation;
};

constexpr std::string_view kPcCite =
    "Spirtes, Glymour, Scheines (2000), Causation, Prediction, and Search; ranked as in RCAEval";
constexpr std::string_view kFciCite =
    "Spirtes, Meek, Richardson (1995), Causal Inference in the Presence of Latent Variables; "
    "Zhang (2008) orientation rules; ranked as in RCAEval";
constexpr std::string_view kGesCite =
    "Chickering (2002), Optimal Structure Identification With Greedy Search; ranked as in RCAEval";
constexpr std::string_view kGrangerCite =
    "Granger (1969), Investigating Causal Relations by Econometric Models; ranked as in RCAEval";
constexpr std::string_view kLingamCite =
    "Shimizu et al. (2006), A Linear Non-Gaussian Acyclic Model for Causal Discovery; ranked as "
    "in RCAEval";
constexpr std::string_view kNtlrCite =
    "Zheng et al. (2018), DAGs with NO TEARS; Fang et al. (2023), low-rank DAGs; ranked as in "
    "RCAEval";

constexpr Definition kDefinitions[] = {
    {"fci_pagerank", "fci", "pagerank", "FCI causal graph (PAG), ranked by PageRank", kFciCite},
    {"fci_randomwalk", "fci", "randomwalk", "FCI causal graph (PAG), ranked by a random walk",
     kFciCite},
    {"ges_pagerank", "ges", "pagerank", "GES causal graph (BIC), ranked by PageRank", kGesCite},
    {"ges_randomwalk", "ges", "randomwalk", "GES causal graph (BIC), ranked by a random walk",
     kGesCite},
    {"granger_pagerank", "granger", "pagerank", "pairwise Granger graph, ranked by PageRank",
     kGrangerCite},
    {"granger_randomwalk", "granger", "randomwalk",
     "pairwise Granger graph, ranked by a random walk", kGrangerCite},
    {"lingam_pagerank", "lingam", "pagerank", "ICA-LiNGAM causal graph, ranked by PageRank",
     kLingamCite},
    {"lingam_randomwalk", "lingam", "randomwalk",
     "ICA-LiNGAM causal graph, ranked by a random walk", kLingamCite},
    {"ntlr_pagerank", "ntlr", "pagerank", "NOTEARS low-rank causal graph, ranked by PageRank",
     kNtlrCite},
    {"ntlr_randomwalk", "ntlr", "randomwalk",
     "NOTEARS low-rank causal graph, ranked by a random walk", kNtlrCite},
    {"pc_pagerank", "pc", "pagerank", "PC causal graph (CPDAG), ranked by PageRank", kPcCite},
    {"pc_randomwalk", "pc", "randomwalk", "PC causal graph (CPDAG), ranked by a random walk",
     kPcCite},
};

const Definition* FindDefinition(std::string_view builder, std::string_view ranker) {
  for (const Definition& d : kDefinitions) {
    if (d.builder == builder && d.ranker == ranker) return &d;
  }
  return nullptr;
}

// The parameter table of one method, built once (constant data, no side effects).
std::span<const ParamSpec> ParamsFor(const Definition& d) {
  static const std::map<std::string_view, std::vector<ParamSpec>> kTables = [] {
    std::map<std::string_view, std::vector<ParamSpec>> tables;
    for (const Definition& def : kDefinitions) {
      std::vector<ParamSpec> specs = {kCompat};
      std::vector<ParamSpec> b = BuilderParams(def.builder);
      specs.insert(specs.end(), b.begin(), b.end());
      if (def.ranker == "pagerank") {
        specs.insert(specs.end(), std::begin(kPageRankParams), std::end(kPageRankParams));
      } else {
        specs.insert(specs.end(), std::begin(kRandomWalkParams), std::end(kRandomWalkParams));
      }
      tables[def.name] = std::move(specs);
    }
    return tables;
  }();
  return kTables.at(d.name);
}

// ---- Graph construction --------------------------------------------------------------------

causal::LearnOptions LearnOptionsFrom(std::string_view builder, const Params& p, bool compat,
                                      const RunContext& ctx) {
  causal::LearnOptions o;
  o.algo = std::string(builder);
  o.threads = ctx.threads;
  o.seed = ctx.seed;
  o.deadline = ctx.deadline;
  o.pseudo_inverse_fallback = !compat;  // the reference fails on a singular correlation matrix
  o.lingam_independent_subset = !compat;  // the reference's FastICA fails on dependent columns
  o.lingam_unit_scale_lasso = !compat;    // the reference's LARS stop is absolute
  if (builder == "pc" || builder == "fci") {
    o.alpha = p.Double("alpha");
    o.depth = static_cast<int>(p.Int("depth"));
    o.indep_test = p.String("indep_test");
    o.bins = static_cast<int>(p.Int("bins"));
    if (builder == "pc") {
      o.stable = p.Bool("stable");
      o.uc_rule = static_cast<int>(p.Int("uc_rule"));
      o.uc_priority = static_cast<int>(p.Int("uc_priority"));
    } else {
      o.max_path_length = static_cast<int>(p.Int("max_path_length"));
    }
  } else if (builder == "ges") {
    o.score = p.String("score") == "bdeu" ? causal::GesScore::kBdeu : causal::GesScore::kBic;
    o.max_parents = static_cast<int>(p.Int("max_parents"));
    o.bins = static_cast<int>(p.Int("bins"));
  } else if (builder == "granger") {
    o.max_lag = static_cast<int>(p.Int("max_lag"));
    o.alpha = p.Double("alpha");
    o.multivariate = p.Bool("multivariate");
    const std::string& test = p.String("test");
    o.granger_test = (test == "rcaeval" || (test == "auto" && compat))
                         ? causal::GrangerTest::kRcaevalAverage
                         : causal::GrangerTest::kSsrF;
  } else if (builder == "lingam") {
    o.lingam = p.String("variant") == "direct" ? causal::LingamVariant::kDirect
                                                 : causal::LingamVariant::kIca;
  } else if (builder == "ntlr") {
    o.rank = static_cast<int>(p.Int("rank"));
    o.threshold = p.Double("threshold");
  }
  return o;
}

// ---- Ranker inputs ---------------------------------------------------------------------------

// The intended PageRank input: edge effect -> cause. A tail or circle at a and an arrowhead at b
// reads as a -> b (so FCI's a o-> b too); any other edge counts both ways.
Eigen::MatrixXi EffectToCause(const causal::Graph& g) {
  const int n = g.size();
  Eigen::MatrixXi a = Eigen::MatrixXi::Zero(n, n);
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      if (!g.Adjacent(i, j)) continue;
      const causal::Mark at_i = g.At(i, j), at_j = g.At(j, i);
      const bool i_causes_j = at_j == causal::Mark::kArrow && at_i != causal::Mark::kArrow;
      const bool j_causes_i = at_i == causal::Mark::kArrow && at_j != causal::Mark::kArrow;
      if (i_causes_j) {
        a(j, i) = 1;
      } else if (j_causes_i) {
        a(i, j) = 1;
      } else {
        a(i, j) = a(j, i) = 1;
      }
    }
  }
  return a;
}

// RCAEval's page_rank_preprocess (rcaeval-methods.md 4.5 step 2), FCI's reversal included.
Result<Eigen::MatrixXi> RcaevalPageRankInput(const Eigen::MatrixXi& adj) {
  const Eigen::Index n = adj.rows();
  Eigen::MatrixXi pr = Eigen::MatrixXi::Zero(n, n);
  for (Eigen::Index a = 0; a < n; ++a) {
    for (Eigen::Index b = 0; b < n; ++b) {
      const int ab = adj(a, b), ba = adj(b, a);
      if (ab == 0 && ba == 0) continue;
      if (ab == -1 && ba == -1) {
        pr(a, b) = pr(b, a) = 1;
      } else if ((ab == 1 && ba == -1) || (ab == 1 && ba == 0) || (ab == 2 && ba == 1)) {
        pr(a, b) = 1;
      } else if ((ab == -1 && ba == 1) || (ab == 0 && ba == 1) || (ab == 1 && ba == 2)) {
        pr(b, a) = 1;
      } else if ((ab == 1 && ba == 1) || (ab == 2 && ba == 2)) {
        pr(a, b) = pr(b, a) = 1;
      } else {
        return Status::DataError(fmt::format(
            "graph methods: the reference cannot convert the edge marks {} and {} (it raises)", ab,
            ba));
      }
    }
  }
  return pr;
}

// Anomaly score of each column: the largest |robust z| after the inject time (baro, both ways).
std::vector<double> AnomalyScores(const data::Case& c, Eigen::Index split) {
  std::vector<double> a(static_cast<size_t>(c.metrics.NumCols()));
  for (Eigen::Index j = 0; j < c.metrics.NumCols(); ++j) {
    std::span<const double> col = c.metrics.Column(j);
    const double s = DeviationScore(col.first(static_cast<size_t>(split)),
                                    col.subspan(static_cast<size_t>(split)), Scaler::kRobust,
                                    Direction::kBoth);
    a[static_cast<size_t>(j)] = std::isfinite(s) ? s : 0;
  }
  return a;
}

class GraphMethod final : public Method {
 public:
  GraphMethod(const Definition& def, Params params)
      : def_(def), params_(std::move(params)), compat_(params_.RcaevalCompat()) {}

  Result<Ranking> Rank(const data::Case& c, const RunContext& ctx) const override {
    return compat_ ? RankCompat(c, ctx) : RankDefault(c, ctx);
  }

 private:
  Result<Ranking> RankDefault(const data::Case& c, const RunContext& ctx) const {
    LLMRCA_ASSIGN_OR_RETURN(const Eigen::Index split, SplitAtInjectTime(def_.name, c));
    const data::Frame& f = c.metrics;
    // Constant or non-finite columns carry no dependence information: leave them out of the
    // graph and rank them last.
    std::vector<Eigen::Index> used;
    for (Eigen::Index j = 0; j < f.NumCols(); ++j) {
      std::span<const double> col = f.Column(j);
      const bool finite = std::all_of(col.begin(), col.end(), [](double v) { return std::isfinite(v); });
      if (finite && data::VariesFromFirst(col)) used.push_back(j);
    }
    std::vector<double> scores(static_cast<size_t>(f.NumCols()), 0.0);
    if (used.size() >= 2) {
      Eigen::MatrixXd x(f.NumRows(), static_cast<Eigen::Index>(used.size()));
      for (size_t k = 0; k < used.size(); ++k) x.col(static_cast<Eigen::Index>(k)) = f.Values().col(used[k]);
      Result<causal::LearnedGraph> built =
          causal::LearnGraph(x, LearnOptionsFrom(def_.builder, params_, false, ctx));
      if (!built.ok()) return built.status().WithPrefix(std::string(def_.name));
      const std::vector<double> all = AnomalyScores(c, split);
      std::vector<double> anomaly;
      for (Eigen::Index j : used) anomaly.push_back(all[static_cast<size_t>(j)]);
      std::vector<double> node_scores;
      if (def_.ranker == "pagerank") {
        PageRankOptions o;
        o.damping = params_.Double("damping");
        const int64_t iterations = params_.Int("iterations");
        o.max_iter = iterations > 0 ? static_cast<int>(iterations) : 1000;
        o.tol = iterations > 0 ? 0 : 1e-12;
        if (params_.Bool("personalize")) o.seeds = anomaly;
        node_scores = PageRank(EffectToCause(built->graph), o);
      } else {
        RandomWalkOptions o;
        o.rho = params_.Double("rho");
        o.steps = static_cast<int>(params_.Int("steps"));
        o.seed = ctx.seed;
        node_scores = RandomWalk(built->graph, anomaly, o);
      }
      // Scores of graph members are positive by construction (PageRank mass, visit share plus a
      // tiny anomaly tie-break), so excluded columns at 0 rank last.
      for (size_t k = 0; k < used.size(); ++k) {
        scores[static_cast<size_t>(used[k])] = node_scores[k] + 1e-12 * std::tanh(anomaly[k]);
      }
    } else if (used.size() == 1) {
      scores[static_cast<size_t>(used[0])] = 1;
    }
    return RankColumns(def_.name, f, AllColumns(f), scores);
  }

  Result<Ranking> RankCompat(const data::Case& c, const RunContext& ctx) const {
    // RCAEval's preprocess on the whole window: drop constant columns, `_mem` in MB.
    const data::Frame f = data::DropConstantColumns(c.metrics);
    if (f.NumCols() == 0) {
      return Status::DataError(fmt::format("{}: no non-constant column", def_.name));
    }
    Eigen::MatrixXd x = f.Values();
    for (Eigen::Index j = 0; j < f.NumCols(); ++j) x.col(j) /= data::RcaevalUnitDivisor(f.Name(j));
    const int n = static_cast<int>(f.NumCols());
    if (def_.ranker == "randomwalk") {
      // Every score is 0 in the reference's walk, so only n and the RNG matter; the graph is
      // still learned (and its errors still surface), as the reference does.
      Result<causal::LearnedGraph> built =
          causal::LearnGraph(x, LearnOptionsFrom(def_.builder, params_, true, ctx));
      if (!built.ok()) return built.status().WithPrefix(std::string(def_.name));
      // num_loop: the number of columns (ntlr_randomwalk: the harness's n_iter, the columns before
      // the method's own constant-dropping).
      const int loops = def_.builder == "ntlr" ? static_cast<int>(c.metrics.NumCols()) : n;
      return RankColumns(def_.name, f, AllColumns(f), RcaevalUniformWalk(n, loops));
    }
    Result<causal::LearnedGraph> built =
        causal::LearnGraph(x, LearnOptionsFrom(def_.builder, params_, true, ctx));
    if (!built.ok()) return built.status().WithPrefix(std::string(def_.name));
    PageRankOptions o;
    o.damping = params_.Double("damping");
    o.tol = 1e-6;
    o.max_iter = 10;  // scikit-network's default n_iter
    const int64_t iterations = params_.Int("iterations");
    if (def_.builder == "pc") {
      // pc_pagerank: networkx DiGraph of the CPDAG over the nodes that have an edge (sorted),
      // PageRank on its transpose, scores zipped with the first column names.
      std::vector<int> nodes;
      for (int i = 0; i < n; ++i) {
        if (built->graph.Degree(i) > 0) nodes.push_back(i);
      }
      if (nodes.empty()) {
        return Status::DataError(fmt::format(
            "{}: PC found no edge; the reference fails on an empty graph", def_.name));
      }
      const int m = static_cast<int>(nodes.size());
      Eigen::MatrixXi a = Eigen::MatrixXi::Zero(m, m);
      for (int u = 0; u < m; ++u) {
        for (int v = 0; v < m; ++v) {
          if (u == v) continue;
          const int mark = built->reference(nodes[static_cast<size_t>(u)], nodes[static_cast<size_t>(v)]);
          if (mark == -1) a(u, v) = 1;  // u -> v
          if (mark == 1) a(v, u) = 1;   // v -> u
        }
      }
      if (iterations > 0) o.max_iter = static_cast<int>(iterations);
      const std::vector<double> s = PageRank(a.transpose(), o);
      std::vector<Eigen::Index> first(static_cast<size_t>(m));
      std::iota(first.begin(), first.end(), Eigen::Index{0});
      return RankColumns(def_.name, f, first, s);
    }
    Eigen::MatrixXi input;
    if (built->encoding == causal::Encoding::kRowIsCause) {
      input = built->reference.transpose();  // ntlr: adj.T straight to PageRank
    } else {
      if (built->encoding == causal::Encoding::kRowIsEffect && built->reference.sum() == 0) {
        // granger / lingam return the columns in their order when the graph is empty.
        std::vector<double> order(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = n - i;
        return RankColumns(def_.name, f, AllColumns(f), order);
      }
      LLMRCA_ASSIGN_OR_RETURN(input, RcaevalPageRankInput(built->reference));
    }
    // fci_pagerank forwards the harness's n_iter, the number of metric columns.
    if (def_.builder == "fci") o.max_iter = static_cast<int>(c.metrics.NumCols());
    if (iterations > 0) o.max_iter = static_cast<int>(iterations);
    return RankColumns(def_.name, f, AllColumns(f), PageRank(input, o));
  }

  static std::vector<Eigen::Index> AllColumns(const data::Frame& f) {
    std::vector<Eigen::Index> cols(static_cast<size_t>(f.NumCols()));
    std::iota(cols.begin(), cols.end(), Eigen::Index{0});
    return cols;
  }

  const Definition& def_;
  Params params_;
  bool compat_;
};

}  // namespace

MethodInfo GraphMethodInfo(std::string_view builder, std::string_view ranker) {
  const Definition* d = FindDefinition(builder, ranker);
  LLMRCA_CHECK(d != nullptr) << "no graph method " << builder << "_" << ranker;
  return {d->name, d->summary, d->citation, ParamsFor(*d)};
}

Result<std::unique_ptr<Method>> CreateGraphMethod(std::string_view builder,
                                                  std::string_view ranker,
                                                  const ParamMap& given) {
  const Definition* d = FindDefinition(builder, ranker);
  LLMRCA_CHECK(d != nullptr) << "no graph method " << builder << "_" << ranker;
  LLMRCA_ASSIGN_OR_RETURN(Params p, Params::Parse(GraphMethodInfo(builder, ranker), given));
  for (const ParamSpec& spec : ParamsFor(*d)) {
    if (spec.name == "alpha" || spec.name == "threshold") {
      LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, 1e-12, 1 - 1e-12));
    }
    if (spec.name == "damping") LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, 0, 1 - 1e-12));
    if (spec.name == "rho") LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, 0, 1e6));
    if (spec.name == "bins") LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, 2, 1000));
    if (spec.name == "max_lag") LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, 1, 1000));
    if (spec.name == "rank") LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, 1, 100000));
    if (spec.name == "depth" || spec.name == "max_path_length" || spec.name == "max_parents") {
      LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, -1, 1e9));
    }
    if (spec.name == "steps" || spec.name == "iterations") {
      LLMRCA_RETURN_IF_ERROR(p.CheckRange(spec.name, 0, 1e9));
    }
  }
  return std::unique_ptr<Method>(std::make_unique<GraphMethod>(*d, std::move(p)));
}

}  // namespace llmrca::rca
