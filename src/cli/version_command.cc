#include "cli/version_command.h"

#include <Eigen/Core>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stats/dense.h"
#ifdef LLMRCA_WITH_LOAD
#include "load/engine.h"
#endif

#ifndef LLMRCA_VERSION
#define LLMRCA_VERSION "unknown"
#endif
#ifndef LLMRCA_BUILD_TYPE
#define LLMRCA_BUILD_TYPE "unknown"
#endif
#ifndef LLMRCA_SANITIZERS
#define LLMRCA_SANITIZERS ""
#endif

namespace llmrca::cli {

void AddVersionCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand("version", "Print the version and the compiled-in components");
  cmd->callback([&ctx] { ctx.status = RunVersion(ctx); });
}

Status RunVersion(const CliContext& ctx) {
  std::string out = fmt::format("llmrca {}\n", LLMRCA_VERSION);
  out += fmt::format("build: {}, {} {}.{}.{}{}\n", LLMRCA_BUILD_TYPE, "g++", __GNUC__,
                     __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
                     std::string(LLMRCA_SANITIZERS).empty()
                         ? std::string()
                         : std::string(", sanitizers: ") + LLMRCA_SANITIZERS);
  out += "components:\n";
  out += fmt::format("  core       data, stats, rca, eval ({} methods), sim\n",
                     ctx.methods->List().size());
  out += fmt::format("  eigen      {}.{}.{}\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
                     EIGEN_MINOR_VERSION);
  out += fmt::format("  dense      {}\n", stats::DenseBackendName());
  out += fmt::format("  fmt        {}\n", FMT_VERSION);
  out += fmt::format("  json       nlohmann {}.{}.{}\n", NLOHMANN_JSON_VERSION_MAJOR,
                     NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
  out += fmt::format("  cli        CLI11 {}\n", CLI11_VERSION);
#ifdef LLMRCA_WITH_LOAD
  out += fmt::format("  load       {}\n", load::CurlVersionString());
  out += "optional (not compiled in): chaos, collect, torch, cuda, mpi\n";
#else
  // Optional areas (LLMRCA_WITH_*) arrive with their own issues.
  out += "optional (not compiled in): load, chaos, collect, torch, cuda, mpi\n";
#endif
  return WriteStdout(out);
}

}  // namespace llmrca::cli
