#include "cli/chaos_command.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "base/strings.h"
#include "chaos/fault_record.h"
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
  const auto emit = [&](const chaos::FaultRecord& rec) -> Status {
    const std::string json = chaos::FaultRecordJson(rec) + "\n";
    if (f.record.empty()) return WriteStdout(json);
    std::ofstream out(f.record, std::ios::app);
    out << json;
    if (!out) return Status::IoError(fmt::format("cannot write the fault record to '{}'", f.record));
    return Status::Ok();
  };
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

}  // namespace llmrca::cli
