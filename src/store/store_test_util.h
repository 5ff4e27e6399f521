// Helpers for store tests. Test-only.
#pragma once

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "engine/types.h"
#include "store/memory/memory_store.h"

namespace baton::store::testing {

// A fresh, empty directory under the system's temp dir, unique to this process and call.
inline std::string TempDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path p =
      std::filesystem::path(base ? base : "/tmp") /
      ("baton-" + prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// A job with every field set to something other than its default.
inline engine::JobRecord FullJob(engine::JobId id) {
  engine::JobRecord r;
  r.id = id;
  r.created_ms = 1'700'000'000'123;
  engine::JobSpec& s = r.spec;
  s.type = "render.frame";
  s.owner = "alice";
  s.payload = R"({"frame":42,"name":"ünïcode \"quoted\"","nested":[1,2,{"x":null}]})";
  s.priority = -7;
  s.run_after_ms = 1'700'000'000'500;
  s.run_by_ms = 1'700'000'900'000;
  s.timeout_ms = 12'345;
  s.heartbeat_timeout_ms = 2'500;
  s.attempts_max = 9;
  s.retry = engine::RetryPolicy{250, 1.5, 9'000, 0.3, engine::OutcomeBit(engine::Outcome::kLost)};
  s.idempotency_key = "order-" + std::to_string(id);
  s.tags = {"blue", "with,comma", "quote\""};
  s.parent_id = 77;
  s.verify = true;
  s.input_dir = "in-" + std::to_string(id);
  s.input_files = {"run.sh", "data/a.csv"};
  s.splitter = "render.split";
  s.aggregator = "render.join";
  s.verifier = "render.check";
  s.children_policy = engine::ChildrenPolicy{engine::ChildrenPolicy::kQuorum, 3};
  s.parent_attempt = 30;
  s.role = engine::JobRole::kVerifier;
  s.subject_id = 76;
  s.subject_attempt = 29;
  s.resources = {{"cpu", 2}, {"gpu", 1}, {"memory_mb", 4096}};
  s.labels = {{"disk", "ssd"}, {"zone", "eu-west"}};
  s.concurrency_key = "customer-42";
  s.concurrency_limit = 3;
  s.retention_ms = 86'400'000;
  s.verdict_timeout_ms = 3'600'000;
  engine::JobStatus& st = r.status;
  st.state = engine::JobState::kRunning;
  st.attempts_used = 2;
  st.attempts_started = 3;
  st.declines = 1;
  st.attempt_id = 31;
  st.worker_id = "worker-7";
  st.attempt_started_ms = 1'700'000'001'000;
  st.lease_expires_ms = 1'700'000'003'500;
  st.ready_at_ms = 1'700'000'000'900;
  st.updated_ms = 1'700'000'001'001;
  st.finished_ms = 0;
  st.last_outcome = engine::Outcome::kTimeout;
  st.progress = 0.625;
  st.progress_message = "rendering tile 5/8";
  st.result = "";
  st.error = "attempt ran longer than its timeout";
  st.declined_by = "worker-2";
  st.children_total = 4;
  st.children_done = 2;
  st.children_failed = 1;
  st.helper_id = 78;
  st.outputs = R"({"report.pdf":1024,"tiles/5.png":77})";
  return r;
}

// A memory store whose Apply waits at a gate until the test opens it, so that a test can hold a
// transaction in flight and see what happens meanwhile.
class GatedStore final : public Store {
 public:
  Status Apply(const engine::RecordBatch& batch) override {
    {
      std::unique_lock lock(mu_);
      ++entered_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
      applied_event_counts_.push_back(batch.events.size());
    }
    return inner.Apply(batch);
  }
  Result<engine::RecoveredState> Recover(int64_t t) override { return inner.Recover(t); }
  Result<engine::JobRecord> GetJob(engine::JobId id) override { return inner.GetJob(id); }
  Result<std::vector<engine::AttemptRecord>> ListAttempts(engine::JobId id) override {
    return inner.ListAttempts(id);
  }
  Result<std::vector<engine::Event>> ListEvents(const EventQuery& q) override {
    return inner.ListEvents(q);
  }
  Result<JobPage> ListJobs(const JobQuery& q) override { return inner.ListJobs(q); }
  Result<std::vector<FinishedJob>> ListFinished(engine::JobId after, size_t limit) override {
    return inner.ListFinished(after, limit);
  }
  Result<engine::EventSeq> FirstEventAt(int64_t at_ms) override {
    return inner.FirstEventAt(at_ms);
  }
  Result<std::array<uint64_t, engine::kJobStateCount>> CountChildren(engine::JobId p) override {
    return inner.CountChildren(p);
  }
  Result<engine::WorkflowRecord> GetWorkflow(engine::WorkflowId id) override {
    return inner.GetWorkflow(id);
  }

  // Waits until `n` calls of Apply have reached the gate.
  void WaitEntered(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // How many events each Apply that passed the gate carried, in order.
  std::vector<size_t> applied_event_counts() {
    std::lock_guard lock(mu_);
    return applied_event_counts_;
  }

  MemoryStore inner;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
  std::vector<size_t> applied_event_counts_;
};

}  // namespace baton::store::testing
