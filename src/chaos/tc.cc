#include "chaos/tc.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "base/file.h"
#include "base/subprocess.h"

namespace llmrca::chaos {
namespace {

Command Prefix(const TcFault& f, const char* tool = "tc") {
  Command argv;
  if (!f.netns.empty()) argv = {"ip", "netns", "exec", f.netns};
  argv.push_back(tool);
  return argv;
}

Command Join(Command a, std::initializer_list<std::string> rest) {
  a.insert(a.end(), rest);
  return a;
}

std::string Num(double v) { return fmt::format("{}", v); }

}  // namespace

bool UsesNetem(const TcFault& f) {
  return f.delay_ms > 0 || f.jitter_ms > 0 || f.loss_pct > 0 || f.duplicate_pct > 0 ||
         f.corrupt_pct > 0;
}

Status ValidateTcFault(const TcFault& f) {
  if (f.dev.empty()) return Status::InvalidArgument("network fault: name the interface (--dev)");
  for (double v : {f.delay_ms, f.jitter_ms, f.correlation_pct, f.loss_pct, f.duplicate_pct,
                   f.corrupt_pct, f.latency_ms}) {
    if (!(v >= 0)) return Status::InvalidArgument("network fault: values must be >= 0");
  }
  for (double p : {f.correlation_pct, f.loss_pct, f.duplicate_pct, f.corrupt_pct}) {
    if (p > 100) return Status::InvalidArgument("network fault: percentages must be <= 100");
  }
  if (f.jitter_ms > 0 && f.delay_ms <= 0) {
    return Status::InvalidArgument("network fault: jitter needs a delay");
  }
  if (!UsesNetem(f) && f.rate.empty()) {
    return Status::InvalidArgument(
        "network fault: nothing to do (give --delay, --loss, --duplicate, --corrupt or --rate)");
  }
  if (UsesNetem(f) && !f.rate.empty()) {
    return Status::InvalidArgument("network fault: --rate (tbf) cannot be combined with netem "
                                   "faults in one fault; run two");
  }
  if (f.ingress && (f.ifb.empty() || f.ifb.size() > 15 || f.ifb == f.dev)) {
    return Status::InvalidArgument(
        "network fault: ingress needs an ifb device name of 1 to 15 characters, not the "
        "interface's own");
  }
  return Status::Ok();
}

std::vector<Command> TcApplyCommands(const TcFault& f) {
  const std::string& shaped = f.ingress ? f.ifb : f.dev;
  Command a = Prefix(f);
  a.insert(a.end(), {"qdisc", "add", "dev", shaped, "root"});
  if (UsesNetem(f)) {
    a.push_back("netem");
    if (f.delay_ms > 0) {
      a.insert(a.end(), {"delay", Num(f.delay_ms) + "ms"});
      if (f.jitter_ms > 0) {
        a.push_back(Num(f.jitter_ms) + "ms");
        if (f.correlation_pct > 0) a.push_back(Num(f.correlation_pct) + "%");
      }
    }
    if (f.loss_pct > 0) a.insert(a.end(), {"loss", Num(f.loss_pct) + "%"});
    if (f.duplicate_pct > 0) a.insert(a.end(), {"duplicate", Num(f.duplicate_pct) + "%"});
    if (f.corrupt_pct > 0) a.insert(a.end(), {"corrupt", Num(f.corrupt_pct) + "%"});
  } else {
    a.insert(a.end(), {"tbf", "rate", f.rate, "burst", f.burst, "latency", Num(f.latency_ms) + "ms"});
  }
  if (!f.ingress) return {a};
  return {Join(Prefix(f, "ip"), {"link", "add", f.ifb, "type", "ifb"}),
          Join(Prefix(f, "ip"), {"link", "set", "dev", f.ifb, "up"}),
          Join(Prefix(f), {"qdisc", "add", "dev", f.dev, "handle", "ffff:", "ingress"}),
          Join(Prefix(f), {"filter", "add", "dev", f.dev, "parent", "ffff:", "protocol", "all",
                           "u32", "match", "u32", "0", "0", "action", "mirred", "egress",
                           "redirect", "dev", f.ifb}),
          a};
}

std::vector<Command> TcRemoveCommands(const TcFault& f) {
  if (!f.ingress) return {Join(Prefix(f), {"qdisc", "del", "dev", f.dev, "root"})};
  return {Join(Prefix(f), {"qdisc", "del", "dev", f.dev, "ingress"}),
          Join(Prefix(f, "ip"), {"link", "del", f.ifb})};
}

Command TcShowCommand(const TcFault& f) { return Join(Prefix(f), {"qdisc", "show", "dev", f.dev}); }

Result<std::string> RunCommand(const std::vector<std::string>& argv) {
  char tmpl[] = "/tmp/llmrca-cmd-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) return Status::IoError("cannot create a temporary file in /tmp");
  ::close(fd);
  const std::string err_path = tmpl;
  SubprocessOptions o;
  o.capture_stdout = true;
  o.stderr_path = err_path;
  Result<Subprocess> p = Subprocess::Start(argv, o);
  if (!p.ok()) {
    std::remove(err_path.c_str());
    return p.status();
  }
  std::string out;
  for (;;) {
    Result<std::string> line = p->ReadLine(std::chrono::seconds(10));
    if (!line.ok()) break;
    out += *line + "\n";
  }
  const int code = p->Stop(std::chrono::seconds(10));
  const std::string err = ReadFileToString(err_path).value_or("");
  std::remove(err_path.c_str());
  if (code != 0) {
    std::string cmd;
    for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return Status::Unavailable(fmt::format("'{}' failed (status {}): {}", cmd, code,
                                           err.empty() ? std::string("no message") : err));
  }
  return out;
}

Status ApplyTcFault(const TcFault& f) {
  LLMRCA_RETURN_IF_ERROR(ValidateTcFault(f));
  LLMRCA_ASSIGN_OR_RETURN(const std::string shown, RunCommand(TcShowCommand(f)));
  // "qdisc noqueue 0: root refcnt 2" / "qdisc fq_codel 0: root ..." / "qdisc mq 0: root".
  std::istringstream lines(shown);
  std::string line;
  while (std::getline(lines, line)) {
    if (f.ingress) {
      if (line.find("qdisc ingress") != std::string::npos ||
          line.find("qdisc clsact") != std::string::npos) {
        return Status::InvalidArgument(fmt::format(
            "{} already has an ingress qdisc; llmrca will not replace it (remove it first: tc "
            "qdisc del dev {} ingress)", f.dev, f.dev));
      }
      continue;
    }
    if (line.find(" root") == std::string::npos) continue;
    std::istringstream words(line);
    std::string qdisc, kind;
    words >> qdisc >> kind;
    if (kind != "noqueue" && kind != "pfifo_fast" && kind != "fq_codel" && kind != "mq" &&
        kind != "fq" && kind != "pfifo") {
      return Status::InvalidArgument(fmt::format(
          "{} already has a {} root qdisc; llmrca restores only the default, so it will not "
          "replace it (remove it first: tc qdisc del dev {} root)",
          f.dev, kind, f.dev));
    }
  }
  const std::vector<Command> steps = TcApplyCommands(f);
  for (size_t i = 0; i < steps.size(); ++i) {
    Result<std::string> applied = RunCommand(steps[i]);
    if (applied.ok()) continue;
    if (i > 0) {
      for (const Command& undo : TcRemoveCommands(f)) {
        Result<std::string> undone = RunCommand(undo);
        (void)undone;  // best effort: some of them were never made
      }
    }
    const std::string& m = applied.status().message();
    if (m.find("Unknown device type") != std::string::npos) {
      return Status::Unavailable(
          "this kernel has no ifb device (ifb is not built or loadable here), which ingress "
          "shaping needs; shape egress on the sending side instead, or use `llmrca chaos proxy`");
    }
    if (m.find("qdisc kind is unknown") != std::string::npos) {
      const bool ingress_step =
          std::find(steps[i].begin(), steps[i].end(), "ingress") != steps[i].end();
      const char* kind = ingress_step ? "ingress" : UsesNetem(f) ? "netem" : "tbf";
      return Status::Unavailable(fmt::format(
          "this kernel has no {} qdisc (sch_{} is not built or loadable here); for delay, loss "
          "and bandwidth faults without kernel support use `llmrca chaos proxy`",
          kind, kind));
    }
    return applied.status();
  }
  return Status::Ok();
}

Status RemoveTcFault(const TcFault& f) {
  Status first;
  for (const Command& c : TcRemoveCommands(f)) {
    Result<std::string> r = RunCommand(c);
    if (!r.ok() && first.ok()) first = r.status();
  }
  return first;
}

}  // namespace llmrca::chaos
