#include "spool/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace referkit::detail {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Result<unsigned char*> map(int fd, std::size_t size, bool writable, const std::string& path) {
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
  return Status(code, std::string(what) + " " + path + ": " + std::strerror(err));
}

Result<MappedFile> MappedFile::create(const std::string& path, std::size_t capacity) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (f.fd < 0) return file_error("cannot create", path, errno);
  // posix_fallocate returns the error instead of setting errno.
  if (int err = ::posix_fallocate(f.fd, 0, static_cast<off_t>(capacity)); err != 0) {
    ::unlink(path.c_str());
    return file_error("cannot reserve space for", path, err);
  }
  auto data = map(f.fd, capacity, true, path);
  if (!data) {
    ::unlink(path.c_str());
    return data.status();
  }
  MappedFile out;
  out.path_ = path;
  out.data_ = *data;
  out.size_ = capacity;
  return out;
}

Result<MappedFile> MappedFile::open(const std::string& path, bool read_only) {
  Fd f;
  f.fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (f.fd < 0) return file_error("cannot open", path, errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return file_error("cannot stat", path, errno);
  MappedFile out;
  out.path_ = path;
  out.size_ = static_cast<std::size_t>(st.st_size);
  if (out.size_ == 0) return out;  // nothing to map; readers see an empty file
  auto data = map(f.fd, out.size_, !read_only, path);
  if (!data) return data.status();
  out.data_ = *data;
  return out;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    path_ = std::move(other.path_);
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
  if (data_ != nullptr && start < end) (void)::madvise(data_ + start, end - start, MADV_POPULATE_WRITE);
#else
  (void)from;
  (void)to;
#endif
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
