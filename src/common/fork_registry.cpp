#include "common/fork_registry.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <new>
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
// The open ParentOnlyFds' nodes, a list, and its lock: taken last in prepare(), after the
// NoForkGuard lock, and never held while waiting for another.
std::mutex& parent_only_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
ParentOnlyFd::Node* g_parent_only_head = nullptr;

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

struct ParentOnlyFd::Node {
  int fd = -1;
  bool linked = false;  // false in a child once the hook has closed it
  Node* prev = nullptr;
  Node* next = nullptr;
};

namespace {

// With the lock held.
void link(ParentOnlyFd::Node* n) noexcept {
  n->next = g_parent_only_head;
  if (n->next != nullptr) n->next->prev = n;
  n->prev = nullptr;
  n->linked = true;
  g_parent_only_head = n;
}
void unlink(ParentOnlyFd::Node* n) noexcept {
  if (!n->linked) return;
  (n->prev != nullptr ? n->prev->next : g_parent_only_head) = n->next;
  if (n->next != nullptr) n->next->prev = n->prev;
  n->prev = n->next = nullptr;
  n->linked = false;
}

// `fd` (from a call made under the lock) in a new node, recorded; or closed, with ENOMEM.
ParentOnlyFd::Node* record(int fd) noexcept {
  if (fd < 0) return nullptr;
  auto* n = new (std::nothrow) ParentOnlyFd::Node;
  if (n == nullptr) {
    ::close(fd);
    errno = ENOMEM;
    return nullptr;
  }
  n->fd = fd;
  link(n);
  return n;
}

}  // namespace

void close_parent_only_fds_in_child() noexcept {
  for (ParentOnlyFd::Node* n = g_parent_only_head; n != nullptr;) {
    ParentOnlyFd::Node* next = n->next;
    ::close(n->fd);
    n->fd = -1;
    n->prev = n->next = nullptr;
    n->linked = false;  // its holder frees it later, with nothing left to unlink
    n = next;
  }
  g_parent_only_head = nullptr;
}

int ParentOnlyFd::get() const noexcept { return node_ != nullptr ? node_->fd : -1; }

void ParentOnlyFd::reset(int fd) noexcept {
  if (node_ == nullptr && fd < 0) return;
  install_fork_hooks();
  Node* old = nullptr;
  {
    std::lock_guard<std::mutex> lk(parent_only_mutex());
    if (node_ != nullptr) {
      unlink(node_);
      if (node_->fd >= 0) ::close(node_->fd);
      old = node_;
    }
    node_ = record(fd);
  }
  delete old;
}

ParentOnlyFd ParentOnlyFd::open(const char* path, int flags, unsigned mode) {
  install_fork_hooks();
  ParentOnlyFd out;
  int err = 0;
  {
    std::lock_guard<std::mutex> lk(parent_only_mutex());
    out.node_ = record(::open(path, flags, static_cast<mode_t>(mode)));
    err = errno;
  }
  errno = err;
  return out;
}

ParentOnlyFd ParentOnlyFd::dup_of(int fd) {
  install_fork_hooks();
  ParentOnlyFd out;
  int err = 0;
  {
    std::lock_guard<std::mutex> lk(parent_only_mutex());
    out.node_ = record(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    err = errno;
  }
  errno = err;
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
