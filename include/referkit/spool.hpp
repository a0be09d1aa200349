// Looking into a durable spool (TrackerOptions::spool_dir) without opening a tracker: what is
// pending, how old it is, what was damaged, and which events the server refused. Read-only: it
// takes no locks and changes nothing, so it is safe while trackers use the directory.
#ifndef REFERKIT_SPOOL_HPP
#define REFERKIT_SPOOL_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "referkit/export.hpp"
#include "referkit/status.hpp"
#include "referkit/time.hpp"

namespace referkit {
inline namespace v1 {

// One lane's part of a tracker's spool (<dir>/conversions, <dir>/engagement).
struct SpoolLaneInfo {
  std::string lane;  // "conversions", "engagement"
  std::uint64_t pending_events = 0;
  std::uint64_t pending_bytes = 0;
  std::uint64_t disk_bytes = 0;
  std::optional<TimePoint> oldest_event;
  std::size_t segments = 0;
  std::uint64_t dead_letters = 0;
};

// Thread safety: plain values.
struct SpoolInfo {
  std::uint64_t pending_events = 0;     // on disk, not yet acknowledged
  std::uint64_t pending_bytes = 0;      // their serialized size
  std::uint64_t disk_bytes = 0;         // what the segment files take
  std::optional<TimePoint> oldest_event;  // when the oldest pending event was tracked
  std::size_t segments = 0;
  std::size_t live_owners = 0;          // processes that have the spool open now
  std::uint64_t corrupt_records = 0;    // damaged stretches a recovery would skip
  std::uint64_t corrupt_bytes = 0;      // the bytes they span
  std::uint64_t truncated_segments = 0; // segment files cut short (what is missing may have held events)
  std::uint64_t truncated_bytes = 0;    // how much is missing from them, where the header says
  std::uint64_t dead_letters = 0;       // lines in dead-letters.jsonl
  // Entries named like segments that were not read (symlinks, FIFOs, directories, other users'
  // files, files bigger than any segment, unreadable ones), each with why.
  std::vector<std::string> skipped;
  // Per lane, conversions first: what the totals above are made of. Empty when `dir` is a single
  // spool directory (a lane's own, or one written before lanes).
  std::vector<SpoolLaneInfo> lanes;
};

struct SpoolDeadLetter {
  std::string message_id;
  std::string reason;
  std::string at;          // RFC 3339, when it was refused
  std::string event_json;  // the event as it was sent
  std::uint64_t line = 0;  // its line number in its lane's dead-letter file (1-based)
  std::string lane;        // the lane it was refused in; empty for a single spool directory
  // Why the line could not be read (damaged, cut short by a crash); empty for a readable one.
  // The fields above are empty then: the line is still listed, so the list and
  // SpoolInfo::dead_letters count the same lines.
  std::string damage;
};

// `dir` is a tracker's spool_dir (its lanes are summed, and listed in SpoolInfo::lanes), or one
// spool directory. kNotFound when the directory does not exist, kFailedPrecondition when it is
// not a spool or is of a newer format version.
REFERKIT_EXPORT Result<SpoolInfo> inspect_spool(const std::string& dir);
// The refused events, lane by lane (conversions first), oldest first: one entry per non-empty line, damaged lines included (with
// `damage` set), so the list agrees with SpoolInfo::dead_letters.
REFERKIT_EXPORT Result<std::vector<SpoolDeadLetter>> read_dead_letters(const std::string& dir);

}  // namespace v1
}  // namespace referkit

#endif  // REFERKIT_SPOOL_HPP
