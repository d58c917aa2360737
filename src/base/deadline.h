// Deadline: an optional point in time after which long computations should stop cleanly with
// kDeadlineExceeded. Copyable; checking it reads the steady clock.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "base/status.h"

namespace llmrca {

struct Deadline {
  std::optional<std::chrono::steady_clock::time_point> at;

  static Deadline In(std::chrono::duration<double> d) {
    return Deadline{std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(d)};
  }
  bool Expired() const { return at && std::chrono::steady_clock::now() >= *at; }
  // OK, or kDeadlineExceeded "<what>: time limit reached" when expired.
  Status Check(std::string_view what) const {
    if (!Expired()) return Status::Ok();
    return Status::DeadlineExceeded(std::string(what) + ": time limit reached");
  }
};

}  // namespace llmrca
