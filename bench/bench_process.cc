#include "bench/bench_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>

extern char** environ;

namespace baton::bench {

namespace {

// posix_spawn of this binary with `args`; stdout to `out_fd` (or /dev/null when -1).
pid_t SpawnSelf(std::vector<std::string> args, int out_fd) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  if (posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

std::optional<int64_t> StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return std::nullopt;
}

}  // namespace

pid_t SpawnWorker(const std::string& url, const std::string& token, const std::string& id,
                  uint32_t capacity, const std::string& types) {
  return SpawnSelf({"baton", "worker", "--server", url, "--token", token, "--types", types,
                    "--executor", "noop", "--capacity", std::to_string(capacity), "--id", id},
                   -1);
}

pid_t SpawnShellWorker(const std::string& url, const std::string& token, const std::string& id,
                       const std::string& workdir) {
  return SpawnSelf({"baton", "worker", "--server", url, "--token", token, "--types", "shell",
                    "--capacity", "1", "--id", id, "--workdir", workdir},
                   -1);
}

void Say(std::string_view what, const std::string& text) {
  std::fprintf(stderr, "baton bench %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               text.c_str());
  std::fflush(stderr);
}

void StopWorkers(std::vector<pid_t>* pids) {
  for (pid_t pid : *pids) {
    if (pid > 0) ::kill(pid, SIGINT), ::kill(pid, SIGTERM);
  }
  for (pid_t pid : *pids) {
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
  pids->clear();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGKILL);
  if (out_fd_ >= 0) ::close(out_fd_);
}

bool ServerProcess::Start(const std::vector<std::string>& args, int timeout_s, std::string* error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = "pipe failed";
    return false;
  }
  std::vector<std::string> argv = {"baton", "server"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = SpawnSelf(argv, fds[1]);
  ::close(fds[1]);
  out_fd_ = fds[0];
  if (pid_ <= 0) {
    *error = "could not start baton server";
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string out;
  static const std::regex kListening("listening on http://[0-9.]+:(\\d+)");
  for (;;) {
    std::smatch m;
    if (std::regex_search(out, m, kListening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1]));
      return true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out_fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      *error = "the server did not say it listens within " + std::to_string(timeout_s) + " s";
      return false;
    }
    char chunk[512];
    const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
    if (n <= 0) {
      *error = "the server exited before it listened: " + out;
      return false;
    }
    out.append(chunk, static_cast<size_t>(n));
  }
}

int ServerProcess::Stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (out_fd_ >= 0) ::close(out_fd_);
  out_fd_ = -1;
  return status;
}

std::optional<int64_t> ServerProcess::RssKb() const {
  return pid_ > 0 ? StatusKb(pid_, "VmRSS") : std::nullopt;
}
std::optional<int64_t> ServerProcess::PeakRssKb() const {
  return pid_ > 0 ? StatusKb(pid_, "VmHWM") : std::nullopt;
}

}  // namespace baton::bench
