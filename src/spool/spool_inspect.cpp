// inspect_spool() and read_dead_letters(): read-only views of a spool directory.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "referkit/spool.hpp"
#include "spool/dead_letters.hpp"
#include "spool/mapped_file.hpp"
#include "spool/segment_format.hpp"
#include "spool/spool_dir.hpp"

namespace referkit {
inline namespace v1 {
namespace {

std::string join(const std::string& dir, std::string_view name) {
  return dir + (dir.empty() || dir.back() == '/' ? "" : "/") + std::string(name);
}

// Owners that a live process is: its lock file ("<16 hex>.lock") or one of its segments is
// flocked (the lock file may have been deleted under it; its segments are locked all the same).
// Read from /proc/locks, so looking takes no lock: a probing lock could make a tracker opening the
// spool at that moment think a dead owner alive, and leave its events unadopted.
std::size_t count_live_owners(const std::string& dir) {
  std::set<std::tuple<unsigned, unsigned, unsigned long>> held;  // major, minor, inode
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF"; "->" lines are waiters, not holders.
    if (line.find(" FLOCK ") == std::string::npos || line.find("->") != std::string::npos) continue;
    std::istringstream fields(line);
    std::string id, kind, mode, access, pid, device;
    fields >> id >> kind >> mode >> access >> pid >> device;
    unsigned major_id = 0, minor_id = 0;
    unsigned long inode = 0;
    if (std::sscanf(device.c_str(), "%x:%x:%lu", &major_id, &minor_id, &inode) == 3) {
      held.emplace(major_id, minor_id, inode);
    }
  }
  std::set<std::uint64_t> live;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    detail::SegmentName segment;
    const bool is_lock = name.size() == 21 && name.substr(16) == ".lock";
    if (!is_lock && !detail::parse_segment_name(name, segment)) continue;
    struct stat st {};
    if (::lstat(join(dir, name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (held.count({major(st.st_dev), minor(st.st_dev), static_cast<unsigned long>(st.st_ino)}) == 0) continue;
    if (is_lock) {
      unsigned long long owner = 0;
      if (std::sscanf(std::string(name.substr(0, 16)).c_str(), "%16llx", &owner) == 1) live.insert(owner);
    } else {
      live.insert(segment.owner);
    }
  }
  ::closedir(d);
  return live.size();
}

}  // namespace

Result<SpoolInfo> inspect_spool(const std::string& dir) {
  if (Status s = detail::check_spool_format(dir); !s.ok()) return s;
  auto names = detail::list_segments(dir);
  if (!names) return names.status();
  SpoolInfo info;
  std::optional<std::int64_t> oldest_ms;
  for (const detail::SegmentName& name : *names) {
    const std::string path = join(dir, detail::segment_file_name(name));
    // Checked before anything is read: never a symlink, a FIFO (which would block) or a 20 GiB
    // sparse file (which would take minutes to scan).
    struct stat st {};
    auto fd = detail::open_spool_file(path, O_RDONLY, st);
    if (!fd) {
      if (fd.status().code() != StatusCode::kNotFound) info.skipped.push_back(fd.status().message());
      continue;  // kNotFound: delivered meanwhile
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size > detail::kMaxSegmentFileBytes) {
      info.skipped.push_back(fmt::format("{} is {} bytes, more than any segment ({}): not read", path, size,
                                         detail::kMaxSegmentFileBytes));
      continue;
    }
    auto file = detail::MappedFile::map(fd->get(), size, true, path);
    if (!file) {
      info.skipped.push_back(file.status().message());
      continue;
    }
    ++info.segments;
    info.disk_bytes += size;
    auto scan = detail::scan_segment(file->data(), file->size());
    if (!scan) return Status(scan.status().code(), fmt::format("{}: {}", scan.status().message(), path));
    info.pending_events += scan->records;
    info.pending_bytes += scan->payload_bytes;
    if (scan->records > 0 && (!oldest_ms || scan->oldest_ms < *oldest_ms)) oldest_ms = scan->oldest_ms;
    info.corrupt_records += scan->corrupt;
    info.corrupt_bytes += scan->corrupt_bytes;
    if (scan->truncated) ++info.truncated_segments;
    info.truncated_bytes += scan->truncated_bytes;
  }
  if (oldest_ms) info.oldest_event = TimePoint(std::chrono::milliseconds(*oldest_ms));
  info.live_owners = count_live_owners(dir);
  // A FIFO (or a symlink) in its place would block or lead elsewhere: read only a regular file.
  const std::string dead_letters = join(dir, detail::kDeadLetterFile);
  struct stat st {};
  if (auto fd = detail::open_spool_file(dead_letters, O_RDONLY, st); !fd && fd.status().code() != StatusCode::kNotFound) {
    info.skipped.push_back(fd.status().message());
    return info;
  }
  std::ifstream in(dead_letters);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) ++info.dead_letters;
  }
  return info;
}

Result<std::vector<SpoolDeadLetter>> read_dead_letters(const std::string& dir) {
  if (Status s = detail::check_spool_format(dir); !s.ok()) return s;
  std::vector<SpoolDeadLetter> out;
  std::ifstream in(join(dir, detail::kDeadLetterFile));
  std::string line;
  std::uint64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;  // not counted by inspect_spool either
    auto parsed = detail::parse_dead_letter_line(line);
    if (!parsed) {
      parsed.emplace();
      parsed->damage = "not a dead-letter record ({\"at\",\"messageId\",\"reason\",\"event\"} JSON)";
    }
    parsed->line = line_number;
    out.push_back(std::move(*parsed));
  }
  return out;
}

}  // namespace v1
}  // namespace referkit
