#include "common/fork_registry.hpp"

#include <pthread.h>

#include <algorithm>
#include <mutex>
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

// The registry lock is held from prepare to parent/child, so no object can be registered or
// unregistered in between, and lock order is always registry first, then each object, then the
// NoForkGuard lock last: an object may be inside a guarded operation under its own lock (a
// tracker opening its spool), and must be able to finish it.
void prepare() {
  registry_mutex().lock();
  for (ForkAware* o : registry()) o->before_fork();
  no_fork_mutex().lock();
}
void parent() {
  no_fork_mutex().unlock();
  for (ForkAware* o : registry()) o->after_fork_parent();
  registry_mutex().unlock();
}
void child() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);  // first: objects may read it
  no_fork_mutex().unlock();
  for (ForkAware* o : registry()) o->after_fork_child();
  registry_mutex().unlock();
}

}  // namespace

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
