// The library's one fork() mechanism: a single pthread_atfork registration that everything which
// must survive fork() goes through, so the order in which state is locked and released around a
// fork is decided in one place (fork_registry.cpp) instead of by registration order.
//
// Three kinds of users:
//  - objects with locks and state (trackers): ForkAware, locked in prepare, released or reset
//    after;
//  - operations that must not be copied half-done into a child (opening a spool): NoForkGuard,
//    which fork() waits for;
//  - per-thread caches that must notice they were inherited (the UUID generator's seed):
//    fork_generation(), bumped in every child.
#ifndef REFERKIT_SRC_COMMON_FORK_REGISTRY_HPP
#define REFERKIT_SRC_COMMON_FORK_REGISTRY_HPP

#include <atomic>
#include <cstdint>

namespace referkit::detail {

class ForkAware {
 public:
  virtual ~ForkAware() = default;
  virtual void before_fork() = 0;        // take locks
  virtual void after_fork_parent() = 0;  // release them
  virtual void after_fork_child() = 0;   // release them and reset for a one-thread child
};

void register_fork_aware(ForkAware* object);
void unregister_fork_aware(ForkAware* object);

// While one lives, fork() waits for it: the prepare hook takes its lock after every ForkAware's
// before_fork(), so a ForkAware may hold one under its own lock (lock order: object, then guard).
// Not reentrant.
class NoForkGuard {
 public:
  NoForkGuard();
  ~NoForkGuard();
  NoForkGuard(const NoForkGuard&) = delete;
  NoForkGuard& operator=(const NoForkGuard&) = delete;
};

// Installs the atfork hooks (once; cheap after). Call it before relying on fork_generation().
void install_fork_hooks();

// Starts at 1 and is bumped in every forked child (once install_fork_hooks() has run). A thread
// that remembers the value it saw notices with one relaxed load that it is in a child; getpid()
// would do the same but is a real system call since glibc 2.25.
extern std::atomic<std::uint64_t> g_fork_generation;
inline std::uint64_t fork_generation() noexcept { return g_fork_generation.load(std::memory_order_relaxed); }

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_COMMON_FORK_REGISTRY_HPP
