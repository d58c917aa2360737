// `llmrca chaos`: inject a fault for a bounded time, restore, and write its record
// (chaos/fault_record.h). One subcommand per kind (proxy, cpu, memory, disk, process, network,
// gpu),
// `schedule` for a YAML file of several with start offsets, `recover` for what a killed
// injector left. A schedule file's entries take the same options as the subcommands (the same
// parser reads both), so a fault means the same thing on the command line and in a file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chaos/runner.h"
#include "cli/command.h"

namespace llmrca::cli {

// Every option of every fault kind; each kind reads its own.
struct ChaosFaultFlags {
  std::string kind;  // proxy, cpu, memory, disk, process, network, gpu
  double duration_s = 0;
  // Target of cpu, memory, disk (their cgroup) and process.
  int pid = 0;
  std::string cgroup;
  std::string container;  // a container id (or a unique prefix of 12+ characters)
  // cpu
  int workers = 1;
  double load = 100;
  // memory
  std::string size = "256M";
  double ramp_s = 0;
  // disk
  std::string dir = "/tmp";
  std::string write_rate;  // bytes/s with k, M, G
  std::string read_rate;
  bool fsync = false;
  std::string file_size = "64M";
  // process
  std::string action = "pause";  // pause, kill, restart
  std::string method = "signal"; // pause by: signal, freezer
  std::string restart_log;
  // network
  std::string dev;
  std::string netns;
  double delay_ms = 0, jitter_ms = 0, correlation_pct = 0, loss_pct = 0, duplicate_pct = 0,
         corrupt_pct = 0;
  std::string rate;
  std::string burst = "32kbit";
  std::string direction = "egress";
  std::string ifb;
  // gpu
  int device = 0;
  double power_cap_w = 0;
  double gpu_load = 0;          // percent
  std::string gpu_memory = "0"; // bytes with k, M, G
  std::string nvml_library;
  // proxy
  std::string listen = "127.0.0.1:0";
  std::string upstream;
  double bandwidth_kbps = 0;
  double stall_probability = 0;
  double stall_ms = 200;
  bool timeout = false;
  double timeout_close_ms = 0;
  bool reset = false;
  bool down = false;
  std::string stream = "downstream";
  double toxicity = 1;
};

// Where records go and how the run behaves; shared by the kinds and `schedule`.
struct ChaosRunFlags {
  std::string record;  // file the records are appended to; empty: stdout
  std::string state;   // the undo journal; empty: the default
  bool dry_run = false;
};

void AddChaosCommand(CLI::App& app, CliContext& ctx);

// The fault the flags describe (validated, nothing injected yet).
Result<std::unique_ptr<chaos::Fault>> BuildFault(const ChaosFaultFlags& flags);

// Reads a schedule (YAML: a list `faults:` of mappings with `kind`, `start` (s, default 0),
// `duration` and the kind's options by their long names without dashes, e.g. `write-rate` or
// `write_rate`). kInvalidArgument names the file, the entry and the problem.
Result<std::vector<chaos::TimedFault>> ReadSchedule(const std::string& path);

// Runs the faults (or plans them with dry_run) and writes every record.
Status RunChaos(std::vector<chaos::TimedFault> faults, const ChaosRunFlags& run);

}  // namespace llmrca::cli
