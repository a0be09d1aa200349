// One segment file of the spool as the queue and the committer see it.
#ifndef REFERKIT_SRC_SPOOL_SEGMENT_HPP
#define REFERKIT_SRC_SPOOL_SEGMENT_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/fork_registry.hpp"
#include "spool/boot_clock.hpp"
#include "spool/mapped_file.hpp"
#include "spool/segment_format.hpp"

namespace referkit::detail {

// Fields without a note are the queue's, under the tracker's mutex.
struct Segment {
  std::uint32_t number = 0;
  // Open for the segment's whole life, holding its flock: the proof that its owner is alive
  // (spool_dir.hpp). Also what it is mapped from, so a renamed or deleted path does not matter.
  // Closed in a forked child, wherever the segment is held then (waiting for deletion, say).
  ParentOnlyFd file;
  std::shared_ptr<MappedFile> map;      // mapped while being written, read or resolved
  std::size_t capacity = 0;             // the file's size (what is read of it)
  RecordFormat format;                  // how its records are checksummed (from its header)
  BootTime created;                     // boot_id 0 when unknown (a v1 segment, a damaged header)
  std::atomic<std::size_t> written{0};  // end of the data; appends advance it (the committer reads it)
  bool appendable = false;              // the newest segment, still taking appends
  bool written_here = false;            // created by this process: its records need no checksum test,
                                        // and its file may be reused once they are all resolved
  std::size_t read_pos = 0;             // where the next record to take starts
  std::size_t acked = 0;                // records before it are resolved
  std::uint64_t first_seq = 0;          // seq of its first pending record
  std::uint64_t records = 0;            // pending records in it (found at open or appended)
  std::uint64_t taken = 0;
  std::size_t untaken_wire = 0;         // their bytes in a batch body

  std::size_t data_end() const { return written.load(std::memory_order_acquire); }
};

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_SEGMENT_HPP
