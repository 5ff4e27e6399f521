// `baton migrate --from URL --to URL`: copies one database whole into a new one (SQLite to
// PostgreSQL, typically) with store::CopyDatabase, while no server runs on either: a SQLite
// directory's server lock is taken for the copy, and the target must be one no server has used.
#pragma once

#include <string>

namespace baton::cli {

struct MigrateOptions {
  std::string from;  // sqlite:DIR, postgresql://...
  std::string to;
  std::string from_files;  // where the source keeps files and logs, if not the default (--files)
  std::string to_files;    // where the target's go, if not the default
  bool json = false;
};

// The exit code: 0 copied; 2 a URL that does not parse, a directory a server runs on, or a target
// that is not empty; 1 a database that cannot be opened or a copy that failed part way (the
// message says what).
int RunMigrate(const MigrateOptions& options);

}  // namespace baton::cli
