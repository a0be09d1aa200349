// pthread_atfork for objects: every live tracker takes part in fork() so that its mutex is not
// held by a thread that will not exist in the child, and so the child can reset its state.
#ifndef REFERKIT_SRC_TRACKING_FORK_REGISTRY_HPP
#define REFERKIT_SRC_TRACKING_FORK_REGISTRY_HPP

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

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_FORK_REGISTRY_HPP
