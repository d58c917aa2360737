// A fixed-size thread pool and ParallelFor over an index range. Work items must not depend on
// which thread runs them: results are written to per-index slots, so the outcome does not depend
// on the thread count. Submit() and Wait() may be called from one owner thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llmrca {

class ThreadPool {
 public:
  // Starts `threads` workers (at least 1).
  explicit ThreadPool(size_t threads);
  // Finishes queued work, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  // Blocks until every submitted task has finished.
  void Wait();
  size_t size() const { return workers_.size(); }

 private:
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable all_done_;
  std::deque<std::function<void()>> queue_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Calls fn(i) for i in [0, n) on up to `threads` threads (the caller's thread when threads <= 1),
// handing out indices in order. fn must be safe to call concurrently for different i.
void ParallelFor(size_t n, size_t threads, const std::function<void(size_t)>& fn);

// Number of hardware threads, at least 1.
size_t HardwareThreads();

}  // namespace llmrca
