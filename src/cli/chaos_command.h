// `llmrca chaos`: inject a fault for a bounded time and write its record (chaos/fault_record.h).
// `chaos proxy` is the TCP proxy that delays, slows, stalls, cuts or resets what it relays
// (chaos/tcp_proxy.h): network faults without root or kernel support.
#pragma once

#include <string>

#include "cli/command.h"

namespace llmrca::cli {

struct ChaosProxyFlags {
  std::string listen = "127.0.0.1:0";  // HOST:PORT
  std::string upstream;                // HOST:PORT
  double delay_ms = 0;
  double jitter_ms = 0;
  double bandwidth_kbps = 0;
  double stall_probability = 0;
  double stall_ms = 200;
  bool timeout = false;
  double timeout_close_ms = 0;
  bool reset = false;
  bool down = false;
  std::string stream = "downstream";  // downstream, upstream, both
  double toxicity = 1;
  double duration_s = 0;
  std::string record;  // file for the fault record; empty: stdout
  bool dry_run = false;
};

// cpu / memory stress and process faults on a target.
struct ChaosHostFlags {
  std::string kind;          // cpu, memory, process
  int pid = 0;               // target process (its cgroup for cpu/memory)
  std::string cgroup;        // target cgroup directory
  int workers = 1;           // cpu
  double load = 100;         // cpu, percent
  std::string size = "256M"; // memory
  double ramp_s = 0;         // memory
  std::string action = "pause";  // process: pause, kill
  double duration_s = 0;
  std::string record;
  std::string state;         // journal path; empty: the default
  bool dry_run = false;
};

struct ChaosNetworkFlags {
  std::string dev;
  std::string netns;
  double delay_ms = 0, jitter_ms = 0, correlation_pct = 0, loss_pct = 0, duplicate_pct = 0,
         corrupt_pct = 0;
  std::string rate;
  std::string burst = "32kbit";
  double duration_s = 0;
  std::string record;
  std::string state;
  bool dry_run = false;
};

void AddChaosCommand(CLI::App& app, CliContext& ctx);
Status RunChaosNetwork(const ChaosNetworkFlags& flags);
Status RunChaosHost(const ChaosHostFlags& flags);
Status RunChaosProxy(const ChaosProxyFlags& flags);

}  // namespace llmrca::cli
