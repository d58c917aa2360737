// Output formats of rankings and evaluation reports: the ranking JSON of FORMATS.md, the
// evaluation table for terminals, report.csv and summary.json. Pure functions of their inputs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "rca/method.h"

namespace llmrca::eval {

struct EvalResult;
struct SummaryRow;

// {"method": .., "case": .., "seconds": .., "ranking": [{"service", "indicator", "score"}...]}
// plus "error" when the method failed. An empty indicator is written as null.
std::string RankingJson(std::string_view method, std::string_view case_id, double seconds,
                        const rca::Ranking& ranking,
                        const std::optional<std::string>& error = std::nullopt);

// The ranking as an aligned text table (rank, service, indicator, score), at most `top` rows
// (0 = all).
std::string RankingTable(const rca::Ranking& ranking, size_t top);

// The summary rows for people: per level, per fault type and overall (service x fault cells are
// left to the CSV and JSON), each method beside the random ranker.
std::string SummaryTable(const EvalResult& result);
// One line per row; header: method,level,group,cases,failed,ac1..ac5,avg5,chance_ac1..chance_ac5,
// chance_avg5,seconds_per_case.
std::string SummaryCsv(const std::vector<SummaryRow>& rows);
// {"dataset", "cases", "methods", "skipped", "rows": [...]}.
std::string SummaryJson(const EvalResult& result);

}  // namespace llmrca::eval
