#include "server/runtime.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

namespace baton::server {

Runtime::Runtime(store::Store* store, Clock* clock, RuntimeOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

Result<std::unique_ptr<Runtime>> Runtime::Start(store::Store* store, Clock* clock,
                                                RuntimeOptions options) {
  if (options.commits_in_flight_max < 1) {
    return InvalidArgument("commits_in_flight_max: must be at least 1, got " +
                           std::to_string(options.commits_in_flight_max));
  }
  std::unique_ptr<Runtime> rt(new Runtime(store, clock, std::move(options)));
  BATON_RETURN_IF_ERROR(rt->Rebuild());
  rt->committer_ = std::make_unique<store::GroupCommitter>(store, rt->options_.threaded);
  if (rt->options_.threaded) rt->thread_ = std::thread([r = rt.get()] { r->Loop(); });
  return rt;
}

void Runtime::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  } else if (!options_.threaded && committer_ && !stopped_) {
    // Stepped: what the thread would do before it ends, on the caller's thread.
    while (RunPass()) committer_->CommitPending();
  }
  stopped_ = true;
}

Runtime::~Runtime() {
  Stop();
  committer_.reset();
}

// Replaces the engine with one recovered from the store. Only when no commit is in flight.
Status Runtime::Rebuild() {
  const int64_t now = clock_->NowMs();
  Result<engine::RecoveredState> state = store_->Recover(now - options_.engine.idempotency_ttl_ms);
  if (!state.ok()) return state.status().WithContext("recover");
  auto fresh = std::make_unique<engine::Engine>(options_.engine);
  BATON_RETURN_IF_ERROR(fresh->Restore(std::move(*state)));
  if (options_.on_engine) options_.on_engine(*fresh);
  fresh->Tick(now);  // leases that expired while nobody watched end now
  engine_ = std::move(fresh);
  return Status::Ok();
}

void Runtime::Execute(std::function<void(engine::Engine&)> fn, Done done) {
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = stop_;
    if (!stopping && queue_.size() < options_.queue_max) {
      const bool was_empty = queue_.empty();
      queue_.push_back(Command{std::move(fn), std::move(done)});
      if (was_empty) cv_.notify_one();
      return;
    }
  }
  done(stopping ? Unavailable("the server is shutting down; the command was not applied")
                : ResourceExhausted("the engine queue is full (queue_max = " +
                                    std::to_string(options_.queue_max) + "); try again"));
}

void Runtime::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void Runtime::FailWaiting(const Status& status) {
  for (Done& d : waiting_) d(status);
  waiting_.clear();
}

void Runtime::MaybeCommit() {
  if (in_flight_ >= options_.commits_in_flight_max || !healthy_ ||
      (waiting_.empty() && !engine_->HasRecords()))
    return;
  engine::RecordBatch batch;
  engine_->TakeRecords(&batch);
  std::vector<engine::Notice> notices;
  engine_->TakeNotices(&notices);
  ++in_flight_;
  const engine::EventSeq last_event = batch.events.empty() ? 0 : batch.events.back().seq;
  std::vector<engine::JobId> finished;
  if (options_.on_jobs_finished) {
    for (const engine::Event& e : batch.events) {
      if (e.kind == engine::EventKind::kState && engine::IsTerminal(e.state)) {
        finished.push_back(e.job_id);
      }
    }
  }
  committer_->Commit(std::move(batch),
                     [this, done = std::move(waiting_), last_event, notices = std::move(notices),
                      finished = std::move(finished)](const Status& s) mutable {
                       // The engine thread learns of the commit first, so that a caller who reacts
                       // to its answer (say, by retrying after a failure) reaches an engine that
                       // already knows.
                       {
                         std::lock_guard lock(mu_);
                         ++commits_returned_;
                         if (!s.ok()) commit_status_ = s;
                         ++stats_.commits;
                         if (!s.ok()) ++stats_.commit_failures;
                       }
                       cv_.notify_one();
                       for (Done& d : done) d(s);
                       if (!s.ok() && options_.on_commit_failed) options_.on_commit_failed(s);
                       if (s.ok() && !notices.empty() && options_.on_notices)
                         options_.on_notices(std::move(notices));
                       if (s.ok() && last_event != 0 && options_.on_events_committed) {
                         options_.on_events_committed(last_event);
                       }
                       if (s.ok() && !finished.empty())
                         options_.on_jobs_finished(std::move(finished));
                     });
  waiting_.clear();
}

void Runtime::Loop() {
  pthread_setname_np(pthread_self(), "baton-engine");
  for (;;) {
    {
      std::unique_lock lock(mu_);
      const int64_t now = clock_->NowMs();
      const int64_t next = healthy_ ? engine_->NextTimerMs() : now + options_.tick_interval_ms_max;
      const int64_t wait_ms = std::clamp<int64_t>(next - now, 0, options_.tick_interval_ms_max);
      cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                   [this] { return stop_ || wake_ || !queue_.empty() || commits_returned_ > 0; });
    }
    if (!RunPass()) return;
  }
}

bool Runtime::RunPass() {
  std::vector<Command>& commands = commands_;
  int returned = 0;
  bool stopping = false;
  Status commit_status;
  {
    std::lock_guard lock(mu_);
    wake_ = false;
    commands.swap(queue_);
    returned = commits_returned_;
    commits_returned_ = 0;
    commit_status = commit_status_;
    commit_status_ = Status::Ok();
    stopping = stop_;
  }
  if (returned > 0) {
    in_flight_ -= returned;
    if (!commit_status.ok()) {
      // Everything applied since the failed batch was taken is lost with the rebuild.
      FailWaiting(commit_status.WithContext("an earlier commit failed"));
      healthy_ = false;
      failure_ = commit_status;
      rebuild_after_ms_ = 0;
    }
  }
  const int64_t now = clock_->NowMs();
  if (!healthy_ && in_flight_ == 0 && now >= rebuild_after_ms_) {
    Status s = Rebuild();
    std::lock_guard lock(mu_);
    if (s.ok()) {
      committer_->Reset();
      healthy_ = true;
      ++stats_.rebuilds;
    } else {
      rebuild_after_ms_ = now + 1000;
      failure_ = s;
    }
  }
  if (!healthy_) {
    for (Command& c : commands) {
      // The store's own words name the database (a PostgreSQL URL without its password).
      c.done(Unavailable("the store is failing (" + failure_.message() +
                         "); the command was not applied"));
    }
    commands.clear();
  } else {
    engine_->Tick(now);
    for (Command& c : commands) {
      c.fn(*engine_);
      waiting_.push_back(std::move(c.done));
    }
    commands.clear();
    if (options_.on_pass) options_.on_pass(*engine_, &waiting_);
    MaybeCommit();
  }
  if (stopping && in_flight_ == 0 && waiting_.empty()) {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return false;
  }
  return true;
}

Runtime::Stats Runtime::GetStats() {
  Stats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
  }
  s.committer = committer_->stats();
  return s;
}

}  // namespace baton::server
