#include "base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace llmrca {
namespace {

int ExitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

Result<Subprocess> Subprocess::Start(const std::vector<std::string>& argv,
                                     SubprocessOptions options) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("no program to start");
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int err_file = -1;
  if (!options.stderr_path.empty()) {
    err_file = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_file < 0) {
      return Status::IoError(fmt::format("cannot open log file '{}': {}", options.stderr_path,
                                         std::strerror(errno)));
    }
  }
  int cgroup_fd = -1;
  if (!options.join_cgroup_procs.empty()) {
    cgroup_fd = ::open(options.join_cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (cgroup_fd < 0) {
      const int e = errno;
      if (err_file >= 0) ::close(err_file);
      return Status::Unavailable(fmt::format("cannot join cgroup through '{}': {}",
                                             options.join_cgroup_procs, std::strerror(e)));
    }
  }
  int out_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1};  // the child writes errno here when exec fails (CLOEXEC)
  if ((options.capture_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) ||
      ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], exec_pipe[0], exec_pipe[1], err_file, cgroup_fd}) {
      if (fd >= 0) ::close(fd);
    }
    return Status::Internal(fmt::format("pipe: {}", std::strerror(e)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], exec_pipe[0], exec_pipe[1], err_file, cgroup_fd}) {
      if (fd >= 0) ::close(fd);
    }
    return Status::Internal(fmt::format("fork: {}", std::strerror(e)));
  }
  if (pid == 0) {
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(127);  // the parent is already gone
    }
    // Signals blocked or ignored by llmrca (its stop-signal handling) must not carry over.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::setpgid(0, 0);  // a terminal's Ctrl-C goes to llmrca, which stops the child in order
    if (out_pipe[1] >= 0) ::dup2(out_pipe[1], STDOUT_FILENO);
    if (err_file >= 0) ::dup2(err_file, STDERR_FILENO);
    if (cgroup_fd >= 0) {
      // The pid in decimal, without allocating (only async-signal-safe calls after fork).
      char digits[24];
      int n = 0;
      for (pid_t v = ::getpid(); v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
      char text[24];
      for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
      if (::write(cgroup_fd, text, static_cast<size_t>(n)) != n) {
        const int report[2] = {1, errno};
        ssize_t ignored = ::write(exec_pipe[1], report, sizeof report);
        (void)ignored;
        ::_exit(127);
      }
      ::close(cgroup_fd);
    }
    // Only 0-2 and the exec pipe stay open in the child (no listening sockets of the parent).
    const int keep = ::dup2(exec_pipe[1], 3) == 3 ? 3 : exec_pipe[1];
    ::fcntl(keep, F_SETFD, FD_CLOEXEC);
    for (int fd = 3; fd < 4096; ++fd) {
      if (fd != keep) ::close(fd);
    }
    ::execvp(args[0], args.data());
    const int report[2] = {2, errno};
    ssize_t ignored = ::write(keep, report, sizeof report);
    (void)ignored;
    ::_exit(127);
  }
  if (out_pipe[1] >= 0) ::close(out_pipe[1]);
  if (err_file >= 0) ::close(err_file);
  if (cgroup_fd >= 0) ::close(cgroup_fd);
  ::close(exec_pipe[1]);
  int report[2] = {0, 0};  // {1: joining the cgroup, 2: exec; errno}
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], report, sizeof report);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof report)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (out_pipe[0] >= 0) ::close(out_pipe[0]);
    if (report[0] == 1) {
      return Status::Unavailable(fmt::format("cannot join cgroup through '{}': {}",
                                             options.join_cgroup_procs, std::strerror(report[1])));
    }
    return Status::NotFound(fmt::format("cannot run '{}': {}", argv[0], std::strerror(report[1])));
  }
  Subprocess p;
  p.pid_ = pid;
  p.stdout_fd_ = out_pipe[0];
  return p;
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      buffer_(std::move(other.buffer_)),
      exit_(other.exit_) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_) Stop(std::chrono::seconds(2));
    CloseFd(stdout_fd_);
    pid_ = std::exchange(other.pid_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    buffer_ = std::move(other.buffer_);
    exit_ = other.exit_;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_) Stop(std::chrono::seconds(2));
  CloseFd(stdout_fd_);
}

Result<std::string> Subprocess::ReadLine(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (stdout_fd_ < 0) return Status::Unavailable("the child's output is not captured or closed");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status::DeadlineExceeded(
          fmt::format("no line from process {} within {} ms", pid_, timeout.count()));
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) return Status::Internal(fmt::format("poll: {}", std::strerror(errno)));
    if (r <= 0) continue;
    char tmp[4096];
    const ssize_t n = ::read(stdout_fd_, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      CloseFd(stdout_fd_);
      return Status::Unavailable(fmt::format("process {} closed its output", pid_));
    }
    buffer_.append(tmp, static_cast<size_t>(n));
  }
}

std::optional<int> Subprocess::Poll() {
  if (exit_ || pid_ <= 0) return exit_;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) exit_ = ExitStatus(status);
  return exit_;
}

int Subprocess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_.value_or(0);
  if (Poll()) return *exit_;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a stopped (paused) child must run to act on SIGTERM
  const auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    if (Poll()) return *exit_;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_ = ExitStatus(status);
  return *exit_;
}

bool Subprocess::Signal(int signal) {
  if (pid_ <= 0 || Poll()) return false;
  return ::kill(pid_, signal) == 0;
}

Result<std::string> SelfExecutable() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) {
    return Status::Internal(fmt::format("readlink /proc/self/exe: {}", std::strerror(errno)));
  }
  return std::string(path, static_cast<size_t>(n));
}

}  // namespace llmrca
