#include "cli/version_command.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <Eigen/Core>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chaos/gpu/gpu_load.h"
#include "chaos/gpu/nvml.h"
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

namespace {

// What this kernel offers the network faults, without creating anything: built in (a
// function of the qdisc in /proc/kallsyms) or a module on disk that tc would load.
std::string ChaosQdiscSupport() {
  struct Feature {
    const char* name;
    const char* symbol;
    const char* module;  // below /lib/modules/<release>/kernel/
    std::string state = "no";
  };
  Feature features[] = {{"netem", " netem_enqueue", "net/sched/sch_netem.ko"},
                        {"tbf", " tbf_enqueue", "net/sched/sch_tbf.ko"},
                        {"ifb", " ifb_open", "drivers/net/ifb.ko"}};
  std::ifstream syms("/proc/kallsyms");
  if (!syms) return "unknown (cannot read /proc/kallsyms)";
  std::string line;
  while (std::getline(syms, line)) {
    for (Feature& f : features) {
      if (line.ends_with(f.symbol)) f.state = "yes";
    }
  }
  utsname u{};
  ::uname(&u);
  std::string out;
  for (Feature& f : features) {
    if (f.state == "no") {
      const std::string base = fmt::format("/lib/modules/{}/kernel/{}", u.release, f.module);
      for (const char* ext : {"", ".xz", ".zst", ".gz"}) {
        if (::access((base + ext).c_str(), F_OK) == 0) f.state = "module";
      }
    }
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", f.name, f.state);
  }
  return out;
}

// NVML as this machine offers it: loaded at run time, so a build without the driver still caps
// power where the driver is.
std::string NvmlState() {
  const std::string library = chaos::gpu::ResolveNvmlLibrary("");
  chaos::gpu::GpuResult<std::unique_ptr<chaos::gpu::Nvml>> nvml = chaos::gpu::Nvml::Open(library);
  if (!nvml.ok()) return fmt::format("loaded at run time; {} not loadable here", library);
  chaos::gpu::GpuResult<unsigned> count = (*nvml)->DeviceCount();
  return fmt::format("loaded at run time: {}, {} GPU(s)", library, count.ok() ? *count : 0u);
}

}  // namespace

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
#endif
  out += "  chaos      proxy, cpu, memory, disk, process (signal, freezer, restart), network (tc "
         "on egress, ingress through ifb), gpu, schedules (yaml-cpp), recover\n";
  out += fmt::format("  tc qdiscs  {}\n", ChaosQdiscSupport());
  out += fmt::format("  gpu        power cap through NVML ({}); CUDA load kernel {}\n", NvmlState(),
                     chaos::gpu::GpuLoadBuiltWithCuda() ? "built in" : "not built (LLMRCA_WITH_CUDA=OFF)");
  // Optional areas (LLMRCA_WITH_*) arrive with their own issues.
  std::string missing;
#ifndef LLMRCA_WITH_LOAD
  missing += "load, ";
#endif
  missing += "collect, torch, ";
  if (!chaos::gpu::GpuLoadBuiltWithCuda()) missing += "cuda, ";
  out += "optional (not compiled in): " + missing + "mpi\n";
  return WriteStdout(out);
}

}  // namespace llmrca::cli
