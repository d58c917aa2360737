#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace llmrca {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kAlreadyExists: return "already exists";
    case StatusCode::kIoError: return "io error";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDataError: return "data error";
    case StatusCode::kDeadlineExceeded: return "deadline exceeded";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

Status Status::WithPrefix(std::string_view prefix) const {
  if (ok()) return *this;
  std::string msg(prefix);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

namespace internal {

void DieOnBadResultAccess(const Status& status) {
  std::fprintf(stderr, "llmrca: internal error: value() of a failed Result: %s\n",
               status.message().c_str());
  std::abort();
}

void DieOnOkStatusInResult() {
  std::fprintf(stderr, "llmrca: internal error: Result constructed from an OK Status\n");
  std::abort();
}

const Status& OkStatus() {
  static const Status ok;  // trivially-constructed: no static-init-order concern
  return ok;
}

}  // namespace internal
}  // namespace llmrca
