// ChildProcess: starts a real process with its stdout on a pipe, reads its lines, and kills it by
// PID when the test is done with it, also when the test fails. Test-only; Linux.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace baton::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0 && !stop_signals_.empty()) {
      // Asked to stop itself first (a worker stops its jobs' process groups); SIGKILL after 10 s.
      for (int signal : stop_signals_) ::kill(pid_, signal);
      for (int i = 0; i < 1000; ++i) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return;
        }
        usleep(10'000);
      }
    }
    Kill(SIGKILL);
  }
  // At destruction, send `signals` (distinct ones: equal pending signals merge) and give the
  // process 10 s to end before SIGKILL.
  void StopWith(std::vector<int> signals) { stop_signals_ = std::move(signals); }

  // Starts `argv[0]` with `argv`; returns false if it could not be started. The child is killed
  // when this process dies, even if it crashes before its destructors run (PR_SET_PDEATHSIG), so
  // no test leaves a process behind.
  bool Start(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) {
      close(fds[0]);
      close(fds[1]);
      return false;
    }
    if (pid_ == 0) {  // the child: only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
      dup2(fds[1], STDOUT_FILENO);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    return true;
  }

  // The next complete line, waiting up to `timeout`; nullopt at the end of output or time-out.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (!ReadMore(deadline)) return std::nullopt;
    }
  }

  // Sends `signal` and reaps the process (for SIGKILL), once.
  void Kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    if (signal == SIGKILL) Wait();
  }

  // Waits for the process to end; returns its wait status.
  int Wait() {
    int status = 0;
    if (pid_ > 0) {
      waitpid(pid_, &status, 0);
      pid_ = -1;
      wait_status_ = status;
    }
    return wait_status_;
  }

  // Every complete line still in the pipe (after the process ended).
  std::vector<std::string> DrainLines() {
    std::vector<std::string> lines;
    while (auto line = ReadLine(std::chrono::milliseconds(2000))) lines.push_back(*line);
    return lines;
  }

  // Everything the process prints until it closes its stdout (normally: it ended), waiting up to
  // `max` in all; a partial last line included.
  std::string ReadToEnd(std::chrono::milliseconds max) {
    const auto deadline = std::chrono::steady_clock::now() + max;
    while (ReadMore(deadline)) {
    }
    return std::exchange(buffer_, std::string());
  }

  pid_t pid() const { return pid_; }

 private:
  // Appends what arrives before `deadline` to buffer_; false at the end of the output (the pipe
  // closed) or at the deadline.
  bool ReadMore(std::chrono::steady_clock::time_point deadline) {
    if (out_fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return true;  // the deadline says
    char chunk[65536];
    ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n <= 0) {
      close(out_fd_);
      out_fd_ = -1;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  std::vector<int> stop_signals_;
  int out_fd_ = -1;
  int wait_status_ = 0;
  std::string buffer_;
};

}  // namespace baton::testing
