// Accuracy of one ranking against the ground truth, as RCAEval's evaluator and the seed study
// define it (rcaeval-methods.md section 3), and the expected accuracy of a random ranker.
//  - Service level: each ranked metric maps to its service with every "-db" removed (RCAEval's
//    substring replace, applied here to the answer too, so "carts-db" faults are matchable);
//    later duplicates are dropped; a hit at k when the answer is among the first k services.
//  - Fine-grained: no deduplication. With an indicator from case.json the answer is that exact
//    (service, indicator); otherwise RCAEval's mapping from the fault type (cpu -> cpu,
//    mem -> mem, delay and loss -> latency, disk -> diskio, socket -> socket) compared with the
//    ranked name's second '_' token. Other fault types have no fine-grained answer.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/ground_truth.h"
#include "rca/method.h"

namespace llmrca::eval {

inline constexpr int kMaxK = 5;  // AC@1..AC@5 and Avg@5, as every RCA table reports
using AtK = std::array<double, kMaxK>;  // index k-1 holds the value at k

// The service of a ranked entry for service-level matching: every "-db" removed.
std::string NormalizeService(std::string_view service);

// The service-level ranking: normalized services in order of first appearance.
std::vector<std::string> ServiceRanking(const rca::Ranking& ranking);

// What a fine-grained entry must match; nullopt when the case has no fine-grained answer.
struct FineAnswer {
  std::string service;
  std::string indicator;  // the whole indicator (case.json) or RCAEval's second token
  bool token_only = false;  // compare with the ranked name's second '_' token
};
std::optional<FineAnswer> FineGrainedAnswer(const data::GroundTruth& truth);
bool MatchesFine(const FineAnswer& answer, std::string_view service, std::string_view indicator);

// hits[k-1] = 1 when the answer is within the first k entries, else 0.
AtK ServiceHits(const rca::Ranking& ranking, const data::GroundTruth& truth);
AtK FineHits(const rca::Ranking& ranking, const FineAnswer& answer);

// Probability that a uniformly random order of `candidates` items, `matching` of which count as
// a hit, puts at least one hit in the first k: 1 - C(n-h, k) / C(n, k).
double RandomHitProbability(int64_t candidates, int64_t matching, int k);

// Expected hits of a random ranker on a case whose candidates are `columns`: a random order of
// the distinct services (service level), or of the columns (fine-grained).
AtK ServiceChance(std::span<const std::string> columns, const data::GroundTruth& truth);
AtK FineChance(std::span<const std::string> columns, const FineAnswer& answer);

// Avg@k = mean of AC@1..AC@k.
double AvgAtK(const AtK& ac, int k);

}  // namespace llmrca::eval
