// llmrca-gpu-chaos: the GPU faults as a small tool for GPU hosts, which lack the Debian -dev
// packages the llmrca binary needs (the main CLI, `llmrca chaos gpu`, uses the same library).
//   info [--json]                                   devices, power limits, draw, utilisation
//   power-cap --device I --watts W --duration S [--dry-run]
//                                                   caps the power limit, restores the limit
//                                                   read before on expiry, SIGINT, SIGTERM or
//                                                   SIGHUP; prints a JSON fault record
//   load --device I --load PCT --duration S [--memory BYTES] [--period S]
//                                                   the CUDA load kernel (CUDA builds only)
//   load --probe [--device I] [--kernels N]         times a small fixed GPU job
// Every subcommand takes --nvml-library PATH (else $LLMRCA_NVML_LIBRARY, else the driver's).
// Data (JSON, tables) goes to stdout, progress and errors to stderr.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace llmrca::chaos::gpu {

// Runs one command line (`args` without the program name). Returns the exit code: 0 success
// (including a fault ended early by a signal), 1 a runtime failure (the message is on `err`),
// 2 a usage error. Blocks SIGINT, SIGTERM and SIGHUP in the calling thread while a fault is in
// force and waits for them with sigtimedwait, restoring the signal mask afterwards; call it
// from the main thread before starting others.
int RunGpuChaosTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace llmrca::chaos::gpu
