// The `sqlite:DIR` database: a connection is a SqliteStore (or SqliteTokenStore) of its own on
// DIR/baton.db.
#include <sys/stat.h>

#include <filesystem>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/sqlite_token_store.h"

namespace baton::store {
namespace {

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string dir, DatabaseOptions options)
      : dir_(std::move(dir)), path_(dir_ + "/baton.db"), options_(std::move(options)) {}

  std::string_view backend() const override { return "sqlite"; }
  std::string description() const override { return "sqlite:" + dir_; }
  std::string local_dir() const override { return dir_; }

  Result<std::unique_ptr<Store>> Connect() override {
    Result<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(path_, options_);
    if (!s.ok()) return s.status();
    return std::unique_ptr<Store>(std::move(*s));
  }
  Result<std::unique_ptr<TokenStore>> ConnectTokens() override {
    Result<std::unique_ptr<SqliteTokenStore>> t =
        SqliteTokenStore::Open(path_, options_.busy_timeout_ms);
    if (!t.ok()) return t.status();
    return std::unique_ptr<TokenStore>(std::move(*t));
  }
  Result<std::unique_ptr<StoreAdmin>> ConnectAdmin() override {
    Result<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(path_, options_);
    if (!s.ok()) return s.status();
    return std::unique_ptr<StoreAdmin>(std::move(*s));
  }
  // On the disk, beside the database: the server opens them under DIR.
  Result<std::unique_ptr<BlobStore>> ConnectBlobs() override {
    return std::unique_ptr<BlobStore>();
  }
  Result<std::unique_ptr<LogStore>> ConnectLogs() override { return std::unique_ptr<LogStore>(); }
  // One server per database: no lease, and its commits need no fence.
  Result<std::unique_ptr<Lease>> ConnectLease() override { return std::unique_ptr<Lease>(); }
  Result<std::unique_ptr<Store>> ConnectLeader(int64_t) override { return Connect(); }

 private:
  std::string dir_;
  std::string path_;
  DatabaseOptions options_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& dir,
                                                     const DatabaseOptions& options) {
  if (dir.empty()) return InvalidArgument("expected a directory after \"sqlite:\"");
  BATON_RETURN_IF_ERROR(SqliteStore::CheckOptions(options));
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    return InvalidArgument("not a directory");
  }
  const bool made = std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create the directory: " + ec.message());
  if (made) ::chmod(dir.c_str(), 0700);  // the data is the users' jobs: owner only
  auto db = std::make_unique<SqliteDatabase>(dir, options);
  // The first connection makes the file and migrates it, so that a database this build cannot
  // use is refused here, and every later connection finds the schema in place.
  BATON_RETURN_IF_ERROR(db->ConnectAdmin().status());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace baton::store
