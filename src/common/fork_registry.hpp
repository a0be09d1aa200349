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
#include <utility>

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

// A descriptor that a forked child must not keep: a spool file's, whose flock is the proof that
// its owner is alive (a child's copy would keep a dead parent's files from being adopted or
// removed for as long as the child lives). In the child, every one of them is closed before any
// ForkAware's after_fork_child(), and reads as closed (-1): wherever the holder is then (a
// segment waiting for deletion, a list a background thread was working through), so no owner has
// to be found. Each descriptor lives in a node of a list under the fork hooks' lock; the holder
// keeps a pointer to its node, so a move is a pointer's, without the lock (a roll on track()'s
// thread moves one while the committer may be closing a deleted file's under it). Opening,
// closing and handing one in take the lock. One owner; thread-safe as a pointer is.
class ParentOnlyFd {
 public:
  ParentOnlyFd() = default;
  ~ParentOnlyFd() { reset(); }
  ParentOnlyFd(ParentOnlyFd&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  ParentOnlyFd& operator=(ParentOnlyFd&& other) noexcept {
    if (this != &other) {
      reset();
      node_ = std::exchange(other.node_, nullptr);
    }
    return *this;
  }
  ParentOnlyFd(const ParentOnlyFd&) = delete;
  ParentOnlyFd& operator=(const ParentOnlyFd&) = delete;

  // open(2) and fcntl(F_DUPFD_CLOEXEC) under the hooks' lock: no fork between the call and the
  // record. Invalid on failure, with errno set as the call left it (ENOMEM if no node).
  static ParentOnlyFd open(const char* path, int flags, unsigned mode = 0);
  static ParentOnlyFd dup_of(int fd);

  int get() const noexcept;
  bool valid() const noexcept { return get() >= 0; }
  // Closes the descriptor held, if any, and holds `fd` (taken over; -1 for none). Under the
  // hooks' lock, so no fork sees one closed but recorded, or open but not. Nothing to close and
  // nothing to hold: no lock.
  void reset(int fd = -1) noexcept;

  struct Node;  // fork_registry.cpp

 private:
  Node* node_ = nullptr;
};
void close_parent_only_fds_in_child() noexcept;  // the child hook's; not for other callers

// Installs the atfork hooks (once; cheap after). Call it before relying on fork_generation().
void install_fork_hooks();

// Starts at 1 and is bumped in every forked child (once install_fork_hooks() has run). A thread
// that remembers the value it saw notices with one relaxed load that it is in a child; getpid()
// would do the same but is a real system call since glibc 2.25.
extern std::atomic<std::uint64_t> g_fork_generation;
inline std::uint64_t fork_generation() noexcept { return g_fork_generation.load(std::memory_order_relaxed); }

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_COMMON_FORK_REGISTRY_HPP
