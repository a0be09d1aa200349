#include "common/fork_registry.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <utility>
#include <vector>

namespace referkit::detail {

std::atomic<std::uint64_t> g_fork_generation{1};

namespace {

// Leaked on purpose: atfork handlers may run during static destruction.
std::mutex& registry_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::vector<ForkAware*>& registry() {
  static auto* r = new std::vector<ForkAware*>;
  return *r;
}
std::mutex& no_fork_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
// The open ParentOnlyFds, a list threaded through them (no allocation in reset()), and its lock:
// taken last in prepare(), after the NoForkGuard lock, and never held while waiting for another.
std::mutex& parent_only_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
ParentOnlyFd* g_parent_only_head = nullptr;

// The registry lock is held from prepare to parent/child, so no object can be registered or
// unregistered in between, and lock order is always registry first, then each object, then the
// NoForkGuard lock last: an object may be inside a guarded operation under its own lock (a
// tracker opening its spool), and must be able to finish it.
void prepare() {
  registry_mutex().lock();
  for (ForkAware* o : registry()) o->before_fork();
  no_fork_mutex().lock();
  parent_only_mutex().lock();
}
void parent() {
  parent_only_mutex().unlock();
  no_fork_mutex().unlock();
  for (ForkAware* o : registry()) o->after_fork_parent();
  registry_mutex().unlock();
}
void child() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);  // first: objects may read it
  close_parent_only_fds_in_child();  // before the objects, which may let go of their holders
  parent_only_mutex().unlock();
  no_fork_mutex().unlock();
  for (ForkAware* o : registry()) o->after_fork_child();
  registry_mutex().unlock();
}

}  // namespace

void close_parent_only_fds_in_child() noexcept {
  for (ParentOnlyFd* p = g_parent_only_head; p != nullptr;) {
    ParentOnlyFd* next = p->next_;
    ::close(p->fd_);
    p->fd_ = -1;
    p->prev_ = p->next_ = nullptr;
    p = next;
  }
  g_parent_only_head = nullptr;
}

void ParentOnlyFd::link() noexcept {
  next_ = g_parent_only_head;
  if (next_ != nullptr) next_->prev_ = this;
  g_parent_only_head = this;
}

void ParentOnlyFd::unlink() noexcept {
  (prev_ != nullptr ? prev_->next_ : g_parent_only_head) = next_;
  if (next_ != nullptr) next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void ParentOnlyFd::reset(int fd) noexcept {
  std::lock_guard<std::mutex> lk(parent_only_mutex());
  if (fd_ >= 0) {
    unlink();
    ::close(fd_);
  }
  fd_ = fd;
  if (fd_ >= 0) link();
}

void ParentOnlyFd::take_from(ParentOnlyFd& other) noexcept {
  std::lock_guard<std::mutex> lk(parent_only_mutex());
  if (fd_ >= 0) {
    unlink();
    ::close(fd_);
  }
  fd_ = std::exchange(other.fd_, -1);
  if (fd_ >= 0) {
    other.unlink();
    link();
  }
}

// The lock is let go before the return: a move out of `out` (if not elided) takes it.
ParentOnlyFd ParentOnlyFd::open(const char* path, int flags, unsigned mode) {
  ParentOnlyFd out;
  {
    std::lock_guard<std::mutex> lk(parent_only_mutex());
    out.fd_ = ::open(path, flags, static_cast<mode_t>(mode));
    if (out.fd_ >= 0) out.link();
  }
  return out;
}

ParentOnlyFd ParentOnlyFd::dup_of(int fd) {
  ParentOnlyFd out;
  {
    std::lock_guard<std::mutex> lk(parent_only_mutex());
    out.fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (out.fd_ >= 0) out.link();
  }
  return out;
}

void install_fork_hooks() {
  // Not under registry_mutex: callers may hold locks that prepare() takes after it.
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(prepare, parent, child); });
}

void register_fork_aware(ForkAware* object) {
  install_fork_hooks();
  std::lock_guard<std::mutex> lk(registry_mutex());
  registry().push_back(object);
}

void unregister_fork_aware(ForkAware* object) {
  std::lock_guard<std::mutex> lk(registry_mutex());
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), object), r.end());
}

NoForkGuard::NoForkGuard() { no_fork_mutex().lock(); }
NoForkGuard::~NoForkGuard() { no_fork_mutex().unlock(); }

}  // namespace referkit::detail
