// Child processes that never outlive llmrca: `serve-sim stack` runs engines, a router and nginx
// as children; `chaos` runs stressors. Each child is started with a parent-death signal, so a
// killed llmrca (even SIGKILL) takes its children with it, and the owner stops it with SIGTERM,
// then SIGKILL after a grace period, so no process is left behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace llmrca {

struct SubprocessOptions {
  // Where the child's stdout goes: a pipe the owner reads with ReadLine() (true) or this
  // process's own stdout (false).
  bool capture_stdout = false;
  // Where the child's stderr goes: appended to this file when set, else this process's stderr.
  std::string stderr_path;
  // The signal the child gets when llmrca dies (prctl PR_SET_PDEATHSIG); 0: none.
  int parent_death_signal = 15;  // SIGTERM
  // When set, the child writes its pid to this file (a cgroup's cgroup.procs) before it execs,
  // so everything it runs is charged to that cgroup from the start.
  std::string join_cgroup_procs;
};

class Subprocess {
 public:
  // Starts argv[0] (looked up in PATH when it has no '/') with argv. kNotFound when the program
  // does not exist or is not executable; kUnavailable when the child cannot join the cgroup
  // (no such cgroup, no permission); kInternal when fork or pipe fail.
  static Result<Subprocess> Start(const std::vector<std::string>& argv,
                                  SubprocessOptions options = {});
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();  // Stop() with a 2 s grace period when still running

  pid_t pid() const { return pid_; }

  // The next line of the child's captured stdout, without its newline. kDeadlineExceeded when
  // none arrives in time; kUnavailable when the child closed stdout (exited) first.
  Result<std::string> ReadLine(std::chrono::milliseconds timeout);

  // The exit status when the child has ended (reaped here), nullopt while it runs. The value
  // is the exit code, or 128 + the signal that killed it.
  std::optional<int> Poll();

  // SIGTERM, wait up to `grace`, then SIGKILL and wait. Returns the exit status as Poll() does.
  // Idempotent.
  int Stop(std::chrono::milliseconds grace);

  // Sends a signal now (SIGSTOP, SIGCONT, ...); false when the child has ended.
  bool Signal(int signal);

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;  // captured stdout read past the last line returned
  std::optional<int> exit_;
};

// The path of the running executable (/proc/self/exe), to start llmrca itself as a child.
Result<std::string> SelfExecutable();

}  // namespace llmrca
