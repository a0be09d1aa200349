// inspect_spool() and read_dead_letters(): read-only views of a spool directory.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
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

// A dead-letter record is one event (at most 32 KiB) and a reason: a longer line is damage, and
// is skipped as it is read rather than held in memory.
constexpr std::size_t kMaxDeadLetterLine = 1u << 20;

// Calls on_line(number, text, too_long) for each line of <dir>/dead-letters.jsonl, read through
// the descriptor that open_spool_file checked (a regular file of this user: a FIFO or a symlink
// in its place is refused, never read). A missing file has no lines.
template <typename OnLine>
Status for_each_dead_letter_line(const std::string& dir, OnLine on_line) {
  struct stat st {};
  auto fd = detail::open_spool_file(join(dir, detail::kDeadLetterFile), O_RDONLY, st);
  if (!fd) return fd.status().code() == StatusCode::kNotFound ? Status() : fd.status();
  std::string line;
  bool too_long = false;
  std::uint64_t number = 0;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(StatusCode::kInternal, fmt::format("cannot read {}: {}", detail::kDeadLetterFile, std::strerror(errno)));
    if (n == 0) break;
    std::string_view chunk(buf, static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      const std::size_t nl = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, nl);
      if (!too_long && line.size() + piece.size() > kMaxDeadLetterLine) {
        too_long = true;
        std::string().swap(line);
      }
      if (!too_long) line.append(piece);
      if (nl == std::string_view::npos) break;
      on_line(++number, std::string_view(line), too_long);
      line.clear();
      too_long = false;
      chunk.remove_prefix(nl + 1);
    }
  }
  if (!line.empty() || too_long) on_line(++number, std::string_view(line), too_long);
  return Status();
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

// One spool directory: a lane's, or one from before lanes.
Result<SpoolInfo> inspect_one(const std::string& dir) {
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
  auto counted = for_each_dead_letter_line(dir, [&](std::uint64_t, std::string_view line, bool) {
    if (!line.empty()) ++info.dead_letters;
  });
  if (!counted.ok()) info.skipped.push_back(counted.message());
  return info;
}

Status read_dead_letters_of(const std::string& dir, std::string_view lane, std::vector<SpoolDeadLetter>& out) {
  if (Status s = detail::check_spool_format(dir); !s.ok()) return s;
  Status read = for_each_dead_letter_line(dir, [&](std::uint64_t line_number, std::string_view line, bool too_long) {
    if (line.empty() && !too_long) return;  // not counted by inspect_spool either
    auto parsed = too_long ? std::nullopt : detail::parse_dead_letter_line(std::string(line));
    if (!parsed) {
      parsed.emplace();
      parsed->damage = too_long ? fmt::format("a line over {} bytes, not a dead-letter record", kMaxDeadLetterLine)
                                : "not a dead-letter record ({\"at\",\"messageId\",\"reason\",\"event\"} JSON)";
    }
    parsed->line = line_number;
    parsed->lane = std::string(lane);
    out.push_back(std::move(*parsed));
  });
  return read;
}

// A tracker's spool: one directory per lane. Either may not exist yet (nothing was tracked in it).
bool has_lanes(const std::string& dir) {
  for (Lane lane : {Lane::kConversions, Lane::kEngagement}) {
    struct stat st {};
    if (::lstat(detail::lane_directory(dir, lane).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
  }
  return false;
}

}  // namespace

Result<SpoolInfo> inspect_spool(const std::string& dir) {
  if (!has_lanes(dir)) return inspect_one(dir);
  SpoolInfo info;
  for (Lane lane : {Lane::kConversions, Lane::kEngagement}) {
    SpoolLaneInfo li;
    li.lane = std::string(to_string(lane));
    auto one = inspect_one(detail::lane_directory(dir, lane));
    if (!one && one.status().code() != StatusCode::kNotFound) return one.status();
    if (one) {
      li.pending_events = one->pending_events;
      li.pending_bytes = one->pending_bytes;
      li.disk_bytes = one->disk_bytes;
      li.oldest_event = one->oldest_event;
      li.segments = one->segments;
      li.dead_letters = one->dead_letters;
      info.pending_events += one->pending_events;
      info.pending_bytes += one->pending_bytes;
      info.disk_bytes += one->disk_bytes;
      if (one->oldest_event && (!info.oldest_event || *one->oldest_event < *info.oldest_event)) {
        info.oldest_event = one->oldest_event;
      }
      info.segments += one->segments;
      info.live_owners = std::max(info.live_owners, one->live_owners);  // a tracker owns both lanes
      info.corrupt_records += one->corrupt_records;
      info.corrupt_bytes += one->corrupt_bytes;
      info.truncated_segments += one->truncated_segments;
      info.truncated_bytes += one->truncated_bytes;
      info.dead_letters += one->dead_letters;
      info.skipped.insert(info.skipped.end(), one->skipped.begin(), one->skipped.end());
    }
    info.lanes.push_back(std::move(li));
  }
  return info;
}

Result<std::vector<SpoolDeadLetter>> read_dead_letters(const std::string& dir) {
  std::vector<SpoolDeadLetter> out;
  if (!has_lanes(dir)) {
    if (Status s = read_dead_letters_of(dir, "", out); !s.ok()) return s;
    return out;
  }
  for (Lane lane : {Lane::kConversions, Lane::kEngagement}) {
    Status s = read_dead_letters_of(detail::lane_directory(dir, lane), to_string(lane), out);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return out;
}

}  // namespace v1
}  // namespace referkit
