// Database: one backend's database, opened from a URL. It hands out connections: a Store for the
// committer, one for each reader, a TokenStore and a StoreAdmin. The server holds a Database and
// its connections by these interfaces only; nothing above src/store/ names a backend.
//
//   sqlite:DIR   the embedded backend: DIR/baton.db (WAL), made with DIR (mode 0700) if missing
//   postgresql://USER@HOST:PORT/DB?...   PostgreSQL: any libpq connection string (a URL or
//                key=value pairs), several hosts with target_session_attrs=read-write included
//   memory:      everything in this process's memory, lost when it ends (tests)
//
// Thread rules: OpenDatabase and the Connect calls may be made from any thread. Each connection
// is used by one thread at a time (the committer, the event streams' thread, a reader behind a
// mutex), and any number may be open at once: a backend meets this with one database connection
// each, or by lending them from a pool. A commit made through one connection is seen by every
// read through another that starts after it returned. No connection outlives its Database.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/blob_store.h"
#include "store/lease.h"
#include "store/log_store.h"
#include "store/store.h"
#include "store/token_store.h"

namespace baton::store {

// How a database is opened. Each field says which backends read it; the others ignore it.
struct DatabaseOptions {
  // SQLite: FULL, a commit is on disk before Apply returns (survives power loss); NORMAL, it
  // survives a crash of the process but may lose the last commits on power loss; OFF, for
  // benchmarks only; EXTRA, FULL and the directory too.
  std::string synchronous = "FULL";
  // SQLite: how long a connection waits for another's lock before it fails.
  int busy_timeout_ms = 5000;
  // SQLite: the page cache of each connection.
  int cache_size_kib = 64 * 1024;
};

// What is backend-specific and done rarely: by administrators, and by the server as it starts.
class StoreAdmin {
 public:
  virtual ~StoreAdmin() = default;
  // The schema version now in the database (the number of the last migration applied).
  virtual Result<int> SchemaVersion() = 0;
  // Ok when the backend finds its data consistent (SQLite: PRAGMA integrity_check).
  virtual Status IntegrityCheck() = 0;
  // Whether a job names `input_dir` (JobSpec::input_dir): the server's test for an input
  // directory left behind by a submit that never committed.
  virtual Result<bool> InputDirInUse(const std::string& input_dir) = 0;
};

class Database {
 public:
  virtual ~Database() = default;

  // The backend's name: "sqlite", "postgresql", "memory".
  virtual std::string_view backend() const = 0;
  // What was opened, for messages ("sqlite:/var/lib/baton"); never a password.
  virtual std::string description() const = 0;
  // A directory on this machine that belongs to the database (sqlite: DIR), where the server
  // keeps files, logs and its admin token beside it; empty when the backend has none.
  virtual std::string local_dir() const = 0;

  // A new connection. Each is independent of the others (see the thread rules above).
  virtual Result<std::unique_ptr<Store>> Connect() = 0;
  virtual Result<std::unique_ptr<TokenStore>> ConnectTokens() = 0;
  virtual Result<std::unique_ptr<StoreAdmin>> ConnectAdmin() = 0;
  // Files and logs kept in the database itself, where every server reaches them (postgresql:
  // postgres_files.h). Null when the backend keeps none (sqlite, memory): they go on a disk
  // (OpenDiskBlobStore, OpenDiskLogStore), the database's directory unless told otherwise.
  virtual Result<std::unique_ptr<BlobStore>> ConnectBlobs() = 0;
  virtual Result<std::unique_ptr<LogStore>> ConnectLogs() = 0;
  // The leader's lease (lease.h); null when the backend serves one server per database, which
  // then leads without one.
  virtual Result<std::unique_ptr<Lease>> ConnectLease() = 0;
  // The committer's connection of the leader of `epoch`: from the moment the lease has another
  // epoch, every Apply fails (Unavailable: "no longer the leader") and changes nothing. Backends
  // without a lease give Connect().
  virtual Result<std::unique_ptr<Store>> ConnectLeader(int64_t epoch) = 0;
};

// Where files and logs are kept: under `files_dir` when it is given (--files: a shared
// filesystem); else in the database, when it keeps them; else on disk under `fallback_dir` (the
// data directory: blobs under it, logs in DIR/logs).
struct FileStores {
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<LogStore> logs;
};
Result<FileStores> OpenFileStores(Database& db, const std::string& files_dir,
                                  const std::string& fallback_dir);

// Opens the database `url` names, creating it if it does not exist and bringing its schema up to
// date; a URL that names no backend, or a database newer than this build, is refused with an
// error that says so.
Result<std::unique_ptr<Database>> OpenDatabase(std::string_view url,
                                               const DatabaseOptions& options = {});

}  // namespace baton::store
