// SqliteStore: the embedded backend. One database file in WAL mode; every Apply is one
// transaction made durable per `synchronous` (FULL by default: the commit has reached the disk
// when Apply returns). Schema migrations are versioned and applied at Open.
//
// Thread rules: one thread at a time (the group committer). Open a second SqliteStore on the same
// file for reads from another thread; WAL lets readers run beside the writer.
#pragma once

#include <memory>
#include <string>

#include "store/database.h"
#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace baton::store {

class SqliteStore final : public Store, public StoreAdmin {
 public:
  // Opens (creating if needed) the database at `path` and brings its schema up to date.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const DatabaseOptions& options = {});
  ~SqliteStore() override;
  // Whether `options` are ones SQLite takes (Open checks them first).
  static Status CheckOptions(const DatabaseOptions& options);

  Status Apply(const engine::RecordBatch& batch) override;
  Result<engine::RecoveredState> Recover(int64_t keys_since_ms) override;
  Result<engine::JobRecord> GetJob(engine::JobId id) override;
  Result<std::vector<engine::AttemptRecord>> ListAttempts(engine::JobId id) override;
  Result<std::vector<engine::Event>> ListEvents(const EventQuery& query) override;
  Result<JobPage> ListJobs(const JobQuery& query) override;
  Result<std::array<uint64_t, engine::kJobStateCount>> CountChildren(engine::JobId parent) override;
  Result<engine::WorkflowRecord> GetWorkflow(engine::WorkflowId id) override;

  Result<int> SchemaVersion() override;
  Result<bool> InputDirInUse(const std::string& input_dir) override;
  Status IntegrityCheck() override;  // PRAGMA integrity_check

  class Statement;

  Result<std::vector<FinishedJob>> ListFinished(engine::JobId after, size_t limit) override;
  Result<engine::EventSeq> FirstEventAt(int64_t at_ms) override;

 private:
  explicit SqliteStore(sqlite3* db);
  Status Migrate();
  Status Prepare();
  Status Exec(const char* sql);
  Status WriteOperations(const engine::RecordBatch& batch);
  Status WriteWorkflowStatus(Statement& st, engine::WorkflowId id,
                             const engine::WorkflowStatus& status);

  sqlite3* db_;
  // Inserts come in two forms: one row, and kRowsPerStatement rows (fewer statements per batch).
  std::unique_ptr<Statement> insert_job_, insert_jobs_, insert_status_, insert_statuses_,
      update_job_;
  std::unique_ptr<Statement> upsert_attempt_, upsert_attempts_, insert_event_, insert_events_;
  std::unique_ptr<Statement> get_job_, list_attempts_;
  std::unique_ptr<Statement> insert_workflow_, insert_workflow_status_, update_workflow_status_;
  std::unique_ptr<Statement> begin_, commit_, rollback_;
};

// The database `sqlite:DIR` names: DIR/baton.db, made (with DIR, mode 0700) if missing. Each
// connection is a SqliteStore of its own on the file; WAL lets readers run beside the writer.
Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& dir,
                                                     const DatabaseOptions& options);

}  // namespace baton::store
