// How the SQL backends lay the engine's records out in columns, shared so that every backend
// writes and reads the same columns alike and none copies another's code.
//
// A job is two rows: its spec in `jobs`, written once, and its status in `job_status`, rewritten
// on every change (measured on SQLite: this split is what keeps durable lifecycles fast; an
// UPDATE of the whole 40-column row cost more than all other writes).
//
// Writers and readers are the backends' own (templates, so the hot path has no virtual calls):
//   Writer: Int(int64_t), Real(double), Text(string_view) (the text outlives the statement's
//           run), OwnedText(std::string) (a value made here), Null()
//   Row:    Int(col), Real(col), Text(col) -> std::string, IsNull(col)
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"
#include "engine/types.h"
#include "store/codec.h"
#include "store/store.h"

namespace baton::store::rows {

inline constexpr const char* kJobSpecColumns[] = {"id",
                                                  "type",
                                                  "owner",
                                                  "payload",
                                                  "priority",
                                                  "run_after_ms",
                                                  "run_by_ms",
                                                  "timeout_ms",
                                                  "heartbeat_timeout_ms",
                                                  "attempts_max",
                                                  "retry_delay_ms_initial",
                                                  "retry_multiplier",
                                                  "retry_delay_ms_max",
                                                  "retry_jitter",
                                                  "retry_on",
                                                  "idempotency_key",
                                                  "tags",
                                                  "parent_id",
                                                  "verify",
                                                  "created_ms",
                                                  "input_dir",
                                                  "input_files",
                                                  "splitter",
                                                  "aggregator",
                                                  "verifier",
                                                  "children_policy",
                                                  "parent_attempt",
                                                  "role",
                                                  "subject_id",
                                                  "subject_attempt",
                                                  "workflow_id",
                                                  "workflow_step",
                                                  "resources",
                                                  "labels",
                                                  "concurrency_key",
                                                  "concurrency_limit",
                                                  "retention_ms",
                                                  "verdict_timeout_ms"};
inline constexpr int kJobSpecCount = 38;
static_assert(std::size(kJobSpecColumns) == kJobSpecCount);

inline constexpr const char* kJobStatusColumns[] = {"state",
                                                    "attempts_used",
                                                    "attempts_started",
                                                    "declines",
                                                    "attempt_id",
                                                    "worker_id",
                                                    "attempt_started_ms",
                                                    "lease_expires_ms",
                                                    "ready_at_ms",
                                                    "updated_ms",
                                                    "finished_ms",
                                                    "last_outcome",
                                                    "progress",
                                                    "progress_message",
                                                    "result",
                                                    "error",
                                                    "declined_by",
                                                    "children_total",
                                                    "children_done",
                                                    "children_failed",
                                                    "helper_id",
                                                    "outputs"};
inline constexpr int kJobStatusCount = 22;
static_assert(std::size(kJobStatusColumns) == kJobStatusCount);

inline constexpr const char* kAttemptColumns[] = {
    "id", "job_id", "number", "worker_id", "started_ms", "ended_ms", "outcome", "error", "result"};
inline constexpr int kAttemptCount = 9;

inline constexpr const char* kEventColumns[] = {"seq",     "job_id",     "at_ms",   "kind",
                                                "state",   "attempt_id", "outcome", "progress",
                                                "message", "workflow_id"};
inline constexpr int kEventCount = 10;

// "p.a, p.b" (with prefix "p.") or "a = ?, b = ?" (with suffix " = ?").
template <size_t N>
std::string JoinColumns(const char* const (&columns)[N], const char* prefix, const char* suffix) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i) out += ", ";
    out += prefix;
    out += columns[i];
    out += suffix;
  }
  return out;
}

// The status columns (kJobStatusColumns' order), without the id.
template <typename W>
void WriteStatus(W& w, const engine::JobStatus& s) {
  w.Text(engine::JobStateName(s.state));
  w.Int(s.attempts_used);
  w.Int(s.attempts_started);
  w.Int(s.declines);
  w.Int(static_cast<int64_t>(s.attempt_id));
  w.Text(s.worker_id);
  w.Int(s.attempt_started_ms);
  w.Int(s.lease_expires_ms);
  w.Int(s.ready_at_ms);
  w.Int(s.updated_ms);
  w.Int(s.finished_ms);
  w.Text(engine::OutcomeName(s.last_outcome));
  w.Real(s.progress);
  w.Text(s.progress_message);
  w.Text(s.result);
  w.Text(s.error);
  w.Text(s.declined_by);
  w.Int(s.children_total);
  w.Int(s.children_done);
  w.Int(s.children_failed);
  w.Int(static_cast<int64_t>(s.helper_id));
  w.Text(s.outputs);
}

// The spec columns (kJobSpecColumns' order), the id first.
template <typename W>
void WriteJobSpec(W& w, const engine::JobRecord& r) {
  const engine::JobSpec& s = r.spec;
  const engine::RetryPolicy& retry = *s.retry;
  w.Int(static_cast<int64_t>(r.id));
  w.Text(s.type);
  w.Text(s.owner);
  w.Text(s.payload);
  w.Int(s.priority);
  w.Int(s.run_after_ms);
  w.Int(s.run_by_ms);
  w.Int(s.timeout_ms);
  w.Int(s.heartbeat_timeout_ms);
  w.Int(s.attempts_max);
  w.Int(retry.delay_ms_initial);
  w.Real(retry.multiplier);
  w.Int(retry.delay_ms_max);
  w.Real(retry.jitter);
  w.Int(retry.retry_on);
  if (s.idempotency_key.empty()) {
    w.Null();
  } else {
    w.Text(s.idempotency_key);
  }
  if (s.tags.empty()) {
    w.Text("[]");
  } else {
    w.OwnedText(json::EncodeStringArray(s.tags));
  }
  w.Int(static_cast<int64_t>(s.parent_id));
  w.Int(s.verify ? 1 : 0);
  w.Int(r.created_ms);
  w.Text(s.input_dir);
  if (s.input_files.empty()) {
    w.Text("[]");
  } else {
    w.OwnedText(json::EncodeStringArray(s.input_files));
  }
  w.Text(s.splitter);
  w.Text(s.aggregator);
  w.Text(s.verifier);
  if (!s.children_policy || s.children_policy->kind == engine::ChildrenPolicy::kAll) {
    w.Text("all");
  } else {
    w.OwnedText(engine::ChildrenPolicyText(*s.children_policy));
  }
  w.Int(static_cast<int64_t>(s.parent_attempt));
  w.Text(engine::JobRoleName(s.role));
  w.Int(static_cast<int64_t>(s.subject_id));
  w.Int(static_cast<int64_t>(s.subject_attempt));
  w.Int(static_cast<int64_t>(s.workflow_id));
  w.Int(s.workflow_step);
  if (s.resources.empty()) {
    w.Text("");
  } else {
    w.OwnedText(engine::ResourcesText(s.resources));
  }
  if (s.labels.empty()) {
    w.Text("");
  } else {
    w.OwnedText(engine::LabelsText(s.labels));
  }
  w.Text(s.concurrency_key);
  w.Int(s.concurrency_limit);
  w.Int(s.retention_ms);
  w.Int(s.verdict_timeout_ms);
}

// The status row: the id, then the status columns.
template <typename W>
void WriteJobStatus(W& w, const engine::JobRecord& r) {
  w.Int(static_cast<int64_t>(r.id));
  WriteStatus(w, r.status);
}

template <typename W>
void WriteAttempt(W& w, const engine::AttemptRecord& a) {
  w.Int(static_cast<int64_t>(a.id));
  w.Int(static_cast<int64_t>(a.job_id));
  w.Int(a.number);
  w.Text(a.worker_id);
  w.Int(a.started_ms);
  w.Int(a.ended_ms);
  w.Text(engine::OutcomeName(a.outcome));
  w.Text(a.error);
  w.Text(a.result);
}

template <typename W>
void WriteEvent(W& w, const engine::Event& e) {
  w.Int(static_cast<int64_t>(e.seq));
  w.Int(static_cast<int64_t>(e.job_id));
  w.Int(e.at_ms);
  w.Text(engine::EventKindName(e.kind));
  w.Text(engine::JobStateName(e.state));
  w.Int(static_cast<int64_t>(e.attempt_id));
  w.Text(engine::OutcomeName(e.outcome));
  w.Real(e.progress);
  w.Text(e.message);
  w.Int(static_cast<int64_t>(e.workflow_id));
}

// Reads a whole job selected as "spec columns, status columns" (SelectJobColumns).
template <typename Row>
Result<engine::JobRecord> ReadJob(Row& st) {
  engine::JobRecord r;
  int c = 0;
  r.id = static_cast<engine::JobId>(st.Int(c++));
  const std::string job = "job " + std::to_string(r.id) + ": ";
  engine::JobSpec& spec = r.spec;
  spec.type = st.Text(c++);
  spec.owner = st.Text(c++);
  spec.payload = st.Text(c++);
  spec.priority = static_cast<int32_t>(st.Int(c++));
  spec.run_after_ms = st.Int(c++);
  spec.run_by_ms = st.Int(c++);
  spec.timeout_ms = st.Int(c++);
  spec.heartbeat_timeout_ms = st.Int(c++);
  spec.attempts_max = static_cast<uint32_t>(st.Int(c++));
  engine::RetryPolicy retry;
  retry.delay_ms_initial = st.Int(c++);
  retry.multiplier = st.Real(c++);
  retry.delay_ms_max = st.Int(c++);
  retry.jitter = st.Real(c++);
  retry.retry_on = static_cast<uint32_t>(st.Int(c++));
  spec.retry = retry;
  spec.idempotency_key = st.IsNull(c) ? std::string() : st.Text(c);
  ++c;
  Result<std::vector<std::string>> tags = json::DecodeStringArray(st.Text(c++), "tags");
  if (!tags.ok()) return DataLoss(job + tags.status().message());
  spec.tags = std::move(*tags);
  spec.parent_id = static_cast<engine::JobId>(st.Int(c++));
  spec.verify = st.Int(c++) != 0;
  r.created_ms = st.Int(c++);
  spec.input_dir = st.Text(c++);
  Result<std::vector<std::string>> inputs = json::DecodeStringArray(st.Text(c++), "input_files");
  if (!inputs.ok()) return DataLoss(job + inputs.status().message());
  spec.input_files = std::move(*inputs);
  spec.splitter = st.Text(c++);
  spec.aggregator = st.Text(c++);
  spec.verifier = st.Text(c++);
  const std::string policy = st.Text(c++);
  spec.children_policy = engine::ParseChildrenPolicy(policy);
  if (!spec.children_policy) return DataLoss(job + "unknown children policy " + policy);
  spec.parent_attempt = static_cast<engine::AttemptId>(st.Int(c++));
  const std::string role = st.Text(c++);
  auto parsed_role = engine::ParseJobRole(role);
  if (!parsed_role) return DataLoss(job + "unknown role " + role);
  spec.role = *parsed_role;
  spec.subject_id = static_cast<engine::JobId>(st.Int(c++));
  spec.subject_attempt = static_cast<engine::AttemptId>(st.Int(c++));
  spec.workflow_id = static_cast<engine::WorkflowId>(st.Int(c++));
  spec.workflow_step = static_cast<uint32_t>(st.Int(c++));
  auto resources = engine::ParseResourcesText(st.Text(c++));
  auto labels = engine::ParseLabelsText(st.Text(c++));
  if (!resources || !labels) return DataLoss(job + "unreadable resources or labels");
  spec.resources = std::move(*resources);
  spec.labels = std::move(*labels);
  spec.concurrency_key = st.Text(c++);
  spec.concurrency_limit = static_cast<uint32_t>(st.Int(c++));
  spec.retention_ms = st.Int(c++);
  spec.verdict_timeout_ms = st.Int(c++);

  engine::JobStatus& s = r.status;
  const std::string state = st.Text(c++);
  auto parsed_state = engine::ParseJobState(state);
  if (!parsed_state) return DataLoss(job + "unknown state " + state);
  s.state = *parsed_state;
  s.attempts_used = static_cast<uint32_t>(st.Int(c++));
  s.attempts_started = static_cast<uint32_t>(st.Int(c++));
  s.declines = static_cast<uint32_t>(st.Int(c++));
  s.attempt_id = static_cast<engine::AttemptId>(st.Int(c++));
  s.worker_id = st.Text(c++);
  s.attempt_started_ms = st.Int(c++);
  s.lease_expires_ms = st.Int(c++);
  s.ready_at_ms = st.Int(c++);
  s.updated_ms = st.Int(c++);
  s.finished_ms = st.Int(c++);
  const std::string outcome = st.Text(c++);
  auto parsed_outcome = engine::ParseOutcome(outcome);
  if (!parsed_outcome) return DataLoss(job + "unknown outcome " + outcome);
  s.last_outcome = *parsed_outcome;
  s.progress = st.Real(c++);
  s.progress_message = st.Text(c++);
  s.result = st.Text(c++);
  s.error = st.Text(c++);
  s.declined_by = st.Text(c++);
  s.children_total = static_cast<uint32_t>(st.Int(c++));
  s.children_done = static_cast<uint32_t>(st.Int(c++));
  s.children_failed = static_cast<uint32_t>(st.Int(c++));
  s.helper_id = static_cast<engine::JobId>(st.Int(c++));
  s.outputs = st.Text(c++);
  return r;
}

// "SELECT j.id, ..., s.outputs FROM jobs j JOIN job_status s ... WHERE": what ReadJob reads.
inline std::string SelectJobs(std::string_view where) {
  return "SELECT " + JoinColumns(kJobSpecColumns, "j.", "") + ", " +
         JoinColumns(kJobStatusColumns, "s.", "") +
         " FROM jobs j JOIN job_status s ON s.id = j.id " + std::string(where);
}

// Paging of ListJobs in the SQL backends: a page examines ids in [floor, top), where `top` is
// `before` (or past the newest job). A parent's sub-jobs are found through their index, however
// far apart their ids are, so they have no floor.
inline int64_t PageFloor(const JobQuery& q, int64_t top) {
  return q.parent_id != 0 ? 1 : std::max<int64_t>(1, top - static_cast<int64_t>(q.scan_max));
}
// Where the next page starts: after the last job of a full page, else below the floor.
inline void SetNextPage(JobPage& page, const JobQuery& q, int64_t floor) {
  if (page.jobs.size() == q.limit) {
    page.next = page.jobs.back().id > 1 ? page.jobs.back().id : 0;
  } else {
    page.next = floor > 1 ? static_cast<engine::JobId>(floor) : 0;
  }
}

// How many sub-jobs of a parent (the one parameter) are in each state.
inline constexpr const char* kCountChildren =
    "SELECT s.state, count(*) FROM jobs j JOIN job_status s ON s.id = j.id "
    "WHERE j.parent_id = ? AND j.parent_id != 0 GROUP BY s.state";

template <typename Row>
Result<engine::AttemptRecord> ReadAttempt(Row& s) {
  auto outcome = engine::ParseOutcome(s.Text(6));
  if (!outcome) return DataLoss("attempt " + std::to_string(s.Int(0)) + ": unknown outcome");
  return engine::AttemptRecord{static_cast<engine::AttemptId>(s.Int(0)),
                               static_cast<engine::JobId>(s.Int(1)),
                               static_cast<uint32_t>(s.Int(2)),
                               s.Text(3),
                               s.Int(4),
                               s.Int(5),
                               *outcome,
                               s.Text(7),
                               s.Text(8)};
}

template <typename Row>
Result<engine::Event> ReadEvent(Row& s) {
  auto kind = engine::ParseEventKind(s.Text(3));
  auto state = engine::ParseJobState(s.Text(4));
  auto outcome = engine::ParseOutcome(s.Text(6));
  if (!kind || !state || !outcome) {
    return DataLoss("event " + std::to_string(s.Int(0)) + ": unknown kind, state or outcome");
  }
  return engine::Event{static_cast<engine::EventSeq>(s.Int(0)),
                       static_cast<engine::JobId>(s.Int(1)),
                       s.Int(2),
                       *kind,
                       *state,
                       static_cast<engine::AttemptId>(s.Int(5)),
                       *outcome,
                       s.Real(7),
                       s.Text(8),
                       static_cast<engine::WorkflowId>(s.Int(9))};
}

// A workflow selected with kSelectWorkflow.
inline constexpr const char* kSelectWorkflow =
    "SELECT w.id, w.owner, w.name, w.document, w.created_ms, s.state, s.updated_ms, "
    "s.finished_ms, s.message, s.steps FROM workflows w JOIN workflow_status s ON s.id = w.id ";

template <typename Row>
Result<engine::WorkflowRecord> ReadWorkflow(Row& st) {
  engine::WorkflowRecord w;
  w.id = static_cast<engine::WorkflowId>(st.Int(0));
  w.owner = st.Text(1);
  w.name = st.Text(2);
  w.document = st.Text(3);
  w.created_ms = st.Int(4);
  auto state = engine::ParseWorkflowState(st.Text(5));
  if (!state) return DataLoss("workflow " + std::to_string(w.id) + ": unknown state");
  w.status.state = *state;
  w.status.updated_ms = st.Int(6);
  w.status.finished_ms = st.Int(7);
  w.status.message = st.Text(8);
  Result<std::vector<engine::StepStatus>> steps = DecodeSteps(st.Text(9), w.id);
  if (!steps.ok()) return steps.status();
  w.status.steps = std::move(*steps);
  return w;
}

// Schedules: the columns of `schedules`, in this order.
inline constexpr const char* kScheduleColumns =
    "name, owner, cron, time_zone, catch_up, job, paused, created_ms, last_tick_ms, jobs_created, "
    "last_job_id, last_error";

template <typename W>
void WriteSchedule(W& w, const engine::ScheduleRecord& r) {
  w.Text(r.name);
  w.Text(r.owner);
  w.Text(r.cron);
  w.Text(r.time_zone);
  w.Text(engine::CatchUpName(r.catch_up));
  w.Text(r.job);
  w.Int(r.paused ? 1 : 0);
  w.Int(r.created_ms);
  w.Int(r.last_tick_ms);
  w.Int(static_cast<int64_t>(r.jobs_created));
  w.Int(static_cast<int64_t>(r.last_job_id));
  w.Text(r.last_error);
}

template <typename Row>
Result<engine::ScheduleRecord> ReadSchedule(Row& q) {
  engine::ScheduleRecord r;
  r.name = q.Text(0);
  r.owner = q.Text(1);
  r.cron = q.Text(2);
  r.time_zone = q.Text(3);
  const std::string catch_up = q.Text(4);
  auto parsed = engine::ParseCatchUp(catch_up);
  if (!parsed) return DataLoss("schedule " + r.name + ": unknown catch_up " + catch_up);
  r.catch_up = *parsed;
  r.job = q.Text(5);
  r.paused = q.Int(6) != 0;
  r.created_ms = q.Int(7);
  r.last_tick_ms = q.Int(8);
  r.jobs_created = static_cast<uint64_t>(q.Int(9));
  r.last_job_id = static_cast<engine::JobId>(q.Int(10));
  r.last_error = q.Text(11);
  return r;
}

// Retention's view of a finished job, selected with kSelectFinished.
inline constexpr const char* kSelectFinished =
    "SELECT j.id, j.owner, j.type, coalesce(j.idempotency_key, ''), j.input_dir, "
    "j.retention_ms, s.finished_ms, "
    "(coalesce(ps.state NOT IN ('succeeded', 'failed', 'cancelled'), false) "
    "OR coalesce(ws.state = 'running', false)) FROM jobs j "
    "JOIN job_status s ON s.id = j.id LEFT JOIN job_status ps ON ps.id = j.parent_id "
    "LEFT JOIN workflow_status ws ON ws.id = j.workflow_id "
    "WHERE j.id > ? AND s.state IN ('succeeded', 'failed', 'cancelled') ORDER BY j.id LIMIT ?";

// The jobs Recover reads: every job not finished, then the finished sub-jobs of parents that may
// still aggregate them (found through jobs_parent).
inline constexpr const char* kRecoverJobsWhere[] = {
    "WHERE s.state NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY j.id",
    "WHERE j.parent_id != 0 AND j.parent_id IN (SELECT id FROM job_status WHERE state IN "
    "('running', 'submitted', 'waiting_children')) AND s.state IN "
    "('succeeded', 'failed', 'cancelled') ORDER BY j.id"};

}  // namespace baton::store::rows
