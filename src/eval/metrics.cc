#include "eval/metrics.h"

#include <algorithm>
#include <set>

#include "data/frame.h"

namespace llmrca::eval {

std::string NormalizeService(std::string_view service) {
  std::string out(service);
  for (size_t pos = out.find("-db"); pos != std::string::npos; pos = out.find("-db", pos)) {
    out.erase(pos, 3);
  }
  return out;
}

std::vector<std::string> ServiceRanking(const rca::Ranking& ranking) {
  std::vector<std::string> out;
  std::set<std::string, std::less<>> seen;
  for (const rca::RankedCause& r : ranking) {
    std::string s = NormalizeService(r.service);
    if (seen.insert(s).second) out.push_back(std::move(s));
  }
  return out;
}

std::optional<FineAnswer> FineGrainedAnswer(const data::GroundTruth& truth) {
  if (truth.indicator) return FineAnswer{truth.service, *truth.indicator, false};
  static constexpr std::pair<std::string_view, std::string_view> kTokenForFault[] = {
      {"cpu", "cpu"},          {"mem", "mem"},    {"delay", "latency"}, {"loss", "latency"},
      {"disk", "diskio"},      {"socket", "socket"},
  };
  for (const auto& [fault, token] : kTokenForFault) {
    if (truth.fault == fault) return FineAnswer{truth.service, std::string(token), true};
  }
  return std::nullopt;
}

bool MatchesFine(const FineAnswer& answer, std::string_view service, std::string_view indicator) {
  if (service != answer.service) return false;
  if (!answer.token_only) return indicator == answer.indicator;
  // RCAEval: the second '_'-separated part of the name, i.e. the indicator up to its first '_'.
  return indicator.substr(0, indicator.find('_')) == answer.indicator;
}

namespace {

AtK HitsAt(size_t first_hit_index) {
  AtK hits{};
  for (int k = 1; k <= kMaxK; ++k) hits[k - 1] = first_hit_index < static_cast<size_t>(k) ? 1 : 0;
  return hits;
}

}  // namespace

AtK ServiceHits(const rca::Ranking& ranking, const data::GroundTruth& truth) {
  const std::vector<std::string> services = ServiceRanking(ranking);
  const std::string answer = NormalizeService(truth.service);
  auto it = std::find(services.begin(), services.end(), answer);
  if (it == services.end()) return HitsAt(static_cast<size_t>(kMaxK));  // never a hit
  return HitsAt(static_cast<size_t>(it - services.begin()));
}

AtK FineHits(const rca::Ranking& ranking, const FineAnswer& answer) {
  for (size_t i = 0; i < ranking.size() && i < static_cast<size_t>(kMaxK); ++i) {
    if (MatchesFine(answer, ranking[i].service, ranking[i].indicator)) return HitsAt(i);
  }
  return HitsAt(static_cast<size_t>(kMaxK));
}

double RandomHitProbability(int64_t candidates, int64_t matching, int k) {
  if (candidates <= 0 || matching <= 0) return 0;
  if (k >= candidates - matching + 1) return 1;
  // C(n-h, k) / C(n, k) = prod_{i=0}^{k-1} (n-h-i) / (n-i)
  double miss = 1;
  for (int i = 0; i < k; ++i) {
    miss *= static_cast<double>(candidates - matching - i) / static_cast<double>(candidates - i);
  }
  return 1 - miss;
}

AtK ServiceChance(std::span<const std::string> columns, const data::GroundTruth& truth) {
  std::set<std::string, std::less<>> services;
  for (const std::string& c : columns) services.insert(NormalizeService(data::SplitColumnName(c).service));
  const int64_t matching = services.count(NormalizeService(truth.service)) > 0 ? 1 : 0;
  AtK chance{};
  for (int k = 1; k <= kMaxK; ++k) {
    chance[k - 1] = RandomHitProbability(static_cast<int64_t>(services.size()), matching, k);
  }
  return chance;
}

AtK FineChance(std::span<const std::string> columns, const FineAnswer& answer) {
  int64_t matching = 0;
  for (const std::string& c : columns) {
    data::ColumnName name = data::SplitColumnName(c);
    if (MatchesFine(answer, name.service, name.indicator)) ++matching;
  }
  AtK chance{};
  for (int k = 1; k <= kMaxK; ++k) {
    chance[k - 1] = RandomHitProbability(static_cast<int64_t>(columns.size()), matching, k);
  }
  return chance;
}

double AvgAtK(const AtK& ac, int k) {
  double sum = 0;
  for (int i = 0; i < k; ++i) sum += ac[static_cast<size_t>(i)];
  return sum / k;
}

}  // namespace llmrca::eval
