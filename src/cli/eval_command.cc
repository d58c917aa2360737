#include "cli/eval_command.h"

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "eval/evaluator.h"
#include "data/csv_writer.h"
#include "eval/report.h"

namespace llmrca::cli {

namespace fs = std::filesystem;

void AddEvalCommand(CLI::App& app, CliContext& ctx) {
  auto options = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate methods over a dataset: AC@1/3/5 and Avg@5 per fault type and overall");
  cmd->footer(
      "Example:\n"
      "  llmrca eval --dataset testdata/parity --methods all\n"
      "  llmrca eval --dataset DIR --methods dummy,baro,baro:direction=both --jobs 2 --out out/\n"
      "  llmrca eval --dataset DIR --methods all --param compat=rcaeval   # the study's numbers\n"
      "A dataset is a tree <dataset>/<service>_<fault>/<repetition>/ of cases; the root cause is\n"
      "the folder's <service> (or case.json's root_cause). With --out DIR: DIR/cases/<method>/\n"
      "<case>.json rankings, DIR/report.csv and DIR/summary.json.");
  cmd->add_option("--dataset", options->dataset, "Dataset directory")->required();
  cmd->add_option("--methods", options->methods,
                  "'all' or a comma-separated list of name[:key=value[:key=value]]")
      ->required();
  cmd->add_option("--param", options->params,
                  "key=value given to every listed method that declares the key, e.g. "
                  "compat=rcaeval (repeatable)");
  cmd->add_option("--jobs,-j", options->jobs, "Cases evaluated in parallel")
      ->default_val(1)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--format", options->format, "Output format of the summary on stdout")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->default_val("table");
  cmd->add_option("--out", options->out_dir,
                  "Directory for per-case rankings, report.csv and summary.json");
  cmd->add_option("--seed", options->seed, "Seed; each case gets a stream derived from it")
      ->default_val(0);
  cmd->add_flag("--no-progress", options->no_progress, "Never draw the progress bar");
  cmd->add_option("--timeout", options->timeout_s,
                  "Seconds a method may spend on one case; past it the case is a failure "
                  "(0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->default_val(0);
  cmd->add_option("--threads", options->threads,
                  "Threads a method may use within one case (graph methods); results do not "
                  "depend on it")
      ->check(CLI::PositiveNumber)
      ->default_val(1);
  cmd->add_flag("--skip-flagged", options->skip_flagged,
                "Leave out cases whose case.json is flagged (llmrca sim measured no effect of "
                "the fault); the report says how many");
  AddPreprocessFlags(*cmd, options->preprocess);
  cmd->callback([options, &ctx] { ctx.status = RunEval(*options, ctx); });
}

Status RunEval(const EvalOptions& options, const CliContext& ctx) {
  LLMRCA_ASSIGN_OR_RETURN(rca::ParamMap common, ParseParamFlags(options.params));
  Result<std::vector<eval::MethodSpec>> specs =
      eval::ParseMethodSpecs(options.methods, *ctx.methods, common);
  if (!specs.ok()) return AsUsageError(specs.status());
  eval::EvalOptions run;
  LLMRCA_ASSIGN_OR_RETURN(run.preprocess, ToPreprocessOptions(options.preprocess));
  run.jobs = static_cast<size_t>(options.jobs);
  run.seed = options.seed;
  run.progress = !options.no_progress;
  run.skip_flagged = options.skip_flagged;
  run.timeout_s = options.timeout_s;
  run.threads = static_cast<size_t>(options.threads);
  if (!options.out_dir.empty()) run.out_dir = fs::path(options.out_dir);
  LLMRCA_ASSIGN_OR_RETURN(eval::EvalResult result,
                          eval::RunEvaluation(options.dataset, *specs, *ctx.methods, run));
  Status written = result.output_status;
  if (run.out_dir && written.ok()) {
    written = data::WriteStringToFile(*run.out_dir / "report.csv", eval::SummaryCsv(result.rows));
    if (written.ok()) {
      written = data::WriteStringToFile(*run.out_dir / "summary.json", eval::SummaryJson(result) + "\n");
    }
  }
  std::string text;
  if (options.format == "json") {
    text = eval::SummaryJson(result) + "\n";
  } else if (options.format == "csv") {
    text = eval::SummaryCsv(result.rows);
  } else {
    text = eval::SummaryTable(result);
  }
  // The summary is printed even when writing --out failed, so nothing computed is lost.
  LLMRCA_RETURN_IF_ERROR(WriteStdout(text));
  return written.ok() ? written : written.WithPrefix("eval");
}

}  // namespace llmrca::cli
