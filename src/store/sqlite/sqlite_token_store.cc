#include "store/sqlite/sqlite_token_store.h"

#include <sqlite3.h>

namespace baton::store {

namespace {
Status Error(sqlite3* db, int rc, const std::string& what) {
  std::string m = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return {StatusCode::kAlreadyExists, m};
  return Unavailable(std::move(m));
}

// A statement that finalizes itself.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};
}  // namespace

Result<std::unique_ptr<SqliteTokenStore>> SqliteTokenStore::Open(const std::string& path,
                                                                 int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Error(db, rc, "open " + path + " for tokens");
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<SqliteTokenStore>(new SqliteTokenStore(db));
}

SqliteTokenStore::~SqliteTokenStore() { sqlite3_close_v2(db_); }

Status SqliteTokenStore::Put(const TokenRecord& t) {
  std::lock_guard lock(mu_);
  Stmt st;
  int rc = sqlite3_prepare_v2(db_,
                              "INSERT INTO tokens (hash, user, admin, worker, private, created_ms) "
                              "VALUES (?, ?, ?, ?, ?, ?)",
                              -1, &st.s, nullptr);
  if (rc != SQLITE_OK) return Error(db_, rc, "prepare token insert");
  sqlite3_bind_text(st.s, 1, t.hash.c_str(), -1, SQLITE_STATIC);
  sqlite3_bind_text(st.s, 2, t.user.c_str(), -1, SQLITE_STATIC);
  sqlite3_bind_int(st.s, 3, t.admin ? 1 : 0);
  sqlite3_bind_int(st.s, 4, t.worker ? 1 : 0);
  sqlite3_bind_int(st.s, 5, t.private_pool ? 1 : 0);
  sqlite3_bind_int64(st.s, 6, t.created_ms);
  rc = sqlite3_step(st.s);
  if (rc != SQLITE_DONE) return Error(db_, rc, "insert token for user " + t.user);
  return Status::Ok();
}

namespace {

TokenRecord ReadToken(sqlite3_stmt* st) {
  TokenRecord t;
  t.hash = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  t.user = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  t.admin = sqlite3_column_int(st, 2) != 0;
  t.worker = sqlite3_column_int(st, 3) != 0;
  t.private_pool = sqlite3_column_int(st, 4) != 0;
  t.created_ms = sqlite3_column_int64(st, 5);
  return t;
}

}  // namespace

Result<std::optional<TokenRecord>> SqliteTokenStore::Find(const std::string& hash) {
  std::lock_guard lock(mu_);
  Stmt st;
  int rc = sqlite3_prepare_v2(
      db_, "SELECT hash, user, admin, worker, private, created_ms FROM tokens WHERE hash = ?", -1,
      &st.s, nullptr);
  if (rc != SQLITE_OK) return Error(db_, rc, "prepare token lookup");
  sqlite3_bind_text(st.s, 1, hash.c_str(), -1, SQLITE_STATIC);
  rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<TokenRecord>();
  if (rc != SQLITE_ROW) return Error(db_, rc, "look up a token");
  return std::optional<TokenRecord>(ReadToken(st.s));
}

Result<std::vector<TokenRecord>> SqliteTokenStore::List() {
  std::lock_guard lock(mu_);
  Stmt st;
  int rc = sqlite3_prepare_v2(db_,
                              "SELECT hash, user, admin, worker, private, created_ms FROM tokens "
                              "ORDER BY created_ms, hash",
                              -1, &st.s, nullptr);
  if (rc != SQLITE_OK) return Error(db_, rc, "prepare token list");
  std::vector<TokenRecord> out;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) out.push_back(ReadToken(st.s));
  if (rc != SQLITE_DONE) return Error(db_, rc, "list tokens");
  return out;
}

}  // namespace baton::store
