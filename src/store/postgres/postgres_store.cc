#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <unordered_map>

#include "common/clock.h"
#include "store/migrations.h"
#include "store/row_codec.h"

namespace baton::store {

using engine::JobId;
using engine::JobRecord;

namespace {

// The key of the advisory lock that one server at a time holds while it migrates ("baton").
constexpr int64_t kMigrationLock = 0x6261746f6e;

std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// The last of several entries with one key, in the order of their last appearance: a batch may
// change a job twice (started, then done), and one UPDATE ... FROM takes only one row per target.
template <typename T, typename Key>
std::vector<const T*> LastOfEach(const std::vector<T>& items, Key key) {
  std::unordered_map<int64_t, size_t> last;
  last.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) last[static_cast<int64_t>(key(items[i]))] = i;
  std::vector<const T*> out;
  out.reserve(last.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (last[static_cast<int64_t>(key(items[i]))] == i) out.push_back(&items[i]);
  }
  return out;
}

bool BySeq(const engine::Event* a, const engine::Event* b) { return a->seq < b->seq; }

// The last event's number (null when there are none): the newest batch's last.
constexpr const char* kLastEventSeq =
    "(SELECT last_seq FROM event_batches ORDER BY first_seq DESC LIMIT 1)";

// The event columns, from the batches `b` and their events `e`: the fields that filter (seq,
// job, workflow) unnested, the others taken by position `e.i` for the events that pass.
std::string EventColumnsByPosition() {
  std::string out;
  for (std::string_view c : rows::kEventColumns) {
    if (!out.empty()) out += ", ";
    const bool unnested = c == "seq" || c == "job_id" || c == "workflow_id";
    out += unnested ? "e." : "b.";
    out += c;
    if (!unnested) out += "[e.i]";
  }
  return out;
}

// "unnest(b.seq, b.job_id, ...) AS e(seq, job_id, ...)": the events of the batches `b`.
std::string UnnestEvents(const std::string& b) {
  const std::string prefix = b + ".";
  return "unnest(" + rows::JoinColumns(rows::kEventColumns, prefix.c_str(), "") + ") AS e(" +
         rows::JoinColumns(rows::kEventColumns, "", "") + ")";
}

// "array_agg(seq ORDER BY seq), array_agg(job_id ORDER BY seq), ...": rows back into a batch.
std::string AggregateEvents() {
  std::string out;
  for (const char* c : rows::kEventColumns) {
    if (!out.empty()) out += ", ";
    out += "array_agg(";
    out += c;
    out += " ORDER BY seq)";
  }
  return out;
}

std::string StatusAssignments() {
  std::string out;
  for (const char* c : rows::kJobStatusColumns) {
    if (!out.empty()) out += ", ";
    out += std::string(c) + " = v." + c;
  }
  return out;
}

// An UPDATE that fails the transaction unless it changed every row `want` (SQL for an array of
// ids) names; the error names the missing ones ("no such job 99").
std::string Expecting(const std::string& update, const std::string& id, const std::string& want,
                      std::string_view what) {
  return "WITH changed AS (" + update + " RETURNING " + id +
         ") SELECT baton_expect_ids(ARRAY(SELECT * FROM changed), " + want + ", " + Quoted(what) +
         ")";
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                           const std::string& description,
                                                           bool migrate) {
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url, description);
  if (!conn.ok()) return conn.status();
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(*conn)));
  if (migrate) BATON_RETURN_IF_ERROR(store->Migrate());
  return store;
}

Status PostgresStore::Migrate() {
  BATON_RETURN_IF_ERROR(
      conn_->Script("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
                    "make schema_migrations"));
  const std::string lock = "SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")";
  BATON_RETURN_IF_ERROR(conn_->Script(lock.c_str(), "lock for migrations"));
  auto body = [&]() -> Status {
    Result<int> current = SchemaVersion();
    if (!current.ok()) return current.status();
    const int latest = PostgresMigrations().back().version;
    if (*current > latest) {
      return FailedPrecondition("the database has schema version " + std::to_string(*current) +
                                ", newer than this baton knows (" + std::to_string(latest) +
                                "); run a newer baton");
    }
    for (const Migration& m : PostgresMigrations()) {
      if (m.version <= *current) continue;
      const std::string script = "BEGIN;\n" + std::string(m.sql) +
                                 ";\nINSERT INTO schema_migrations (version, name, applied_ms) "
                                 "VALUES (" +
                                 std::to_string(m.version) + ", " + Quoted(m.name) + ", " +
                                 std::to_string(WallClockMs()) + ");\nCOMMIT;";
      Status s = conn_->Script(script.c_str(), "migration " + std::to_string(m.version));
      if (!s.ok()) {
        (void)conn_->Script("ROLLBACK", "rollback a migration");
        return s.WithContext("migration " + std::to_string(m.version) + " (" + m.name + ")");
      }
    }
    return Status::Ok();
  };
  Status s = body();
  const std::string unlock = "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")";
  Status u = conn_->Script(unlock.c_str(), "unlock after migrations");
  return s.ok() ? u : s;
}

Result<int> PostgresStore::SchemaVersion() {
  Result<PgRows> r =
      conn_->Query("SELECT coalesce(max(version), 0) FROM schema_migrations", {}, "schema version");
  if (!r.ok()) return r.status();
  return static_cast<int>(r->At(0).Int(0));
}

void PostgresStore::AddWrites(const engine::RecordBatch& batch, std::vector<PgQuery>& queries) {
  auto add = [&](std::string sql, PgParams params, std::string what) {
    queries.push_back(PgQuery{std::move(sql), std::move(params), std::move(what)});
  };
  if (!batch.inserts.empty()) {
    PgArrays specs(rows::kJobSpecCount), statuses(1 + rows::kJobStatusCount);
    for (const JobRecord& r : batch.inserts) {
      specs.Row();
      rows::WriteJobSpec(specs, r);
      statuses.Row();
      rows::WriteJobStatus(statuses, r);
    }
    add("INSERT INTO jobs (" + rows::JoinColumns(rows::kJobSpecColumns, "", "") + ") " +
            specs.Select(),
        specs.Params(), "insert jobs");
    add("INSERT INTO job_status (id, " + rows::JoinColumns(rows::kJobStatusColumns, "", "") + ") " +
            statuses.Select(),
        statuses.Params(), "insert job statuses");
  }
  if (!batch.updates.empty()) {
    const auto updates = LastOfEach(batch.updates, [](const engine::JobUpdate& u) { return u.id; });
    PgArrays v(rows::kJobStatusCount + 1);
    for (const engine::JobUpdate* u : updates) {
      v.Row();
      rows::WriteStatus(v, u->status);
      v.Int(static_cast<int64_t>(u->id));
    }
    add(Expecting("UPDATE job_status s SET " + StatusAssignments() + " FROM (" + v.Select() +
                      ") AS v(" + rows::JoinColumns(rows::kJobStatusColumns, "", "") +
                      ", id) WHERE s.id = v.id",
                  "s.id", "$" + std::to_string(rows::kJobStatusCount + 1) + "::bigint[]", "job"),
        v.Params(), "update jobs");
  }
  if (!batch.attempts.empty()) {
    const auto attempts =
        LastOfEach(batch.attempts, [](const engine::AttemptRecord& a) { return a.id; });
    PgArrays v(rows::kAttemptCount);
    for (const engine::AttemptRecord* a : attempts) {
      v.Row();
      rows::WriteAttempt(v, *a);
    }
    add("INSERT INTO attempts (" + rows::JoinColumns(rows::kAttemptColumns, "", "") + ") " +
            v.Select() +
            " ON CONFLICT (id) DO UPDATE SET ended_ms = excluded.ended_ms, outcome = "
            "excluded.outcome, error = excluded.error, result = excluded.result",
        v.Params(), "upsert attempts");
  }
  if (!batch.events.empty()) {
    // One row of arrays (migration 0004), in sequence order as its readers expect.
    std::vector<const engine::Event*> events;
    events.reserve(batch.events.size());
    for (const engine::Event& e : batch.events) events.push_back(&e);
    if (!std::is_sorted(events.begin(), events.end(), BySeq)) {
      std::sort(events.begin(), events.end(), BySeq);
    }
    PgArrays v(rows::kEventCount);
    int64_t last_at_ms = 0;
    for (const engine::Event* e : events) {
      v.Row();
      rows::WriteEvent(v, *e);
      last_at_ms = std::max(last_at_ms, e->at_ms);
    }
    PgParams p = v.Params();
    p.Int(static_cast<int64_t>(events.front()->seq));
    p.Int(static_cast<int64_t>(events.back()->seq));
    p.Int(last_at_ms);
    add("INSERT INTO event_batches (" + rows::JoinColumns(rows::kEventColumns, "", "") +
            ", first_seq, last_seq, last_at_ms) VALUES (" + v.Arrays() + ", $" +
            std::to_string(rows::kEventCount + 1) + ", $" + std::to_string(rows::kEventCount + 2) +
            ", $" + std::to_string(rows::kEventCount + 3) + ")",
        std::move(p), "insert events");
  }
  // Workflows, schedules, pauses and deletes are few per batch: a statement each.
  for (const engine::WorkflowRecord& w : batch.workflow_inserts) {
    PgParams p;
    p.Int(static_cast<int64_t>(w.id));
    p.Text(w.owner);
    p.Text(w.name);
    p.Text(w.document);
    p.Int(w.created_ms);
    add("INSERT INTO workflows (id, owner, name, document, created_ms) VALUES ($1, $2, $3, $4, $5)",
        std::move(p), "insert workflow " + std::to_string(w.id));
  }
  auto workflow_status = [](engine::WorkflowId id, const engine::WorkflowStatus& s) {
    PgParams p;
    p.Text(engine::WorkflowStateName(s.state));
    p.Int(s.updated_ms);
    p.Int(s.finished_ms);
    p.Text(s.message);
    p.OwnedText(EncodeSteps(s.steps));
    p.Int(static_cast<int64_t>(id));
    return p;
  };
  for (const engine::WorkflowRecord& w : batch.workflow_inserts) {
    add("INSERT INTO workflow_status (state, updated_ms, finished_ms, message, steps, id) VALUES "
        "($1, $2, $3, $4, $5, $6)",
        workflow_status(w.id, w.status), "insert workflow status " + std::to_string(w.id));
  }
  for (const engine::WorkflowUpdate& u : batch.workflow_updates) {
    const std::string what = "update workflow " + std::to_string(u.id);
    add(Expecting("UPDATE workflow_status SET state = $1, updated_ms = $2, finished_ms = $3, "
                  "message = $4, steps = $5 WHERE id = $6",
                  "id", "ARRAY[$6::bigint]", "workflow"),
        workflow_status(u.id, u.status), what);
  }
  if (!batch.job_deletes.empty()) {
    PgArrays ids(1);
    for (JobId id : batch.job_deletes) {
      ids.Row();
      ids.Int(static_cast<int64_t>(id));
    }
    for (const char* sql : {"DELETE FROM jobs WHERE id = ANY($1::bigint[])",
                            "DELETE FROM job_status WHERE id = ANY($1::bigint[])",
                            "DELETE FROM attempts WHERE job_id = ANY($1::bigint[])"}) {
      add(sql, ids.Params(), "delete finished jobs");
    }
  }
  if (batch.events_before != 0) {
    // The batches below go; the one that straddles the line is written again with what it keeps.
    PgParams p;
    p.Int(static_cast<int64_t>(batch.events_before));
    add("WITH old AS (DELETE FROM event_batches WHERE first_seq < $1 RETURNING *), "
        "kept AS (SELECT e.* FROM old, " +
            UnnestEvents("old") + " WHERE e.seq >= $1) INSERT INTO event_batches (" +
            rows::JoinColumns(rows::kEventColumns, "", "") +
            ", first_seq, last_seq, last_at_ms) SELECT " + AggregateEvents() +
            ", min(seq), max(seq), max(at_ms) FROM kept HAVING count(*) > 0",
        std::move(p), "delete events");
  }
  for (const engine::ScheduleRecord& r : batch.schedules) {
    PgParams p;
    if (r.deleted) {
      p.Text(r.name);
      add("DELETE FROM schedules WHERE name = $1", std::move(p), "delete schedule " + r.name);
      continue;
    }
    rows::WriteSchedule(p, r);
    add(std::string("INSERT INTO schedules (") + rows::kScheduleColumns +
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (name) DO "
            "UPDATE SET owner = excluded.owner, cron = excluded.cron, time_zone = "
            "excluded.time_zone, catch_up = excluded.catch_up, job = excluded.job, paused = "
            "excluded.paused, created_ms = excluded.created_ms, last_tick_ms = "
            "excluded.last_tick_ms, jobs_created = excluded.jobs_created, last_job_id = "
            "excluded.last_job_id, last_error = excluded.last_error",
        std::move(p), "write schedule " + r.name);
  }
  for (const auto& [type, paused] : batch.type_pauses) {
    PgParams p;
    p.Text(type);
    add(paused ? "INSERT INTO paused_types (type) VALUES ($1) ON CONFLICT DO NOTHING"
               : "DELETE FROM paused_types WHERE type = $1",
        std::move(p), "pause type " + type);
  }
}

Status PostgresStore::Apply(const engine::RecordBatch& batch) {
  if (batch.empty()) return Status::Ok();
  std::vector<PgQuery> queries;
  if (fence_epoch_ != 0) {
    PgParams p;
    p.Int(fence_epoch_);
    queries.push_back(PgQuery{"SELECT baton_fence($1)", std::move(p), "commit"});
  }
  AddWrites(batch, queries);
  return conn_->Run(queries).status();
}

Result<engine::RecoveredState> PostgresStore::Recover(int64_t keys_since_ms) {
  std::vector<PgQuery> q;
  auto add = [&](std::string sql, PgParams params, std::string what) {
    q.push_back(PgQuery{std::move(sql), std::move(params), std::move(what)});
  };
  // One snapshot for every read.
  add("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, "begin recovery");
  add(std::string("SELECT ") + rows::kScheduleColumns + " FROM schedules ORDER BY name", {},
      "recover schedules");
  add("SELECT type FROM paused_types ORDER BY type", {}, "recover paused types");
  add(std::string(rows::kSelectWorkflow) + "WHERE s.state = 'running'", {}, "recover workflows");
  add("SELECT coalesce(max(id), 0) FROM workflows", {}, "recover workflow ids");
  for (const char* where : rows::kRecoverJobsWhere) {
    add(rows::SelectJobs(where), {}, "recover jobs");
  }
  PgParams since;
  since.Int(keys_since_ms);
  add("SELECT owner, idempotency_key, id, created_ms FROM jobs WHERE idempotency_key IS NOT NULL "
      "AND created_ms > $1",
      std::move(since), "recover idempotency keys");
  add("SELECT (SELECT coalesce(max(id), 0) FROM jobs), (SELECT coalesce(max(id), 0) FROM "
      "attempts), coalesce(" +
          std::string(kLastEventSeq) + ", 0)",
      {}, "recover ids");
  add("COMMIT", {}, "end recovery");
  Result<std::vector<PgRows>> answers = conn_->Run(q);
  if (!answers.ok()) return answers.status();
  std::vector<PgRows>& a = *answers;
  engine::RecoveredState out;
  for (int i = 0; i < a[1].size(); ++i) {
    Result<engine::ScheduleRecord> r = rows::ReadSchedule(a[1].At(i));
    if (!r.ok()) return r.status();
    out.schedules.push_back(std::move(*r));
  }
  for (int i = 0; i < a[2].size(); ++i) out.paused_types.push_back(a[2].At(i).Text(0));
  for (int i = 0; i < a[3].size(); ++i) {
    Result<engine::WorkflowRecord> w = rows::ReadWorkflow(a[3].At(i));
    if (!w.ok()) return w.status();
    out.workflows.push_back(std::move(*w));
  }
  out.workflow_id_max = static_cast<engine::WorkflowId>(a[4].At(0).Int(0));
  for (size_t k : {size_t{5}, size_t{6}}) {
    for (int i = 0; i < a[k].size(); ++i) {
      Result<JobRecord> job = rows::ReadJob(a[k].At(i));
      if (!job.ok()) return job.status();
      out.attempt_id_max = std::max(out.attempt_id_max, job->status.attempt_id);
      out.jobs.push_back(std::move(*job));
    }
  }
  for (int i = 0; i < a[7].size(); ++i) {
    PgRows& r = a[7].At(i);
    out.keys.push_back(
        engine::IdempotencyKey{r.Text(0), r.Text(1), static_cast<JobId>(r.Int(2)), r.Int(3)});
  }
  PgRows& ids = a[8].At(0);
  out.job_id_max = static_cast<JobId>(ids.Int(0));
  out.attempt_id_max = std::max(out.attempt_id_max, static_cast<engine::AttemptId>(ids.Int(1)));
  out.event_seq_max = static_cast<engine::EventSeq>(ids.Int(2));
  return out;
}

Result<JobRecord> PostgresStore::GetJob(JobId id) {
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  Result<PgRows> r = conn_->Query(rows::SelectJobs("WHERE j.id = $1"), std::move(p), "get job");
  if (!r.ok()) return r.status();
  if (r->size() == 0) return NotFound("job " + std::to_string(id) + ": not found");
  return rows::ReadJob(r->At(0));
}

Result<std::vector<engine::AttemptRecord>> PostgresStore::ListAttempts(JobId id) {
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  Result<PgRows> r = conn_->Query("SELECT " + rows::JoinColumns(rows::kAttemptColumns, "", "") +
                                      " FROM attempts WHERE job_id = $1 ORDER BY id",
                                  std::move(p), "list attempts");
  if (!r.ok()) return r.status();
  std::vector<engine::AttemptRecord> out;
  for (int i = 0; i < r->size(); ++i) {
    Result<engine::AttemptRecord> a = rows::ReadAttempt(r->At(i));
    if (!a.ok()) return a.status();
    out.push_back(std::move(*a));
  }
  return out;
}

Result<std::vector<engine::Event>> PostgresStore::ListEvents(const EventQuery& q) {
  // The batches from the one that holds `after` + 1 on, in order, and their events. For one job
  // or workflow (a few events of many) only the fields that filter are unnested, the others
  // taken by position for the events that pass: a third of the time of unnesting them all.
  std::string sql;
  if (q.job_id != 0 || q.workflow_id != 0) {
    sql = "SELECT " + EventColumnsByPosition() +
          " FROM event_batches b CROSS JOIN LATERAL unnest(b.seq, b.job_id, b.workflow_id) WITH "
          "ORDINALITY AS e(seq, job_id, workflow_id, i)";
  } else {
    sql = "SELECT " + rows::JoinColumns(rows::kEventColumns, "e.", "") +
          " FROM event_batches b CROSS JOIN LATERAL " + UnnestEvents("b");
  }
  // A workflow's own events name no job: their owner is the workflow's.
  if (!q.owner.empty()) {
    sql += " LEFT JOIN jobs j ON j.id = e.job_id LEFT JOIN workflows w ON w.id = e.workflow_id";
  }
  PgParams p;
  sql +=
      " WHERE b.first_seq >= coalesce((SELECT max(first_seq) FROM event_batches WHERE first_seq "
      "<= ?), 0) AND e.seq > ?";
  p.Int(static_cast<int64_t>(q.after));
  p.Int(static_cast<int64_t>(q.after));
  if (q.through != 0) {
    sql += " AND b.first_seq <= ? AND e.seq <= ?";
    p.Int(static_cast<int64_t>(q.through));
    p.Int(static_cast<int64_t>(q.through));
  }
  if (q.job_id != 0) {
    sql += " AND e.job_id = ?";
    p.Int(static_cast<int64_t>(q.job_id));
  }
  if (q.workflow_id != 0) {
    sql += " AND e.workflow_id = ?";
    p.Int(static_cast<int64_t>(q.workflow_id));
  }
  if (!q.owner.empty()) {
    sql +=
        " AND (coalesce(j.owner, w.owner) = ? OR (coalesce(j.owner, w.owner) > ? AND "
        "coalesce(j.owner, w.owner) < ?))";
    p.Text(q.owner);
    p.OwnedText(q.owner + "/");
    p.OwnedText(q.owner + "0");
  }
  sql += " ORDER BY b.first_seq, e.seq LIMIT ?";
  p.Int(static_cast<int64_t>(q.limit));
  Result<PgRows> r = conn_->Query(PgNumbered(sql), std::move(p), "list events");
  if (!r.ok()) return r.status();
  std::vector<engine::Event> out;
  out.reserve(static_cast<size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    Result<engine::Event> e = rows::ReadEvent(r->At(i));
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<JobPage> PostgresStore::ListJobs(const JobQuery& q) {
  JobPage page;
  int64_t top = static_cast<int64_t>(q.before);
  if (top == 0) {
    Result<PgRows> max = conn_->Query("SELECT coalesce(max(id), 0) FROM jobs", {}, "newest job");
    if (!max.ok()) return max.status();
    top = max->At(0).Int(0) + 1;
  }
  const int64_t floor = rows::PageFloor(q, top);
  PgParams p;
  std::string where = "WHERE j.id < ? AND j.id >= ?";
  p.Int(top);
  p.Int(floor);
  if (q.parent_id != 0) {
    where += " AND j.parent_id = ? AND j.parent_id != 0";
    p.Int(static_cast<int64_t>(q.parent_id));
  }
  // The account and its end users: "webapp", then "webapp/..." (a range: '/' + 1 is '0').
  if (!q.owner.empty()) {
    where += " AND (j.owner = ? OR (j.owner > ? AND j.owner < ?))";
    p.Text(q.owner);
    p.OwnedText(q.owner + "/");
    p.OwnedText(q.owner + "0");
  }
  if (!q.type.empty()) {
    where += " AND j.type = ?";
    p.Text(q.type);
  }
  if (q.state) {
    where += " AND s.state = ?";
    p.Text(engine::JobStateName(*q.state));
  }
  where += " ORDER BY j.id DESC LIMIT ?";
  p.Int(static_cast<int64_t>(q.limit));
  Result<PgRows> r = conn_->Query(PgNumbered(rows::SelectJobs(where)), std::move(p), "list jobs");
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->size(); ++i) {
    Result<JobRecord> job = rows::ReadJob(r->At(i));
    if (!job.ok()) return job.status();
    page.jobs.push_back(std::move(*job));
  }
  rows::SetNextPage(page, q, floor);
  return page;
}

Result<std::array<uint64_t, engine::kJobStateCount>> PostgresStore::CountChildren(JobId parent) {
  PgParams p;
  p.Int(static_cast<int64_t>(parent));
  Result<PgRows> r = conn_->Query(PgNumbered(rows::kCountChildren), std::move(p), "count sub-jobs");
  if (!r.ok()) return r.status();
  std::array<uint64_t, engine::kJobStateCount> out{};
  for (int i = 0; i < r->size(); ++i) {
    PgRows& row = r->At(i);
    auto state = engine::ParseJobState(row.Text(0));
    if (!state) return DataLoss("count sub-jobs: unknown state " + row.Text(0));
    out[static_cast<size_t>(*state)] = static_cast<uint64_t>(row.Int(1));
  }
  return out;
}

Result<engine::WorkflowRecord> PostgresStore::GetWorkflow(engine::WorkflowId id) {
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  Result<PgRows> r = conn_->Query(std::string(rows::kSelectWorkflow) + "WHERE w.id = $1",
                                  std::move(p), "get workflow");
  if (!r.ok()) return r.status();
  if (r->size() == 0) return NotFound("workflow " + std::to_string(id) + ": not found");
  return rows::ReadWorkflow(r->At(0));
}

Result<std::vector<FinishedJob>> PostgresStore::ListFinished(JobId after, size_t limit) {
  PgParams p;
  p.Int(static_cast<int64_t>(after));
  p.Int(static_cast<int64_t>(limit));
  Result<PgRows> r =
      conn_->Query(PgNumbered(rows::kSelectFinished), std::move(p), "list finished jobs");
  if (!r.ok()) return r.status();
  std::vector<FinishedJob> out;
  for (int i = 0; i < r->size(); ++i) {
    PgRows& q = r->At(i);
    out.push_back(FinishedJob{static_cast<JobId>(q.Int(0)), q.Text(1), q.Text(2), q.Text(3),
                              q.Text(4), q.Int(5), q.Int(6), q.Int(7) != 0});
  }
  return out;
}

Result<engine::EventSeq> PostgresStore::FirstEventAt(int64_t at_ms) {
  // Sequence numbers and times rise together: the first batch whose newest event is that late
  // holds the first event that is; none is, the next number.
  PgParams p;
  p.Int(at_ms);
  Result<PgRows> r = conn_->Query(
      "SELECT coalesce((SELECT min(e.seq) FROM (SELECT seq, at_ms FROM event_batches WHERE "
      "last_at_ms >= $1 ORDER BY last_at_ms, first_seq LIMIT 1) b, unnest(b.seq, b.at_ms) AS "
      "e(seq, at_ms) WHERE e.at_ms >= $1), " +
          std::string(kLastEventSeq) + " + 1, 1)",
      std::move(p), "first event at a time");
  if (!r.ok()) return r.status();
  return static_cast<engine::EventSeq>(r->At(0).Int(0));
}

Result<bool> PostgresStore::InputDirInUse(const std::string& input_dir) {
  PgParams p;
  p.Text(input_dir);
  Result<PgRows> r =
      conn_->Query("SELECT 1 FROM jobs WHERE input_dir = $1 AND input_dir != '' LIMIT 1",
                   std::move(p), "find an input dir");
  if (!r.ok()) return r.status();
  return r->size() > 0;
}

Status PostgresStore::IntegrityCheck() {
  Result<PgRows> r = conn_->Query(
      "SELECT (SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM job_status s WHERE "
      "s.id = j.id)), (SELECT count(*) FROM job_status s WHERE NOT EXISTS (SELECT 1 FROM jobs j "
      "WHERE j.id = s.id))",
      {}, "integrity check");
  if (!r.ok()) return r.status();
  const int64_t no_status = r->At(0).Int(0), no_job = r->At(0).Int(1);
  if (no_status != 0 || no_job != 0) {
    return DataLoss("integrity check: " + std::to_string(no_status) +
                    " jobs without a status row, " + std::to_string(no_job) +
                    " status rows without a job");
  }
  return Status::Ok();
}

}  // namespace baton::store
