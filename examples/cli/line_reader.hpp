// Lines from a file descriptor with a bounded buffer, for `referkit track`: a line longer than the
// cap is skipped to its end without being kept (a 200 MB line costs no memory), read errors are
// reported instead of looking like the end of the input, and a stop request (a byte on a pipe,
// written by the SIGINT/SIGTERM handler) ends the reading at once even when the input is a pipe
// or a terminal that stays open.
#ifndef REFERKIT_EXAMPLES_CLI_LINE_READER_HPP
#define REFERKIT_EXAMPLES_CLI_LINE_READER_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace referkit::cli {

class LineReader {
 public:
  enum class Next {
    kLine,     // `line` holds the next line, without its "\n"
    kTooLong,  // the line was longer than max_line; its bytes were skipped, `line` is empty
    kEnd,      // end of input
    kStopped,  // stop_fd became readable
    kError,    // read(2) failed: error() has errno
  };

  // Does not own the descriptors; stop_fd may be -1 (never stopped).
  LineReader(int fd, int stop_fd, std::size_t max_line);

  Next next(std::string& line);
  // The number of the line last returned (1-based), counting skipped and empty ones.
  std::uint64_t line_number() const { return line_number_; }
  int error() const { return error_; }

 private:
  // Refills buf_ (from begin_); false at end of input, on error or on a stop request (next_ set).
  bool fill();

  int fd_;
  int stop_fd_;
  std::size_t max_line_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;  // unread bytes are buf_[begin_, end_)
  std::uint64_t line_number_ = 0;
  int error_ = 0;
  Next stop_reason_ = Next::kEnd;
};

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_LINE_READER_HPP
