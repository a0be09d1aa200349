// HTTP Basic credentials as Segment-compatible clients send them: the write key is the user name
// and the password is empty (or ignored), `Authorization: Basic base64(writeKey + ":")`.
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_BASIC_AUTH_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_BASIC_AUTH_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace referkit::http {

// The user name from an Authorization header value, or nullopt when it is not well-formed Basic
// credentials (other scheme, bad base64, no colon).
std::optional<std::string> basic_auth_user(std::string_view authorization);

// Accepts the configured write keys. Comparisons take the same time whatever the key's content,
// so response timing does not reveal how much of a guess was right.
class WriteKeys {
 public:
  explicit WriteKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  bool accepts(std::string_view key) const;

 private:
  std::vector<std::string> keys_;
};

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_BASIC_AUTH_HPP
