#include "cli/shell_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

extern char** environ;

namespace baton::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<ProgressLine> ParseProgressLine(std::string_view line) {
  constexpr std::string_view kPrefix = "::progress ";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  const size_t space = line.find(' ');
  const std::string number(line.substr(0, space));
  char* end = nullptr;
  const double fraction = std::strtod(number.c_str(), &end);
  if (end == number.c_str() || *end != '\0' || std::isnan(fraction)) return std::nullopt;
  return ProgressLine{std::clamp(fraction, 0.0, 1.0),
                      space == std::string_view::npos ? "" : std::string(line.substr(space + 1))};
}

namespace {

// Splits what a stream prints into lines: progress lines become progress, the rest is log.
class LineSplitter {
 public:
  LineSplitter(client::AttemptContext& context, const char* stream)
      : context_(context), stream_(stream) {}

  void Feed(const char* data, size_t n) {
    partial_.append(data, n);
    std::string log;
    size_t start = 0, end;
    while ((end = partial_.find('\n', start)) != std::string::npos) {
      std::string_view line(partial_.data() + start, end - start);
      if (!Progress(line)) log.append(line).push_back('\n');
      start = end + 1;
    }
    partial_.erase(0, start);
    if (partial_.size() > 64 * 1024) {  // a very long line: pass it on in pieces
      log += partial_;
      partial_.clear();
    }
    if (!log.empty()) context_.Log(stream_, std::move(log));
  }
  void Finish() {
    if (!partial_.empty() && !Progress(partial_)) context_.Log(stream_, partial_);
    partial_.clear();
  }

 private:
  bool Progress(std::string_view line) {
    std::optional<ProgressLine> p = ParseProgressLine(line);
    if (!p) return false;
    context_.Progress(p->fraction, std::move(p->message));
    return true;
  }

  client::AttemptContext& context_;
  const char* stream_;
  std::string partial_;
};

// Whether `path` (a file the job made) resolves inside `dir`, also through symbolic links: a job
// must not hand the worker's other files (its keys, its config) to the server as its output.
bool ResolvesInside(const fs::path& path, const fs::path& dir) {
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(path, ec);
  if (ec) return false;
  const fs::path root = fs::weakly_canonical(dir, ec);
  if (ec) return false;
  auto t = target.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++t) {
    if (t == target.end() || *t != *r) return false;
  }
  return true;
}

}  // namespace

client::Outcome RunShell(client::AttemptContext& context, const ShellOptions& options) {
  const json::value& payload = context.payload();
  const json::value* command =
      payload.is_object() ? payload.as_object().if_contains("command") : nullptr;
  const auto& inputs = context.input_files();
  const bool has_run_sh = std::find(inputs.begin(), inputs.end(), "run.sh") != inputs.end();
  if (command != nullptr && (!command->is_string() || command->as_string().empty())) {
    return client::Outcome::Error(R"(payload: "command" must be a non-empty string)", false);
  }
  auto typed = options.commands.find(context.type());
  if (command == nullptr && typed == options.commands.end() && !has_run_sh) {
    return client::Outcome::Error(
        R"(payload: needs "command", the shell command to run (or upload a run.sh, or start )"
        "the worker with --command " +
            context.type() + "=CMD)",
        false);
  }
  const fs::path dir =
      fs::absolute(fs::path(options.workdir) / ("job-" + std::to_string(context.job()) + "-" +
                                                std::to_string(context.attempt())));
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "out", ec);
  if (ec) return client::Outcome::Error("cannot create " + dir.string() + ": " + ec.message());
  context.SetSnapshotDir(dir.string());  // a partial result is this directory as it is then
  if (!inputs.empty()) {
    if (Status s = context.FetchInputs(dir.string()); !s.ok()) {
      if (!options.keep_workdirs) fs::remove_all(dir, ec);
      return client::Outcome::Error("fetch the input files: " + s.ToString());
    }
  }
  {
    std::ofstream out(dir / "payload.json", std::ios::binary);
    out << json::serialize(payload);
    if (!out) return client::Outcome::Error("cannot write " + (dir / "payload.json").string());
  }
  // A run.sh with a "#!" line runs as a program (its interpreter chosen by it); else with sh.
  // Either way it replaces the shell that starts it (exec), so that the job's own process gets
  // the stop's SIGTERM and its grace period, not a wrapper that would die at once.
  std::string text = command != nullptr                ? std::string(command->as_string())
                     : typed != options.commands.end() ? typed->second
                                                       : "exec sh ./run.sh";
  if (command == nullptr && typed == options.commands.end()) {
    std::ifstream script(dir / "run.sh");
    char magic[2] = {};
    script.read(magic, 2);
    if (magic[0] == '#' && magic[1] == '!') {
      fs::permissions(dir / "run.sh", fs::perms::owner_exec, fs::perm_options::add, ec);
      text = "exec ./run.sh";
    }
  }

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return client::Outcome::Error(std::string("pipe: ") + std::strerror(errno));
  }
  const std::string job_env = "BATON_JOB_ID=" + std::to_string(context.job());
  const std::string attempt_env = "BATON_ATTEMPT=" + std::to_string(context.number());
  const std::string out_env = "BATON_OUT=" + (dir / "out").string();
  const std::string payload_env = "BATON_PAYLOAD=" + (dir / "payload.json").string();
  // Everything the child needs is built before fork: a threaded parent's child may not allocate.
  std::vector<char*> env;
  // The worker's token stays with the worker: a job gets no credentials of the server's.
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "BATON_TOKEN=", 12) != 0) env.push_back(*e);
  }
  env.push_back(const_cast<char*>(job_env.c_str()));
  env.push_back(const_cast<char*>(attempt_env.c_str()));
  env.push_back(const_cast<char*>(out_env.c_str()));
  env.push_back(const_cast<char*>(payload_env.c_str()));
  env.push_back(nullptr);
  const char* argv[] = {"sh", "-c", text.c_str(), nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return client::Outcome::Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    // The worker blocks SIGTERM and SIGINT for sigwait; the job starts with them as usual.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    if (::chdir(dir.c_str()) != 0) _exit(126);
    ::execve("/bin/sh", const_cast<char* const*>(argv), env.data());
    _exit(127);
  }
  ::setpgid(pid, pid);  // also here: no signal may miss the group for want of it
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  LineSplitter out(context, "stdout"), err(context, "stderr");
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  const int64_t started = NowMs();
  int64_t term_sent_ms = 0;
  bool killed = false, timed_out = false;
  int status = 0;
  bool exited = false, done = false;
  char buffer[16384];
  // Until the job's process has exited and, once it was told to stop, until the rest of its group
  // has too (or the grace period is over): a job cleaning up in a child of its own gets the
  // whole grace period, however its first process ends.
  while (!done) {
    ::poll(fds, 2, 50);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 0 ? out : err).Feed(buffer, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (!exited) exited = ::waitpid(pid, &status, WNOHANG) == pid;
    const int64_t now = NowMs();
    if (!timed_out && context.timeout_ms() > 0 && now - started > context.timeout_ms()) {
      timed_out = true;  // the server times it out too; this stops it even if it cannot say so
    }
    if ((context.stopped() || timed_out) && term_sent_ms == 0 && !exited) {
      ::kill(-pid, SIGTERM);
      term_sent_ms = now;
    }
    if (term_sent_ms != 0 && !killed && now - term_sent_ms >= options.grace_ms) {
      ::kill(-pid, SIGKILL);
      killed = true;
    }
    done = exited && (term_sent_ms == 0 || killed || ::kill(-pid, 0) != 0);
  }
  // What the job left running in its group goes with it; then the last of its output.
  ::kill(-pid, SIGKILL);
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0) continue;
    ::fcntl(fds[i].fd, F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = ::read(fds[i].fd, buffer, sizeof buffer)) > 0) {
      (i == 0 ? out : err).Feed(buffer, static_cast<size_t>(n));
    }
    ::close(fds[i].fd);
  }
  out.Finish();
  err.Finish();

  auto finish = [&](client::Outcome outcome) {
    context.SetSnapshotDir("");
    if (!options.keep_workdirs) fs::remove_all(dir, ec);
    return outcome;
  };
  if (context.stopped()) return finish(client::Outcome::Error("stopped: " + context.stop_reason()));
  if (timed_out) {
    return finish(
        client::Outcome::Error("timed out after " + std::to_string(context.timeout_ms()) + " ms"));
  }
  if (WIFSIGNALED(status)) {
    return finish(client::Outcome::Error("killed by signal " + std::to_string(WTERMSIG(status)) +
                                         " (" + strsignal(WTERMSIG(status)) + ")"));
  }
  // out/NAME read as JSON, if the job wrote it.
  auto read_json = [&](const char* name) -> Result<std::optional<json::value>> {
    const fs::path path = dir / "out" / name;
    if (!fs::exists(path, ec)) return std::optional<json::value>();
    if (!ResolvesInside(path, dir)) {
      return InvalidArgument(std::string("out/") + name +
                             ": a symbolic link to a file outside the job's directory");
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    boost::system::error_code jec;
    json::value v = json::parse(text, jec);
    if (jec) return InvalidArgument(std::string("out/") + name + ": not JSON: " + jec.message());
    return std::optional<json::value>(std::move(v));
  };
  const int code = WEXITSTATUS(status);
  if (code != 0) {
    // A failed job keeps what it handed in (an ordered list of messages, say) as its result.
    std::string error = "exit code " + std::to_string(code);
    Result<std::optional<json::value>> handed = read_json("result.json");
    if (!handed.ok())
      return finish(client::Outcome::Error(error + "; " + handed.status().message()));
    if (handed->has_value()) return finish(client::Outcome::Failed(error, std::move(**handed)));
    return finish(client::Outcome::Error(error));
  }
  // Success: the files under out/ go to the server before the outcome does.
  json::array files;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "out", ec)) {
    if (entry.is_regular_file()) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    const std::string name = path.lexically_relative(dir / "out").string();
    if (!ResolvesInside(path, dir)) {
      return finish(client::Outcome::Error(
          "out/" + name + ": a symbolic link to a file outside the job's directory", false));
    }
    std::ifstream in(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    if (!in && !in.eof()) return finish(client::Outcome::Error("read out/" + name + ": failed"));
    if (Status s = context.UploadOutput(name, data); !s.ok()) {
      // A refused name or size will not change on a retry; a lost connection may.
      const bool retryable =
          s.code() != StatusCode::kInvalidArgument && s.code() != StatusCode::kResourceExhausted;
      return finish(client::Outcome::Error("out/" + name + ": " + s.ToString(), retryable));
    }
    files.emplace_back(name);
  }
  // Sub-jobs, then the result: both read before the success is reported.
  Result<std::optional<json::value>> children = read_json("children.json");
  if (!children.ok()) return finish(client::Outcome::Error(children.status().message(), false));
  if (children->has_value()) {
    json::value& v = **children;
    if (v.is_object() && v.as_object().contains("jobs")) v = v.as_object().at("jobs");
    if (!v.is_array()) {
      return finish(client::Outcome::Error(
          R"(out/children.json: must be an array of jobs or {"jobs": [...]})", false));
    }
    Result<std::vector<uint64_t>> ids = context.Spawn(v.as_array());
    if (!ids.ok()) {
      const bool retryable = ids.status().code() == StatusCode::kUnavailable;
      return finish(
          client::Outcome::Error("out/children.json: " + ids.status().ToString(), retryable));
    }
  }
  Result<std::optional<json::value>> result = read_json("result.json");
  if (!result.ok()) return finish(client::Outcome::Error(result.status().message(), false));
  if (result->has_value()) return finish(client::Outcome::Succeeded(std::move(**result)));
  return finish(client::Outcome::Succeeded(json::object{{"exit_code", 0}, {"files", files}}));
}

}  // namespace baton::cli
