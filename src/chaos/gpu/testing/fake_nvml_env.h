// Test support for the fake NVML (fake_nvml.cc): points llmrca's NVML client at it through the
// environment, gives it a fresh state file, and reads that file back, independently of the
// code under test, to see which power limits were set.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace llmrca::chaos::gpu::testing {

// The fake's path, from the build (CMake passes it as LLMRCA_FAKE_NVML_LIBRARY).
inline const char* FakeNvmlLibrary() { return LLMRCA_FAKE_NVML_LIBRARY; }

// What the fake's state file says: the limit in force per GPU and every set, in order.
struct FakeNvmlState {
  std::vector<std::pair<unsigned, unsigned>> limits;  // (index, milliwatts)
  std::vector<std::pair<unsigned, unsigned>> sets;    // (index, milliwatts), oldest first
};

// While alive: LLMRCA_NVML_LIBRARY names the fake and LLMRCA_FAKE_NVML_STATE a new, empty
// state file (so the fake starts from its default limits); the failure switches are cleared.
// Restores the environment and removes the file when destroyed. Not thread-safe (setenv).
class FakeNvmlEnv {
 public:
  FakeNvmlEnv() {
    char dir[] = "/tmp/llmrca-fake-nvml-XXXXXX";
    dir_ = ::mkdtemp(dir) != nullptr ? dir : "/tmp";
    state_path_ = dir_ + "/state";
    ::setenv("LLMRCA_NVML_LIBRARY", FakeNvmlLibrary(), 1);
    ::setenv("LLMRCA_FAKE_NVML_STATE", state_path_.c_str(), 1);
    for (const char* name : kSwitches) ::unsetenv(name);
  }
  ~FakeNvmlEnv() {
    ::unlink(state_path_.c_str());
    ::rmdir(dir_.c_str());
    ::unsetenv("LLMRCA_NVML_LIBRARY");
    ::unsetenv("LLMRCA_FAKE_NVML_STATE");
    for (const char* name : kSwitches) ::unsetenv(name);
  }
  FakeNvmlEnv(const FakeNvmlEnv&) = delete;
  FakeNvmlEnv& operator=(const FakeNvmlEnv&) = delete;

  const std::string& state_path() const { return state_path_; }

  // Writes a state file by hand, e.g. "limit 0 300000\n" to start GPU 0 at 300 W.
  void WriteState(const std::string& text) const { std::ofstream(state_path_) << text; }

  FakeNvmlState ReadState() const {
    FakeNvmlState state;
    std::ifstream in(state_path_);
    std::string kind;
    unsigned index = 0;
    unsigned mw = 0;
    while (in >> kind >> index >> mw) {
      (kind == "set" ? state.sets : state.limits).emplace_back(index, mw);
    }
    return state;
  }

 private:
  static constexpr const char* kSwitches[] = {
      "LLMRCA_FAKE_NVML_FAIL_SET", "LLMRCA_FAKE_NVML_FAIL_INIT", "LLMRCA_FAKE_NVML_IGNORE_SET"};
  std::string dir_;
  std::string state_path_;
};

}  // namespace llmrca::chaos::gpu::testing
