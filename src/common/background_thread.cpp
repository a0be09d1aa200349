#include "common/background_thread.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace referkit::detail {

void become_background_thread(const char* name, int nice) noexcept {
  (void)::pthread_setname_np(::pthread_self(), name);
  // SCHED_BATCH keeps the thread's nice value and so its share of the CPU; what it gives up is
  // preempting a running thread when it wakes. The scheduler lets it run at the next tick or on an
  // idle core instead. perf of the durable flood on 2 cores: the largest group of track()'s calls
  // over 1 ms was the producer preempted right after its own futex wake of rk-worker (49 of 58),
  // the woken worker queued on its core and run first. Measured in the same minutes
  // (docs/performance.md, 2026-12-02 03:04): calls over 1 ms 132 -> 78, p999 60 -> 35 us.
  // Only from the default policy: one the application chose for its threads (real-time, or
  // SCHED_IDLE, which this would raise) is left as it is.
  if (::sched_getscheduler(0) == SCHED_OTHER) {
    sched_param param{};  // priority 0: what the non-real-time policies require
    (void)::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &param);
  }
  if (nice == 0) return;
  // PRIO_PROCESS with a thread id sets that thread alone (Linux; POSIX would say the process).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice);
}

}  // namespace referkit::detail
