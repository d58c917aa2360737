// Network faults through the kernel's traffic control (tc): netem (delay, jitter, correlation,
// loss, duplicate, corrupt) where the kernel has it, tbf (a rate limit) everywhere tbf exists.
// Only the interface named, in the network namespace named; the fault replaces the interface's
// root qdisc and is undone by deleting it, which brings back the kernel's default (as chaosd
// restores the default, reference/chaos-and-telemetry.md 1.9). An interface whose root qdisc
// is not a default one is refused rather than overwritten. A kernel without the qdisc gives an
// error naming it and the alternative (`llmrca chaos proxy`), never a silent no-op.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace llmrca::chaos {

struct TcFault {
  std::string dev;    // the interface (required)
  std::string netns;  // a named network namespace (ip netns), empty: this one
  // netem (any non-zero field selects netem)
  double delay_ms = 0;
  double jitter_ms = 0;
  double correlation_pct = 0;
  double loss_pct = 0;
  double duplicate_pct = 0;
  double corrupt_pct = 0;
  // tbf (used when no netem field is set)
  std::string rate;             // e.g. "1mbit"
  std::string burst = "32kbit";
  double latency_ms = 50;       // tbf's queueing limit
  // Ingress: traffic arriving on `dev` is redirected (mirred) to an ifb device created for the
  // fault, and the qdisc goes on the ifb's egress, the only place Linux queues arriving
  // packets. `ifb` names that device (at most 15 characters; created and deleted by the fault).
  bool ingress = false;
  std::string ifb;
};

bool UsesNetem(const TcFault& f);
// kInvalidArgument: no interface, no effect, negative values, percentages above 100.
Status ValidateTcFault(const TcFault& f);
// The exact commands (argv each) that apply and undo the fault, in order, for --dry-run and
// the journal. Egress: one each. Ingress: create and raise the ifb, add the ingress qdisc and
// the redirecting filter, shape the ifb; undone by deleting the ingress qdisc and the ifb.
using Command = std::vector<std::string>;
std::vector<Command> TcApplyCommands(const TcFault& f);
std::vector<Command> TcRemoveCommands(const TcFault& f);
Command TcShowCommand(const TcFault& f);

// Runs argv, waits up to 10 s; returns its stdout, or its stderr as the error (kUnavailable).
Result<std::string> RunCommand(const std::vector<std::string>& argv);

// Checks the interface's root qdisc is a default one (ingress: that it has no ingress qdisc),
// then applies the fault; a step that fails undoes the steps before it. Errors name the
// missing qdisc ("this kernel has no netem qdisc") and the alternative.
Status ApplyTcFault(const TcFault& f);
Status RemoveTcFault(const TcFault& f);

}  // namespace llmrca::chaos
