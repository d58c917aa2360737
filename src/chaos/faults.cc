#include "chaos/faults.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/subprocess.h"
#include "chaos/state.h"
#include "chaos/stress.h"

namespace llmrca::chaos {
namespace {

std::string Show(const Command& c) { return fmt::format("{}", fmt::join(c, " ")); }

// The state letter of a process (R, S, T, Z ...) from /proc/<pid>/stat; '?' when gone.
char StateOf(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return '?';
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.size() < paren + 3 ? '?' : line[paren + 2];
}

bool Gone(pid_t pid) {
  const char s = StateOf(pid);
  return s == '?' || s == 'Z' || s == 'X';
}

class ProxyFault : public Fault {
 public:
  ProxyFault(TcpProxyOptions o, FaultRecord d) : Fault(std::move(d)), options_(std::move(o)) {}

  std::vector<std::string> Plan() const override {
    return {fmt::format("listen on {}:{} and relay to {}:{} with the faults in params",
                        options_.listen_host, options_.listen_port, options_.upstream_host,
                        options_.upstream_port),
            "at the end: close the listener and every relayed connection"};
  }
  Status Inject(const std::string&, const std::string&) override {
    LLMRCA_ASSIGN_OR_RETURN(proxy_, TcpProxy::Start(options_));
    record_.target = fmt::format("proxy {}:{} -> {}:{}", options_.listen_host, proxy_->port(),
                                 options_.upstream_host, options_.upstream_port);
    return Status::Ok();
  }
  Status Restore() override {
    const TcpProxyStats st = proxy_->stats();
    proxy_.reset();  // every proxied connection closes
    SetParam(record_, "connections", static_cast<double>(st.connections));
    SetParam(record_, "connections_affected", static_cast<double>(st.affected));
    SetParam(record_, "upstream_failures", static_cast<double>(st.upstream_failures));
    return Status::Ok();
  }

 private:
  TcpProxyOptions options_;
  std::unique_ptr<TcpProxy> proxy_;
};

class StressFault : public Fault {
 public:
  StressFault(std::vector<std::string> argv, std::optional<CgroupDir> cgroup,
              std::vector<CgroupDir> also, FaultRecord d)
      : Fault(std::move(d)), argv_(std::move(argv)), cgroup_(std::move(cgroup)), also_(std::move(also)) {}

  std::vector<std::string> Plan() const override {
    std::vector<std::string> plan = {fmt::format(
        "run '{}'{}", Show(argv_), cgroup_ ? " inside " + cgroup_->procs_file() : std::string())};
    for (const CgroupDir& c : also_) plan.push_back("then write its pid to " + c.procs_file());
    plan.push_back("at the end: SIGTERM it (SIGKILL after 2 s)");
    return plan;
  }
  Status Inject(const std::string& journal, const std::string& id) override {
    SubprocessOptions o;
    if (cgroup_) o.join_cgroup_procs = cgroup_->procs_file();
    LLMRCA_ASSIGN_OR_RETURN(Subprocess p, Subprocess::Start(argv_, o));
    worker_ = std::move(p);
    Status s = JournalAdd(journal, MakeUndo(id, "kill", worker_->pid(), record_.type + " stressor"));
    for (const CgroupDir& c : also_) {
      if (s.ok()) s = WriteControlFile(c.procs_file(), std::to_string(worker_->pid()));
    }
    if (!s.ok()) {
      worker_->Stop(std::chrono::seconds(2));
      worker_.reset();
      return s;
    }
    return Status::Ok();
  }
  std::string Poll() override {
    Sample();
    if (std::optional<int> code = worker_->Poll()) {
      return fmt::format("the stressor exited early with status {}", *code);
    }
    return {};
  }
  Status Restore() override {
    Sample();
    worker_->Stop(std::chrono::seconds(2));
    worker_.reset();
    if (record_.type == "cpu") SetParam(record_, "cpu_seconds_measured", cpu_s_);
    if (record_.type == "memory") SetParam(record_, "peak_rss_bytes", static_cast<double>(peak_rss_));
    if (record_.type == "disk") {
      SetParam(record_, "bytes_written_measured", static_cast<double>(io_.wchar));
      SetParam(record_, "bytes_read_measured", static_cast<double>(io_.rchar));
      SetParam(record_, "device_bytes_written", static_cast<double>(io_.write_bytes));
      SetParam(record_, "device_bytes_read", static_cast<double>(io_.read_bytes));
    }
    return Status::Ok();
  }

 private:
  void Sample() {
    if (!worker_) return;
    cpu_s_ = std::max(cpu_s_, ProcessCpuSeconds(worker_->pid()));
    peak_rss_ = std::max(peak_rss_, ProcessRssBytes(worker_->pid()));
    const ProcessIo io = ReadProcessIo(worker_->pid());
    if (io.wchar >= 0) io_ = io;
  }

  std::vector<std::string> argv_;
  std::optional<CgroupDir> cgroup_;
  std::vector<CgroupDir> also_;
  std::optional<Subprocess> worker_;
  double cpu_s_ = 0;
  int64_t peak_rss_ = 0;
  ProcessIo io_;
};

class PauseFault : public Fault {
 public:
  PauseFault(pid_t pid, std::optional<CgroupDir> freezer, FaultRecord d)
      : Fault(std::move(d)), pid_(pid), freezer_(std::move(freezer)) {}

  std::vector<std::string> Plan() const override {
    if (freezer_) {
      const FreezerControl c = FreezerOf(*freezer_);
      return {fmt::format("write {} to {} (every process in the cgroup stops)", c.freeze, c.file),
              fmt::format("at the end: write {} to {}", c.thaw, c.file)};
    }
    return {fmt::format("send SIGSTOP to pid {}", pid_),
            fmt::format("at the end: send SIGCONT to pid {}", pid_)};
  }
  Status Inject(const std::string& journal, const std::string& id) override {
    if (freezer_) {
      const FreezerControl c = FreezerOf(*freezer_);
      UndoAction thaw = MakeUndo(id, "write", 0, "frozen by llmrca chaos");
      thaw.path = c.file;
      thaw.content = c.thaw;
      LLMRCA_RETURN_IF_ERROR(JournalAdd(journal, thaw));
      return SetFrozen(*freezer_, true);
    }
    LLMRCA_RETURN_IF_ERROR(JournalAdd(journal, MakeUndo(id, "continue", pid_, "paused by llmrca chaos")));
    if (::kill(pid_, SIGSTOP) != 0) {
      return Status::Unavailable(fmt::format("cannot stop pid {}: {}", pid_, std::strerror(errno)));
    }
    return Status::Ok();
  }
  std::string Poll() override {
    // A whole cgroup (a container) has no one process to watch.
    return pid_ > 0 && Gone(pid_) ? fmt::format("process {} ended while paused", pid_) : std::string();
  }
  Status Restore() override {
    if (freezer_) return SetFrozen(*freezer_, false);
    if (::kill(pid_, SIGCONT) != 0 && errno != ESRCH) {
      return Status::Unavailable(fmt::format("cannot resume pid {}: {}", pid_, std::strerror(errno)));
    }
    return Status::Ok();
  }

 private:
  pid_t pid_;
  std::optional<CgroupDir> freezer_;
};

class KillFault : public Fault {
 public:
  KillFault(pid_t pid, bool restart, std::string log, FaultRecord d)
      : Fault(std::move(d)), pid_(pid), restart_(restart), log_(std::move(log)) {
    if (restart_) {
      Result<ProcessCommand> c = ReadProcessCommand(pid_);
      if (c.ok()) command_ = std::move(c).value();
    }
  }

  std::vector<std::string> Plan() const override {
    std::vector<std::string> plan = {fmt::format("send SIGKILL to pid {}", pid_)};
    if (restart_) {
      plan.push_back(fmt::format("at the end: start '{}' (as {}) again in {}, detached",
                                 Show(command_.argv), command_.exe, command_.cwd));
    }
    return plan;
  }
  Status Inject(const std::string& journal, const std::string& id) override {
    if (restart_) {
      // Read again: the process may have changed since the fault was planned.
      LLMRCA_ASSIGN_OR_RETURN(command_, ReadProcessCommand(pid_));
      UndoAction start = MakeUndo(id, "start", 0, fmt::format("killed pid {}", pid_), command_.argv);
      start.path = command_.exe;
      start.cwd = command_.cwd;
      start.env = command_.env;
      LLMRCA_RETURN_IF_ERROR(JournalAdd(journal, start));
    }
    if (::kill(pid_, SIGKILL) != 0) {
      return Status::Unavailable(fmt::format("cannot kill pid {}: {}", pid_, std::strerror(errno)));
    }
    // The restart must not overlap the old process (ports, lock files): wait for it to die.
    for (int i = 0; i < 400 && !Gone(pid_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Status::Ok();
  }
  Status Restore() override {
    if (!restart_) return Status::Ok();
    LLMRCA_ASSIGN_OR_RETURN(const pid_t pid, StartDetached(command_, log_));
    SetParam(record_, "restarted_pid", static_cast<double>(pid));
    return Status::Ok();
  }

 private:
  pid_t pid_;
  bool restart_;
  std::string log_;
  ProcessCommand command_;
};

class NetworkFault : public Fault {
 public:
  NetworkFault(TcFault tc, FaultRecord d) : Fault(std::move(d)), tc_(std::move(tc)) {}

  std::vector<std::string> Plan() const override {
    std::vector<std::string> plan;
    for (const Command& c : TcApplyCommands(tc_)) plan.push_back("run '" + Show(c) + "'");
    for (const Command& c : TcRemoveCommands(tc_)) plan.push_back("at the end: run '" + Show(c) + "'");
    return plan;
  }
  Status Inject(const std::string& journal, const std::string& id) override {
    LLMRCA_RETURN_IF_ERROR(ValidateTcFault(tc_));
    for (const Command& c : TcRemoveCommands(tc_)) {
      LLMRCA_RETURN_IF_ERROR(JournalAdd(journal, MakeUndo(id, "run", 0, record_.target, c)));
    }
    return ApplyTcFault(tc_);
  }
  Status Restore() override { return RemoveTcFault(tc_); }

 private:
  TcFault tc_;
};

}  // namespace

std::unique_ptr<Fault> MakeProxyFault(TcpProxyOptions options, FaultRecord description) {
  return std::make_unique<ProxyFault>(std::move(options), std::move(description));
}

std::unique_ptr<Fault> MakeStressFault(std::vector<std::string> worker_argv,
                                       std::optional<CgroupDir> cgroup, std::vector<CgroupDir> also,
                                       FaultRecord description) {
  return std::make_unique<StressFault>(std::move(worker_argv), std::move(cgroup), std::move(also),
                                       std::move(description));
}

std::unique_ptr<Fault> MakePauseFault(pid_t pid, std::optional<CgroupDir> freezer,
                                      FaultRecord description) {
  return std::make_unique<PauseFault>(pid, std::move(freezer), std::move(description));
}

std::unique_ptr<Fault> MakeKillFault(pid_t pid, bool restart, std::string restart_log,
                                     FaultRecord description) {
  return std::make_unique<KillFault>(pid, restart, std::move(restart_log), std::move(description));
}

std::unique_ptr<Fault> MakeTcFault(TcFault tc, FaultRecord description) {
  return std::make_unique<NetworkFault>(std::move(tc), std::move(description));
}

}  // namespace llmrca::chaos
