#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "referkit/status.hpp"

using referkit::Result;
using referkit::Status;
using referkit::StatusCode;

TEST_SUITE("status") {

TEST_CASE("a default Status is OK with an empty message") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == StatusCode::kOk);
  CHECK(s.message().empty());
  CHECK(s.to_string() == "ok");
}

TEST_CASE("a Status carries its code and message") {
  Status s(StatusCode::kBadSignature, "tag does not match");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == StatusCode::kBadSignature);
  CHECK(s.message() == "tag does not match");
  CHECK(s.to_string() == "bad_signature: tag does not match");

  Status no_message(StatusCode::kExpired, "");
  CHECK_FALSE(no_message.ok());
  CHECK(no_message.to_string() == "expired");

  // An explicit OK code is OK whatever the message says.
  Status ok_with_text(StatusCode::kOk, "fine");
  CHECK(ok_with_text.ok());
  CHECK(ok_with_text.to_string() == "ok: fine");
}

TEST_CASE("every status code has its stable lowercase name") {
  const std::vector<std::pair<StatusCode, const char*>> names = {
      {StatusCode::kOk, "ok"},
      {StatusCode::kInvalidArgument, "invalid_argument"},
      {StatusCode::kMalformed, "malformed"},
      {StatusCode::kBadSignature, "bad_signature"},
      {StatusCode::kUnknownKey, "unknown_key"},
      {StatusCode::kExpired, "expired"},
      {StatusCode::kNotFound, "not_found"},
      {StatusCode::kPermissionDenied, "permission_denied"},
      {StatusCode::kUnauthenticated, "unauthenticated"},
      {StatusCode::kResourceExhausted, "resource_exhausted"},
      {StatusCode::kUnavailable, "unavailable"},
      {StatusCode::kDeadlineExceeded, "deadline_exceeded"},
      {StatusCode::kFailedPrecondition, "failed_precondition"},
      {StatusCode::kDataLoss, "data_loss"},
      {StatusCode::kInternal, "internal"},
  };
  std::set<std::string> seen;
  for (const auto& [code, name] : names) {
    CAPTURE(name);
    CHECK(referkit::to_string(code) == name);
    seen.insert(std::string(referkit::to_string(code)));
    if (code != StatusCode::kOk) {
      CHECK(Status(code, "why").to_string() == std::string(name) + ": why");
    }
  }
  CHECK(seen.size() == names.size());  // no two codes share a name
  // The enum is dense from kOk to kInternal: the table above covers every value.
  CHECK(static_cast<int>(StatusCode::kInternal) + 1 == static_cast<int>(names.size()));
  // A value outside the enumerators (from a newer peer, say) does not crash.
  CHECK(referkit::to_string(static_cast<StatusCode>(999)) == "unknown");
}

TEST_CASE("Status equality compares code and message") {
  CHECK(Status() == Status());
  CHECK(Status(StatusCode::kMalformed, "x") == Status(StatusCode::kMalformed, "x"));
  CHECK(Status(StatusCode::kMalformed, "x") != Status(StatusCode::kMalformed, "y"));
  CHECK(Status(StatusCode::kMalformed, "x") != Status(StatusCode::kExpired, "x"));
  CHECK(Status() != Status(StatusCode::kInternal, ""));
}

TEST_CASE("a Result holding a value") {
  Result<int> r(42);
  CHECK(r.ok());
  CHECK(static_cast<bool>(r));
  CHECK(r.status().ok());
  CHECK(r.value() == 42);
  CHECK(*r == 42);
  r.value() = 7;
  CHECK(*r == 7);

  const Result<std::string> text(std::string("hello"));
  REQUIRE(text.ok());
  CHECK(text->size() == 5);
  CHECK(*text == "hello");
}

TEST_CASE("a Result holding a failure") {
  Result<int> r(Status(StatusCode::kNotFound, "no such key"));
  CHECK_FALSE(r.ok());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message() == "no such key");
}

TEST_CASE("a Result built from an OK status becomes kInternal") {
  Result<int> r{Status()};
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInternal);
  CHECK_FALSE(r.status().message().empty());

  Result<std::string> s{Status(StatusCode::kOk, "looks fine")};
  CHECK_FALSE(s.ok());
  CHECK(s.status().code() == StatusCode::kInternal);
}

TEST_CASE("a Result converts implicitly from a value or a Status") {
  auto make = [](bool good) -> Result<std::string> {
    if (good) return std::string("value");
    return Status(StatusCode::kInvalidArgument, "bad input");
  };
  Result<std::string> good = make(true);
  Result<std::string> bad = make(false);
  REQUIRE(good.ok());
  CHECK(*good == "value");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status() == Status(StatusCode::kInvalidArgument, "bad input"));
}

TEST_CASE("a Result can hold and hand over a move-only value") {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(5));
  REQUIRE(r.ok());
  CHECK(**r == 5);
  std::unique_ptr<int> taken = std::move(r).value();
  REQUIRE(taken != nullptr);
  CHECK(*taken == 5);

  Result<std::unique_ptr<int>> r2(std::make_unique<int>(9));
  std::unique_ptr<int> taken2 = *std::move(r2);
  REQUIRE(taken2 != nullptr);
  CHECK(*taken2 == 9);
}

}  // TEST_SUITE
