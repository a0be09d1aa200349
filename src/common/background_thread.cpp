#include "common/background_thread.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace referkit::detail {

void become_background_thread(const char* name, int nice) noexcept {
  (void)::pthread_setname_np(::pthread_self(), name);
  if (nice == 0) return;
  // PRIO_PROCESS with a thread id sets that thread alone (Linux; POSIX would say the process).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice);
}

}  // namespace referkit::detail
