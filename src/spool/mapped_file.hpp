// A spool segment file mapped into memory (MAP_SHARED), so an event copied into it is in the
// kernel's page cache at once: it survives the process being killed at any instant, and msync
// makes it survive power loss. Space is reserved with posix_fallocate when the file is created, so
// writes through the mapping can never hit a full disk (which would be SIGBUS).
#ifndef REFERKIT_SRC_SPOOL_MAPPED_FILE_HPP
#define REFERKIT_SRC_SPOOL_MAPPED_FILE_HPP

#include <cstddef>
#include <string>

#include "referkit/status.hpp"

namespace referkit::detail {

class MappedFile {
 public:
  // Creates a new file (owner-only permissions) of exactly `capacity` bytes, all reserved on disk.
  static Result<MappedFile> create(const std::string& path, std::size_t capacity);
  // Maps an existing file as it is; writable unless read_only.
  static Result<MappedFile> open(const std::string& path, bool read_only);

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
  // Writes [from, to) back to the disk and waits for it (page-aligned outward).
  Status sync(std::size_t from, std::size_t to) const;
  // Maps [from, to) writable in the page tables ahead of use, without changing a byte, so the
  // writer does not take a page fault per page. Best effort: a no-op where the kernel lacks it.
  void prefault(std::size_t from, std::size_t to) const noexcept;

 private:
  void reset() noexcept;

  std::string path_;
  unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// errno as a Status for an operation on a path; ENOSPC/EDQUOT read as kResourceExhausted.
Status file_error(std::string_view what, const std::string& path, int err);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_SPOOL_MAPPED_FILE_HPP
