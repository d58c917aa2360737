#include "causal/learn.h"

#include <cmath>
#include <memory>

#include <Eigen/Dense>

#include <fmt/format.h>

#include "base/strings.h"
#include "causal/fci.h"
#include "causal/notears.h"
#include "causal/pc.h"
#include "stats/ci_test.h"
#include "stats/discrete_ci_test.h"

namespace llmrca::causal {

std::vector<std::string> AlgorithmNames() { return {"pc", "fci", "ges", "granger", "lingam", "ntlr"}; }

namespace {

Result<std::unique_ptr<stats::CiTest>> MakeCiTest(const Eigen::MatrixXd& data,
                                                  const LearnOptions& o) {
  if (o.indep_test == "fisherz") {
    LLMRCA_ASSIGN_OR_RETURN(std::unique_ptr<stats::FisherZTest> t,
                            stats::FisherZTest::Create(data, o.pseudo_inverse_fallback));
    return std::unique_ptr<stats::CiTest>(std::move(t));
  }
  if (o.indep_test != "chisq" && o.indep_test != "gsq") {
    return Status::InvalidArgument(
        fmt::format("causal: unknown independence test '{}' (fisherz, chisq, gsq)", o.indep_test));
  }
  const Eigen::MatrixXi discrete = stats::DiscretizeByQuantiles(data, o.bins);
  LLMRCA_ASSIGN_OR_RETURN(
      std::unique_ptr<stats::DiscreteCiTest> t,
      stats::DiscreteCiTest::Create(discrete, o.indep_test == "gsq"
                                                  ? stats::DiscreteCiTest::kGSquare
                                                  : stats::DiscreteCiTest::kChiSquare));
  return std::unique_ptr<stats::CiTest>(std::move(t));
}

// The columns of `data` that LearnOptions::lingam_independent_subset keeps, in order: each
// standardised column is orthogonalised against the kept ones (modified Gram-Schmidt) and kept
// when what remains has squared norm > 1e-16 of its own (relative norm > 1e-8).
std::vector<Eigen::Index> IndependentColumns(const Eigen::MatrixXd& data) {
  std::vector<Eigen::Index> kept;
  std::vector<Eigen::VectorXd> basis;
  for (Eigen::Index j = 0; j < data.cols(); ++j) {
    Eigen::VectorXd v = data.col(j).array() - data.col(j).mean();
    const double norm2 = v.squaredNorm();
    if (!(norm2 > 0) || !std::isfinite(norm2)) continue;
    v /= std::sqrt(norm2);
    for (const Eigen::VectorXd& q : basis) v -= q.dot(v) * q;
    const double rest = v.squaredNorm();
    if (rest > 1e-16) {
      kept.push_back(j);
      basis.push_back(v / std::sqrt(rest));
    }
  }
  return kept;
}

}  // namespace

Result<LearnedGraph> LearnGraph(const Eigen::MatrixXd& data, const LearnOptions& o) {
  LearnedGraph out;
  if (o.algo == "pc" || o.algo == "fci") {
    LLMRCA_ASSIGN_OR_RETURN(std::unique_ptr<stats::CiTest> test, MakeCiTest(data, o));
    if (o.algo == "pc") {
      PcOptions p;
      p.alpha = o.alpha;
      p.depth = o.depth;
      p.stable = o.stable;
      p.uc_rule = o.uc_rule;
      p.uc_priority = o.uc_priority;
      p.threads = o.threads;
      p.deadline = o.deadline;
      LLMRCA_ASSIGN_OR_RETURN(out.graph, Pc(*test, p));
    } else {
      FciOptions f;
      f.alpha = o.alpha;
      f.depth = o.depth;
      f.max_path_length = o.max_path_length;
      f.threads = o.threads;
      f.deadline = o.deadline;
      LLMRCA_ASSIGN_OR_RETURN(out.graph, Fci(*test, f));
    }
    out.reference = out.graph.EndpointMatrix();
    out.encoding = Encoding::kEndpoints;
    return out;
  }
  if (o.algo == "ges") {
    GesOptions g;
    g.score = o.score;
    g.max_parents = o.max_parents;
    g.deadline = o.deadline;
    if (o.score == GesScore::kBdeu) {
      LLMRCA_ASSIGN_OR_RETURN(out.graph,
                              Ges(stats::DiscretizeByQuantiles(data, o.bins).cast<double>(), g));
    } else {
      LLMRCA_ASSIGN_OR_RETURN(out.graph, Ges(data, g));
    }
    out.reference = out.graph.EndpointMatrix();
    out.encoding = Encoding::kEndpoints;
    return out;
  }
  if (o.algo == "granger") {
    GrangerOptions g;
    g.max_lag = o.max_lag;
    g.alpha = o.alpha;
    g.multivariate = o.multivariate;
    g.test = o.granger_test;
    g.threads = o.threads;
    g.deadline = o.deadline;
    LLMRCA_ASSIGN_OR_RETURN(out.reference, GrangerAdjacency(data, g));
    out.graph = Graph::FromDirected(out.reference.transpose());
    out.encoding = Encoding::kRowIsEffect;
    return out;
  }
  if (o.algo == "lingam") {
    LingamOptions l;
    l.variant = o.lingam;
    l.seed = o.seed;
    l.threads = static_cast<int>(o.threads);
    l.deadline = o.deadline;
    l.unit_scale_lasso = o.lingam_unit_scale_lasso;
    const std::vector<Eigen::Index> kept = o.lingam_independent_subset
                                               ? IndependentColumns(data)
                                               : std::vector<Eigen::Index>{};
    if (o.lingam_independent_subset && static_cast<Eigen::Index>(kept.size()) < data.cols()) {
      Eigen::MatrixXd sub(data.rows(), static_cast<Eigen::Index>(kept.size()));
      for (size_t k = 0; k < kept.size(); ++k) sub.col(static_cast<Eigen::Index>(k)) = data.col(kept[k]);
      out.reference = Eigen::MatrixXi::Zero(data.cols(), data.cols());
      if (kept.size() >= 2) {
        LLMRCA_ASSIGN_OR_RETURN(Eigen::MatrixXd b, LingamAdjacency(sub, l));
        for (size_t r = 0; r < kept.size(); ++r) {
          for (size_t c = 0; c < kept.size(); ++c) {
            if (b(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) != 0) {
              out.reference(kept[r], kept[c]) = 1;
            }
          }
        }
      }
    } else {
      LLMRCA_ASSIGN_OR_RETURN(Eigen::MatrixXd b, LingamAdjacency(data, l));
      out.reference = (b.array() != 0).cast<int>();
    }
    out.graph = Graph::FromDirected(out.reference.transpose());
    out.encoding = Encoding::kRowIsEffect;
    return out;
  }
  if (o.algo == "ntlr") {
    NotearsLowRankOptions n;
    n.rank = o.rank;
    n.w_threshold = o.threshold;
    n.seed = o.seed;
    n.deadline = o.deadline;
    LLMRCA_ASSIGN_OR_RETURN(out.reference, NotearsLowRank(data, n));
    out.graph = Graph::FromDirected(out.reference);
    out.encoding = Encoding::kRowIsCause;
    return out;
  }
  return Status::InvalidArgument(fmt::format("causal: unknown algorithm '{}'{} ({})", o.algo,
                                             DidYouMean(o.algo, AlgorithmNames()),
                                             Join(AlgorithmNames(), ", ")));
}

}  // namespace llmrca::causal
