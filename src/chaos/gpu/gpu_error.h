// How the GPU fault parts report failure. They build on GPU hosts that have only the standard
// library, libdl and the CUDA toolkit, so they cannot use llmrca's Status; a GpuError carries
// the same things (a code and a message "gpu: <what failed>: <detail>") and a thin adapter in
// the main build converts it. GpuResult<T> is a T or a GpuError; GpuStatus is OK or a GpuError.
// All are plain values: thread-compatible.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace llmrca::chaos::gpu {

// Mirrors the llmrca StatusCode an adapter maps each to (kPermissionDenied has no StatusCode of
// its own; callers that care tell it apart here, e.g. to suggest sudo).
enum class GpuErrorCode {
  kInvalidArgument,   // a bad device index, wattage, duration or option
  kNotFound,          // no such device, or the NVML library / a symbol in it is missing
  kUnavailable,       // NVML or CUDA refused or failed (driver not loaded, GPU lost, busy)
  kPermissionDenied,  // NVML_ERROR_NO_PERMISSION: changing device state needs root
  kInternal,          // a bug in llmrca
};

struct GpuError {
  GpuErrorCode code = GpuErrorCode::kInternal;
  std::string message;  // "gpu: <what failed>: <detail with values>", lower case, no period
  int nvml_return = 0;  // NVML's nvmlReturn_t when NVML reported the failure, else 0
};

// OK, or a GpuError.
class [[nodiscard]] GpuStatus {
 public:
  GpuStatus() = default;                                   // OK
  GpuStatus(GpuError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  // The error; calling it on OK aborts (a bug, never user input).
  const GpuError& error() const {
    if (!error_) Die();
    return *error_;
  }
  // "OK", or the message.
  std::string ToString() const { return error_ ? error_->message : std::string("OK"); }

 private:
  [[noreturn]] static void Die() {
    std::fputs("gpu: internal error: error() called on an OK GpuStatus\n", stderr);
    std::abort();
  }
  std::optional<GpuError> error_;
};

// A T, or a GpuError. Accessing value() of an error aborts (a bug, never user input).
template <typename T>
class [[nodiscard]] GpuResult {
 public:
  GpuResult(T value) : data_(std::in_place_index<0>, std::move(value)) {}         // NOLINT
  GpuResult(GpuError error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return data_.index() == 0; }
  T& value() & { return *Get(); }
  const T& value() const& { return *Get(); }
  T&& value() && { return std::move(*Get()); }
  T* operator->() { return Get(); }
  const T* operator->() const { return Get(); }
  T& operator*() & { return *Get(); }
  const T& operator*() const& { return *Get(); }

  const GpuError& error() const {
    const GpuError* e = std::get_if<1>(&data_);
    if (e == nullptr) Die("error() called on a GpuResult holding a value");
    return *e;
  }
  // The error as a GpuStatus (OK when this holds a value).
  GpuStatus status() const { return ok() ? GpuStatus() : GpuStatus(error()); }

 private:
  T* Get() {
    T* v = std::get_if<0>(&data_);
    if (v == nullptr) DieOnValue();
    return v;
  }
  const T* Get() const {
    const T* v = std::get_if<0>(&data_);
    if (v == nullptr) DieOnValue();
    return v;
  }
  [[noreturn]] void DieOnValue() const {
    std::fprintf(stderr, "gpu: internal error: value() of an error result: %s\n",
                 std::get<1>(data_).message.c_str());
    std::abort();
  }
  [[noreturn]] static void Die(const char* what) {
    std::fprintf(stderr, "gpu: internal error: %s\n", what);
    std::abort();
  }
  std::variant<T, GpuError> data_;
};

}  // namespace llmrca::chaos::gpu
