#include "eval/report.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eval/evaluator.h"

namespace llmrca::eval {

std::string RankingJson(std::string_view method, std::string_view case_id, double seconds,
                        const rca::Ranking& ranking, const std::optional<std::string>& error) {
  nlohmann::ordered_json doc;
  doc["method"] = method;
  doc["case"] = case_id;
  doc["seconds"] = seconds;
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const rca::RankedCause& r : ranking) {
    nlohmann::ordered_json item;
    item["service"] = r.service;
    if (r.indicator.empty()) {
      item["indicator"] = nullptr;
    } else {
      item["indicator"] = r.indicator;
    }
    // JSON has no infinity: a method's +-inf score is written as the largest finite double.
    item["score"] = std::isfinite(r.score) ? r.score
                                           : std::copysign(std::numeric_limits<double>::max(), r.score);
    items.push_back(std::move(item));
  }
  doc["ranking"] = std::move(items);
  if (error) doc["error"] = *error;
  return doc.dump();
}

std::string RankingTable(const rca::Ranking& ranking, size_t top) {
  const size_t n = top == 0 ? ranking.size() : std::min(top, ranking.size());
  size_t service_width = 7, indicator_width = 9;
  for (size_t i = 0; i < n; ++i) {
    service_width = std::max(service_width, ranking[i].service.size());
    indicator_width = std::max(indicator_width, ranking[i].indicator.size());
  }
  std::string out = fmt::format("{:>4}  {:<{}}  {:<{}}  {:>12}\n", "rank", "service",
                                service_width, "indicator", indicator_width, "score");
  for (size_t i = 0; i < n; ++i) {
    out += fmt::format("{:>4}  {:<{}}  {:<{}}  {:>12.6g}\n", i + 1, ranking[i].service,
                       service_width, ranking[i].indicator, indicator_width, ranking[i].score);
  }
  return out;
}

std::string SummaryTable(const EvalResult& result) {
  size_t method_width = 8;
  for (const SummaryRow& r : result.rows) method_width = std::max(method_width, r.method.size());
  std::string out;
  for (Level level : {Level::kService, Level::kFine}) {
    bool any = false;
    for (const SummaryRow& r : result.rows) any |= (r.level == level);
    if (!any) continue;
    if (!out.empty()) out += "\n";
    out += level == Level::kService
               ? "Service level: AC@k = share of cases whose root-cause service is in the top k\n"
               : "Fine-grained: AC@k = share of cases whose root-cause metric is in the top k\n";
    out += fmt::format("{:<{}}  {:<10} {:>5} {:>4}  {:>5} {:>5} {:>5} {:>5}  {:>9}\n", "method",
                       method_width, "fault", "cases", "fail", "AC@1", "AC@3", "AC@5", "Avg@5",
                       "s/case");
    std::string last_group;
    for (const SummaryRow& r : result.rows) {
      if (r.level != level || r.group.find('_') != std::string::npos) continue;
      if (!last_group.empty() && r.group != last_group) out += "\n";
      last_group = r.group;
      const bool random = r.method == "(random)";
      std::string line = fmt::format(
          "{:<{}}  {:<10} {:>5} {:>4}  {:>5.2f} {:>5.2f} {:>5.2f} {:>5.2f}  {:>9}", r.method,
          method_width, r.group, r.cases, random ? std::string() : std::to_string(r.failed),
          r.ac[0], r.ac[2], r.ac[4], r.avg5,
          random ? std::string() : fmt::format("{:.2e}", r.seconds_per_case));
      line.erase(line.find_last_not_of(' ') + 1);
      out += line + "\n";
    }
  }
  out += fmt::format("\n{} case(s) in {}", result.total_cases, result.dataset);
  if (!result.skipped.empty()) {
    out += fmt::format("; {} skipped without ground truth", result.skipped.size());
  }
  if (!result.flagged_skipped.empty()) {
    out += fmt::format("; {} skipped as flagged (the fault moved neither the SLI nor the root "
                       "cause)",
                       result.flagged_skipped.size());
  }
  out += "\n(random) = expected accuracy of a uniformly random order of the same candidates\n";
  return out;
}

std::string SummaryCsv(const std::vector<SummaryRow>& rows) {
  std::string out =
      "method,level,group,cases,failed,ac1,ac2,ac3,ac4,ac5,avg5,chance_ac1,chance_ac2,chance_ac3,"
      "chance_ac4,chance_ac5,chance_avg5,seconds_per_case\n";
  for (const SummaryRow& r : rows) {
    // Labels may hold ':' and '=' but never ',' (the method list separator) or quotes.
    out += fmt::format("{},{},{},{},{}", r.method, LevelName(r.level), r.group, r.cases, r.failed);
    for (double v : r.ac) out += fmt::format(",{:.6g}", v);
    out += fmt::format(",{:.6g}", r.avg5);
    for (double v : r.chance_ac) out += fmt::format(",{:.6g}", v);
    out += fmt::format(",{:.6g},{:.6g}\n", r.chance_avg5, r.seconds_per_case);
  }
  return out;
}

std::string SummaryJson(const EvalResult& result) {
  nlohmann::ordered_json doc;
  doc["dataset"] = result.dataset;
  doc["cases"] = result.total_cases;
  nlohmann::ordered_json methods = nlohmann::ordered_json::array();
  for (const MethodSpec& m : result.methods) {
    nlohmann::ordered_json item;
    item["label"] = m.label;
    item["name"] = m.name;
    item["params"] = m.params;
    methods.push_back(std::move(item));
  }
  doc["methods"] = std::move(methods);
  doc["skipped"] = result.skipped;
  doc["flagged_skipped"] = result.flagged_skipped;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const SummaryRow& r : result.rows) {
    nlohmann::ordered_json row;
    row["method"] = r.method;
    row["level"] = LevelName(r.level);
    row["group"] = r.group;
    row["cases"] = r.cases;
    row["failed"] = r.failed;
    for (int k = 1; k <= kMaxK; ++k) row[fmt::format("ac{}", k)] = r.ac[static_cast<size_t>(k - 1)];
    row["avg5"] = r.avg5;
    for (int k = 1; k <= kMaxK; ++k) {
      row[fmt::format("chance_ac{}", k)] = r.chance_ac[static_cast<size_t>(k - 1)];
    }
    row["chance_avg5"] = r.chance_avg5;
    row["seconds_per_case"] = r.seconds_per_case;
    rows.push_back(std::move(row));
  }
  doc["rows"] = std::move(rows);
  return doc.dump(2);
}

}  // namespace llmrca::eval
