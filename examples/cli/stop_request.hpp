// SIGINT/SIGTERM during `referkit track` and `referkit spool drain`: the handlers (shared with
// examples/shared/http/stop_signals.hpp) only write the signal number to a pipe; the commands poll it
// between lines and between flush slices, stop reading, flush what they accepted and print their
// summary before exiting 128 + the signal number.
#ifndef REFERKIT_EXAMPLES_CLI_STOP_REQUEST_HPP
#define REFERKIT_EXAMPLES_CLI_STOP_REQUEST_HPP

#include <string>

#include "referkit/status.hpp"

namespace referkit::cli {

class StopRequest {
 public:
  // Installs the handlers (once per process).
  static Result<StopRequest> install();

  int fd() const { return fd_; }
  // Whether a signal has arrived; reads what the handler wrote, without blocking.
  bool requested() { return received() > 0; }
  // How many signals have arrived so far (reads the pipe, without blocking).
  int received();
  int signal() const { return signal_; }  // the first signal received, 0 if none
  std::string signal_name() const;         // "SIGINT", "SIGTERM"
  int exit_code() const { return 128 + signal_; }

 private:
  explicit StopRequest(int fd) : fd_(fd) {}
  int fd_ = -1;
  int signal_ = 0;
  int received_ = 0;
};

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_STOP_REQUEST_HPP
