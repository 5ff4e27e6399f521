// Server: Baton's server process, assembled: the database (a store URL, by default SQLite in the
// data directory), the runtime (engine + group commit) over it, and the HTTP API in front.
//
// Thread rules: Start and Stop from one thread; the parts run their own threads.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "server/auth.h"
#include "server/compat_api.h"
#include "server/config.h"
#include "server/data_lock.h"
#include "server/event_streams.h"
#include "server/events_api.h"
#include "server/files_api.h"
#include "server/http_server.h"
#include "server/job_access.h"
#include "server/job_files.h"
#include "server/job_logs.h"
#include "server/job_types.h"
#include "server/jobs_api.h"
#include "server/routes.h"
#include "server/runtime.h"
#include "server/scheduling_api.h"
#include "server/tokens_api.h"
#include "server/worker_hub.h"
#include "server/workflows_api.h"
#include "store/database.h"

namespace baton::server {

struct ServerOptions {
  // The admin token and the upload spool; with the default store, the database, files and logs.
  std::string data_dir = "./baton-data";
  // Files and logs in this directory (a shared filesystem, for several servers); empty: in the
  // database when it keeps them (postgresql), else in data_dir.
  std::string files_dir;
  // The database's URL (store/database.h); empty: sqlite:DATA_DIR. A sqlite:DIR store is the
  // data directory (ResolveStore).
  std::string store;
  store::DatabaseOptions database;
  std::string host = "127.0.0.1";
  uint16_t port = 7070;  // 0: any free port
  HttpLimits http;
  size_t batch_max = 1000;        // jobs in one POST /v1/jobs
  size_t retry_jobs_max = 10000;  // jobs one POST /v1/jobs/retry retries
  RuntimeOptions runtime;
  WorkerHubOptions workers;
  size_t log_bytes_max = 64 << 20;  // per job; past it, log chunks are dropped
  size_t log_followers_max = 1000;  // GET /v1/jobs/{id}/logs?follow=1 at once
  EventStreamsOptions events;
  FileLimits files;
  std::string types_file;     // the job type registry (docs/types.md); empty: none
  std::string config_file;    // config.h: scheduling policy; empty: no limits
  bool strict_types = false;  // refuse types the registry does not declare
  int blocking_threads = 2;   // file reads and writes, reads of the store for HTTP requests
  // How long a reader of a partial result (GET /v1/jobs/{id}/partial.zip) waits for the worker.
  int64_t snapshot_timeout_ms = 30'000;
};

// Fills in the store URL and the data directory from each other: no store is sqlite:DATA_DIR;
// a sqlite:DIR store puts the data directory in DIR. `data_given`: --data was on the command
// line, so a sqlite store elsewhere is a contradiction, refused.
Status ResolveStore(ServerOptions& options, bool data_given);

// "HOST:PORT" -> (host, port); the error names the flag and what was wrong.
Status ParseListen(const std::string& text, std::string* host, uint16_t* port);

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();  // Stop()

  uint16_t port() const { return http_->port(); }
  // Where the administrator's token is (written at the first start, mode 0600).
  std::string admin_token_path() const { return options_.data_dir + "/admin.token"; }
  // The database, for messages: "sqlite:./baton-data".
  std::string store_description() const { return database_->description(); }
  // Where files and logs are kept: "the database" or a directory.
  const std::string& files_description() const { return files_description_; }
  // Stops taking requests, commits what was done, closes the store.
  void Stop();
  // The HTTP API: every endpoint, who may call it, and its handler (api_routes.cc).
  static const RouteTable<Server>& Routes();

 private:
  explicit Server(ServerOptions options) : options_(std::move(options)) {}
  Status EnsureAdminToken();
  void Handle(HttpRequest&& request, Reply reply);
  // GET /healthz and /health (api_routes.cc).
  void Health(const HttpRequest& request, const Reply& reply);
  // Retention (server_retention.cc).
  struct RetentionPass {
    uint64_t jobs_seen = 0;
    uint64_t jobs_deleted = 0;
    engine::EventSeq events_before = 0;  // events below this are deleted
    int64_t duration_ms = 0;
  };
  void StartCleaner();
  void StopCleaner();
  bool CleanerStopping();
  // One pass over the finished jobs and the events; one pass at a time.
  Result<RetentionPass> CleanOnce();
  // Deletes the jobs (those still finished), then their files; returns how many went.
  Result<size_t> ForgetJobs(const std::vector<store::FinishedJob>& due);
  void RunRetention(const HttpRequest& request, const Reply& reply);
  ServerOptions options_;
  SystemClock clock_;
  std::unique_ptr<DataLock> lock_;  // this server's hold on the data directory
  std::unique_ptr<store::Database> database_;
  std::string files_description_;
  std::unique_ptr<store::Store> store_;  // the committer's
  std::unique_ptr<store::TokenStore> tokens_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<StoreReader> reader_;  // reads from HTTP threads, never the committer's
  std::unique_ptr<JobLogs> logs_;
  TypeRegistry types_;
  ServerConfig config_;
  std::optional<JobFiles> files_;
  std::unique_ptr<BlockingPool> blocking_;
  LoadGate gate_;  // retention's (server_retention.cc)
  std::unique_ptr<JobAccess> access_;
  std::unique_ptr<JobsApi> jobs_;
  std::unique_ptr<FilesApi> files_api_;
  std::unique_ptr<CompatApi> compat_;
  std::unique_ptr<WorkflowsApi> workflows_;
  std::unique_ptr<SchedulingApi> scheduling_;
  std::unique_ptr<TokensApi> tokens_api_;
  std::unique_ptr<EventsApi> events_api_;
  std::unique_ptr<WorkerHub> hub_;
  std::unique_ptr<EventStreams> events_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<store::Store> cleaner_reader_;  // the cleaner's own connection
  std::thread cleaner_;
  std::mutex cleaner_mu_;
  std::condition_variable cleaner_cv_;
  bool cleaner_stop_ = false;
  std::mutex cleaner_pass_mu_;
  engine::EventSeq events_deleted_before_ = 0;  // under cleaner_pass_mu_
};

}  // namespace baton::server
