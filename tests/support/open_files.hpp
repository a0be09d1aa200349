// The files this process holds open, as Linux lists them (the targets of /proc/self/fd): for
// tests that a forked child, or a closed spool, keeps no descriptor of a file. Safe to call in a
// forked child.
#ifndef REFERKIT_TESTS_SUPPORT_OPEN_FILES_HPP
#define REFERKIT_TESTS_SUPPORT_OPEN_FILES_HPP

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace referkit::test {

inline std::vector<std::string> open_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec) out.push_back(target.string());
  }
  return out;
}

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_OPEN_FILES_HPP
