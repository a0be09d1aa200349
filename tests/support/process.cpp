#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

extern char** environ;

namespace referkit::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

// Closes a descriptor and marks it closed.
void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// Owns the descriptors of a freshly created pipe until they are handed over.
struct Pipe {
  int read = -1;
  int write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    close_fd(read);
    close_fd(write);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno(errno, "fcntl");
}

std::string variable_name(const char* entry) {
  const char* eq = std::strchr(entry, '=');
  return eq == nullptr ? std::string(entry) : std::string(entry, static_cast<std::size_t>(eq - entry));
}

std::vector<std::string> build_environment(const Environment& env) {
  std::vector<std::string> out;
  auto removed = [&env](const std::string& name) {
    if (std::find(env.unset.begin(), env.unset.end(), name) != env.unset.end()) return true;
    return std::any_of(env.set.begin(), env.set.end(), [&name](const auto& kv) { return kv.first == name; });
  };
  if (env.inherit && environ != nullptr) {
    for (char** e = environ; *e != nullptr; ++e) {
      if (!removed(variable_name(*e))) out.emplace_back(*e);
    }
  }
  for (const auto& [name, value] : env.set) out.push_back(name + "=" + value);
  return out;
}

struct Spawned {
  pid_t pid = -1;
  int in = -1;   // the child's stdin (our write end)
  int out = -1;  // the child's stdout (our read end)
  int err = -1;  // the child's stderr (our read end)
};

Spawned spawn(const std::string& program, const std::vector<std::string>& args, const Environment& env) {
  ignore_sigpipe_once();
  Pipe in, out, err;

  std::vector<std::string> env_strings = build_environment(env);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_strings;
  argv_strings.reserve(args.size() + 1);
  argv_strings.push_back(program);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_strings.size() + 1);
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  if (int rc = posix_spawn_file_actions_init(&actions); rc != 0) throw_errno(rc, "posix_spawn_file_actions_init");
  posix_spawnattr_t attr;
  if (int rc = posix_spawnattr_init(&attr); rc != 0) {
    posix_spawn_file_actions_destroy(&actions);
    throw_errno(rc, "posix_spawnattr_init");
  }
  // The pipe ends are close-on-exec; dup2 gives the child plain copies as 0, 1 and 2.
  int rc = posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);

  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, sig);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &no_signals);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &defaults);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
  if (rc == 0) {
    const auto flags = static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    rc = posix_spawnattr_setflags(&attr, flags);
  }
  pid_t pid = -1;
  if (rc == 0) {
    const bool search_path = program.find('/') == std::string::npos;
    rc = search_path ? posix_spawnp(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data())
                     : posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw_errno(rc, "cannot start " + program);

  Spawned s;
  s.pid = pid;
  std::swap(s.in, in.write);
  std::swap(s.out, out.read);
  std::swap(s.err, err.read);
  set_nonblocking(s.in);
  set_nonblocking(s.out);
  set_nonblocking(s.err);
  return s;  // the child's ends close with the Pipe objects
}

ExitStatus decode_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

// Blocks until pid has exited.
ExitStatus reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno(errno, "waitpid");
  }
  return decode_wait_status(status);
}

// Reaps pid if it has exited.
std::optional<ExitStatus> try_reap(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw_errno(errno, "waitpid");
  if (r == 0) return std::nullopt;
  return decode_wait_status(status);
}

// Polls try_reap until the deadline. The sleep only paces the polling of waitpid.
std::optional<ExitStatus> reap_until(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    if (auto s = try_reap(pid)) return s;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(2));
  }
}

int poll_timeout_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<long long>(left + 1, 60'000));
}

// Reads what is available from fd into out; false at end of file (or on an error).
bool drain(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGPIPE: return "SIGPIPE";
    case SIGHUP: return "SIGHUP";
    default: return "?";
  }
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit " + std::to_string(code);
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + signal_name(signal) + ")";
  return "unknown exit status";
}

std::string RunResult::describe() const {
  std::string s = status.describe();
  if (timed_out) s += " after the timeout elapsed";
  s += "\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err;
  return s;
}

RunResult run_process(const std::string& program, const std::vector<std::string>& args,
                      const RunOptions& options) {
  Spawned child = spawn(program, args, options.env);
  const Clock::time_point deadline = Clock::now() + options.timeout;
  RunResult result;
  std::size_t written = 0;
  if (options.stdin_data.empty()) close_fd(child.in);

  while (child.out >= 0 || child.err >= 0) {
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    pollfd fds[3];
    nfds_t n = 0;
    int* owners[3];
    auto add = [&](int& fd, short events) {
      if (fd < 0) return;
      fds[n] = pollfd{fd, events, 0};
      owners[n] = &fd;
      ++n;
    };
    add(child.in, POLLOUT);
    add(child.out, POLLIN);
    add(child.err, POLLIN);
    const int ready = ::poll(fds, n, poll_timeout_ms(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "poll");
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      int& fd = *owners[i];
      if (&fd == &child.in) {
        if ((fds[i].revents & (POLLERR | POLLHUP)) != 0) {
          close_fd(child.in);  // the child closed its stdin
          continue;
        }
        const std::size_t chunk = std::min<std::size_t>(options.stdin_data.size() - written, 65536);
        const ssize_t w = ::write(fd, options.stdin_data.data() + written, chunk);
        if (w > 0) {
          written += static_cast<std::size_t>(w);
          if (written == options.stdin_data.size()) close_fd(child.in);
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          close_fd(child.in);  // EPIPE: the child does not read its stdin
        }
      } else {
        std::string& sink = &fd == &child.out ? result.out : result.err;
        if (!drain(fd, sink)) close_fd(fd);
      }
    }
  }
  close_fd(child.in);
  close_fd(child.out);
  close_fd(child.err);

  std::optional<ExitStatus> status;
  if (!result.timed_out) {
    // The output has ended; the child may still be finishing (or may have closed its output and
    // kept running, which the deadline covers too).
    status = reap_until(child.pid, deadline);
    if (!status) result.timed_out = true;
  }
  if (!status) {
    ::kill(-child.pid, SIGKILL);
    status = reap(child.pid);
  }
  result.status = *status;
  return result;
}

struct Process::Impl {
  pid_t pid = -1;
  int in = -1;
  int out = -1;
  int err = -1;
  int wake_read = -1;  // the reader thread stops when wake_write is closed
  int wake_write = -1;
  std::optional<ExitStatus> status;  // set once reaped

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string out_pending;  // stdout not yet returned by read_line
  std::string err_all;
  bool out_eof = false;
  bool err_eof = false;
  std::thread reader;

  void read_loop() {
    for (;;) {
      pollfd fds[3];
      nfds_t n = 0;
      fds[n++] = pollfd{wake_read, POLLIN, 0};
      bool out_open;
      bool err_open;
      {
        std::lock_guard<std::mutex> lock(mutex);
        out_open = !out_eof;
        err_open = !err_eof;
      }
      if (out_open) fds[n++] = pollfd{out, POLLIN, 0};
      if (err_open) fds[n++] = pollfd{err, POLLIN, 0};
      if (n == 1) return;
      if (::poll(fds, n, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents != 0) return;
      for (nfds_t i = 1; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        const bool is_out = fds[i].fd == out;
        std::string chunk;
        const bool open = drain(fds[i].fd, chunk);
        {
          std::lock_guard<std::mutex> lock(mutex);
          (is_out ? out_pending : err_all) += chunk;
          if (!open) (is_out ? out_eof : err_eof) = true;
        }
        changed.notify_all();
      }
    }
  }

  void record(const ExitStatus& s) { status = s; }

  ~Impl() {
    if (pid > 0 && !status) {
      ::kill(-pid, SIGKILL);
      try {
        status = reap(pid);
      } catch (...) {
        // Nothing sensible to do in a destructor; the child is killed either way.
      }
    }
    close_fd(in);
    close_fd(wake_write);  // wakes the reader thread
    if (reader.joinable()) reader.join();
    close_fd(wake_read);
    close_fd(out);
    close_fd(err);
  }
};

Process::Process(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&&) noexcept = default;
Process::~Process() = default;

Process Process::start(const std::string& program, const std::vector<std::string>& args, const Environment& env) {
  auto impl = std::make_unique<Impl>();
  Pipe wake;
  Spawned child = spawn(program, args, env);
  impl->pid = child.pid;
  impl->in = child.in;
  impl->out = child.out;
  impl->err = child.err;
  std::swap(impl->wake_read, wake.read);
  std::swap(impl->wake_write, wake.write);
  Impl* raw = impl.get();
  impl->reader = std::thread([raw] { raw->read_loop(); });
  return Process(std::move(impl));
}

pid_t Process::pid() const { return impl_->pid; }

std::optional<std::string> Process::read_line(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->changed.wait_for(lock, timeout, [this] {
    return impl_->out_pending.find('\n') != std::string::npos || impl_->out_eof;
  });
  const std::size_t nl = impl_->out_pending.find('\n');
  std::string line;
  if (nl != std::string::npos) {
    line = impl_->out_pending.substr(0, nl);
    impl_->out_pending.erase(0, nl + 1);
  } else if (impl_->out_eof && !impl_->out_pending.empty()) {
    line = std::move(impl_->out_pending);
    impl_->out_pending.clear();
  } else {
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<std::string> Process::wait_for_line(std::string_view needle, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    auto line = read_line(std::max(left, milliseconds(0)));
    if (!line) return std::nullopt;
    if (line->find(needle) != std::string::npos) return line;
  }
}

bool Process::stdout_closed() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->out_eof && impl_->out_pending.empty();
}

std::string Process::stderr_text() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->err_all;
}

std::string Process::stderr_to_end(milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->changed.wait_for(lock, timeout, [this] { return impl_->err_eof; });
  return impl_->err_all;
}

bool Process::write_stdin(std::string_view data, milliseconds timeout) {
  if (impl_->in < 0) return false;
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!data.empty()) {
    const ssize_t w = ::write(impl_->in, data.data(), data.size());
    if (w > 0) {
      data.remove_prefix(static_cast<std::size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    if (Clock::now() >= deadline) return false;
    pollfd p{impl_->in, POLLOUT, 0};
    if (::poll(&p, 1, poll_timeout_ms(deadline)) < 0 && errno != EINTR) return false;
    if ((p.revents & (POLLERR | POLLHUP)) != 0) return false;
  }
  return true;
}

void Process::close_stdin() { close_fd(impl_->in); }

bool Process::running() {
  if (impl_->status) return false;
  if (auto s = try_reap(impl_->pid)) {
    impl_->record(*s);
    return false;
  }
  return true;
}

std::optional<ExitStatus> Process::wait(milliseconds timeout) {
  if (impl_->status) return impl_->status;
  if (auto s = reap_until(impl_->pid, Clock::now() + timeout)) impl_->record(*s);
  return impl_->status;
}

ExitStatus Process::terminate(milliseconds grace) {
  if (impl_->status) return *impl_->status;
  ::kill(-impl_->pid, SIGTERM);
  if (auto s = wait(grace)) return *s;
  return kill();
}

ExitStatus Process::kill() {
  if (impl_->status) return *impl_->status;
  ::kill(-impl_->pid, SIGKILL);
  impl_->record(reap(impl_->pid));
  return *impl_->status;
}

}  // namespace referkit::test
