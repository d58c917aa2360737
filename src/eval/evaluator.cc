#include "eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "base/log.h"
#include "base/progress.h"
#include "base/random.h"
#include "base/strings.h"
#include "base/thread_pool.h"
#include "data/case.h"
#include "data/dataset.h"
#include "data/csv_writer.h"
#include "eval/report.h"

namespace llmrca::eval {

namespace fs = std::filesystem;

std::string_view LevelName(Level level) {
  return level == Level::kService ? "service" : "fine";
}

Result<std::vector<MethodSpec>> ParseMethodSpecs(std::string_view text,
                                                 const rca::MethodRegistry& registry,
                                                 const rca::ParamMap& common) {
  std::vector<MethodSpec> specs;
  std::vector<std::string> items;
  if (Trim(text) == "all") {
    for (const rca::MethodInfo* info : registry.List()) items.emplace_back(info->name);
  } else {
    items = Split(text, ',');
  }
  std::set<std::string> labels;
  for (const std::string& raw : items) {
    std::string item(Trim(raw));
    if (item.empty()) return Status::InvalidArgument("eval: empty method name in --methods");
    std::vector<std::string> parts = Split(item, ':');
    MethodSpec spec;
    spec.name = std::string(Trim(parts[0]));
    LLMRCA_ASSIGN_OR_RETURN(const rca::MethodInfo* info, registry.Find(spec.name));
    for (size_t i = 1; i < parts.size(); ++i) {
      size_t eq = parts[i].find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::InvalidArgument(fmt::format(
            "eval: '{}' in '{}' is not key=value", parts[i], item));
      }
      spec.params[std::string(Trim(parts[i].substr(0, eq)))] =
          std::string(Trim(parts[i].substr(eq + 1)));
    }
    for (const auto& [key, value] : common) {
      const bool declared = std::any_of(info->params.begin(), info->params.end(),
                                        [&](const rca::ParamSpec& p) { return p.name == key; });
      if (declared && spec.params.count(key) == 0) spec.params[key] = value;
    }
    // Validate now so a typo fails before any case runs.
    LLMRCA_RETURN_IF_ERROR(registry.Create(spec.name, spec.params).status());
    spec.label = item;
    for (const auto& [key, value] : common) {
      if (spec.params.count(key) && item.find(key + "=") == std::string::npos) {
        spec.label += ":" + key + "=" + value;
      }
    }
    if (!labels.insert(spec.label).second) {
      return Status::InvalidArgument(fmt::format("eval: method '{}' is listed twice", spec.label));
    }
    specs.push_back(std::move(spec));
  }
  if (specs.empty()) return Status::InvalidArgument("eval: no method given");
  // A common parameter that no listed method declares is a typo, not something to ignore.
  for (const auto& [key, value] : common) {
    const bool used = std::any_of(specs.begin(), specs.end(),
                                  [&](const MethodSpec& s) { return s.params.count(key) > 0; });
    if (!used) {
      return Status::InvalidArgument(
          fmt::format("eval: --param '{}' is declared by none of the listed methods", key));
    }
  }
  return specs;
}

namespace {

// Accumulates one (method, level, group) cell.
struct Cell {
  int64_t cases = 0;
  int64_t failed = 0;
  AtK hits{};
  double seconds = 0;
  int64_t chance_cases = 0;
  AtK chance{};
};

void AddAtK(AtK& sum, const AtK& x) {
  for (int k = 0; k < kMaxK; ++k) sum[static_cast<size_t>(k)] += x[static_cast<size_t>(k)];
}

AtK Divide(const AtK& sum, int64_t n) {
  AtK out{};
  if (n == 0) return out;
  for (int k = 0; k < kMaxK; ++k) out[static_cast<size_t>(k)] = sum[static_cast<size_t>(k)] / n;
  return out;
}

std::vector<std::string> GroupsOf(const data::GroundTruth& truth) {
  const std::string fault = truth.fault.empty() ? "unknown" : truth.fault;
  return {fault, truth.service + "_" + fault, "overall"};
}

// Orders groups: fault types alphabetically, then "overall", then service x fault cells.
int GroupRank(const std::string& group) {
  if (group == "overall") return 1;
  return group.find('_') == std::string::npos ? 0 : 2;
}

}  // namespace

std::vector<SummaryRow> Summarize(const std::vector<MethodSpec>& methods,
                                  const std::vector<CaseOutcome>& outcomes,
                                  const std::vector<CaseChance>& chances) {
  // cells[level][group][method label]; chance per [level][group].
  std::map<Level, std::map<std::string, std::map<std::string, Cell>>> cells;
  std::map<Level, std::map<std::string, Cell>> chance_cells;
  for (const CaseOutcome& o : outcomes) {
    for (const std::string& g : GroupsOf(o.truth)) {
      Cell& s = cells[Level::kService][g][o.method];
      ++s.cases;
      s.failed += o.failed ? 1 : 0;
      AddAtK(s.hits, o.service_hits);
      s.seconds += o.seconds;
      if (o.fine_hits) {
        Cell& f = cells[Level::kFine][g][o.method];
        ++f.cases;
        f.failed += o.failed ? 1 : 0;
        AddAtK(f.hits, *o.fine_hits);
        f.seconds += o.seconds;
      }
    }
  }
  for (const CaseChance& c : chances) {
    for (const std::string& g : GroupsOf(c.truth)) {
      if (c.service) {
        Cell& s = chance_cells[Level::kService][g];
        ++s.chance_cases;
        AddAtK(s.chance, *c.service);
      }
      if (c.fine) {
        Cell& f = chance_cells[Level::kFine][g];
        ++f.chance_cases;
        AddAtK(f.chance, *c.fine);
      }
    }
  }
  std::vector<SummaryRow> rows;
  for (Level level : {Level::kService, Level::kFine}) {
    std::vector<std::string> groups;
    for (const auto& [g, unused] : cells[level]) groups.push_back(g);
    std::stable_sort(groups.begin(), groups.end(), [](const std::string& a, const std::string& b) {
      return GroupRank(a) < GroupRank(b);
    });
    for (const std::string& g : groups) {
      const Cell& ch = chance_cells[level][g];
      const AtK chance = Divide(ch.chance, ch.chance_cases);
      auto fill = [&](SummaryRow& row) {
        row.chance_ac = chance;
        row.chance_avg5 = AvgAtK(chance, kMaxK);
      };
      for (const MethodSpec& m : methods) {
        auto it = cells[level][g].find(m.label);
        if (it == cells[level][g].end()) continue;
        const Cell& c = it->second;
        SummaryRow row;
        row.method = m.label;
        row.level = level;
        row.group = g;
        row.cases = c.cases;
        row.failed = c.failed;
        row.ac = Divide(c.hits, c.cases);
        row.avg5 = AvgAtK(row.ac, kMaxK);
        row.seconds_per_case = c.cases ? c.seconds / static_cast<double>(c.cases) : 0;
        fill(row);
        rows.push_back(std::move(row));
      }
      SummaryRow random;
      random.method = "(random)";
      random.level = level;
      random.group = g;
      random.cases = ch.chance_cases;
      random.ac = chance;
      random.avg5 = AvgAtK(chance, kMaxK);
      fill(random);
      rows.push_back(std::move(random));
    }
  }
  return rows;
}

namespace {

Status WriteCaseJson(const fs::path& out_dir, const CaseOutcome& o) {
  fs::path path = out_dir / "cases" / o.method / (o.case_id + ".json");
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    return Status::IoError(fmt::format("eval: cannot create {}: {}", path.parent_path().string(),
                                       ec.message()));
  }
  return data::WriteStringToFile(path, RankingJson(o.method, o.case_id, o.seconds, o.ranking,
                                         o.failed ? std::optional<std::string>(o.error)
                                                  : std::nullopt) +
                                 "\n");
}

}  // namespace

Result<EvalResult> RunEvaluation(const fs::path& dataset, const std::vector<MethodSpec>& methods,
                                 const rca::MethodRegistry& registry, const EvalOptions& options) {
  LLMRCA_ASSIGN_OR_RETURN(std::vector<data::CaseRef> refs, data::DiscoverCases(dataset));
  // Methods are created once and shared: Rank() is const and thread-safe.
  std::vector<std::unique_ptr<rca::Method>> instances;
  for (const MethodSpec& m : methods) {
    LLMRCA_ASSIGN_OR_RETURN(std::unique_ptr<rca::Method> method,
                            registry.Create(m.name, m.params));
    instances.push_back(std::move(method));
  }
  if (options.out_dir) {
    std::error_code ec;
    fs::create_directories(*options.out_dir, ec);
    if (ec) {
      return Status::IoError(fmt::format("eval: cannot create output directory {}: {}",
                                         options.out_dir->string(), ec.message()));
    }
  }

  const size_t n = refs.size();
  std::vector<std::vector<CaseOutcome>> per_case(n);
  std::vector<std::optional<CaseChance>> chances(n);
  std::vector<std::string> skipped(n);
  std::vector<std::string> flagged_skipped(n);
  std::vector<Status> write_errors(n);
  ProgressBar progress("eval", n, options.progress);

  ParallelFor(n, std::max<size_t>(1, options.jobs), [&](size_t i) {
    const data::CaseRef& ref = refs[i];
    Result<data::GroundTruth> truth = data::ReadGroundTruth(ref.dir);
    if (!truth.ok()) {
      skipped[i] = ref.id + ": " + truth.status().message();
      progress.Advance();
      return;
    }
    if (options.skip_flagged && truth->flagged) {
      flagged_skipped[i] = ref.id;
      progress.Advance();
      return;
    }
    const std::optional<FineAnswer> fine = FineGrainedAnswer(*truth);
    Result<data::Case> c = data::LoadCase(ref.dir, options.preprocess, ref.id);
    CaseChance chance{ref.id, *truth, std::nullopt, std::nullopt};
    if (c.ok()) {
      chance.service = ServiceChance(c->metrics.Names(), *truth);
      if (fine) chance.fine = FineChance(c->metrics.Names(), *fine);
    }
    chances[i] = std::move(chance);
    rca::RunContext ctx;
    ctx.seed = Rng::Derive(options.seed, ref.id);
    ctx.threads = std::max<size_t>(1, options.threads);
    for (size_t m = 0; m < methods.size(); ++m) {
      CaseOutcome o;
      o.case_id = ref.id;
      o.method = methods[m].label;
      o.truth = *truth;
      if (!c.ok()) {
        o.failed = true;
        o.error = c.status().message();
      } else {
        if (options.timeout_s > 0) {
          ctx.deadline = Deadline::In(std::chrono::duration<double>(options.timeout_s));
        }
        const auto start = std::chrono::steady_clock::now();
        Result<rca::Ranking> ranking = instances[m]->Rank(*c, ctx);
        o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (ranking.ok()) {
          o.ranking = std::move(ranking).value();
        } else {
          o.failed = true;
          o.error = ranking.status().message();
        }
      }
      o.service_hits = ServiceHits(o.ranking, o.truth);
      if (fine) o.fine_hits = FineHits(o.ranking, *fine);
      if (o.failed) Log(LogLevel::kWarning, "{} on {}: {}", o.method, o.case_id, o.error);
      if (options.out_dir && write_errors[i].ok()) write_errors[i] = WriteCaseJson(*options.out_dir, o);
      per_case[i].push_back(std::move(o));
    }
    progress.Advance();
  });

  EvalResult result;
  result.dataset = dataset.string();
  result.methods = methods;
  result.total_cases = static_cast<int64_t>(n);
  for (size_t i = 0; i < n; ++i) {
    if (!write_errors[i].ok() && result.output_status.ok()) result.output_status = write_errors[i];
    if (!skipped[i].empty()) {
      Log(LogLevel::kWarning, "skipped case {}", skipped[i]);
      result.skipped.push_back(std::move(skipped[i]));
    }
    if (!flagged_skipped[i].empty()) result.flagged_skipped.push_back(flagged_skipped[i]);
    if (chances[i]) result.chances.push_back(std::move(*chances[i]));
    for (CaseOutcome& o : per_case[i]) result.outcomes.push_back(std::move(o));
  }
  result.rows = Summarize(methods, result.outcomes, result.chances);
  return result;
}

}  // namespace llmrca::eval
