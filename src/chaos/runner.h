// Runs faults on a timeline: one fault for `llmrca chaos <kind>`, several with start offsets for
// `llmrca chaos schedule`. Everything happens on the calling thread, in time order, so two
// faults never race on the journal. Each fault is injected at its offset and restored when its
// duration ends, when it reports a failure, or when `stop` is set (SIGINT/SIGTERM); its journal
// entries are removed only after a successful restore, so `llmrca chaos recover` can finish
// whatever a crash left. Each record is handed out as its fault ends: nothing is lost when a
// later fault fails.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "chaos/fault.h"

namespace llmrca::chaos {

struct TimedFault {
  std::unique_ptr<Fault> fault;
  double start_s = 0;     // offset from the run's start
  double duration_s = 0;  // > 0
};

struct RunOptions {
  std::string journal;  // the undo journal (chaos/state.h)
  // Each fault's record when it ends, in the order they end; faults never started because of
  // `stop` come last, with outcome "not started: stopped by signal".
  std::function<void(const FaultRecord&)> on_record;
  std::function<void(const std::string&)> log;  // one progress line at a time
  std::chrono::milliseconds tick{20};
};

// kInvalidArgument for a duration <= 0 or a negative offset (before anything runs). Otherwise
// runs them all and returns the first error of an Inject or a Restore; the other faults still
// run and every record is still handed out (outcome "failed: ..." for the ones that failed).
Status RunFaults(std::vector<TimedFault>& faults, const std::atomic<bool>& stop,
                 const RunOptions& options);

// --dry-run: logs each fault's plan with its offset and hands out its record with outcome
// "dry run: nothing injected"; changes nothing.
Status PlanFaults(const std::vector<TimedFault>& faults, const RunOptions& options);

}  // namespace llmrca::chaos
