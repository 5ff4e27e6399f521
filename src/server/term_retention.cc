// Retention: the cleaner deletes finished jobs past their retention (with their attempts,
// result, input and output files and log), and events past the events retention.
//
//   POST /v1/retention/run    (administrators) a pass now; answers what it deleted
//
// The cleaner runs on its own thread with its own connection to the database. It reads finished
// jobs a chunk at a time and hands the engine small batches to forget (one short command each,
// committed with whatever else is in flight), pausing between batches: the hot path never waits
// on it for more than one batch. Files go only after the commit that deleted their job.
//
// A job that left the engine's memory can be brought back from the store (a retry of a dead
// letter reads it, then loads it on the engine thread). So that a read taken just before a
// delete commits cannot bring the job back after it, loads check the LoadGate (job_access.h):
// its forgotten set holds the ids of the batch being deleted, and they leave it only once every
// read that began before the commit has reached the engine. Readers hold the gate shared from
// their read until their command is queued; the cleaner takes it exclusively after the commit,
// then queues the release behind them.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <set>

#include "server/leader_term.h"

namespace baton::server {

namespace json = boost::json;
namespace http = boost::beast::http;

void LeaderTerm::StartCleaner() {
  cleaner_ = std::thread([this] {
    std::unique_lock lock(cleaner_mu_);
    while (!cleaner_stop_) {
      lock.unlock();
      Result<RetentionPass> pass = CleanOnce();
      if (!pass.ok() && !CleanerStopping()) {  // a pass cut short by the stop is no error
        std::fprintf(stderr, "baton server: retention: %s\n", pass.status().ToString().c_str());
      }
      lock.lock();
      cleaner_cv_.wait_for(lock, std::chrono::milliseconds(config_.retention.interval_ms),
                           [this] { return cleaner_stop_; });
    }
  });
}

void LeaderTerm::StopCleaner() {
  {
    std::lock_guard lock(cleaner_mu_);
    cleaner_stop_ = true;
  }
  cleaner_cv_.notify_all();
  if (cleaner_.joinable()) cleaner_.join();
  std::lock_guard pass(cleaner_pass_mu_);  // a pass asked for by POST /v1/retention/run ends
}

bool LeaderTerm::CleanerStopping() {
  std::lock_guard lock(cleaner_mu_);
  return cleaner_stop_;
}

Result<LeaderTerm::RetentionPass> LeaderTerm::CleanOnce() {
  std::lock_guard pass_lock(cleaner_pass_mu_);
  if (CleanerStopping()) return Unavailable("retention: the server is stopping");
  const RetentionPolicy& policy = config_.retention;
  const int64_t now = parts_.clock->NowMs();
  const auto started = std::chrono::steady_clock::now();
  RetentionPass pass;
  std::vector<store::FinishedJob> due;
  auto flush = [&]() -> Status {
    if (due.empty()) return Status::Ok();
    Result<size_t> n = ForgetJobs(due);
    due.clear();
    if (!n.ok()) return n.status();
    pass.jobs_deleted += *n;
    std::unique_lock lock(cleaner_mu_);
    cleaner_cv_.wait_for(lock, std::chrono::milliseconds(policy.batch_pause_ms),
                         [this] { return cleaner_stop_; });
    return Status::Ok();
  };
  engine::JobId after = 0;
  constexpr size_t kChunk = 1000;
  for (;;) {
    if (CleanerStopping()) return Unavailable("retention: the server is stopping");
    Result<std::vector<store::FinishedJob>> chunk = cleaner_reader_->ListFinished(after, kChunk);
    if (!chunk.ok()) return chunk.status();
    for (store::FinishedJob& job : *chunk) {
      after = job.id;
      ++pass.jobs_seen;
      const int64_t keep = policy.For(job.type, job.retention_ms);
      if (job.held || keep == 0 || job.finished_ms > now - keep) continue;
      due.push_back(std::move(job));
      if (due.size() >= policy.batch_max) BATON_RETURN_IF_ERROR(flush());
    }
    if (chunk->size() < kChunk) break;
  }
  BATON_RETURN_IF_ERROR(flush());
  if (policy.events_ms > 0) {
    Result<engine::EventSeq> before = cleaner_reader_->FirstEventAt(now - policy.events_ms);
    if (!before.ok()) return before.status();
    if (*before > std::max<engine::EventSeq>(events_deleted_before_, 1)) {
      Result<std::vector<engine::JobId>> done =
          runtime_->Call([b = *before](engine::Engine& e) { return e.Forget({}, b); }).get();
      if (!done.ok()) return done.status();
      events_deleted_before_ = *before;
    }
  }
  pass.events_before = events_deleted_before_;
  pass.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  return pass;
}

Result<size_t> LeaderTerm::ForgetJobs(const std::vector<store::FinishedJob>& due) {
  std::vector<engine::IdempotencyKey> keys;
  keys.reserve(due.size());
  for (const store::FinishedJob& job : due) {
    keys.push_back(engine::IdempotencyKey{job.owner, job.idempotency_key, job.id, 0});
  }
  Result<std::vector<engine::JobId>> deleted =
      runtime_
          ->Call([this, keys = std::move(keys)](engine::Engine& e) {
            for (const engine::IdempotencyKey& k : keys) gate_.Forgetting(k.job_id);
            return e.Forget(keys, 0);
          })
          .get();
  {
    // Every read that began before the commit has queued its command by now: release the ids
    // behind those commands (also after a failed commit, when nothing was deleted).
    auto deleting = gate_.Deleting();
  }
  std::vector<engine::JobId> ids;
  for (const store::FinishedJob& job : due) ids.push_back(job.id);
  runtime_->Execute(
      [this, ids](engine::Engine&) {
        for (engine::JobId id : ids) gate_.Forgotten(id);
      },
      [](const Status&) {});
  if (!deleted.ok()) return deleted.status();
  // The rows are gone for good: now the files.
  std::set<engine::JobId> gone(deleted->begin(), deleted->end());
  for (const store::FinishedJob& job : due) {
    if (!gone.contains(job.id)) continue;
    files_->DropInputs(job.input_dir);
    files_->RemoveOutputs(job.id);
    logs_->Remove(job.id);
  }
  return deleted->size();
}

void LeaderTerm::RunRetention(const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();

  blocking_->Post([this, reply, version, keep_alive] {
    Result<RetentionPass> pass = CleanOnce();
    if (!pass.ok()) return reply(ErrorResponse(pass.status(), version, keep_alive));
    json::object o{{"jobs_seen", pass->jobs_seen},
                   {"jobs_deleted", pass->jobs_deleted},
                   {"events_before", pass->events_before},
                   {"duration_ms", pass->duration_ms}};
    reply(JsonResponse(http::status::ok, json::serialize(o), version, keep_alive));
  });
}

}  // namespace baton::server
