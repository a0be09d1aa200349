#include "stop_request.hpp"

#include <signal.h>
#include <unistd.h>

#include "http/stop_signals.hpp"

namespace referkit::cli {

Result<StopRequest> StopRequest::install() {
  auto fd = http::install_stop_signals();
  if (!fd) return fd.status();
  return StopRequest(*fd);
}

int StopRequest::received() {
  char bytes[16];
  for (;;) {
    const ssize_t n = ::read(fd_, bytes, sizeof bytes);  // non-blocking pipe
    if (n <= 0) break;
    if (signal_ == 0) signal_ = static_cast<unsigned char>(bytes[0]);
    received_ += static_cast<int>(n);
  }
  return received_;
}

std::string StopRequest::signal_name() const {
  if (signal_ == SIGINT) return "SIGINT";
  if (signal_ == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal_);
}

}  // namespace referkit::cli
