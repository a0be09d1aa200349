#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/text.hpp"
#include "crypto/encoding.hpp"
#include "links/link_text.hpp"
#include "referkit/links.hpp"

namespace referkit {
inline namespace v1 {
namespace {

constexpr std::size_t kMaxKeyId = 16;
constexpr std::size_t kMaxKeyFileBytes = 1u << 20;  // thousands of keys
constexpr std::size_t kMinSecretBytes = 16;  // 128 bits
constexpr std::size_t kMaxSecretBytes = 64;

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxKeyId) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status Keyring::add(std::string id, std::string secret) {
  if (!valid_key_id(id)) {
    return Status(StatusCode::kInvalidArgument,
                  "key id must be 1-16 characters of [A-Za-z0-9._-], got \"" +
                      detail::printable_excerpt(id) + "\"");
  }
  if (find(id) != nullptr) {
    return Status(StatusCode::kInvalidArgument, "duplicate key id \"" + id + "\"");
  }
  if (secret.size() < kMinSecretBytes || secret.size() > kMaxSecretBytes) {
    return Status(StatusCode::kInvalidArgument,
                  "secret of key \"" + id + "\" must be 16-64 bytes (32-128 hex digits), got " +
                      std::to_string(secret.size()) + " bytes");
  }
  keys_.push_back(Key{std::move(id), std::move(secret)});
  return {};
}

Status Keyring::add_hex(std::string id, std::string_view hex_secret) {
  auto bytes = detail::hex_decode(hex_secret);
  if (!bytes) {
    return Status(StatusCode::kInvalidArgument,
                  "secret of key \"" + detail::printable_excerpt(id) +
                      "\" is not hex (an even number of 0-9a-f digits)");
  }
  return add(std::move(id), std::move(*bytes));
}

Status Keyring::set_primary(std::string_view id) {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].id == id) {
      std::rotate(keys_.begin(), keys_.begin() + static_cast<std::ptrdiff_t>(i),
                  keys_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return {};
    }
  }
  return Status(StatusCode::kNotFound, "no key with id \"" + detail::printable_excerpt(id) + "\"");
}

const Keyring::Key* Keyring::find(std::string_view id) const noexcept {
  for (const Key& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

Result<Keyring> Keyring::parse(std::string_view text) {
  Keyring ring;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    line = line.substr(0, line.find('#'));  // comments run to the end of the line
    while (!line.empty()) {
      std::size_t comma = line.find(',');
      std::string_view entry = detail::trim(line.substr(0, comma));
      line = comma == std::string_view::npos ? std::string_view{} : line.substr(comma + 1);
      if (entry.empty()) continue;
      std::size_t colon = entry.find(':');
      if (colon == std::string_view::npos) {
        return Status(StatusCode::kInvalidArgument,
                      "line " + std::to_string(line_no) + ": expected key_id:hex_secret");
      }
      Status s = ring.add_hex(std::string(detail::trim(entry.substr(0, colon))),
                              detail::trim(entry.substr(colon + 1)));
      if (!s.ok()) return Status(s.code(), "line " + std::to_string(line_no) + ": " + s.message());
    }
  }
  if (ring.empty()) return Status(StatusCode::kInvalidArgument, "no keys given");
  return ring;
}

Result<Keyring> Keyring::from_file(const std::string& path) {
  // A key file is a few lines: anything larger (or /dev/zero, a FIFO, a directory) is a wrong path,
  // refused before it is read into memory. O_NONBLOCK so that opening a FIFO does not wait.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status(StatusCode::kNotFound, "cannot open key file " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(StatusCode::kInvalidArgument, "key file " + path + " is not a regular file");
  }
  std::string content;
  char buf[4096];
  ssize_t n = 0;
  while (content.size() <= kMaxKeyFileBytes && ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))) {
    if (n > 0) content.append(buf, static_cast<std::size_t>(n));
  }
  const int read_errno = errno;
  ::close(fd);
  if (content.size() > kMaxKeyFileBytes) {
    return Status(StatusCode::kResourceExhausted,
                  "key file " + path + " is larger than " + std::to_string(kMaxKeyFileBytes) + " bytes");
  }
  if (n < 0) return Status(StatusCode::kInvalidArgument, "cannot read key file " + path + ": " + std::strerror(read_errno));
  auto ring = parse(content);
  if (!ring) return Status(ring.status().code(), path + ": " + ring.status().message());
  return ring;
}

Result<Keyring> Keyring::from_env(const char* variable) {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') {
    return Status(StatusCode::kNotFound, std::string(variable) + " is not set");
  }
  auto ring = parse(value);
  if (!ring) return Status(ring.status().code(), std::string(variable) + ": " + ring.status().message());
  return ring;
}

}  // namespace v1
}  // namespace referkit
