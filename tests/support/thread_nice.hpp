// The threads of a process as Linux lists them (/proc/<pid>/task): each one's name, nice value
// and scheduling policy, for tests of TrackerOptions::background_nice and of the tracker's threads
// running under SCHED_BATCH (which Linux applies per thread).
#ifndef REFERKIT_TESTS_SUPPORT_THREAD_NICE_HPP
#define REFERKIT_TESTS_SUPPORT_THREAD_NICE_HPP

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace referkit::test {

struct ThreadNice {
  int tid = 0;
  std::string name;
  int nice = 0;
  int policy = -1;  // SCHED_OTHER 0, SCHED_BATCH 3, SCHED_IDLE 5
};

// pid 0: this process.
inline std::vector<ThreadNice> threads_with_nice(int pid = 0) {
  std::vector<ThreadNice> out;
  const std::string proc = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  for (const auto& task : std::filesystem::directory_iterator(proc + "/task")) {
    std::ifstream comm(task.path() / "comm");
    std::ifstream stat(task.path() / "stat");
    std::string name;
    std::string line;
    if (!std::getline(comm, name) || !std::getline(stat, line)) continue;  // the thread just ended
    // Fields after the name in parentheses: state is field 3, nice field 19, policy field 41.
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string field;
    ThreadNice thread{std::stoi(task.path().filename().string()), name, 0, -1};
    for (int i = 3; i <= 41 && fields >> field; ++i) {
      if (i == 19) thread.nice = std::stoi(field);
      if (i == 41) thread.policy = std::stoi(field);
    }
    out.push_back(thread);
  }
  return out;
}

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_THREAD_NICE_HPP
