#include "chaos/cgroup.h"

#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/file.h"
#include "base/strings.h"

namespace llmrca::chaos {
namespace {

bool ReadFile(const std::string& path, std::string& out) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return false;
  out = std::move(text).value();
  return true;
}

bool IsFile(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  for (const std::string& s : list) {
    if (s == item) return true;
  }
  return false;
}

// `path` (a cgroup path from /proc/<pid>/cgroup) seen through a mount of `mount_root`.
std::string Under(const CgroupMount& m, const std::string& path) {
  std::string rel = path;
  if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
  if (rel == "/") rel.clear();
  return m.mount_point + rel;
}

// Whether a v2 cgroup directory offers `controller`: listed in cgroup.controllers (v1's blkio
// is v2's io), or, for the freezer, which v2 builds in, a cgroup.freeze file.
bool V2Has(const std::string& dir, std::string_view controller) {
  if (controller == "freezer") return IsFile(dir + "/cgroup.freeze");
  std::string enabled;
  return ReadFile(dir + "/cgroup.controllers", enabled) &&
         Contains(Split(std::string(Trim(enabled)), ' '), controller == "blkio" ? "io" : controller);
}

// The lines of /proc/<pid>/cgroup as (controllers, path): "4:memory:/x" gives ({memory}, /x);
// v2's "0::/x" gives ({}, /x).
std::vector<std::pair<std::vector<std::string>, std::string>> ParseMembership(
    const std::string& text) {
  std::vector<std::pair<std::vector<std::string>, std::string>> out;
  for (const std::string& line : Split(text, '\n')) {
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    if (controllers.empty() && line.compare(0, a, "0") != 0) continue;
    out.emplace_back(controllers.empty() ? std::vector<std::string>{} : Split(controllers, ','),
                     line.substr(b + 1));
  }
  return out;
}

}  // namespace

std::vector<CgroupMount> ParseCgroupMounts(std::string_view mountinfo) {
  std::vector<CgroupMount> out;
  for (const std::string& line : Split(mountinfo, '\n')) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, devno, root, point, fstype, source, options;
    head >> id >> parent >> devno >> root >> point;
    tail >> fstype >> source >> options;
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount m;
    m.version = fstype == "cgroup2" ? CgroupVersion::kV2 : CgroupVersion::kV1;
    m.root = root;
    m.mount_point = point;
    if (m.version == CgroupVersion::kV1) {
      for (const std::string& o : Split(options, ',')) {
        if (o != "rw" && o != "ro" && o.find('=') == std::string::npos) m.controllers.push_back(o);
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<CgroupDir> CgroupOf(pid_t pid, std::string_view controller, const std::string& root) {
  std::string mountinfo, membership;
  if (!ReadFile(root + "/proc/self/mountinfo", mountinfo)) {
    return Status::NotFound(fmt::format("cannot read {}/proc/self/mountinfo", root));
  }
  if (!ReadFile(fmt::format("{}/proc/{}/cgroup", root, pid), membership)) {
    return Status::NotFound(fmt::format("no process {} (cannot read /proc/{}/cgroup)", pid, pid));
  }
  const std::vector<CgroupMount> mounts = ParseCgroupMounts(mountinfo);
  std::string v2_path, v1_path;
  for (const auto& [controllers, path] : ParseMembership(membership)) {
    if (controllers.empty()) {
      v2_path = path;
    } else if (Contains(controllers, controller)) {
      v1_path = path;
    }
  }
  // v2 first: where the controller is enabled in the unified hierarchy, that is what counts.
  for (const CgroupMount& m : mounts) {
    if (m.version != CgroupVersion::kV2 || v2_path.empty()) continue;
    const std::string dir = root + Under(m, v2_path);
    if (V2Has(dir, controller)) return CgroupDir{CgroupVersion::kV2, dir, v2_path == "/"};
  }
  for (const CgroupMount& m : mounts) {
    if (m.version == CgroupVersion::kV1 && !v1_path.empty() && Contains(m.controllers, controller)) {
      return CgroupDir{CgroupVersion::kV1, root + Under(m, v1_path), v1_path == "/"};
    }
  }
  return Status::NotFound(fmt::format(
      "no cgroup hierarchy of this machine has the '{}' controller for process {}", controller, pid));
}

Result<std::vector<CgroupDir>> V1CgroupsOf(pid_t pid, const std::string& root) {
  std::string mountinfo, membership;
  if (!ReadFile(root + "/proc/self/mountinfo", mountinfo) ||
      !ReadFile(fmt::format("{}/proc/{}/cgroup", root, pid), membership)) {
    return Status::NotFound(fmt::format("no process {} (cannot read /proc/{}/cgroup)", pid, pid));
  }
  const std::vector<CgroupMount> mounts = ParseCgroupMounts(mountinfo);
  std::vector<CgroupDir> out;
  for (const auto& [controllers, path] : ParseMembership(membership)) {
    // Named hierarchies without a controller (name=systemd) are the init system's business.
    if (controllers.empty() || controllers[0].starts_with("name=")) continue;
    for (const CgroupMount& m : mounts) {
      if (m.version == CgroupVersion::kV1 && Contains(m.controllers, controllers[0])) {
        out.push_back({CgroupVersion::kV1, root + Under(m, path), path == "/"});
        break;
      }
    }
  }
  return out;
}

namespace {

// The container id a cgroup directory's name carries, or "" when it names none.
std::string ContainerIdOf(std::string name) {
  if (name.ends_with(".scope")) name.resize(name.size() - 6);
  for (const char* prefix : {"docker-", "cri-containerd-", "crio-", "libpod-"}) {
    if (name.starts_with(prefix)) {
      name = name.substr(std::string_view(prefix).size());
      break;
    }
  }
  if (name.size() < 12) return "";
  for (char c : name) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
  }
  return name;
}

void FindContainerDirs(const std::filesystem::path& dir, std::string_view id, int depth,
                       std::vector<std::string>& found) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (ContainerIdOf(entry.path().filename().string()).starts_with(id)) {
      found.push_back(entry.path().string());
    } else if (depth > 0) {
      FindContainerDirs(entry.path(), id, depth - 1, found);
    }
  }
}

}  // namespace

Result<CgroupDir> CgroupOfContainer(std::string_view id, std::string_view controller,
                                    const std::string& root) {
  if (id.size() < 12 || ContainerIdOf(std::string(id)) != id) {
    return Status::InvalidArgument(fmt::format(
        "container id '{}': give at least 12 hexadecimal characters of it", id));
  }
  std::string mountinfo;
  if (!ReadFile(root + "/proc/self/mountinfo", mountinfo)) {
    return Status::NotFound(fmt::format("cannot read {}/proc/self/mountinfo", root));
  }
  for (const CgroupMount& m : ParseCgroupMounts(mountinfo)) {
    if (m.version == CgroupVersion::kV1 && !Contains(m.controllers, controller)) continue;
    std::vector<std::string> found;
    FindContainerDirs(root + m.mount_point, id, 8, found);
    if (found.size() > 1) {
      return Status::InvalidArgument(fmt::format("container id '{}' matches {} cgroups: {}", id,
                                                 found.size(), fmt::join(found, ", ")));
    }
    if (found.empty()) continue;
    if (m.version == CgroupVersion::kV2) {
      if (!V2Has(found[0], controller)) continue;
      return CgroupDir{CgroupVersion::kV2, found[0], false};
    }
    return CgroupDir{CgroupVersion::kV1, found[0], false};
  }
  return Status::NotFound(fmt::format(
      "no cgroup of container '{}' with the '{}' controller on this machine", id, controller));
}

Result<CgroupDir> CgroupAt(const std::string& path) {
  if (!IsFile(path + "/cgroup.procs")) {
    return Status::NotFound(fmt::format("'{}' is not a cgroup directory (no cgroup.procs)", path));
  }
  // A hierarchy's root is where it is mounted: another device than its parent directory.
  std::string dir = std::filesystem::path(path).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string parent = std::filesystem::path(dir).parent_path().string();
  struct stat self_st {}, parent_st {};
  const bool root = ::stat(dir.c_str(), &self_st) != 0 || ::stat(parent.c_str(), &parent_st) != 0 ||
                    self_st.st_dev != parent_st.st_dev || dir == "/";
  return CgroupDir{IsFile(path + "/cgroup.controllers") ? CgroupVersion::kV2 : CgroupVersion::kV1,
                   path, root};
}

}  // namespace llmrca::chaos
