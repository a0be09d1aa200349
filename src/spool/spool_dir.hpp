// A spool directory and who owns what in it. Several processes may share one directory: each
// claims an owner id and holds an flock on "<owner>.lock" for as long as it writes segments
// "<owner>-<n>.seg". Segments whose owner is gone (lock file missing or not locked) are adopted
// by the next process that opens the spool: renamed into its name, in their original order, and
// delivered by it. Opening (claiming an id and adopting) happens under "spool.lock", one process at
// a time, so no two processes ever adopt the same segment.
//
//   FORMAT              "referkit-spool <version>": refuses directories of a newer format
//   spool.lock          held only while a process opens the spool
//   <owner>.lock        held by a live owner
//   <owner>-<n>.seg     segments (segment_format.hpp), n increasing in tracking order
//   <owner>.spare       an empty segment file prepared ahead (removed when its owner is gone)
//   dead-letters.jsonl  events the server refused, one JSON object per line with the reason
#ifndef REFERKIT_SRC_SPOOL_SPOOL_DIR_HPP
#define REFERKIT_SRC_SPOOL_SPOOL_DIR_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "referkit/status.hpp"

namespace referkit::detail {

inline constexpr std::string_view kDeadLetterFile = "dead-letters.jsonl";

struct SegmentName {
  std::uint64_t owner = 0;
  std::uint32_t number = 0;
};
// "<16 hex>-<8 digits>.seg"; false for any other name.
bool parse_segment_name(std::string_view file_name, SegmentName& out);
std::string segment_file_name(SegmentName name);

class SpoolDir {
 public:
  struct Opened;
  // Creates the directory (0700) if its parent exists, checks the format version, claims a new
  // owner id and adopts the segments of owners that are gone.
  static Result<Opened> open(const std::string& path);

  SpoolDir(const SpoolDir&) = delete;
  SpoolDir& operator=(const SpoolDir&) = delete;
  ~SpoolDir() { release(); }
  // Releases the owner lock and removes its lock file: what is left is adopted by the next opener.
  // The directory's path stays usable (for dead letters written by a late worker).
  void release() noexcept;

  const std::string& path() const noexcept { return path_; }
  std::uint64_t owner() const noexcept { return owner_; }
  std::string segment_path(std::uint32_t number) const;
  // The next segment, prepared ahead of need ("<owner>.spare"); not a segment until renamed.
  std::string spare_path() const;
  // fsync of the directory itself, so created and deleted segments survive power loss.
  Status sync() const;
  // Appends whole lines to the dead-letter file (0600), under its flock, and syncs it.
  Status append_dead_letters(std::string_view lines) const;
  // In a forked child: lets go of the parent's lock without removing its lock file.
  void abandon_after_fork() noexcept;

 private:
  SpoolDir(std::string path, std::uint64_t owner, int lock_fd) : path_(std::move(path)), owner_(owner), lock_fd_(lock_fd) {}

  std::string path_;
  std::uint64_t owner_;
  int lock_fd_;
};

struct SpoolDir::Opened {
  std::unique_ptr<SpoolDir> dir;
  std::vector<std::uint32_t> adopted;  // segment numbers now ours, oldest first
};

// Checks that `path` is a spool directory this library can read (for inspection: no locks taken).
Status check_spool_format(const std::string& path);
// Every segment file in the directory, sorted by owner and number.
Result<std::vector<SegmentName>> list_segments(const std::string& path);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_SPOOL_DIR_HPP
