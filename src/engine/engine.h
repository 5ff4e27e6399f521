// Engine: Baton's state machine. It owns every active job (pending, queued, running, submitted,
// waiting for children, waiting to retry) and a bounded cache of recently finished ones, the
// ready queues, the timers (run_after, back-off, leases, attempt timeouts, deadlines) and the
// idempotency keys.
//
// Pure and deterministic: commands and clock ticks in, decisions (return values, Notices) and
// records (RecordBatch) out. No I/O, no threads, no wall clock: time advances only by Tick(), and
// jitter comes from a seeded generator, so the same inputs give the same outputs.
//
// Durability is the caller's job: after commands, TakeRecords() yields the rows to commit, and the
// caller must not let a reply or a pushed message leave before that commit.
//
// Thread rules: not thread-safe; one thread owns an Engine.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/random.h"
#include "common/status.h"
#include "engine/children.h"
#include "engine/cron.h"
#include "engine/indexed_heap.h"
#include "engine/scheduler.h"
#include "engine/schedules.h"
#include "engine/sink.h"
#include "engine/types.h"
#include "engine/workflow.h"
#include "engine/workflow_runner.h"

namespace baton::engine {

// Every limit the engine enforces. A command beyond a limit is refused with InvalidArgument or
// ResourceExhausted naming the limit.
struct EngineLimits {
  size_t type_bytes_max = 128;
  size_t owner_bytes_max = 128;
  size_t payload_bytes_max = 1 << 20;
  size_t result_bytes_max = 4 << 20;
  size_t error_bytes_max = 16 << 10;
  size_t message_bytes_max = 4 << 10;  // progress messages, cancel and reject reasons
  size_t worker_id_bytes_max = 128;
  size_t idempotency_key_bytes_max = 256;
  size_t tags_max = 32;
  size_t tag_bytes_max = 64;
  int32_t priority_min = -1000;
  int32_t priority_max = 1000;
  uint32_t attempts_max = 100;  // the largest attempts_max a job may ask for
  int64_t timeout_ms_max = 7LL * 24 * 3600 * 1000;
  int64_t heartbeat_timeout_ms_max = 24LL * 3600 * 1000;
  int64_t delay_ms_max = 7LL * 24 * 3600 * 1000;
  uint32_t children_max = 100000;  // sub-jobs per parent
  // The largest input an aggregator gets: the parent and every sub-job with its result. Past it
  // the parent fails, saying so.
  size_t aggregate_bytes_max = 64 << 20;
  uint32_t dispatch_batch_max = 1000;
  uint32_t decline_skip_max = 64;  // jobs a dispatch passes over because this worker declined them
  uint32_t declines_max = 20;      // past this, a decline counts as a retryable error
  size_t resources_max = 16;       // resources a job asks for, and as many labels
};

struct EngineConfig {
  int64_t timeout_ms_default = 3600 * 1000;
  int64_t heartbeat_timeout_ms_default = 30 * 1000;
  uint32_t attempts_max_default = 3;
  RetryPolicy retry_default;
  // How long an idempotency key names its job.
  int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;
  // How many finished jobs stay in memory for commands (retry, reject) and clear errors; older
  // ones live only in the store.
  size_t finished_jobs_max = 10000;
  uint64_t seed = 1;
  // A schedule's tick later than this when the engine gets to it (the server was down) was
  // missed: its catch-up policy decides. Ticks within it run, late.
  int64_t schedule_misfire_grace_ms = 60'000;
  size_t schedules_max = 10000;
  EngineLimits limits;
};

struct EngineStats {
  std::array<uint64_t, kJobStateCount> jobs_by_state{};
  size_t jobs_in_memory = 0;
  size_t idempotency_keys = 0;
  size_t timers = 0;
  EventSeq event_seq_last = 0;
};

class Engine {
 public:
  explicit Engine(EngineConfig config = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Rebuilds the state from what the store recovered. Only on a new engine, before any command.
  // Timers whose time passed while the process was down (expired leases among them) fire at the
  // next Tick().
  Status Restore(RecoveredState state);

  // Advances the clock to `now_ms` (never backwards) and fires every timer that is due.
  void Tick(int64_t now_ms);
  int64_t now_ms() const { return sink_.now_ms; }
  // The time of the earliest timer, or INT64_MAX when there is none.
  int64_t NextTimerMs() const;

  // The declared job types' defaults (server --types), applied at submit where a spec leaves a
  // field open; replaces the earlier set.
  void SetTypes(std::unordered_map<std::string, TypeDefaults> types);

  // Fills defaults and checks every field of `spec`; the first violation names its field.
  Status Validate(JobSpec& spec) const;
  Result<SubmitResult> Submit(JobSpec spec);
  // All or nothing: every spec is checked (fields, parents, children_max across the batch)
  // before any job is created; an error names the spec ("[3].priority: ...").
  Result<std::vector<SubmitResult>> SubmitBatch(std::vector<JobSpec> specs);

  // Sub-jobs from a running attempt (libbaton's ctx.Spawn, the worker protocol's spawn, the shell
  // executor's out/children.json). Each becomes a child of the attempt's job, owned by its owner;
  // all or nothing, as SubmitBatch. Fenced like a completion: only the job's running attempt.
  Result<std::vector<SubmitResult>> Spawn(const AttemptRef& ref, std::vector<JobSpec> specs);

  // Workflows (workflow.h). Submit checks the whole document (errors name their path), creates
  // the workflow and starts the steps that depend on nothing. `parsed`: the plan of `document`,
  // when the caller has parsed it already (off the engine's thread).
  Result<WorkflowId> SubmitWorkflow(const std::string& owner, std::string document,
                                    std::optional<WorkflowPlan> parsed = std::nullopt) {
    return workflows_.Submit(owner, std::move(document), std::move(parsed));
  }
  // Cancels every running step's job and the steps not yet started; the workflow ends cancelled.
  Status CancelWorkflow(WorkflowId id, std::string reason) {
    return workflows_.Cancel(id, std::move(reason));
  }
  // Runs a finished workflow's failed and cancelled steps again, and every step downstream of
  // them; the steps that succeeded keep their results.
  Status RetryWorkflow(WorkflowId id) { return workflows_.Retry(id); }
  // The workflow, if running or recently finished. Valid until the next command.
  const WorkflowRecord* FindWorkflow(WorkflowId id) const { return workflows_.Find(id); }
  // Brings back a finished workflow that left memory (read from the store).
  Status LoadWorkflow(WorkflowRecord workflow) { return workflows_.Load(std::move(workflow)); }
  // The plugins a worker registers for activities (from its hello); replaces its earlier ones.
  // An activity's parallel stage runs every plugin registered for it when the stage starts.
  void RegisterPlugins(const std::string& worker_id, std::vector<PluginRegistration> plugins) {
    workflows_.RegisterPlugins(worker_id, std::move(plugins));
  }

  // Hands the best ready jobs of the worker's types to it, up to its capacity, in the order and
  // under the policies of scheduler.h.
  std::vector<Assignment> Dispatch(const DispatchRequest& request);

  // Scheduling (scheduler.h). The policy replaces the earlier one.
  void SetPolicy(SchedulingPolicy policy) { scheduler_.SetPolicy(std::move(policy)); }
  const SchedulingPolicy& policy() const { return scheduler_.policy(); }
  // A worker's hello: its types, resources and labels. Refuses resources beyond resources_max.
  Status ConnectWorker(WorkerInfo info) { return scheduler_.ConnectWorker(std::move(info)); }
  void DisconnectWorker(const std::string& id, uint64_t connection) {
    scheduler_.DisconnectWorker(id, connection);
  }
  void DrainWorker(const std::string& id, bool drain) { scheduler_.DrainWorker(id, drain); }
  bool WorkerDrained(const std::string& id) const { return scheduler_.Drained(id); }
  // Durable: the pause is recorded, and survives restarts. A name no job could have is refused.
  Status PauseType(const std::string& type, bool paused);
  const std::set<std::string>& paused_types() const { return scheduler_.paused_types(); }
  // Why a job is not running yet, in words: its run_after, its back-off, or what holds it in the
  // queue ("user alice runs 5 jobs, the user's running_max"). Empty for a job that is not waiting.
  std::string WhyWaiting(JobId id) const;
  const Scheduler& scheduler() const { return scheduler_; }

  // A worker (re)connected and named the attempts it still holds (running, or finished with the
  // outcome not yet acknowledged). Every other attempt the engine has running on that worker
  // never reached it or is gone with it: each ends as lost now, instead of when its lease runs
  // out. An attempt it names that the engine does not have running on it is ignored: a worker
  // cannot claim another's attempt. Returns the attempts confirmed as held (with their job's
  // type) and how many were lost. O(jobs in memory): for connects, which are rare.
  struct Release {
    std::vector<std::pair<AttemptId, std::string>> held;
    size_t lost = 0;
  };
  Release ReleaseWorker(const std::string& worker_id, const std::vector<AttemptId>& held);

  // Ok when `ref` names the job's current, running attempt and its worker holds it (the rule for
  // a worker's file requests: input downloads and output uploads); else the error a worker
  // message naming it would get (not_found, stale_attempt, permission_denied).
  Status Holds(const AttemptRef& ref) const;
  // Records an output file that the holder of `ref` uploaded, with its size (checked as Holds),
  // in the job's output manifest (JobStatus::outputs): committed before the upload is
  // acknowledged, so a download can tell a file lost from the disk from one never handed in.
  Status RecordOutput(const AttemptRef& ref, std::string_view name, uint64_t size);

  // Fenced, and only from the worker holding the attempt (AttemptRef).
  Status Heartbeat(const AttemptRef& ref);
  Status Progress(const AttemptRef& ref, double fraction, const std::string& message);
  Status Complete(const AttemptRef& ref, Completion completion);

  // Verdicts on a result. Accept: a submitted job succeeds. Reject: the attempt ends as rejected
  // and the job retries after its back-off, or fails when its attempts are used up; a succeeded
  // job without a parent can be rejected too.
  Status Accept(JobId id);
  Status Reject(JobId id, std::string reason);

  // Ends a job that has not finished. A running attempt ends as cancelled and its worker gets a
  // Notice; children are cancelled too.
  Status Cancel(JobId id, std::string reason);

  // Runs a failed or cancelled job again with a fresh attempt budget.
  Status Retry(JobId id);

  // The job, if it is active or recently finished. Valid until the next command.
  const JobRecord* Find(JobId id) const;

  // Brings back a finished job that left memory (read from the store), so that commands such as
  // Retry can act on it. Only a finished job, and only one the engine does not hold.
  Status Load(JobRecord job);

  // Cron schedules (ScheduleRecord in types.h, cron.h). Put creates one, or replaces the one of
  // that name (keeping its last tick; a new schedule starts from now, and so does one that is
  // resumed). The job template is checked as a submit would check it; an error names its field.
  Status PutSchedule(ScheduleRecord schedule);
  Status DeleteSchedule(const std::string& name) { return schedules_.Delete(name); }
  const ScheduleRecord* FindSchedule(const std::string& name) const {
    return schedules_.Find(name);
  }
  std::vector<const ScheduleRecord*> Schedules() const { return schedules_.List(); }
  // When the schedule ticks next; INT64_MAX when paused or never.
  int64_t ScheduleNextMs(const std::string& name) const { return schedules_.NextMs(name); }

  // Retention: the server's cleaner found these finished jobs past their retention. Each that is
  // still finished and not held for an active parent leaves memory and is deleted from the store
  // with its attempts (RecordBatch::job_deletes); returns those. Events below `events_before`
  // are deleted too.
  // Each names the job and its idempotency key (owner and key; the key may be empty), which is
  // forgotten with it.
  std::vector<JobId> Forget(const std::vector<IdempotencyKey>& jobs, EventSeq events_before);

  // Moves the records of everything that changed since the last call into `out` (appending).
  void TakeRecords(RecordBatch* out);
  bool HasRecords() const {
    return !dirty_.empty() || workflows_.HasRecords() || !sink_.records.empty();
  }

  // Moves the messages the runtime must send to workers into `out` (appending).
  void TakeNotices(std::vector<Notice>* out);

  EngineStats Stats() const;
  // Every job type the engine has seen, with the number of jobs queued for it.
  std::vector<std::pair<std::string, size_t>> QueuedByType() const;
  // The sequence number of the last event emitted (0: none yet).
  EventSeq event_seq_last() const { return sink_.event_seq_last; }

 private:
  struct Job;
  enum TimerSlot : uint8_t { kStateTimer = 0, kDeadlineTimer = 1 };
  struct Timer {
    int64_t due_ms;
    Job* job;
    TimerSlot slot;
  };
  struct TimerLess {
    bool operator()(const Timer& a, const Timer& b) const { return a.due_ms < b.due_ms; }
  };
  struct TimerPos {
    int32_t& operator()(Timer& t) const;
  };

  // A schedule's job template, checked as a submit would check it (ScheduleBook::CheckTemplate).
  Result<JobSpec> ScheduleTemplate(const ScheduleRecord& rec) const;

  // A workflow step's job (StepJobs): made from a checked spec, and cancelled if it has not
  // finished.
  JobId CreateStepJob(JobSpec spec);
  void CancelStepJob(JobId id, const std::string& reason);

  void RestoreJob(JobRecord rec);
  void ResultHandedIn(Job& job, const std::string& result);
  Job* FindJob(JobId id) const;
  // The parts of Validate that read the engine's state: the declared types' defaults, the
  // clock and the defaults of the config.
  void FillTypeDefaults(JobSpec& spec) const;
  Status ValidateTiming(JobSpec& spec) const;
  Status ValidateDemand(const JobSpec& spec) const;
  // The checks of Submit that concern the parent; `added` children are about to join it.
  Status CheckParent(const JobSpec& spec, uint32_t added) const;
  // The job, or NotFound naming it (it may have finished and left memory; the store has it).
  Result<Job*> FindActive(JobId id) const;
  Result<Job*> FindForAttempt(const AttemptRef& ref, std::string_view command) const;
  Status CheckHolder(const Job& job, const AttemptRef& ref, std::string_view command) const;

  void SetState(Job& job, JobState state, Outcome outcome, std::string_view message);
  void MarkDirty(Job& job);
  void EmitEvent(Job& job, EventKind kind, Outcome outcome, std::string_view message);
  void Enqueue(Job& job);
  void Unqueue(Job& job);
  void ArmTimer(Job& job, TimerSlot slot, int64_t due_ms);
  void DisarmTimer(Job& job, TimerSlot slot);
  void FireTimer(Job& job, TimerSlot slot);
  Assignment StartAttempt(Job& job, const std::string& worker_id);
  // Records the attempt's end, with what it handed in if it failed (`result`, JSON, or "").
  void EndAttempt(Job& job, Outcome outcome, std::string_view error, std::string_view result = {});
  void StopRunningAttempt(Job& job, Outcome reason);
  // Ends the job's open attempt (running or submitted) as `reason`, telling a running worker to
  // stop; returns `reason`, or kNone when no attempt was open.
  Outcome EndOpenAttempt(Job& job, Outcome reason, std::string_view why);
  void RetryOrFail(Job& job, Outcome outcome, std::string_view message);
  // The attempt's result stands: the job succeeds, waits for its sub-jobs, or hands over to its
  // aggregator, as its children policy says.
  void SucceedOrWait(Job& job);
  children::Verdict JudgeChildren(const Job& parent, std::string* why) const;
  // Acts on JudgeChildren for a parent in waiting_children.
  void SettleParent(Job& parent);
  void Finish(Job& job, JobState state, Outcome outcome, std::string_view message);
  void ChildFinished(Job& parent, const Job& child);
  // The parent's attempt is over without its sub-jobs: they no longer count, and those still
  // running are cancelled.
  void DetachChildren(Job& parent, std::string_view why);
  // Creates a job the engine needs (an aggregator or verifier); an error if its spec is refused.
  Result<Job*> StartHelper(Job& subject, JobRole role, std::string payload);
  void HelperFinished(const Job& helper);
  void CancelHelper(Job& subject, std::string_view why);
  // A verdict on a submitted job's result (by API or by its verifier job).
  void AcceptResult(Job& job);
  void RejectResult(Job& job, std::string_view reason);
  // Creates a job from a validated spec whose parent, if any, was checked.
  Job& CreateJob(JobSpec spec);
  int64_t BackoffMs(const Job& job);
  void ExpireKeys();
  void EvictFinished();

  EngineConfig config_;
  std::unordered_map<std::string, TypeDefaults> type_defaults_;
  Random random_;
  JobId job_id_last_ = 0;
  AttemptId attempt_id_last_ = 0;

  std::unordered_map<JobId, std::unique_ptr<Job>> jobs_;
  Scheduler scheduler_;
  IndexedHeap<Timer, TimerLess, TimerPos> timers_;
  std::array<uint64_t, kJobStateCount> state_counts_{};

  struct KeyEntry {
    JobId job_id;
    int64_t created_ms;
  };
  std::unordered_map<std::string, KeyEntry> keys_;         // owner '\0' key -> job
  std::deque<std::pair<std::string, int64_t>> key_order_;  // (map key, created) in created order
  std::deque<JobId> finished_;  // finished jobs, oldest first, for eviction

  std::vector<Job*> dirty_;
  // The clock, the event sequence, and the records and notices not yet taken: shared by the
  // parts below (declared first: they hold its address).
  Sink sink_;
  ScheduleBook schedules_{{config_.schedules_max, config_.schedule_misfire_grace_ms}, &sink_};
  WorkflowRunner workflows_{
      {config_.limits.message_bytes_max, config_.finished_jobs_max},
      &sink_,
      {[this](JobSpec& spec) { return Validate(spec); },
       [this](JobSpec spec) { return CreateStepJob(std::move(spec)); },
       [this](JobId id, const std::string& reason) { CancelStepJob(id, reason); }}};
};

}  // namespace baton::engine
