// A backend's schema migrations, in order: src/store/BACKEND/migrations/NNNN_name.sql, embedded at
// build time (cmake/embed_migrations.cmake writes each list's definition). A new migration is a
// new file; a backend applies the ones above the version its database has, each in a transaction
// with its row in schema_migrations.
#pragma once

#include <vector>

namespace baton::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& SqliteMigrations();
const std::vector<Migration>& PostgresMigrations();

}  // namespace baton::store
