// MemoryStore: a Store in plain maps, for tests and the simulation. It can be told to fail its
// next commits, to test what happens when the disk says no. Thread rules: one thread at a time
// (the `memory:` database shares one among its connections behind a mutex).
#pragma once

#include <map>
#include <set>
#include <string>

#include "store/database.h"
#include "store/store.h"

namespace baton::store {

class MemoryStore final : public Store {
 public:
  Status Apply(const engine::RecordBatch& batch) override;
  Result<engine::RecoveredState> Recover(int64_t keys_since_ms) override;
  Result<engine::JobRecord> GetJob(engine::JobId id) override;
  Result<std::vector<engine::AttemptRecord>> ListAttempts(engine::JobId id) override;
  Result<std::vector<engine::Event>> ListEvents(const EventQuery& query) override;
  Result<JobPage> ListJobs(const JobQuery& query) override;
  Result<std::array<uint64_t, engine::kJobStateCount>> CountChildren(engine::JobId parent) override;
  Result<engine::WorkflowRecord> GetWorkflow(engine::WorkflowId id) override;

  // The next `count` calls of Apply fail with `status` and change nothing.
  void FailApplies(int count, Status status);

  size_t job_count() const { return jobs_.size(); }
  bool InputDirInUse(const std::string& input_dir) const;

  Result<std::vector<FinishedJob>> ListFinished(engine::JobId after, size_t limit) override;
  Result<engine::EventSeq> FirstEventAt(int64_t at_ms) override;

 private:
  std::map<engine::JobId, engine::JobRecord> jobs_;
  std::map<engine::AttemptId, engine::AttemptRecord> attempts_;
  std::map<engine::JobId, std::set<engine::AttemptId>> attempts_by_job_;
  std::map<engine::EventSeq, engine::Event> events_;
  std::map<engine::WorkflowId, engine::WorkflowRecord> workflows_;
  std::map<std::string, engine::ScheduleRecord> schedules_;
  std::set<std::string> paused_types_;
  int fail_count_ = 0;
  Status fail_status_;
};

// The `memory:` database: each call opens a new, empty one; its connections share it.
std::unique_ptr<Database> OpenMemoryDatabase();

}  // namespace baton::store
