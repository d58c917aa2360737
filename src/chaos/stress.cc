#include "chaos/stress.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::chaos {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

void RunCpuStress(int workers, double load_pct, std::chrono::duration<double> duration,
                  const std::atomic<bool>& stop) {
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(duration);
  const auto period = std::chrono::milliseconds(100);
  const auto busy = std::chrono::duration_cast<Clock::duration>(period * std::clamp(load_pct, 0.0, 100.0) / 100.0);
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&] {
      volatile uint64_t sink = 0;
      while (!stop.load(std::memory_order_relaxed) && Clock::now() < end) {
        const auto start = Clock::now();
        while (Clock::now() - start < busy) {
          for (int k = 0; k < 1000; ++k) sink = sink * 6364136223846793005ULL + 1442695040888963407ULL;
        }
        const auto rest = period - (Clock::now() - start);
        if (rest > Clock::duration::zero()) std::this_thread::sleep_for(rest);
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

Status RunMemoryStress(int64_t bytes, std::chrono::duration<double> ramp,
                       std::chrono::duration<double> duration, const std::atomic<bool>& stop) {
  if (bytes <= 0) return Status::InvalidArgument("memory stress: the size must be > 0");
  void* p = ::mmap(nullptr, static_cast<size_t>(bytes), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Status::Unavailable(fmt::format("memory stress: cannot map {} bytes", bytes));
  }
  char* mem = static_cast<char*>(p);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(duration);
  const int64_t page = ::sysconf(_SC_PAGESIZE);
  int64_t touched = 0;
  while (!stop.load() && Clock::now() < end) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double share = ramp.count() <= 0 ? 1.0 : std::min(1.0, elapsed / ramp.count());
    const int64_t target = static_cast<int64_t>(share * static_cast<double>(bytes));
    for (; touched < target; touched += page) mem[touched] = static_cast<char>(touched);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::munmap(p, static_cast<size_t>(bytes));
  return Status::Ok();
}

Result<int64_t> ParseByteSize(std::string_view text) {
  std::string t(Trim(text));
  int64_t unit = 1;
  if (!t.empty()) {
    switch (t.back()) {
      case 'k': case 'K': unit = int64_t{1} << 10; break;
      case 'm': case 'M': unit = int64_t{1} << 20; break;
      case 'g': case 'G': unit = int64_t{1} << 30; break;
      default: break;
    }
    if (unit != 1) t.pop_back();
  }
  const std::optional<int64_t> n = ParseInt(t);
  if (!n || *n <= 0 || *n > (int64_t{1} << 50) / unit) {
    return Status::InvalidArgument(fmt::format("size '{}': expected a number with k, M or G", text));
  }
  return *n * unit;
}

double ProcessCpuSeconds(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(in, line)) return -1;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 2));
  std::string f;
  uint64_t utime = 0, stime = 0;
  // After the command: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int64_t ProcessRssBytes(int pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream v(line.substr(6));
      int64_t kb = 0;
      v >> kb;
      return kb * 1024;
    }
  }
  return -1;
}

}  // namespace llmrca::chaos
