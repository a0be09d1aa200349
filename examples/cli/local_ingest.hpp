// Runs the reference ingest server (referkit-ingest, installed next to referkit) as a child
// process on a free loopback port with a throwaway database, for the demo.
#ifndef REFERKIT_EXAMPLES_CLI_LOCAL_INGEST_HPP
#define REFERKIT_EXAMPLES_CLI_LOCAL_INGEST_HPP

#include <sys/types.h>

#include <chrono>
#include <string>

#include "referkit/status.hpp"

namespace referkit::cli {

class LocalIngest {
 public:
  // Starts it and waits (up to `timeout`) for its "listening on <url>" line.
  static Result<LocalIngest> start(const std::string& write_key, std::chrono::milliseconds timeout);

  LocalIngest(LocalIngest&& other) noexcept;
  LocalIngest& operator=(LocalIngest&&) = delete;
  LocalIngest(const LocalIngest&) = delete;
  LocalIngest& operator=(const LocalIngest&) = delete;
  ~LocalIngest();  // stop()

  const std::string& url() const { return url_; }
  // GET url()+path; the body, or an error.
  Result<std::string> get(const std::string& path) const;
  // SIGTERM, wait for a clean exit (SIGKILL after 5 s), remove the database.
  void stop();

 private:
  LocalIngest() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string dir_;
  std::string url_;
};

// The directory of the running executable (where referkit-ingest is installed too).
std::string executable_dir();

}  // namespace referkit::cli

#endif  // REFERKIT_EXAMPLES_CLI_LOCAL_INGEST_HPP
