// The error side of the boundary, the version queries and the shared string release.
#include "capi/boundary.hpp"

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "common/utf8.hpp"
#include "referkit/version.hpp"

namespace referkit::capi {
namespace {

// The codes are the C++ ones, in the same order: a cast converts them (held here at compile time).
static_assert(static_cast<int>(StatusCode::kInvalidArgument) == RK_INVALID_ARGUMENT);
static_assert(static_cast<int>(StatusCode::kMalformed) == RK_MALFORMED);
static_assert(static_cast<int>(StatusCode::kExpired) == RK_EXPIRED);
static_assert(static_cast<int>(StatusCode::kResourceExhausted) == RK_RESOURCE_EXHAUSTED);
static_assert(static_cast<int>(StatusCode::kFailedPrecondition) == RK_FAILED_PRECONDITION);
static_assert(static_cast<int>(StatusCode::kInternal) == RK_INTERNAL);

// Thread-local, so that concurrent callers never see each other's errors, and read right after
// the failing call (what every binding does) with no allocation handed across the boundary.
thread_local std::string last_error;

}  // namespace

rk_status fail(rk_status code, std::string_view message) {
  try {
    last_error.assign(message);
  } catch (...) {
    last_error.clear();  // out of memory: the code alone still says what happened
  }
  return code;
}

rk_status fail(const Status& status) {
  return fail(static_cast<rk_status>(static_cast<int>(status.code())), status.message());
}

rk_status text_arg(const char* ptr, std::size_t len, std::string_view what, std::string_view& out) {
  if (ptr == nullptr) {
    if (len != 0) {
      return fail(RK_INVALID_ARGUMENT,
                  std::string(what) + ": NULL pointer with length " + std::to_string(len));
    }
    out = std::string_view();
    return RK_OK;
  }
  out = std::string_view(ptr, len);
  if (!detail::is_valid_utf8(out)) return fail(RK_INVALID_ARGUMENT, std::string(what) + ": not valid UTF-8");
  return RK_OK;
}

rk_status null_handle(std::string_view what) {
  return fail(RK_INVALID_ARGUMENT, std::string(what) + " is NULL");
}

}  // namespace referkit::capi

using referkit::capi::guarded;

extern "C" {

const char* rk_status_name(rk_status status) {
  const int code = referkit::capi::enum_arg(status);
  if (code < RK_OK || code > RK_INTERNAL) return "unknown";
  // to_string() returns views of string literals, so data() is NUL-terminated and static.
  return referkit::to_string(static_cast<referkit::StatusCode>(code)).data();
}

const char* rk_last_error_message(size_t* len) {
  const std::string& text = referkit::capi::last_error;
  if (len != nullptr) *len = text.size();
  return text.c_str();
}

const char* rk_version(void) { return REFERKIT_VERSION_STRING; }

uint32_t rk_abi_version(void) { return RK_ABI_VERSION; }

void rk_string_free(char* s) { std::free(s); }

}  // extern "C"
