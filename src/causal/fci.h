// FCI: causal discovery allowing latent confounders, returning a PAG (circles, arrowheads,
// tails), as causal-learn's fci() (0.1.3.3) runs it with its defaults, which the study's
// fci_pagerank and fci_randomwalk called (RCAEval graph_construction/fci.py `fci_default`).
//
// Paper: P. Spirtes, C. Meek, T. Richardson (1995), "Causal Inference in the Presence of Latent
// Variables and Selection Bias", UAI; orientation rules of J. Zhang (2008), "On the completeness
// of orientation rules for causal discovery in the presence of latent confounders and selection
// bias", Artificial Intelligence 172.
//
// The steps and their quirks are causal-learn 0.1.3.3's, so that graphs equal its G.graph cell
// by cell: the stable adjacency search keeps the union of every separating set found at the
// removal depth; possible-d-sep is causal-learn's (a breadth-first search that, through a slip
// in its queue entries, only looks one collider beyond the neighbours of x) and its separating
// sets are stored under one ordered pair only, which the second collider pass then may not find;
// R3 never fires (its adjacency test is inverted) and R4 runs only in a round where R1/R2
// changed something; there are no rules R5-R10 (0.1.3.3 has none).
// Deviations from causal-learn 0.1.3.3:
// - `depth` caps the adjacency search's conditioning sets; causal-learn's fas() overwrites its
//   depth argument with -1 and ignores it. With the default (-1) both agree.
// - Possible-d-sep visits the neighbours of x in ascending order; causal-learn iterates a Python
//   set, whose order varies with the string-hash seed. The result can depend on it only when a
//   node beyond the neighbours is reached solely through another such node.
// - Where R3 would look up a separating set stored only under the reversed pair, causal-learn
//   raises KeyError; R3 orients nothing there either way, so we carry on.
// - Tests of one adjacency-search depth are de-duplicated (x _||_ y | S once, not once from each
//   side); possible-d-sep subsets may be tested ahead in parallel. Neither changes the graph.
#pragma once

#include <cstddef>

#include "base/deadline.h"
#include "base/status.h"
#include "causal/graph.h"
#include "stats/ci_test.h"

namespace llmrca::causal {

struct FciOptions {
  double alpha = 0.05;       // independence when p > alpha; in (0, 1)
  int depth = -1;            // largest adjacency-search conditioning set, -1 unlimited
  int max_path_length = -1;  // discriminating paths (R4) only, as causal-learn; -1 unlimited
  size_t threads = 1;        // >= 1; the graph does not depend on it
  Deadline deadline;
};

// Runs FCI over the test's variables (columns) and returns the PAG; EndpointMatrix() of the
// result equals causal-learn's fci(...)[0].graph for the same data (-1 tail, 1 arrow, 2 circle).
// Returns kInvalidArgument for options out of range, the CI test's error (kDataError, e.g. a
// singular correlation matrix) the first time a test the reference would run fails, and
// kDeadlineExceeded when options.deadline passes. `test` must be safe for concurrent PValue()
// calls when threads > 1 (FisherZTest is). Thread-safe: keeps no state between calls.
Result<Graph> Fci(const stats::CiTest& test, const FciOptions& options);

}  // namespace llmrca::causal
