// Running other programs from tests, POSIX only and without a shell.
//
// run_process() runs a program to completion: argv, optional environment changes and stdin data
// in; stdout, stderr and the exit status out, with a hard timeout after which the child (and its
// process group) is killed and the result says so.
//
// Process starts a long-running program (a server, say) and hands its stdout over line by line
// with a timeout; a background thread keeps draining both output pipes so the child never blocks
// on a full pipe. The destructor kills the child's process group and reaps it.
//
// Children run in their own process group, with SIGPIPE and the usual termination signals at
// their default disposition and no signals blocked. The first use ignores SIGPIPE in the calling
// process, so writing to a child that has exited reports EPIPE instead of killing the tests.
#ifndef REFERKIT_TESTS_SUPPORT_PROCESS_HPP
#define REFERKIT_TESTS_SUPPORT_PROCESS_HPP

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace referkit::test {

// Changes to the environment the child sees. Variables in `set` are added or replaced; those in
// `unset` are removed; with inherit = false the child starts from an empty environment.
struct Environment {
  bool inherit = true;
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
};

// How a child ended.
struct ExitStatus {
  bool exited = false;  // it called exit(): code is meaningful
  int code = -1;
  int signal = 0;  // the signal that ended it, when !exited

  bool success() const { return exited && code == 0; }
  // "exit 0", "killed by signal 9 (SIGKILL)".
  std::string describe() const;
};

struct RunOptions {
  Environment env;
  std::string stdin_data;  // written to the child's stdin, which is then closed
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

struct RunResult {
  ExitStatus status;
  bool timed_out = false;  // the timeout elapsed and the child was killed
  std::string out;
  std::string err;

  // The exit code, or -1 when the child did not exit normally.
  int exit_code() const { return status.exited ? status.code : -1; }
  // Everything above, for test failure messages.
  std::string describe() const;
};

// Runs `program` (a path, or a name looked up in PATH when it has no '/') with `args` as
// argv[1..]. Throws std::system_error when the program cannot be started at all.
RunResult run_process(const std::string& program, const std::vector<std::string>& args,
                      const RunOptions& options = {});

class Process {
 public:
  // Starts `program` with `args`; stdin is a pipe (see write_stdin/close_stdin). Throws
  // std::system_error when the program cannot be started.
  static Process start(const std::string& program, const std::vector<std::string>& args,
                       const Environment& env = {});

  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Kills the process group with SIGKILL unless the child was already reaped, then reaps it.
  ~Process();

  pid_t pid() const;

  // The next stdout line without its "\n" (and "\r"), waiting up to `timeout` for it. At end of
  // output a last unterminated line is returned as is. nullopt on timeout or when the output has
  // ended with nothing left (see stdout_closed()).
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Reads lines until one contains `needle` and returns it; lines before it are dropped.
  // nullopt when the timeout elapses (for the whole search) or the output ends first.
  std::optional<std::string> wait_for_line(std::string_view needle, std::chrono::milliseconds timeout);
  // Whether the child's stdout has reached end of file.
  bool stdout_closed() const;
  // All of stderr read so far.
  std::string stderr_text() const;
  // All of stderr once the child has closed it (it exited), waiting up to `timeout` for that: a
  // test's reader thread may still be draining the last lines just after the exit.
  std::string stderr_to_end(std::chrono::milliseconds timeout) const;

  // Writes all of data to the child's stdin; false when the child does not read it (the pipe is
  // closed) or the timeout elapses.
  bool write_stdin(std::string_view data, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void close_stdin();

  // Whether the child is still running (reaps it if it has exited).
  bool running();
  // Waits up to `timeout` for the child to exit on its own.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  // SIGTERM to the process group; SIGKILL if it has not exited after `grace`. Returns how it ended.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL to the process group, then reaps it.
  ExitStatus kill();

 private:
  struct Impl;
  explicit Process(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_PROCESS_HPP
