#include "cli/chaos_command.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/strings.h"
#include "base/subprocess.h"
#include "chaos/cgroup.h"
#include "chaos/fault_record.h"
#include "chaos/state.h"
#include "chaos/stress.h"
#include "chaos/tc.h"
#include "chaos/tcp_proxy.h"

namespace llmrca::cli {
namespace {

Status ParseHostPort(const std::string& text, std::string& host, int& port, const char* flag) {
  const size_t colon = text.rfind(':');
  const std::optional<int64_t> p =
      colon == std::string::npos ? std::nullopt : ParseInt(text.substr(colon + 1));
  if (colon == 0 || !p || *p < 0 || *p > 65535) {
    return Status::InvalidArgument(fmt::format("{} '{}': expected HOST:PORT", flag, text));
  }
  host = colon == std::string::npos ? "" : text.substr(0, colon);
  port = static_cast<int>(*p);
  return Status::Ok();
}

Status EmitRecord(const chaos::FaultRecord& r, const std::string& file) {
  const std::string json = chaos::FaultRecordJson(r) + "\n";
  if (file.empty()) return WriteStdout(json);
  std::ofstream out(file, std::ios::app);
  out << json;
  if (!out) return Status::IoError(fmt::format("cannot write the fault record to '{}'", file));
  return Status::Ok();
}

std::chrono::microseconds Micros(double ms) {
  return std::chrono::microseconds(static_cast<int64_t>(ms * 1000));
}

}  // namespace

void AddChaosCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand("chaos", "Inject a fault for a bounded time, restore, and "
                                              "write the fault's record");
  cmd->require_subcommand(1);
  auto f = std::make_shared<ChaosProxyFlags>();
  CLI::App* proxy = cmd->add_subcommand(
      "proxy",
      "A TCP proxy that delays, slows, stalls, times out, resets or refuses what it relays "
      "(Toxiproxy's faults; no root or kernel support needed)");
  proxy->footer(
      "Clients connect to --listen instead of the upstream. Latency applies per chunk read:\n"
      "arrival + delay + U[-jitter, +jitter), in order. A stall delays a chunk as a lost\n"
      "segment's retransmission does. The fault record (JSON: type, target, params, start, end,\n"
      "outcome) goes to --record or stdout when the duration ends or on Ctrl-C / SIGTERM.\n"
      "Example, one replica 1,000 +- 100 ms slower (the study's network fault):\n"
      "  llmrca chaos proxy --listen 127.0.0.1:9001 --upstream 127.0.0.1:8001 \\\n"
      "    --delay 1000 --jitter 100 --duration 60");
  proxy->add_option("--listen", f->listen, "HOST:PORT to accept clients on (port 0: any)")
      ->default_val("127.0.0.1:0");
  proxy->add_option("--upstream", f->upstream, "HOST:PORT of the real server")->required();
  proxy->add_option("--delay", f->delay_ms, "Latency added to each chunk, ms")
      ->check(CLI::NonNegativeNumber);
  proxy->add_option("--jitter", f->jitter_ms, "Uniform jitter around the delay, +- ms")
      ->check(CLI::NonNegativeNumber);
  proxy->add_option("--bandwidth", f->bandwidth_kbps, "Rate limit, KB/s (1 KB = 1,000 bytes)")
      ->check(CLI::NonNegativeNumber);
  proxy->add_option("--stall-probability", f->stall_probability,
                    "Share of chunks that stall (packet loss as TCP shows it)")
      ->check(CLI::Range(0.0, 1.0));
  proxy->add_option("--stall-ms", f->stall_ms, "How long a stalled chunk waits")
      ->default_val(200)
      ->check(CLI::NonNegativeNumber);
  proxy->add_flag("--timeout", f->timeout, "Relay nothing (the connection hangs)");
  proxy->add_option("--timeout-close-ms", f->timeout_close_ms,
                    "With --timeout: close the connection after this long (0: never)")
      ->check(CLI::NonNegativeNumber);
  proxy->add_flag("--reset", f->reset, "Reset (RST) every new connection");
  proxy->add_flag("--down", f->down, "Accept and close at once (the upstream is gone)");
  proxy->add_option("--stream", f->stream, "Direction(s) the faults apply to")
      ->check(CLI::IsMember({"downstream", "upstream", "both"}))
      ->default_val("downstream");
  proxy->add_option("--toxicity", f->toxicity, "Share of connections affected")
      ->default_val(1)
      ->check(CLI::Range(0.0, 1.0));
  proxy->add_option("--duration", f->duration_s, "How long the fault lasts, seconds")
      ->required()
      ->check(CLI::PositiveNumber);
  proxy->add_option("--record", f->record, "Write the fault record to this file (default: "
                    "stdout)");
  proxy->add_flag("--dry-run", f->dry_run, "Print what would be done and the record, inject "
                  "nothing");
  proxy->callback([f, &ctx] { ctx.status = RunChaosProxy(*f); });

  const auto common = [](CLI::App* c, ChaosHostFlags& h) {
    c->add_option("--duration", h.duration_s, "How long the fault lasts, seconds")
        ->required()
        ->check(CLI::PositiveNumber);
    c->add_option("--record", h.record, "Write the fault record to this file (default: stdout)");
    c->add_option("--state", h.state, "The undo journal (default: $LLMRCA_CHAOS_STATE or "
                  "/tmp/llmrca-chaos-<uid>.state)");
    c->add_flag("--dry-run", h.dry_run, "Print what would be done and the record, inject nothing");
  };
  const auto target = [](CLI::App* c, ChaosHostFlags& h) {
    c->add_option("--pid", h.pid, "Run inside this process's cgroup (charged to its container)");
    c->add_option("--cgroup", h.cgroup, "Run inside this cgroup directory (v1 or v2)");
  };
  auto cpu = std::make_shared<ChaosHostFlags>();
  cpu->kind = "cpu";
  CLI::App* c = cmd->add_subcommand("cpu", "CPU stress: workers busy a share of every 100 ms");
  c->add_option("--workers", cpu->workers, "Busy threads")->default_val(1)->check(CLI::Range(1, 1024));
  c->add_option("--load", cpu->load, "Percent of each period a worker is busy")
      ->default_val(100)
      ->check(CLI::Range(1.0, 100.0));
  target(c, *cpu);
  common(c, *cpu);
  c->footer("The study's CPU fault: llmrca chaos cpu --workers 16 --load 100 --pid PID --duration 60");
  c->callback([cpu, &ctx] { ctx.status = RunChaosHost(*cpu); });

  auto mem = std::make_shared<ChaosHostFlags>();
  mem->kind = "memory";
  CLI::App* m = cmd->add_subcommand("memory", "Memory stress: allocate and touch SIZE, ramped");
  m->add_option("--size", mem->size, "Bytes to hold (k, M, G: powers of 1,024)")->default_val("256M");
  m->add_option("--ramp", mem->ramp_s, "Seconds to reach the size (0: at once)")
      ->check(CLI::NonNegativeNumber);
  target(m, *mem);
  common(m, *mem);
  m->footer("The study's memory fault: llmrca chaos memory --size 8G --pid PID --duration 60");
  m->callback([mem, &ctx] { ctx.status = RunChaosHost(*mem); });

  auto proc = std::make_shared<ChaosHostFlags>();
  proc->kind = "process";
  CLI::App* p = cmd->add_subcommand("process", "Pause (SIGSTOP, resumed at the end) or kill a "
                                               "process");
  p->add_option("--pid", proc->pid, "The process")->required();
  p->add_option("--action", proc->action, "pause or kill")
      ->check(CLI::IsMember({"pause", "kill"}))
      ->default_val("pause");
  common(p, *proc);
  p->callback([proc, &ctx] { ctx.status = RunChaosHost(*proc); });

  auto net = std::make_shared<ChaosNetworkFlags>();
  CLI::App* n = cmd->add_subcommand(
      "network", "tc on one named interface: netem delay/loss/duplicate/corrupt where the kernel "
                 "has it, tbf rate limits; undone by restoring the default root qdisc");
  n->add_option("--dev", net->dev, "The interface (nothing else is touched)")->required();
  n->add_option("--netns", net->netns, "A named network namespace (ip netns) holding it");
  n->add_option("--delay", net->delay_ms, "netem delay, ms")->check(CLI::NonNegativeNumber);
  n->add_option("--jitter", net->jitter_ms, "netem jitter, ms")->check(CLI::NonNegativeNumber);
  n->add_option("--correlation", net->correlation_pct, "netem delay correlation, %")
      ->check(CLI::Range(0.0, 100.0));
  n->add_option("--loss", net->loss_pct, "netem loss, %")->check(CLI::Range(0.0, 100.0));
  n->add_option("--duplicate", net->duplicate_pct, "netem duplicate, %")->check(CLI::Range(0.0, 100.0));
  n->add_option("--corrupt", net->corrupt_pct, "netem corrupt, %")->check(CLI::Range(0.0, 100.0));
  n->add_option("--rate", net->rate, "tbf rate limit, e.g. 1mbit (alone, not with netem)");
  n->add_option("--burst", net->burst, "tbf burst")->default_val("32kbit");
  n->add_option("--duration", net->duration_s, "How long the fault lasts, seconds")
      ->required()
      ->check(CLI::PositiveNumber);
  n->add_option("--record", net->record, "Write the fault record to this file (default: stdout)");
  n->add_option("--state", net->state, "The undo journal (default as for the other faults)");
  n->add_flag("--dry-run", net->dry_run, "Print the tc commands and the record, change nothing");
  n->footer("The study's network fault, where the kernel has netem:\n"
            "  llmrca chaos network --dev eth0 --delay 1000 --jitter 100 --duration 60\n"
            "Without netem (these build machines), the same through the proxy:\n"
            "  llmrca chaos proxy --upstream HOST:PORT --delay 1000 --jitter 100 --duration 60");
  n->callback([net, &ctx] { ctx.status = RunChaosNetwork(*net); });

  auto state = std::make_shared<std::string>();
  CLI::App* r = cmd->add_subcommand(
      "recover", "Undo what a killed or crashed injector left (resume paused processes, kill "
                 "stressors), from the journal");
  r->add_option("--state", *state, "The undo journal (default as for the faults)");
  r->callback([state, &ctx] {
    Result<std::vector<std::string>> done =
        chaos::Recover(state->empty() ? chaos::DefaultStatePath() : *state);
    if (!done.ok()) {
      ctx.status = done.status();
      return;
    }
    std::string text = done->empty() ? "nothing to recover\n" : "";
    for (const std::string& line : *done) text += line + "\n";
    ctx.status = WriteStdout(text);
  });

  // The stressor process itself, started by `chaos cpu|memory` inside the target's cgroup.
  auto worker = std::make_shared<ChaosHostFlags>();
  CLI::App* w = cmd->add_subcommand("stress-worker", "");  // hidden: an empty description
  w->group("");
  w->add_option("kind", worker->kind)->required();
  w->add_option("--workers", worker->workers);
  w->add_option("--load", worker->load);
  w->add_option("--size", worker->size);
  w->add_option("--ramp", worker->ramp_s);
  w->add_option("--duration", worker->duration_s)->required();
  w->callback([worker, &ctx] {
    std::atomic<bool>& stop = CatchStopSignals();
    const std::chrono::duration<double> d(worker->duration_s);
    if (worker->kind == "cpu") {
      chaos::RunCpuStress(worker->workers, worker->load, d, stop);
    } else {
      Result<int64_t> bytes = chaos::ParseByteSize(worker->size);
      ctx.status = bytes.ok() ? chaos::RunMemoryStress(*bytes, std::chrono::duration<double>(
                                                                   worker->ramp_s),
                                                       d, stop)
                              : bytes.status();
    }
    ReleaseStopSignals();
  });
}

Status RunChaosProxy(const ChaosProxyFlags& f) {
  chaos::TcpProxyOptions o;
  LLMRCA_RETURN_IF_ERROR(ParseHostPort(f.listen, o.listen_host, o.listen_port, "--listen"));
  LLMRCA_RETURN_IF_ERROR(ParseHostPort(f.upstream, o.upstream_host, o.upstream_port, "--upstream"));
  chaos::ProxyToxics& t = o.toxics;
  t.latency = Micros(f.delay_ms);
  t.jitter = Micros(f.jitter_ms);
  t.bandwidth_kbps = static_cast<int64_t>(f.bandwidth_kbps);
  t.stall_probability = f.stall_probability;
  t.stall = Micros(f.stall_ms);
  t.timeout = f.timeout;
  t.timeout_after = std::chrono::milliseconds(static_cast<int64_t>(f.timeout_close_ms));
  t.reset = f.reset;
  t.down = f.down;
  t.upstream = f.stream != "downstream";
  t.downstream = f.stream != "upstream";
  t.toxicity = f.toxicity;
  LLMRCA_RETURN_IF_ERROR(chaos::ValidateToxics(t));

  chaos::FaultRecord r;
  r.type = f.down ? "down"
           : f.reset ? "reset"
           : f.timeout ? "timeout"
           : f.delay_ms > 0 || f.jitter_ms > 0 ? "delay"
           : f.stall_probability > 0 ? "loss"
           : f.bandwidth_kbps > 0 ? "bandwidth"
                                  : "none";
  r.params = {{"latency_ms", f.delay_ms}, {"jitter_ms", f.jitter_ms},
              {"bandwidth_kbps", f.bandwidth_kbps}, {"stall_probability", f.stall_probability},
              {"stall_ms", f.stall_ms}, {"timeout", f.timeout},
              {"timeout_close_ms", f.timeout_close_ms}, {"reset", f.reset}, {"down", f.down},
              {"stream", f.stream}, {"toxicity", f.toxicity}, {"duration_s", f.duration_s}};
  const auto emit = [&](const chaos::FaultRecord& rec) { return EmitRecord(rec, f.record); };
  if (f.dry_run) {
    r.target = fmt::format("proxy {} -> {}", f.listen, f.upstream);
    r.outcome = "dry run: nothing injected";
    std::fprintf(stderr,
                 "dry run: would listen on %s, relay to %s for %.3g s with the faults below\n",
                 f.listen.c_str(), f.upstream.c_str(), f.duration_s);
    return emit(r);
  }
  std::atomic<bool>& stop = CatchStopSignals();
  Result<std::unique_ptr<chaos::TcpProxy>> proxy = chaos::TcpProxy::Start(o);
  if (!proxy.ok()) {
    ReleaseStopSignals();
    return proxy.status();
  }
  r.target = fmt::format("proxy {}:{} -> {}", o.listen_host, (*proxy)->port(), f.upstream);
  r.start = chaos::UnixSecondsNow();
  std::fprintf(stderr, "chaos proxy listening on %s:%d -> %s (%s) for %.3g s\n",
               o.listen_host.c_str(), (*proxy)->port(), f.upstream.c_str(), r.type.c_str(),
               f.duration_s);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(f.duration_s);
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const bool signalled = stop.load();
  const chaos::TcpProxyStats st = (*proxy)->stats();
  proxy->reset();  // the fault ends: every proxied connection closes
  ReleaseStopSignals();
  r.end = chaos::UnixSecondsNow();
  r.outcome = signalled ? "stopped by signal" : "completed";
  r.params.emplace_back("connections", static_cast<double>(st.connections));
  r.params.emplace_back("connections_affected", static_cast<double>(st.affected));
  r.params.emplace_back("upstream_failures", static_cast<double>(st.upstream_failures));
  return emit(r);
}

Status RunChaosHost(const ChaosHostFlags& f) {
  const std::string journal = f.state.empty() ? chaos::DefaultStatePath() : f.state;
  chaos::FaultRecord r;
  r.type = f.kind;
  std::vector<std::string> argv;
  std::optional<chaos::CgroupDir> cgroup;
  if (f.kind == "cpu" || f.kind == "memory") {
    if (f.pid != 0 && !f.cgroup.empty()) {
      return Status::InvalidArgument("give --pid or --cgroup, not both");
    }
    if (f.pid != 0) {
      LLMRCA_ASSIGN_OR_RETURN(cgroup, chaos::CgroupOf(f.pid, f.kind));
    } else if (!f.cgroup.empty()) {
      LLMRCA_ASSIGN_OR_RETURN(cgroup, chaos::CgroupAt(f.cgroup));
    }
    r.target = cgroup ? fmt::format("cgroup {} ({})", cgroup->path,
                                    cgroup->version == chaos::CgroupVersion::kV2 ? "v2" : "v1")
                      : std::string("this host (llmrca's own cgroup)");
    LLMRCA_ASSIGN_OR_RETURN(const std::string self, SelfExecutable());
    // The worker bounds itself too (5 s past the fault) in case this process vanishes.
    argv = {self, "chaos", "stress-worker", f.kind, "--duration", fmt::format("{}", f.duration_s + 5)};
    if (f.kind == "cpu") {
      argv.insert(argv.end(), {"--workers", std::to_string(f.workers), "--load", fmt::format("{}", f.load)});
      r.params = {{"workers", static_cast<double>(f.workers)}, {"load", f.load}};
    } else {
      LLMRCA_ASSIGN_OR_RETURN(const int64_t bytes, chaos::ParseByteSize(f.size));
      argv.insert(argv.end(), {"--size", std::to_string(bytes), "--ramp", fmt::format("{}", f.ramp_s)});
      r.params = {{"bytes", static_cast<double>(bytes)}, {"ramp_s", f.ramp_s}};
    }
  } else {
    if (f.pid <= 0 || ::kill(f.pid, 0) != 0) {
      return Status::NotFound(fmt::format("process {} does not exist or cannot be signalled", f.pid));
    }
    r.target = fmt::format("pid {}", f.pid);
    r.params = {{"action", f.action}};
  }
  r.params.emplace_back("duration_s", f.duration_s);
  if (f.dry_run) {
    r.outcome = "dry run: nothing injected";
    std::string what = f.kind == "process"
                           ? fmt::format("send {} to pid {}", f.action == "kill" ? "SIGKILL" : "SIGSTOP, then SIGCONT after the duration,", f.pid)
                           : fmt::format("run '{}'{}", fmt::join(argv, " "),
                                         cgroup ? " inside " + cgroup->procs_file() : "");
    std::fprintf(stderr, "dry run: would %s for %.3g s\n", what.c_str(), f.duration_s);
    return EmitRecord(r, f.record);
  }

  const std::string id = fmt::format("{}-{}-{}", f.kind, ::getpid(), chaos::UnixSecondsNow());
  std::atomic<bool>& stop = CatchStopSignals();
  const auto finish = [&](Status s) {
    ReleaseStopSignals();
    return s;
  };
  std::optional<Subprocess> worker;
  r.start = chaos::UnixSecondsNow();
  if (f.kind == "process") {
    if (f.action == "pause") {
      if (Status s = chaos::JournalAdd(journal, {id, "continue", f.pid, "paused by llmrca chaos", {}}); !s.ok()) {
        return finish(s);
      }
      if (::kill(f.pid, SIGSTOP) != 0) {
        const int e = errno;
        Status cleared = chaos::JournalRemove(journal, id);
        (void)cleared;  // the stop failed: nothing to undo either way
        return finish(Status::Unavailable(
            fmt::format("cannot stop pid {}: {}", f.pid, std::strerror(e))));
      }
    } else if (::kill(f.pid, SIGKILL) != 0) {
      return finish(Status::Unavailable(fmt::format("cannot kill pid {}: {}", f.pid, std::strerror(errno))));
    }
  } else {
    SubprocessOptions o;
    if (cgroup) o.join_cgroup_procs = cgroup->procs_file();
    Result<Subprocess> p = Subprocess::Start(argv, o);
    if (!p.ok()) return finish(p.status());
    worker = std::move(p).value();
    if (Status s = chaos::JournalAdd(journal, {id, "kill", worker->pid(), f.kind + " stressor", {}}); !s.ok()) {
      worker->Stop(std::chrono::seconds(2));
      return finish(s);
    }
  }
  std::fprintf(stderr, "chaos %s on %s for %.3g s\n", f.kind.c_str(), r.target.c_str(), f.duration_s);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(f.duration_s);
  double cpu_s = 0;
  int64_t peak_rss = 0;
  std::string failure;
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (worker) {
      if (std::optional<int> code = worker->Poll()) {
        failure = fmt::format("the stressor exited early with status {}", *code);
        break;
      }
      cpu_s = std::max(cpu_s, chaos::ProcessCpuSeconds(worker->pid()));
      peak_rss = std::max(peak_rss, chaos::ProcessRssBytes(worker->pid()));
    }
  }
  const bool signalled = stop.load();
  if (worker) worker->Stop(std::chrono::seconds(2));
  if (f.kind == "process" && f.action == "pause") ::kill(f.pid, SIGCONT);
  if (Status cleared = chaos::JournalRemove(journal, id); !cleared.ok()) {
    std::fprintf(stderr, "llmrca: warning: the fault was undone but its journal entry stays: %s\n",
                 cleared.message().c_str());
  }
  r.end = chaos::UnixSecondsNow();
  r.outcome = !failure.empty() ? "failed: " + failure : signalled ? "stopped by signal" : "completed";
  if (f.kind == "cpu") r.params.emplace_back("cpu_seconds_measured", cpu_s);
  if (f.kind == "memory") r.params.emplace_back("peak_rss_bytes", static_cast<double>(peak_rss));
  return finish(EmitRecord(r, f.record));
}

Status RunChaosNetwork(const ChaosNetworkFlags& f) {
  chaos::TcFault t;
  t.dev = f.dev;
  t.netns = f.netns;
  t.delay_ms = f.delay_ms;
  t.jitter_ms = f.jitter_ms;
  t.correlation_pct = f.correlation_pct;
  t.loss_pct = f.loss_pct;
  t.duplicate_pct = f.duplicate_pct;
  t.corrupt_pct = f.corrupt_pct;
  t.rate = f.rate;
  t.burst = f.burst;
  LLMRCA_RETURN_IF_ERROR(chaos::ValidateTcFault(t));
  chaos::FaultRecord r;
  r.type = f.delay_ms > 0 ? "delay"
           : f.loss_pct > 0 ? "loss"
           : f.duplicate_pct > 0 ? "duplicate"
           : f.corrupt_pct > 0 ? "corrupt"
                               : "bandwidth";
  r.target = f.netns.empty() ? fmt::format("interface {}", f.dev)
                             : fmt::format("interface {} in netns {}", f.dev, f.netns);
  r.params = {{"qdisc", std::string(chaos::UsesNetem(t) ? "netem" : "tbf")},
              {"delay_ms", f.delay_ms}, {"jitter_ms", f.jitter_ms},
              {"correlation_pct", f.correlation_pct}, {"loss_pct", f.loss_pct},
              {"duplicate_pct", f.duplicate_pct}, {"corrupt_pct", f.corrupt_pct},
              {"rate", f.rate}, {"duration_s", f.duration_s}};
  if (f.dry_run) {
    std::fprintf(stderr, "dry run: would run '%s', then after %.3g s '%s'\n",
                 fmt::format("{}", fmt::join(chaos::TcApplyCommand(t), " ")).c_str(), f.duration_s,
                 fmt::format("{}", fmt::join(chaos::TcRemoveCommand(t), " ")).c_str());
    r.outcome = "dry run: nothing injected";
    return EmitRecord(r, f.record);
  }
  const std::string journal = f.state.empty() ? chaos::DefaultStatePath() : f.state;
  const std::string id = fmt::format("network-{}-{}", ::getpid(), chaos::UnixSecondsNow());
  LLMRCA_RETURN_IF_ERROR(
      chaos::JournalAdd(journal, {id, "run", 0, r.target, chaos::TcRemoveCommand(t)}));
  std::atomic<bool>& stop = CatchStopSignals();
  r.start = chaos::UnixSecondsNow();
  if (Status s = chaos::ApplyTcFault(t); !s.ok()) {
    ReleaseStopSignals();
    Status cleared = chaos::JournalRemove(journal, id);
    (void)cleared;  // nothing was applied
    return s;
  }
  std::fprintf(stderr, "chaos network on %s for %.3g s\n", r.target.c_str(), f.duration_s);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(f.duration_s);
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const bool signalled = stop.load();
  const Status removed = chaos::RemoveTcFault(t);
  ReleaseStopSignals();
  if (removed.ok()) {
    Status cleared = chaos::JournalRemove(journal, id);
    if (!cleared.ok()) std::fprintf(stderr, "llmrca: warning: %s\n", cleared.message().c_str());
  }
  r.end = chaos::UnixSecondsNow();
  r.outcome = !removed.ok() ? "failed: could not restore (run llmrca chaos recover): " + removed.message()
              : signalled   ? "stopped by signal"
                            : "completed";
  return EmitRecord(r, f.record);
}

}  // namespace llmrca::cli
