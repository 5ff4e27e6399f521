// The file endpoints (one of the API's modules; the route table in api_routes.cc calls them):
//   POST /v1/jobs (multipart/form-data)          a job with input files
//   GET  /v1/jobs/{id}/result                    the result (and its output files' names)
//   GET  /v1/jobs/{id}/files/{name}, /output.zip an output file, or all of them as a zip
//   GET  /v1/jobs/{id}/partial.zip               the running attempt's directory as it is now
//   GET  /v1/jobs/{id}/inputs/{name}             an input file (the worker holding the attempt)
//   PUT  /v1/jobs/{id}/attempts/{a}/files/{name} an output file (the worker holding it)
//   PUT  /v1/jobs/{id}/attempts/{a}/snapshot/{n} a partial zip the server asked for
// A job that is not the caller's is as absent as a missing one (JobAccess); a worker's request
// must come from the worker that holds the attempt (engine Holds).
//
// Thread rules: any thread; file I/O runs on the blocking pool.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/access.h"
#include "server/downloads.h"
#include "server/http_server.h"
#include "server/job_access.h"
#include "server/job_files.h"
#include "server/job_types.h"
#include "server/multipart.h"
#include "server/runtime.h"
#include "server/worker_hub.h"

namespace baton::server {

// Whether the request's body is multipart (a submit with files).
bool IsMultipart(const HttpRequest& request);
// A file name as job-orchestrator's /upload takes it: the last segment of the path ("../../x",
// "/etc/x", "a/b/x" and "a\\x" are "x"); nothing left (or "." or "..") is "file".
std::string CompatFileName(std::string_view name);
// The file parts of a multipart body as input files, checked: a file part needs a file name
// (unless `compat`: /upload names each by CompatFileName).
Result<std::vector<FileData>> FileParts(const std::vector<MultipartPart>& parts,
                                        bool compat = false);

// Which request bodies the HTTP server spools to files under `dir` (RequestSpool): output
// uploads (PUT /v1/jobs/{id}/attempts/{a}/files/{name}) over 1 MiB or of unknown length, up to
// file_bytes_max. Smaller bodies, and every other request, stay in memory.
RequestSpool UploadSpool(const std::string& dir, const FileLimits& limits);

class FilesApi {
 public:
  struct Options {
    // How long a reader of a partial result waits for the worker.
    int64_t snapshot_timeout_ms = 30'000;
    DownloadLimits download;
  };
  struct Parts {
    Runtime* runtime;
    JobAccess* access;
    BlockingPool* blocking;
    JobFiles* files;
    WorkerHub* hub;
    const TypeRegistry* types;
  };
  FilesApi(Parts parts, Options options)
      : runtime_(parts.runtime),
        access_(parts.access),
        blocking_(parts.blocking),
        files_(parts.files),
        hub_(parts.hub),
        types_(parts.types),
        options_(options) {}

  const FileLimits& limits() const { return files_->limits(); }

  // POST /v1/jobs with multipart/form-data: a "job" part (the JSON of one job) and file parts.
  void SubmitWithFiles(const Identity& who, const HttpRequest& request, Reply reply);
  // Stores `files` as the job's inputs, submits it, and calls `done` after the commit.
  void SubmitWithInputs(engine::JobSpec spec, const std::vector<FileData>& files,
                        std::function<void(Result<engine::SubmitResult>)> done);
  // The output files of the job's current attempt as its manifest records them (each upload
  // committed before its 201), checked against the disk: one that is missing or changed size is
  // data_loss naming it, never left out. A job from before the manifest takes the disk as it is.
  Result<std::vector<FileInfo>> CheckedOutputs(const engine::JobRecord& job) const;
  // Those files as a zip, streamed (GET /v1/jobs/{id}/output.zip, /download/{id}); an error
  // found before the head goes is answered as one.
  void SendZipOfOutputs(const engine::JobRecord& job, const HttpRequest& request,
                        const Reply& reply) const;
  // GET /v1/jobs/{id}/partial.zip, /download/{id}?partial=1: asks the worker running the job's
  // attempt for a zip of its directory as it is now, and answers with it when it comes (404 when
  // no attempt runs). PUT /v1/jobs/{id}/attempts/{a}/snapshot/{request}: that zip, from the
  // worker holding the attempt. The reader waits at most snapshot_timeout_ms.
  void PartialZip(const Identity& who, engine::JobId id, const HttpRequest& request,
                  const Reply& reply);
  void PutSnapshot(const Identity& who, engine::JobId id, engine::AttemptId attempt,
                   uint64_t number, HttpRequest&& request, const Reply& reply);
  // The worker refused a snapshot request (its snapshot_error): its reader gets 503 saying why.
  void SnapshotFailed(uint64_t number, const engine::AttemptRef& from, const std::string& error);
  // Answers every waiting reader 503 (the server is stopping).
  void AbandonSnapshots();
  // GET /v1/jobs/{id}/result, /files/{name}, /output.zip; GET /v1/jobs/{id}/inputs/{name}.
  void JobResult(const Identity& who, engine::JobId id, const HttpRequest& request,
                 const Reply& reply);
  void OutputFile(const Identity& who, engine::JobId id, const std::string& name,
                  const HttpRequest& request, const Reply& reply);
  void OutputZip(const Identity& who, engine::JobId id, const HttpRequest& request,
                 const Reply& reply);
  void InputFile(const Identity& who, engine::JobId id, const std::string& name,
                 const HttpRequest& request, const Reply& reply);
  // PUT /v1/jobs/{id}/attempts/{attempt}/files/{name}: a worker uploads an output file.
  void PutOutput(const Identity& who, engine::JobId id, engine::AttemptId attempt,
                 const std::string& name, HttpRequest&& request, const Reply& reply);

 private:
  struct PendingSnapshot {
    engine::JobId job = 0;
    engine::AttemptId attempt = 0;
    std::string worker;
    Reply reply;
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };
  // Takes the waiting snapshot request `number` if `from` is the attempt (and worker) it asked;
  // none if there is none.
  std::optional<PendingSnapshot> TakeSnapshot(uint64_t number, const engine::AttemptRef& from);
  // The worker a worker's file request speaks for: its token's user and the Baton-Worker header
  // (QualifiedWorkerId); PermissionDenied naming `what` without a valid header. The route table
  // admits only worker (and administrator) tokens to these requests.
  Result<std::string> WorkerOf(const Identity& who, const HttpRequest& request,
                               std::string_view what) const;

  Runtime* runtime_;
  JobAccess* access_;
  BlockingPool* blocking_;
  JobFiles* files_;
  WorkerHub* hub_;
  const TypeRegistry* types_;
  Options options_;
  std::mutex snapshots_mu_;
  std::unordered_map<uint64_t, PendingSnapshot> snapshots_;  // by request number
  uint64_t snapshot_requests_ = 0;                           // under snapshots_mu_
};

}  // namespace baton::server
