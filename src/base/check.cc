#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace llmrca::internal {

CheckFailure::CheckFailure(const char* file, int line, const char* condition) {
  stream_ << file << ":" << line << ": check failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  std::fprintf(stderr, "llmrca: internal error: %s\n", stream_.str().c_str());
  std::abort();
}

}  // namespace llmrca::internal
