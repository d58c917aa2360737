#include "chaos/state.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "chaos/tc.h"

namespace llmrca::chaos {
namespace {

using Json = nlohmann::json;

Status WriteAll(const std::string& path, const std::vector<UndoAction>& actions) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const UndoAction& a : actions) {
      out << Json{{"id", a.id}, {"action", a.action}, {"pid", a.pid}, {"note", a.note},
                  {"command", a.command}}
                 .dump()
          << "\n";
    }
    if (!out) return Status::IoError(fmt::format("cannot write the chaos journal '{}'", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IoError(fmt::format("cannot replace the chaos journal '{}': {}", path,
                                       std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace

std::string DefaultStatePath() {
  if (const char* p = std::getenv("LLMRCA_CHAOS_STATE"); p != nullptr && *p != '\0') return p;
  return fmt::format("/tmp/llmrca-chaos-{}.state", ::getuid());
}

Result<std::vector<UndoAction>> JournalRead(const std::string& path) {
  std::vector<UndoAction> out;
  std::ifstream in(path);
  if (!in) return out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("action") || !j.contains("pid") ||
        !j["pid"].is_number_integer()) {
      return Status::DataError(fmt::format("{}:{}: not a chaos journal entry", path, n));
    }
    UndoAction a{j.value("id", ""), j["action"].get<std::string>(), j["pid"].get<int>(),
                  j.value("note", ""), {}};
    if (j.contains("command") && j["command"].is_array()) {
      for (const Json& arg : j["command"]) {
        if (arg.is_string()) a.command.push_back(arg.get<std::string>());
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

Status JournalAdd(const std::string& path, const UndoAction& action) {
  LLMRCA_ASSIGN_OR_RETURN(std::vector<UndoAction> all, JournalRead(path));
  all.push_back(action);
  return WriteAll(path, all);
}

Status JournalRemove(const std::string& path, const std::string& id) {
  LLMRCA_ASSIGN_OR_RETURN(std::vector<UndoAction> all, JournalRead(path));
  std::vector<UndoAction> keep;
  for (UndoAction& a : all) {
    if (a.id != id) keep.push_back(std::move(a));
  }
  if (keep.empty()) {
    std::remove(path.c_str());
    return Status::Ok();
  }
  return WriteAll(path, keep);
}

Result<std::vector<std::string>> Recover(const std::string& path) {
  LLMRCA_ASSIGN_OR_RETURN(std::vector<UndoAction> all, JournalRead(path));
  std::vector<std::string> done;
  for (const UndoAction& a : all) {
    if (a.action == "run" && !a.command.empty()) {
      Result<std::string> r = RunCommand(a.command);
      done.push_back(r.ok() ? fmt::format("ran '{}' ({})", fmt::join(a.command, " "), a.note)
                            : r.status().message());
      continue;
    }
    int sig = 0;
    if (a.action == "continue") sig = SIGCONT;
    if (a.action == "kill") sig = SIGKILL;
    if (sig == 0 || a.pid <= 0) {
      done.push_back(fmt::format("skipped unknown action '{}' for pid {}", a.action, a.pid));
      continue;
    }
    if (::kill(a.pid, sig) == 0) {
      done.push_back(fmt::format("{} pid {} ({})", a.action == "continue" ? "resumed" : "killed",
                                 a.pid, a.note));
    } else {
      done.push_back(fmt::format("pid {} ({}): {}", a.pid, a.note, std::strerror(errno)));
    }
  }
  std::remove(path.c_str());
  return done;
}

}  // namespace llmrca::chaos
