// inspect_spool() and read_dead_letters(): read-only views of a spool directory.
#include <dirent.h>
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

// Owner lock files ("<16 hex>.lock") that a live process holds its flock on. Read from
// /proc/locks, so looking takes no lock: a probing lock could make a tracker opening the spool at
// that moment think a dead owner alive, and leave its events unadopted.
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
  std::size_t live = 0;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() != 21 || name.substr(16) != ".lock") continue;
    struct stat st {};
    if (::stat(join(dir, name).c_str(), &st) != 0) continue;
    if (held.count({major(st.st_dev), minor(st.st_dev), static_cast<unsigned long>(st.st_ino)}) > 0) ++live;
  }
  ::closedir(d);
  return live;
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
    auto file = detail::MappedFile::open(path, true);
    if (!file) {
      if (file.status().code() == StatusCode::kNotFound) continue;  // delivered meanwhile
      return file.status();
    }
    ++info.segments;
    info.disk_bytes += file->size();
    auto header = detail::decode_segment_header(file->data(), file->size());
    if (!header && header.status().code() == StatusCode::kFailedPrecondition) {
      return Status(StatusCode::kFailedPrecondition, header.status().message() + ": " + path);
    }
    if (!header && !detail::is_unused_header(file->data(), file->size())) ++info.corrupt_records;
    detail::SegmentReader reader(file->data(), file->size(),
                                 header ? header->acked_offset : detail::kSegmentHeaderBytes);
    detail::RecordView rec;
    while (reader.next(rec)) {
      ++info.pending_events;
      info.pending_bytes += rec.json.size();
      if (!oldest_ms || rec.meta.tracked_ms < *oldest_ms) oldest_ms = rec.meta.tracked_ms;
    }
    info.corrupt_records += reader.corrupt();
  }
  if (oldest_ms) info.oldest_event = TimePoint(std::chrono::milliseconds(*oldest_ms));
  info.live_owners = count_live_owners(dir);
  std::ifstream in(join(dir, detail::kDeadLetterFile));
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
