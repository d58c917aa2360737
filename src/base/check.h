// LLMRCA_CHECK: an always-on invariant check that aborts with file and line. Use it only for
// programming errors; anything a user, a file or the network can trigger returns a Status.
#pragma once

#include <sstream>

namespace llmrca::internal {

// Collects the streamed message and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace llmrca::internal

#define LLMRCA_CHECK(cond) \
  if (cond) {              \
  } else                   \
    ::llmrca::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()

#ifdef NDEBUG
#define LLMRCA_DCHECK(cond) \
  if (true) {               \
  } else                    \
    ::llmrca::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()
#else
#define LLMRCA_DCHECK(cond) LLMRCA_CHECK(cond)
#endif
