// One fault as the injector runs it, whatever its kind: it describes itself (the record's type,
// target and params), says exactly what it would do (--dry-run), injects, reports trouble while
// active, and restores. The runner (chaos/runner.h) owns the timing, the signals and the
// journal's life cycle, so every kind is bounded and undone the same way, alone or in a
// schedule of several.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "chaos/fault_record.h"

namespace llmrca::chaos {

class Fault {
 public:
  explicit Fault(FaultRecord description) : record_(std::move(description)) {}
  virtual ~Fault() = default;
  Fault(const Fault&) = delete;
  Fault& operator=(const Fault&) = delete;

  // Type, target and params; the runner sets start, end and outcome.
  FaultRecord& record() { return record_; }
  const FaultRecord& record() const { return record_; }

  // The actions Inject and Restore would take, one line each, for --dry-run.
  virtual std::vector<std::string> Plan() const = 0;

  // Makes the change. What must be undone should this process die (a paused process, a qdisc,
  // a stressor, a frozen cgroup) is written to the journal under `id` before it is changed.
  // On error nothing is left changed.
  virtual Status Inject(const std::string& journal, const std::string& id) = 0;

  // About every 20 ms while active: empty, or why the fault ended before its time.
  virtual std::string Poll() { return {}; }

  // Undoes the change; called once after a successful Inject. Measured figures go into
  // record().params.
  virtual Status Restore() = 0;

 protected:
  FaultRecord record_;
};

}  // namespace llmrca::chaos
