// A file descriptor with one owner, closed when the owner goes away.
#ifndef REFERKIT_SRC_SPOOL_UNIQUE_FD_HPP
#define REFERKIT_SRC_SPOOL_UNIQUE_FD_HPP

#include <unistd.h>

#include <utility>

namespace referkit::detail {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_UNIQUE_FD_HPP
