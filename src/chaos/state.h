// The injector's journal of what it must undo (reference/chaos-and-telemetry.md 1.9: a
// duration and a journal for recovery). Each fault that changes something outside its own
// process appends the undo before it acts and removes it after restoring; after a crash or
// SIGKILL, `llmrca chaos recover` performs whatever is left. Stressor processes also die with
// the injector (parent-death signal); the journal is the second line of defence.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace llmrca::chaos {

struct UndoAction {
  std::string id;      // unique per fault run
  std::string action;  // "continue" (SIGCONT a paused pid), "kill" (SIGKILL a stressor pid),
                       // "run" (run `command`, e.g. tc qdisc del), "write" (write `content`
                       // to the file `path`, e.g. THAWED to a freezer cgroup), "start" (start
                       // `command` again, detached, in `cwd` with `env`: a killed service)
  int pid = 0;
  std::string note;    // what it belongs to, for the user
  std::vector<std::string> command;
  std::string path;
  std::string content;
  std::string cwd;
  std::vector<std::string> env;  // NAME=value; the journal file is created mode 0600
};

// An action with the common fields; the rest are set by the caller when its kind needs them.
UndoAction MakeUndo(std::string id, std::string action, int pid, std::string note,
                    std::vector<std::string> command = {});

// The default journal: $LLMRCA_CHAOS_STATE, else /tmp/llmrca-chaos-<uid>.state.
std::string DefaultStatePath();

// Appends one action (one JSON object per line). kIoError when the file cannot be written: the
// fault must then not start.
Status JournalAdd(const std::string& path, const UndoAction& action);
// Removes the actions of fault `id`.
Status JournalRemove(const std::string& path, const std::string& id);
// Every action in the journal; empty when the file does not exist. kDataError names a bad line.
Result<std::vector<UndoAction>> JournalRead(const std::string& path);

// Performs every action left in the journal and empties it; returns one line per action done.
// A pid that no longer exists is reported, not an error.
Result<std::vector<std::string>> Recover(const std::string& path);

}  // namespace llmrca::chaos
