#include "cli/chaos_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "base/strings.h"
#include "base/subprocess.h"
#include "chaos/cgroup.h"
#include "chaos/fault_record.h"
#include "chaos/faults.h"
#include "chaos/gpu/gpu_load.h"
#include "chaos/gpu_fault.h"
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

constexpr const char* kKinds[] = {"proxy", "cpu", "memory", "disk", "process", "network", "gpu"};

// The options of one fault kind, on `c`. The same definitions parse the command line and the
// entries of a schedule file.
void AddFaultOptions(CLI::App* c, const std::string& kind, ChaosFaultFlags& f) {
  f.kind = kind;
  c->add_option("--duration", f.duration_s, "How long the fault lasts, seconds")
      ->required()
      ->check(CLI::PositiveNumber);
  const auto target = [&] {
    c->add_option("--pid", f.pid, "Run inside this process's cgroup (charged to its container)");
    c->add_option("--cgroup", f.cgroup, "Run inside this cgroup directory (v1 or v2)");
    c->add_option("--container", f.container, "Run inside this container's cgroup (its id, or "
                  "12+ characters of it: Docker, containerd, CRI-O, Podman)");
  };
  if (kind == "proxy") {
    c->add_option("--listen", f.listen, "HOST:PORT to accept clients on (port 0: any)")
        ->default_val("127.0.0.1:0");
    c->add_option("--upstream", f.upstream, "HOST:PORT of the real server")->required();
    c->add_option("--delay", f.delay_ms, "Latency added to each chunk, ms")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--jitter", f.jitter_ms, "Uniform jitter around the delay, +- ms")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--bandwidth", f.bandwidth_kbps, "Rate limit, KB/s (1 KB = 1,000 bytes)")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--stall-probability", f.stall_probability,
                  "Share of chunks that stall (packet loss as TCP shows it)")
        ->check(CLI::Range(0.0, 1.0));
    c->add_option("--stall-ms", f.stall_ms, "How long a stalled chunk waits")
        ->default_val(200)
        ->check(CLI::NonNegativeNumber);
    c->add_flag("--timeout", f.timeout, "Relay nothing (the connection hangs)");
    c->add_option("--timeout-close-ms", f.timeout_close_ms,
                  "With --timeout: close the connection after this long (0: never)")
        ->check(CLI::NonNegativeNumber);
    c->add_flag("--reset", f.reset, "Reset (RST) every new connection");
    c->add_flag("--down", f.down, "Accept and close at once (the upstream is gone)");
    c->add_option("--stream", f.stream, "Direction(s) the faults apply to")
        ->check(CLI::IsMember({"downstream", "upstream", "both"}))
        ->default_val("downstream");
    c->add_option("--toxicity", f.toxicity, "Share of connections affected")
        ->default_val(1)
        ->check(CLI::Range(0.0, 1.0));
  } else if (kind == "cpu") {
    c->add_option("--workers", f.workers, "Busy threads")->default_val(1)->check(CLI::Range(1, 1024));
    c->add_option("--load", f.load, "Percent of each period a worker is busy")
        ->default_val(100)
        ->check(CLI::Range(1.0, 100.0));
    target();
  } else if (kind == "memory") {
    c->add_option("--size", f.size, "Bytes to hold (k, M, G: powers of 1,024)")->default_val("256M");
    c->add_option("--ramp", f.ramp_s, "Seconds to reach the size (0: at once)")
        ->check(CLI::NonNegativeNumber);
    target();
  } else if (kind == "disk") {
    c->add_option("--write-rate", f.write_rate, "Bytes written per second (k, M, G)");
    c->add_option("--read-rate", f.read_rate, "Bytes read back per second (k, M, G)");
    c->add_flag("--fsync", f.fsync, "fdatasync after every 10 ms of writes");
    c->add_option("--dir", f.dir, "Directory of the scratch file (on the disk to load)")
        ->default_val("/tmp");
    c->add_option("--file-size", f.file_size, "The scratch file's size; writes cycle within it")
        ->default_val("64M");
    target();
  } else if (kind == "process") {
    c->add_option("--pid", f.pid, "The process");
    c->add_option("--container", f.container, "Pause a whole container (its id, or 12+ "
                  "characters of it) through its freezer cgroup");
    c->add_option("--action", f.action, "pause, kill, or restart (kill, then start the same "
                  "command again when the duration ends)")
        ->check(CLI::IsMember({"pause", "kill", "restart"}))
        ->default_val("pause");
    c->add_option("--method", f.method, "How to pause: signal (SIGSTOP/SIGCONT to the process) "
                  "or freezer (freeze its whole cgroup, as a container pause)")
        ->check(CLI::IsMember({"signal", "freezer"}))
        ->default_val("signal");
    c->add_option("--restart-log", f.restart_log, "Where the restarted process's output goes "
                  "(default: /dev/null)");
  } else if (kind == "gpu") {
    c->add_option("--device", f.device, "The GPU (NVML / CUDA index)")->default_val(0)->check(CLI::NonNegativeNumber);
    c->add_option("--power-cap", f.power_cap_w, "Cap the power limit at this many watts (NVML; "
                  "restored to the limit read before)")->check(CLI::PositiveNumber);
    c->add_option("--load", f.gpu_load, "Keep the SMs busy this percent of every 100 ms (CUDA)")
        ->check(CLI::Range(1.0, 100.0));
    c->add_option("--memory", f.gpu_memory, "With --load: device memory to hold (k, M, G)")
        ->default_val("0");
    c->add_option("--nvml-library", f.nvml_library, "The NVML library to load (default: "
                  "$LLMRCA_NVML_LIBRARY or libnvidia-ml.so.1)");
  } else if (kind == "network") {
    c->add_option("--dev", f.dev, "The interface (nothing else is touched)")->required();
    c->add_option("--netns", f.netns, "A named network namespace (ip netns) holding it");
    c->add_option("--direction", f.direction, "egress (sent) or ingress (received, shaped on an "
                  "ifb device the fault creates)")
        ->check(CLI::IsMember({"egress", "ingress"}))
        ->default_val("egress");
    c->add_option("--ifb", f.ifb, "Name of the ifb device for ingress (default: lrifb<pid>-<n>)");
    c->add_option("--delay", f.delay_ms, "netem delay, ms")->check(CLI::NonNegativeNumber);
    c->add_option("--jitter", f.jitter_ms, "netem jitter, ms")->check(CLI::NonNegativeNumber);
    c->add_option("--correlation", f.correlation_pct, "netem delay correlation, %")
        ->check(CLI::Range(0.0, 100.0));
    c->add_option("--loss", f.loss_pct, "netem loss, %")->check(CLI::Range(0.0, 100.0));
    c->add_option("--duplicate", f.duplicate_pct, "netem duplicate, %")->check(CLI::Range(0.0, 100.0));
    c->add_option("--corrupt", f.corrupt_pct, "netem corrupt, %")->check(CLI::Range(0.0, 100.0));
    c->add_option("--rate", f.rate, "tbf rate limit, e.g. 1mbit (alone, not with netem)");
    c->add_option("--burst", f.burst, "tbf burst")->default_val("32kbit");
  }
}

void AddRunOptions(CLI::App* c, ChaosRunFlags& r) {
  c->add_option("--record", r.record, "Append the fault record(s) to this file (default: stdout)");
  c->add_option("--state", r.state, "The undo journal (default: $LLMRCA_CHAOS_STATE or "
                "/tmp/llmrca-chaos-<uid>.state)");
  c->add_flag("--dry-run", r.dry_run, "Print the exact actions and the record(s); change nothing");
}

const char* Description(const std::string& kind) {
  if (kind == "proxy") {
    return "A TCP proxy that delays, slows, stalls, times out, resets or refuses what it relays "
           "(Toxiproxy's faults; no root or kernel support needed)";
  }
  if (kind == "cpu") return "CPU stress: workers busy a share of every 100 ms";
  if (kind == "memory") return "Memory stress: allocate and touch SIZE, ramped";
  if (kind == "disk") {
    return "Disk I/O stress: paced writes (optionally fsynced) and reads of a scratch file";
  }
  if (kind == "gpu") {
    return "GPU faults: an NVML power cap (the study's GPU fault) or a CUDA load on the SMs";
  }
  if (kind == "process") {
    return "Pause (SIGSTOP or the freezer cgroup, resumed at the end), kill, or kill and "
           "restart a process";
  }
  return "tc on one named interface: netem delay/loss/duplicate/corrupt where the kernel has it, "
         "tbf rate limits; egress or ingress (ifb); undone at the end";
}

const char* Footer(const std::string& kind) {
  if (kind == "proxy") {
    return "Clients connect to --listen instead of the upstream. Latency applies per chunk read:\n"
           "arrival + delay + U[-jitter, +jitter), in order. A stall delays a chunk as a lost\n"
           "segment's retransmission does. The fault record (JSON: type, target, params, start,\n"
           "end, outcome) goes to --record or stdout when the duration ends or on SIGINT/SIGTERM.\n"
           "Example, one replica 1,000 +- 100 ms slower (the study's network fault):\n"
           "  llmrca chaos proxy --listen 127.0.0.1:9001 --upstream 127.0.0.1:8001 \\\n"
           "    --delay 1000 --jitter 100 --duration 60";
  }
  if (kind == "cpu") {
    return "The study's CPU fault: llmrca chaos cpu --workers 16 --load 100 --pid PID --duration 60";
  }
  if (kind == "memory") {
    return "The study's memory fault: llmrca chaos memory --size 8G --pid PID --duration 60";
  }
  if (kind == "disk") {
    return "Example: llmrca chaos disk --pid PID --write-rate 50M --fsync --dir /var/lib/x "
           "--duration 60\nThe scratch file is unlinked at once, so nothing stays on disk.";
  }
  if (kind == "gpu") {
    return "The study's GPU fault: llmrca chaos gpu --device 0 --power-cap 150 --duration 60\n"
           "Setting a power limit needs root; --dry-run reads the limits and prints the changes.";
  }
  if (kind == "process") {
    return "Examples:\n"
           "  llmrca chaos process --pid PID --action pause --method freezer --duration 30\n"
           "  llmrca chaos process --pid PID --action restart --duration 10   (10 s of downtime)";
  }
  return "The study's network fault, where the kernel has netem:\n"
         "  llmrca chaos network --dev eth0 --delay 1000 --jitter 100 --duration 60\n"
         "Without netem (these build machines), the same through the proxy:\n"
         "  llmrca chaos proxy --upstream HOST:PORT --delay 1000 --jitter 100 --duration 60";
}

Result<std::unique_ptr<chaos::Fault>> BuildProxyFault(const ChaosFaultFlags& f) {
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
  r.target = fmt::format("proxy {} -> {}", f.listen, f.upstream);
  r.params = {{"latency_ms", f.delay_ms}, {"jitter_ms", f.jitter_ms},
              {"bandwidth_kbps", f.bandwidth_kbps}, {"stall_probability", f.stall_probability},
              {"stall_ms", f.stall_ms}, {"timeout", f.timeout},
              {"timeout_close_ms", f.timeout_close_ms}, {"reset", f.reset}, {"down", f.down},
              {"stream", f.stream}, {"toxicity", f.toxicity}, {"duration_s", f.duration_s}};
  return chaos::MakeProxyFault(std::move(o), std::move(r));
}

Result<std::unique_ptr<chaos::Fault>> BuildStressFault(const ChaosFaultFlags& f) {
  if ((f.pid != 0) + !f.cgroup.empty() + !f.container.empty() > 1) {
    return Status::InvalidArgument("give one of --pid, --cgroup and --container");
  }
  const std::string controller = f.kind == "disk" ? "blkio" : f.kind;
  std::optional<chaos::CgroupDir> cgroup;
  std::vector<chaos::CgroupDir> also;
  if (f.pid != 0) {
    LLMRCA_ASSIGN_OR_RETURN(cgroup, chaos::CgroupOf(f.pid, controller));
    if (cgroup->version == chaos::CgroupVersion::kV1) {
      // v1: the target's other hierarchies too (cpuacct counts what cpu limits).
      LLMRCA_ASSIGN_OR_RETURN(std::vector<chaos::CgroupDir> all, chaos::V1CgroupsOf(f.pid));
      for (chaos::CgroupDir& c : all) {
        if (c.path != cgroup->path && !c.is_root) also.push_back(std::move(c));
      }
    }
  } else if (!f.cgroup.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(cgroup, chaos::CgroupAt(f.cgroup));
  } else if (!f.container.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(cgroup, chaos::CgroupOfContainer(f.container, controller));
  }
  chaos::FaultRecord r;
  r.type = f.kind;
  r.target = cgroup ? fmt::format("cgroup {} ({})", cgroup->path,
                                  cgroup->version == chaos::CgroupVersion::kV2 ? "v2" : "v1")
                    : std::string("this host (llmrca's own cgroup)");
  LLMRCA_ASSIGN_OR_RETURN(const std::string self, SelfExecutable());
  // The worker bounds itself too (5 s past the fault) in case this process vanishes.
  std::vector<std::string> argv = {self, "chaos", "stress-worker", f.kind, "--duration",
                                   fmt::format("{}", f.duration_s + 5)};
  if (f.kind == "cpu") {
    argv.insert(argv.end(), {"--workers", std::to_string(f.workers), "--load", fmt::format("{}", f.load)});
    r.params = {{"workers", static_cast<double>(f.workers)}, {"load", f.load}};
  } else if (f.kind == "memory") {
    LLMRCA_ASSIGN_OR_RETURN(const int64_t bytes, chaos::ParseByteSize(f.size));
    argv.insert(argv.end(), {"--size", std::to_string(bytes), "--ramp", fmt::format("{}", f.ramp_s)});
    r.params = {{"bytes", static_cast<double>(bytes)}, {"ramp_s", f.ramp_s}};
  } else {
    int64_t write_bps = 0, read_bps = 0;
    if (!f.write_rate.empty()) {
      LLMRCA_ASSIGN_OR_RETURN(write_bps, chaos::ParseByteSize(f.write_rate));
    }
    if (!f.read_rate.empty()) {
      LLMRCA_ASSIGN_OR_RETURN(read_bps, chaos::ParseByteSize(f.read_rate));
    }
    if (write_bps == 0 && read_bps == 0) {
      return Status::InvalidArgument("disk fault: give --write-rate, --read-rate or both");
    }
    LLMRCA_ASSIGN_OR_RETURN(const int64_t file_bytes, chaos::ParseByteSize(f.file_size));
    if (::access(f.dir.c_str(), W_OK) != 0) {
      return Status::InvalidArgument(fmt::format("disk fault: --dir '{}' is not a writable directory", f.dir));
    }
    argv.insert(argv.end(), {"--dir", f.dir, "--write-bps", std::to_string(write_bps),
                             "--read-bps", std::to_string(read_bps), "--file-size",
                             std::to_string(file_bytes)});
    if (f.fsync) argv.push_back("--fsync");
    r.params = {{"write_bytes_per_s", static_cast<double>(write_bps)},
                {"read_bytes_per_s", static_cast<double>(read_bps)}, {"fsync", f.fsync},
                {"dir", f.dir}};
  }
  r.params.emplace_back("duration_s", f.duration_s);
  if (!also.empty()) r.params.emplace_back("other_cgroups_joined", static_cast<double>(also.size()));
  return chaos::MakeStressFault(std::move(argv), std::move(cgroup), std::move(also), std::move(r));
}

Result<std::unique_ptr<chaos::Fault>> BuildProcessFault(const ChaosFaultFlags& f) {
  if (!f.container.empty()) {
    if (f.pid != 0 || f.action != "pause") {
      return Status::InvalidArgument("--container pauses a container: give it without --pid and "
                                     "with --action pause");
    }
    LLMRCA_ASSIGN_OR_RETURN(chaos::CgroupDir freezer, chaos::CgroupOfContainer(f.container, "freezer"));
    chaos::FaultRecord r;
    r.type = "process";
    r.target = fmt::format("container {} (cgroup {})", f.container, freezer.path);
    r.params = {{"action", f.action}, {"method", std::string("freezer")},
                {"duration_s", f.duration_s}};
    return chaos::MakePauseFault(0, std::move(freezer), std::move(r));
  }
  if (f.pid == 0) return Status::InvalidArgument("give --pid (or --container to pause a container)");
  if (f.pid < 0 || ::kill(f.pid, 0) != 0) {
    return Status::NotFound(fmt::format("process {} does not exist or cannot be signalled", f.pid));
  }
  if (f.pid == ::getpid()) return Status::InvalidArgument("refusing to act on llmrca itself");
  chaos::FaultRecord r;
  r.type = "process";
  r.target = fmt::format("pid {}", f.pid);
  r.params = {{"action", f.action}};
  if (f.action == "pause") r.params.emplace_back("method", f.method);
  r.params.emplace_back("duration_s", f.duration_s);
  if (f.action == "pause") {
    std::optional<chaos::CgroupDir> freezer;
    if (f.method == "freezer") {
      LLMRCA_ASSIGN_OR_RETURN(freezer, chaos::CgroupOf(f.pid, "freezer"));
      if (freezer->is_root) {
        return Status::InvalidArgument(fmt::format(
            "process {} is in the root freezer cgroup: freezing it would stop the whole "
            "machine; use --method signal or put the process in a cgroup of its own", f.pid));
      }
      r.target = fmt::format("cgroup {} ({}) of pid {}", freezer->path,
                             freezer->version == chaos::CgroupVersion::kV2 ? "v2" : "v1", f.pid);
    }
    return chaos::MakePauseFault(f.pid, std::move(freezer), std::move(r));
  }
  if (f.action == "restart") {
    // Fails now, not when the fault starts, when the command cannot be read back.
    LLMRCA_RETURN_IF_ERROR(chaos::ReadProcessCommand(f.pid).status());
  }
  return chaos::MakeKillFault(f.pid, f.action == "restart", f.restart_log, std::move(r));
}

Result<std::unique_ptr<chaos::Fault>> BuildGpuFault(const ChaosFaultFlags& f) {
  if ((f.power_cap_w > 0) == (f.gpu_load > 0)) {
    return Status::InvalidArgument("gpu fault: give one of --power-cap and --load");
  }
  LLMRCA_ASSIGN_OR_RETURN(const std::string self, SelfExecutable());
  chaos::FaultRecord r;
  r.type = "gpu";
  r.target = fmt::format("GPU {}", f.device);
  if (f.power_cap_w > 0) {
    r.params = {{"mechanism", std::string("power_cap")}, {"power_cap_w", f.power_cap_w},
                {"duration_s", f.duration_s}};
    std::vector<std::string> restore = {self, "chaos", "gpu-restore"};
    if (!f.nvml_library.empty()) restore.insert(restore.end(), {"--nvml-library", f.nvml_library});
    return chaos::MakeGpuPowerCapFault(static_cast<unsigned>(f.device), f.power_cap_w,
                                       f.nvml_library, std::move(restore), std::move(r));
  }
  if (!chaos::gpu::GpuLoadBuiltWithCuda()) {
    return Status::Unavailable("gpu load: this llmrca was built without CUDA (configure with "
                               "-DLLMRCA_WITH_CUDA=ON where nvcc is installed); --power-cap "
                               "works without it");
  }
  int64_t memory = 0;
  if (f.gpu_memory != "0") {
    LLMRCA_ASSIGN_OR_RETURN(memory, chaos::ParseByteSize(f.gpu_memory));
  }
  r.params = {{"mechanism", std::string("load")}, {"load", f.gpu_load},
              {"memory_bytes", static_cast<double>(memory)}, {"duration_s", f.duration_s}};
  std::vector<std::string> argv = {self, "chaos", "stress-worker", "gpu", "--duration",
                                   fmt::format("{}", f.duration_s + 5), "--device",
                                   std::to_string(f.device), "--load", fmt::format("{}", f.gpu_load),
                                   "--size", std::to_string(memory)};
  return chaos::MakeStressFault(std::move(argv), std::nullopt, {}, std::move(r));
}

Result<std::unique_ptr<chaos::Fault>> BuildNetworkFault(const ChaosFaultFlags& f) {
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
  t.ingress = f.direction == "ingress";
  if (t.ingress) {
    // Default: this process and the interface, so two ingress faults of one schedule differ.
    t.ifb = !f.ifb.empty() ? f.ifb
                           : fmt::format("lrifb{}-{}", ::getpid() % 100000,
                                         std::hash<std::string>{}(f.netns + "/" + f.dev) % 1000);
  }
  LLMRCA_RETURN_IF_ERROR(chaos::ValidateTcFault(t));
  chaos::FaultRecord r;
  r.type = f.delay_ms > 0 ? "delay"
           : f.loss_pct > 0 ? "loss"
           : f.duplicate_pct > 0 ? "duplicate"
           : f.corrupt_pct > 0 ? "corrupt"
                               : "bandwidth";
  r.target = fmt::format("interface {}{} ({})", f.dev,
                         f.netns.empty() ? std::string() : " in netns " + f.netns, f.direction);
  r.params = {{"qdisc", std::string(chaos::UsesNetem(t) ? "netem" : "tbf")},
              {"direction", f.direction},
              {"delay_ms", f.delay_ms}, {"jitter_ms", f.jitter_ms},
              {"correlation_pct", f.correlation_pct}, {"loss_pct", f.loss_pct},
              {"duplicate_pct", f.duplicate_pct}, {"corrupt_pct", f.corrupt_pct},
              {"rate", f.rate}, {"duration_s", f.duration_s}};
  if (t.ingress) r.params.emplace_back("ifb", t.ifb);
  return chaos::MakeTcFault(std::move(t), std::move(r));
}

// One scalar of a schedule entry as the command line would give it.
Result<std::vector<std::string>> EntryArgs(const YAML::Node& entry, const std::string& where,
                                           const CLI::App& parser) {
  std::vector<std::string> args;
  for (const auto& kv : entry) {
    std::string key = kv.first.as<std::string>();
    if (key == "kind" || key == "start") continue;
    for (char& ch : key) {
      if (ch == '_') ch = '-';
    }
    if (parser.get_option_no_throw("--" + key) == nullptr) {
      return Status::InvalidArgument(fmt::format("{}: unknown option '{}' (see llmrca chaos {} "
                                                 "--help)", where, key, parser.get_name()));
    }
    if (!kv.second.IsScalar()) {
      return Status::InvalidArgument(fmt::format("{}: '{}' must be a single value", where, key));
    }
    const std::string value = kv.second.as<std::string>();
    if (value == "true" || value == "false") {
      if (value == "true") args.push_back("--" + key);
      continue;
    }
    args.push_back("--" + key);
    args.push_back(value);
  }
  return args;
}

}  // namespace

Result<std::unique_ptr<chaos::Fault>> BuildFault(const ChaosFaultFlags& f) {
  if (f.kind == "proxy") return BuildProxyFault(f);
  if (f.kind == "cpu" || f.kind == "memory" || f.kind == "disk") return BuildStressFault(f);
  if (f.kind == "process") return BuildProcessFault(f);
  if (f.kind == "network") return BuildNetworkFault(f);
  if (f.kind == "gpu") return BuildGpuFault(f);
  return Status::InvalidArgument(fmt::format("unknown fault kind '{}' (one of: {})", f.kind,
                                             fmt::join(kKinds, ", ")));
}

Result<std::vector<chaos::TimedFault>> ReadSchedule(const std::string& path) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::NotFound(fmt::format("schedule '{}': cannot read the file", path));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("schedule '{}': {}", path, e.what()));
  }
  const YAML::Node list = doc.IsMap() ? doc["faults"] : doc;
  if (!list || !list.IsSequence() || list.size() == 0) {
    return Status::InvalidArgument(fmt::format(
        "schedule '{}': expected a list 'faults:' of one or more faults", path));
  }
  std::vector<chaos::TimedFault> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node entry = list[i];
    std::string where = fmt::format("schedule '{}', fault {}", path, i + 1);
    try {
      if (!entry.IsMap() || !entry["kind"] || !entry["kind"].IsScalar()) {
        return Status::InvalidArgument(where + ": expected a mapping with 'kind'");
      }
      const std::string kind = entry["kind"].as<std::string>();
      where += " (" + kind + ")";
      bool known = false;
      for (const char* k : kKinds) known = known || kind == k;
      if (!known) {
        return Status::InvalidArgument(fmt::format("{}: unknown kind (one of: {})", where,
                                                   fmt::join(kKinds, ", ")));
      }
      double start = 0;
      if (entry["start"]) start = entry["start"].as<double>();
      if (!(start >= 0)) return Status::InvalidArgument(where + ": 'start' must be >= 0 s");
      // The command line's own parser, so names, defaults and checks are the subcommand's.
      ChaosFaultFlags flags;
      CLI::App parser("", kind);
      AddFaultOptions(&parser, kind, flags);
      LLMRCA_ASSIGN_OR_RETURN(std::vector<std::string> args, EntryArgs(entry, where, parser));
      std::vector<std::string> reversed(args.rbegin(), args.rend());
      try {
        parser.parse(reversed);
      } catch (const CLI::ParseError& e) {
        return Status::InvalidArgument(fmt::format("{}: {}", where, e.what()));
      }
      Result<std::unique_ptr<chaos::Fault>> fault = BuildFault(flags);
      if (!fault.ok()) {
        return Status(fault.status().code(), fmt::format("{}: {}", where, fault.status().message()));
      }
      out.push_back({std::move(fault).value(), start, flags.duration_s});
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(fmt::format("{}: {}", where, e.what()));
    }
  }
  return out;
}

Status RunChaos(std::vector<chaos::TimedFault> faults, const ChaosRunFlags& run) {
  Status write_error;
  chaos::RunOptions o;
  o.journal = run.state.empty() ? chaos::DefaultStatePath() : run.state;
  o.on_record = [&](const chaos::FaultRecord& r) {
    Status s = EmitRecord(r, run.record);
    if (write_error.ok() && !s.ok()) write_error = s;
  };
  o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  if (run.dry_run) {
    LLMRCA_RETURN_IF_ERROR(chaos::PlanFaults(faults, o));
    return write_error;
  }
  std::atomic<bool>& stop = CatchStopSignals();
  const Status ran = chaos::RunFaults(faults, stop, o);
  ReleaseStopSignals();
  return ran.ok() ? write_error : ran;
}

void AddChaosCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* cmd = app.add_subcommand("chaos", "Inject a fault for a bounded time, restore, and "
                                              "write the fault's record");
  cmd->require_subcommand(1);
  for (const char* kind : kKinds) {
    auto f = std::make_shared<ChaosFaultFlags>();
    auto run = std::make_shared<ChaosRunFlags>();
    CLI::App* c = cmd->add_subcommand(kind, Description(kind));
    AddFaultOptions(c, kind, *f);
    AddRunOptions(c, *run);
    c->footer(Footer(kind));
    c->callback([f, run, &ctx] {
      Result<std::unique_ptr<chaos::Fault>> fault = BuildFault(*f);
      if (!fault.ok()) {
        ctx.status = fault.status();
        return;
      }
      std::vector<chaos::TimedFault> one;
      one.push_back({std::move(fault).value(), 0, f->duration_s});
      ctx.status = RunChaos(std::move(one), *run);
    });
  }

  auto file = std::make_shared<std::string>();
  auto srun = std::make_shared<ChaosRunFlags>();
  CLI::App* s = cmd->add_subcommand(
      "schedule", "Run several faults from a YAML file, each at its start offset, all undone at "
                  "their end or on SIGINT/SIGTERM");
  s->add_option("file", *file, "The schedule (YAML)")->required();
  AddRunOptions(s, *srun);
  s->footer(
      "A schedule is a list of faults; each takes its subcommand's options by their long names\n"
      "(without the dashes; - or _ both work), plus `kind` and `start` (seconds from the run's\n"
      "start, default 0). Faults may overlap. Each record is written as its fault ends.\n"
      "  faults:\n"
      "    - {kind: cpu, start: 0, duration: 60, pid: 1234, workers: 16}\n"
      "    - kind: proxy\n"
      "      start: 30\n"
      "      duration: 60\n"
      "      upstream: 127.0.0.1:8001\n"
      "      listen: 127.0.0.1:9001\n"
      "      delay: 1000\n"
      "      jitter: 100");
  s->callback([file, srun, &ctx] {
    Result<std::vector<chaos::TimedFault>> faults = ReadSchedule(*file);
    ctx.status = faults.ok() ? RunChaos(std::move(faults).value(), *srun) : faults.status();
  });

  auto state = std::make_shared<std::string>();
  CLI::App* r = cmd->add_subcommand(
      "recover", "Undo what a killed or crashed injector left (resume or thaw paused processes, "
                 "kill stressors, remove qdiscs, restart killed services), from the journal");
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

  // What the journal runs to restore a GPU's power limit after a crash (chaos/gpu_fault.h).
  struct GpuRestoreFlags {
    std::string uuid;
    unsigned limit_mw = 0;
    std::string library;
  };
  auto gr = std::make_shared<GpuRestoreFlags>();
  CLI::App* g = cmd->add_subcommand("gpu-restore", "");  // hidden
  g->group("");
  g->add_option("--uuid", gr->uuid)->required();
  g->add_option("--limit-mw", gr->limit_mw)->required();
  g->add_option("--nvml-library", gr->library);
  g->callback([gr, &ctx] {
    ctx.status = chaos::RestoreGpuPowerLimit(gr->uuid, gr->limit_mw, gr->library);
    if (ctx.status.ok()) {
      ctx.status = WriteStdout(fmt::format("restored the power limit of {} to {} mW\n", gr->uuid,
                                           gr->limit_mw));
    }
  });

  // The stressor process itself, started by `chaos cpu|memory|disk|gpu` inside the target's
  // cgroup.
  auto worker = std::make_shared<ChaosFaultFlags>();
  auto disk = std::make_shared<chaos::DiskStressOptions>();
  CLI::App* w = cmd->add_subcommand("stress-worker", "");  // hidden: an empty description
  w->group("");
  w->add_option("kind", worker->kind)->required();
  w->add_option("--workers", worker->workers);
  w->add_option("--load", worker->load);
  w->add_option("--size", worker->size);
  w->add_option("--ramp", worker->ramp_s);
  w->add_option("--dir", disk->dir);
  w->add_option("--write-bps", disk->write_bps);
  w->add_option("--read-bps", disk->read_bps);
  w->add_option("--file-size", disk->file_bytes);
  w->add_flag("--fsync", disk->fsync);
  w->add_option("--device", worker->device);
  w->add_option("--duration", worker->duration_s)->required();
  w->callback([worker, disk, &ctx] {
    std::atomic<bool>& stop = CatchStopSignals();
    const std::chrono::duration<double> d(worker->duration_s);
    if (worker->kind == "cpu") {
      chaos::RunCpuStress(worker->workers, worker->load, d, stop);
    } else if (worker->kind == "disk") {
      ctx.status = chaos::RunDiskStress(*disk, d, stop).status();
    } else if (worker->kind == "gpu") {
      chaos::gpu::GpuLoadOptions o;
      o.device = worker->device;
      o.load_pct = worker->load;
      o.duration = d;
      o.memory_bytes = std::stoll(worker->size);
      chaos::gpu::GpuResult<chaos::gpu::GpuLoadReport> rep = chaos::gpu::RunGpuLoad(o, stop);
      ctx.status = chaos::FromGpu(rep.status());
      if (rep.ok()) {
        std::fprintf(stderr, "gpu load on %s: %lld kernels, busy %.3f of %.3f s (%.0f %%)\n",
                     rep->device_name.c_str(), static_cast<long long>(rep->kernels_launched),
                     rep->busy_s, rep->elapsed_s, 100 * rep->busy_share);
      }
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

}  // namespace llmrca::cli
