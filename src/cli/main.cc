// baton: the command. `baton server` runs the server, `baton worker` a worker with the shell
// executor, and the rest are client commands over the REST API (docs/cli.md).
//
// Exit codes: 0 done; 1 the job ended failed or cancelled (submit --wait, wait); 2 bad arguments
// or a request the server refused; 3 not found; 4 the server cannot be reached or failed.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/algorithm/string.hpp>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "bench/bench.h"
#include "cli/migrate.h"
#include "cli/shell_executor.h"
#include "client/client.h"
#include "client/worker.h"
#include "common/clock.h"
#include "common/time_text.h"
#include "server/server.h"

namespace {

int RunServer(baton::server::ServerOptions options, const std::string& listen, bool data_given) {
  if (auto s = baton::server::ParseListen(listen, &options.host, &options.port); !s.ok()) {
    std::fprintf(stderr, "baton server: %s\n", s.message().c_str());
    return 2;
  }
  if (auto s = baton::server::ResolveStore(options, data_given); !s.ok()) {
    std::fprintf(stderr, "baton server: %s\n", s.message().c_str());
    return 2;
  }
  // SIGINT and SIGTERM are taken by sigwait below, on this thread; every thread started from
  // here on inherits the block.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = baton::server::Server::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "baton server: %s\n", server.status().ToString().c_str());
    // A flag or URL that is wrong (2) is told apart from a server that could not start (1).
    return server.status().code() == baton::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("baton server: listening on http://%s:%u (store %s, files in %s)\n",
              options.host.c_str(), static_cast<unsigned>((*server)->port()),
              (*server)->store_description().c_str(), (*server)->files_description().c_str());
  std::printf("baton server: the administrator's token is in %s\n",
              (*server)->admin_token_path().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  std::printf("baton server: %s received, stopping\n", received == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*server)->Stop();
  std::printf("baton server: stopped\n");
  return 0;
}

namespace json = boost::json;
using baton::Status;

// Where the client commands find the server and their token.
struct Target {
  std::string url;
  std::string token;
  std::string data = "./baton-data";
  bool json = false;
};

int ExitCodeFor(const Status& s) { return baton::ExitCodeOf(s.code()); }

int Fail(const std::string& command, const Status& s) {
  std::fprintf(stderr, "baton %s: %s\n", command.c_str(), s.ToString().c_str());
  return ExitCodeFor(s);
}

// The server and the token a command uses: the flags, else the environment, else the defaults
// (the local server and its admin token).
struct Resolved {
  std::vector<baton::client::Endpoint> endpoints;
  std::string token;
};
baton::Result<Resolved> Resolve(const Target& t) {
  std::string url = t.url;
  if (url.empty()) {
    const char* env = std::getenv("BATON_URL");
    url = env != nullptr && *env != '\0' ? env : "http://127.0.0.1:7070";
  }
  auto endpoints = baton::client::Endpoint::ParseList(url);
  if (!endpoints.ok()) return endpoints.status();
  std::string token = t.token;
  if (token.empty()) {
    const char* env = std::getenv("BATON_TOKEN");
    if (env != nullptr) token = env;
  }
  if (token.empty()) {
    std::ifstream in(t.data + "/admin.token");
    std::getline(in, token);
  }
  if (token.empty()) {
    return baton::Unauthenticated("no token: set BATON_TOKEN, pass --token, or run where " +
                                  t.data + "/admin.token is readable");
  }
  return Resolved{*endpoints, token};
}

baton::Result<std::unique_ptr<baton::client::Client>> Connect(const Target& t) {
  auto resolved = Resolve(t);
  if (!resolved.ok()) return resolved.status();
  auto client = std::make_unique<baton::client::Client>(resolved->endpoints, resolved->token);
  client->SetFailover(
      30'000, [](const std::string& line) { std::fprintf(stderr, "baton: %s\n", line.c_str()); });
  return client;
}

std::string Pretty(const json::value& v) { return json::serialize(v); }

// Overwrites the value of --token in the process's own arguments once they are parsed, so that
// /proc/PID/cmdline (ps, or a job the worker runs reading its parent's) no longer shows it.
// The shell executor also leaves BATON_TOKEN out of the jobs' environment.
void HideTokenArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* value = nullptr;
    if (std::strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
      value = argv[++i];
    } else if (std::strncmp(argv[i], "--token=", 8) == 0) {
      value = argv[i] + 8;
    }
    if (value != nullptr) std::memset(value, 'x', std::strlen(value));
  }
}

// Epoch milliseconds as UTC time, 2026-11-24T03:00:00Z.
std::string UtcText(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

// "--resource cpu=2" or "--label zone=eu", repeated: as a JSON object (amounts as numbers).
baton::Result<json::object> NameValues(const std::string& flag,
                                       const std::vector<std::string>& items, bool amounts) {
  json::object o;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return baton::InvalidArgument(flag + ": expected NAME=VALUE, got \"" + item + "\"");
    }
    const std::string value = item.substr(eq + 1);
    if (!amounts) {
      o[item.substr(0, eq)] = value;
      continue;
    }
    int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return baton::InvalidArgument(flag + ": the amount must be a whole number, got \"" + item +
                                    "\"");
    }
    o[item.substr(0, eq)] = n;
  }
  return o;
}

void PrintJob(const json::object& job) {
  std::printf("job %s  %s  %s", Pretty(job.at("id")).c_str(),
              std::string(job.at("type").as_string()).c_str(),
              std::string(job.at("state").as_string()).c_str());
  const double progress = job.at("progress").to_number<double>();
  if (std::string_view(job.at("state").as_string()) == "running") {
    std::printf("  %.0f%%", progress * 100);
    if (!job.at("progress_message").as_string().empty()) {
      std::printf(" %s", std::string(job.at("progress_message").as_string()).c_str());
    }
  }
  std::printf("\n  attempts %s/%s", Pretty(job.at("attempts_used")).c_str(),
              Pretty(job.at("attempts_max")).c_str());
  if (!job.at("worker_id").as_string().empty()) {
    std::printf("  worker %s", std::string(job.at("worker_id").as_string()).c_str());
  }
  std::printf("\n");
  // Why it is not running yet: a quota, a paused type, no worker with what it needs...
  if (const json::value* why = job.if_contains("waiting_for"); why != nullptr && why->is_string()) {
    std::printf("  waiting: %s\n", std::string(why->as_string()).c_str());
  }
  const json::object& children = job.at("children").as_object();
  if (children.at("total").to_number<uint64_t>() > 0) {
    std::printf("  sub-jobs: %s finished of %s, %s did not succeed (GET /v1/jobs/%s/children)\n",
                Pretty(children.at("done")).c_str(), Pretty(children.at("total")).c_str(),
                Pretty(children.at("failed")).c_str(), Pretty(job.at("id")).c_str());
  }
  if (!job.at("error").as_string().empty()) {
    std::printf("  error: %s\n", std::string(job.at("error").as_string()).c_str());
  }
  if (!job.at("result").is_null()) std::printf("  result: %s\n", Pretty(job.at("result")).c_str());
}

void PrintSchedule(const json::object& s) {
  std::printf("schedule %s  \"%s\" %s  catch-up %s%s\n",
              std::string(s.at("name").as_string()).c_str(),
              std::string(s.at("cron").as_string()).c_str(),
              std::string(s.at("time_zone").as_string()).c_str(),
              std::string(s.at("catch_up").as_string()).c_str(),
              s.at("paused").as_bool() ? "  paused" : "");
  std::printf("  job %s  jobs made %s", json::serialize(s.at("job")).c_str(),
              Pretty(s.at("jobs_created")).c_str());
  if (!s.at("next_tick_ms").is_null())
    std::printf("  next tick %s", UtcText(s.at("next_tick_ms").to_number<int64_t>()).c_str());
  std::printf("\n");
  if (!s.at("last_error").as_string().empty()) {
    std::printf("  last error: %s\n", std::string(s.at("last_error").as_string()).c_str());
  }
}

// One line of progress, redrawn in place on a terminal.
void ShowProgress(const json::object& e, bool tty) {
  const std::string kind(e.at("kind").as_string());
  const std::string state(e.at("state").as_string());
  if (!tty) {
    std::printf("%s job %s: %s", Pretty(e.at("seq")).c_str(), Pretty(e.at("job")).c_str(),
                state.c_str());
    if (kind == "progress") std::printf(" %.0f%%", e.at("progress").to_number<double>() * 100);
    if (!e.at("message").as_string().empty()) {
      std::printf(" %s", std::string(e.at("message").as_string()).c_str());
    }
    std::printf("\n");
    std::fflush(stdout);
    return;
  }
  const double p = kind == "progress" ? e.at("progress").to_number<double>() : 0;
  const int width = 30, filled = static_cast<int>(p * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  std::printf("\r\033[Kjob %s [%s] %3.0f%% %s %s", Pretty(e.at("job")).c_str(), bar.c_str(),
              p * 100, state.c_str(),
              std::string(e.at("message").as_string()).substr(0, 40).c_str());
  std::fflush(stdout);
}

// `since`: a new job's submit answer's event_seq, so that every one of its events shows.
int WaitFor(baton::client::Client& c, uint64_t id, const Target& t,
            std::optional<uint64_t> since = std::nullopt) {
  const bool tty = !t.json && isatty(1);
  auto job = c.Wait(
      id,
      [&](const json::object& e) {
        if (!t.json) ShowProgress(e, tty);
      },
      since);
  if (tty) std::printf("\n");
  if (!job.ok()) return Fail("wait", job.status());
  if (t.json) {
    std::printf("%s\n", Pretty(*job).c_str());
  } else {
    PrintJob(job->as_object());
  }
  return job->at("state").as_string() == "succeeded" ? 0 : 1;
}

void PrintWorkflow(const json::object& w) {
  std::printf("workflow %s  %s  %s\n", Pretty(w.at("id")).c_str(),
              std::string(w.at("name").as_string()).c_str(),
              std::string(w.at("state").as_string()).c_str());
  if (!w.at("message").as_string().empty()) {
    std::printf("  %s\n", std::string(w.at("message").as_string()).c_str());
  }
  std::printf("  %-24s %-10s %-10s %-8s %s\n", "STEP", "KIND", "STATE", "JOB", "MESSAGE");
  for (const json::value& v : w.at("steps").as_array()) {
    const json::object& s = v.as_object();
    const std::string job = s.at("job").to_number<uint64_t>() == 0 ? "-" : Pretty(s.at("job"));
    std::printf("  %-24s %-10s %-10s %-8s %s\n", std::string(s.at("name").as_string()).c_str(),
                std::string(s.at("kind").as_string()).c_str(),
                std::string(s.at("state").as_string()).c_str(), job.c_str(),
                std::string(s.at("message").as_string()).substr(0, 60).c_str());
  }
}

// Follows a workflow until it ends, printing each step as it changes; 0 when it succeeded (with
// or without warnings).
int WaitForWorkflow(baton::client::Client& c, uint64_t id, const Target& t) {
  const std::string target = "/v1/workflows/" + std::to_string(id);
  std::map<std::string, std::string> seen;
  for (;;) {
    auto w = c.Json("GET", target);
    if (!w.ok()) return Fail("workflow", w.status());
    const std::string state(w->at("state").as_string());
    if (!t.json) {
      for (const json::value& v : w->at("steps").as_array()) {
        const std::string name(v.at("name").as_string()), step(v.at("state").as_string());
        if (seen[name] == step || step == "waiting") continue;
        seen[name] = step;
        std::printf("step %s: %s%s\n", name.c_str(), step.c_str(),
                    v.at("message").as_string().empty()
                        ? ""
                        : (" (" + std::string(v.at("message").as_string()) + ")").c_str());
        std::fflush(stdout);
      }
    }
    if (state != "running" && state != "partial") {
      if (t.json) {
        std::printf("%s\n", Pretty(*w).c_str());
      } else {
        PrintWorkflow(w->as_object());
      }
      return state == "succeeded" || state == "optional_failed" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int RunWorker(baton::client::WorkerOptions options, const std::string& url,
              const std::string& types, const std::string& executor,
              const baton::cli::ShellOptions& shell, const Target& t) {
  auto resolved = Resolve(Target{url, t.token, t.data});
  if (!resolved.ok()) return Fail("worker", resolved.status());
  options.servers = resolved->endpoints;
  options.token = resolved->token;
  if (options.id.empty()) {
    char host[256] = "host";
    gethostname(host, sizeof host);
    options.id = std::string(host) + "-" + std::to_string(getpid());
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  baton::client::Worker worker(options);
  std::string rest = types;
  size_t count = 0;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string type = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    if (type.empty()) continue;
    if (executor == "noop") {
      // Succeeds at once, naming the attempt: for benchmarks and tests of the machinery.
      worker.Register(type, [](baton::client::AttemptContext& c) {
        return baton::client::Outcome::Succeeded(json::object{{"attempt", c.attempt()}});
      });
    } else {
      worker.Register(type, [shell](baton::client::AttemptContext& c) {
        return baton::cli::RunShell(c, shell);
      });
    }
    ++count;
  }
  if (count == 0) return Fail("worker", baton::InvalidArgument("--types: name at least one type"));
  // SIGTERM or SIGINT: finish what runs, take nothing new, exit. A second one stops at once.
  // The thread touches the worker only while Run has not returned; it is joined before the
  // worker goes (a signal arriving as the worker finished would otherwise reach a dead one).
  std::mutex signal_mu;
  bool finished = false;
  std::thread signal_thread([&] {
    int received = 0;
    for (int n = 0; n < 2; ++n) {
      sigwait(&signals, &received);
      std::lock_guard lock(signal_mu);
      if (finished) return;
      if (n == 0) {
        std::fprintf(stderr,
                     "baton worker: %s received: finishing running jobs, taking no new ones\n",
                     received == SIGINT ? "SIGINT" : "SIGTERM");
        worker.Drain();
      } else {
        worker.Stop();
      }
    }
  });
  auto join_signal_thread = [&] {
    {
      std::lock_guard lock(signal_mu);
      finished = true;
    }
    // Wakes its sigwait (SIGTERM is blocked in every thread, so nothing is terminated).
    pthread_kill(signal_thread.native_handle(),  // NOLINT(bugprone-bad-signal-to-kill-thread)
                 SIGTERM);
    signal_thread.join();
  };
  std::printf("baton worker: %s serving %s with capacity %u at http://%s:%u\n", options.id.c_str(),
              types.c_str(), options.capacity, options.servers[0].host.c_str(),
              static_cast<unsigned>(options.servers[0].port));
  std::fflush(stdout);
  Status s = worker.Run();
  join_signal_thread();
  if (!s.ok()) return Fail("worker", s);
  std::printf("baton worker: stopped\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"baton: a durable job orchestrator"};
  app.require_subcommand(1);
  Target t;
  auto add_target = [&](CLI::App* cmd) {
    cmd->add_option("--url", t.url,
                    "server URL, or several of one cluster: URL1,URL2 (default: $BATON_URL, else "
                    "http://127.0.0.1:7070)");
    cmd->add_option("--token", t.token,
                    "bearer token (default: $BATON_TOKEN, else DATA/admin.token)");
    cmd->add_option("--data", t.data, "the local server's data directory, for its admin token")
        ->capture_default_str();
    cmd->add_flag("--json", t.json, "print JSON, for scripts");
  };
  baton::server::ServerOptions options;
  std::string listen = "127.0.0.1:7070";
  CLI::App* server = app.add_subcommand("server", "run the Baton server");
  CLI::Option* data_option =
      server
          ->add_option("--data", options.data_dir,
                       "data directory: the admin token and upload spool (and with the default "
                       "store, the database, files and logs)")
          ->capture_default_str();
  server->add_option("--store", options.store,
                     "the database: sqlite:DIR (default: sqlite:DATA), postgresql://... or "
                     "memory: (nothing kept)");
  server
      ->add_option("--lease-ms", options.lease_ms,
                   "PostgreSQL: how long the leader's lease lasts unrenewed (renewed every third)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{300}, int64_t{3'600'000}));
  server->add_option("--advertise", options.advertise,
                     "PostgreSQL: the URL standbys send clients to while this server leads "
                     "(default: http://LISTEN)");
  server
      ->add_option("--store-wait", options.store_wait_ms,
                   "ms to keep trying a database that cannot be reached at start")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}));
  server->add_option("--files", options.files_dir,
                     "keep files and logs in this directory (a shared filesystem for several "
                     "servers); default: in the database (postgresql), else in DATA");
  server->add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  baton::server::HttpLimits& http = options.http;
  server->add_option("--header-bytes-max", http.header_bytes_max, "largest request head")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 20));
  server->add_option("--body-bytes-max", http.body_bytes_max, "largest request body")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 32));
  server->add_option("--connections-max", http.connections_max, "open connections at once")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  server
      ->add_option("--event-streams-max", options.events.streams_max,
                   "GET /v1/events streams open at once")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  server
      ->add_option("--log-followers-max", options.log_followers_max,
                   "GET /v1/jobs/{id}/logs?follow=1 open at once")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  server
      ->add_option("--idle-timeout-ms", http.idle_timeout_ms, "close a connection silent this long")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{24} * 3600 * 1000));
  server
      ->add_option("--finished-jobs-max", options.runtime.engine.finished_jobs_max,
                   "finished jobs kept in memory (all stay in the database)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
  server
      ->add_option("--files-max", options.files.files_max,
                   "input files of a job; output files of an attempt")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{60000}));
  server
      ->add_option("--file-bytes-max", options.files.file_bytes_max, "largest input or output file")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 31));
  server
      ->add_option("--output-bytes-max", options.files.output_bytes_max,
                   "all output files of one attempt together")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 31));
  server->add_option("--types", options.types_file,
                     "the job type registry, a JSON file (docs/api.md, \"Job types\")");
  server->add_option("--config", options.config_file,
                     "the server's config file, TOML, YAML or JSON: scheduling policy "
                     "(docs/operations.md)");
  server->add_flag("--strict-types", options.strict_types,
                   "refuse jobs whose type the registry does not declare");
  server->add_option("--batch-max", options.batch_max, "jobs in one POST /v1/jobs")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  server
      ->add_option("--synchronous", options.database.synchronous,
                   "SQLite durability: FULL, NORMAL or OFF")
      ->capture_default_str()
      ->check(CLI::IsMember({"FULL", "NORMAL", "EXTRA", "OFF"}));

  // Client commands.
  std::string type, payload_text, command_text, idempotency_key, reason, out_dir;
  std::vector<std::string> params, files;
  int32_t priority = 0;
  std::string timeout_text;
  int retries = -1;
  bool wait = false, follow = false, admin = false, worker_token = false, private_pool = false;
  uint64_t id = 0;
  std::string status_filter, type_filter, user;
  size_t limit = 20;

  CLI::App* submit = app.add_subcommand("submit", "submit a job");
  submit->add_option("type", type, "the job type")->required();
  submit->add_option("--param,-p", params, "a payload field, KEY=VALUE (repeatable)");
  submit->add_option("--payload", payload_text, "the payload, a JSON object");
  submit->add_option("--command,-c", command_text, "for shell workers: the payload's command");
  submit->add_option("--file", files,
                     "an input file, PATH or NAME=PATH (repeatable); a run.sh is what shell "
                     "workers run when there is no --command");
  submit->add_option("--priority", priority, "higher runs first")->check(CLI::Range(-1000, 1000));
  submit->add_option("--timeout", timeout_text,
                     "how long one attempt may run: seconds (90), a duration (2h30m), or none (as "
                     "long as it heartbeats)");
  submit->add_option("--retries", retries, "attempts after the first")->check(CLI::Range(0, 99));
  submit->add_option("--idempotency-key", idempotency_key, "a second submit returns the first job");
  std::string run_after_text, run_by_text, concurrency_key, keep_text;
  std::vector<std::string> resources, labels;
  uint32_t concurrency_limit = 0;
  submit->add_option("--run-after", run_after_text,
                     "not before this time: 2026-11-23T10:00:00Z, or a delay such as 10m");
  submit->add_option("--run-by", run_by_text,
                     "deadline, as --run-after: the job fails if not finished by then");
  submit->add_option("--resource", resources, "a resource the job needs, NAME=AMOUNT (repeatable)");
  submit->add_option("--label", labels, "a label its worker must have, NAME=VALUE (repeatable)");
  submit->add_option("--keep", keep_text,
                     "how long to keep the job once finished (7d, 12h; default: the server's)");
  submit->add_option("--concurrency-key", concurrency_key,
                     "at most --concurrency-limit jobs of this key (yours) run at once");
  submit->add_option("--concurrency-limit", concurrency_limit, "for --concurrency-key (default 1)")
      ->check(CLI::Range(1u, 1000000u));
  bool verify = false;
  std::string verdict_timeout_text;
  submit->add_flag("--verify", verify,
                   "a verdict (baton accept / reject) must follow the result; the job reads "
                   "submitted until then (baton list --status submitted)");
  submit->add_option("--verdict-timeout", verdict_timeout_text,
                     "with --verify: fail the job, its result kept, when no verdict came this long "
                     "after the result (1h, 2d; default: wait for as long as it takes)");
  submit->add_flag("--wait,-w", wait, "wait for the job to end, showing its progress");
  add_target(submit);

  // A command on one job: `baton NAME ID`.
  auto job_command = [&](const char* name, const char* help) {
    CLI::App* cmd = app.add_subcommand(name, help);
    cmd->add_option("id", id, "job id")->required();
    add_target(cmd);
    return cmd;
  };
  CLI::App* status = job_command("status", "show a job");
  CLI::App* wait_cmd = job_command("wait", "wait for a job to end");
  CLI::App* list = app.add_subcommand("list", "list jobs, newest first");
  list->add_option("--status", status_filter, "only jobs in this state");
  list->add_option("--type", type_filter, "only jobs of this type");
  list->add_option("--limit", limit, "at most this many")->check(CLI::Range(1, 1000));
  add_target(list);
  CLI::App* watch = app.add_subcommand("watch", "follow events (of one job, until it ends)");
  watch->add_option("id", id, "job id (default: every job you can see)");
  add_target(watch);
  CLI::App* logs = job_command("logs", "print a job's output");
  logs->add_flag("--follow,-f", follow, "keep printing until the job ends");
  CLI::App* cancel = job_command("cancel", "cancel a job (and its sub-jobs)");
  cancel->add_option("--reason", reason, "why");
  CLI::App* accept = job_command("accept", "accept the result of a submitted job (--verify)");
  CLI::App* reject =
      job_command("reject", "reject a job's result: the attempt fails and the job may run again");
  reject->add_option("--reason", reason, "why");
  CLI::App* retry = app.add_subcommand(
      "retry", "run a failed or cancelled job again; or, with --failed, many (dead letters)");
  retry->add_option("id", id, "job id");
  bool retry_failed = false, retry_cancelled = false;
  size_t retry_limit = 1000;
  retry->add_flag("--failed", retry_failed, "every failed job (yours; all, for an administrator)");
  retry->add_flag("--cancelled", retry_cancelled, "every cancelled job");
  retry->add_option("--type", type_filter, "with --failed or --cancelled: only of this type");
  retry->add_option("--limit", retry_limit, "with --failed or --cancelled: at most this many")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000}));
  add_target(retry);
  CLI::App* result = job_command("result", "print a finished job's result");
  result->add_option("-o,--output", out_dir,
                     "write result.json and the output files into this directory");
  CLI::App* workers = app.add_subcommand("workers", "list connected workers");
  add_target(workers);
  std::string target_name;
  bool undo = false;
  CLI::App* pause = app.add_subcommand("pause", "pause a job type: its queued jobs wait");
  pause->add_option("type", target_name, "the job type")->required();
  add_target(pause);
  CLI::App* resume = app.add_subcommand("resume", "resume a paused job type");
  resume->add_option("type", target_name, "the job type")->required();
  add_target(resume);
  CLI::App* drain =
      app.add_subcommand("drain", "drain a worker: it finishes what it runs and gets nothing new");
  drain
      ->add_option("worker", target_name,
                   "the worker id as `baton scheduling` and GET /v1/workers list it (USER:NAME)")
      ->required();
  drain->add_flag("--undo", undo, "give it work again");
  add_target(drain);
  CLI::App* scheduling =
      app.add_subcommand("scheduling", "show the scheduling policy, paused types and load");
  add_target(scheduling);
  CLI::App* schedule = app.add_subcommand("schedule", "cron schedules: a job at every tick");
  schedule->require_subcommand(1);
  std::string cron_text, time_zone = "UTC", catch_up = "skip";
  bool schedule_paused = false;
  CLI::App* sched_add = schedule->add_subcommand("add", "add a schedule, or replace yours");
  sched_add->add_option("name", target_name, "the schedule's name")->required();
  sched_add->add_option("cron", cron_text, "when: \"*/5 * * * *\", 6 fields with seconds, @daily")
      ->required();
  sched_add->add_option("type", type, "the job type")->required();
  sched_add->add_option("--param,-p", params, "a payload field, KEY=VALUE (repeatable)");
  sched_add->add_option("--payload", payload_text, "the payload, a JSON object");
  sched_add->add_option("--command,-c", command_text, "for shell workers: the payload's command");
  sched_add->add_option("--priority", priority, "higher runs first")
      ->check(CLI::Range(-1000, 1000));
  sched_add->add_option("--tz", time_zone, "the time zone of its times (IANA)")
      ->capture_default_str();
  sched_add->add_option("--catch-up", catch_up, "ticks missed while the server was down")
      ->check(CLI::IsMember({"skip", "once"}))
      ->capture_default_str();
  sched_add->add_flag("--paused", schedule_paused, "add it paused");
  add_target(sched_add);
  CLI::App* sched_list = schedule->add_subcommand("list", "list schedules");
  add_target(sched_list);
  CLI::App* sched_show = schedule->add_subcommand("show", "show a schedule");
  sched_show->add_option("name", target_name, "the schedule's name")->required();
  add_target(sched_show);
  CLI::App* sched_remove = schedule->add_subcommand("remove", "remove a schedule");
  sched_remove->add_option("name", target_name, "the schedule's name")->required();
  add_target(sched_remove);
  CLI::App* types = app.add_subcommand("types", "list job types: queued, workers, running");
  add_target(types);
  CLI::App* workflow = app.add_subcommand("workflow", "run and manage workflows");
  workflow->require_subcommand(1);
  std::string workflow_file;
  CLI::App* wf_run =
      workflow->add_subcommand("run", "submit a workflow document (JSON, or YAML for .yaml/.yml)");
  wf_run->add_option("file", workflow_file, "the document")->required()->check(CLI::ExistingFile);
  wf_run->add_flag("--wait,-w", wait, "wait for the workflow to end, showing its steps");
  add_target(wf_run);
  auto workflow_command = [&](const char* name, const char* help) {
    CLI::App* cmd = workflow->add_subcommand(name, help);
    cmd->add_option("id", id, "workflow id")->required();
    add_target(cmd);
    return cmd;
  };
  CLI::App* wf_status = workflow_command("status", "show a workflow and its steps");
  CLI::App* wf_wait = workflow_command("wait", "wait for a workflow to end");
  CLI::App* wf_cancel = workflow_command("cancel", "cancel a workflow (its running steps too)");
  wf_cancel->add_option("--reason", reason, "why");
  CLI::App* wf_retry = workflow_command(
      "retry", "run a finished workflow's failed steps again, and what depends on them");
  CLI::App* token = app.add_subcommand("token", "manage tokens");
  token->require_subcommand(1);
  CLI::App* token_create = token->add_subcommand(
      "create",
      "create a token (administrators; any user may create a worker token of their own pool: "
      "--worker without --user)");
  token_create->add_option("--user", user,
                           "who the token speaks for (administrators; default: yourself)");
  token_create->add_flag("--admin", admin, "an administrator's token");
  token_create->add_flag("--worker", worker_token,
                         "a worker's token: its workers serve every user's jobs (a shared pool), "
                         "or with --private only the user's own");
  token_create->add_flag("--private", private_pool,
                         "with --worker: a private pool, offered only the user's jobs");
  add_target(token_create);

  baton::client::WorkerOptions worker_options;
  baton::cli::ShellOptions shell;
  std::string worker_url, worker_types;
  CLI::App* worker = app.add_subcommand("worker", "run a worker with the shell executor");
  worker->add_option("--server", worker_url,
                     "server URL, or several of one cluster: URL1,URL2 (default: $BATON_URL)");
  worker->add_option("--types", worker_types, "job types to run, comma-separated")->required();
  worker->add_option("--capacity", worker_options.capacity, "attempts at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10000u));
  worker->add_option("--id", worker_options.id, "worker id (default: HOST-PID)");
  worker->add_option("--workdir", shell.workdir, "where attempts run")->capture_default_str();
  worker->add_option("--grace-ms", shell.grace_ms, "SIGTERM, then this long, then SIGKILL")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  worker->add_flag("--keep-workdirs", shell.keep_workdirs, "keep each attempt's directory");
  std::vector<std::string> worker_resources, worker_labels;
  worker->add_option("--resource", worker_resources,
                     "what the worker has for its jobs, NAME=AMOUNT: cpu=8, memory_mb=16384, gpu=1 "
                     "(repeatable)");
  worker->add_option("--label", worker_labels,
                     "a label jobs may require, NAME=VALUE: zone=eu (repeatable)");
  std::vector<std::string> type_commands;
  worker
      ->add_option("--command", type_commands,
                   "TYPE=CMD: the command of TYPE's jobs whose payload has none (repeatable; for "
                   "aggregators and verifiers, which read payload.json)")
      ->check([](const std::string& v) {
        const size_t eq = v.find('=');
        return eq == std::string::npos || eq == 0 || eq + 1 == v.size()
                   ? std::string("must be TYPE=COMMAND, got \"") + v + "\""
                   : std::string();
      });
  std::vector<std::string> plugin_specs;
  worker->add_option(
      "--plugin", plugin_specs,
      "ACTIVITY=TYPE[,mandatory][,always_run][,order=N]: run TYPE's jobs as a plugin "
      "of workflow activity ACTIVITY (repeatable; TYPE must be in --types)");
  std::string executor = "shell";
  worker
      ->add_option("--executor", executor,
                   "shell: run the payload's command or run.sh; noop: succeed at once (benchmarks)")
      ->capture_default_str()
      ->check(CLI::IsMember({"shell", "noop"}));
  worker->add_option("--token", t.token, "worker token (default: $BATON_TOKEN, else admin)");
  worker->add_option("--data", t.data, "the local server's data directory, for its admin token");

  baton::cli::MigrateOptions migrate_options;
  CLI::App* migrate = app.add_subcommand(
      "migrate", "copy a database whole into a new one (sqlite:DIR to postgresql://...)");
  migrate->add_option("--from", migrate_options.from, "the database to copy: sqlite:DIR, ...")
      ->required();
  migrate->add_option("--to", migrate_options.to, "a new database: postgresql://..., ...")
      ->required();
  migrate->add_option("--from-files", migrate_options.from_files,
                      "where the source keeps files and logs, if its server had --files DIR");
  migrate->add_option("--to-files", migrate_options.to_files,
                      "where the target's go, if its servers will have --files DIR");
  migrate->add_flag("--json", migrate_options.json, "print what was copied as JSON");

  baton::cli::BenchOptions bench_options;
  CLI::App* bench = app.add_subcommand(
      "bench", "measure Baton end to end (its own server and no-op workers) next to calibrations");
  bench
      ->add_option("what", bench_options.what,
                   "throughput, latency, fanout or all; or scale (a million queued jobs), load "
                   "(many clients submitting and watching), download (a 1 GiB output served), "
                   "or failover (PostgreSQL: the leader SIGKILLed)")
      ->capture_default_str()
      ->check(CLI::IsMember(
          {"throughput", "latency", "fanout", "all", "scale", "load", "download", "failover"}));
  bench->add_option("--children", bench_options.children, "children of the fanout parent")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000}));
  bench->add_option("--jobs", bench_options.jobs, "jobs for throughput")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  bench->add_option("--latency-jobs", bench_options.latency_jobs, "jobs for latency, one at a time")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  bench->add_option("--workers", bench_options.workers, "worker processes")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  bench->add_option("--capacity", bench_options.capacity, "slots per worker")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  bench->add_option("--batch", bench_options.batch, "jobs per submit")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  bench->add_option("--submitters", bench_options.submitters, "client threads submitting")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  bench->add_option("--dir", bench_options.dir, "where its temporary data directory goes")
      ->capture_default_str();
  bench->add_option("--store", bench_options.store,
                    "the server's store (postgresql://...); default: SQLite in --dir");
  bench->add_option("--synchronous", bench_options.synchronous, "SQLite durability")
      ->capture_default_str()
      ->check(CLI::IsMember({"FULL", "NORMAL", "OFF"}));
  bench->add_option("--depth", bench_options.depth, "scale: jobs queued")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  bench->add_option("--sample", bench_options.sample, "scale: jobs each rate is measured over")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  bench->add_option("--clients", bench_options.clients, "load: concurrent clients")
      ->capture_default_str()
      ->check(CLI::Range(1, 900));
  bench->add_option("--seconds", bench_options.seconds, "load: how long")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  bench->add_option("--output-mib", bench_options.output_mib, "download: the job's output, MiB")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{64}, uint64_t{16384}));
  bench->add_option("--lease-ms", bench_options.lease_ms, "failover: the servers' --lease-ms")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{300}, int64_t{3'600'000}));
  bench->add_option("--rounds", bench_options.rounds, "failover: how many times the leader dies")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  bench->add_flag("--json", bench_options.json, "print JSON");

  CLI11_PARSE(app, argc, argv);
  HideTokenArguments(argc, argv);
  if (bench->parsed()) {
    if (bench_options.what == "scale") return baton::cli::RunScale(bench_options);
    if (bench_options.what == "load") return baton::cli::RunLoad(bench_options);
    if (bench_options.what == "download") return baton::cli::RunDownload(bench_options);
    if (bench_options.what == "failover") return baton::cli::RunFailover(bench_options);
    return baton::cli::RunBench(bench_options);
  }
  if (migrate->parsed()) return baton::cli::RunMigrate(migrate_options);
  if (server->parsed()) return RunServer(std::move(options), listen, data_option->count() > 0);
  if (worker->parsed()) {
    for (const std::string& spec : plugin_specs) {
      baton::client::PluginOptions p;
      const size_t eq = spec.find('=');
      std::vector<std::string> parts;
      if (eq != std::string::npos) {
        p.activity = spec.substr(0, eq);
        boost::split(parts, spec.substr(eq + 1), boost::is_any_of(","));
      }
      bool ok = !p.activity.empty() && !parts.empty() && !parts[0].empty();
      if (ok) p.type = parts[0];
      for (size_t i = 1; ok && i < parts.size(); ++i) {
        if (parts[i] == "mandatory") {
          p.mandatory = true;
        } else if (parts[i] == "always_run") {
          p.always_run = true;
        } else if (parts[i].starts_with("order=")) {
          const std::string n = parts[i].substr(6);
          auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), p.order);
          ok = ec == std::errc() && end == n.data() + n.size() && !n.empty();
        } else {
          ok = false;
        }
      }
      if (!ok) {
        return Fail("worker", baton::InvalidArgument(
                                  "--plugin: expected ACTIVITY=TYPE[,mandatory][,always_run]"
                                  "[,order=N], got \"" +
                                  spec + "\""));
      }
      worker_options.plugins.push_back(std::move(p));
    }
    for (const std::string& tc : type_commands) {
      const size_t eq = tc.find('=');
      shell.commands[tc.substr(0, eq)] = tc.substr(eq + 1);
    }
    auto worker_res = NameValues("--resource", worker_resources, true);
    if (!worker_res.ok()) return Fail("worker", worker_res.status());
    for (const auto& [k, v] : *worker_res) worker_options.resources[k] = v.as_int64();
    auto worker_lab = NameValues("--label", worker_labels, false);
    if (!worker_lab.ok()) return Fail("worker", worker_lab.status());
    for (const auto& [k, v] : *worker_lab) worker_options.labels[k] = v.as_string();
    return RunWorker(std::move(worker_options), worker_url, worker_types, executor, shell, t);
  }

  const std::string name = app.get_subcommands().front()->get_name();
  auto client = Connect(t);
  if (!client.ok()) return Fail(name, client.status());
  baton::client::Client& c = **client;
  auto print = [&](const baton::Result<json::value>& v,
                   const std::function<void(const json::value&)>& human) {
    if (!v.ok()) return Fail(name, v.status());
    if (t.json) {
      std::printf("%s\n", Pretty(*v).c_str());
    } else {
      human(*v);
    }
    return 0;
  };

  // The payload from --payload, --param and --command.
  auto build_payload = [&]() -> baton::Result<json::object> {
    json::object payload;
    if (!payload_text.empty()) {
      boost::system::error_code ec;
      json::value v = json::parse(payload_text, ec);
      if (ec || !v.is_object()) return baton::InvalidArgument("--payload: must be a JSON object");
      payload = std::move(v.as_object());
    }
    for (const std::string& p : params) {
      const size_t eq = p.find('=');
      if (eq == std::string::npos || eq == 0) {
        return baton::InvalidArgument("--param: expected KEY=VALUE, got \"" + p + "\"");
      }
      payload[p.substr(0, eq)] = p.substr(eq + 1);
    }
    if (!command_text.empty()) payload["command"] = command_text;
    return payload;
  };
  if (sched_add->parsed()) {
    auto payload = build_payload();
    if (!payload.ok()) return Fail("schedule add", payload.status());
    json::object job{{"type", type}, {"payload", std::move(*payload)}};
    if (priority != 0) job["priority"] = priority;
    json::object body{{"name", target_name},  {"cron", cron_text},         {"time_zone", time_zone},
                      {"catch_up", catch_up}, {"paused", schedule_paused}, {"job", job}};
    return print(c.Json("POST", "/v1/schedules", json::serialize(body)),
                 [](const json::value& v) { PrintSchedule(v.as_object()); });
  }
  if (sched_list->parsed()) {
    return print(c.Json("GET", "/v1/schedules"), [](const json::value& v) {
      for (const json::value& s : v.at("schedules").as_array()) PrintSchedule(s.as_object());
    });
  }
  if (sched_show->parsed() || sched_remove->parsed()) {
    return print(c.Json(sched_show->parsed() ? "GET" : "DELETE", "/v1/schedules/" + target_name),
                 [&](const json::value& v) {
                   if (sched_remove->parsed()) std::printf("removed ");
                   PrintSchedule(v.as_object());
                 });
  }
  if (pause->parsed() || resume->parsed() || drain->parsed()) {
    const std::string target =
        drain->parsed() ? "/v1/workers/" + target_name + (undo ? "/undrain" : "/drain")
                        : "/v1/types/" + target_name + (pause->parsed() ? "/pause" : "/resume");
    return print(c.Json("POST", target), [&](const json::value&) {
      const char* what = drain->parsed()   ? (undo ? "undrained worker" : "draining worker")
                         : pause->parsed() ? "paused type"
                                           : "resumed type";
      std::printf("%s %s\n", what, target_name.c_str());
    });
  }
  if (scheduling->parsed()) {
    return print(c.Json("GET", "/v1/scheduling"), [](const json::value& v) {
      std::printf("%-24s %-8s %-8s %s\n", "TYPE", "QUEUED", "RUNNING", "");
      const json::array& paused = v.at("paused_types").as_array();
      for (const auto& [name, t] : v.at("types").as_object()) {
        const bool is_paused =
            std::find(paused.begin(), paused.end(), json::value(name)) != paused.end();
        std::printf("%-24s %-8s %-8s %s\n", std::string(name).c_str(),
                    Pretty(t.at("queued")).c_str(), Pretty(t.at("running")).c_str(),
                    is_paused ? "paused" : "");
      }
      std::printf("policy: %s\n", json::serialize(v.at("policy")).c_str());
    });
  }
  if (retry->parsed() && (retry_failed || retry_cancelled)) {
    if (retry_failed && retry_cancelled) {
      return Fail(name, baton::InvalidArgument("retry: --failed or --cancelled, not both"));
    }
    json::object body{{"status", retry_failed ? "failed" : "cancelled"}, {"limit", retry_limit}};
    if (!type_filter.empty()) body["type"] = type_filter;
    return print(c.Json("POST", "/v1/jobs/retry", json::serialize(body)), [](const json::value& v) {
      std::printf("retried %s jobs\n", Pretty(v.at("count")).c_str());
      for (const json::value& e : v.at("errors").as_array()) {
        std::printf("  job %s: %s\n", Pretty(e.at("id")).c_str(),
                    std::string(e.at("message").as_string()).c_str());
      }
    });
  }
  if (retry->parsed() && id == 0) {
    return Fail(name, baton::InvalidArgument("retry: give a job id, or --failed / --cancelled"));
  }
  if (submit->parsed()) {
    auto payload = build_payload();
    if (!payload.ok()) return Fail(name, payload.status());
    json::object job{{"type", type}, {"payload", std::move(*payload)}};
    if (priority != 0) job["priority"] = priority;
    if (timeout_text == "none") {
      job["timeout_ms"] = nullptr;
    } else if (!timeout_text.empty()) {
      // Seconds, as before, or a duration with its unit.
      std::optional<int64_t> ms = baton::ParseDurationMs(timeout_text);
      char* end = nullptr;
      const double seconds = std::strtod(timeout_text.c_str(), &end);
      if (!ms && end == timeout_text.c_str() + timeout_text.size() && seconds > 0) {
        ms = static_cast<int64_t>(seconds * 1000);
      }
      if (!ms || *ms <= 0) {
        return Fail(name,
                    baton::InvalidArgument(
                        "--timeout: expected seconds (90), a duration (2h30m) or none, got \"" +
                        timeout_text + "\""));
      }
      job["timeout_ms"] = *ms;
    }
    if (retries >= 0) job["attempts_max"] = retries + 1;
    if (!idempotency_key.empty()) job["idempotency_key"] = idempotency_key;
    for (auto [flag, text, field] : {std::tuple{"--run-after", &run_after_text, "run_after_ms"},
                                     std::tuple{"--run-by", &run_by_text, "run_by_ms"}}) {
      if (text->empty()) continue;
      std::optional<int64_t> at = baton::ParseDatetimeMs(*text);
      if (!at) {
        if (std::optional<int64_t> delay = baton::ParseDurationMs(*text))
          at = baton::SystemClock().NowMs() + *delay;
      }
      if (!at) {
        return Fail(name, baton::InvalidArgument(
                              std::string(flag) +
                              ": expected a time such as 2026-11-23T10:00:00Z or a delay such as "
                              "10m, got \"" +
                              *text + "\""));
      }
      job[field] = *at;
    }
    for (auto [flag, list, field] : {std::tuple{"--resource", &resources, "resources"},
                                     std::tuple{"--label", &labels, "labels"}}) {
      auto o = NameValues(flag, *list, list == &resources);
      if (!o.ok()) return Fail(name, o.status());
      if (!o->empty()) job[field] = std::move(*o);
    }
    if (!keep_text.empty()) {
      std::optional<int64_t> keep = baton::ParseDurationMs(keep_text);
      if (!keep || *keep <= 0) {
        return Fail(name,
                    baton::InvalidArgument("--keep: expected a duration such as 7d or 12h, got \"" +
                                           keep_text + "\""));
      }
      job["retention_ms"] = *keep;
    }
    if (verify) job["verify"] = true;
    if (!verdict_timeout_text.empty()) {
      std::optional<int64_t> ms = baton::ParseDurationMs(verdict_timeout_text);
      if (!ms || *ms <= 0) {
        return Fail(name, baton::InvalidArgument(
                              "--verdict-timeout: expected a duration such as 1h or 2d, got \"" +
                              verdict_timeout_text + "\""));
      }
      if (!verify) return Fail(name, baton::InvalidArgument("--verdict-timeout: needs --verify"));
      job["verdict_timeout_ms"] = *ms;
    }
    if (!concurrency_key.empty()) {
      job["concurrency"] = {{"key", concurrency_key},
                            {"limit", concurrency_limit == 0 ? 1u : concurrency_limit}};
    } else if (concurrency_limit != 0) {
      return Fail(name, baton::InvalidArgument("--concurrency-limit: needs --concurrency-key"));
    }
    auto submitted = files.empty() ? c.Submit(job) : c.SubmitWithFiles(job, files);
    if (!submitted.ok()) return Fail(name, submitted.status());
    const uint64_t job_id = submitted->at("id").to_number<uint64_t>();
    if (wait) {
      // A new job's events all follow the answer's event_seq: shown even if it is already done.
      const json::value* seq = submitted->as_object().if_contains("event_seq");
      const bool fresh = !submitted->at("existed").as_bool() && seq != nullptr && seq->is_number();
      return WaitFor(c, job_id, t,
                     fresh ? std::optional<uint64_t>(seq->to_number<uint64_t>()) : std::nullopt);
    }
    if (t.json) {
      std::printf("%s\n", Pretty(*submitted).c_str());
    } else {
      std::printf("%s job %llu\n", submitted->at("existed").as_bool() ? "existing" : "submitted",
                  static_cast<unsigned long long>(job_id));
    }
    return 0;
  }
  if (status->parsed()) {
    return print(c.Get(id), [](const json::value& v) { PrintJob(v.as_object()); });
  }
  if (wf_run->parsed()) {
    std::ifstream in(workflow_file, std::ios::binary);
    std::string doc((std::istreambuf_iterator<char>(in)), {});
    // YAML goes as YAML: the server reads it.
    const bool yaml = workflow_file.ends_with(".yaml") || workflow_file.ends_with(".yml");
    auto submitted =
        c.Json("POST", "/v1/workflows", doc, yaml ? "application/yaml" : "application/json");
    if (!submitted.ok()) return Fail("workflow run", submitted.status());
    const uint64_t wid = submitted->at("id").to_number<uint64_t>();
    if (wait) return WaitForWorkflow(c, wid, t);
    if (t.json) {
      std::printf("%s\n", Pretty(*submitted).c_str());
    } else {
      std::printf("submitted workflow %llu\n", static_cast<unsigned long long>(wid));
    }
    return 0;
  }
  if (wf_wait->parsed()) return WaitForWorkflow(c, id, t);
  if (wf_status->parsed() || wf_cancel->parsed() || wf_retry->parsed()) {
    const std::string target = "/v1/workflows/" + std::to_string(id);
    baton::Result<json::value> answer =
        wf_status->parsed() ? c.Json("GET", target)
        : wf_cancel->parsed()
            ? c.Json("POST", target + "/cancel",
                     reason.empty() ? "" : json::serialize(json::object{{"reason", reason}}))
            : c.Json("POST", target + "/retry");
    if (!answer.ok()) return Fail("workflow", answer.status());
    if (t.json) {
      std::printf("%s\n", Pretty(*answer).c_str());
    } else {
      PrintWorkflow(answer->as_object());
    }
    return 0;
  }
  if (wait_cmd->parsed()) return WaitFor(c, id, t);
  if (list->parsed()) {
    std::string query = "limit=" + std::to_string(limit);
    if (!status_filter.empty()) query += "&status=" + status_filter;
    if (!type_filter.empty()) query += "&type=" + type_filter;
    return print(c.List(query), [](const json::value& v) {
      std::printf("%-10s %-16s %-16s %-9s %s\n", "ID", "TYPE", "STATE", "ATTEMPTS", "ERROR");
      for (const json::value& j : v.at("jobs").as_array()) {
        std::printf("%-10s %-16s %-16s %-9s %s\n", Pretty(j.at("id")).c_str(),
                    std::string(j.at("type").as_string()).c_str(),
                    std::string(j.at("state").as_string()).c_str(),
                    (Pretty(j.at("attempts_used")) + "/" + Pretty(j.at("attempts_max"))).c_str(),
                    std::string(j.at("error").as_string()).substr(0, 60).c_str());
      }
    });
  }
  if (watch->parsed()) {
    if (id != 0) return WaitFor(c, id, t);
    Status s = c.Events(0, 0, [&](const json::object& e) {
      if (t.json) {
        std::printf("%s\n", json::serialize(e).c_str());
        std::fflush(stdout);
      } else {
        ShowProgress(e, false);
      }
      return true;
    });
    return Fail(name, s);
  }
  if (logs->parsed()) {
    const std::string target = "/v1/jobs/" + std::to_string(id) + "/logs";
    if (follow) {
      // The server streams the log as it grows and ends the response when the job ends; a
      // stream that breaks (a restart, a new leader) goes on from the last byte printed.
      Status s = c.FollowLog(id, 0, [](std::string_view data) {
        std::fwrite(data.data(), 1, data.size(), stdout);
        std::fflush(stdout);
      });
      return s.ok() ? 0 : Fail(name, s);
    }
    auto answer = c.Call("GET", target);
    if (!answer.ok()) return Fail(name, answer.status());
    if (answer->status != 200) return Fail(name, baton::client::StatusFromAnswer(*answer));
    std::fwrite(answer->body.data(), 1, answer->body.size(), stdout);
    return 0;
  }
  if (cancel->parsed() || retry->parsed() || accept->parsed() || reject->parsed()) {
    const char* action = cancel->parsed()   ? "cancel"
                         : retry->parsed()  ? "retry"
                         : accept->parsed() ? "accept"
                                            : "reject";
    return print(c.Command(id, action, reason),
                 [](const json::value& v) { PrintJob(v.as_object()); });
  }
  if (result->parsed()) {
    auto got = c.GetResult(id);
    if (!got.ok()) return Fail(name, got.status());
    const std::string text = Pretty(got->at("result"));
    if (!out_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(out_dir, ec);
      std::ofstream out(out_dir + "/result.json");
      out << text << "\n";
      if (!out) return Fail(name, baton::Unavailable("cannot write " + out_dir + "/result.json"));
      out.close();
      if (Status s = c.DownloadFiles(id, out_dir); !s.ok()) return Fail(name, s);
    }
    if (t.json) {
      std::printf("%s\n", Pretty(*got).c_str());
      return 0;
    }
    std::printf("%s\n", text.c_str());
    for (const json::value& f : got->at("files").as_array()) {
      std::printf("  %s (%s bytes)%s\n", std::string(f.at("name").as_string()).c_str(),
                  Pretty(f.at("size")).c_str(),
                  out_dir.empty()
                      ? ""
                      : (" -> " + out_dir + "/" + std::string(f.at("name").as_string())).c_str());
    }
    return 0;
  }
  if (workers->parsed()) {
    return print(c.Json("GET", "/v1/workers"), [](const json::value& v) {
      std::printf("%-24s %-24s %-9s %s\n", "ID", "TYPES", "RUNNING", "STATE");
      for (const json::value& w : v.at("workers").as_array()) {
        std::string types;
        for (const json::value& ty : w.at("types").as_array()) {
          types += (types.empty() ? "" : ",") + std::string(ty.as_string());
        }
        std::printf("%-24s %-24s %-9s %s\n", std::string(w.at("id").as_string()).c_str(),
                    types.c_str(),
                    (Pretty(w.at("running")) + "/" + Pretty(w.at("capacity"))).c_str(),
                    w.at("draining").as_bool() ? "draining" : "ready");
      }
    });
  }
  if (types->parsed()) {
    return print(c.Json("GET", "/v1/types"), [](const json::value& v) {
      std::printf("%-24s %-8s %-8s %-8s %s\n", "TYPE", "QUEUED", "RUNNING", "WORKERS", "CAPACITY");
      for (const json::value& ty : v.at("types").as_array()) {
        std::printf("%-24s %-8s %-8s %-8s %s\n", std::string(ty.at("name").as_string()).c_str(),
                    Pretty(ty.at("queued")).c_str(), Pretty(ty.at("running")).c_str(),
                    Pretty(ty.at("workers")).c_str(), Pretty(ty.at("capacity")).c_str());
      }
    });
  }
  if (token_create->parsed()) {
    json::object body{{"admin", admin}, {"worker", worker_token}};
    if (!user.empty()) body["user"] = user;
    if (private_pool) body["private"] = true;
    auto created = c.Json("POST", "/v1/tokens", json::serialize(body));
    if (!created.ok()) return Fail("token create", created.status());
    if (t.json) {
      std::printf("%s\n", json::serialize(json::object{{"token", created->at("token")}}).c_str());
    } else {
      std::printf("%s\n", std::string(created->at("token").as_string()).c_str());
    }
    return 0;
  }
  return 2;
}
