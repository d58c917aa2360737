#include "cli/sim_command.h"

#include <memory>

#include <fmt/format.h>

#include "base/strings.h"
#include "sim/faults.h"
#include "sim/generator.h"
#include "sim/hardware.h"

namespace llmrca::cli {

void AddSimCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* sim = app.add_subcommand("sim", "Simulate an LLM serving stack and write datasets");
  sim->require_subcommand(1);
  auto options = std::make_shared<SimGenerateOptions>();
  std::string faults_help = "Faults to inject, name[:key=value...] comma-separated (default: the "
                            "profile's). Faults:";
  for (sim::FaultKind k : sim::AllFaultKinds()) {
    std::vector<std::string> params;
    for (const auto& [key, value] : sim::DefaultFaultParams(k)) {
      params.push_back(fmt::format("{}={}", key, value));
    }
    faults_help += fmt::format("\n  {:<15} {}", sim::FaultName(k), Join(params, " "));
  }
  CLI::App* gen = sim->add_subcommand(
      "generate", "Write a dataset of simulated incidents in the FORMATS.md layout");
  gen->footer(
      "Profiles:\n"
      "  seed-parity   the study's experiment: cpu, memory, network (1000 +- 100 ms delay) and gpu\n"
      "                (150 W cap) on ray-head and ray-replicas-0..2, 10 repetitions, 360 s at\n"
      "                5 QPS, fault at 285 s for 60 s, the study's telemetry columns (160 cases)\n"
      "  llm-extended  every fault below, 3 repetitions, full telemetry (engine, GPU, latency)\n"
      "  scale         64 replicas (--replicas up to 1000), 900 s runs, cpu/gpu/kv-cache/xid\n"
      "Example:\n"
      "  llmrca sim generate --out data/seed --profile seed-parity --seed 7\n"
      "  llmrca sim generate --out data/x --profile llm-extended --faults kv-cache,xid --cases 8\n"
      "  llmrca eval --dataset data/seed --methods all --skip-flagged");
  gen->add_option("--out", options->out, "Output directory (must be empty unless --force)")
      ->required();
  gen->add_option("--profile", options->profile, "seed-parity | llm-extended | scale")
      ->default_val("seed-parity");
  gen->add_option("--seed", options->seed, "Seed; every case derives its own from it and its id")
      ->default_val(1);
  gen->add_option("--cases", options->cases,
                  "Write only the first N cases (repetition-major); 0 = the whole profile")
      ->check(CLI::NonNegativeNumber)
      ->default_val(0);
  gen->add_option("--replicas", options->replicas,
                  "Engines: ray-head + ray-replicas-0..R-2, 1..1000 (default: the profile's)");
  gen->add_option("--duration", options->duration_s, "Run length in s (default: the profile's)");
  gen->add_option("--fault-start", options->fault_start_s,
                  "Fault start in s after the load starts (default: the profile's)");
  gen->add_option("--fault-duration", options->fault_duration_s,
                  "Fault duration in s (default: the profile's)");
  gen->add_option("--telemetry", options->telemetry,
                  "seed: the study's columns and quirks; full: + engine, GPU and request signals")
      ->check(CLI::IsMember({"seed", "full"}));
  gen->add_option("--faults", options->faults, faults_help);
  gen->add_option("--qps", options->qps,
                  "Total arrival rate (default: the profile's, 1.25 QPS per engine = the study's 5)");
  gen->add_option("--arrival", options->arrival, "Arrival pattern (default constant)")
      ->check(CLI::IsMember({"constant", "poisson"}));
  gen->add_option("--burst", options->burst,
                  "Bursts: PERIOD_S,LENGTH_S,FACTOR (every PERIOD_S seconds, LENGTH_S seconds at "
                  "FACTOR x the rate)")
      ->delimiter(',')
      ->expected(3);
  gen->add_option("--daily-amplitude", options->daily_amplitude,
                  "Daily pattern: rate x (1 + A sin(2 pi t / 1 day)), |A| < 1");
  gen->add_option("--gpu", options->gpu, "GPU profile: " + Join(sim::GpuProfileNames(), ", "));
  gen->add_option("--model", options->model, "Model profile: " + Join(sim::ModelProfileNames(), ", "));
  gen->add_option("--jobs,-j", options->jobs, "Cases simulated in parallel")
      ->default_val(1)
      ->check(CLI::PositiveNumber);
  gen->add_flag("--force", options->force, "Write into a non-empty output directory");
  gen->add_flag("--no-progress", options->no_progress, "Never draw the progress bar");
  gen->callback([options, &ctx] { ctx.status = RunSimGenerate(*options); });
}

Status RunSimGenerate(const SimGenerateOptions& options) {
  sim::GenerateOptions g;
  g.out = options.out;
  g.profile = options.profile;
  g.seed = options.seed;
  g.cases = options.cases;
  g.replicas = options.replicas;
  g.duration_s = options.duration_s;
  g.fault_start_s = options.fault_start_s;
  g.fault_duration_s = options.fault_duration_s;
  if (options.telemetry == "seed") g.telemetry = sim::TelemetryMode::kSeed;
  if (options.telemetry == "full") g.telemetry = sim::TelemetryMode::kFull;
  g.faults = options.faults;
  g.qps = options.qps;
  g.arrival = options.arrival;
  if (options.burst.size() == 3) {
    g.burst_period_s = options.burst[0];
    g.burst_length_s = options.burst[1];
    g.burst_factor = options.burst[2];
  }
  g.daily_amplitude = options.daily_amplitude;
  g.gpu = options.gpu;
  g.model = options.model;
  g.jobs = static_cast<size_t>(options.jobs);
  g.force = options.force;
  g.progress = !options.no_progress;
  LLMRCA_ASSIGN_OR_RETURN(sim::GenerateReport report, sim::GenerateDataset(g));
  return WriteStdout(fmt::format(
      "wrote {} cases to {} in {:.2f} s ({} flagged: the fault moved neither the SLI nor the "
      "root-cause metric); {} requests, {} failed\n",
      report.cases, options.out, report.seconds, report.flagged, report.requests,
      report.failed_requests));
}

}  // namespace llmrca::cli
