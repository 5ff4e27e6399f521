// Processes for `baton bench`: no-op workers and a server of its own, started from this binary,
// and what the kernel says of their memory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace baton::bench {

// `baton worker` with the no-op executor for `types`, its stdout to /dev/null; -1 if it did not
// start.
pid_t SpawnWorker(const std::string& url, const std::string& token, const std::string& id,
                  uint32_t capacity, const std::string& types = "bench");

// `baton worker` with the shell executor for type "shell", attempts under `workdir`.
pid_t SpawnShellWorker(const std::string& url, const std::string& token, const std::string& id,
                       const std::string& workdir);

// "baton bench WHAT: TEXT" on stderr, at once: a long benchmark's progress.
void Say(std::string_view what, const std::string& text);

// SIGINT then SIGTERM to each (a worker finishes what runs and stops), and waits for them.
void StopWorkers(std::vector<pid_t>* pids);

// `baton server ARGS...` in its own process; Start waits for its "listening on" line.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();  // SIGKILL if still running

  // False (with `error` set) if it did not start or said nothing within `timeout_s`.
  bool Start(const std::vector<std::string>& args, int timeout_s, std::string* error);
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the exit; the exit status.
  int Stop(int signal);
  // From /proc/PID/status: resident set now and its peak, in KiB (nullopt once it exited).
  std::optional<int64_t> RssKb() const;
  std::optional<int64_t> PeakRssKb() const;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace baton::bench
