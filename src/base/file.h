// Whole-file reads: metric CSVs, case files, and the small /proc, /sys and cgroup files that the
// chaos code reads (their stat size is 0, so the read goes on until end of file, not to a size).
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"

namespace llmrca {

// Reads a whole file into a string, byte for byte; kIoError naming the path and the OS error
// (a directory is an error too). Thread-safe.
Result<std::string> ReadFileToString(const std::filesystem::path& path);

}  // namespace llmrca
