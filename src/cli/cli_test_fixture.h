// What the CLI's end-to-end tests share: a fixture that runs the llmrca binary in a temporary
// directory, and small readers of /proc for tests that start and stop processes.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/subprocess.h"

namespace llmrca::cli_test {

namespace fs = std::filesystem;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() /
           fmt::format("llmrca_cli_test_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }

  struct Run {
    int code = -1;
    std::string out;
    std::string err;
  };

  // Runs `llmrca <args>` through the shell; args are trusted test strings.
  Run Llmrca(const std::string& args) {
    const fs::path out = tmp_ / "stdout", err = tmp_ / "stderr";
    const std::string cmd =
        fmt::format("'{}' {} >'{}' 2>'{}'", LLMRCA_BINARY, args, out.string(), err.string());
    const int status = std::system(cmd.c_str());
    Run r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }

  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  static int Lines(const std::string& s) {
    return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }

  fs::path tmp_;
};

// A `serve-sim engine` child on a free port and the HOST:PORT it announced; nothing when it
// did not start or announce itself within 10 s.
struct EngineChild {
  Subprocess process;
  std::string address;
};
inline std::optional<EngineChild> StartEngine() {
  SubprocessOptions o;
  o.capture_stdout = true;
  Result<Subprocess> engine = Subprocess::Start(
      {LLMRCA_BINARY, "serve-sim", "engine", "--port", "0", "--duration", "60"}, o);
  if (!engine.ok()) return std::nullopt;
  Result<std::string> line = engine->ReadLine(std::chrono::seconds(10));
  const size_t at = line.ok() ? line->find("http://") : std::string::npos;
  if (at == std::string::npos) return std::nullopt;
  const size_t host = at + 7;
  return EngineChild{std::move(engine).value(), line->substr(host, line->find(' ', host) - host)};
}

// The state letter of a process (R, S, T, Z ...) from /proc/<pid>/stat; '?' when gone.
inline char ProcessState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return '?';
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.size() < paren + 3 ? '?' : line[paren + 2];
}

// True when `pid` has ended: no such process, or a zombie waiting to be reaped.
inline bool ProcessEnded(pid_t pid) {
  const char s = ProcessState(pid);
  return s == '?' || s == 'Z';
}

}  // namespace llmrca::cli_test
