// The parts every API module shares, one of each, owned by the Server:
// - StoreReader: the store connection for reads from HTTP requests (never the committer's),
//   used by one reader at a time;
// - BlockingPool: the threads for file and store I/O, which never runs on the engine's, the
//   committer's or the HTTP threads;
// - LoadGate: retention's guard against bringing back a job it is deleting (server_retention.cc);
// - JobAccess: a job found, read from the store or commanded for a caller, under the one policy
//   of access.h; another user's job is as absent as a missing one.
//
// Thread rules: StoreReader, BlockingPool and JobAccess are thread-safe; LoadGate::MayLoad and
// its forgotten set are for the engine thread only, its lock for any.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "server/access.h"
#include "server/auth.h"
#include "server/http_server.h"
#include "server/runtime.h"
#include "store/store.h"

namespace baton::server {

class StoreReader {
 public:
  explicit StoreReader(std::unique_ptr<store::Store> store) : store_(std::move(store)) {}
  // Runs `read(store)` holding the connection; returns what it returns.
  template <typename F>
  auto With(F&& read) {
    std::lock_guard lock(mu_);
    return read(*store_);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<store::Store> store_;
};

class BlockingPool {
 public:
  explicit BlockingPool(int threads);
  void Post(std::function<void()> work);
  // For timers whose handlers run on the pool.
  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  // Waits for the work posted so far, and takes no more.
  void Join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
};

class LoadGate {
 public:
  // Held by a reader from its read of a job until its load is queued on the engine.
  std::shared_lock<std::shared_mutex> Reading() { return std::shared_lock(mu_); }
  // Held by the cleaner once its delete committed, until it queued the release behind them.
  std::unique_lock<std::shared_mutex> Deleting() { return std::unique_lock(mu_); }
  // Engine thread only: whether a job read from the store may be loaded (not while the cleaner
  // deletes it), and the cleaner's marks.
  bool MayLoad(engine::JobId id) const { return !forgotten_.contains(id); }
  void Forgetting(engine::JobId id) { forgotten_.insert(id); }
  void Forgotten(engine::JobId id) { forgotten_.erase(id); }

 private:
  std::shared_mutex mu_;
  std::unordered_set<engine::JobId> forgotten_;
};

// How a job that is missing, or not the caller's, is answered: the two look the same.
Status JobNotFound(engine::JobId id);

// The body of a job or workflow command: empty, or {"reason": "text"}.
Result<std::string> ParseReason(const std::string& body);

class JobAccess {
 public:
  JobAccess(Runtime* runtime, StoreReader* reader, BlockingPool* blocking, LoadGate* gate)
      : runtime_(runtime), reader_(reader), blocking_(blocking), gate_(gate) {}

  // The job as of the last commit, if `who` may see it (NotFound otherwise), to `then`, on the
  // blocking pool; and, if `waiting_for` is given, why it is not running yet (engine.h,
  // WhyWaiting). `as_of`, when given, gets the last event's sequence number as the engine read
  // the job: every later change of the job is an event after it.
  void FindJob(const Identity& who, engine::JobId id,
               std::function<void(Result<engine::JobRecord>)> then,
               const std::shared_ptr<std::string>& waiting_for = nullptr,
               const std::shared_ptr<engine::EventSeq>& as_of = nullptr);
  // A job from the store (one that left the engine's memory); NotFound also when it is not
  // `who`'s.
  Result<engine::JobRecord> ReadStoredJob(const Identity& who, engine::JobId id);

  // cancel, retry, reject, accept, terminate: runs `command` on the job if `who` may touch it,
  // and answers with the job as it is afterwards (`answer`; JobToJson when empty). A job that
  // left memory is read from the store and loaded first (`preload`, the second try).
  using CommandFn = std::function<Status(engine::Engine&, engine::JobId)>;
  using AnswerFn = std::function<boost::json::object(const engine::JobRecord&)>;
  void JobCommand(const Identity& who, engine::JobId id, const HttpRequest& request,
                  const Reply& reply, const CommandFn& command,
                  const std::shared_ptr<engine::JobRecord>& preload = nullptr,
                  const AnswerFn& answer = nullptr);

 private:
  Runtime* runtime_;
  StoreReader* reader_;
  BlockingPool* blocking_;
  LoadGate* gate_;
};

}  // namespace baton::server
