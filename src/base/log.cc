#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <string>

namespace llmrca {
namespace {

// A plain atomic with constant initialisation: no static-init-order concern.
std::atomic<int> g_level{static_cast<int>(LogLevel::kWarning)};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

void LogLine(LogLevel level, std::string_view message) {
  if (level < GetLogLevel()) return;
  std::string line = "llmrca: ";
  line += LevelName(level);
  line += ": ";
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace llmrca
