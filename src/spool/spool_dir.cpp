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
#include <fmt/format.h>

#include <optional>
#include <random>
#include <thread>

#include "common/text.hpp"
#include "spool/mapped_file.hpp"
#include "spool/segment_format.hpp"

namespace referkit::detail {
namespace {

constexpr std::string_view kFormatFile = "FORMAT";
constexpr std::string_view kFormatPrefix = "referkit-spool ";
constexpr auto kDirLockTimeout = std::chrono::seconds(10);

std::string join(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

Status sync_directory(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return file_error("cannot sync the directory", path, errno);
  return {};
}

Result<std::string> read_small_file(const std::string& path) {
  struct stat st {};
  auto fd = open_spool_file(path, O_RDONLY, st);
  if (!fd) return fd.status();
  char buf[128];
  const ssize_t n = ::pread(fd->get(), buf, sizeof buf, 0);
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
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    auto text = read_small_file(path);
    if (!text) return text.status();
    return check_format_text(path, *text);
  }
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // left by a process killed here before
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
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

// Opens (or creates) a lock file without following a symlink or blocking on a FIFO.
Result<UniqueFd> open_lock_file(const std::string& path, bool create) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
  if (!fd.valid()) return file_error("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return file_error("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return Status(StatusCode::kFailedPrecondition, fmt::format("{} is not a regular file", path));
  return fd;
}

// Whether the owner's lock file says it may be gone: no lock file, or nobody holds its lock (then
// `held` holds it). Only "maybe": the lock file may have been deleted under a live owner, whose
// segment locks decide.
bool lock_file_says_gone(const std::string& dir, std::uint64_t owner, UniqueFd& held) {
  const std::string path = join(dir, hex_u64(owner) + ".lock");
  auto fd = open_lock_file(path, false);
  if (!fd) return fd.status().code() == StatusCode::kNotFound;
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) return false;
  held = std::move(*fd);
  return true;
}

// Whether nobody holds this file's flock; then `fd` holds it. The check spares and segments make.
bool unlocked(int fd) { return ::flock(fd, LOCK_EX | LOCK_NB) == 0; }

// Spare segment files ("<owner>.spare"), resolved segments kept for reuse ("<owner>.free") and
// half-made segments ("<owner>-<n>.seg.new") of owners that are gone hold no events: remove them.
// A live owner holds a lock on each.
void remove_dead_spares(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::pair<std::uint64_t, std::string>> files;  // owner, name
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    SegmentName seg;
    if ((name.size() == 22 && name.substr(16) == ".spare") || (name.size() == 21 && name.substr(16) == ".free")) {
      unsigned long long owner = 0;
      if (std::sscanf(std::string(name.substr(0, 16)).c_str(), "%16llx", &owner) == 1) files.emplace_back(owner, name);
    } else if (name.size() > 4 && name.substr(name.size() - 4) == ".new" &&
               parse_segment_name(name.substr(0, name.size() - 4), seg)) {
      files.emplace_back(seg.owner, name);
    }
  }
  ::closedir(d);
  for (const auto& [owner, name] : files) {
    UniqueFd held;
    if (!lock_file_says_gone(dir, owner, held)) continue;
    const std::string path = join(dir, name);
    struct stat st {};
    auto fd = open_spool_file(path, O_RDONLY, st);
    if (fd && unlocked(fd->get())) ::unlink(path.c_str());
  }
}

struct Orphan {
  SegmentName name;
  std::int64_t created_ms = 0;
  UniqueFd file;  // open read-write, its flock held
  std::size_t size = 0;
};

// An owner's segments when they can all be taken over: each is opened without following links or
// blocking, checked (a regular file of ours, no bigger than a segment), locked, and its header
// read. Entries that fail a check are skipped and reported; one the owner still holds locked
// means it is alive, and none is taken. kFailedPrecondition for a segment of a newer format.
Result<std::vector<Orphan>> take_dead_owners_segments(const std::string& dir, const std::vector<SegmentName>& names,
                                                      std::vector<std::string>& skipped) {
  std::vector<Orphan> out;
  for (const SegmentName& n : names) {
    const std::string path = join(dir, segment_file_name(n));
    struct stat st {};
    auto fd = open_spool_file(path, O_RDWR, st);
    if (!fd) {
      if (fd.status().code() != StatusCode::kNotFound) skipped.push_back(fd.status().message());
      continue;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size > kMaxSegmentFileBytes) {
      skipped.push_back(fmt::format("{} is {} bytes, more than any segment ({}): not read", path, size,
                                    kMaxSegmentFileBytes));
      continue;
    }
    if (!unlocked(fd->get())) {
      if (errno == EWOULDBLOCK) return std::vector<Orphan>{};  // its owner lives
      skipped.push_back(file_error("cannot lock", path, errno).message());
      continue;
    }
    unsigned char header[kSegmentHeaderBytes] = {};
    const ssize_t got = ::pread(fd->get(), header, sizeof header, 0);
    auto decoded = decode_segment_header(header, got < 0 ? 0 : static_cast<std::size_t>(got));
    if (!decoded && decoded.status().code() == StatusCode::kFailedPrecondition) {
      return Status(StatusCode::kFailedPrecondition, fmt::format("{}: {}", decoded.status().message(), path));
    }
    out.push_back(Orphan{n, decoded ? decoded->created_ms : 0, std::move(*fd), size});
  }
  return out;
}

}  // namespace

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

std::string lane_directory(const std::string& spool_dir, Lane lane) {
  std::string dir = spool_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/" + std::string(to_string(lane));
}


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

Status check_lanes_layout(const std::string& spool_dir) {
  struct stat st {};
  const std::string format = join(spool_dir, kFormatFile);
  if (::lstat(format.c_str(), &st) != 0) return {};  // no spool of the old layout here
  // A newer format says so first; an older layout is refused rather than silently left behind.
  if (Status s = check_spool_format(spool_dir); !s.ok()) return s;
  return Status(StatusCode::kFailedPrecondition,
                fmt::format("{} holds a spool written before lanes (its segments are in the directory itself, "
                            "not in conversions/ and engagement/): drain it with the referkit that wrote it, or "
                            "move its files into {}/conversions while no process uses it",
                            spool_dir, spool_dir));
}

Result<SpoolDir::Opened> SpoolDir::open(const std::string& path) {
  if (path.empty()) return Status(StatusCode::kInvalidArgument, "spool_dir is empty");
  if (Status s = ensure_directory(path); !s.ok()) return s;
  const std::string dir_lock_path = join(path, "spool.lock");
  auto dir_lock = open_lock_file(dir_lock_path, true);
  if (!dir_lock) return dir_lock.status();
  if (Status s = lock_exclusive(dir_lock->get(), dir_lock_path); !s.ok()) return s;
  if (Status s = ensure_format(path); !s.ok()) return s;

  const std::uint64_t owner = new_owner_id();
  const std::string owner_lock_path = join(path, hex_u64(owner) + ".lock");
  ParentOnlyFd owner_lock =
      ParentOnlyFd::open(owner_lock_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (!owner_lock.valid()) return file_error("cannot create", owner_lock_path, errno);
  if (::flock(owner_lock.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::unlink(owner_lock_path.c_str());
    return file_error("cannot lock", owner_lock_path, err);
  }
  Opened opened;
  opened.dir.reset(new SpoolDir(path, owner, std::move(owner_lock)));

  auto names = list_segments(path);
  if (!names) return names.status();
  // Everything is checked, and every segment to adopt locked, before anything is renamed: a spool
  // with a segment of a newer format is left as it is.
  std::vector<Orphan> orphans;
  std::vector<std::uint64_t> dead_owners;
  std::vector<UniqueFd> dead_locks;
  for (auto first = names->begin(); first != names->end();) {
    auto last = std::find_if(first, names->end(), [&](const SegmentName& n) { return n.owner != first->owner; });
    const std::vector<SegmentName> owned(first, last);
    first = last;
    UniqueFd held;
    if (!lock_file_says_gone(path, owned.front().owner, held)) continue;
    auto taken = take_dead_owners_segments(path, owned, opened.skipped);
    if (!taken) return taken.status();
    if (taken->empty()) continue;
    dead_owners.push_back(owned.front().owner);
    if (held.valid()) dead_locks.push_back(std::move(held));
    for (Orphan& o : *taken) orphans.push_back(std::move(o));
  }
  // In the order their segments were created: the order the events were tracked in.
  std::stable_sort(orphans.begin(), orphans.end(),
                   [](const Orphan& a, const Orphan& b) { return a.created_ms < b.created_ms; });
  std::uint32_t next = 1;
  for (Orphan& o : orphans) {
    const std::string from = join(path, segment_file_name(o.name));
    if (::rename(from.c_str(), opened.dir->segment_path(next).c_str()) != 0) {
      opened.skipped.push_back(file_error("cannot adopt", from, errno).message());
      continue;
    }
    opened.adopted.push_back(AdoptedSegment{next++, std::move(o.file), o.size});
  }
  for (std::uint64_t dead : dead_owners) ::unlink(join(path, hex_u64(dead) + ".lock").c_str());
  remove_dead_spares(path);
  if (!opened.adopted.empty()) {
    if (Status s = opened.dir->sync(); !s.ok()) return s;
  }
  return opened;
}

void SpoolDir::restore_lock_file() noexcept {
  if (!lock_.valid()) return;
  const std::string path = join(path_, hex_u64(owner_) + ".lock");
  struct stat held {}, named {};
  if (::fstat(lock_.get(), &held) != 0) return;
  if (::lstat(path.c_str(), &named) == 0 && named.st_ino == held.st_ino && named.st_dev == held.st_dev) return;
  ParentOnlyFd fd = ParentOnlyFd::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return;
  lock_ = std::move(fd);  // closes the one whose name is gone
}

void SpoolDir::release() noexcept {
  if (!lock_.valid()) return;
  ::unlink(join(path_, hex_u64(owner_) + ".lock").c_str());
  lock_.reset();
}

void SpoolDir::abandon_after_fork() noexcept { lock_.reset(); }

std::string SpoolDir::spare_path() const { return join(path_, hex_u64(owner_) + ".spare"); }

std::string SpoolDir::free_path() const { return join(path_, hex_u64(owner_) + ".free"); }

std::string SpoolDir::segment_path(std::uint32_t number) const {
  return join(path_, segment_file_name(SegmentName{owner_, number}));
}

Status SpoolDir::sync() const { return sync_directory(path_); }

Status SpoolDir::append_dead_letters(std::string_view lines) const {
  const std::string path = join(path_, kDeadLetterFile);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
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
