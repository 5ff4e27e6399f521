// LeaderTerm: what a server runs while it leads: the runtime (engine + group commit) over the
// leader's fenced connection, the workers' hub, the event streams, files and logs, the API's
// modules (their route table is here) and the retention cleaner (term_retention.cc).
//
// A server without a lease (SQLite: one server per data directory) has one term for its life. On
// PostgreSQL a server starts a term each time it takes the lease, and stops it when it loses the
// lease (server.h); the next term is built afresh from the store, as at a restart.
//
// Thread rules: Start, Quiesce and EndStreams from one thread; the parts run their own threads;
// the handlers of Routes() run on HTTP threads.
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
#include "server/server_options.h"
#include "server/tokens_api.h"
#include "server/worker_hub.h"
#include "server/workflows_api.h"
#include "store/database.h"

namespace baton::server {

class LeaderTerm {
 public:
  // What the server lends a term; each must outlive it.
  struct Parts {
    const ServerOptions* options;
    Clock* clock;
    store::Database* database;
    Auth* auth;
    TypeRegistry* types;
    const ServerConfig* config;
    int64_t epoch = 0;  // the lease's; 0: no lease
    // After a commit failed (commit thread): the server checks its lease at once.
    std::function<void(const Status&)> on_commit_failed;
    // GET /healthz's answer once the engine answered ("role", "leader", "epoch").
    std::function<std::string()> health_body;
  };

  static Result<std::unique_ptr<LeaderTerm>> Start(Parts parts);
  ~LeaderTerm();  // Quiesce(), EndStreams()

  // The workers go (they send what is unacknowledged again to the next leader), the runtime
  // commits what it took and answers every caller. No more commits after it returns.
  void Quiesce();
  // Every event stream and log follower ends.
  void EndStreams();

  int64_t epoch() const { return parts_.epoch; }
  // The runtime's and its committer's counters.
  Runtime::Stats stats() { return runtime_->GetStats(); }
  // A worker's WebSocket (GET /v1/workers/connect).
  Result<WebSocketHandlers> ConnectWorker(const Identity& who,
                                          const std::shared_ptr<WebSocket>& socket);
  // The HTTP API: every endpoint, who may call it, and its handler (api_routes.cc).
  static const RouteTable<LeaderTerm>& Routes();

 private:
  explicit LeaderTerm(Parts parts) : parts_(std::move(parts)) {}
  // GET /healthz and /health (api_routes.cc).
  void Health(const HttpRequest& request, const Reply& reply);
  // Retention (term_retention.cc).
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

  Parts parts_;
  const ServerOptions& options_ = *parts_.options;
  const ServerConfig& config_ = *parts_.config;
  TypeRegistry& types_ = *parts_.types;
  std::unique_ptr<store::Store> store_;  // the committer's
  std::unique_ptr<StoreReader> reader_;  // reads from HTTP threads, never the committer's
  std::unique_ptr<JobLogs> logs_;
  std::optional<JobFiles> files_;
  std::unique_ptr<BlockingPool> blocking_;
  LoadGate gate_;  // retention's (term_retention.cc)
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
  bool quiesced_ = false;
  bool streams_ended_ = false;
  std::unique_ptr<store::Store> cleaner_reader_;  // the cleaner's own connection
  std::thread cleaner_;
  std::mutex cleaner_mu_;
  std::condition_variable cleaner_cv_;
  bool cleaner_stop_ = false;
  std::mutex cleaner_pass_mu_;
  engine::EventSeq events_deleted_before_ = 0;  // under cleaner_pass_mu_
};

}  // namespace baton::server
