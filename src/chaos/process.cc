#include "chaos/process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <thread>

#include <fmt/format.h>

#include "base/file.h"
#include "base/strings.h"

namespace llmrca::chaos {
namespace {

namespace fs = std::filesystem;

// Splits a NUL-separated /proc file; kNotFound when the file is gone (the process ended),
// kUnavailable when it is there but cannot be read (another user's process).
Result<std::vector<std::string>> ReadNulList(const std::string& path) {
  Result<std::string> read = ReadFileToString(path);
  if (!read.ok()) {
    std::error_code ec;
    return fs::exists(path, ec) ? Status::Unavailable(read.status().message())
                                : Status::NotFound(read.status().message());
  }
  const std::string& text = *read;
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\0', at);
    out.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

std::string ReadTrimmed(const std::string& path) {
  return std::string(Trim(ReadFileToString(path).value_or("")));
}

// Writes all of `data` to `fd`, ignoring EINTR.
void WriteAllFd(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

Result<ProcessCommand> ReadProcessCommand(pid_t pid) {
  const std::string dir = fmt::format("/proc/{}", pid);
  if (pid <= 0 || !fs::exists(dir)) return Status::NotFound(fmt::format("no process {}", pid));
  ProcessCommand c;
  LLMRCA_ASSIGN_OR_RETURN(c.argv, ReadNulList(dir + "/cmdline"));
  if (c.argv.empty()) {
    return Status::InvalidArgument(
        fmt::format("process {} has no command line (a kernel thread or a zombie): it cannot be "
                    "started again", pid));
  }
  LLMRCA_ASSIGN_OR_RETURN(c.env, ReadNulList(dir + "/environ"));
  std::error_code ec;
  c.cwd = fs::read_symlink(dir + "/cwd", ec).string();
  if (ec) {
    return Status::Unavailable(
        fmt::format("cannot read the directory of process {}: {}", pid, ec.message()));
  }
  c.exe = fs::read_symlink(dir + "/exe", ec).string();
  if (ec) return Status::Unavailable(fmt::format("cannot read /proc/{}/exe: {}", pid, ec.message()));
  // A binary replaced on disk since it started shows as "path (deleted)": run the path.
  const std::string deleted = " (deleted)";
  if (c.exe.size() > deleted.size() && c.exe.ends_with(deleted)) c.exe.resize(c.exe.size() - deleted.size());
  return c;
}

Result<pid_t> StartDetached(const ProcessCommand& command, const std::string& log_path) {
  if (command.argv.empty()) return Status::InvalidArgument("no command to start");
  const std::string exe = command.exe.empty() ? command.argv[0] : command.exe;
  // Everything the grandchild needs is built here: after fork only async-signal-safe calls.
  std::vector<char*> argv, envp;
  for (const std::string& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : command.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string log = log_path.empty() ? "/dev/null" : log_path;

  // The pipe carries the grandchild's pid (8 bytes), then, only if exec fails, a stage and an
  // errno; exec closes it (O_CLOEXEC), which ends the parent's read.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::Unavailable(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::Unavailable(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (child == 0) {
    ::close(fds[0]);
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) _exit(grandchild < 0 ? 1 : 0);
    int64_t self = ::getpid();
    WriteAllFd(fds[1], &self, sizeof self);
    int report[2] = {0, 0};
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) {
      report[0] = 1;
    } else if (::chdir(command.cwd.empty() ? "/" : command.cwd.c_str()) != 0) {
      report[0] = 2;
    } else {
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      for (int fd = 3; fd < 1024; ++fd) {
        if (fd != fds[1]) ::close(fd);
      }
      ::execve(exe.c_str(), argv.data(), envp.data());
      report[0] = 3;
    }
    report[1] = errno;
    WriteAllFd(fds[1], report, sizeof report);
    _exit(127);
  }
  ::close(fds[1]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int64_t pid = 0;
  int report[2] = {0, 0};
  ssize_t got = 0;
  char buf[sizeof pid + sizeof report];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf + got, sizeof buf - static_cast<size_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  ::close(fds[0]);
  if (got < static_cast<ssize_t>(sizeof pid)) {
    return Status::Unavailable(fmt::format("could not start '{}' detached", exe));
  }
  std::memcpy(&pid, buf, sizeof pid);
  if (got == static_cast<ssize_t>(sizeof buf)) {
    std::memcpy(report, buf + sizeof pid, sizeof report);
    const char* stage = report[0] == 1 ? "open /dev/null or the log" : report[0] == 2 ? "chdir" : "exec";
    const std::string where = report[0] == 1 ? log : report[0] == 2 ? command.cwd : exe;
    return Status::NotFound(
        fmt::format("cannot start '{}': {} '{}': {}", exe, stage, where, std::strerror(report[1])));
  }
  return static_cast<pid_t>(pid);
}

FreezerControl FreezerOf(const CgroupDir& cgroup) {
  if (cgroup.version == CgroupVersion::kV2) return {cgroup.path + "/cgroup.freeze", "1", "0"};
  return {cgroup.path + "/freezer.state", "FROZEN", "THAWED"};
}

Status WriteControlFile(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Unavailable(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  const ssize_t n = ::write(fd, content.data(), content.size());
  const int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(content.size())) {
    return Status::Unavailable(
        fmt::format("cannot write '{}' to {}: {}", content, path, std::strerror(e)));
  }
  return Status::Ok();
}

Status SetFrozen(const CgroupDir& cgroup, bool frozen, int wait_ms) {
  if (cgroup.is_root) {
    return Status::InvalidArgument(fmt::format(
        "refusing to freeze the root cgroup {} (it holds every process of the machine)",
        cgroup.path));
  }
  if (frozen) {
    Result<CgroupDir> own = CgroupOf(::getpid(), "freezer");
    if (own.ok() && own->version == cgroup.version &&
        (own->path == cgroup.path || own->path.starts_with(cgroup.path + "/"))) {
      return Status::InvalidArgument(fmt::format(
          "refusing to freeze {}: llmrca itself runs in it and could not thaw it", cgroup.path));
    }
  }
  const FreezerControl c = FreezerOf(cgroup);
  LLMRCA_RETURN_IF_ERROR(WriteControlFile(c.file, frozen ? c.freeze : c.thaw));
  if (!frozen) return Status::Ok();
  // v1 passes through FREEZING; v2 reports "frozen 1" in cgroup.events when done.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    const bool done = cgroup.version == CgroupVersion::kV1
                          ? ReadTrimmed(c.file) == "FROZEN"
                          : ReadTrimmed(cgroup.path + "/cgroup.events").find("frozen 1") !=
                                std::string::npos;
    if (done) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      Status thawed = WriteControlFile(c.file, c.thaw);
      (void)thawed;  // best effort: the error below says what happened
      return Status::Unavailable(fmt::format(
          "{} did not become frozen within {} ms; thawed it again", cgroup.path, wait_ms));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace llmrca::chaos
