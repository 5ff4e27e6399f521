// Runtime: runs the engine on its own thread over a durable store.
//
// Commands from any thread are queued to the engine thread, which applies them, then hands the
// records to the group committer. A command's completion callback runs only after the commit that
// holds its effects (design.md: "replies and pushed messages leave only after their commit").
// At most `commits_in_flight_max` batches are handed over at once (one committing, one waiting,
// by default, so SQLite never idles between transactions); meanwhile the engine keeps working and
// everything it changes coalesces into the next batch. If a commit fails, every command whose
// effects were not committed fails with that error, the committer refuses what was queued behind
// it, and the engine is rebuilt from the store, so memory never runs ahead of what is durable.
//
// Stepped (RuntimeOptions::threaded = false, for the simulation): there are no threads. Whoever
// drives it calls RunPass (what the engine thread does once it wakes) and CommitPending (one
// group commit, with its callbacks), in any interleaving it likes, so that one seed replays the
// same run.
//
// Thread rules: Execute, Call and Stats are thread-safe. Callbacks (`done`, `on_notices`) run on
// the commit thread and must not block for long. Stepped: one thread drives it all.
#pragma once

#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "engine/engine.h"
#include "store/group_commit.h"
#include "store/store.h"

namespace baton::server {

struct RuntimeOptions {
  engine::EngineConfig engine;
  // Runs on every engine the runtime builds (at start, and when it rebuilds one from the store
  // after a failed commit), before any command: the place to give it what the store does not
  // hold (declared types, the scheduling policy, connected workers).
  std::function<void(engine::Engine&)> on_engine;
  // The engine thread wakes at least this often to fire timers, even with nothing to do.
  int64_t tick_interval_ms_max = 100;
  // Commands waiting for the engine thread; more are refused with ResourceExhausted.
  size_t queue_max = 100000;
  // Batches handed to the committer at once. 1 coalesces the most; 2 keeps the store busy while
  // the engine prepares the next batch (measured: about 15% more durable lifecycles a second).
  int commits_in_flight_max = 2;
  // False: no engine or commit thread; the caller steps it (RunPass, CommitPending).
  bool threaded = true;
  // Messages for workers (stop this attempt), delivered after the commit that decided them.
  std::function<void(std::vector<engine::Notice>)> on_notices;
  // After each commit that held events: the last sequence number now durable (commit thread).
  std::function<void(engine::EventSeq)> on_events_committed;
  // After each commit that failed, with its status (commit thread): a leader checks its lease.
  std::function<void(const Status&)> on_commit_failed;
  // After each commit in which jobs reached a terminal state: their ids (commit thread).
  std::function<void(std::vector<engine::JobId>)> on_jobs_finished;
  // Runs on the engine thread after every pass (the queued commands applied, timers fired): the
  // place to hand out work. Callbacks it appends to `after_commit` run after the commit that holds
  // what it did, with that commit's status, like the `done` of a command.
  std::function<void(engine::Engine&,
                     std::vector<std::function<void(const Status&)>>* after_commit)>
      on_pass;
};

class Runtime {
 public:
  using Done = std::function<void(const Status&)>;

  // Recovers the engine from `store` and starts the engine and commit threads. `store` and
  // `clock` must outlive the runtime.
  static Result<std::unique_ptr<Runtime>> Start(store::Store* store, Clock* clock,
                                                RuntimeOptions options);
  // Stops: refuses new commands (their `done` gets Unavailable), commits what was done, answers
  // its callers, joins the threads. Idempotent; the destructor calls it.
  void Stop();
  ~Runtime();

  // Runs `fn` on the engine thread; then `done` runs after the commit that holds fn's effects,
  // with that commit's status (or at once, without running fn, if the runtime cannot take it).
  void Execute(std::function<void(engine::Engine&)> fn, Done done);

  // Runs `fn(engine)` on the engine thread and returns its result once committed. A result of
  // type Status or Result<T> comes back as such, with a commit failure in place of the value;
  // any other R comes back as Result<R>.
  template <typename F>
  auto Call(F fn);

  // Makes the engine thread run a pass soon (say, because a worker has new free slots).
  void Wake();

  // Stepped only. One pass of the engine thread: commit results taken in, the queued commands
  // applied, timers fired, on_pass, and the batch handed to the committer; false once stopped
  // with nothing left. Then one transaction of what was handed over (false: nothing was).
  bool RunPass();
  bool CommitPending() { return committer_->CommitPending(); }

  struct Stats {
    uint64_t commits = 0;
    uint64_t commit_failures = 0;
    uint64_t rebuilds = 0;
    store::GroupCommitter::Stats committer;
  };
  Stats GetStats();

 private:
  struct Command {
    std::function<void(engine::Engine&)> fn;
    Done done;
  };
  Runtime(store::Store* store, Clock* clock, RuntimeOptions options);
  Status Rebuild();
  void Loop();
  void MaybeCommit();
  void FailWaiting(const Status& status);

  store::Store* store_;
  Clock* clock_;
  RuntimeOptions options_;
  std::unique_ptr<engine::Engine> engine_;  // engine thread only
  std::vector<Done> waiting_;               // engine thread only: executed, not yet handed over
  int in_flight_ = 0;                       // engine thread only: batches handed over
  bool healthy_ = true;                     // engine thread only: the engine matches the store
  Status failure_;                          // engine thread only: why it does not, when it does not
  int64_t rebuild_after_ms_ = 0;            // engine thread only
  std::vector<Command> commands_;           // engine thread only: the pass's commands
  bool stopped_ = false;                    // the controlling thread's

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Command> queue_;
  int commits_returned_ = 0;
  Status commit_status_;
  bool stop_ = false;
  bool wake_ = false;
  Stats stats_;

  std::unique_ptr<store::GroupCommitter> committer_;
  std::thread thread_;
};

namespace internal {
template <typename T>
struct IsResult : std::false_type {};
template <typename T>
struct IsResult<Result<T>> : std::true_type {};
}  // namespace internal

template <typename F>
auto Runtime::Call(F fn) {
  using R = std::invoke_result_t<F&, engine::Engine&>;
  using Out =
      std::conditional_t<std::is_same_v<R, Status> || internal::IsResult<R>::value, R, Result<R>>;
  auto promise = std::make_shared<std::promise<Out>>();
  auto value = std::make_shared<std::optional<R>>();
  std::future<Out> future = promise->get_future();
  Execute([fn = std::move(fn), value](engine::Engine& e) mutable { value->emplace(fn(e)); },
          [promise, value](const Status& s) {
            if (!s.ok()) {
              promise->set_value(Out(s));
            } else {
              promise->set_value(Out(std::move(**value)));
            }
          });
  return future;
}

}  // namespace baton::server
