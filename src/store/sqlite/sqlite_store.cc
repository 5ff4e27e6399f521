#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>

#include "common/clock.h"
#include "store/migrations.h"
#include "store/row_codec.h"

namespace baton::store {

using engine::AttemptRecord;
using engine::Event;
using engine::JobId;
using engine::JobRecord;

namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  m += " (sqlite code " + std::to_string(rc) + ")";
  const int primary = rc & 0xff;
  if (primary == SQLITE_FULL) return Unavailable("the disk is full: " + m);
  if (primary == SQLITE_IOERR || primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
      primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY) {
    return Unavailable(std::move(m));
  }
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return DataLoss(std::move(m));
  return Internal(std::move(m));
}

std::string Placeholders(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// "(?, ?), (?, ?)" for `rows` rows of `columns` parameters.
std::string RowsOfPlaceholders(int rows, int columns) {
  std::string one = "(" + Placeholders(columns) + ")";
  std::string out;
  for (int r = 0; r < rows; ++r) {
    if (r) out += ", ";
    out += one;
  }
  return out;
}

// Rows per multi-row INSERT: fewer statements per commit, far below SQLite's parameter limit.
constexpr size_t kRowsPerStatement = 64;

}  // namespace

// A prepared statement, kept for the life of the store.
class SqliteStore::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }

  static Result<std::unique_ptr<Statement>> Make(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare " + sql.substr(0, 60));
    return std::make_unique<Statement>(db, stmt);
  }

  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  // Binds a copy, for text that does not outlive the statement's next run.
  void BindCopy(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }

  // Runs a statement that returns no rows.
  Status Run(std::string_view what) {
    int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, what);
    return Status::Ok();
  }
  // Steps a query: true with a row, false at the end; an error ends it too.
  Result<bool> Step(std::string_view what) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    sqlite3_reset(stmt_);
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, what);
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

namespace {

using Stmt = SqliteStore::Statement;

// Binds a row's columns from parameter `i` on (a Writer of row_codec.h).
struct Binder {
  Stmt& st;
  int i;
  void Int(int64_t v) { st.Bind(i++, v); }
  void Real(double v) { st.Bind(i++, v); }
  void Text(std::string_view v) { st.Bind(i++, v); }
  void OwnedText(const std::string& v) { st.BindCopy(i++, v); }
  void Null() { st.BindNull(i++); }
};

// A row codec's writer as WriteRows binds rows: from parameter `i`, returning the next free one.
template <typename T, void (*Write)(Binder&, const T&)>
int Bind(Stmt& st, int i, const T& row) {
  Binder b{st, i};
  Write(b, row);
  return b.i;
}

// Writes `rows` with the multi-row statement while whole chunks remain, then one row at a time.
template <typename T, typename BindRow>
Status WriteRows(Stmt& one, Stmt& many, const std::vector<T>& rows, BindRow bind,
                 std::string_view what) {
  size_t i = 0;
  for (; i + kRowsPerStatement <= rows.size(); i += kRowsPerStatement) {
    int p = 1;
    for (size_t k = 0; k < kRowsPerStatement; ++k) p = bind(many, p, rows[i + k]);
    BATON_RETURN_IF_ERROR(many.Run(what));
  }
  for (; i < rows.size(); ++i) {
    bind(one, 1, rows[i]);
    BATON_RETURN_IF_ERROR(one.Run(what));
  }
  return Status::Ok();
}

}  // namespace

SqliteStore::SqliteStore(sqlite3* db) : db_(db) {}

SqliteStore::~SqliteStore() {
  insert_job_.reset();
  insert_jobs_.reset();
  insert_status_.reset();
  insert_statuses_.reset();
  update_job_.reset();
  upsert_attempt_.reset();
  upsert_attempts_.reset();
  insert_event_.reset();
  insert_events_.reset();
  get_job_.reset();
  list_attempts_.reset();
  insert_workflow_.reset();
  insert_workflow_status_.reset();
  update_workflow_status_.reset();
  begin_.reset();
  commit_.reset();
  rollback_.reset();
  sqlite3_close_v2(db_);
}

Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status s = SqliteError(nullptr, rc, std::string("exec: ") + m);
    return s;
  }
  return Status::Ok();
}

Status SqliteStore::CheckOptions(const DatabaseOptions& options) {
  const std::string& sync = options.synchronous;
  if (sync != "FULL" && sync != "NORMAL" && sync != "OFF" && sync != "EXTRA") {
    return InvalidArgument("synchronous: must be FULL, NORMAL, EXTRA or OFF, got \"" + sync + "\"");
  }
  return Status::Ok();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const DatabaseOptions& options) {
  BATON_RETURN_IF_ERROR(CheckOptions(options));
  const std::string& sync = options.synchronous;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + sync +
                              "; PRAGMA cache_size=-" + std::to_string(options.cache_size_kib) +
                              "; PRAGMA temp_store=MEMORY;";
  BATON_RETURN_IF_ERROR(store->Exec(pragmas.c_str()).WithContext("open " + path));
  BATON_RETURN_IF_ERROR(store->Migrate().WithContext("migrate " + path));
  BATON_RETURN_IF_ERROR(store->Prepare().WithContext("open " + path));
  return store;
}

Status SqliteStore::Migrate() {
  BATON_RETURN_IF_ERROR(
      Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
           "name TEXT NOT NULL, applied_ms INTEGER NOT NULL)"));
  Result<int> current = SchemaVersion();
  if (!current.ok()) return current.status();
  const int latest = SqliteMigrations().back().version;
  if (*current > latest) {
    return FailedPrecondition("the database has schema version " + std::to_string(*current) +
                              ", newer than this baton knows (" + std::to_string(latest) +
                              "); run a newer baton");
  }
  for (const Migration& m : SqliteMigrations()) {
    if (m.version <= *current) continue;
    BATON_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = Exec(m.sql);
    if (s.ok()) {
      Result<std::unique_ptr<Statement>> rec = Statement::Make(
          db_, "INSERT INTO schema_migrations(version, name, applied_ms) VALUES (?, ?, ?)");
      if (!rec.ok()) {
        s = rec.status();
      } else {
        (*rec)->Bind(1, static_cast<int64_t>(m.version));
        (*rec)->Bind(2, std::string_view(m.name));
        (*rec)->Bind(3, WallClockMs());
        s = (*rec)->Run("record migration");
      }
    }
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s.WithContext("migration " + std::to_string(m.version) + " (" + m.name + ")");
    }
  }
  return Status::Ok();
}

Result<int> SqliteStore::SchemaVersion() {
  Result<std::unique_ptr<Statement>> st =
      Statement::Make(db_, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!st.ok()) return st.status();
  Result<bool> row = (*st)->Step("schema version");
  if (!row.ok()) return row.status();
  int v = static_cast<int>((*st)->Int(0));
  (*st)->Reset();
  return v;
}

Result<bool> SqliteStore::InputDirInUse(const std::string& input_dir) {
  Result<std::unique_ptr<Statement>> st =
      Statement::Make(db_, "SELECT 1 FROM jobs WHERE input_dir = ? AND input_dir != '' LIMIT 1");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, std::string_view(input_dir));
  return (*st)->Step("find an input dir");
}

Status SqliteStore::Prepare() {
  struct Item {
    std::unique_ptr<Statement>* slot;
    std::string sql;
  };
  const std::string update_sql = "UPDATE job_status SET " +
                                 rows::JoinColumns(rows::kJobStatusColumns, "", " = ?") +
                                 " WHERE id = ?";
  const std::string kInsertJobs =
      "INSERT INTO jobs (" + rows::JoinColumns(rows::kJobSpecColumns, "", "") + ") VALUES ";
  const std::string kInsertStatus = "INSERT INTO job_status (id, " +
                                    rows::JoinColumns(rows::kJobStatusColumns, "", "") +
                                    ") VALUES ";
  const std::string kInsertAttempts =
      "INSERT INTO attempts (" + rows::JoinColumns(rows::kAttemptColumns, "", "") + ") VALUES ";
  const std::string kUpsertAttempts =
      " ON CONFLICT (id) DO UPDATE SET ended_ms = excluded.ended_ms, outcome = excluded.outcome, "
      "error = excluded.error, result = excluded.result";
  const std::string kInsertEvents =
      "INSERT INTO events (" + rows::JoinColumns(rows::kEventColumns, "", "") + ") VALUES ";
  const Item items[] = {
      {&insert_job_, kInsertJobs + RowsOfPlaceholders(1, rows::kJobSpecCount)},
      {&insert_jobs_, kInsertJobs + RowsOfPlaceholders(kRowsPerStatement, rows::kJobSpecCount)},
      {&insert_status_, kInsertStatus + RowsOfPlaceholders(1, 1 + rows::kJobStatusCount)},
      {&insert_statuses_,
       kInsertStatus + RowsOfPlaceholders(kRowsPerStatement, 1 + rows::kJobStatusCount)},
      {&update_job_, update_sql},
      {&upsert_attempt_,
       kInsertAttempts + RowsOfPlaceholders(1, rows::kAttemptCount) + kUpsertAttempts},
      {&upsert_attempts_, kInsertAttempts +
                              RowsOfPlaceholders(kRowsPerStatement, rows::kAttemptCount) +
                              kUpsertAttempts},
      {&insert_event_, kInsertEvents + RowsOfPlaceholders(1, rows::kEventCount)},
      {&insert_events_, kInsertEvents + RowsOfPlaceholders(kRowsPerStatement, rows::kEventCount)},
      {&get_job_, rows::SelectJobs("WHERE j.id = ?")},
      {&list_attempts_, "SELECT " + rows::JoinColumns(rows::kAttemptColumns, "", "") +
                            " FROM attempts WHERE job_id = ? ORDER BY id"},
      {&insert_workflow_,
       "INSERT INTO workflows (id, owner, name, document, created_ms) VALUES (?, ?, ?, ?, ?)"},
      {&insert_workflow_status_,
       "INSERT INTO workflow_status (state, updated_ms, finished_ms, message, steps, id) "
       "VALUES (?, ?, ?, ?, ?, ?)"},
      {&update_workflow_status_,
       "UPDATE workflow_status SET state = ?, updated_ms = ?, finished_ms = ?, message = ?, "
       "steps = ? WHERE id = ?"},
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
  };
  for (const Item& item : items) {
    Result<std::unique_ptr<Statement>> st = Statement::Make(db_, item.sql);
    if (!st.ok()) return st.status();
    *item.slot = std::move(*st);
  }
  return Status::Ok();
}

Status SqliteStore::Apply(const engine::RecordBatch& batch) {
  if (batch.empty()) return Status::Ok();
  BATON_RETURN_IF_ERROR(begin_->Run("begin"));
  auto body = [&]() -> Status {
    BATON_RETURN_IF_ERROR(WriteRows(*insert_job_, *insert_jobs_, batch.inserts,
                                    Bind<JobRecord, rows::WriteJobSpec<Binder>>, "insert job"));
    BATON_RETURN_IF_ERROR(WriteRows(*insert_status_, *insert_statuses_, batch.inserts,
                                    Bind<JobRecord, rows::WriteJobStatus<Binder>>,
                                    "insert job status"));
    for (const engine::JobUpdate& u : batch.updates) {
      Stmt& st = *update_job_;
      Binder b{st, 1};
      rows::WriteStatus(b, u.status);
      b.Int(static_cast<int64_t>(u.id));
      BATON_RETURN_IF_ERROR(st.Run("update job " + std::to_string(u.id)));
      if (sqlite3_changes(db_) != 1) {
        return Internal("update job " + std::to_string(u.id) + ": no such job");
      }
    }
    BATON_RETURN_IF_ERROR(WriteRows(*upsert_attempt_, *upsert_attempts_, batch.attempts,
                                    Bind<AttemptRecord, rows::WriteAttempt<Binder>>,
                                    "upsert attempt"));
    BATON_RETURN_IF_ERROR(WriteRows(*insert_event_, *insert_events_, batch.events,
                                    Bind<Event, rows::WriteEvent<Binder>>, "insert event"));
    for (const engine::WorkflowRecord& w : batch.workflow_inserts) {
      Stmt& st = *insert_workflow_;
      st.Bind(1, static_cast<int64_t>(w.id));
      st.Bind(2, w.owner);
      st.Bind(3, w.name);
      st.Bind(4, w.document);
      st.Bind(5, w.created_ms);
      BATON_RETURN_IF_ERROR(st.Run("insert workflow " + std::to_string(w.id)));
      BATON_RETURN_IF_ERROR(WriteWorkflowStatus(*insert_workflow_status_, w.id, w.status));
    }
    for (const engine::WorkflowUpdate& u : batch.workflow_updates) {
      BATON_RETURN_IF_ERROR(WriteWorkflowStatus(*update_workflow_status_, u.id, u.status));
      if (sqlite3_changes(db_) != 1) {
        return Internal("update workflow " + std::to_string(u.id) + ": no such workflow");
      }
    }
    BATON_RETURN_IF_ERROR(WriteOperations(batch));
    return commit_->Run("commit");
  };
  Status s = body();
  if (!s.ok()) {
    // A failed COMMIT may have rolled back already; ROLLBACK then reports "no transaction".
    if (!sqlite3_get_autocommit(db_)) (void)rollback_->Run("rollback");
  }
  return s;
}

Status SqliteStore::WriteWorkflowStatus(Statement& st, engine::WorkflowId id,
                                        const engine::WorkflowStatus& s) {
  st.Bind(1, engine::WorkflowStateName(s.state));
  st.Bind(2, s.updated_ms);
  st.Bind(3, s.finished_ms);
  st.Bind(4, s.message);
  st.BindCopy(5, EncodeSteps(s.steps));
  st.Bind(6, static_cast<int64_t>(id));
  return st.Run("write workflow " + std::to_string(id));
}

Result<engine::WorkflowRecord> SqliteStore::GetWorkflow(engine::WorkflowId id) {
  Result<std::unique_ptr<Statement>> st =
      Statement::Make(db_, std::string(rows::kSelectWorkflow) + "WHERE w.id = ?");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, static_cast<int64_t>(id));
  Result<bool> row = (*st)->Step("get workflow");
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("workflow " + std::to_string(id) + ": not found");
  return rows::ReadWorkflow(**st);
}

// Retention deletes, schedules and paused types are few per batch: plain statements, prepared
// per batch.
Status SqliteStore::WriteOperations(const engine::RecordBatch& batch) {
  // Retention deletes: by primary key, and events by a range of the primary key.
  if (!batch.job_deletes.empty()) {
    for (const char* sql : {"DELETE FROM jobs WHERE id = ?", "DELETE FROM job_status WHERE id = ?",
                            "DELETE FROM attempts WHERE job_id = ?"}) {
      Result<std::unique_ptr<Statement>> st = Statement::Make(db_, sql);
      if (!st.ok()) return st.status();
      for (engine::JobId id : batch.job_deletes) {
        (*st)->Reset();
        (*st)->Bind(1, static_cast<int64_t>(id));
        BATON_RETURN_IF_ERROR((*st)->Run("delete job " + std::to_string(id)));
      }
    }
  }
  if (batch.events_before != 0) {
    Result<std::unique_ptr<Statement>> st =
        Statement::Make(db_, "DELETE FROM events WHERE seq < ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, static_cast<int64_t>(batch.events_before));
    BATON_RETURN_IF_ERROR((*st)->Run("delete events"));
  }
  if (batch.schedules.empty() && batch.type_pauses.empty()) return Status::Ok();
  for (const engine::ScheduleRecord& r : batch.schedules) {
    if (r.deleted) {
      Result<std::unique_ptr<Statement>> st =
          Statement::Make(db_, "DELETE FROM schedules WHERE name = ?");
      if (!st.ok()) return st.status();
      (*st)->Bind(1, r.name);
      BATON_RETURN_IF_ERROR((*st)->Run("delete schedule " + r.name));
      continue;
    }
    Result<std::unique_ptr<Statement>> st = Statement::Make(
        db_, std::string("INSERT OR REPLACE INTO schedules (") + rows::kScheduleColumns +
                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return st.status();
    Statement& q = **st;
    Binder b{q, 1};
    rows::WriteSchedule(b, r);
    BATON_RETURN_IF_ERROR(q.Run("write schedule " + r.name));
  }
  for (const auto& [type, paused] : batch.type_pauses) {
    Result<std::unique_ptr<Statement>> st =
        Statement::Make(db_, paused ? "INSERT OR IGNORE INTO paused_types (type) VALUES (?)"
                                    : "DELETE FROM paused_types WHERE type = ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, type);
    BATON_RETURN_IF_ERROR((*st)->Run("pause type " + type));
  }
  return Status::Ok();
}

Result<engine::RecoveredState> SqliteStore::Recover(int64_t keys_since_ms) {
  engine::RecoveredState out;
  {
    Result<std::unique_ptr<Statement>> st = Statement::Make(
        db_, std::string("SELECT ") + rows::kScheduleColumns + " FROM schedules ORDER BY name");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = (*st)->Step("recover schedules");
      if (!row.ok()) return row.status();
      if (!*row) break;
      Result<engine::ScheduleRecord> r = rows::ReadSchedule(**st);
      if (!r.ok()) return r.status();
      out.schedules.push_back(std::move(*r));
    }
    Result<std::unique_ptr<Statement>> paused =
        Statement::Make(db_, "SELECT type FROM paused_types ORDER BY type");
    if (!paused.ok()) return paused.status();
    for (;;) {
      Result<bool> row = (*paused)->Step("recover paused types");
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.paused_types.push_back((*paused)->Text(0));
    }
  }
  {
    Result<std::unique_ptr<Statement>> st =
        Statement::Make(db_, std::string(rows::kSelectWorkflow) + "WHERE s.state = 'running'");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = (*st)->Step("recover workflows");
      if (!row.ok()) return row.status();
      if (!*row) break;
      Result<engine::WorkflowRecord> w = rows::ReadWorkflow(**st);
      if (!w.ok()) return w.status();
      out.workflows.push_back(std::move(*w));
    }
    Result<std::unique_ptr<Statement>> max =
        Statement::Make(db_, "SELECT coalesce(max(id), 0) FROM workflows");
    if (!max.ok()) return max.status();
    Result<bool> row = (*max)->Step("recover workflow ids");
    if (!row.ok()) return row.status();
    out.workflow_id_max = static_cast<engine::WorkflowId>((*max)->Int(0));
    (*max)->Reset();
  }
  for (const char* where : rows::kRecoverJobsWhere) {
    Result<std::unique_ptr<Statement>> st = Statement::Make(db_, rows::SelectJobs(where));
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = (*st)->Step("recover jobs");
      if (!row.ok()) return row.status();
      if (!*row) break;
      Result<JobRecord> job = rows::ReadJob(**st);
      if (!job.ok()) return job.status();
      out.attempt_id_max = std::max(out.attempt_id_max, job->status.attempt_id);
      out.jobs.push_back(std::move(*job));
    }
  }
  {
    Result<std::unique_ptr<Statement>> st =
        Statement::Make(db_,
                        "SELECT owner, idempotency_key, id, created_ms FROM jobs "
                        "WHERE idempotency_key IS NOT NULL AND created_ms > ?");
    if (!st.ok()) return st.status();
    (*st)->Bind(1, keys_since_ms);
    for (;;) {
      Result<bool> row = (*st)->Step("recover idempotency keys");
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.keys.push_back(engine::IdempotencyKey{(*st)->Text(0), (*st)->Text(1),
                                                static_cast<JobId>((*st)->Int(2)), (*st)->Int(3)});
    }
  }
  {
    Result<std::unique_ptr<Statement>> st = Statement::Make(
        db_,
        "SELECT (SELECT coalesce(max(id), 0) FROM jobs), "
        "(SELECT coalesce(max(id), 0) FROM attempts), (SELECT coalesce(max(seq), 0) FROM events)");
    if (!st.ok()) return st.status();
    Result<bool> row = (*st)->Step("recover ids");
    if (!row.ok()) return row.status();
    out.job_id_max = static_cast<JobId>((*st)->Int(0));
    out.attempt_id_max =
        std::max(out.attempt_id_max, static_cast<engine::AttemptId>((*st)->Int(1)));
    out.event_seq_max = static_cast<engine::EventSeq>((*st)->Int(2));
    (*st)->Reset();
  }
  return out;
}

Result<JobRecord> SqliteStore::GetJob(JobId id) {
  Stmt& st = *get_job_;
  st.Bind(1, static_cast<int64_t>(id));
  Result<bool> row = st.Step("get job");
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("job " + std::to_string(id) + ": not found");
  Result<JobRecord> job = rows::ReadJob(st);
  st.Reset();
  return job;
}

Result<std::vector<AttemptRecord>> SqliteStore::ListAttempts(JobId id) {
  Stmt& s = *list_attempts_;
  s.Bind(1, static_cast<int64_t>(id));
  std::vector<AttemptRecord> out;
  for (;;) {
    Result<bool> row = s.Step("list attempts");
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<AttemptRecord> a = rows::ReadAttempt(s);
    if (!a.ok()) {
      s.Reset();
      return a.status();
    }
    out.push_back(std::move(*a));
  }
  return out;
}

Result<std::vector<Event>> SqliteStore::ListEvents(const EventQuery& q) {
  std::string sql = "SELECT " + rows::JoinColumns(rows::kEventColumns, "e.", "") + " FROM events e";
  // A workflow's own events name no job: their owner is the workflow's.
  if (!q.owner.empty()) {
    sql += " LEFT JOIN jobs j ON j.id = e.job_id LEFT JOIN workflows w ON w.id = e.workflow_id";
  }
  sql += " WHERE e.seq > ?";
  if (q.through != 0) sql += " AND e.seq <= ?";
  if (q.job_id != 0) sql += " AND e.job_id = ?";
  if (q.workflow_id != 0) sql += " AND e.workflow_id = ?";
  if (!q.owner.empty()) {
    sql +=
        " AND (coalesce(j.owner, w.owner) = ? OR (coalesce(j.owner, w.owner) > ? AND "
        "coalesce(j.owner, w.owner) < ?))";
  }
  sql += " ORDER BY e.seq LIMIT ?";
  Result<std::unique_ptr<Statement>> st = Statement::Make(db_, sql);
  if (!st.ok()) return st.status();
  int i = 1;
  (*st)->Bind(i++, static_cast<int64_t>(q.after));
  if (q.through != 0) (*st)->Bind(i++, static_cast<int64_t>(q.through));
  if (q.job_id != 0) (*st)->Bind(i++, static_cast<int64_t>(q.job_id));
  if (q.workflow_id != 0) (*st)->Bind(i++, static_cast<int64_t>(q.workflow_id));
  // (Bound without a copy: the range's ends must outlive the statement's steps.)
  const std::string account_first = q.owner + "/", account_end = q.owner + "0";
  if (!q.owner.empty()) {
    (*st)->Bind(i++, q.owner);
    (*st)->Bind(i++, account_first);
    (*st)->Bind(i++, account_end);
  }
  (*st)->Bind(i++, static_cast<int64_t>(q.limit));
  std::vector<Event> out;
  for (;;) {
    Result<bool> row = (*st)->Step("list events");
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Event> e = rows::ReadEvent(**st);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<JobPage> SqliteStore::ListJobs(const JobQuery& q) {
  JobPage page;
  int64_t top = static_cast<int64_t>(q.before);
  if (top == 0) {
    Result<std::unique_ptr<Statement>> max =
        Statement::Make(db_, "SELECT coalesce(max(id), 0) FROM jobs");
    if (!max.ok()) return max.status();
    Result<bool> row = (*max)->Step("newest job");
    if (!row.ok()) return row.status();
    top = (*max)->Int(0) + 1;
    (*max)->Reset();
  }
  const int64_t floor = rows::PageFloor(q, top);
  std::string where = "WHERE j.id < ? AND j.id >= ?";
  if (q.parent_id != 0) where += " AND j.parent_id = ? AND j.parent_id != 0";
  // The account and its end users: "webapp", then "webapp/..." (a range: '/' + 1 is '0').
  if (!q.owner.empty()) where += " AND (j.owner = ? OR (j.owner > ? AND j.owner < ?))";
  if (!q.type.empty()) where += " AND j.type = ?";
  if (q.state) where += " AND s.state = ?";
  where += " ORDER BY j.id DESC LIMIT ?";
  Result<std::unique_ptr<Statement>> st = Statement::Make(db_, rows::SelectJobs(where.c_str()));
  if (!st.ok()) return st.status();
  Stmt& s = **st;
  int i = 1;
  s.Bind(i++, top);
  s.Bind(i++, floor);
  if (q.parent_id != 0) s.Bind(i++, static_cast<int64_t>(q.parent_id));
  // (Bound without a copy: the range's ends must outlive the statement's steps.)
  const std::string account_first = q.owner + "/", account_end = q.owner + "0";
  if (!q.owner.empty()) {
    s.Bind(i++, q.owner);
    s.Bind(i++, account_first);
    s.Bind(i++, account_end);
  }
  if (!q.type.empty()) s.Bind(i++, q.type);
  if (q.state) s.Bind(i++, engine::JobStateName(*q.state));
  s.Bind(i++, static_cast<int64_t>(q.limit));
  for (;;) {
    Result<bool> row = s.Step("list jobs");
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<JobRecord> job = rows::ReadJob(s);
    if (!job.ok()) {
      s.Reset();
      return job.status();
    }
    page.jobs.push_back(std::move(*job));
  }
  rows::SetNextPage(page, q, floor);
  return page;
}

Result<std::array<uint64_t, engine::kJobStateCount>> SqliteStore::CountChildren(JobId parent) {
  Result<std::unique_ptr<Statement>> st = Statement::Make(db_, rows::kCountChildren);
  if (!st.ok()) return st.status();
  (*st)->Bind(1, static_cast<int64_t>(parent));
  std::array<uint64_t, engine::kJobStateCount> out{};
  for (;;) {
    Result<bool> row = (*st)->Step("count sub-jobs");
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto state = engine::ParseJobState((*st)->Text(0));
    if (!state) return DataLoss("count sub-jobs: unknown state " + (*st)->Text(0));
    out[static_cast<size_t>(*state)] = static_cast<uint64_t>((*st)->Int(1));
  }
  return out;
}

Status SqliteStore::IntegrityCheck() {
  Result<std::unique_ptr<Statement>> st = Statement::Make(db_, "PRAGMA integrity_check");
  if (!st.ok()) return st.status();
  Result<bool> row = (*st)->Step("integrity check");
  if (!row.ok()) return row.status();
  std::string verdict = *row ? (*st)->Text(0) : "no answer";
  (*st)->Reset();
  if (verdict != "ok") return DataLoss("integrity_check: " + verdict);
  return Status::Ok();
}

Result<std::vector<FinishedJob>> SqliteStore::ListFinished(engine::JobId after, size_t limit) {
  Result<std::unique_ptr<Statement>> st = Statement::Make(db_, rows::kSelectFinished);
  if (!st.ok()) return st.status();
  Statement& q = **st;
  q.Bind(1, static_cast<int64_t>(after));
  q.Bind(2, static_cast<int64_t>(limit));
  std::vector<FinishedJob> out;
  for (;;) {
    Result<bool> row = q.Step("list finished jobs");
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(FinishedJob{static_cast<engine::JobId>(q.Int(0)), q.Text(1), q.Text(2), q.Text(3),
                              q.Text(4), q.Int(5), q.Int(6), q.Int(7) != 0});
  }
  return out;
}

Result<engine::EventSeq> SqliteStore::FirstEventAt(int64_t at_ms) {
  // Sequence numbers and times rise together: a binary search by the primary key.
  Result<std::unique_ptr<Statement>> bounds =
      Statement::Make(db_, "SELECT coalesce(min(seq), 1), coalesce(max(seq), 0) FROM events");
  if (!bounds.ok()) return bounds.status();
  Result<bool> row = (*bounds)->Step("event bounds");
  if (!row.ok()) return row.status();
  engine::EventSeq lo = static_cast<engine::EventSeq>((*bounds)->Int(0));
  engine::EventSeq hi = static_cast<engine::EventSeq>((*bounds)->Int(1)) + 1;
  Result<std::unique_ptr<Statement>> at =
      Statement::Make(db_, "SELECT at_ms FROM events WHERE seq >= ? ORDER BY seq LIMIT 1");
  if (!at.ok()) return at.status();
  while (lo < hi) {
    const engine::EventSeq mid = lo + (hi - lo) / 2;
    (*at)->Reset();
    (*at)->Bind(1, static_cast<int64_t>(mid));
    Result<bool> found = (*at)->Step("event time");
    if (!found.ok()) return found.status();
    if (!*found || (*at)->Int(0) >= at_ms) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

}  // namespace baton::store
