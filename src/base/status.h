// Status and Result<T>: how every llmrca function reports failure (no exceptions cross our API).
// A Status is a code plus a message in the form "<area>: <what failed>: <detail>"; OK carries no
// message and costs one enum. Result<T> holds either a value or a non-OK Status.
// Both are plain values: thread-compatible (const use from many threads is safe).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace llmrca {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad parameter, flag or value given by the caller
  kNotFound,          // a file, column, method or key that does not exist
  kAlreadyExists,     // a duplicate name in a registry
  kIoError,           // reading or writing a file failed
  kUnavailable,       // a network peer could not be reached
  kDataError,         // malformed data, too few samples, constant series, singular matrix
  kDeadlineExceeded,  // a deadline passed before the work finished
  kInternal,          // a bug in llmrca
};

// Returns the lower-case name of a code ("invalid argument", "data error", ...).
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status DataError(std::string msg) { return {StatusCode::kDataError, std::move(msg)}; }
  static Status DeadlineExceeded(std::string msg) { return {StatusCode::kDeadlineExceeded, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsDataError() const { return code_ == StatusCode::kDataError; }
  bool IsIoError() const { return code_ == StatusCode::kIoError; }

  // "OK", or the message alone (it already names the area); used for one-line CLI errors.
  std::string ToString() const { return ok() ? std::string("OK") : message_; }

  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithPrefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or a non-OK Status. Accessing value() of an error aborts (a bug, never user input).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status);                        // NOLINT(google-explicit-constructor)

  bool ok() const { return data_.index() == 0; }
  const Status& status() const;

  T& value() &;
  const T& value() const&;
  T&& value() &&;
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // The value, or `fallback` for an error (where a failed read has a natural default).
  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<0>(data_) : static_cast<T>(std::forward<U>(fallback));
  }
  template <typename U>
  T value_or(U&& fallback) && {
    return ok() ? std::get<0>(std::move(data_)) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Status> data_;
};

namespace internal {
[[noreturn]] void DieOnBadResultAccess(const Status& status);
[[noreturn]] void DieOnOkStatusInResult();
const Status& OkStatus();
}  // namespace internal

template <typename T>
Result<T>::Result(Status status) : data_(std::move(status)) {
  if (std::get<1>(data_).ok()) internal::DieOnOkStatusInResult();
}

template <typename T>
const Status& Result<T>::status() const {
  return ok() ? internal::OkStatus() : std::get<1>(data_);
}

template <typename T>
T& Result<T>::value() & {
  if (!ok()) internal::DieOnBadResultAccess(std::get<1>(data_));
  return std::get<0>(data_);
}

template <typename T>
const T& Result<T>::value() const& {
  if (!ok()) internal::DieOnBadResultAccess(std::get<1>(data_));
  return std::get<0>(data_);
}

template <typename T>
T&& Result<T>::value() && {
  if (!ok()) internal::DieOnBadResultAccess(std::get<1>(data_));
  return std::get<0>(std::move(data_));
}

}  // namespace llmrca

#define LLMRCA_STATUS_CONCAT_INNER_(a, b) a##b
#define LLMRCA_STATUS_CONCAT_(a, b) LLMRCA_STATUS_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` (a Status) is not OK.
#define LLMRCA_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::llmrca::Status llmrca_status_ = (expr);         \
    if (!llmrca_status_.ok()) return llmrca_status_;  \
  } while (false)

// `lhs = value of expr` (a Result<T>), or returns its Status from the current function.
#define LLMRCA_ASSIGN_OR_RETURN(lhs, expr) \
  LLMRCA_ASSIGN_OR_RETURN_IMPL_(LLMRCA_STATUS_CONCAT_(llmrca_result_, __LINE__), lhs, expr)
#define LLMRCA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
