// Where a process's cgroup is, for the stressors that must run inside a target's cgroup (so the
// container's own CPU and memory series show the load, as Chaos Mesh arranges it). Handles
// both layouts: cgroup v2 (one unified hierarchy, current Kubernetes nodes) and v1 (one
// hierarchy per controller, as on these build machines, where cpu, cpuacct, memory, pids,
// freezer ... are v1 and the v2 hierarchy holds no controller). Everything is read below a
// root directory, so tests run the same code on a fake /proc and cgroupfs tree.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace llmrca::chaos {

enum class CgroupVersion { kV1, kV2 };

struct CgroupDir {
  CgroupVersion version = CgroupVersion::kV2;
  std::string path;  // the cgroup's directory, below the root given
  bool is_root = false;  // the hierarchy's root (every process of the machine)
  // The file a process joins the cgroup through (cgroup.procs in both versions).
  std::string procs_file() const { return path + "/cgroup.procs"; }
};

// One line of /proc/<pid>/mountinfo that mounts a cgroup hierarchy.
struct CgroupMount {
  CgroupVersion version = CgroupVersion::kV1;
  std::string root;         // the hierarchy's directory that is mounted (field 4)
  std::string mount_point;  // field 5
  std::vector<std::string> controllers;  // v1: from the super options; v2: empty here
};

// Parses the cgroup mounts of a mountinfo text.
std::vector<CgroupMount> ParseCgroupMounts(std::string_view mountinfo);

// The cgroup of `pid` that holds `controller` ("cpu", "memory", "blkio", "freezer" ...): the
// v2 hierarchy when the controller is enabled there (listed in the cgroup's cgroup.controllers;
// v1's blkio is v2's io, and v2's freezer is cgroup.freeze, in every non-root cgroup), else the
// v1 hierarchy mounted with it. Files are read below `root` ("" for this machine).
// kNotFound when neither hierarchy has the controller or the process does not exist.
Result<CgroupDir> CgroupOf(pid_t pid, std::string_view controller, const std::string& root = "");

// Every v1 cgroup `pid` is in, one per hierarchy with a controller (cpu, cpuacct, memory,
// blkio, pids ...): a stressor joins all of them, as Chaos Mesh's does, so that, say, a v1
// container's cpuacct.usage counts the CPU stress its cpu cgroup limits. Empty on a v2-only
// machine.
Result<std::vector<CgroupDir>> V1CgroupsOf(pid_t pid, const std::string& root = "");

// The cgroup of a container, by its id or a unique prefix of it (at least 12 characters), under
// the hierarchy that holds `controller` (v2 where the controller is enabled there, else v1), as
// the runtimes name them: ".../docker/<id>", "docker-<id>.scope", "cri-containerd-<id>.scope",
// "crio-<id>.scope", "libpod-<id>.scope". kNotFound when no cgroup matches; kInvalidArgument for
// a short or ambiguous id (the message lists the matches).
Result<CgroupDir> CgroupOfContainer(std::string_view id, std::string_view controller,
                                    const std::string& root = "");

// The cgroup at `path` (a directory in a mounted hierarchy): its version from the files it
// holds (cgroup.controllers: v2). kNotFound when it is not a cgroup directory.
Result<CgroupDir> CgroupAt(const std::string& path);

}  // namespace llmrca::chaos
