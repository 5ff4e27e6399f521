#include "store/faulty_store.h"

#include <thread>

namespace baton::store {

void FaultyStore::FailApplies(int count, Status status) {
  std::lock_guard lock(mu_);
  fail_count_ = count;
  fail_status_ = std::move(status);
}

void FaultyStore::SetDown(Status status) {
  std::lock_guard lock(mu_);
  down_ = std::move(status);
}

Status FaultyStore::Down() {
  std::lock_guard lock(mu_);
  return down_;
}

Status FaultyStore::Apply(const engine::RecordBatch& batch) {
  if (const int64_t us = delay_us_.load(); us > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  }
  {
    std::lock_guard lock(mu_);
    Status refused = down_;
    if (refused.ok() && fail_count_ > 0) {
      --fail_count_;
      refused = fail_status_;
    }
    if (!refused.ok()) {
      ++failed_;
      return refused;
    }
  }
  Status s = inner_->Apply(batch);
  if (s.ok()) ++applied_;
  return s;
}

namespace {
// A read passes through unless the store is down.
template <typename F>
auto Read(const Status& down, F&& read) -> decltype(read()) {
  if (!down.ok()) return down;
  return read();
}
}  // namespace

Result<engine::RecoveredState> FaultyStore::Recover(int64_t keys_since_ms) {
  return Read(Down(), [&] { return inner_->Recover(keys_since_ms); });
}
Result<engine::JobRecord> FaultyStore::GetJob(engine::JobId id) {
  return Read(Down(), [&] { return inner_->GetJob(id); });
}
Result<std::vector<engine::AttemptRecord>> FaultyStore::ListAttempts(engine::JobId id) {
  return Read(Down(), [&] { return inner_->ListAttempts(id); });
}
Result<JobPage> FaultyStore::ListJobs(const JobQuery& query) {
  return Read(Down(), [&] { return inner_->ListJobs(query); });
}
Result<engine::WorkflowRecord> FaultyStore::GetWorkflow(engine::WorkflowId id) {
  return Read(Down(), [&] { return inner_->GetWorkflow(id); });
}
Result<std::array<uint64_t, engine::kJobStateCount>> FaultyStore::CountChildren(
    engine::JobId parent) {
  return Read(Down(), [&] { return inner_->CountChildren(parent); });
}
Result<std::vector<engine::Event>> FaultyStore::ListEvents(const EventQuery& query) {
  return Read(Down(), [&] { return inner_->ListEvents(query); });
}
Result<std::vector<FinishedJob>> FaultyStore::ListFinished(engine::JobId after, size_t limit) {
  return Read(Down(), [&] { return inner_->ListFinished(after, limit); });
}
Result<engine::EventSeq> FaultyStore::FirstEventAt(int64_t at_ms) {
  return Read(Down(), [&] { return inner_->FirstEventAt(at_ms); });
}

}  // namespace baton::store
