#include "tracking/fork_registry.hpp"

#include <pthread.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "spool/spool_dir.hpp"

namespace referkit::detail {
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

// The registry lock is held from prepare to parent/child, so no tracker can be created or
// destroyed in between, and lock order is always registry first, then each tracker.
// A spool being opened (which a forked tracker's first track() may do under its mutex) is waited
// for last, so it can finish.
void prepare() {
  registry_mutex().lock();
  for (ForkAware* o : registry()) o->before_fork();
  block_spool_opens_for_fork();
}
void parent() {
  allow_spool_opens_after_fork();
  for (ForkAware* o : registry()) o->after_fork_parent();
  registry_mutex().unlock();
}
void child() {
  allow_spool_opens_after_fork();
  for (ForkAware* o : registry()) o->after_fork_child();
  registry_mutex().unlock();
}

}  // namespace

void register_fork_aware(ForkAware* object) {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(prepare, parent, child); });
  std::lock_guard<std::mutex> lk(registry_mutex());
  registry().push_back(object);
}

void unregister_fork_aware(ForkAware* object) {
  std::lock_guard<std::mutex> lk(registry_mutex());
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), object), r.end());
}

}  // namespace referkit::detail
