// BlobStore: where the files that travel with jobs live, by key, written and read in bounded
// chunks so that no file is ever whole in the server's memory. JobFiles (server/job_files.h)
// decides the keys, names and limits; a backend only keeps bytes:
//   inputs/<dir>/<name>               uploaded with a job
//   outputs/<job>/<attempt>/<name>    uploaded by the worker that ran the attempt
// Keys are relative paths that JobFiles has checked (server::ValidateFileName); no key is a
// prefix directory of another.
//
// The local-disk backend (OpenDiskBlobStore) keeps each blob as a file under its root, written
// to a temporary name, fsynced and renamed. The PostgreSQL backend (postgres/postgres_files.h)
// keeps them in the database, in chunks, so that every server reaches them.
//
// Thread rules: a BlobStore is thread-safe; a reader or writer is used by one thread at a time
// (it may move between threads).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace baton::store {

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual uint64_t size() const = 0;
  // Up to `max` bytes from where the last read ended; empty at the end.
  virtual Result<std::string> Read(size_t max) = 0;
};

class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // without Commit, nothing is left behind
  virtual Status Write(std::string_view data) = 0;
  virtual uint64_t size() const = 0;
  // The blob is readable under its key, replacing one of the same key, and its bytes are
  // durable; its name is durable once Publish has covered it.
  virtual Status Commit() = 0;
};

struct BlobInfo {
  std::string name;  // the key below the prefix that was listed
  uint64_t size = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<std::unique_ptr<BlobWriter>> Create(const std::string& key) = 0;
  // NotFound if there is no such blob.
  virtual Result<std::unique_ptr<BlobReader>> Open(const std::string& key) const = 0;
  // Makes the names of these committed blobs durable (on disk: fsyncs each directory from theirs
  // up to the root, once). One call for many blobs costs one sync per directory, not per blob.
  virtual Status Publish(const std::vector<std::string>& keys) = 0;
  // The blobs whose keys start with `prefix` + "/", sorted by name; empty if there are none.
  virtual Result<std::vector<BlobInfo>> List(const std::string& prefix) const = 0;
  // The distinct first segments of the keys below `prefix` + "/" (the input directories).
  virtual Result<std::vector<std::string>> Children(const std::string& prefix) const = 0;
  virtual void Remove(const std::string& key) = 0;
  // Every blob below `prefix` + "/".
  virtual void RemoveAll(const std::string& prefix) = 0;
};

// Blobs as files under `root` (created if missing): the key is the path below it.
Result<std::unique_ptr<BlobStore>> OpenDiskBlobStore(const std::string& root);

}  // namespace baton::store
