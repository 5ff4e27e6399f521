// JobFiles: the files that travel with jobs: their names, keys and limits, over a BlobStore that
// keeps the bytes (store/blob_store.h; on the local disk, next to the database):
//   inputs/<key>/<name>              uploaded with a job (JobSpec::input_dir is the key)
//   outputs/<job>/<attempt>/<name>   uploaded by the worker that ran the attempt
// A file that was acknowledged is durable (the blob committed and published). Inputs are stored
// before the job is submitted; a crash between the two leaves a directory no job names, which
// RemoveOrphanInputs clears at start. Files are read back through a BlobReader, in chunks.
//
// Thread rules: thread-safe (the blob store is).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/types.h"
#include "store/blob_store.h"

namespace baton::server {

struct FileLimits {
  size_t files_max = 1000;                    // input files per job; output files per attempt
  size_t file_bytes_max = 64 << 20;           // one file (a request body is capped separately)
  size_t output_bytes_max = size_t{1} << 30;  // all output files of one attempt together
};

struct FileData {
  std::string name;
  std::string_view data;
};
using FileInfo = store::BlobInfo;

// Ok for a relative path inside a job's directory: segments separated by '/', none empty, "." or
// "..", no leading '/', no backslash or control characters, at most 255 bytes a segment and
// 1024 in all. The error quotes the name and says what is wrong.
Status ValidateFileName(std::string_view name);

class JobFiles {
 public:
  JobFiles(std::unique_ptr<store::BlobStore> blobs, FileLimits limits)
      : blobs_(std::move(blobs)), limits_(limits) {}
  const FileLimits& limits() const { return limits_; }

  // Checks the names (valid, distinct), count and sizes, then writes the files durably into a
  // new input directory; returns its key. Nothing is left behind on an error.
  Result<std::string> StoreInputs(const std::vector<FileData>& files);
  void DropInputs(const std::string& key);
  Result<std::unique_ptr<store::BlobReader>> OpenInput(const std::string& key,
                                                       const std::string& name) const;

  // One output file of an attempt, written durably (replacing a file of the same name).
  // Both return the file's size.
  Result<uint64_t> WriteOutput(engine::JobId job, engine::AttemptId attempt,
                               const std::string& name, std::string_view data);
  // The same from the file at `path` (an upload spooled to disk), copied in 1 MiB pieces.
  Result<uint64_t> WriteOutputFromFile(engine::JobId job, engine::AttemptId attempt,
                                       const std::string& name, const std::string& path);
  void RemoveOutput(engine::JobId job, engine::AttemptId attempt, const std::string& name);
  // Every output file of every attempt of the job (retention).
  void RemoveOutputs(engine::JobId job);
  // The attempt's output files, sorted by name; empty if it wrote none.
  Result<std::vector<FileInfo>> ListOutputs(engine::JobId job, engine::AttemptId attempt) const;
  // NotFound if there is no such file.
  Result<std::unique_ptr<store::BlobReader>> OpenOutput(engine::JobId job,
                                                        engine::AttemptId attempt,
                                                        const std::string& name) const;

  // Removes the input directories for which `in_use` says no; returns how many went.
  Result<size_t> RemoveOrphanInputs(const std::function<Result<bool>(const std::string&)>& in_use);

 private:
  // The name, and the attempt's file count and total with `size` bytes more, within the limits.
  Status CheckOutput(engine::JobId job, engine::AttemptId attempt, const std::string& name,
                     uint64_t size) const;
  std::unique_ptr<store::BlobStore> blobs_;
  FileLimits limits_;
};

}  // namespace baton::server
