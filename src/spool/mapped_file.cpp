#include "spool/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace referkit::detail {
namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

Result<unsigned char*> map_fd(int fd, std::size_t size, bool writable, const std::string& path) {
  const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return file_error("cannot map", path, errno);
  return static_cast<unsigned char*>(p);
}

}  // namespace

Status file_error(std::string_view what, const std::string& path, int err) {
  StatusCode code = StatusCode::kInternal;
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG: code = StatusCode::kResourceExhausted; break;
    case ENOENT:
    case ENOTDIR: code = StatusCode::kNotFound; break;
    case EACCES:
    case EPERM:
    case EROFS: code = StatusCode::kPermissionDenied; break;
    default: break;
  }
  return Status(code, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

Result<UniqueFd> open_spool_file(const std::string& path, int flags, struct stat& st) {
  UniqueFd fd(::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ELOOP) return Status(StatusCode::kFailedPrecondition, fmt::format("{} is a symlink; not followed", path));
    return file_error("cannot open", path, errno);
  }
  if (::fstat(fd.get(), &st) != 0) return file_error("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return Status(StatusCode::kFailedPrecondition, fmt::format("{} is {}", path, file_kind(st.st_mode)));
  if (st.st_uid != ::geteuid()) {
    return Status(StatusCode::kPermissionDenied,
                  fmt::format("{} belongs to uid {}, not to this user (uid {})", path, st.st_uid, ::geteuid()));
  }
  return fd;
}

Result<MappedFile> MappedFile::create(const std::string& path, std::size_t capacity) {
  ParentOnlyFd fd = ParentOnlyFd::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (!fd.valid()) return file_error("cannot create", path, errno);
  // Nobody else can hold it yet (O_EXCL): this cannot block.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    return file_error("cannot lock", path, err);
  }
  // posix_fallocate returns the error instead of setting errno.
  if (int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(capacity)); err != 0) {
    ::unlink(path.c_str());
    return file_error("cannot reserve space for", path, err);
  }
  auto out = map(fd.get(), capacity, false, path);
  if (!out) {
    ::unlink(path.c_str());
    return out.status();
  }
  out->lock_ = std::move(fd);
  return out;
}

Result<MappedFile> MappedFile::open(const std::string& path, bool read_only) {
  struct stat st {};
  auto fd = open_spool_file(path, read_only ? O_RDONLY : O_RDWR, st);
  if (!fd) return fd.status();
  return map(fd->get(), static_cast<std::size_t>(st.st_size), read_only, path);
}

Result<MappedFile> MappedFile::map(int fd, std::size_t size, bool read_only, const std::string& path) {
  MappedFile out;
  out.path_ = path;
  if (size == 0) return out;  // nothing to map; readers see an empty file
  auto data = map_fd(fd, size, !read_only, path);
  if (!data) return data.status();
  out.data_ = *data;
  out.size_ = size;
  return out;
}

Result<MappedFile> MappedFile::adopt(ParentOnlyFd fd, std::size_t size, const std::string& path) {
  auto out = map(fd.get(), size, false, path);
  if (out) out->lock_ = std::move(fd);
  return out;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      lock_(std::move(other.lock_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::move(other.path_);
    lock_ = std::move(other.lock_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

void MappedFile::prefault(std::size_t from, std::size_t to) const noexcept {
#ifdef MADV_POPULATE_WRITE
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t start = from / page * page;
  const std::size_t end = std::min(size_, to);
  // In steps of 64 KiB: the kernel holds the process's memory-map lock for the whole of one
  // call, and an mmap or munmap elsewhere (a segment mapped for reading, malloc) queues behind
  // it, and every page fault of every thread, track()'s included, behind that.
  constexpr std::size_t kStep = std::size_t{64} << 10;
  for (std::size_t at = start; data_ != nullptr && at < end; at += kStep) {
    (void)::madvise(data_ + at, std::min(kStep, end - at), MADV_POPULATE_WRITE);
  }
#else
  (void)from;
  (void)to;
#endif
}

void MappedFile::release(std::size_t from, std::size_t to) const noexcept {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t start = (from + page - 1) / page * page;
  const std::size_t end = std::min(size_, to) / page * page;
  if (data_ != nullptr && start < end) (void)::madvise(data_ + start, end - start, MADV_DONTNEED);
}

Status MappedFile::sync(std::size_t from, std::size_t to) const {
  if (data_ == nullptr || from >= to) return {};
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t start = from / page * page;
  const std::size_t end = std::min(size_, to);
  if (::msync(data_ + start, end - start, MS_SYNC) != 0) return file_error("cannot sync", path_, errno);
  return {};
}

}  // namespace referkit::detail
