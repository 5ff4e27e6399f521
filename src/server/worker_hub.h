// WorkerHub: the server's side of the worker protocol (docs/protocol.md). It keeps the connected
// workers (types, capacity, the attempts each runs), turns their frames into engine commands, and
// pushes work: after every engine pass it dispatches to each worker with free slots, and the
// assignments leave, batched in one frame per worker, after the commit that made them durable.
//
// Thread rules: thread-safe. Frames arrive on I/O threads, OnPass runs on the engine thread,
// commit callbacks and Notify on the commit thread; one mutex guards the workers.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "protocol/frames.h"
#include "server/auth.h"
#include "server/http_server.h"
#include "server/runtime.h"

namespace baton::server {

struct WorkerHubOptions {
  size_t worker_types_max = 64;
  uint32_t capacity_max = 10000;  // attempts one worker may run at once
  size_t resources_max = 64;      // resources in a hello, and as many labels
  size_t spawn_jobs_max = 10000;  // sub-jobs in one spawn message
  // Log chunks of one connection kept between its hello and the engine applying it (then the
  // attempts it holds are known); past this they are dropped.
  size_t held_log_bytes_max = 4 << 20;
};

// A worker's id on the server is its token's user and its name: "alice:w1". Worker ids are
// therefore per user, and no token can speak for another user's workers.
std::string QualifiedWorkerId(std::string_view user, std::string_view name);
// "user:name" with a valid user and name (POST /v1/workers/{id}/drain).
bool ValidQualifiedWorkerId(std::string_view id);

class WorkerHub {
 public:
  WorkerHub(Clock* clock, WorkerHubOptions options) : clock_(clock), options_(options) {}

  // Where a worker's log chunks go: job, attempt, stream ("stdout" / "stderr"), data.
  using LogSink =
      std::function<void(engine::JobId, engine::AttemptId, const std::string&, const std::string&)>;
  // The runtime the hub drives, and the log sink; set once, before the first connection.
  void Attach(Runtime* runtime, LogSink logs) {
    runtime_ = runtime;
    logs_ = std::move(logs);
  }

  // Checks and completes the specs of spawned sub-jobs as a submit would (declared types); an
  // error names the spec ("[3].payload.x: ..."). Set once, before the first connection.
  using SpecCheck = std::function<Status(std::vector<engine::JobSpec>&)>;
  void SetSpecCheck(SpecCheck check) { check_specs_ = std::move(check); }
  // Checks the resources a worker claims in its hello (the scheduling policy's resources_max).
  using ResourceCheck = std::function<Status(const engine::Resources&)>;
  void SetResourceCheck(ResourceCheck check) { check_resources_ = std::move(check); }

  // Hooks this hub into a runtime's options before Runtime::Start: on_engine (after what it
  // already does) reattaches the workers, on_pass dispatches, on_notices stops attempts.
  void HookInto(RuntimeOptions& options);
  // Engine thread: tells a rebuilt engine about every connected worker (its resources, labels
  // and plugins) and the drained ones (RuntimeOptions::on_engine).
  void Reattach(engine::Engine& engine);
  // Remembers a drain (POST /v1/workers/{id}/drain) for GET /v1/workers and for rebuilt engines;
  // the engine applies it.
  void SetDrained(const std::string& id, bool drained);

  // For the HTTP server: accepts a WebSocket on /v1/workers/connect from a worker (or
  // administrator) token.
  Result<WebSocketHandlers> Connect(const Identity& who, const std::shared_ptr<WebSocket>& socket);

  // Engine thread: hands ready jobs to workers with free slots (RuntimeOptions::on_pass).
  void OnPass(engine::Engine& engine, std::vector<std::function<void(const Status&)>>* after);
  // Commit thread: tells workers to stop attempts (RuntimeOptions::on_notices).
  void Notify(const std::vector<engine::Notice>& notices);

  // Asks the worker running an attempt for a snapshot of its working directory (a partial
  // result), which it PUTs to /v1/jobs/{job}/attempts/{attempt}/snapshot/{request}; false when
  // that worker is not connected. Any thread.
  bool RequestSnapshot(const std::string& worker_id, engine::JobId job, engine::AttemptId attempt,
                       uint64_t request);
  // Where a worker's answer that it cannot send a snapshot goes: the request, the attempt (its
  // worker_id the sender), and why. Set once, before the first connection.
  using SnapshotSink = std::function<void(uint64_t, const engine::AttemptRef&, const std::string&)>;
  void SetSnapshotSink(SnapshotSink sink) { snapshot_sink_ = std::move(sink); }

  // GET /v1/workers and GET /v1/types.
  boost::json::array Workers();
  // The types the connected workers serve, with the worker count and running attempts of each.
  struct TypeLoad {
    uint32_t workers = 0;
    uint32_t capacity = 0;
    uint32_t running = 0;
  };
  std::unordered_map<std::string, TypeLoad> Types();

  // Closes every connection (the server is stopping) and forgets them.
  void CloseAll();

 private:
  struct Connection;
  struct HeldLog {
    engine::JobId job;
    engine::AttemptId attempt;
    std::string stream, data;
  };
  struct Worker {
    // Its id and types, kept ready for every dispatch pass (which sets the free slots).
    engine::DispatchRequest dispatch;
    std::string user;
    uint32_t capacity = 0;
    boost::json::object resources;  // as announced
    boost::json::object labels;     // as announced
    boost::json::array plugins;     // as announced
    engine::WorkerInfo info;        // what the engine was told at hello
    std::vector<engine::PluginRegistration> registrations;
    bool draining = false;
    // Set on the engine thread once this connection's hello has been applied there (the worker
    // connected, the attempts it does not hold released, the ones it holds confirmed into
    // `running`). Until then no dispatch pass gives it anything: an attempt dispatched before the
    // release would be released as never arrived.
    bool hello_applied = false;
    // Log chunks read before the attempts it holds were confirmed, written once they are (after
    // the hello's commit), in order.
    bool logs_held = true;
    std::vector<HeldLog> held_logs;
    size_t held_log_bytes = 0;
    int64_t connected_ms = 0;
    std::shared_ptr<Connection> connection;
    std::unordered_map<engine::AttemptId, std::string> running;  // attempt -> its job's type
  };

  SpecCheck check_specs_;
  ResourceCheck check_resources_;
  SnapshotSink snapshot_sink_;
  std::set<std::string> drained_;  // under mu_
  std::atomic<uint64_t> next_serial_{0};

  struct Op;  // an engine command from a frame (worker_hub.cc)

  void OnMessage(const std::shared_ptr<Connection>& c, const std::string& text);
  void OnClose(const std::shared_ptr<Connection>& c);
  Status Hello(const std::shared_ptr<Connection>& c, const protocol::Hello& hello);
  // The frame's messages from `first` on (after its hello): the engine commands go to the engine
  // thread together (RunOps), the rest take effect here.
  Status Apply(const std::shared_ptr<Connection>& c, std::vector<protocol::WorkerMessage>& messages,
               size_t first);
  Op SpawnOp(const engine::AttemptRef& ref, const protocol::Spawn& m) const;
  void TakeLog(const Connection& c, protocol::Log& m);
  void RunOps(const std::shared_ptr<Connection>& c, const std::shared_ptr<std::vector<Op>>& ops);
  static std::vector<protocol::ServerMessage> Answers(const std::vector<Op>& ops,
                                                      const std::vector<Status>& statuses,
                                                      const Status& committed);
  void Fail(const std::shared_ptr<Connection>& c, const Status& why);
  // Writes the log chunks held since the hello, for the attempts the worker holds. Under mu_.
  void FlushHeldLogs(Worker& w);
  // The worker this connection speaks for, or null once a newer connection of the same worker
  // has replaced it (or it is gone). Under mu_.
  Worker* Own(const Connection& c);

  Clock* clock_;
  WorkerHubOptions options_;
  Runtime* runtime_ = nullptr;
  LogSink logs_;
  std::mutex mu_;
  std::unordered_map<std::string, Worker> workers_;
};

}  // namespace baton::server
