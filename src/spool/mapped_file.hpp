// A spool segment file mapped into memory (MAP_SHARED), so an event copied into it is in the
// kernel's page cache at once: it survives the process being killed at any instant, and msync
// makes it survive power loss. Space is reserved with posix_fallocate when the file is created, so
// writes through the mapping can never hit a full disk (which would be SIGBUS).
#ifndef REFERKIT_SRC_SPOOL_MAPPED_FILE_HPP
#define REFERKIT_SRC_SPOOL_MAPPED_FILE_HPP

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "common/fork_registry.hpp"
#include "referkit/status.hpp"
#include "spool/unique_fd.hpp"

namespace referkit::detail {

// Opens an entry of a spool directory only if it is a regular file of this user: never follows a
// symlink (another spool's segment, say), never blocks (a FIFO), never opens a device or a
// directory. kFailedPrecondition says what the entry is instead. `st` receives its fstat.
Result<UniqueFd> open_spool_file(const std::string& path, int flags, struct stat& st);

class MappedFile {
 public:
  // Creates a new file (owner-only permissions) of exactly `capacity` bytes, all reserved on disk,
  // and holds an exclusive flock on it (see take_lock()).
  static Result<MappedFile> create(const std::string& path, std::size_t capacity);
  // Maps an existing file as it is (open_spool_file's checks); writable unless read_only.
  static Result<MappedFile> open(const std::string& path, bool read_only);
  // Maps `size` bytes of a file this process holds open; `path` names it in errors.
  static Result<MappedFile> map(int fd, std::size_t size, bool read_only, const std::string& path);
  // Maps a file of `size` bytes writable and keeps `fd` (holding its flock) as create() does.
  static Result<MappedFile> adopt(ParentOnlyFd fd, std::size_t size, const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  unsigned char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }
  // After the file was renamed.
  void set_path(std::string path) { path_ = std::move(path); }
  // The descriptor create() left open, holding the file's flock: whoever keeps it proves that the
  // file's owner is alive (renames keep the lock; it goes with the descriptor). A forked child
  // closes its copy (ParentOnlyFd), so a dead parent's spare is never kept locked by a child.
  ParentOnlyFd take_lock() noexcept { return std::move(lock_); }
  // Writes [from, to) back to the disk and waits for it (page-aligned outward).
  Status sync(std::size_t from, std::size_t to) const;
  // Maps [from, to) writable in the page tables ahead of use, without changing a byte, so the
  // writer does not take a page fault per page. Best effort: a no-op where the kernel lacks it.
  void prefault(std::size_t from, std::size_t to) const noexcept;
  // Drops this process's mapping of the whole pages in [from, to) (MADV_DONTNEED): they leave its
  // resident memory but stay in the page cache, written or not, and a later access maps them
  // again with the same bytes. Only for pages nobody is writing.
  void release(std::size_t from, std::size_t to) const noexcept;

 private:
  void reset() noexcept;

  std::string path_;
  ParentOnlyFd lock_;
  unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// errno as a Status for an operation on a path; ENOSPC/EDQUOT read as kResourceExhausted.
Status file_error(std::string_view what, const std::string& path, int err);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_MAPPED_FILE_HPP
