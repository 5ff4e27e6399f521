#include "store/group_commit.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

namespace baton::store {

namespace {
template <typename T>
void AppendVector(std::vector<T>& to, std::vector<T>& from) {
  if (to.empty()) {
    to.swap(from);
    return;
  }
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  from.clear();
}
}  // namespace

void AppendBatch(engine::RecordBatch& to, engine::RecordBatch&& from) {
  AppendVector(to.inserts, from.inserts);
  AppendVector(to.updates, from.updates);
  AppendVector(to.attempts, from.attempts);
  AppendVector(to.events, from.events);
  AppendVector(to.workflow_inserts, from.workflow_inserts);
  AppendVector(to.workflow_updates, from.workflow_updates);
  AppendVector(to.schedules, from.schedules);
  AppendVector(to.type_pauses, from.type_pauses);
  AppendVector(to.job_deletes, from.job_deletes);
  to.events_before = std::max(to.events_before, from.events_before);
  from.events_before = 0;
}

GroupCommitter::GroupCommitter(Store* store, bool threaded) : store_(store) {
  if (threaded) thread_ = std::thread([this] { Run(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    while (CommitPending()) {
    }
  }
}

void GroupCommitter::Commit(engine::RecordBatch batch, Done done) {
  {
    std::lock_guard lock(mu_);
    AppendBatch(pending_, std::move(batch));
    pending_done_.push_back(std::move(done));
    ++stats_.batches;
  }
  cv_.notify_one();
}

void GroupCommitter::Reset() {
  std::lock_guard lock(mu_);
  failure_ = Status::Ok();
}

GroupCommitter::Stats GroupCommitter::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

void GroupCommitter::Run() {
  pthread_setname_np(pthread_self(), "baton-commit");
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !pending_done_.empty(); });
      if (pending_done_.empty()) return;  // stopping, and nothing is left
    }
    CommitPending();
  }
}

bool GroupCommitter::CommitPending() {
  Status status;
  {
    std::lock_guard lock(mu_);
    if (pending_done_.empty()) return false;
    batch_.clear();
    done_.clear();
    std::swap(batch_, pending_);
    std::swap(done_, pending_done_);
    if (!failure_.ok()) {
      status = failure_;
    } else {
      ++stats_.transactions;
      stats_.records += batch_.size();
    }
  }
  if (status.ok()) {
    const auto t0 = std::chrono::steady_clock::now();
    status = store_->Apply(batch_);
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::lock_guard lock(mu_);
    stats_.apply_us += static_cast<uint64_t>(us);
    if (!status.ok()) failure_ = status;
  }
  for (Done& d : done_) d(status);
  return true;
}

}  // namespace baton::store
