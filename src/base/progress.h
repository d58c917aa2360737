// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and CI output
// stay clean). Thread-safe: Advance() may be called from worker threads.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

namespace llmrca {

class ProgressBar {
 public:
  // `enabled` false (or stderr not a terminal) makes every call a no-op.
  ProgressBar(std::string label, size_t total, bool enabled);
  ~ProgressBar();  // ends the line if anything was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Advance(size_t steps = 1);

 private:
  void Draw();

  std::mutex mu_;
  std::string label_;
  size_t total_;
  size_t done_ = 0;
  bool active_;
  bool drawn_ = false;
};

}  // namespace llmrca
