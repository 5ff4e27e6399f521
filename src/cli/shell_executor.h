// The shell executor of `baton worker`: each attempt runs `/bin/sh -c COMMAND` (the payload's
// "command" field) in a fresh working directory, as the leader of its own process group.
//   - stdout and stderr stream to the server as the job's log;
//   - a line `::progress 0.42 some message` reports progress (it is not logged);
//   - the payload is in payload.json (BATON_PAYLOAD); a job without a "command" runs its type's
//     command (--command TYPE=CMD), else an uploaded run.sh;
//   - exit code 0 is success; the result is out/result.json if the job wrote one, else
//     {"exit_code": 0, "files": [names under out/]}; out/children.json (an array of jobs, as in
//     POST /v1/jobs) spawns sub-jobs before the success is reported;
//   - a stop from the server (cancel, timeout) or the worker stopping sends SIGTERM to the whole
//     process group, then SIGKILL after the grace period; when the attempt ends, whatever is left
//     of the group is killed, so no orphan outlives it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "client/worker.h"

namespace baton::cli {

struct ShellOptions {
  std::string workdir = "./baton-work";  // attempts run in WORKDIR/job-ID-ATTEMPT
  int64_t grace_ms = 5000;               // SIGTERM, then this long, then SIGKILL
  bool keep_workdirs = false;
  // The command of each type's jobs whose payload has no "command" (aggregators and verifiers
  // get their input as payload.json).
  std::map<std::string, std::string> commands;
};

client::Outcome RunShell(client::AttemptContext& context, const ShellOptions& options);

// A line a job printed, read as progress: "::progress 0.42 some message" gives 0.42 (clamped to
// 0..1) and "some message"; anything else (the line is then logged) nullopt.
struct ProgressLine {
  double fraction = 0;
  std::string message;
};
std::optional<ProgressLine> ParseProgressLine(std::string_view line);

}  // namespace baton::cli
