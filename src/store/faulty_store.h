// FaultyStore: a Store that passes everything to another and, when told, fails or slows its
// commits: for the simulation (which drives the runtime over it) and for tests of what the
// runtime does when the disk misbehaves. A failed commit touches nothing, as a rolled-back
// transaction would not.
//
//   FailApplies(n, s)   the next n commits fail with s
//   SetDown(s)          every commit and every read fails with s, until SetDown(Ok) (the disk, or
//                       the database server, is gone)
//   SetApplyDelay(d)    each commit first waits d of real time (threaded runtimes: commits slower
//                       than the engine, so that batches pile up and group)
//
// Thread rules: as the store it wraps; the fault controls may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>

#include "store/store.h"

namespace baton::store {

class FaultyStore : public Store {
 public:
  explicit FaultyStore(Store* inner) : inner_(inner) {}

  void FailApplies(int count, Status status);
  void SetDown(Status status);
  void SetApplyDelay(std::chrono::microseconds delay) { delay_us_ = delay.count(); }
  // Commits that were refused, and that went through.
  uint64_t failed_applies() const { return failed_.load(); }
  uint64_t applies() const { return applied_.load(); }

  Status Apply(const engine::RecordBatch& batch) override;
  Result<engine::RecoveredState> Recover(int64_t keys_since_ms) override;
  Result<engine::JobRecord> GetJob(engine::JobId id) override;
  Result<std::vector<engine::AttemptRecord>> ListAttempts(engine::JobId id) override;
  Result<JobPage> ListJobs(const JobQuery& query) override;
  Result<engine::WorkflowRecord> GetWorkflow(engine::WorkflowId id) override;
  Result<std::array<uint64_t, engine::kJobStateCount>> CountChildren(engine::JobId parent) override;
  Result<std::vector<engine::Event>> ListEvents(const EventQuery& query) override;
  Result<std::vector<FinishedJob>> ListFinished(engine::JobId after, size_t limit) override;
  Result<engine::EventSeq> FirstEventAt(int64_t at_ms) override;

 private:
  // The status a read gets now: the down status, or Ok.
  Status Down();
  Store* inner_;
  std::mutex mu_;
  int fail_count_ = 0;  // under mu_
  Status fail_status_;  // under mu_
  Status down_;         // under mu_
  std::atomic<int64_t> delay_us_{0};
  std::atomic<uint64_t> failed_{0}, applied_{0};
};

}  // namespace baton::store
