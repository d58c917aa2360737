#include "base/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace llmrca {

ProgressBar::ProgressBar(std::string label, size_t total, bool enabled)
    : label_(std::move(label)), total_(total), active_(enabled && ::isatty(STDERR_FILENO) == 1) {
  if (active_) Draw();
}

ProgressBar::~ProgressBar() {
  if (active_ && drawn_) std::fputs("\n", stderr);
}

void ProgressBar::Advance(size_t steps) {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(mu_);
  done_ += steps;
  Draw();
}

void ProgressBar::Draw() {
  constexpr size_t kWidth = 30;
  const size_t filled = total_ == 0 ? kWidth : done_ * kWidth / total_;
  std::string bar(filled, '=');
  bar.resize(kWidth, ' ');
  std::string line = fmt::format("\r{} [{}] {}/{}", label_, bar, done_, total_);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace llmrca
