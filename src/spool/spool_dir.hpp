// A spool directory and who owns what in it. Several processes may share one directory: each
// claims an owner id, holds an flock on "<owner>.lock", and holds an flock on every segment
// "<owner>-<n>.seg" it has (on a descriptor kept open for the segment's life). Ownership rests on
// the segment locks: a lock file is a path, and a tmp cleaner or an operator can delete it while
// its owner lives, so a missing or unlocked lock file only says "maybe gone". Segments are adopted
// by the next process that opens the spool only when it can lock every one of their owner's
// segments itself (a live owner holds them): they are renamed into its name, in the order they
// were created, and delivered by it. A live owner that finds its lock file gone makes a new one.
// Opening (claiming an id and adopting) happens under "spool.lock", one process at a time, so no
// two processes ever adopt the same segment; it never blocks on an entry (a FIFO, say) while it
// holds that lock, follows no symlink, and skips (and reports) entries that are not regular files
// of this user instead of failing.
//
//   FORMAT              "referkit-spool <version>": refuses directories of a newer format
//   spool.lock          held only while a process opens the spool
//   <owner>.lock        held by a live owner (a hint: the segment locks decide)
//   <owner>-<n>.seg     segments (segment_format.hpp), n increasing in tracking order
//   <owner>.spare       an empty segment file prepared ahead (removed when its owner is gone)
//   <owner>.free        a resolved segment kept to be the next spare (removed when its owner is gone)
//   <owner>-<n>.seg.new a segment being made when no spare was ready (renamed once whole)
//   dead-letters.jsonl  events the server refused, one JSON object per line with the reason
//
// A tracker's spool (TrackerOptions::spool_dir) holds one such directory per lane:
// <spool_dir>/conversions and <spool_dir>/engagement (lane_directory()).
#ifndef REFERKIT_SRC_SPOOL_SPOOL_DIR_HPP
#define REFERKIT_SRC_SPOOL_SPOOL_DIR_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/fork_registry.hpp"
#include "referkit/events.hpp"
#include "referkit/status.hpp"
#include "spool/unique_fd.hpp"

namespace referkit::detail {

// The directory of one lane's spool inside a tracker's spool directory.
std::string lane_directory(const std::string& spool_dir, Lane lane);
// Creates the directory (0700) if it does not exist and makes its name durable; fails when the
// path exists and is not a directory.
Status ensure_directory(const std::string& path);


inline constexpr std::string_view kDeadLetterFile = "dead-letters.jsonl";

struct SegmentName {
  std::uint64_t owner = 0;
  std::uint32_t number = 0;
};
// "<16 hex>-<8 digits>.seg"; false for any other name.
bool parse_segment_name(std::string_view file_name, SegmentName& out);
std::string segment_file_name(SegmentName name);

// A segment a process took over (or holds): open read-write, its flock held by `file`.
struct AdoptedSegment {
  std::uint32_t number = 0;
  UniqueFd file;
  std::size_t size = 0;
};

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
  // A segment whose events are all resolved, renamed here to be reused as the next spare (its
  // records are an earlier use's, which format v3 tells apart: segment_format.hpp).
  std::string free_path() const;
  // fsync of the directory itself, so created and deleted segments survive power loss.
  Status sync() const;
  // Appends whole lines to the dead-letter file (0600), under its flock, and syncs it.
  Status append_dead_letters(std::string_view lines) const;
  // In a forked child: forgets the parent's lock without removing its lock file (the fork hook
  // closed the child's copy of its descriptor, a ParentOnlyFd).
  void abandon_after_fork() noexcept;
  // If "<owner>.lock" was deleted (or replaced) under us, makes and locks a new one, so that
  // inspection and older library versions still see this owner alive. The committer calls it on
  // every pass; not thread-safe against release().
  void restore_lock_file() noexcept;

 private:
  SpoolDir(std::string path, std::uint64_t owner, ParentOnlyFd lock)
      : path_(std::move(path)), owner_(owner), lock_(std::move(lock)) {}

  std::string path_;
  std::uint64_t owner_;
  ParentOnlyFd lock_;  // "<owner>.lock", flocked
};

struct SpoolDir::Opened {
  std::unique_ptr<SpoolDir> dir;
  std::vector<AdoptedSegment> adopted;  // now ours, oldest first
  std::vector<std::string> skipped;     // entries named like segments and left alone, each with why
};

// fork() must not copy a spool open in progress into the child: the child would keep descriptors
// that only the unfinished open knows about, and so spool.lock and the adopted segments' flocks,
// for its whole life. Whoever opens a spool in a process that may fork holds this from before
// SpoolDir::open() until the segments are where its fork handling finds them (the tracker: until
// the queue is its own). The fork registry's NoForkGuard is exactly that; this name says why.
using SpoolOpenForkGuard = NoForkGuard;

// Checks that `path` is a spool directory this library can read (for inspection: no locks taken).
Status check_spool_format(const std::string& path);
// A tracker's spool_dir holds lane directories only: kFailedPrecondition (or the newer-format
// error) when it is itself a spool directory, as written before lanes.
Status check_lanes_layout(const std::string& spool_dir);
// Every segment file in the directory, sorted by owner and number.
Result<std::vector<SegmentName>> list_segments(const std::string& path);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_SPOOL_DIR_HPP
