// PC: constraint-based causal discovery returning a CPDAG, as causal-learn's pc() (0.1.3.3)
// runs it, which the study's pc_pagerank and pc_randomwalk called (RCAEval).
//
// Paper: P. Spirtes, C. Glymour, R. Scheines (2000), "Causation, Prediction, and Search", 2nd
// ed., MIT Press; the order-independent ("stable") skeleton of D. Colombo, M. Maathuis (2014),
// "Order-Independent Constraint-Based Causal Structure Learning", JMLR 15; orientation rules of
// C. Meek (1995), "Causal inference and causal explanation with background knowledge", UAI;
// maxP / definite maxP of J. Ramsey (2016), "Improving Accuracy and Scalability of the PC
// Algorithm by Maximizing P-value", arXiv:1610.00378.
// Options mean what they mean in causal-learn's pc(): alpha, stable, uc_rule (0 uc_sepset,
// 1 maxP, 2 definiteMaxP), uc_priority (-1..4). With depth = -1 the graph equals causal-learn's
// G.graph cell by cell, its order-dependent quirks included (the orders of its loops, the
// separating sets it collects, its partial ancestor bookkeeping in the Meek rules).
// Deviations from causal-learn:
//  - `depth` (not in causal-learn) caps the conditioning-set size; -1 is causal-learn's
//    unlimited search;
//  - the CI tests of one depth level run on `threads` threads (stable mode only); the graph does
//    not depend on the thread count;
//  - no background knowledge, no missing-value PC (mvpc), no node names;
//  - options causal-learn rejects by assertion (alpha outside (0, 1), uc_rule 2 with
//    uc_priority 0 or 1) are kInvalidArgument; a failing CI test is its Status instead of an
//    exception; under maxP / definite maxP a node with more than 30 neighbours is kDataError
//    (causal-learn would enumerate 2^31 conditioning sets).
#pragma once

#include <cstddef>

#include "base/deadline.h"
#include "base/status.h"
#include "causal/graph.h"
#include "stats/ci_test.h"

namespace llmrca::causal {

struct PcOptions {
  double alpha = 0.05;  // independent when p > alpha; in (0, 1)
  int depth = -1;       // largest conditioning set; -1 unlimited
  bool stable = true;   // order-independent skeleton (Colombo and Maathuis)
  int uc_rule = 0;      // 0 uc_sepset, 1 maxP, 2 definite maxP
  // Collider conflicts: -1 the rule's default (3, 3, 4), 0 overwrite, 1 orient bidirected,
  // 2 keep existing colliders, 3 stronger colliders first, 4 stronger* colliders first.
  int uc_priority = 2;
  size_t threads = 1;   // 0 counts as 1
  Deadline deadline;
};

// Runs PC with `test` on its variables and returns the CPDAG (or, with uc_priority 1, a graph
// that may hold bidirected edges): At(a, b) as causal-learn's G.graph[a, b].
// kInvalidArgument for options out of range, the CI test's Status (kDataError, e.g. a singular
// correlation sub-matrix) prefixed "pc: ", kDeadlineExceeded when options.deadline passes.
// `test` must be thread-safe (all CiTest implementations are); Pc keeps no state.
Result<Graph> Pc(const stats::CiTest& test, const PcOptions& options);

}  // namespace llmrca::causal
