#include "local_ingest.hpp"

#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

extern char** environ;

namespace referkit::cli {
namespace {

using Steady = std::chrono::steady_clock;

// Reads until a newline or the deadline; the line without "\n", or nullopt.
std::optional<std::string> read_line(int fd, Steady::time_point deadline) {
  std::string line;
  while (Steady::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    if (poll(&p, 1, static_cast<int>(std::max<long long>(left, 1))) <= 0) continue;
    char c;
    const ssize_t n = read(fd, &c, 1);
    if (n <= 0) return std::nullopt;
    if (c == '\n') return line;
    line += c;
  }
  return std::nullopt;
}

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

Result<LocalIngest> LocalIngest::start(const std::string& write_key, std::chrono::milliseconds timeout) {
  const std::string server = executable_dir() + "/referkit-ingest";
  if (access(server.c_str(), X_OK) != 0) {
    return Status(StatusCode::kNotFound, server + " not found: build the referkit-ingest target");
  }
  char dir_template[] = "/tmp/referkit-demo-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return Status(StatusCode::kInternal, "cannot create a temporary directory");
  LocalIngest ingest;
  ingest.dir_ = dir_template;
  const std::string db = ingest.dir_ + "/ingest.db";

  int out[2];
  if (pipe(out) != 0) return Status(StatusCode::kInternal, "pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<std::string> args = {server, "--listen", "127.0.0.1:0", "--db", db, "--write-key", write_key};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&ingest.pid_, server.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  ingest.stdout_fd_ = out[0];
  if (rc != 0) {
    ingest.pid_ = -1;
    return Status(StatusCode::kInternal, "cannot start " + server);
  }
  auto line = read_line(ingest.stdout_fd_, Steady::now() + timeout);
  const std::string prefix = "listening on ";
  if (!line || line->rfind(prefix, 0) != 0) {
    return Status(StatusCode::kUnavailable, "referkit-ingest did not report its address in time");
  }
  ingest.url_ = line->substr(prefix.size());
  return ingest;
}

LocalIngest::LocalIngest(LocalIngest&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      dir_(std::move(other.dir_)),
      url_(std::move(other.url_)) {
  other.dir_.clear();
}

LocalIngest::~LocalIngest() { stop(); }

Result<std::string> LocalIngest::get(const std::string& path) const {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Status(StatusCode::kInternal, "curl_easy_init failed");
  std::string body;
  const std::string url = url_ + path;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  if (curl_easy_perform(curl.get()) != CURLE_OK) return Status(StatusCode::kUnavailable, "GET " + url + " failed");
  return body;
}

void LocalIngest::stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = Steady::now() + std::chrono::seconds(5);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Steady::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      usleep(10'000);  // polling a child's exit; bounded by the deadline above
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) close(std::exchange(stdout_fd_, -1));
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

}  // namespace referkit::cli
