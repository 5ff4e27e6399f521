// Store: where the engine's records become durable, and where recovery reads them back.
//
// One interface, several backends (memory for tests, SQLite embedded, PostgreSQL to come), all
// held to one conformance suite (store_conformance_test.cc). The interface speaks in engine
// values only; each backend owns its SQL and its schema migrations.
//
// Thread rules: a Store is used by one thread at a time (the group committer writes; readers
// must not overlap with it unless the backend says otherwise).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/types.h"

namespace baton::store {

struct EventQuery {
  engine::EventSeq after = 0;          // events with seq > after
  engine::EventSeq through = 0;        // and seq <= through; 0: no upper bound
  engine::JobId job_id = 0;            // 0: every job
  engine::WorkflowId workflow_id = 0;  // only this workflow's (its own and its jobs'); 0: all
  // Only events of this account's jobs (and workflows): the owner itself and its end users
  // ("webapp/2", engine::InAccount); empty: all.
  std::string owner;
  size_t limit = 1000;
};

// A page of jobs, newest first. Every filter is optional. At most `scan_max` jobs are examined
// per page, so a page costs bounded work whatever the filters; `next` then says where to go on.
struct JobQuery {
  engine::JobId before = 0;  // jobs with id < before; 0: from the newest
  std::string owner;         // an account, as EventQuery::owner; empty: every owner
  std::string type;          // empty: every type
  std::optional<engine::JobState> state;
  size_t limit = 100;
  size_t scan_max = 100000;
  engine::JobId parent_id = 0;  // only this job's sub-jobs (then scan_max does not apply); 0: all
};

struct JobPage {
  std::vector<engine::JobRecord> jobs;
  engine::JobId next = 0;  // pass as `before` for the next page; 0: there is no more
};

// A finished job as the retention cleaner sees it.
struct FinishedJob {
  engine::JobId id = 0;
  std::string owner;
  std::string type;
  std::string idempotency_key;
  std::string input_dir;
  int64_t retention_ms = 0;
  int64_t finished_ms = 0;
  // A sub-job whose parent has not finished, or a step of a workflow that has not: it may still
  // be needed, and is kept.
  bool held = false;
};

class Store {
 public:
  virtual ~Store() = default;

  // Makes the whole batch durable in one transaction, or none of it. Within the batch, inserts
  // come before updates, and each list applies in order; attempts replace rows with their id.
  virtual Status Apply(const engine::RecordBatch& batch) = 0;

  // What the engine needs to start again: every running workflow, every job not in a terminal
  // state, the finished
  // sub-jobs of parents that are running, submitted or waiting for children (their aggregator
  // may need them), the idempotency keys of jobs created after `keys_since_ms`, and the largest
  // ids and sequence numbers used.
  virtual Result<engine::RecoveredState> Recover(int64_t keys_since_ms) = 0;

  // One job, whatever its state; NotFound if there is none.
  virtual Result<engine::JobRecord> GetJob(engine::JobId id) = 0;

  // The ended attempts of a job, oldest first.
  virtual Result<std::vector<engine::AttemptRecord>> ListAttempts(engine::JobId id) = 0;

  virtual Result<JobPage> ListJobs(const JobQuery& query) = 0;

  // One workflow, whatever its state; NotFound if there is none.
  virtual Result<engine::WorkflowRecord> GetWorkflow(engine::WorkflowId id) = 0;

  // How many sub-jobs `parent` has in each state (every attempt's), indexed by JobState.
  virtual Result<std::array<uint64_t, engine::kJobStateCount>> CountChildren(
      engine::JobId parent) = 0;

  // Events in sequence order.
  virtual Result<std::vector<engine::Event>> ListEvents(const EventQuery& query) = 0;

  // Retention. Finished jobs with ids above `after`, in id order, at most `limit`.
  virtual Result<std::vector<FinishedJob>> ListFinished(engine::JobId after, size_t limit) = 0;
  // The sequence number of the first event at or after `at_ms` (events are in time order); past
  // the last event when there is none.
  virtual Result<engine::EventSeq> FirstEventAt(int64_t at_ms) = 0;
};

}  // namespace baton::store
