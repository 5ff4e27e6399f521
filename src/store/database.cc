// OpenDatabase: the URL's scheme picks the backend.
#include "store/database.h"

#include "store/memory/memory_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace baton::store {

Result<std::unique_ptr<Database>> OpenDatabase(std::string_view url,
                                               const DatabaseOptions& options) {
  const size_t colon = url.find(':');
  const std::string_view scheme = colon == std::string_view::npos ? url : url.substr(0, colon);
  const std::string rest(colon == std::string_view::npos ? "" : url.substr(colon + 1));
  if (colon != std::string_view::npos && scheme == "sqlite") {
    Result<std::unique_ptr<Database>> db = OpenSqliteDatabase(rest, options);
    if (!db.ok()) return db.status().WithContext("--store " + std::string(url));
    return db;
  }
  if (colon != std::string_view::npos && scheme == "memory") {
    if (!rest.empty()) return InvalidArgument("--store memory: takes nothing after the colon");
    return OpenMemoryDatabase();
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    Result<std::unique_ptr<Database>> db = OpenPostgresDatabase(std::string(url), options);
    if (!db.ok()) return db.status().WithContext("--store " + std::string(scheme));
    return db;
  }
  return InvalidArgument("--store \"" + std::string(url) +
                         "\": expected sqlite:DIR (a directory), postgresql://... or memory:");
}

}  // namespace baton::store
