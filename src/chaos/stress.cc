#include "chaos/stress.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
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

Result<DiskStressStats> RunDiskStress(const DiskStressOptions& o,
                                      std::chrono::duration<double> duration,
                                      const std::atomic<bool>& stop) {
  constexpr int64_t kBlock = 64 << 10;
  if (o.write_bps <= 0 && o.read_bps <= 0) {
    return Status::InvalidArgument("disk stress: give a write rate, a read rate or both");
  }
  if (o.write_bps < 0 || o.read_bps < 0) return Status::InvalidArgument("disk stress: negative rate");
  if (o.file_bytes < kBlock) {
    return Status::InvalidArgument(fmt::format("disk stress: the file size must be >= {}", kBlock));
  }
  const std::string templ = o.dir + "/llmrca-disk-stress-XXXXXX";
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    return Status::Unavailable(fmt::format("disk stress: cannot create a scratch file in '{}': {}",
                                           o.dir, std::strerror(errno)));
  }
  ::unlink(name.data());  // space returns when the descriptor closes, however this process ends
  const int64_t span = o.file_bytes / kBlock * kBlock;
  std::vector<char> block(kBlock);
  for (int64_t i = 0; i < kBlock; ++i) block[static_cast<size_t>(i)] = static_cast<char>(i * 131 + 7);
  DiskStressStats st;
  const auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    return Status::Unavailable(fmt::format("disk stress: {} in '{}' failed: {}", what, o.dir,
                                           std::strerror(e)));
  };
  // Reads need data on the device: without writes, lay down a file of its own first (not
  // counted; at most 16 MiB).
  int64_t readable = 0;
  if (o.write_bps == 0) {
    readable = std::min<int64_t>(span, 16 << 20);
    for (int64_t at = 0; at < readable; at += kBlock) {
      if (::pwrite(fd, block.data(), kBlock, at) != kBlock) return fail("writing the read file");
    }
    if (::fdatasync(fd) != 0) return fail("fdatasync");
  }
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(duration);
  int64_t write_at = 0, read_at = 0;
  while (!stop.load() && Clock::now() < end) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    // Writes: catch up to rate x elapsed, whole blocks (the last one partial).
    bool wrote = false;
    while (st.bytes_written < static_cast<int64_t>(elapsed * static_cast<double>(o.write_bps))) {
      const int64_t n = std::min<int64_t>(
          kBlock, static_cast<int64_t>(elapsed * static_cast<double>(o.write_bps)) - st.bytes_written);
      if (::pwrite(fd, block.data(), static_cast<size_t>(n), write_at) != n) return fail("write");
      st.bytes_written += n;
      write_at += n;
      if (write_at >= span) write_at = 0;
      readable = std::max(readable, write_at == 0 ? span : write_at);
      wrote = true;
    }
    if (wrote && o.fsync) {
      const auto t0 = Clock::now();
      if (::fdatasync(fd) != 0) return fail("fdatasync");
      st.fsync_max_ms = std::max(
          st.fsync_max_ms, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      ++st.fsyncs;
    }
    while (readable > 0 &&
           st.bytes_read < static_cast<int64_t>(elapsed * static_cast<double>(o.read_bps))) {
      const int64_t n = std::min<int64_t>(
          {kBlock, readable - read_at,
           static_cast<int64_t>(elapsed * static_cast<double>(o.read_bps)) - st.bytes_read});
      // Dropped from the page cache first, so the read goes to the device (dirty pages written
      // by this process stay until they are flushed: with --fsync they are).
      ::posix_fadvise(fd, read_at, n, POSIX_FADV_DONTNEED);
      if (::pread(fd, block.data(), static_cast<size_t>(n), read_at) != n) return fail("read");
      st.bytes_read += n;
      read_at += n;
      if (read_at >= readable) read_at = 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(fd);
  return st;
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

ProcessIo ReadProcessIo(int pid) {
  ProcessIo io;
  std::ifstream in(fmt::format("/proc/{}/io", pid));
  std::string key;
  int64_t value = 0;
  while (in >> key >> value) {
    if (key == "rchar:") io.rchar = value;
    if (key == "wchar:") io.wchar = value;
    if (key == "read_bytes:") io.read_bytes = value;
    if (key == "write_bytes:") io.write_bytes = value;
  }
  return io;
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
