// llmrca's own stressors (no stress-ng at run time): CPU workers with a duty cycle and a memory
// hog with a ramp. They run in a child process (`llmrca chaos stress-worker`) that the injector
// places in the target's cgroup before it starts, so the load is charged to the target.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace llmrca::chaos {

// `workers` threads, each busy `load_pct` % of every 100 ms period (stress-ng's --cpu-load
// idea), until `duration` passes or `stop` is set.
void RunCpuStress(int workers, double load_pct, std::chrono::duration<double> duration,
                  const std::atomic<bool>& stop);

// Allocates `bytes`, writing every page, spread evenly over `ramp` (0: at once), then holds it
// until `duration` (from the start) passes or `stop` is set. kUnavailable when the memory
// cannot be mapped.
Status RunMemoryStress(int64_t bytes, std::chrono::duration<double> ramp,
                       std::chrono::duration<double> duration, const std::atomic<bool>& stop);

// "512M", "2G", "100k", "4096" (bytes; k/M/G are powers of 1,024). kInvalidArgument otherwise.
Result<int64_t> ParseByteSize(std::string_view text);

// CPU seconds a process has used (user + system, /proc/<pid>/stat); -1 when unreadable.
double ProcessCpuSeconds(int pid);
// Resident memory of a process in bytes (/proc/<pid>/status VmRSS); -1 when unreadable.
int64_t ProcessRssBytes(int pid);

}  // namespace llmrca::chaos
