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

// Disk I/O at a paced rate, as chaosd's disk payload does with dd, but bounded in rate: writes
// `write_bps` bytes/s in 64 KiB blocks to a scratch file in `dir` (cycling within `file_bytes`),
// with fdatasync after each 10 ms slice when `fsync` is set, and reads `read_bps` bytes/s back
// after dropping them from the page cache (posix_fadvise DONTNEED), so reads reach the device.
// The file is unlinked as soon as it is open: it vanishes with the process however it ends.
struct DiskStressOptions {
  std::string dir = "/tmp";
  int64_t write_bps = 0;
  int64_t read_bps = 0;
  bool fsync = false;
  int64_t file_bytes = int64_t{64} << 20;
};
struct DiskStressStats {
  int64_t bytes_written = 0;
  int64_t bytes_read = 0;
  int64_t fsyncs = 0;
  double fsync_max_ms = 0;
};
// kInvalidArgument for no rate or a bad size, kUnavailable when the scratch file cannot be
// created or written (the message names the directory and the error).
Result<DiskStressStats> RunDiskStress(const DiskStressOptions& options,
                                      std::chrono::duration<double> duration,
                                      const std::atomic<bool>& stop);

// "512M", "2G", "100k", "4096" (bytes; k/M/G are powers of 1,024). kInvalidArgument otherwise.
Result<int64_t> ParseByteSize(std::string_view text);

// CPU seconds a process has used (user + system, /proc/<pid>/stat); -1 when unreadable.
double ProcessCpuSeconds(int pid);
// Resident memory of a process in bytes (/proc/<pid>/status VmRSS); -1 when unreadable.
int64_t ProcessRssBytes(int pid);

// A process's I/O counters (/proc/<pid>/io): bytes passed to read/write calls (rchar, wchar)
// and bytes that reached the block layer (read_bytes, write_bytes). All -1 when unreadable.
struct ProcessIo {
  int64_t rchar = -1;
  int64_t wchar = -1;
  int64_t read_bytes = -1;
  int64_t write_bytes = -1;
};
ProcessIo ReadProcessIo(int pid);

}  // namespace llmrca::chaos
