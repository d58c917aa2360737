// The graph-based methods `<builder>_<ranker>`: a causal graph learned over the case's metrics
// by src/causal (pc, fci, ges, granger, lingam, ntlr) and ranked by PageRank or a random walk
// (graph_rankers.h), as RCAEval composes them (rcaeval-methods.md section 4.5).
//
// Default (the methods as their authors intended, the reference's bugs fixed):
//  - PageRank runs on the graph reversed to point from effects to causes, personalised by the
//    metrics' anomaly scores (largest |robust z| after the inject time, as baro direction=both),
//    iterated to convergence; every candidate keeps its own score.
//  - An FCI edge a o-> b counts as a -> b (the reference reverses it).
//  - The random walk weighs forward, backward and self steps by anomaly scores (MicroCause /
//    CloudRanger); the reference gives every node score 0, so its walk ignores the graph.
//  - Granger uses the F test of each lag; columns constant over the window are left out of the
//    graph and ranked last with score 0.
//  - Singular data do not end the run: Fisher-z falls back to the pseudo-inverse of a singular
//    correlation sub-matrix, and LiNGAM learns on a maximal linearly independent subset of the
//    columns (the others get no edge), where the reference fails.
//  - LiNGAM's adaptive-lasso regressions run at unit target scale: the reference's LARS stops at
//    an absolute bound (float32 epsilon on the correlation per sample), so a metric with a
//    standard deviation under about 3.5e-4 gets no parents there.
// compat=rcaeval reproduces the reference exactly: its preprocessing (`_mem` / 1e6), its
// adjacency conversions, pc_pagerank's pairing of scores with the wrong names when nodes are
// isolated, fci_pagerank's iteration cap (the number of columns), Granger's mean p of four
// tests, the uniform walk of numpy's default_rng(0), LARS's absolute stopping bound, and the
// column order when a Granger or LiNGAM graph is empty.
#pragma once

#include <memory>
#include <string_view>

#include "base/status.h"
#include "rca/method.h"

namespace llmrca::rca {

// `builder`: pc, fci, ges, granger, lingam, ntlr; `ranker`: pagerank, randomwalk.
MethodInfo GraphMethodInfo(std::string_view builder, std::string_view ranker);
Result<std::unique_ptr<Method>> CreateGraphMethod(std::string_view builder,
                                                  std::string_view ranker,
                                                  const ParamMap& params);

}  // namespace llmrca::rca
