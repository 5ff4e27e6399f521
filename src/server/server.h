// Server: Baton's server process, assembled: the SQLite store in a data directory, the runtime
// (engine + group commit) over it, and the HTTP API in front.
//
// Thread rules: Start and Stop from one thread; the parts run their own threads.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "server/auth.h"
#include "server/event_streams.h"
#include "server/http_server.h"
#include "server/job_logs.h"
#include "server/runtime.h"
#include "server/worker_hub.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/sqlite_token_store.h"

namespace baton::server {

struct ServerOptions {
  std::string data_dir = "./baton-data";
  std::string host = "127.0.0.1";
  uint16_t port = 7070;  // 0: any free port
  HttpLimits http;
  size_t batch_max = 1000;  // jobs in one POST /v1/jobs
  RuntimeOptions runtime;
  store::SqliteOptions sqlite;
  WorkerHubOptions workers;
  size_t log_bytes_max = 64 << 20;  // per job; past it, log chunks are dropped
  EventStreamsOptions events;
};

// "HOST:PORT" -> (host, port); the error names the flag and what was wrong.
Status ParseListen(const std::string& text, std::string* host, uint16_t* port);

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();  // Stop()

  uint16_t port() const { return http_->port(); }
  // Where the administrator's token is (written at the first start, mode 0600).
  std::string admin_token_path() const { return options_.data_dir + "/admin.token"; }
  // Stops taking requests, commits what was done, closes the store.
  void Stop();

 private:
  explicit Server(ServerOptions options) : options_(std::move(options)) {}
  Status EnsureAdminToken();
  void Handle(HttpRequest&& request, Reply reply);
  void SubmitJobs(const Identity& who, const HttpRequest& request, Reply reply);
  void GetJob(const Identity& who, engine::JobId id, const HttpRequest& request, Reply reply);
  // The job as of the last commit, if `who` may see it (NotFound otherwise), to `then`.
  void FindJob(const Identity& who, engine::JobId id,
               std::function<void(Result<engine::JobRecord>)> then);
  // A job from the store (one that left the engine's memory); NotFound also when it is not
  // `who`'s: another user's job is as absent as a missing one.
  Result<engine::JobRecord> ReadStoredJob(const Identity& who, engine::JobId id);
  void CreateToken(const Identity& who, const HttpRequest& request, Reply reply);
  void ListJobs(const Identity& who, const HttpRequest& request, Reply reply);
  void StreamEvents(const Identity& who, const HttpRequest& request, Reply reply);
  void ListTypes(const HttpRequest& request, Reply reply);
  // cancel, retry, reject, accept: runs `command` on the job if `who` may touch it, and answers
  // with the job as it is afterwards. `preload`: a finished job read from the store, loaded into
  // the engine first (the second try, for a job that had left memory).
  using JobCommandFn = std::function<Status(engine::Engine&, engine::JobId)>;
  void JobCommand(const Identity& who, engine::JobId id, const HttpRequest& request, Reply reply,
                  JobCommandFn command, std::shared_ptr<engine::JobRecord> preload);

  ServerOptions options_;
  SystemClock clock_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<store::SqliteTokenStore> tokens_;
  std::unique_ptr<Auth> auth_;
  std::mutex reader_mu_;
  std::unique_ptr<store::SqliteStore> reader_;  // reads from HTTP threads, never the committer's
  std::optional<JobLogs> logs_;
  std::unique_ptr<WorkerHub> hub_;
  std::unique_ptr<EventStreams> events_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace baton::server
