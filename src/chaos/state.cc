#include "chaos/state.h"

#include <fcntl.h>
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

#include "chaos/process.h"
#include "chaos/tc.h"

namespace llmrca::chaos {
namespace {

using Json = nlohmann::json;

Status WriteAll(const std::string& path, const std::vector<UndoAction>& actions) {
  const std::string tmp = path + ".tmp";
  {
    // 0600: a "start" action holds a service's environment, which may hold secrets.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Status::IoError(
          fmt::format("cannot write the chaos journal '{}': {}", tmp, std::strerror(errno)));
    }
    ::close(fd);
    std::ofstream out(tmp, std::ios::trunc);
    for (const UndoAction& a : actions) {
      Json j{{"id", a.id}, {"action", a.action}, {"pid", a.pid}, {"note", a.note},
             {"command", a.command}};
      if (!a.path.empty()) j["path"] = a.path;
      if (!a.content.empty()) j["content"] = a.content;
      if (!a.cwd.empty()) j["cwd"] = a.cwd;
      if (!a.env.empty()) j["env"] = a.env;
      out << j.dump() << "\n";
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

UndoAction MakeUndo(std::string id, std::string action, int pid, std::string note,
                    std::vector<std::string> command) {
  UndoAction a;
  a.id = std::move(id);
  a.action = std::move(action);
  a.pid = pid;
  a.note = std::move(note);
  a.command = std::move(command);
  return a;
}

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
    UndoAction a;
    a.id = j.value("id", "");
    a.action = j["action"].get<std::string>();
    a.pid = j["pid"].get<int>();
    a.note = j.value("note", "");
    a.path = j.value("path", "");
    a.content = j.value("content", "");
    a.cwd = j.value("cwd", "");
    for (const char* list : {"command", "env"}) {
      if (!j.contains(list) || !j[list].is_array()) continue;
      for (const Json& item : j[list]) {
        if (item.is_string()) (list[0] == 'c' ? a.command : a.env).push_back(item.get<std::string>());
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
    if (a.action == "write" && !a.path.empty()) {
      const Status w = WriteControlFile(a.path, a.content);
      done.push_back(w.ok() ? fmt::format("wrote {} to {} ({})", a.content, a.path, a.note)
                            : w.message());
      continue;
    }
    if (a.action == "start" && !a.command.empty()) {
      ProcessCommand c;
      c.argv = a.command;
      c.exe = a.path;
      c.cwd = a.cwd;
      c.env = a.env;
      const Result<pid_t> pid = StartDetached(c);
      done.push_back(pid.ok() ? fmt::format("started '{}' again as pid {} ({})",
                                            fmt::join(a.command, " "), *pid, a.note)
                              : pid.status().message());
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
