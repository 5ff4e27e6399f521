// Server: Baton's server process, assembled: the database (a store URL, by default SQLite in the
// data directory), the runtime (engine + group commit) over it, and the HTTP API in front.
//
// Thread rules: Start and Stop from one thread; the parts run their own threads.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"
#include "common/status.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/data_lock.h"
#include "server/event_streams.h"
#include "server/events_api.h"
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
  // Files, logs and the admin token; with the default store, the database too.
  std::string data_dir = "./baton-data";
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

// Whether the request's body is multipart (a submit with files).
bool IsMultipart(const HttpRequest& request);
// A file name as job-orchestrator's /upload takes it: the last segment of the path ("../../x",
// "/etc/x", "a/b/x" and "a\\x" are "x"); nothing left (or "." or "..") is "file".
std::string CompatFileName(std::string_view name);

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();  // Stop()

  uint16_t port() const { return http_->port(); }
  // Where the administrator's token is (written at the first start, mode 0600).
  std::string admin_token_path() const { return options_.data_dir + "/admin.token"; }
  // The database, for messages: "sqlite:./baton-data".
  std::string store_description() const { return database_->description(); }
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
  // POST /v1/jobs with multipart/form-data: a "job" part (the JSON of one job) and file parts.
  void SubmitWithFiles(const Identity& who, const HttpRequest& request, Reply reply);
  // Stores `files` as the job's inputs, submits it, and calls `done` after the commit.
  void SubmitWithInputs(engine::JobSpec spec, const std::vector<FileData>& files,
                        std::function<void(Result<engine::SubmitResult>)> done);
  // The output files of the job's current attempt as its manifest records them (each upload
  // committed before its 201), checked against the disk: one that is missing or changed size is
  // data_loss naming it, never left out. A job from before the manifest takes the disk as it is.
  Result<std::vector<FileInfo>> CheckedOutputs(const engine::JobRecord& job) const;
  // Those files as a zip answer (GET /v1/jobs/{id}/output.zip, /download/{id}).
  Result<HttpResponse> ZipOfOutputs(const engine::JobRecord& job, const HttpRequest& request) const;
  // GET /v1/jobs/{id}/partial.zip, /download/{id}?partial=1: asks the worker running the job's
  // attempt for a zip of its directory as it is now, and answers with it when it comes (404 when
  // no attempt runs). PUT /v1/jobs/{id}/attempts/{a}/snapshot/{request}: that zip, from the
  // worker holding the attempt. The reader waits at most snapshot_timeout_ms.
  void PartialZip(const Identity& who, engine::JobId id, const HttpRequest& request,
                  const Reply& reply);
  void PutSnapshot(const Identity& who, engine::JobId id, engine::AttemptId attempt,
                   uint64_t number, HttpRequest&& request, const Reply& reply);
  // Ends a waiting snapshot request with `answer` (for a snapshot sent, refused or timed out),
  // if `worker` is the one it asked (empty: any); false if there is none.
  struct PendingSnapshot {
    engine::JobId job = 0;
    engine::AttemptId attempt = 0;
    std::string worker;
    Reply reply;
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };
  std::optional<PendingSnapshot> TakeSnapshot(uint64_t number, const engine::AttemptRef& from);
  // Answers every waiting reader 503 (the server is stopping).
  void AbandonSnapshots();
  // GET /v1/jobs/{id}/result, /files/{name}, /output.zip; GET /v1/jobs/{id}/inputs/{name}.
  void JobResult(const Identity& who, engine::JobId id, const HttpRequest& request,
                 const Reply& reply);
  void OutputFile(const Identity& who, engine::JobId id, const std::string& name,
                  const HttpRequest& request, const Reply& reply);
  void OutputZip(const Identity& who, engine::JobId id, const HttpRequest& request,
                 const Reply& reply);
  void InputFile(const Identity& who, engine::JobId id, const std::string& name,
                 const HttpRequest& request, const Reply& reply);
  // The worker a worker's file request speaks for: its token's user and the Baton-Worker header
  // (QualifiedWorkerId); PermissionDenied naming `what` without a valid header. The route table
  // admits only worker (and administrator) tokens to these requests.
  Result<std::string> WorkerOf(const Identity& who, const HttpRequest& request,
                               std::string_view what) const;
  // PUT /v1/jobs/{id}/attempts/{attempt}/files/{name}: a worker uploads an output file.
  void PutOutput(const Identity& who, engine::JobId id, engine::AttemptId attempt,
                 const std::string& name, HttpRequest&& request, const Reply& reply);
  // The job-orchestrator file API: POST /upload, GET|HEAD /download/{id}, POST /terminate/{id}.
  void Upload(const Identity& who, const HttpRequest& request, Reply reply);
  void Download(const Identity& who, engine::JobId id, const HttpRequest& request, Reply reply);
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
  std::unique_ptr<WorkflowsApi> workflows_;
  std::unique_ptr<SchedulingApi> scheduling_;
  std::unique_ptr<TokensApi> tokens_api_;
  std::unique_ptr<EventsApi> events_api_;
  std::unique_ptr<WorkerHub> hub_;
  std::unique_ptr<EventStreams> events_;
  std::mutex snapshots_mu_;
  std::unordered_map<uint64_t, PendingSnapshot> snapshots_;  // by request number
  uint64_t snapshot_requests_ = 0;                           // under snapshots_mu_
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
