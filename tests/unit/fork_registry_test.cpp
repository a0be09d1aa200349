// The one fork() mechanism (src/common/fork_registry.hpp): hooks run in the documented order,
// children see a new fork generation, and fork() waits for a NoForkGuard.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/fork_registry.hpp"

using namespace referkit::detail;

namespace {

struct Recorder final : ForkAware {
  std::string calls;
  void before_fork() override { calls += 'b'; }
  void after_fork_parent() override { calls += 'p'; }
  void after_fork_child() override { calls += 'c'; }
};

// Runs `child` in a forked child; its return value becomes the exit status the parent returns.
template <typename F>
int in_child(F child) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(child());
  int status = -1;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_SUITE("common") {

TEST_CASE("registered objects are told about fork in the parent and in the child") {
  Recorder r;
  register_fork_aware(&r);
  const std::uint64_t before = fork_generation();
  const int child_status = in_child([&] {
    if (r.calls != "bc") return 1;
    return fork_generation() == before + 1 ? 0 : 2;
  });
  CHECK(child_status == 0);
  CHECK(r.calls == "bp");
  CHECK(fork_generation() == before);  // the parent's generation does not move
  unregister_fork_aware(&r);
  CHECK(in_child([] { return 0; }) == 0);
  CHECK(r.calls == "bp");  // no longer registered
}

TEST_CASE("fork() waits for a NoForkGuard to be released") {
  install_fork_hooks();
  std::atomic<bool> holding{false};
  std::atomic<bool> released{false};
  std::atomic<bool> forked{false};
  std::thread holder([&] {
    {
      NoForkGuard guard;
      holding = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      released = true;
    }
    // Alive until the fork is over: a thread that had finished, unjoined, at the fork is a
    // "thread leak" to ThreadSanitizer in the child.
    while (!forked) std::this_thread::yield();
  });
  while (!holding) std::this_thread::yield();
  const int child_status = in_child([&] { return released ? 0 : 1; });
  forked = true;
  CHECK(released);
  CHECK(child_status == 0);
  holder.join();
}

}  // TEST_SUITE
