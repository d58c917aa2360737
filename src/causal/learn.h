// LearnGraph: one entry point to every causal-discovery algorithm of src/causal, with one
// options struct, shared by the graph-based RCA methods (rca/graph_method.cc) and by
// `llmrca graph`. It also returns the adjacency as the study's reference implementation handed
// it to its rankers, so compat=rcaeval can reproduce the reference's conversions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "base/deadline.h"
#include "base/status.h"
#include "causal/ges.h"
#include "causal/granger.h"
#include "causal/graph.h"
#include "causal/lingam.h"

namespace llmrca::causal {

// The algorithms LearnGraph knows, in the order `llmrca graph --help` lists them.
std::vector<std::string> AlgorithmNames();

struct LearnOptions {
  std::string algo = "pc";  // pc, fci, ges, granger, lingam, ntlr
  // pc, fci
  std::string indep_test = "fisherz";  // fisherz, chisq, gsq
  int bins = 5;                        // quantile bins when the test or score is discrete
  double alpha = 0.05;
  int depth = -1;
  bool stable = true;
  int uc_rule = 0;
  int uc_priority = 2;
  int max_path_length = -1;
  bool pseudo_inverse_fallback = true;  // Fisher-z on singular sub-matrices (false: an error)
  // ges
  GesScore score = GesScore::kBic;
  int max_parents = -1;
  // granger
  int max_lag = 3;
  GrangerTest granger_test = GrangerTest::kSsrF;
  bool multivariate = false;
  // lingam, ntlr
  LingamVariant lingam = LingamVariant::kIca;
  // lingam: when the centred columns are linearly dependent (or outnumber the rows), learn on a
  // maximal independent subset, taken greedily in column order (a column joins when its
  // standardised residual on the columns kept has relative norm > 1e-8); the others get no edge.
  // false: such data are a kDataError, as in the reference.
  bool lingam_independent_subset = false;
  // lingam: adaptive-lasso regressions at unit target scale (LingamOptions::unit_scale_lasso);
  // false: the reference's absolute stopping bound.
  bool lingam_unit_scale_lasso = false;
  int rank = 10;
  double threshold = 0.3;
  // all
  size_t threads = 1;
  uint64_t seed = 0;
  Deadline deadline;
};

// How the reference encodes the adjacency it hands to its ranker.
enum class Encoding {
  kEndpoints,    // causal-learn's G.graph (pc, fci, ges)
  kRowIsEffect,  // adj(i, j) = 1: j -> i (granger; lingam's B binarised)
  kRowIsCause,   // adj(i, j) = 1: i -> j (ntlr)
};

struct LearnedGraph {
  Graph graph;                // cause -> effect marks
  Eigen::MatrixXi reference;  // the reference's adjacency
  Encoding encoding = Encoding::kEndpoints;
};

// Learns a graph over the columns of `data` (rows samples). kInvalidArgument for an unknown
// algorithm or test; the algorithm's own errors otherwise.
Result<LearnedGraph> LearnGraph(const Eigen::MatrixXd& data, const LearnOptions& options);

}  // namespace llmrca::causal
