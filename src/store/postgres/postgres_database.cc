// The `postgresql://...` database: every connection is a libpq connection of its own; the first
// one (OpenPostgresDatabase) migrates the schema.
#include <mutex>

#include "store/postgres/postgres_files.h"
#include "store/postgres/postgres_store.h"

namespace baton::store {
namespace {

// Tokens in the `tokens` table. Thread-safe: one connection behind a mutex.
class PostgresTokenStore final : public TokenStore {
 public:
  explicit PostgresTokenStore(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

  Status Put(const TokenRecord& t) override {
    PgParams p;
    p.Text(t.hash);
    p.Text(t.user);
    p.Text(t.admin ? "true" : "false");
    p.Text(t.worker ? "true" : "false");
    p.Text(t.private_pool ? "true" : "false");
    p.Int(t.created_ms);
    std::lock_guard lock(mu_);
    return conn_
        ->Query(
            "INSERT INTO tokens (hash, user_name, admin, worker, private, created_ms) VALUES "
            "($1, $2, $3, $4, $5, $6)",
            std::move(p), "insert token for user " + t.user)
        .status();
  }

  Result<std::optional<TokenRecord>> Find(const std::string& hash) override {
    PgParams p;
    p.Text(hash);
    std::lock_guard lock(mu_);
    Result<PgRows> r = conn_->Query(
        "SELECT hash, user_name, admin, worker, private, created_ms FROM tokens WHERE hash = $1",
        std::move(p), "look up a token");
    if (!r.ok()) return r.status();
    if (r->size() == 0) return std::optional<TokenRecord>();
    PgRows& row = r->At(0);
    return std::optional<TokenRecord>(TokenRecord{row.Text(0), row.Text(1), row.Int(2) != 0,
                                                  row.Int(3) != 0, row.Int(4) != 0, row.Int(5)});
  }

  Result<std::vector<TokenRecord>> List() override {
    std::lock_guard lock(mu_);
    Result<PgRows> r = conn_->Query(
        "SELECT hash, user_name, admin, worker, private, created_ms FROM tokens "
        "ORDER BY created_ms, hash",
        {}, "list tokens");
    if (!r.ok()) return r.status();
    std::vector<TokenRecord> out;
    for (int i = 0; i < r->size(); ++i) {
      PgRows& row = r->At(i);
      out.push_back(TokenRecord{row.Text(0), row.Text(1), row.Int(2) != 0, row.Int(3) != 0,
                                row.Int(4) != 0, row.Int(5)});
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<PgConnection> conn_;
};

// The lease row (migration 3), on the database's clock.
class PostgresLease final : public Lease {
 public:
  explicit PostgresLease(std::unique_ptr<PgConnection> conn) : conn_(std::move(conn)) {}

  Result<LeaseView> Acquire(const std::string& holder, const std::string& address,
                            int64_t ttl_ms) override {
    PgParams p;
    p.Text(holder);
    p.Text(address);
    p.Int(ttl_ms);
    std::vector<PgQuery> q;
    q.push_back(
        PgQuery{"UPDATE baton_lease SET epoch = epoch + 1, holder = $1, address = $2, "
                "expires_ms = " +
                    std::string(kNowMs) + " + $3 WHERE id = 1 AND expires_ms < " + kNowMs +
                    " RETURNING epoch",
                std::move(p), "take the lease"});
    q.push_back(PgQuery{"SELECT epoch, holder, address, expires_ms - " + std::string(kNowMs) +
                            " FROM baton_lease WHERE id = 1",
                        {},
                        "read the lease"});
    BATON_ASSIGN_OR_RETURN(std::vector<PgRows> rows, conn_->Run(q));
    if (rows[1].size() != 1)
      return DataLoss("the lease row of " + conn_->description() + " is gone");
    PgRows& r = rows[1].At(0);
    return LeaseView{rows[0].size() == 1, r.Int(0), r.Text(1), r.Text(2), r.Int(3)};
  }

  Result<bool> Renew(int64_t epoch, int64_t ttl_ms) override {
    PgParams p;
    p.Int(epoch);
    p.Int(ttl_ms);
    BATON_ASSIGN_OR_RETURN(
        PgRows r, conn_->Query("UPDATE baton_lease SET expires_ms = " + std::string(kNowMs) +
                                   " + $2 WHERE id = 1 AND epoch = $1",
                               std::move(p), "renew the lease"));
    return r.Changed() == 1;
  }

  Status Release(int64_t epoch) override {
    PgParams p;
    p.Int(epoch);
    return conn_
        ->Query("UPDATE baton_lease SET expires_ms = 0 WHERE id = 1 AND epoch = $1", std::move(p),
                "release the lease")
        .status();
  }

 private:
  // The database's clock, in ms since the epoch.
  static constexpr const char* kNowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
  std::unique_ptr<PgConnection> conn_;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::string url, std::string description)
      : url_(std::move(url)), description_(std::move(description)) {}

  std::string_view backend() const override { return "postgresql"; }
  std::string description() const override { return description_; }
  std::string local_dir() const override { return ""; }

  Result<std::unique_ptr<Store>> Connect() override {
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(url_, description_, false);
    if (!s.ok()) return s.status();
    return std::unique_ptr<Store>(std::move(*s));
  }
  Result<std::unique_ptr<TokenStore>> ConnectTokens() override {
    Result<std::unique_ptr<PgConnection>> c = PgConnection::Open(url_, description_);
    if (!c.ok()) return c.status();
    return std::unique_ptr<TokenStore>(std::make_unique<PostgresTokenStore>(std::move(*c)));
  }
  Result<std::unique_ptr<StoreAdmin>> ConnectAdmin() override {
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(url_, description_, false);
    if (!s.ok()) return s.status();
    return std::unique_ptr<StoreAdmin>(std::move(*s));
  }
  Result<std::unique_ptr<BlobStore>> ConnectBlobs() override {
    return OpenPostgresBlobStore(url_, description_);
  }
  Result<std::unique_ptr<LogStore>> ConnectLogs() override {
    return OpenPostgresLogStore(url_, description_);
  }
  Result<std::unique_ptr<Lease>> ConnectLease() override {
    Result<std::unique_ptr<PgConnection>> c = PgConnection::Open(url_, description_);
    if (!c.ok()) return c.status();
    return std::unique_ptr<Lease>(std::make_unique<PostgresLease>(std::move(*c)));
  }
  Result<std::unique_ptr<Store>> ConnectLeader(int64_t epoch) override {
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(url_, description_, false);
    if (!s.ok()) return s.status();
    (*s)->Fence(epoch);
    return std::unique_ptr<Store>(std::move(*s));
  }

 private:
  std::string url_;
  std::string description_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url,
                                                       const DatabaseOptions&) {
  Result<std::string> description = PgDescribe(url);
  if (!description.ok()) return description.status();
  // The first connection migrates, so that a database this build cannot use is refused here.
  Result<std::unique_ptr<PostgresStore>> first = PostgresStore::Open(url, *description, true);
  if (!first.ok()) return first.status();
  return std::unique_ptr<Database>(std::make_unique<PostgresDatabase>(url, *description));
}

}  // namespace baton::store
