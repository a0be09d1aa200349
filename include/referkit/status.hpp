// Errors as values: no referkit function throws across the API. A call that can fail returns a
// Status, or a Result<T> that holds either a T or the Status that explains why there is none.
// Both are [[nodiscard]]: an unchecked error is how an event or a link goes missing silently.
#ifndef REFERKIT_STATUS_HPP
#define REFERKIT_STATUS_HPP

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "referkit/export.hpp"

namespace referkit {
inline namespace v1 {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something unusable; fix the call, do not retry
  kMalformed,           // input (a link, code, header, file) is not in the expected format
  kBadSignature,        // well-formed, but its authentication tag does not match
  kUnknownKey,          // signed with a key id the keyring does not hold
  kExpired,             // authentic, but past its expiry or outside the tolerance window
  kNotFound,            // a named file, key or entry does not exist
  kPermissionDenied,    // the OS or the server refused access
  kUnauthenticated,     // the server rejected the credentials (401/403)
  kResourceExhausted,   // a bound was reached: queue, spool, size limit
  kUnavailable,         // transient: the endpoint is down or overloaded; retrying may succeed
  kDeadlineExceeded,    // a timeout elapsed before the operation completed
  kFailedPrecondition,  // the object is in the wrong state (for example already shut down)
  kDataLoss,            // events were dropped or refused by the server; stats() has the counts
  kInternal,            // a bug or an unexpected failure of a dependency (keep it last)
};

// The stable lowercase name of a code ("bad_signature"), as printed by the CLI.
[[nodiscard]] REFERKIT_EXPORT std::string_view to_string(StatusCode code) noexcept;

// Thread safety: a plain value, like std::string: const methods may be called from any number of
// threads at once; modifying one while another thread reads it needs the caller's own locking.
// REFERKIT_EXPORT is on the one out-of-line member rather than the class: GCC does not accept a
// GNU visibility attribute next to [[nodiscard]] in a class head (the shared build broke on it).
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] bool ok() const noexcept { return code_ == StatusCode::kOk; }
  [[nodiscard]] StatusCode code() const noexcept { return code_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  // "bad_signature: tag does not match" (or "ok").
  [[nodiscard]] REFERKIT_EXPORT std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }
  friend bool operator!=(const Status& a, const Status& b) { return !(a == b); }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or the non-OK Status explaining its absence. Accessing the value of a failed
// Result is a programming error and aborts (the library is built to be usable without exceptions).
// Thread safety: a plain value, like std::optional<T>: const methods may be called from any number
// of threads at once (as far as T allows); modifying one while another thread reads it does not.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design, like StatusOr
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status(StatusCode::kInternal, "Result built from an OK status");
  }

  [[nodiscard]] bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const Status& status() const noexcept { return status_; }

  T& value() & { check(); return *value_; }
  const T& value() const& { check(); return *value_; }
  T&& value() && { check(); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check() const {
    if (!value_) std::abort();
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_STATUS_HPP
