// Value types of the engine: what a job is, what it asks for, what the engine hands out and what
// it records. Everything here is a plain value that can be copied across threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/text.h"

namespace baton::engine {

using JobId = uint64_t;
using AttemptId = uint64_t;
using EventSeq = uint64_t;
using WorkflowId = uint64_t;

// The lifecycle of a job (design.md, "Lifecycle"). The numeric values are stable: they never
// leave the process (the store writes names), but tables in tests index by them.
enum class JobState : uint8_t {
  kPending,          // waiting for run_after
  kQueued,           // ready; waiting for a worker with room
  kRunning,          // an attempt holds a lease
  kSubmitted,        // the attempt returned a result; waiting for the verifier's verdict
  kWaitingChildren,  // the attempt succeeded; waiting for its sub-jobs
  kRetryWait,        // an attempt failed; waiting out the back-off delay
  kSucceeded,
  kFailed,
  kCancelled,
};
inline constexpr int kJobStateCount = 9;
inline constexpr JobState kAllJobStates[kJobStateCount] = {
    JobState::kPending,   JobState::kQueued,          JobState::kRunning,
    JobState::kSubmitted, JobState::kWaitingChildren, JobState::kRetryWait,
    JobState::kSucceeded, JobState::kFailed,          JobState::kCancelled};

inline bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}
std::string_view JobStateName(JobState s);
std::optional<JobState> ParseJobState(std::string_view name);

// How one attempt ended. kNone: not ended yet.
enum class Outcome : uint8_t {
  kNone,
  kSucceeded,
  kError,
  kTimeout,   // ran longer than the job's timeout
  kLost,      // the worker stopped renewing its lease
  kDeclined,  // the worker handed the job back; does not use up an attempt
  kRejected,  // a verifier (or the owner) refused the result
  kCancelled,
};
std::string_view OutcomeName(Outcome o);
std::optional<Outcome> ParseOutcome(std::string_view name);

constexpr uint32_t OutcomeBit(Outcome o) { return 1u << static_cast<uint32_t>(o); }
// The outcomes a retry policy may name.
inline constexpr uint32_t kRetryableOutcomes =
    OutcomeBit(Outcome::kError) | OutcomeBit(Outcome::kTimeout) | OutcomeBit(Outcome::kLost) |
    OutcomeBit(Outcome::kRejected);

// Back-off between attempts: delay = min(delay_ms_max, delay_ms_initial * multiplier^(n-1)) for
// the n-th failed attempt, then jitter draws the actual delay uniformly from
// [delay * (1 - jitter), delay].
struct RetryPolicy {
  int64_t delay_ms_initial = 1000;
  double multiplier = 2.0;
  int64_t delay_ms_max = 5 * 60 * 1000;
  double jitter = 0.2;
  uint32_t retry_on = kRetryableOutcomes;  // OutcomeBit()s of the outcomes that are retried

  bool operator==(const RetryPolicy&) const = default;
};

// How a parent's sub-jobs decide its fate: all must succeed (the default), at most `n` may fail,
// or at least `n` must succeed (a quorum). A parent fails as soon as its policy can no longer be
// met, and succeeds (or hands over to its aggregator) once every sub-job has finished.
struct ChildrenPolicy {
  enum Kind : uint8_t { kAll, kFailuresMax, kQuorum } kind = kAll;
  uint32_t n = 0;

  bool operator==(const ChildrenPolicy&) const = default;
};
// "all", "failures_max:2", "quorum:8": how the store and the API write a policy.
std::string ChildrenPolicyText(const ChildrenPolicy& p);
std::optional<ChildrenPolicy> ParseChildrenPolicy(std::string_view text);

// What a job is for. Helper jobs are made by the engine for another job, their subject: an
// aggregator runs over a parent's finished sub-jobs, a verifier judges an attempt's result.
enum class JobRole : uint8_t { kJob, kAggregator, kVerifier };
std::string_view JobRoleName(JobRole r);
std::optional<JobRole> ParseJobRole(std::string_view name);

// Amounts by name, sorted by name, each above 0: what a worker has, or what a job needs.
using Resources = std::vector<std::pair<std::string, int64_t>>;
// Values by name, sorted by name: what a worker carries, or what a job requires of it.
using Labels = std::vector<std::pair<std::string, std::string>>;
// "cpu=2,gpu=1" and "zone=eu,disk=ssd": how the store writes them ("" for none).
std::string ResourcesText(const Resources& r);
std::optional<Resources> ParseResourcesText(std::string_view text);
std::string LabelsText(const Labels& l);
std::optional<Labels> ParseLabelsText(std::string_view text);
// A resource or label name, or a label value: 1 to 64 of a-z A-Z 0-9 _ - . / (no '=' or ',').
bool ValidSchedulingName(std::string_view s);

// A job's timeout_ms for "no timeout": an attempt runs for as long as its worker heartbeats
// (hours-long jobs). The API writes it as null.
inline constexpr int64_t kNoTimeout = -1;

// What a submitter asks for. Zero / empty optional fields take the engine's defaults at submit;
// the stored spec always holds the concrete values. Immutable once the job exists.
struct JobSpec {
  std::string type;
  std::string owner;
  std::string payload = "{}";        // one JSON document; the API layer validates it
  int32_t priority = 0;              // higher runs first; FIFO within a priority
  int64_t run_after_ms = 0;          // not before this time (epoch ms); 0: now
  int64_t run_by_ms = 0;             // deadline (epoch ms): fail if not finished by then; 0: none
  int64_t timeout_ms = 0;            // per attempt; kNoTimeout: as long as it heartbeats
  int64_t heartbeat_timeout_ms = 0;  // the lease: how long a worker may stay silent
  uint32_t attempts_max = 0;
  std::optional<RetryPolicy> retry;
  Text idempotency_key;  // per owner; a second submit returns the first job
  std::vector<std::string> tags;
  JobId parent_id = 0;
  bool verify = false;  // a verdict (Accept / Reject) must follow the result
  // With verify: how long a result may wait for its verdict before the job fails ("no verdict",
  // the result kept); 0: for as long as it takes.
  int64_t verdict_timeout_ms = 0;
  // Job types of the helpers (empty: none). A splitter runs in the job's place and spawns its
  // sub-jobs; the aggregator runs over the finished sub-jobs and its result becomes the job's; the
  // verifier judges each result (and implies verify).
  std::string splitter;
  Text aggregator;
  Text verifier;
  std::optional<ChildrenPolicy> children_policy;  // filled at submit: the type's, else kAll
  // What the job needs from its worker (scheduler.h): amounts of resources it holds while it
  // runs (cpu, memory_mb, gpu or custom counters; sorted by name, each above 0), and labels the
  // worker must carry with these values (sorted by name). Empty: any worker of the type.
  Resources resources;
  Labels labels;
  // At most `concurrency_limit` jobs of this owner's `concurrency_key` run at once (empty: none).
  Text concurrency_key;
  uint32_t concurrency_limit = 0;
  // How long the job, its events, files and result are kept once finished (0: the type's, else
  // the server's retention).
  int64_t retention_ms = 0;
  // Set by the engine, never by a submitter: the parent's attempt this sub-job belongs to, and for
  // helper jobs their role and subject (the job, and for a verifier the attempt it judges).
  AttemptId parent_attempt = 0;
  JobRole role = JobRole::kJob;
  JobId subject_id = 0;
  AttemptId subject_attempt = 0;
  // Set by the engine for the job of a workflow step.
  WorkflowId workflow_id = 0;
  uint32_t workflow_step = 0;
  // Input files uploaded with the job: kept by the server under DATA/inputs/<input_dir>/<name>.
  // The engine carries them and does not look inside.
  Text input_dir;
  std::vector<std::string> input_files;

  bool operator==(const JobSpec&) const = default;
};

// The changing part of a job.
// JobStatus::outputs of a job stored before output manifests were kept (migration 10).
inline constexpr std::string_view kOutputsUnknown = "unknown";

struct JobStatus {
  JobState state = JobState::kPending;
  uint32_t attempts_used = 0;     // attempts that count against attempts_max
  uint32_t attempts_started = 0;  // every attempt, declined ones included
  uint32_t declines = 0;
  AttemptId attempt_id = 0;  // the current attempt, or the last one
  Text worker_id;            // the worker of attempt_id
  int64_t attempt_started_ms = 0;
  int64_t lease_expires_ms = 0;
  int64_t ready_at_ms = 0;  // pending, retry_wait: when the job is queued again
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;  // set in a terminal state
  Outcome last_outcome = Outcome::kNone;
  double progress = 0;  // 0..1 of the current attempt
  Text progress_message;
  Text result;       // JSON, once succeeded (or submitted for verification)
  Text error;        // why the last attempt or the job failed
  Text declined_by;  // the last worker that declined the job
  uint32_t children_total = 0;
  uint32_t children_done = 0;    // children in a terminal state
  uint32_t children_failed = 0;  // of those, the ones that did not succeed
  JobId helper_id = 0;           // the aggregator or verifier job at work for this job
  // The output files the current attempt handed in, as JSON {"name": size}, each recorded as its
  // upload was acknowledged; "" for none (no allocation on the hot path), kOutputsUnknown for
  // jobs stored before the manifest was kept (their disk is taken as it is).
  Text outputs;

  bool operator==(const JobStatus&) const = default;
};

// A whole job: what the store keeps and what recovery reads back.
struct JobRecord {
  JobId id = 0;
  int64_t created_ms = 0;
  JobSpec spec;
  JobStatus status;

  bool operator==(const JobRecord&) const = default;
};

// When the job's current attempt runs out of time: INT64_MAX without a timeout.
int64_t AttemptDeadlineMs(const JobRecord& job);

struct JobUpdate {
  JobId id = 0;
  JobStatus status;
};

// One ended attempt.
struct AttemptRecord {
  AttemptId id = 0;
  JobId job_id = 0;
  uint32_t number = 0;  // 1-based, counting every attempt of the job
  std::string worker_id;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  Outcome outcome = Outcome::kNone;
  std::string error;
  std::string result;  // JSON the attempt handed in, a failed one's too; "" for none

  bool operator==(const AttemptRecord&) const = default;
};

enum class EventKind : uint8_t { kState, kProgress, kWorkflow };
std::string_view EventKindName(EventKind k);
std::optional<EventKind> ParseEventKind(std::string_view name);

// One durable change with a global, gap-free sequence number.
struct Event {
  EventSeq seq = 0;
  JobId job_id = 0;
  int64_t at_ms = 0;
  EventKind kind = EventKind::kState;
  JobState state = JobState::kPending;  // the job's state after the change
  AttemptId attempt_id = 0;
  Outcome outcome = Outcome::kNone;  // how the attempt ended, when this change ended one
  double progress = 0;
  std::string message;  // the reason, the error, the worker, or the progress message
  // The workflow the job belongs to; for kWorkflow events, the workflow that changed (job_id is
  // then the step's job, or 0) and `message` says how ("step load: succeeded").
  WorkflowId workflow_id = 0;

  bool operator==(const Event&) const = default;
};

// Workflows (workflow.h holds the plan).
// kPartial ("mandatory completed"): a group (an activity, its plugins) whose mandatory steps are
// done while optional ones still run. It has not ended, but what depends on it may start.
enum class StepState : uint8_t {
  kWaiting,
  kRunning,
  kSucceeded,
  kFailed,
  kSkipped,
  kCancelled,
  kPartial
};
std::string_view StepStateName(StepState s);
std::optional<StepState> ParseStepState(std::string_view name);
inline bool IsTerminal(StepState s) {
  return s != StepState::kWaiting && s != StepState::kRunning && s != StepState::kPartial;
}
// Done as far as the steps after it are concerned: ended, or partial.
inline bool Settled(StepState s) { return IsTerminal(s) || s == StepState::kPartial; }

// kOptionalFailed: finished, and only optional steps failed (stored as "warning" before issue 17,
// and still read so). kPartial is never stored: a running workflow reads partial while all that
// is mandatory in it is done and only optional steps run (ReadState in workflow.h).
enum class WorkflowState : uint8_t {
  kRunning,
  kSucceeded,
  kOptionalFailed,
  kFailed,
  kCancelled,
  kPartial
};
std::string_view WorkflowStateName(WorkflowState s);
std::optional<WorkflowState> ParseWorkflowState(std::string_view name);
inline bool IsTerminal(WorkflowState s) {
  return s != WorkflowState::kRunning && s != WorkflowState::kPartial;
}

struct StepStatus {
  StepState state = StepState::kWaiting;
  JobId job_id = 0;      // the step's job, its latest if the workflow was retried
  std::string result;    // JSON, once succeeded
  std::string message;   // why it failed or was skipped; a warning for an activity
  uint32_t runs = 0;     // jobs the step has had
  bool warning = false;  // an activity or plugins step that succeeded with optional failures
  // A plugin's step (added when its activity's parallel stage started): 1 + the index of the
  // activity's plugins step, and the registration it came from; 0 for the document's steps.
  uint32_t plugin_of = 0;
  std::string plugin_type;
  bool plugin_mandatory = false;
  int32_t plugin_order = 0;

  bool operator==(const StepStatus&) const = default;
};

struct WorkflowStatus {
  WorkflowState state = WorkflowState::kRunning;
  int64_t updated_ms = 0;
  int64_t finished_ms = 0;
  std::string message;            // why it failed, or its warnings
  std::vector<StepStatus> steps;  // as the plan's steps, then plugin steps as they were added

  bool operator==(const WorkflowStatus&) const = default;
};

struct WorkflowRecord {
  WorkflowId id = 0;
  std::string owner;
  std::string name;
  int64_t created_ms = 0;
  std::string document;  // as submitted; the plan is parsed from it again at recovery
  WorkflowStatus status;

  bool operator==(const WorkflowRecord&) const = default;
};

struct WorkflowUpdate {
  WorkflowId id = 0;
  WorkflowStatus status;
};

// A cron schedule: one job from `job` at each tick of `cron` in `time_zone` (cron.h). Ticks missed
// while the server was down past the engine's grace are skipped (kSkip) or run as one job
// (kOnce). The schedule's record and the job of a tick are committed together, so a tick makes
// exactly one job, across restarts.
enum class CatchUp : uint8_t { kSkip, kOnce };
std::string_view CatchUpName(CatchUp c);
std::optional<CatchUp> ParseCatchUp(std::string_view name);

struct ScheduleRecord {
  std::string name;  // unique on the server
  std::string owner;
  std::string cron;
  std::string time_zone = "UTC";
  CatchUp catch_up = CatchUp::kSkip;
  std::string job;  // the job template: a JSON job object as POST /v1/jobs takes it
  bool paused = false;
  int64_t created_ms = 0;
  int64_t last_tick_ms = 0;  // the latest tick dealt with (run, caught up or skipped)
  uint64_t jobs_created = 0;
  JobId last_job_id = 0;
  std::string last_error;  // why the last tick made no job, if it did not
  bool deleted = false;    // in a RecordBatch: the schedule is gone

  bool operator==(const ScheduleRecord&) const = default;
};

// Everything the store must make durable, in one transaction. Jobs appear at most once, as
// their latest snapshot: changes made to a job while a commit was in flight coalesce.
struct RecordBatch {
  std::vector<JobRecord> inserts;
  std::vector<JobUpdate> updates;
  std::vector<AttemptRecord> attempts;  // insert, or replace the row with the same id
  std::vector<Event> events;
  std::vector<WorkflowRecord> workflow_inserts;
  std::vector<WorkflowUpdate> workflow_updates;
  std::vector<ScheduleRecord> schedules;  // in order: insert or replace by name, or delete
  std::vector<std::pair<std::string, bool>> type_pauses;  // type, paused; in order
  // Retention (the server's cleaner): finished jobs to delete with their attempts, and the
  // events below this sequence number (0: none).
  std::vector<JobId> job_deletes;
  EventSeq events_before = 0;

  bool empty() const {
    return inserts.empty() && updates.empty() && attempts.empty() && events.empty() &&
           workflow_inserts.empty() && workflow_updates.empty() && schedules.empty() &&
           type_pauses.empty() && job_deletes.empty() && events_before == 0;
  }
  size_t size() const {
    return inserts.size() + updates.size() + attempts.size() + events.size() +
           workflow_inserts.size() + workflow_updates.size() + schedules.size() +
           type_pauses.size() + job_deletes.size() + (events_before != 0 ? 1 : 0);
  }
  void clear() {
    inserts.clear();
    updates.clear();
    attempts.clear();
    events.clear();
    workflow_inserts.clear();
    workflow_updates.clear();
    schedules.clear();
    type_pauses.clear();
    job_deletes.clear();
    events_before = 0;
  }
};

// What recovery reads back from the store to rebuild the engine.
struct IdempotencyKey {
  std::string owner;
  std::string key;
  JobId job_id = 0;
  int64_t created_ms = 0;
};

struct RecoveredState {
  std::vector<JobRecord> jobs;  // every job that is not in a terminal state
  std::vector<IdempotencyKey> keys;
  std::vector<WorkflowRecord> workflows;  // every workflow still running
  std::vector<ScheduleRecord> schedules;
  std::vector<std::string> paused_types;
  WorkflowId workflow_id_max = 0;
  JobId job_id_max = 0;
  AttemptId attempt_id_max = 0;
  EventSeq event_seq_max = 0;
};

// A job handed to a worker.
struct Assignment {
  JobId job_id = 0;
  AttemptId attempt_id = 0;
  uint32_t attempt = 0;  // the attempt's number, 1-based
  std::string type;
  std::string payload;
  int64_t timeout_ms = 0;
  int64_t heartbeat_timeout_ms = 0;
  int64_t lease_expires_ms = 0;
  std::vector<std::string> input_files;  // JobSpec::input_files
};

// Names the attempt a worker speaks for, and the worker speaking. A command whose attempt is not
// the job's current one is refused (fencing: stale_attempt); one from a worker that does not hold
// the attempt is refused too (permission_denied), so a worker acts only on its own attempts.
struct AttemptRef {
  JobId job_id = 0;
  AttemptId attempt_id = 0;
  std::string worker_id;  // the worker that sends the command
};

// What a worker reports at the end of an attempt: kSucceeded, kError or kDeclined.
struct Completion {
  Outcome outcome = Outcome::kSucceeded;
  std::string result = "null";  // JSON, with kSucceeded; with kError what it handed in ("": none)
  std::string error;            // with kError
  bool retryable = true;        // with kError: false fails the job at once
};

// Something the runtime must tell a worker: stop this attempt (cancelled, timed out, deadline).
struct Notice {
  std::string worker_id;
  JobId job_id = 0;
  AttemptId attempt_id = 0;
  Outcome reason = Outcome::kCancelled;
};

struct SubmitResult {
  JobId job_id = 0;
  bool existed = false;  // the idempotency key named an earlier job; nothing new was created
  // The last event before the submit: the job's events (all of a new job's) come after it.
  EventSeq event_seq = 0;
};

// What a declared job type (server --types) sets for its jobs, where a submit leaves it open.
struct TypeDefaults {
  int64_t timeout_ms = 0;     // 0: the engine's default
  uint32_t attempts_max = 0;  // 0: the engine's default
  std::optional<RetryPolicy> retry;
  std::string splitter, aggregator, verifier;
  std::optional<ChildrenPolicy> children_policy;
  Resources resources;  // what its jobs need when they ask for nothing
};

// Who may run what, and how much (server config [scheduling]). Counts are of running jobs
// (attempts holding a lease); 0 or unset means no limit.
struct TypePolicy {
  uint32_t running_max = 0;  // jobs of the type running at once, all users together
  double rate_per_s = 0;     // token bucket: attempts started per second (0: no limit)
  uint32_t burst = 0;        // the bucket's size (0: the rate rounded up, at least 1)
  bool operator==(const TypePolicy&) const = default;
};
struct UserPolicy {
  std::optional<uint32_t> running_max;       // unset: SchedulingPolicy::user_running_max
  std::optional<uint32_t> type_running_max;  // any one type; unset: the policy's default
  std::map<std::string, uint32_t> types;     // per type, over type_running_max
  bool operator==(const UserPolicy&) const = default;
};
struct SchedulingPolicy {
  uint32_t user_running_max = 0;       // each user
  uint32_t user_type_running_max = 0;  // each user, per type
  std::map<std::string, UserPolicy> users;
  std::map<std::string, TypePolicy> types;
  // The most of each resource one worker may have. A job asking for more is refused at submit
  // (no worker could ever run it), and so is a worker's hello claiming more. A resource not
  // listed may be had up to resource_max_default.
  std::map<std::string, int64_t> resources_max;
  int64_t resource_max_default = 1'000'000'000;
  bool operator==(const SchedulingPolicy&) const = default;
};

// Whether a job's owner belongs to an account: the account itself, or one of its end users
// ("webapp/2" belongs to "webapp").
bool InAccount(std::string_view owner, std::string_view account);

// A connected worker as the scheduler sees it (from its hello).
struct WorkerInfo {
  std::string id;
  uint64_t connection = 0;  // tells this connection from the worker's earlier ones
  std::vector<std::string> types;
  Resources resources;
  Labels labels;
  // A private pool's account (a user's own worker token): the worker gets, and may act on, only
  // that account's jobs. Empty: a shared worker, serving every user.
  std::string owner;
};

struct DispatchRequest {
  std::string worker_id;
  std::vector<std::string> types;
  uint32_t capacity = 0;  // how many attempts the worker can take now
};

}  // namespace baton::engine
