// What each of the tracker's own threads does first: it takes a name (as `top -H`, perf and gdb
// show it: rk-worker, rk-encode, rk-commit, rk-prepare), the SCHED_BATCH policy (it never
// preempts a running thread when it wakes) and the nice value the merchant chose
// (TrackerOptions::background_nice). On Linux all three are per thread, so the application's
// threads keep theirs.
#ifndef REFERKIT_SRC_COMMON_BACKGROUND_THREAD_HPP
#define REFERKIT_SRC_COMMON_BACKGROUND_THREAD_HPP

namespace referkit::detail {

// `name`: at most 15 characters. `nice`: 0 leaves the thread's priority as it is. Best effort: a
// thread may always lower its own priority and move itself from SCHED_OTHER to SCHED_BATCH (any
// other policy it inherited is kept), and if even that is refused (a seccomp filter, say), it
// keeps what it has.
void become_background_thread(const char* name, int nice) noexcept;

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_COMMON_BACKGROUND_THREAD_HPP
