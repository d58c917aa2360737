// TempDir: a fresh, uniquely named directory under the system temporary directory for tests that
// need real files; it is removed, with everything in it, when the object goes out of scope.
// The name joins the process id, a per-process counter and the running test's name, so tests run
// in parallel (ctest -j) never share one. Header-only, for test binaries; not thread-safe.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <gtest/gtest.h>

namespace llmrca::testutil {

class TempDir {
 public:
  TempDir() {
    static int counter = 0;  // test-only: distinguishes several TempDirs in one test
    std::string name =
        "llmrca_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
      name += std::string("_") + info->test_suite_name() + "_" + info->name();
    }
    path_ = std::filesystem::temp_directory_path() / name;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // a leftover from a crashed run with a reused pid
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `content` byte for byte to `relative` (creating parent directories); returns its path.
  std::filesystem::path WriteFile(const std::filesystem::path& relative,
                                  std::string_view content) const {
    const std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    EXPECT_TRUE(out.good()) << "cannot write " << file;
    return file;
  }

  // Creates the directory `relative` (and its parents); returns its path.
  std::filesystem::path MakeDir(const std::filesystem::path& relative) const {
    const std::filesystem::path dir = path_ / relative;
    std::filesystem::create_directories(dir);
    return dir;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace llmrca::testutil
