// The one logger: lines to stderr as "llmrca: <level>: <message>", filtered by a level that the
// CLI sets once at start-up. Thread-safe (one write per line). Tests assert on values, never on
// log text.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace llmrca {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < GetLogLevel()) return;
  LogLine(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace llmrca
