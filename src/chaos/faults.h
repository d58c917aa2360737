// The fault kinds (chaos/fault.h), each a thin wrapper over its mechanism: the TCP proxy, a
// stressor process inside the target's cgroup, a signal or the freezer, a kill with a restart,
// and tc. The callers (the CLI, a schedule file) build the description; these do the work and
// the undo.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chaos/cgroup.h"
#include "chaos/fault.h"
#include "chaos/process.h"
#include "chaos/tc.h"
#include "chaos/tcp_proxy.h"

namespace llmrca::chaos {

// The proxy listens while the fault is active; the record's target gets the port it bound.
std::unique_ptr<Fault> MakeProxyFault(TcpProxyOptions options, FaultRecord description);

// A stressor process, `worker_argv`, started inside `cgroup` (or llmrca's own when none) and
// stopped at the end. Measured into the record: cpu_seconds_measured (cpu), peak_rss_bytes
// (memory), bytes_written_measured / bytes_read_measured (disk: the worker's wchar and rchar),
// whichever the description's type is.
// `also` are further cgroups (the target's other v1 hierarchies) the worker joins once started.
std::unique_ptr<Fault> MakeStressFault(std::vector<std::string> worker_argv,
                                       std::optional<CgroupDir> cgroup, std::vector<CgroupDir> also,
                                       FaultRecord description);

// Pauses `pid` with SIGSTOP (SIGCONT at the end), or, with a freezer cgroup, freezes every
// process in that cgroup (thawed at the end); `pid` may then be 0 (a container named by id).
std::unique_ptr<Fault> MakePauseFault(pid_t pid, std::optional<CgroupDir> freezer,
                                      FaultRecord description);

// Kills `pid` (SIGKILL). With `restart`, its command line, directory and environment are read
// first and it is started again, detached, when the fault ends (a supervisor's restart; the
// duration is the downtime); stdout/stderr of the new process go to `restart_log`. The new pid
// is recorded as restarted_pid.
std::unique_ptr<Fault> MakeKillFault(pid_t pid, bool restart, std::string restart_log,
                                     FaultRecord description);

// tc on one interface (egress, or ingress through an ifb).
std::unique_ptr<Fault> MakeTcFault(TcFault tc, FaultRecord description);

}  // namespace llmrca::chaos
