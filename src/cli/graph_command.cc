#include "cli/graph_command.h"

#include <memory>

#include <fmt/format.h>

#include "base/strings.h"
#include "causal/graph.h"
#include "causal/learn.h"
#include "data/case.h"
#include "data/plain_table.h"

namespace llmrca::cli {

void AddGraphCommand(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<GraphOptions>();
  CLI::App* cmd = app.add_subcommand("graph", "Learn one causal graph and print it");
  cmd->footer(
      "Examples:\n"
      "  llmrca graph --case testdata/parity/ray-head_cpu/1 --algo pc --format dot | dot -Tpng\n"
      "  llmrca graph --csv table.tsv --algo pc --indep-test chisq --format matrix\n"
      "  llmrca graph --case DIR --algo granger --max-lag 5\n"
      "PC's and GES's options mean what they mean in causal-learn's pc() and ges(); --format\n"
      "matrix prints causal-learn's endpoint encoding (graph[i,j] = -1 tail, 1 arrowhead, 2\n"
      "circle at node i on the edge i-j; 0 no edge), one row per line, the names on a first '#'\n"
      "line. Granger, LiNGAM and NOTEARS graphs print as directed edges (both ways: 1/1).");
  auto* input = cmd->add_option_group("input", "where the data comes from");
  input->add_option("--case", o->case_dir, "Case directory (its preprocessed metrics)");
  input->add_option("--csv", o->csv,
                    "Plain table: a header line, then numbers separated by commas, tabs or spaces");
  input->require_option(1);
  cmd->add_option("--algo", o->learn.algo, "Algorithm")
      ->check(CLI::IsMember(causal::AlgorithmNames()))
      ->default_val("pc");
  cmd->add_option("--indep-test", o->learn.indep_test, "PC/FCI independence test")
      ->check(CLI::IsMember({"fisherz", "chisq", "gsq"}))
      ->default_val("fisherz");
  cmd->add_option("--alpha", o->learn.alpha, "Significance level (PC, FCI, Granger)")->default_val(0.05);
  cmd->add_option("--depth", o->learn.depth, "Largest conditioning set, -1 unlimited")->default_val(-1);
  cmd->add_flag("--stable,!--no-stable", o->learn.stable, "Order-independent skeleton (default on)");
  cmd->add_option("--uc-rule", o->learn.uc_rule, "0 uc_sepset, 1 maxP, 2 definiteMaxP")
      ->check(CLI::Range(0, 2))
      ->default_val(0);
  cmd->add_option("--uc-priority", o->learn.uc_priority, "Collider conflict rule -1..4")
      ->check(CLI::Range(-1, 4))
      ->default_val(2);
  cmd->add_option("--max-path-length", o->learn.max_path_length, "FCI path limit, -1 unlimited")
      ->default_val(-1);
  cmd->add_option("--score", o->score, "GES score")
      ->check(CLI::IsMember({"bic", "bdeu"}))
      ->default_val("bic");
  cmd->add_option("--max-parents", o->learn.max_parents, "GES parent limit, -1 unlimited")
      ->default_val(-1);
  cmd->add_option("--max-lag", o->learn.max_lag, "Granger: largest lag")
      ->check(CLI::PositiveNumber)
      ->default_val(3);
  cmd->add_option("--granger-test", o->granger_test,
                  "ssr_f, or rcaeval (the mean p of statsmodels' four tests)")
      ->check(CLI::IsMember({"ssr_f", "rcaeval"}))
      ->default_val("ssr_f");
  cmd->add_flag("--multivariate", o->learn.multivariate, "Granger: one VAR over all series");
  cmd->add_option("--lingam", o->lingam, "LiNGAM variant")
      ->check(CLI::IsMember({"ica", "direct"}))
      ->default_val("ica");
  cmd->add_option("--rank", o->learn.rank, "NOTEARS low-rank: rank")->default_val(10);
  cmd->add_option("--threshold", o->learn.threshold, "NOTEARS low-rank: weight threshold")
      ->default_val(0.3);
  cmd->add_option("--bins", o->learn.bins, "Quantile bins for chisq, gsq, bdeu")->default_val(5);
  cmd->add_option("--format", o->format, "Output format")
      ->check(CLI::IsMember({"json", "dot", "matrix"}))
      ->default_val("json");
  cmd->add_option("--threads", o->threads, "Threads for independent tests")
      ->check(CLI::PositiveNumber)
      ->default_val(1);
  cmd->add_option("--seed", o->learn.seed, "Seed of randomized algorithms (lingam, ntlr)")
      ->default_val(0);
  cmd->add_option("--timeout", o->timeout_s, "Stop after this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->default_val(0);
  AddPreprocessFlags(*cmd, o->preprocess);
  cmd->callback([o, &ctx] { ctx.status = RunGraph(*o); });
}

Status RunGraph(const GraphOptions& o) {
  std::vector<std::string> names;
  Eigen::MatrixXd data;
  if (!o.case_dir.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(data::PreprocessOptions preprocess, ToPreprocessOptions(o.preprocess));
    LLMRCA_ASSIGN_OR_RETURN(data::Case c, data::LoadCase(o.case_dir, preprocess));
    names = c.metrics.Names();
    data = c.metrics.Values();
  } else {
    LLMRCA_ASSIGN_OR_RETURN(data::PlainTable table, data::ReadPlainTable(o.csv));
    names = std::move(table.names);
    data = std::move(table.values);
  }
  causal::LearnOptions l = o.learn;
  l.score = o.score == "bdeu" ? causal::GesScore::kBdeu : causal::GesScore::kBic;
  l.granger_test = o.granger_test == "rcaeval" ? causal::GrangerTest::kRcaevalAverage
                                               : causal::GrangerTest::kSsrF;
  l.lingam = o.lingam == "direct" ? causal::LingamVariant::kDirect : causal::LingamVariant::kIca;
  l.lingam_independent_subset = true;
  l.lingam_unit_scale_lasso = true;
  l.threads = static_cast<size_t>(o.threads);
  if (o.timeout_s > 0) l.deadline = Deadline::In(std::chrono::duration<double>(o.timeout_s));
  LLMRCA_ASSIGN_OR_RETURN(causal::LearnedGraph learned, causal::LearnGraph(data, l));
  if (o.format == "dot") return WriteStdout(causal::ToDot(learned.graph, names));
  if (o.format == "json") return WriteStdout(causal::ToJson(learned.graph, names) + "\n");
  const Eigen::MatrixXi m = learned.graph.EndpointMatrix();
  std::string out = "# " + Join(names, " ") + "\n";
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      out += fmt::format("{}{}", j ? " " : "", m(i, j));
    }
    out += "\n";
  }
  return WriteStdout(out);
}

}  // namespace llmrca::cli
