#include "chaos/runner.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "chaos/state.h"

namespace llmrca::chaos {
namespace {

using Clock = std::chrono::steady_clock;

enum class Phase { kWaiting, kActive, kDone };

struct Slot {
  TimedFault* f = nullptr;
  Phase phase = Phase::kWaiting;
  std::string id;
  Clock::time_point ends;
};

Status Validate(const std::vector<TimedFault>& faults) {
  for (size_t i = 0; i < faults.size(); ++i) {
    if (!faults[i].fault) return Status::InvalidArgument(fmt::format("fault {} is empty", i + 1));
    if (!(faults[i].duration_s > 0)) {
      return Status::InvalidArgument(fmt::format("fault {} ({}): the duration must be > 0 s", i + 1,
                                                 faults[i].fault->record().type));
    }
    if (!(faults[i].start_s >= 0)) {
      return Status::InvalidArgument(fmt::format("fault {} ({}): the start offset must be >= 0 s",
                                                 i + 1, faults[i].fault->record().type));
    }
  }
  return Status::Ok();
}

}  // namespace

Status PlanFaults(const std::vector<TimedFault>& faults, const RunOptions& o) {
  LLMRCA_RETURN_IF_ERROR(Validate(faults));
  for (const TimedFault& t : faults) {
    if (o.log) {
      o.log(fmt::format("dry run: {} on {}, at +{:g} s for {:g} s:", t.fault->record().type,
                        t.fault->record().target, t.start_s, t.duration_s));
      for (const std::string& line : t.fault->Plan()) o.log("  " + line);
    }
    FaultRecord r = t.fault->record();
    r.outcome = "dry run: nothing injected";
    if (o.on_record) o.on_record(r);
  }
  return Status::Ok();
}

Status RunFaults(std::vector<TimedFault>& faults, const std::atomic<bool>& stop,
                 const RunOptions& o) {
  LLMRCA_RETURN_IF_ERROR(Validate(faults));
  Status first_error;
  const auto keep = [&](const Status& s) {
    if (first_error.ok() && !s.ok()) first_error = s;
  };
  const auto emit = [&](const FaultRecord& r) {
    if (o.on_record) o.on_record(r);
  };
  const auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  std::vector<Slot> slots;
  for (size_t i = 0; i < faults.size(); ++i) slots.push_back({&faults[i], Phase::kWaiting, {}, {}});
  // Faults start in offset order; ties keep the file's order.
  std::stable_sort(slots.begin(), slots.end(),
                   [](const Slot& a, const Slot& b) { return a.f->start_s < b.f->start_s; });

  const auto finish = [&](Slot& s, const std::string& outcome) {
    Fault& fault = *s.f->fault;
    const Status restored = fault.Restore();
    FaultRecord& r = fault.record();
    r.end = UnixSecondsNow();
    if (restored.ok()) {
      if (Status cleared = JournalRemove(o.journal, s.id); !cleared.ok()) {
        log(fmt::format("warning: {} was undone but its journal entry stays: {}", r.type,
                        cleared.message()));
      }
      r.outcome = outcome;
    } else {
      r.outcome = "failed: could not restore (run llmrca chaos recover): " + restored.message();
      keep(restored);
    }
    log(fmt::format("chaos {} on {}: {}", r.type, r.target, r.outcome));
    s.phase = Phase::kDone;
    emit(r);
  };

  const Clock::time_point t0 = Clock::now();
  const double unix0 = UnixSecondsNow();
  int seq = 0;
  for (;;) {
    const bool stopping = stop.load();
    const Clock::time_point now = Clock::now();
    bool pending = false;
    for (Slot& s : slots) {
      if (s.phase == Phase::kActive) {
        std::string trouble = stopping ? std::string() : s.f->fault->Poll();
        if (stopping) {
          finish(s, "stopped by signal");
        } else if (!trouble.empty()) {
          finish(s, "failed: " + trouble);
        } else if (now >= s.ends) {
          finish(s, "completed");
        }
      }
      if (s.phase == Phase::kWaiting && !stopping &&
          now >= t0 + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(s.f->start_s))) {
        Fault& fault = *s.f->fault;
        FaultRecord& r = fault.record();
        s.id = fmt::format("{}-{}-{:.6f}-{}", r.type, ::getpid(), unix0, seq++);
        r.start = UnixSecondsNow();
        const Status injected = fault.Inject(o.journal, s.id);
        if (!injected.ok()) {
          Status cleared = JournalRemove(o.journal, s.id);
          (void)cleared;  // Inject leaves nothing changed on error
          r.end = UnixSecondsNow();
          r.outcome = "failed: " + injected.message();
          log(fmt::format("chaos {} on {}: {}", r.type, r.target, r.outcome));
          keep(injected);
          s.phase = Phase::kDone;
          emit(r);
          continue;
        }
        s.phase = Phase::kActive;
        s.ends = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(s.f->duration_s));
        log(fmt::format("chaos {} on {} for {:g} s", r.type, r.target, s.f->duration_s));
      }
      if (s.phase != Phase::kDone) pending = true;
    }
    if (stopping) {
      for (Slot& s : slots) {
        if (s.phase != Phase::kWaiting) continue;
        FaultRecord r = s.f->fault->record();
        r.outcome = "not started: stopped by signal";
        s.phase = Phase::kDone;
        emit(r);
      }
      return first_error;
    }
    if (!pending) return first_error;
    std::this_thread::sleep_for(o.tick);
  }
}

}  // namespace llmrca::chaos
