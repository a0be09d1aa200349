#include "line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace referkit::cli {

LineReader::LineReader(int fd, int stop_fd, std::size_t max_line)
    // Room for one whole line of the largest accepted size plus the next read.
    : fd_(fd), stop_fd_(stop_fd), max_line_(max_line), buf_(max_line + 65536) {}

bool LineReader::fill() {
  if (begin_ > 0) {  // keep the partial line at the front, so the buffer never grows
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    if (stop_fd_ >= 0) {
      pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, -1);
      if (n < 0 && errno != EINTR) {
        error_ = errno;
        stop_reason_ = Next::kError;
        return false;
      }
      if (n < 0 || (fds[0].revents & POLLIN) != 0) {
        // EINTR: a signal arrived; its handler has written to the stop pipe (or it was another one).
        if (n > 0 || ::poll(fds, 1, 0) > 0) {
          stop_reason_ = Next::kStopped;
          return false;
        }
        continue;
      }
    }
    const ssize_t got = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      error_ = errno;
      stop_reason_ = Next::kError;
      return false;
    }
    if (got == 0) {
      stop_reason_ = Next::kEnd;
      return false;
    }
    end_ += static_cast<std::size_t>(got);
    return true;
  }
}

LineReader::Next LineReader::next(std::string& line) {
  line.clear();
  bool skipping = false;  // the line is over the cap: drop its bytes until its "\n"
  std::size_t scanned = begin_;
  for (;;) {
    const char* nl = static_cast<const char*>(std::memchr(buf_.data() + scanned, '\n', end_ - scanned));
    if (nl != nullptr) {
      const std::size_t stop = static_cast<std::size_t>(nl - buf_.data());
      const bool too_long = skipping || stop - begin_ > max_line_;
      if (!too_long) line.assign(buf_.data() + begin_, stop - begin_);
      begin_ = stop + 1;
      ++line_number_;
      return too_long ? Next::kTooLong : Next::kLine;
    }
    if (end_ - begin_ > max_line_) {  // no "\n" within the cap: forget what is buffered
      skipping = true;
      begin_ = end_ = 0;
    }
    scanned = end_ - begin_;  // fill() moves the unread bytes to the front
    if (!fill()) {
      if (stop_reason_ != Next::kEnd) return stop_reason_;
      if (skipping || end_ > begin_) {  // a last line without "\n"
        const bool too_long = skipping || end_ - begin_ > max_line_;
        if (!too_long) line.assign(buf_.data() + begin_, end_ - begin_);
        begin_ = end_ = 0;
        ++line_number_;
        return too_long ? Next::kTooLong : Next::kLine;
      }
      return Next::kEnd;
    }
  }
}

}  // namespace referkit::cli
