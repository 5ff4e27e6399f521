// SqliteTokenStore: tokens in the `tokens` table of Baton's SQLite database, through a connection
// of its own (so that HTTP threads never touch the committer's). Open it after SqliteStore::Open
// has brought the schema up to date. Thread rules: thread-safe (one mutex; tokens are rare).
#pragma once

#include <memory>
#include <mutex>

#include "store/token_store.h"

struct sqlite3;

namespace baton::store {

class SqliteTokenStore final : public TokenStore {
 public:
  static Result<std::unique_ptr<SqliteTokenStore>> Open(const std::string& path,
                                                        int busy_timeout_ms = 5000);
  ~SqliteTokenStore() override;

  Status Put(const TokenRecord& token) override;
  Result<std::optional<TokenRecord>> Find(const std::string& hash) override;
  Result<std::vector<TokenRecord>> List() override;

 private:
  explicit SqliteTokenStore(sqlite3* db) : db_(db) {}
  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace baton::store
