#include "referkit/status.hpp"

#include <fmt/format.h>

namespace referkit {
inline namespace v1 {

std::string_view to_string(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kMalformed: return "malformed";
    case StatusCode::kBadSignature: return "bad_signature";
    case StatusCode::kUnknownKey: return "unknown_key";
    case StatusCode::kExpired: return "expired";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kUnauthenticated: return "unauthenticated";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDeadlineExceeded: return "deadline_exceeded";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kDataLoss: return "data_loss";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (message_.empty()) return std::string(referkit::to_string(code_));
  return fmt::format("{}: {}", referkit::to_string(code_), message_);
}

}  // namespace v1
}  // namespace referkit
