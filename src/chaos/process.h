// What the process faults need beyond a signal: the command a process was started with (to
// start it again after a kill, as a supervisor would), starting a command detached from the
// injector (it must outlive it: it is the service), and the freezer cgroup (v1 freezer.state,
// v2 cgroup.freeze), which pauses every process of a container at once, as Chaos Mesh's and
// Docker's pause do, where SIGSTOP reaches one process and is visible to its parent.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"
#include "chaos/cgroup.h"

namespace llmrca::chaos {

// How a process was started, read from /proc/<pid>/{cmdline,cwd,environ}.
struct ProcessCommand {
  std::vector<std::string> argv;  // argv[0] as the process was given it
  std::string exe;                // /proc/<pid>/exe resolved: what runs again
  std::string cwd;
  std::vector<std::string> env;   // NAME=value
};

// kNotFound when the process does not exist; kUnavailable when its environment or
// directory cannot be read (another user's process without root); kInvalidArgument for a
// kernel thread (no command line).
Result<ProcessCommand> ReadProcessCommand(pid_t pid);

// Starts `command` in its own session, not a child of this process (it is reparented to init
// or the nearest subreaper), with stdin from /dev/null and stdout and stderr appended to
// `log_path` (or /dev/null when empty). Returns its pid once exec succeeded; kNotFound or
// kUnavailable with the reason otherwise.
Result<pid_t> StartDetached(const ProcessCommand& command, const std::string& log_path = "");

// The freezer of a cgroup: v1 writes FROZEN/THAWED to freezer.state, v2 writes 1/0 to
// cgroup.freeze. The file and the value that freezes and thaws it, for the journal.
struct FreezerControl {
  std::string file;
  std::string freeze;
  std::string thaw;
};
FreezerControl FreezerOf(const CgroupDir& cgroup);

// Freezes (or thaws) the cgroup and, when freezing, waits up to `wait_ms` for the kernel to
// report it frozen. Refuses the root cgroup and the cgroup this process is in (it would freeze
// the injector that must thaw it): kInvalidArgument.
Status SetFrozen(const CgroupDir& cgroup, bool frozen, int wait_ms = 2000);

// Writes `content` to `path` (a cgroupfs control file). kUnavailable with the errno text.
Status WriteControlFile(const std::string& path, const std::string& content);

}  // namespace llmrca::chaos
