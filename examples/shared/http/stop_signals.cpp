#include "http/stop_signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace referkit::http {
namespace {

int g_write_end = -1;  // set before the handlers are installed, never changed after

extern "C" void on_stop_signal(int signo) {
  const int saved = errno;
  // The signal number, so a reader can tell SIGINT from SIGTERM (the CLI exits 128 + it).
  const char byte = static_cast<char>(signo);
  // Non-blocking: if the pipe is full, the loop has plenty of wake-ups pending already.
  [[maybe_unused]] const ssize_t n = ::write(g_write_end, &byte, 1);
  errno = saved;
}

}  // namespace

Result<int> install_stop_signals() {
  if (g_write_end >= 0) return Status(StatusCode::kFailedPrecondition, "stop signals already installed");
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Status(StatusCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  g_write_end = fds[1];
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (::sigaction(SIGINT, &action, nullptr) != 0 || ::sigaction(SIGTERM, &action, nullptr) != 0 ||
      ::sigaction(SIGPIPE, &ignore, nullptr) != 0) {
    return Status(StatusCode::kInternal, std::string("sigaction: ") + std::strerror(errno));
  }
  return fds[0];
}

}  // namespace referkit::http
