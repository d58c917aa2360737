#include "chaos/gpu/gpu_chaos_tool.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "chaos/gpu/gpu_load.h"
#include "chaos/gpu/nvml.h"

namespace llmrca::chaos::gpu {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    "usage: llmrca-gpu-chaos <command> [options]\n"
    "  info [--json]\n"
    "      devices, power limits, power draw and utilisation (NVML)\n"
    "  power-cap --device I --watts W --duration S [--dry-run]\n"
    "      caps GPU I's power limit at W watts for S seconds, then restores the limit it had;\n"
    "      also restores on SIGINT, SIGTERM and SIGHUP; prints a JSON fault record (needs root)\n"
    "  load --device I --load PCT --duration S [--memory BYTES] [--period S]\n"
    "      keeps CUDA device I's SMs busy PCT % of each period (default 0.1 s), optionally\n"
    "      holding BYTES of device memory (512M, 2G); needs a build with CUDA\n"
    "  load --probe [--device I] [--kernels N]\n"
    "      times N (default 200) launches of a small fixed GPU job\n"
    "every command takes --nvml-library PATH (default $LLMRCA_NVML_LIBRARY, else "
    "libnvidia-ml.so.1)\n";

// ---- JSON output (a few flat objects; no JSON library on GPU hosts) ----

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The shortest text that reads back as the same double; null for NaN and infinities.
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "null";
}

class JsonObject {
 public:
  JsonObject& String(std::string_view key, std::string_view value) {
    return Raw(key, JsonString(value));
  }
  JsonObject& Number(std::string_view key, double value) { return Raw(key, JsonNumber(value)); }
  JsonObject& Bool(std::string_view key, bool value) { return Raw(key, value ? "true" : "false"); }
  JsonObject& Raw(std::string_view key, std::string_view json) {
    if (!body_.empty()) body_ += ',';
    body_ += JsonString(key);
    body_ += ':';
    body_ += json;
    return *this;
  }
  std::string Text() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

// One fault record (the fields of llmrca's chaos/fault_record.h) as a line of JSON.
void WriteRecord(std::ostream& out, std::string_view type, std::string_view target,
                 const JsonObject& params, double start, double end, std::string_view outcome) {
  out << JsonObject()
             .String("type", type)
             .String("target", target)
             .Raw("params", params.Text())
             .Number("start", start)
             .Number("end", end)
             .String("outcome", outcome)
             .Text()
      << "\n";
}

double UnixSecondsNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- Arguments ----

struct Flags {
  std::map<std::string, std::string, std::less<>> values;
  std::set<std::string, std::less<>> switches;

  const std::string* Get(std::string_view name) const {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
  bool Has(std::string_view name) const { return switches.count(name) > 0; }
};

// Parses `--name value`, `--name=value` and switches after the subcommand. Returns an error
// message, or empty on success.
std::string ParseFlags(const std::vector<std::string>& args, const std::set<std::string>& valued,
                       const std::set<std::string>& switches, Flags& flags) {
  for (size_t i = 1; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (name.rfind("--", 0) != 0) return "unexpected argument '" + name + "'";
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (switches.count(name) > 0) {
      if (value) return name + " takes no value";
      flags.switches.insert(name);
      continue;
    }
    if (valued.count(name) == 0) return "unknown option '" + name + "' for " + args[0];
    if (!value) {
      if (i + 1 >= args.size()) return name + " needs a value";
      value = args[++i];
    }
    if (!flags.values.emplace(name, *value).second) return name + " given twice";
  }
  return "";
}

std::optional<double> ParseNumber(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<long long> ParseInteger(std::string_view text) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// "4096", "100k", "512M", "2G" (powers of 1,024, as llmrca's memory stressor reads them).
std::optional<std::int64_t> ParseBytes(std::string_view text) {
  int shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
  }
  if (shift > 0) text.remove_suffix(1);
  const std::optional<long long> n = ParseInteger(text);
  if (!n || *n < 0 || *n > (std::numeric_limits<std::int64_t>::max() >> shift)) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(*n) << shift;
}

struct Usage {
  std::string message;
};

// Reads a required or optional number flag; sets `usage` on a bad value or a missing one.
std::optional<double> NumberFlag(const Flags& f, std::string_view name, bool required,
                                 Usage& usage) {
  const std::string* text = f.Get(name);
  if (text == nullptr) {
    if (required && usage.message.empty()) usage.message = std::string(name) + " is required";
    return std::nullopt;
  }
  std::optional<double> v = ParseNumber(*text);
  if (!v && usage.message.empty()) {
    usage.message = std::string(name) + " wants a number, not '" + *text + "'";
  }
  return v;
}

std::optional<unsigned> DeviceFlag(const Flags& f, bool required, Usage& usage) {
  const std::string* text = f.Get("--device");
  if (text == nullptr) {
    if (required && usage.message.empty()) usage.message = "--device is required";
    return std::nullopt;
  }
  const std::optional<long long> v = ParseInteger(*text);
  if (!v || *v < 0 || *v > 1'000'000) {
    if (usage.message.empty()) {
      usage.message = "--device wants a device index (0, 1, ...), not '" + *text + "'";
    }
    return std::nullopt;
  }
  return static_cast<unsigned>(*v);
}

int UsageError(std::ostream& err, const std::string& message) {
  err << "llmrca-gpu-chaos: " << message << "\n" << kUsage;
  return kExitUsage;
}

int Failure(std::ostream& err, const std::string& message) {
  err << message << "\n";
  return kExitFailure;
}

// ---- Signals ----

const char* SignalName(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads it starts) for its
// lifetime, so they cannot end the process while a fault is in force; they are taken with
// sigtimedwait instead. Restores the mask afterwards, discarding any still pending: the fault
// they asked to end is over by then.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~StopSignals() {
    while (Wait(0) != 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Waits up to `seconds` for one of the signals; returns it, or 0 when none came.
  int Wait(double seconds) {
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(seconds);
    timeout.tv_nsec = static_cast<long>((seconds - static_cast<double>(timeout.tv_sec)) * 1e9);
    for (;;) {
      const int sig = sigtimedwait(&set_, nullptr, &timeout);
      if (sig > 0) return sig;
      if (errno != EINTR) return 0;  // EAGAIN: the time passed
    }
  }

  // Waits until `deadline` or a signal; returns the signal, or 0 at the deadline.
  int WaitUntil(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const double left =
          std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return 0;
      // In steps of at most an hour, so the timespec never overflows.
      const int sig = Wait(std::min(left, 3600.0));
      if (sig != 0) return sig;
    }
  }

 private:
  sigset_t set_;
  sigset_t old_;
};

// ---- Subcommands ----

std::string OptionalNumber(const std::optional<double>& v) { return v ? JsonNumber(*v) : "null"; }

int Info(const Flags& f, std::ostream& out, std::ostream& err) {
  const std::string* library = f.Get("--nvml-library");
  GpuResult<std::unique_ptr<Nvml>> nvml = Nvml::Open(library ? *library : "");
  if (!nvml.ok()) return Failure(err, nvml.error().message);
  GpuResult<std::vector<GpuDeviceInfo>> devices = (*nvml)->Devices();
  if (!devices.ok()) return Failure(err, devices.error().message);
  if (f.Has("--json")) {
    std::string list;
    for (const GpuDeviceInfo& d : *devices) {
      if (!list.empty()) list += ',';
      list +=
          JsonObject()
              .Number("index", d.index)
              .String("name", d.name)
              .String("uuid", d.uuid)
              .Raw("power_limit_w", OptionalNumber(d.power_limit_w))
              .Raw("default_limit_w", OptionalNumber(d.default_limit_w))
              .Raw("min_limit_w", OptionalNumber(d.min_limit_w))
              .Raw("max_limit_w", OptionalNumber(d.max_limit_w))
              .Raw("power_w", OptionalNumber(d.power_w))
              .Raw("gpu_util_pct", d.gpu_util_pct ? JsonNumber(*d.gpu_util_pct) : "null")
              .Raw("memory_util_pct", d.memory_util_pct ? JsonNumber(*d.memory_util_pct) : "null")
              .Text();
    }
    out << JsonObject()
               .String("nvml_library", (*nvml)->library())
               .Raw("devices", "[" + list + "]")
               .Text()
        << "\n";
    return kExitOk;
  }
  const auto watts = [](const std::optional<double>& w) {
    return w ? JsonNumber(*w) + " W" : std::string("n/a");
  };
  out << devices->size() << " GPU(s) through " << (*nvml)->library() << "\n";
  for (const GpuDeviceInfo& d : *devices) {
    out << "GPU " << d.index << ": " << d.name << " (" << d.uuid << ")\n"
        << "  power limit " << watts(d.power_limit_w) << " (default " << watts(d.default_limit_w)
        << ", accepts " << watts(d.min_limit_w) << " to " << watts(d.max_limit_w) << "), draw "
        << watts(d.power_w) << "\n"
        << "  utilisation: gpu "
        << (d.gpu_util_pct ? std::to_string(*d.gpu_util_pct) + " %" : std::string("n/a"))
        << ", memory "
        << (d.memory_util_pct ? std::to_string(*d.memory_util_pct) + " %" : std::string("n/a"))
        << "\n";
  }
  return kExitOk;
}

int PowerCap(const Flags& f, std::ostream& out, std::ostream& err) {
  Usage usage;
  const std::optional<unsigned> device = DeviceFlag(f, true, usage);
  const std::optional<double> watts = NumberFlag(f, "--watts", true, usage);
  const std::optional<double> duration_s = NumberFlag(f, "--duration", true, usage);
  if (usage.message.empty() && *duration_s <= 0) usage.message = "--duration must be positive";
  if (usage.message.empty() && *watts <= 0) usage.message = "--watts must be positive";
  if (!usage.message.empty()) return UsageError(err, usage.message);
  const bool dry_run = f.Has("--dry-run");

  // Signals are held from before NVML starts (its threads inherit the mask) until after the
  // restore, so none can end the process with the cap in force. SIGKILL still can: the message
  // below says how to undo by hand.
  StopSignals signals;
  const std::string* library = f.Get("--nvml-library");
  GpuResult<std::unique_ptr<Nvml>> opened = Nvml::Open(library ? *library : "");
  if (!opened.ok()) return Failure(err, opened.error().message);
  Nvml& nvml = **opened;
  GpuResult<PowerCapPlan> planned = PlanPowerCap(nvml, *device, *watts);
  if (!planned.ok()) return Failure(err, planned.error().message);
  const PowerCapPlan& plan = *planned;
  const std::vector<std::string> actions = PowerCapActions(plan);
  std::string undo_by_hand;
  for (const std::string& word : PowerCapRestoreCommand(plan)) {
    undo_by_hand += (undo_by_hand.empty() ? "" : " ") + word;
  }

  JsonObject params;
  params.Number("device", plan.device)
      .String("name", plan.name)
      .String("uuid", plan.uuid)
      .Number("watts", plan.target_limit_mw / 1000.0)
      .Number("previous_watts", plan.previous_limit_mw / 1000.0)
      .Raw("default_watts",
           plan.default_limit_mw > 0 ? JsonNumber(plan.default_limit_mw / 1000.0) : "null")
      .Number("min_watts", plan.min_limit_mw / 1000.0)
      .Number("max_watts", plan.max_limit_mw / 1000.0)
      .Number("duration_s", *duration_s)
      .Bool("dry_run", dry_run);
  const std::string target =
      "GPU " + std::to_string(plan.device) + " (" + plan.name + ", " + plan.uuid + ")";
  const auto record = [&](double start, double end, std::string_view outcome) {
    WriteRecord(out, "gpu_power_cap", target, params, start, end, outcome);
  };

  if (dry_run) {
    err << "dry run: would " << actions[0] << "\n"
        << "dry run: would then, after " << JsonNumber(*duration_s)
        << " s or on SIGINT/SIGTERM/SIGHUP, " << actions[1] << "\n";
    const double now = UnixSecondsNow();
    record(now, now, "dry run: nothing injected");
    return kExitOk;
  }

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(*duration_s));
  const double start = UnixSecondsNow();
  GpuStatus applied = ApplyPowerCap(nvml, plan);
  if (!applied.ok()) {
    record(start, UnixSecondsNow(), "failed: " + applied.error().message);
    return Failure(err, applied.error().message);
  }
  err << "gpu: " << actions[0] << " for " << JsonNumber(*duration_s)
      << " s (if this process is killed, undo with: " << undo_by_hand << ")\n";
  const int sig = signals.WaitUntil(deadline);
  if (sig != 0) err << "gpu: " << SignalName(sig) << ": ending the power cap early\n";

  // A failed restore is retried: NVML can be briefly busy; the cap must not outlive the tool.
  GpuStatus restored = RestorePowerCap(nvml, plan);
  for (int attempt = 1;
       attempt < 3 && !restored.ok() && restored.error().code != GpuErrorCode::kPermissionDenied;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    restored = RestorePowerCap(nvml, plan);
  }
  const double end = UnixSecondsNow();
  if (!restored.ok()) {
    const std::string message = restored.error().message + "; restore by hand: " + undo_by_hand;
    record(start, end, "failed: " + message);
    return Failure(err, message);
  }
  err << "gpu: " << actions[1] << ": done\n";
  if (sig != 0) params.String("signal", SignalName(sig));
  record(start, end, sig != 0 ? "stopped by signal" : "completed");
  return kExitOk;
}

int Probe(const Flags& f, std::ostream& out, std::ostream& err) {
  Usage usage;
  const std::optional<unsigned> device = DeviceFlag(f, false, usage);
  std::optional<long long> kernels = 200;
  if (const std::string* text = f.Get("--kernels")) {
    kernels = ParseInteger(*text);
    if ((!kernels || *kernels < 1 || *kernels > 1000000) && usage.message.empty()) {
      usage.message = "--kernels wants a count in [1, 1000000], not '" + *text + "'";
    }
  }
  for (const char* other : {"--load", "--duration", "--memory", "--period"}) {
    if (f.Get(other) != nullptr && usage.message.empty()) {
      usage.message = std::string(other) + " does not go with --probe";
    }
  }
  if (!usage.message.empty()) return UsageError(err, usage.message);
  GpuResult<GpuProbeReport> probe =
      RunGpuProbe(static_cast<int>(device.value_or(0)), static_cast<int>(*kernels));
  if (!probe.ok()) return Failure(err, probe.error().message);
  out << JsonObject()
             .String("type", "gpu_probe")
             .Number("device", probe->device)
             .String("name", probe->device_name)
             .Number("kernels", probe->kernels)
             .Number("elapsed_s", probe->elapsed_s)
             .Number("mean_kernel_ms", probe->mean_kernel_ms)
             .Text()
      << "\n";
  return kExitOk;
}

// NVML readings of one GPU taken while the load runs, to see the load as monitoring does.
struct UtilisationSamples {
  int count = 0;
  double gpu_util_sum = 0;
  double gpu_util_max = 0;
  double power_sum_w = 0;
  int power_count = 0;
};

int Load(const Flags& f, std::ostream& out, std::ostream& err) {
  if (f.Has("--probe")) return Probe(f, out, err);
  Usage usage;
  GpuLoadOptions o;
  const std::optional<unsigned> device = DeviceFlag(f, true, usage);
  const std::optional<double> load = NumberFlag(f, "--load", true, usage);
  const std::optional<double> duration_s = NumberFlag(f, "--duration", true, usage);
  const std::optional<double> period_s = NumberFlag(f, "--period", false, usage);
  if (f.Get("--kernels") != nullptr && usage.message.empty()) {
    usage.message = "--kernels goes with --probe";
  }
  if (const std::string* text = f.Get("--memory")) {
    const std::optional<std::int64_t> bytes = ParseBytes(*text);
    if (!bytes && usage.message.empty()) {
      usage.message = "--memory wants bytes (4096, 512M, 2G), not '" + *text + "'";
    }
    o.memory_bytes = bytes.value_or(0);
  }
  if (usage.message.empty()) {
    o.device = static_cast<int>(*device);
    o.load_pct = *load;
    o.duration = std::chrono::duration<double>(*duration_s);
    if (period_s) o.period = std::chrono::duration<double>(*period_s);
    const GpuStatus valid = ValidateGpuLoadOptions(o);
    if (!valid.ok()) usage.message = valid.error().message;
  }
  if (!usage.message.empty()) return UsageError(err, usage.message);

  if (!GpuLoadBuiltWithCuda()) {
    const std::atomic<bool> never{false};
    return Failure(err, RunGpuLoad(o, never).error().message);  // "built without CUDA"
  }

  // Held from before CUDA and NVML start their threads, which inherit the mask; the watcher
  // thread below takes them and sets the stop flag.
  StopSignals signals;
  GpuResult<GpuCudaDevice> cuda = DescribeCudaDevice(o.device);
  if (!cuda.ok()) return Failure(err, cuda.error().message);

  // NVML is optional here: without it the load still runs, only unobserved.
  const std::string* library = f.Get("--nvml-library");
  GpuResult<std::unique_ptr<Nvml>> nvml = Nvml::Open(library ? *library : "");
  std::optional<unsigned> nvml_index;
  if (nvml.ok()) {
    GpuResult<unsigned> index = (*nvml)->FindByUuid(cuda->uuid);
    if (index.ok()) nvml_index = *index;
    if (!index.ok()) err << index.error().message << "; no utilisation samples\n";
  } else {
    err << nvml.error().message << "; no utilisation samples\n";
  }

  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::atomic<int> stop_signal{0};
  std::thread watcher([&] {
    while (!done.load()) {
      const int sig = signals.Wait(0.05);
      if (sig != 0) {
        stop_signal = sig;
        stop = true;
      }
    }
  });
  UtilisationSamples samples;
  std::thread sampler;
  if (nvml_index) {
    sampler = std::thread([&] {
      // Skip the first second: the utilisation sample period (up to 1 s) would straddle the
      // start of the load.
      const auto first = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (done.load() || std::chrono::steady_clock::now() < first) continue;
        GpuResult<GpuDeviceInfo> info = (*nvml)->DeviceInfo(*nvml_index);
        if (!info.ok() || !info->gpu_util_pct) continue;
        ++samples.count;
        samples.gpu_util_sum += *info->gpu_util_pct;
        samples.gpu_util_max = std::max<double>(samples.gpu_util_max, *info->gpu_util_pct);
        if (info->power_w) {
          samples.power_sum_w += *info->power_w;
          ++samples.power_count;
        }
      }
    });
  }
  err << "gpu: loading CUDA device " << o.device << " (" << cuda->name << ", " << cuda->uuid
      << ") at " << JsonNumber(o.load_pct) << " % for " << JsonNumber(*duration_s) << " s\n";
  const double start = UnixSecondsNow();
  GpuResult<GpuLoadReport> report = RunGpuLoad(o, stop);
  const double end = UnixSecondsNow();
  done = true;
  watcher.join();
  if (sampler.joinable()) sampler.join();

  JsonObject params;
  params.Number("device", o.device)
      .String("name", cuda->name)
      .String("uuid", cuda->uuid)
      .Number("load_pct", o.load_pct)
      .Number("duration_s", o.duration.count())
      .Number("period_s", o.period.count())
      .Number("memory_bytes", static_cast<double>(o.memory_bytes));
  std::string outcome;
  if (report.ok()) {
    params.Number("kernels_launched", static_cast<double>(report->kernels_launched))
        .Number("blocks_per_launch", report->blocks_per_launch)
        .Number("busy_s", report->busy_s)
        .Number("elapsed_s", report->elapsed_s)
        .Number("busy_share", report->busy_share)
        .Number("memory_bytes_held", static_cast<double>(report->memory_bytes_held));
    outcome = report->stopped ? "stopped by signal" : "completed";
    if (report->stopped && stop_signal.load() != 0) {
      params.String("signal", SignalName(stop_signal.load()));
    }
  } else {
    outcome = "failed: " + report.error().message;
  }
  if (samples.count > 0) {
    params.Number("nvml_samples", samples.count)
        .Number("nvml_gpu_util_mean_pct", samples.gpu_util_sum / samples.count)
        .Number("nvml_gpu_util_max_pct", samples.gpu_util_max);
    if (samples.power_count > 0) {
      params.Number("nvml_power_mean_w", samples.power_sum_w / samples.power_count);
    }
  }
  WriteRecord(out, "gpu_load",
              "CUDA device " + std::to_string(o.device) + " (" + cuda->name + ", " + cuda->uuid + ")",
              params, start, end, outcome);
  if (!report.ok()) return Failure(err, report.error().message);
  return kExitOk;
}

}  // namespace

int RunGpuChaosTool(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) return UsageError(err, "no command");
  const std::string& command = args[0];
  if (command == "help" || command == "--help" || command == "-h") {
    out << kUsage;
    return kExitOk;
  }
  Flags flags;
  std::string bad;
  if (command == "info") {
    bad = ParseFlags(args, {"--nvml-library"}, {"--json"}, flags);
    if (bad.empty()) return Info(flags, out, err);
  } else if (command == "power-cap") {
    bad = ParseFlags(args, {"--device", "--watts", "--duration", "--nvml-library"}, {"--dry-run"},
                     flags);
    if (bad.empty()) return PowerCap(flags, out, err);
  } else if (command == "load") {
    bad = ParseFlags(
        args,
        {"--device", "--load", "--duration", "--memory", "--period", "--kernels", "--nvml-library"},
        {"--probe"}, flags);
    if (bad.empty()) return Load(flags, out, err);
  } else {
    bad = "unknown command '" + command + "'";
  }
  return UsageError(err, bad);
}

}  // namespace llmrca::chaos::gpu
