#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>

#include "common/json.h"
#include "store/codec.h"

namespace baton::store {

using engine::AttemptRecord;
using engine::Event;
using engine::JobId;
using engine::JobRecord;
using engine::JobStatus;

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

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A job is two rows: its spec in `jobs`, written once, and its status in `job_status`, rewritten
// on every change. Updates then rewrite only the narrow row (measured: this split is what keeps
// durable lifecycles fast; an UPDATE of the whole 40-column row cost more than all other writes).
constexpr const char* kJobSpecColumns[] = {"id",
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
constexpr int kJobSpecCount = 38;
constexpr const char* kJobStatusColumns[] = {"state",
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
constexpr int kJobStatusCount = 22;

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

// Binds the status columns starting at parameter `first`; returns the next free one.
int BindStatus(Stmt& st, int first, const JobStatus& s, std::string_view outcome) {
  int i = first;
  st.Bind(i++, engine::JobStateName(s.state));
  st.Bind(i++, static_cast<int64_t>(s.attempts_used));
  st.Bind(i++, static_cast<int64_t>(s.attempts_started));
  st.Bind(i++, static_cast<int64_t>(s.declines));
  st.Bind(i++, static_cast<int64_t>(s.attempt_id));
  st.Bind(i++, s.worker_id);
  st.Bind(i++, s.attempt_started_ms);
  st.Bind(i++, s.lease_expires_ms);
  st.Bind(i++, s.ready_at_ms);
  st.Bind(i++, s.updated_ms);
  st.Bind(i++, s.finished_ms);
  st.Bind(i++, outcome);
  st.Bind(i++, s.progress);
  st.Bind(i++, s.progress_message);
  st.Bind(i++, s.result);
  st.Bind(i++, s.error);
  st.Bind(i++, s.declined_by);
  st.Bind(i++, static_cast<int64_t>(s.children_total));
  st.Bind(i++, static_cast<int64_t>(s.children_done));
  st.Bind(i++, static_cast<int64_t>(s.children_failed));
  st.Bind(i++, static_cast<int64_t>(s.helper_id));
  st.Bind(i++, s.outputs);
  return i;
}

// Reads a whole job row selected as "static columns, status columns".
Result<JobRecord> ReadJob(Stmt& st) {
  JobRecord r;
  int c = 0;
  r.id = static_cast<JobId>(st.Int(c++));
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
  if (!tags.ok()) return DataLoss("job " + std::to_string(r.id) + ": " + tags.status().message());
  spec.tags = std::move(*tags);
  spec.parent_id = static_cast<JobId>(st.Int(c++));
  spec.verify = st.Int(c++) != 0;
  r.created_ms = st.Int(c++);
  spec.input_dir = st.Text(c++);
  Result<std::vector<std::string>> inputs = json::DecodeStringArray(st.Text(c++), "input_files");
  if (!inputs.ok()) {
    return DataLoss("job " + std::to_string(r.id) + ": " + inputs.status().message());
  }
  spec.input_files = std::move(*inputs);
  spec.splitter = st.Text(c++);
  spec.aggregator = st.Text(c++);
  spec.verifier = st.Text(c++);
  const std::string policy = st.Text(c++);
  spec.children_policy = engine::ParseChildrenPolicy(policy);
  if (!spec.children_policy) {
    return DataLoss("job " + std::to_string(r.id) + ": unknown children policy " + policy);
  }
  spec.parent_attempt = static_cast<engine::AttemptId>(st.Int(c++));
  const std::string role = st.Text(c++);
  auto parsed_role = engine::ParseJobRole(role);
  if (!parsed_role) return DataLoss("job " + std::to_string(r.id) + ": unknown role " + role);
  spec.role = *parsed_role;
  spec.subject_id = static_cast<JobId>(st.Int(c++));
  spec.subject_attempt = static_cast<engine::AttemptId>(st.Int(c++));
  spec.workflow_id = static_cast<engine::WorkflowId>(st.Int(c++));
  spec.workflow_step = static_cast<uint32_t>(st.Int(c++));
  auto resources = engine::ParseResourcesText(st.Text(c++));
  auto labels = engine::ParseLabelsText(st.Text(c++));
  if (!resources || !labels) {
    return DataLoss("job " + std::to_string(r.id) + ": unreadable resources or labels");
  }
  spec.resources = std::move(*resources);
  spec.labels = std::move(*labels);
  spec.concurrency_key = st.Text(c++);
  spec.concurrency_limit = static_cast<uint32_t>(st.Int(c++));
  spec.retention_ms = st.Int(c++);
  spec.verdict_timeout_ms = st.Int(c++);

  JobStatus& s = r.status;
  std::string state = st.Text(c++);
  auto parsed_state = engine::ParseJobState(state);
  if (!parsed_state) return DataLoss("job " + std::to_string(r.id) + ": unknown state " + state);
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
  std::string outcome = st.Text(c++);
  auto parsed_outcome = engine::ParseOutcome(outcome);
  if (!parsed_outcome) {
    return DataLoss("job " + std::to_string(r.id) + ": unknown outcome " + outcome);
  }
  s.last_outcome = *parsed_outcome;
  s.progress = st.Real(c++);
  s.progress_message = st.Text(c++);
  s.result = st.Text(c++);
  s.error = st.Text(c++);
  s.declined_by = st.Text(c++);
  s.children_total = static_cast<uint32_t>(st.Int(c++));
  s.children_done = static_cast<uint32_t>(st.Int(c++));
  s.children_failed = static_cast<uint32_t>(st.Int(c++));
  s.helper_id = static_cast<JobId>(st.Int(c++));
  s.outputs = st.Text(c++);
  return r;
}

std::string SelectJobSql(const char* where) {
  return "SELECT " + JoinColumns(kJobSpecColumns, "j.", "") + ", " +
         JoinColumns(kJobStatusColumns, "s.", "") +
         " FROM jobs j JOIN job_status s ON s.id = j.id " + where;
}

int BindJobSpec(Stmt& st, int i, const JobRecord& r) {
  const engine::JobSpec& s = r.spec;
  const engine::RetryPolicy& retry = *s.retry;
  st.Bind(i++, static_cast<int64_t>(r.id));
  st.Bind(i++, s.type);
  st.Bind(i++, s.owner);
  st.Bind(i++, s.payload);
  st.Bind(i++, static_cast<int64_t>(s.priority));
  st.Bind(i++, s.run_after_ms);
  st.Bind(i++, s.run_by_ms);
  st.Bind(i++, s.timeout_ms);
  st.Bind(i++, s.heartbeat_timeout_ms);
  st.Bind(i++, static_cast<int64_t>(s.attempts_max));
  st.Bind(i++, retry.delay_ms_initial);
  st.Bind(i++, retry.multiplier);
  st.Bind(i++, retry.delay_ms_max);
  st.Bind(i++, retry.jitter);
  st.Bind(i++, static_cast<int64_t>(retry.retry_on));
  if (s.idempotency_key.empty()) {
    st.BindNull(i++);
  } else {
    st.Bind(i++, s.idempotency_key);
  }
  if (s.tags.empty()) {
    st.Bind(i++, std::string_view("[]"));
  } else {
    st.BindCopy(i++, json::EncodeStringArray(s.tags));
  }
  st.Bind(i++, static_cast<int64_t>(s.parent_id));
  st.Bind(i++, static_cast<int64_t>(s.verify ? 1 : 0));
  st.Bind(i++, r.created_ms);
  st.Bind(i++, s.input_dir);
  if (s.input_files.empty()) {
    st.Bind(i++, std::string_view("[]"));
  } else {
    st.BindCopy(i++, json::EncodeStringArray(s.input_files));
  }
  st.Bind(i++, s.splitter);
  st.Bind(i++, s.aggregator);
  st.Bind(i++, s.verifier);
  if (!s.children_policy || s.children_policy->kind == engine::ChildrenPolicy::kAll) {
    st.Bind(i++, std::string_view("all"));
  } else {
    st.BindCopy(i++, engine::ChildrenPolicyText(*s.children_policy));
  }
  st.Bind(i++, static_cast<int64_t>(s.parent_attempt));
  st.Bind(i++, engine::JobRoleName(s.role));
  st.Bind(i++, static_cast<int64_t>(s.subject_id));
  st.Bind(i++, static_cast<int64_t>(s.subject_attempt));
  st.Bind(i++, static_cast<int64_t>(s.workflow_id));
  st.Bind(i++, static_cast<int64_t>(s.workflow_step));
  if (s.resources.empty()) {
    st.Bind(i++, std::string_view(""));
  } else {
    st.BindCopy(i++, engine::ResourcesText(s.resources));
  }
  if (s.labels.empty()) {
    st.Bind(i++, std::string_view(""));
  } else {
    st.BindCopy(i++, engine::LabelsText(s.labels));
  }
  st.Bind(i++, s.concurrency_key);
  st.Bind(i++, static_cast<int64_t>(s.concurrency_limit));
  st.Bind(i++, s.retention_ms);
  st.Bind(i++, s.verdict_timeout_ms);
  return i;
}

int BindJobStatus(Stmt& st, int i, const JobRecord& r) {
  st.Bind(i++, static_cast<int64_t>(r.id));
  return BindStatus(st, i, r.status, engine::OutcomeName(r.status.last_outcome));
}

int BindAttempt(Stmt& st, int i, const AttemptRecord& a) {
  st.Bind(i++, static_cast<int64_t>(a.id));
  st.Bind(i++, static_cast<int64_t>(a.job_id));
  st.Bind(i++, static_cast<int64_t>(a.number));
  st.Bind(i++, a.worker_id);
  st.Bind(i++, a.started_ms);
  st.Bind(i++, a.ended_ms);
  st.Bind(i++, engine::OutcomeName(a.outcome));
  st.Bind(i++, a.error);
  st.Bind(i++, a.result);
  return i;
}

int BindEvent(Stmt& st, int i, const Event& e) {
  st.Bind(i++, static_cast<int64_t>(e.seq));
  st.Bind(i++, static_cast<int64_t>(e.job_id));
  st.Bind(i++, e.at_ms);
  st.Bind(i++, engine::EventKindName(e.kind));
  st.Bind(i++, engine::JobStateName(e.state));
  st.Bind(i++, static_cast<int64_t>(e.attempt_id));
  st.Bind(i++, engine::OutcomeName(e.outcome));
  st.Bind(i++, e.progress);
  st.Bind(i++, e.message);
  st.Bind(i++, static_cast<int64_t>(e.workflow_id));
  return i;
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

Result<engine::WorkflowRecord> ReadWorkflow(Stmt& st) {
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

constexpr const char* kSelectWorkflow =
    "SELECT w.id, w.owner, w.name, w.document, w.created_ms, s.state, s.updated_ms, "
    "s.finished_ms, s.message, s.steps FROM workflows w JOIN workflow_status s ON s.id = w.id ";

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
        (*rec)->Bind(3, NowMs());
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
  const std::string update_sql =
      "UPDATE job_status SET " + JoinColumns(kJobStatusColumns, "", " = ?") + " WHERE id = ?";
  const std::string kInsertJobs =
      "INSERT INTO jobs (" + JoinColumns(kJobSpecColumns, "", "") + ") VALUES ";
  const std::string kInsertStatus =
      "INSERT INTO job_status (id, " + JoinColumns(kJobStatusColumns, "", "") + ") VALUES ";
  const std::string kInsertAttempts =
      "INSERT INTO attempts (id, job_id, number, worker_id, started_ms, ended_ms, outcome, error, "
      "result) VALUES ";
  const std::string kUpsertAttempts =
      " ON CONFLICT (id) DO UPDATE SET ended_ms = excluded.ended_ms, outcome = excluded.outcome, "
      "error = excluded.error, result = excluded.result";
  const std::string kInsertEvents =
      "INSERT INTO events (seq, job_id, at_ms, kind, state, attempt_id, outcome, progress, "
      "message, workflow_id) VALUES ";
  const Item items[] = {
      {&insert_job_, kInsertJobs + RowsOfPlaceholders(1, kJobSpecCount)},
      {&insert_jobs_, kInsertJobs + RowsOfPlaceholders(kRowsPerStatement, kJobSpecCount)},
      {&insert_status_, kInsertStatus + RowsOfPlaceholders(1, 1 + kJobStatusCount)},
      {&insert_statuses_,
       kInsertStatus + RowsOfPlaceholders(kRowsPerStatement, 1 + kJobStatusCount)},
      {&update_job_, update_sql},
      {&upsert_attempt_, kInsertAttempts + RowsOfPlaceholders(1, 9) + kUpsertAttempts},
      {&upsert_attempts_,
       kInsertAttempts + RowsOfPlaceholders(kRowsPerStatement, 9) + kUpsertAttempts},
      {&insert_event_, kInsertEvents + RowsOfPlaceholders(1, 10)},
      {&insert_events_, kInsertEvents + RowsOfPlaceholders(kRowsPerStatement, 10)},
      {&get_job_, SelectJobSql("WHERE j.id = ?")},
      {&list_attempts_,
       "SELECT id, job_id, number, worker_id, started_ms, ended_ms, outcome, error, result FROM "
       "attempts "
       "WHERE job_id = ? ORDER BY id"},
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
    BATON_RETURN_IF_ERROR(
        WriteRows(*insert_job_, *insert_jobs_, batch.inserts, BindJobSpec, "insert job"));
    BATON_RETURN_IF_ERROR(WriteRows(*insert_status_, *insert_statuses_, batch.inserts,
                                    BindJobStatus, "insert job status"));
    for (const engine::JobUpdate& u : batch.updates) {
      Stmt& st = *update_job_;
      int i = BindStatus(st, 1, u.status, engine::OutcomeName(u.status.last_outcome));
      st.Bind(i, static_cast<int64_t>(u.id));
      BATON_RETURN_IF_ERROR(st.Run("update job " + std::to_string(u.id)));
      if (sqlite3_changes(db_) != 1) {
        return Internal("update job " + std::to_string(u.id) + ": no such job");
      }
    }
    BATON_RETURN_IF_ERROR(WriteRows(*upsert_attempt_, *upsert_attempts_, batch.attempts,
                                    BindAttempt, "upsert attempt"));
    BATON_RETURN_IF_ERROR(
        WriteRows(*insert_event_, *insert_events_, batch.events, BindEvent, "insert event"));
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
      Statement::Make(db_, std::string(kSelectWorkflow) + "WHERE w.id = ?");
  if (!st.ok()) return st.status();
  (*st)->Bind(1, static_cast<int64_t>(id));
  Result<bool> row = (*st)->Step("get workflow");
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("workflow " + std::to_string(id) + ": not found");
  return ReadWorkflow(**st);
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
        db_,
        "INSERT OR REPLACE INTO schedules (name, owner, cron, time_zone, catch_up, job, paused, "
        "created_ms, last_tick_ms, jobs_created, last_job_id, last_error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st.ok()) return st.status();
    Statement& q = **st;
    q.Bind(1, r.name);
    q.Bind(2, r.owner);
    q.Bind(3, r.cron);
    q.Bind(4, r.time_zone);
    q.Bind(5, engine::CatchUpName(r.catch_up));
    q.Bind(6, r.job);
    q.Bind(7, static_cast<int64_t>(r.paused ? 1 : 0));
    q.Bind(8, r.created_ms);
    q.Bind(9, r.last_tick_ms);
    q.Bind(10, static_cast<int64_t>(r.jobs_created));
    q.Bind(11, static_cast<int64_t>(r.last_job_id));
    q.Bind(12, r.last_error);
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
        db_,
        "SELECT name, owner, cron, time_zone, catch_up, job, paused, created_ms, last_tick_ms, "
        "jobs_created, last_job_id, last_error FROM schedules ORDER BY name");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = (*st)->Step("recover schedules");
      if (!row.ok()) return row.status();
      if (!*row) break;
      Statement& q = **st;
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
      out.schedules.push_back(std::move(r));
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
        Statement::Make(db_, std::string(kSelectWorkflow) + "WHERE s.state = 'running'");
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = (*st)->Step("recover workflows");
      if (!row.ok()) return row.status();
      if (!*row) break;
      Result<engine::WorkflowRecord> w = ReadWorkflow(**st);
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
  // Every job not finished, then the finished sub-jobs of parents that may still aggregate them
  // (found through jobs_parent).
  for (const char* where :
       {"WHERE s.state NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY j.id",
        "WHERE j.parent_id != 0 AND j.parent_id IN (SELECT id FROM job_status WHERE state IN "
        "('running', 'submitted', 'waiting_children')) AND s.state IN "
        "('succeeded', 'failed', 'cancelled') ORDER BY j.id"}) {
    Result<std::unique_ptr<Statement>> st = Statement::Make(db_, SelectJobSql(where));
    if (!st.ok()) return st.status();
    for (;;) {
      Result<bool> row = (*st)->Step("recover jobs");
      if (!row.ok()) return row.status();
      if (!*row) break;
      Result<JobRecord> job = ReadJob(**st);
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
  Result<JobRecord> job = ReadJob(st);
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
    auto outcome = engine::ParseOutcome(s.Text(6));
    if (!outcome) {
      const int64_t bad = s.Int(0);
      s.Reset();
      return DataLoss("attempt " + std::to_string(bad) + ": unknown outcome");
    }
    out.push_back(AttemptRecord{static_cast<engine::AttemptId>(s.Int(0)),
                                static_cast<JobId>(s.Int(1)), static_cast<uint32_t>(s.Int(2)),
                                s.Text(3), s.Int(4), s.Int(5), *outcome, s.Text(7), s.Text(8)});
  }
  return out;
}

Result<std::vector<Event>> SqliteStore::ListEvents(const EventQuery& q) {
  std::string sql =
      "SELECT e.seq, e.job_id, e.at_ms, e.kind, e.state, e.attempt_id, e.outcome, e.progress, "
      "e.message, e.workflow_id FROM events e";
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
    Stmt& s = **st;
    auto kind = engine::ParseEventKind(s.Text(3));
    auto state = engine::ParseJobState(s.Text(4));
    auto outcome = engine::ParseOutcome(s.Text(6));
    if (!kind || !state || !outcome) {
      return DataLoss("event " + std::to_string(s.Int(0)) + ": unknown kind, state or outcome");
    }
    out.push_back(Event{static_cast<engine::EventSeq>(s.Int(0)), static_cast<JobId>(s.Int(1)),
                        s.Int(2), *kind, *state, static_cast<engine::AttemptId>(s.Int(5)), *outcome,
                        s.Real(7), s.Text(8), static_cast<engine::WorkflowId>(s.Int(9))});
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
  // A parent's sub-jobs are found through their index, however far apart their ids are.
  const int64_t floor =
      q.parent_id != 0 ? 1 : std::max<int64_t>(1, top - static_cast<int64_t>(q.scan_max));
  std::string where = "WHERE j.id < ? AND j.id >= ?";
  if (q.parent_id != 0) where += " AND j.parent_id = ? AND j.parent_id != 0";
  // The account and its end users: "webapp", then "webapp/..." (a range: '/' + 1 is '0').
  if (!q.owner.empty()) where += " AND (j.owner = ? OR (j.owner > ? AND j.owner < ?))";
  if (!q.type.empty()) where += " AND j.type = ?";
  if (q.state) where += " AND s.state = ?";
  where += " ORDER BY j.id DESC LIMIT ?";
  Result<std::unique_ptr<Statement>> st = Statement::Make(db_, SelectJobSql(where.c_str()));
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
    Result<JobRecord> job = ReadJob(s);
    if (!job.ok()) {
      s.Reset();
      return job.status();
    }
    page.jobs.push_back(std::move(*job));
  }
  if (page.jobs.size() == q.limit) {
    page.next = page.jobs.back().id > 1 ? page.jobs.back().id : 0;
  } else {
    page.next = floor > 1 ? static_cast<JobId>(floor) : 0;
  }
  return page;
}

Result<std::array<uint64_t, engine::kJobStateCount>> SqliteStore::CountChildren(JobId parent) {
  Result<std::unique_ptr<Statement>> st =
      Statement::Make(db_,
                      "SELECT s.state, count(*) FROM jobs j JOIN job_status s ON s.id = j.id "
                      "WHERE j.parent_id = ? AND j.parent_id != 0 GROUP BY s.state");
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
  Result<std::unique_ptr<Statement>> st = Statement::Make(
      db_,
      "SELECT j.id, j.owner, j.type, coalesce(j.idempotency_key, ''), j.input_dir, "
      "j.retention_ms, s.finished_ms, "
      "coalesce(ps.state NOT IN ('succeeded', 'failed', 'cancelled'), 0) "
      "OR coalesce(ws.state = 'running', 0) FROM jobs j "
      "JOIN job_status s ON s.id = j.id LEFT JOIN job_status ps ON ps.id = j.parent_id "
      "LEFT JOIN workflow_status ws ON ws.id = j.workflow_id "
      "WHERE j.id > ? AND s.state IN ('succeeded', 'failed', 'cancelled') ORDER BY j.id LIMIT ?");
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
