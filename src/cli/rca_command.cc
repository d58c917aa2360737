#include "cli/rca_command.h"

#include <chrono>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "base/random.h"
#include "data/case.h"
#include "eval/report.h"

namespace llmrca::cli {

namespace fs = std::filesystem;

void AddRcaCommand(CLI::App& app, CliContext& ctx) {
  auto options = std::make_shared<RcaOptions>();
  CLI::App* cmd = app.add_subcommand("rca", "Rank the root causes of one case with one method");
  cmd->footer(
      "Example:\n  llmrca rca --case testdata/parity/ray-head_cpu/1 --method baro --top 5\n"
      "  llmrca rca --case DIR --method baro --param compat=rcaeval --format json\n"
      "The case directory holds data.csv and inject_time.txt (docs/FORMATS.md); see\n"
      "`llmrca methods` for the methods and their parameters.");
  cmd->add_option("--case", options->case_dir, "Case directory")->required();
  cmd->add_option("--method", options->method, "Method name (see `llmrca methods`)")->required();
  cmd->add_option("--param", options->params, "Method parameter key=value (repeatable)");
  cmd->add_option("--top", options->top, "Print only the first K candidates (0 = all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", options->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->default_val("table");
  cmd->add_option("--seed", options->seed,
                  "Seed of randomized methods; the stream is derived from it and the case id, as "
                  "in `llmrca eval`")
      ->default_val(0);
  cmd->add_option("--timeout", options->timeout_s,
                  "Stop the method after this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->default_val(0);
  cmd->add_option("--threads", options->threads,
                  "Threads the method may use (graph methods); results do not depend on it")
      ->check(CLI::PositiveNumber)
      ->default_val(1);
  AddPreprocessFlags(*cmd, options->preprocess);
  cmd->callback([options, &ctx] { ctx.status = RunRca(*options, ctx); });
}

Status RunRca(const RcaOptions& options, const CliContext& ctx) {
  LLMRCA_ASSIGN_OR_RETURN(rca::ParamMap params, ParseParamFlags(options.params));
  Result<std::unique_ptr<rca::Method>> method = ctx.methods->Create(options.method, params);
  if (!method.ok()) return AsUsageError(method.status());
  LLMRCA_ASSIGN_OR_RETURN(data::PreprocessOptions preprocess, ToPreprocessOptions(options.preprocess));
  // The id mirrors a dataset's "<service>_<fault>/<repetition>" so rankings match `eval`'s.
  fs::path dir = fs::path(options.case_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  std::string id = dir.filename().string();
  if (dir.has_parent_path() && dir.parent_path().has_filename()) {
    id = dir.parent_path().filename().string() + "/" + id;
  }
  LLMRCA_ASSIGN_OR_RETURN(data::Case c, data::LoadCase(dir, preprocess, id));
  rca::RunContext run;
  run.seed = Rng::Derive(options.seed, c.id);
  run.threads = static_cast<size_t>(options.threads);
  if (options.timeout_s > 0) {
    run.deadline = Deadline::In(std::chrono::duration<double>(options.timeout_s));
  }
  const auto start = std::chrono::steady_clock::now();
  LLMRCA_ASSIGN_OR_RETURN(rca::Ranking ranking, (*method)->Rank(c, run));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (options.top > 0 && ranking.size() > static_cast<size_t>(options.top)) {
    ranking.resize(static_cast<size_t>(options.top));
  }
  if (options.format == "json") {
    return WriteStdout(eval::RankingJson(options.method, c.id, seconds, ranking) + "\n");
  }
  return WriteStdout(eval::RankingTable(ranking, 0));
}

}  // namespace llmrca::cli
