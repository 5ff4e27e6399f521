#include "cli/migrate.h"

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "server/data_lock.h"
#include "store/copy_database.h"

namespace baton::cli {

namespace {

void Say(const std::string& line) {
  std::fprintf(stderr, "baton migrate: %s\n", line.c_str());
  std::fflush(stderr);
}

int Failed(const Status& s) {
  Say(s.ToString());
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kFailedPrecondition
             ? 2
             : 1;
}

}  // namespace

int RunMigrate(const MigrateOptions& o) {
  if (o.from == o.to) {
    return Failed(InvalidArgument("--from and --to name the same database: " + o.from));
  }
  // A SQLite directory is copied from (or into) only while no server holds it.
  std::vector<std::unique_ptr<server::DataLock>> locks;
  for (const std::string* url : {&o.from, &o.to}) {
    if (!url->starts_with("sqlite:")) continue;
    const std::string dir = url->substr(7);
    if (dir.empty()) return Failed(InvalidArgument("sqlite: needs a directory: sqlite:DIR"));
    if (url == &o.from && !std::filesystem::exists(dir + "/baton.db")) {
      return Failed(InvalidArgument("--from " + *url + ": no Baton database in " + dir));
    }
    if (url == &o.to) std::filesystem::create_directories(dir);
    Result<std::unique_ptr<server::DataLock>> lock = server::DataLock::Acquire(dir);
    if (!lock.ok()) {
      return Failed(FailedPrecondition(std::string(url == &o.from ? "--from " : "--to ") + *url +
                                       ": a server runs on this directory; stop it first"));
    }
    locks.push_back(std::move(*lock));
  }
  Result<std::unique_ptr<store::Database>> from = store::OpenDatabase(o.from);
  if (!from.ok()) return Failed(from.status().WithContext("--from"));
  Result<std::unique_ptr<store::Database>> to = store::OpenDatabase(o.to);
  if (!to.ok()) return Failed(to.status().WithContext("--to"));
  Result<store::FileStores> from_files =
      store::OpenFileStores(**from, o.from_files, (*from)->local_dir());
  if (!from_files.ok()) return Failed(from_files.status().WithContext("the source's files"));
  Result<store::FileStores> to_files = store::OpenFileStores(**to, o.to_files, (*to)->local_dir());
  if (!to_files.ok()) return Failed(to_files.status().WithContext("the target's files"));
  Say("copying " + (*from)->description() + " into " + (*to)->description());
  Result<store::CopyCounts> n = store::CopyDatabase(**from, *from_files, **to, *to_files, Say);
  to_files->logs.reset();  // a log store that writes behind has written all of it when it goes
  if (!n.ok()) {
    Say("the target holds part of the copy: drop it (or its schema) before copying again");
    return Failed(n.status());
  }
  boost::json::object out{{"from", (*from)->description()},
                          {"to", (*to)->description()},
                          {"jobs", n->jobs},
                          {"attempts", n->attempts},
                          {"events", n->events},
                          {"workflows", n->workflows},
                          {"schedules", n->schedules},
                          {"paused_types", n->paused_types},
                          {"tokens", n->tokens},
                          {"files", n->files},
                          {"file_bytes", n->file_bytes},
                          {"logs", n->logs},
                          {"log_bytes", n->log_bytes}};
  if (o.json) {
    std::printf("%s\n", boost::json::serialize(out).c_str());
  } else {
    std::printf(
        "baton migrate: copied %llu jobs (%llu attempts, %llu events), %llu workflows, %llu "
        "schedules, %llu paused types, %llu tokens, %llu files (%llu bytes) and %llu logs (%llu "
        "bytes)\n",
        static_cast<unsigned long long>(n->jobs), static_cast<unsigned long long>(n->attempts),
        static_cast<unsigned long long>(n->events), static_cast<unsigned long long>(n->workflows),
        static_cast<unsigned long long>(n->schedules),
        static_cast<unsigned long long>(n->paused_types),
        static_cast<unsigned long long>(n->tokens), static_cast<unsigned long long>(n->files),
        static_cast<unsigned long long>(n->file_bytes), static_cast<unsigned long long>(n->logs),
        static_cast<unsigned long long>(n->log_bytes));
  }
  return 0;
}

}  // namespace baton::cli
