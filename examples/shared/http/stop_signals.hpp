// SIGINT and SIGTERM as bytes on a pipe, so the server's poll loop sees them like any other
// event and shuts down from ordinary code (a signal handler may do almost nothing safely).
#ifndef REFERKIT_EXAMPLES_SHARED_HTTP_STOP_SIGNALS_HPP
#define REFERKIT_EXAMPLES_SHARED_HTTP_STOP_SIGNALS_HPP

#include "referkit/status.hpp"

namespace referkit::http {

// Installs the handlers (once per process) and returns the pipe's read end, non-blocking: one
// byte per signal received, holding the signal's number. Also ignores SIGPIPE, so a client that vanishes mid-reply is an
// error code on send, not the end of the process.
Result<int> install_stop_signals();

}  // namespace referkit::http

#endif  // REFERKIT_EXAMPLES_SHARED_HTTP_STOP_SIGNALS_HPP
