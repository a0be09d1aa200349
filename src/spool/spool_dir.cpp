#include "spool/spool_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <thread>

#include "spool/mapped_file.hpp"
#include "spool/segment_format.hpp"

namespace referkit::detail {
namespace {

constexpr std::string_view kFormatFile = "FORMAT";
constexpr std::string_view kFormatPrefix = "referkit-spool ";
constexpr auto kDirLockTimeout = std::chrono::seconds(10);

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string join(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Status sync_directory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return file_error("cannot sync the directory", path, errno);
  return {};
}

Status ensure_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) {
    // The new directory's name must survive power loss too.
    std::string parent = path;
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    const auto slash = parent.rfind('/');
    parent = slash == std::string::npos ? "." : slash == 0 ? "/" : parent.substr(0, slash);
    return sync_directory(parent);
  }
  if (errno != EEXIST) return file_error("cannot create the spool directory", path, errno);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return file_error("cannot stat the spool directory", path, errno);
  if (!S_ISDIR(st.st_mode)) return Status(StatusCode::kFailedPrecondition, "spool path is not a directory: " + path);
  return {};
}

Result<std::string> read_small_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return file_error("cannot open", path, errno);
  char buf[128];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return file_error("cannot read", path, errno);
  return std::string(buf, static_cast<std::size_t>(n));
}

Status check_format_text(const std::string& path, std::string_view text) {
  if (text.rfind(kFormatPrefix, 0) != 0) {
    return Status(StatusCode::kFailedPrecondition, path + " does not describe a referkit spool");
  }
  const unsigned long version = std::strtoul(std::string(text.substr(kFormatPrefix.size())).c_str(), nullptr, 10);
  if (version == 0) return Status(StatusCode::kFailedPrecondition, path + " is damaged");
  if (version > kSpoolFormatVersion) {
    return Status(StatusCode::kFailedPrecondition,
                  "spool format version " + std::to_string(version) + " is newer than this library's (" +
                      std::to_string(kSpoolFormatVersion) + "): " + path);
  }
  return {};
}

// Writes FORMAT for a new spool (complete or not at all: a temporary file, synced, then renamed),
// or checks the existing one. Runs under spool.lock.
Status ensure_format(const std::string& dir) {
  const std::string path = join(dir, kFormatFile);
  if (::access(path.c_str(), F_OK) == 0) {
    auto text = read_small_file(path);
    if (!text) return text.status();
    return check_format_text(path, *text);
  }
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // left by a process killed here before
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return file_error("cannot create", tmp, errno);
  const std::string text = std::string(kFormatPrefix) + std::to_string(kSpoolFormatVersion) + "\n";
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd.get()) != 0 ||
      ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return file_error("cannot write", path, err);
  }
  return sync_directory(dir);
}

// Waits (bounded) for an exclusive flock.
Status lock_exclusive(int fd, const std::string& path) {
  const auto give_up = std::chrono::steady_clock::now() + kDirLockTimeout;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return file_error("cannot lock", path, errno);
    if (std::chrono::steady_clock::now() >= give_up) {
      return Status(StatusCode::kDeadlineExceeded, "another process holds " + path + " for more than 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {};
}

std::uint64_t new_owner_id() {
  std::random_device rd;
  std::uint64_t id = 0;
  while (id == 0) id = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return id;
}

// Whether the owner of these segments is gone: no lock file, or nobody holds its lock. A dead
// owner's lock file is removed once its segments are adopted.
bool owner_is_gone(const std::string& dir, std::uint64_t owner, Fd& held) {
  const std::string path = join(dir, hex16(owner) + ".lock");
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return errno == ENOENT;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return false;
  held = Fd(fd.release());
  return true;
}

// Spare segment files ("<owner>.spare") of owners that are gone hold no events: remove them.
void remove_dead_spares(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::uint64_t> owners;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() != 22 || name.substr(16) != ".spare") continue;
    unsigned long long owner = 0;
    if (std::sscanf(std::string(name.substr(0, 16)).c_str(), "%16llx", &owner) == 1) owners.push_back(owner);
  }
  ::closedir(d);
  for (std::uint64_t owner : owners) {
    Fd held;
    if (owner_is_gone(dir, owner, held)) ::unlink(join(dir, hex16(owner) + ".spare").c_str());
  }
}

struct Orphan {
  SegmentName name;
  std::int64_t created_ms = 0;
};

}  // namespace

bool parse_segment_name(std::string_view name, SegmentName& out) {
  // 16 hex, '-', 8 digits, ".seg"
  if (name.size() != 16 + 1 + 8 + 4 || name[16] != '-' || name.substr(25) != ".seg") return false;
  std::uint64_t owner = 0;
  for (char c : name.substr(0, 16)) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else return false;
    owner = owner << 4 | static_cast<std::uint64_t>(v);
  }
  std::uint32_t number = 0;
  for (char c : name.substr(17, 8)) {
    if (c < '0' || c > '9') return false;
    number = number * 10 + static_cast<std::uint32_t>(c - '0');
  }
  out = SegmentName{owner, number};
  return true;
}

std::string segment_file_name(SegmentName name) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx-%08u.seg", static_cast<unsigned long long>(name.owner), name.number);
  return buf;
}

Result<std::vector<SegmentName>> list_segments(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return file_error("cannot list the spool directory", path, errno);
  std::vector<SegmentName> out;
  while (const dirent* e = ::readdir(d)) {
    SegmentName name;
    if (parse_segment_name(e->d_name, name)) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const SegmentName& a, const SegmentName& b) {
    return a.owner != b.owner ? a.owner < b.owner : a.number < b.number;
  });
  return out;
}

Status check_spool_format(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return file_error("cannot open the spool directory", path, errno);
  if (!S_ISDIR(st.st_mode)) return Status(StatusCode::kFailedPrecondition, "spool path is not a directory: " + path);
  auto text = read_small_file(join(path, kFormatFile));
  if (!text && text.status().code() == StatusCode::kNotFound) {
    return Status(StatusCode::kFailedPrecondition, "not a referkit spool (no FORMAT file): " + path);
  }
  if (!text) return text.status();
  return check_format_text(join(path, kFormatFile), *text);
}

Result<SpoolDir::Opened> SpoolDir::open(const std::string& path) {
  if (path.empty()) return Status(StatusCode::kInvalidArgument, "spool_dir is empty");
  if (Status s = ensure_directory(path); !s.ok()) return s;
  const std::string dir_lock_path = join(path, "spool.lock");
  Fd dir_lock(::open(dir_lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (dir_lock.get() < 0) return file_error("cannot open", dir_lock_path, errno);
  if (Status s = lock_exclusive(dir_lock.get(), dir_lock_path); !s.ok()) return s;
  if (Status s = ensure_format(path); !s.ok()) return s;

  const std::uint64_t owner = new_owner_id();
  const std::string owner_lock_path = join(path, hex16(owner) + ".lock");
  Fd owner_lock(::open(owner_lock_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (owner_lock.get() < 0) return file_error("cannot create", owner_lock_path, errno);
  if (::flock(owner_lock.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::unlink(owner_lock_path.c_str());
    return file_error("cannot lock", owner_lock_path, err);
  }
  Opened opened;
  opened.dir.reset(new SpoolDir(path, owner, owner_lock.release()));

  auto names = list_segments(path);
  if (!names) return names.status();
  // Check every segment's version before touching any, so a newer spool is left as it is.
  std::vector<Orphan> orphans;
  std::vector<Fd> dead_locks;
  std::optional<std::uint64_t> checked_owner;
  bool gone = false;
  for (const SegmentName& n : *names) {
    const std::string seg = join(path, segment_file_name(n));
    Fd fd(::open(seg.c_str(), O_RDONLY | O_CLOEXEC));
    unsigned char header[kSegmentHeaderBytes] = {};
    const ssize_t got = fd.get() < 0 ? -1 : ::pread(fd.get(), header, sizeof header, 0);
    auto decoded = decode_segment_header(header, got < 0 ? 0 : static_cast<std::size_t>(got));
    if (!decoded && decoded.status().code() == StatusCode::kFailedPrecondition) {
      return Status(StatusCode::kFailedPrecondition, decoded.status().message() + ": " + seg);
    }
    if (checked_owner != n.owner) {
      checked_owner = n.owner;
      Fd held;
      gone = owner_is_gone(path, n.owner, held);
      if (held.get() >= 0) dead_locks.push_back(std::move(held));
    }
    if (gone) orphans.push_back(Orphan{n, decoded ? decoded->created_ms : 0});
  }
  std::stable_sort(orphans.begin(), orphans.end(),
                   [](const Orphan& a, const Orphan& b) { return a.created_ms < b.created_ms; });
  std::uint32_t next = 1;
  for (const Orphan& o : orphans) {
    const std::string from = join(path, segment_file_name(o.name));
    if (::rename(from.c_str(), opened.dir->segment_path(next).c_str()) != 0) {
      return file_error("cannot adopt", from, errno);
    }
    opened.adopted.push_back(next++);
  }
  for (const Orphan& o : orphans) ::unlink(join(path, hex16(o.name.owner) + ".lock").c_str());
  remove_dead_spares(path);
  if (!orphans.empty()) {
    if (Status s = opened.dir->sync(); !s.ok()) return s;
  }
  return opened;
}

void SpoolDir::release() noexcept {
  if (lock_fd_ < 0) return;
  ::unlink(join(path_, hex16(owner_) + ".lock").c_str());
  ::close(lock_fd_);
  lock_fd_ = -1;
}

void SpoolDir::abandon_after_fork() noexcept {
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

std::string SpoolDir::spare_path() const { return join(path_, hex16(owner_) + ".spare"); }

std::string SpoolDir::segment_path(std::uint32_t number) const {
  return join(path_, segment_file_name(SegmentName{owner_, number}));
}

Status SpoolDir::sync() const { return sync_directory(path_); }

Status SpoolDir::append_dead_letters(std::string_view lines) const {
  const std::string path = join(path_, kDeadLetterFile);
  Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return file_error("cannot open", path, errno);
  if (Status s = lock_exclusive(fd.get(), path); !s.ok()) return s;
  while (!lines.empty()) {
    const ssize_t n = ::write(fd.get(), lines.data(), lines.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return file_error("cannot write", path, errno);
    }
    lines.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fdatasync(fd.get()) != 0) return file_error("cannot sync", path, errno);
  return {};
}

}  // namespace referkit::detail
