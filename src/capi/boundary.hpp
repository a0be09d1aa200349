// What every rk_* function does at the boundary: check (pointer, length) arguments, turn a
// referkit::Status into an rk_status plus the thread's last-error text, and keep any C++
// exception from crossing into C (an exception unwinding through a C or PHP frame is undefined).
#ifndef REFERKIT_SRC_CAPI_BOUNDARY_HPP
#define REFERKIT_SRC_CAPI_BOUNDARY_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "referkit/referkit.h"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit::capi {

// Records `message` as this thread's last error and returns `code`.
rk_status fail(rk_status code, std::string_view message);
rk_status fail(const Status& status);
// RK_OK for an OK status (the last error is left alone), else fail(status).
inline rk_status to_rk(const Status& status) { return status.ok() ? RK_OK : fail(status); }

// A (pointer, length) argument as a view: NULL with length 0 is "", NULL with a length is
// refused, and so is invalid UTF-8. `what` names the argument in the message.
rk_status text_arg(const char* ptr, std::size_t len, std::string_view what, std::string_view& out);

// The NULL-handle refusal, naming the function's handle argument.
rk_status null_handle(std::string_view what);

// The int a caller passed for a C enum parameter. C allows any int there, but in C++ loading a
// value outside the enumerators' range is undefined (UBSan: "not a valid value for type"), so
// the value is read as bytes and checked as an int.
template <typename Enum>
int enum_arg(const Enum& e) noexcept {
  static_assert(sizeof(Enum) == sizeof(int), "the C enums are int-sized");
  int v = 0;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

// 0 means now; anything else is Unix milliseconds.
inline TimePoint time_arg(std::int64_t ms) {
  return ms == 0 ? now_ms() : TimePoint(std::chrono::milliseconds(ms));
}
inline std::int64_t unix_ms(TimePoint t) { return static_cast<std::int64_t>(t.time_since_epoch().count()); }

// Runs body() and converts any exception into a status, so that no exception leaves an rk_*
// function. Every extern "C" function that can fail goes through it.
template <typename Body>
rk_status guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(RK_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::exception& e) {
    return fail(RK_INTERNAL, std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return fail(RK_INTERNAL, "unexpected exception");
  }
}

}  // namespace referkit::capi

#endif  // REFERKIT_SRC_CAPI_BOUNDARY_HPP
