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

Result<FileStores> OpenFileStores(Database& db, const std::string& files_dir,
                                  const std::string& fallback_dir) {
  FileStores out;
  if (files_dir.empty()) {
    BATON_ASSIGN_OR_RETURN(out.blobs, db.ConnectBlobs());
    BATON_ASSIGN_OR_RETURN(out.logs, db.ConnectLogs());
  }
  const std::string& dir = files_dir.empty() ? fallback_dir : files_dir;
  if (!out.blobs) {
    BATON_ASSIGN_OR_RETURN(out.blobs, OpenDiskBlobStore(dir));
  }
  if (!out.logs) {
    BATON_ASSIGN_OR_RETURN(out.logs, OpenDiskLogStore(dir + "/logs"));
  }
  return out;
}

}  // namespace baton::store
