// The PostgreSQL backend: `postgresql://...` (any libpq connection string, multi-host included).
//
// Each Apply is one transaction in one round trip (libpq's pipeline mode: the statements and one
// sync). Rows go in bulk: each kind of row is one statement whatever the batch's size,
// `INSERT ... SELECT unnest($1::bigint[]), ...` and `UPDATE ... FROM (SELECT unnest(...)...)`. The
// columns are SQLite's (row_codec.h); the schema's migrations are postgres/migrations/*.sql.
//
// Thread rules: each connection one thread at a time; any number of connections at once.
#pragma once

#include <memory>
#include <string>

#include "store/database.h"
#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace baton::store {

class PostgresStore final : public Store, public StoreAdmin {
 public:
  // Connects; with `migrate`, first brings the schema up to date (one server at a time: an
  // advisory lock), refusing a database newer than this build.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                     const std::string& description, bool migrate);

  // Every later Apply commits only while the lease has this epoch (baton_fence, migration 3).
  void Fence(int64_t epoch) { fence_epoch_ = epoch; }

  Status Apply(const engine::RecordBatch& batch) override;
  Result<engine::RecoveredState> Recover(int64_t keys_since_ms) override;
  Result<engine::JobRecord> GetJob(engine::JobId id) override;
  Result<std::vector<engine::AttemptRecord>> ListAttempts(engine::JobId id) override;
  Result<std::vector<engine::Event>> ListEvents(const EventQuery& query) override;
  Result<JobPage> ListJobs(const JobQuery& query) override;
  Result<std::array<uint64_t, engine::kJobStateCount>> CountChildren(engine::JobId parent) override;
  Result<engine::WorkflowRecord> GetWorkflow(engine::WorkflowId id) override;
  Result<std::vector<FinishedJob>> ListFinished(engine::JobId after, size_t limit) override;
  Result<engine::EventSeq> FirstEventAt(int64_t at_ms) override;

  Result<int> SchemaVersion() override;
  Result<bool> InputDirInUse(const std::string& input_dir) override;
  // Every job has its status row and every status row its job.
  Status IntegrityCheck() override;

 private:
  explicit PostgresStore(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}
  Status Migrate();
  void AddWrites(const engine::RecordBatch& batch, std::vector<PgQuery>& queries);

  std::unique_ptr<PgConnection> conn_;
  int64_t fence_epoch_ = 0;  // 0: no fence
};

// The database a postgresql:// URL names (see database.h).
Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url,
                                                       const DatabaseOptions& options);

}  // namespace baton::store
