#include "server/files_api.h"

#include <algorithm>
#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>

#include "common/json.h"
#include "server/downloads.h"
#include "server/job_json.h"
#include "server/multipart.h"

namespace baton::server {

namespace {

// The attempt whose output is the job's result, or why there is none.
Result<engine::AttemptId> ResultAttempt(const engine::JobRecord& job) {
  using engine::JobState;
  const JobState state = job.status.state;
  if (state == JobState::kSucceeded || state == JobState::kSubmitted ||
      state == JobState::kWaitingChildren) {
    return job.status.attempt_id;
  }
  std::string why = "job " + std::to_string(job.id) + " is " +
                    std::string(engine::JobStateName(state)) + ": it has no result";
  if (state == JobState::kFailed || state == JobState::kCancelled) {
    why += " (" + job.status.error + ")";
  } else {
    why += " yet";
  }
  return FailedPrecondition(why);
}

// A file that the check found and that is gone when it is opened.
Status WentMissing(const std::string& name, engine::JobId job) {
  return DataLoss("output file \"" + name + "\" of job " + std::to_string(job) +
                  " went missing from the server's disk while it was read");
}

}  // namespace

Result<std::vector<FileData>> FileParts(const std::vector<MultipartPart>& parts, bool compat) {
  std::vector<FileData> files;
  for (const MultipartPart& p : parts) {
    if (!p.is_file) continue;
    if (compat) {
      files.push_back({CompatFileName(p.filename), p.data});
      continue;
    }
    if (p.filename.empty()) {
      return InvalidArgument("multipart part \"" + std::string(p.name) +
                             "\": a file part needs a file name (filename=\"...\")");
    }
    files.push_back({std::string(p.filename), p.data});
  }
  return files;
}

std::string CompatFileName(std::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  std::string base(slash == std::string_view::npos ? name : name.substr(slash + 1));
  if (base.empty() || base == "." || base == "..") return "file";
  return base;
}

RequestSpool UploadSpool(const std::string& dir, const FileLimits& limits) {
  constexpr uint64_t kInMemoryMax = 1 << 20;
  RequestSpool spool;
  spool.dir = dir;
  spool.bytes_max = limits.file_bytes_max;
  spool.wants = [](const HttpRequest& head, std::optional<uint64_t> length) {
    if (head.method() != http::verb::put) return false;
    const std::string_view target = head.target();
    if (!target.starts_with("/v1/jobs/") || target.find("/attempts/") == std::string_view::npos ||
        target.find("/files/") == std::string_view::npos) {
      return false;
    }
    return !length || *length > kInMemoryMax;  // chunked: of unknown length
  };
  return spool;
}

bool IsMultipart(const HttpRequest& request) {
  return boost::algorithm::istarts_with(request[http::field::content_type], "multipart/");
}

Result<std::vector<FileInfo>> FilesApi::CheckedOutputs(const engine::JobRecord& job) const {
  const engine::JobId id = job.id;
  const engine::AttemptId attempt = job.status.attempt_id;
  Result<std::vector<FileInfo>> on_disk = files_->ListOutputs(id, attempt);
  if (!on_disk.ok()) return on_disk.status();
  if (job.status.outputs == engine::kOutputsUnknown) return on_disk;  // from before manifests
  if (job.status.outputs.empty()) return std::vector<FileInfo>();     // nothing handed in
  boost::system::error_code ec;
  const boost::json::value manifest = boost::json::parse(job.status.outputs.view(), ec);
  if (ec || !manifest.is_object()) {
    return DataLoss("job " + std::to_string(id) + ": its output manifest is unreadable");
  }
  std::vector<FileInfo> out;
  for (const auto& [key, size] : manifest.as_object()) {
    const std::string name(key);
    const auto disk = std::find_if(on_disk->begin(), on_disk->end(),
                                   [&name](const FileInfo& f) { return f.name == name; });
    if (!size.is_uint64() && !(size.is_int64() && size.as_int64() >= 0)) {
      return DataLoss("job " + std::to_string(id) + ": its output manifest is unreadable");
    }
    const uint64_t want =
        size.is_uint64() ? size.as_uint64() : static_cast<uint64_t>(size.as_int64());
    const std::string what = "output file \"" + name + "\" of job " + std::to_string(id) +
                             " (attempt " + std::to_string(attempt) + ")";
    if (disk == on_disk->end()) {
      return DataLoss(what + " is missing from the server's disk: it was handed in, and is lost");
    }
    if (disk->size != want) {
      return DataLoss(what + " has " + std::to_string(disk->size) + " bytes on disk, " +
                      std::to_string(want) + " were handed in");
    }
    out.push_back(*disk);
  }
  std::sort(out.begin(), out.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  return out;
}

void FilesApi::SendZipOfOutputs(const engine::JobRecord& job, const HttpRequest& request,
                                const Reply& reply) const {
  const bool head = request.method() == http::verb::head;
  Result<std::vector<FileInfo>> files = CheckedOutputs(job);
  if (!files.ok()) {
    HttpResponse error = ErrorResponse(files.status(), request.version(), request.keep_alive());
    return reply(head ? HeadOf(std::move(error)) : std::move(error));
  }
  std::vector<ZipItem> items;
  for (const FileInfo& f : *files) items.push_back({f.name, f.size});
  const engine::JobId id = job.id;
  const engine::AttemptId attempt = job.status.attempt_id;
  ChunkSource zip = ZipSource(
      std::move(items),
      [files = files_, id,
       attempt](const ZipItem& item) -> Result<std::unique_ptr<store::BlobReader>> {
        Result<std::unique_ptr<store::BlobReader>> r = files->OpenOutput(id, attempt, item.name);
        if (r.status().code() == StatusCode::kNotFound) return WentMissing(item.name, id);
        return r;
      },
      options_.download.chunk_bytes);
  StreamDownload(
      blocking_, reply,
      DownloadHead(request, "application/zip", "job-" + std::to_string(id) + ".zip", std::nullopt),
      head, std::move(zip), options_.download);
}

void FilesApi::SubmitWithInputs(engine::JobSpec spec, const std::vector<FileData>& files,
                                std::function<void(Result<engine::SubmitResult>)> done) {
  Result<std::string> key = files_->StoreInputs(files);
  if (!key.ok()) return done(key.status());
  spec.input_dir = *key;
  spec.input_files.clear();
  for (const FileData& f : files) spec.input_files.push_back(f.name);
  auto result = std::make_shared<Result<std::vector<engine::SubmitResult>>>(
      Status(StatusCode::kInternal, "not run"));
  runtime_->Execute(
      [result, spec = std::move(spec)](engine::Engine& e) mutable {
        std::vector<engine::JobSpec> specs;
        specs.push_back(std::move(spec));
        *result = e.SubmitBatch(std::move(specs));
      },
      [this, result, key = *key, done = std::move(done)](const Status& committed) {
        if (!committed.ok() || !result->ok() || result->value().front().existed) {
          // Not stored, or the idempotency key named an earlier job, which keeps its own files.
          files_->DropInputs(key);
        }
        if (!committed.ok()) return done(committed);
        if (!result->ok()) return done(result->status());
        done(result->value().front());
      });
}

void FilesApi::SubmitWithFiles(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  Result<std::vector<MultipartPart>> parts =
      ParseMultipart(request[http::field::content_type], request.body(), limits().files_max + 16);
  if (!parts.ok()) return fail(parts.status());
  std::optional<std::string_view> job_json;
  for (const MultipartPart& p : *parts) {
    if (p.is_file) continue;
    if (p.name != "job") {
      return fail(InvalidArgument("multipart field \"" + std::string(p.name) +
                                  "\": unknown (send the job as a field \"job\", and files)"));
    }
    if (job_json) return fail(InvalidArgument("multipart field \"job\": sent twice"));
    job_json = p.data;
  }
  if (!job_json) {
    return fail(InvalidArgument(R"(multipart body: needs a field "job" holding the job's JSON)"));
  }
  Result<SubmitBody> parsed = ParseSubmitBody(*job_json, 1);
  if (!parsed.ok()) return fail(parsed.status().WithContext("job"));
  if (parsed->batch)
    return fail(InvalidArgument("job: one job per multipart submit, not an array"));
  Result<std::vector<FileData>> files = FileParts(*parts, /*compat=*/false);
  if (!files.ok()) return fail(files.status());
  if (Status s = types_->Apply(parsed->specs, false); !s.ok()) return fail(s);
  engine::JobSpec spec = std::move(parsed->specs.front());
  spec.owner = who.user;
  SubmitWithInputs(std::move(spec), *files,
                   [reply, version, keep_alive](Result<engine::SubmitResult> r) {
                     if (!r.ok()) return reply(ErrorResponse(r.status(), version, keep_alive));
                     boost::json::object o;
                     o["id"] = r->job_id;
                     o["existed"] = r->existed;
                     o["event_seq"] = r->event_seq;
                     reply(JsonResponse(r->existed ? http::status::ok : http::status::created,
                                        boost::json::serialize(o), version, keep_alive));
                   });
}

void FilesApi::JobResult(const Identity& who, engine::JobId id, const HttpRequest& request,
                         const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  access_->FindJob(who, id, [this, id, reply, version, keep_alive](Result<engine::JobRecord> job) {
    if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
    const engine::JobState state = job->status.state;
    boost::json::object o;
    o["id"] = id;
    o["state"] = engine::JobStateName(state);
    o["attempt_id"] = job->status.attempt_id;
    o["result"] = EmbeddedJson(job->status.result);
    o["error"] = job->status.error.view();
    // A failed attempt that handed in a result keeps it, next to its one-line error; its output
    // files do not count (only a successful attempt's do).
    if ((state == engine::JobState::kFailed || state == engine::JobState::kRetryWait) &&
        !job->status.result.empty()) {
      o["files"] = boost::json::array();
      return reply(JsonResponse(http::status::ok, boost::json::serialize(o), version, keep_alive));
    }
    Result<engine::AttemptId> attempt = ResultAttempt(*job);
    if (!attempt.ok()) return reply(ErrorResponse(attempt.status(), version, keep_alive));
    Result<std::vector<FileInfo>> files = CheckedOutputs(*job);
    if (!files.ok()) return reply(ErrorResponse(files.status(), version, keep_alive));
    boost::json::array list;
    for (const FileInfo& f : *files) {
      boost::json::object entry;
      entry["name"] = f.name;
      entry["size"] = f.size;
      entry["url"] = "/v1/jobs/" + std::to_string(id) + "/files/" + f.name;
      list.push_back(std::move(entry));
    }
    o["files"] = std::move(list);
    reply(JsonResponse(http::status::ok, boost::json::serialize(o), version, keep_alive));
  });
}

void FilesApi::OutputFile(const Identity& who, engine::JobId id, const std::string& name,
                          const HttpRequest& request, const Reply& reply) {
  if (Status s = ValidateFileName(name); !s.ok()) {
    return reply(ErrorResponse(s, request.version(), request.keep_alive()));
  }
  access_->FindJob(who, id, [this, id, name, request, reply](Result<engine::JobRecord> job) {
    const unsigned version = request.version();
    if (!job.ok()) return reply(ErrorResponse(job.status(), version, request.keep_alive()));
    Result<engine::AttemptId> attempt = ResultAttempt(*job);
    if (!attempt.ok()) return reply(ErrorResponse(attempt.status(), version, request.keep_alive()));
    Result<std::vector<FileInfo>> files = CheckedOutputs(*job);
    if (!files.ok()) return reply(ErrorResponse(files.status(), version, request.keep_alive()));
    if (std::none_of(files->begin(), files->end(),
                     [&](const FileInfo& f) { return f.name == name; })) {
      return reply(
          ErrorResponse(NotFound("job " + std::to_string(id) + ": no output file \"" + name + "\""),
                        version, request.keep_alive()));
    }
    Result<std::unique_ptr<store::BlobReader>> reader = files_->OpenOutput(id, *attempt, name);
    if (reader.status().code() == StatusCode::kNotFound) {
      reader = WentMissing(name, id);
    }
    if (!reader.ok()) {
      return reply(ErrorResponse(reader.status().WithContext("job " + std::to_string(id)), version,
                                 request.keep_alive()));
    }
    const uint64_t size = (*reader)->size();
    StreamDownload(blocking_, reply, DownloadHead(request, "application/octet-stream", name, size),
                   request.method() == http::verb::head,
                   BlobSource(std::move(*reader), options_.download.chunk_bytes),
                   options_.download);
  });
}

void FilesApi::OutputZip(const Identity& who, engine::JobId id, const HttpRequest& request,
                         const Reply& reply) {
  access_->FindJob(who, id, [this, request, reply](Result<engine::JobRecord> job) {
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
    Result<engine::AttemptId> attempt = ResultAttempt(*job);
    if (!attempt.ok()) return reply(ErrorResponse(attempt.status(), version, keep_alive));
    SendZipOfOutputs(*job, request, reply);
  });
}

Result<std::string> FilesApi::WorkerOf(const Identity& who, const HttpRequest& request,
                                       std::string_view what) const {
  const std::string_view name = request["Baton-Worker"];
  if (!protocol::ValidWorkerName(name)) {
    return PermissionDenied(std::string(what) +
                            ": a worker names itself in the Baton-Worker header (the worker of "
                            "its hello), and must hold the attempt");
  }
  return QualifiedWorkerId(who.user, name);
}

void FilesApi::InputFile(const Identity& who, engine::JobId id, const std::string& name,
                         const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  if (Status s = ValidateFileName(name); !s.ok()) {
    return reply(ErrorResponse(s, version, keep_alive));
  }
  // On the blocking pool.
  auto send = [this, id, name, request, reply](const std::string& input_dir) {
    Result<std::unique_ptr<store::BlobReader>> reader = files_->OpenInput(input_dir, name);
    if (!reader.ok()) {
      return reply(ErrorResponse(reader.status().WithContext("job " + std::to_string(id)),
                                 request.version(), request.keep_alive()));
    }
    const uint64_t size = (*reader)->size();
    StreamDownload(blocking_, reply, DownloadHead(request, "application/octet-stream", name, size),
                   request.method() == http::verb::head,
                   BlobSource(std::move(*reader), options_.download.chunk_bytes),
                   options_.download);
  };
  // The owner and administrators read a job's inputs; a worker only those of the attempt it
  // holds now (a worker token sees no other job, and a private worker only its user's).
  if (!who.worker || who.admin) {
    return access_->FindJob(who, id,
                            [send, reply, version, keep_alive](Result<engine::JobRecord> job) {
                              if (!job.ok())
                                return reply(ErrorResponse(job.status(), version, keep_alive));
                              send(job->spec.input_dir.str());
                            });
  }
  const std::string what = "inputs of job " + std::to_string(id);
  Result<std::string> worker = WorkerOf(who, request, what);
  if (!worker.ok()) return reply(ErrorResponse(worker.status(), version, keep_alive));
  auto held = std::make_shared<Result<std::string>>(Status(StatusCode::kInternal, "not run"));
  runtime_->Execute(
      [held, id, what, worker = *worker](engine::Engine& e) {
        const engine::JobRecord* job = e.Find(id);
        Status s = job == nullptr ? JobNotFound(id)
                                  : e.Holds(engine::AttemptRef{id, job->status.attempt_id, worker});
        if (!s.ok()) {
          *held = PermissionDenied(what +
                                   ": only the worker holding its running attempt may "
                                   "read them (" +
                                   s.message() + ")");
        } else {
          *held = job->spec.input_dir.str();
        }
      },
      [this, held, send, reply, version, keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        if (!held->ok()) return reply(ErrorResponse(held->status(), version, keep_alive));
        blocking_->Post([send, held] { send(**held); });
      });
}

void FilesApi::PutOutput(const Identity& who, engine::JobId id, engine::AttemptId attempt,
                         const std::string& name, HttpRequest&& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const std::string what =
      "output of attempt " + std::to_string(attempt) + " of job " + std::to_string(id);
  Result<std::string> worker = WorkerOf(who, request, what);
  if (!worker.ok()) return reply(ErrorResponse(worker.status(), version, keep_alive));
  if (Status s = ValidateFileName(name); !s.ok()) {
    return reply(ErrorResponse(s, version, keep_alive));
  }
  // A big upload arrives spooled to a file by the HTTP server (RequestSpool), a small one in
  // memory; the spool file goes once the answer has.
  auto body = std::make_shared<std::string>(std::move(request.body()));
  const std::string spooled(request[kSpooledBodyHeader]);
  blocking_->Post([this, id, attempt, name, body, spooled, reply, version, keep_alive,
                   worker = *worker] {
    // Written first, then checked: only the job's current, running attempt may add files, and
    // only from the worker that holds it. A refused file is removed again, and an attempt's files
    // count only if it succeeds.
    Result<uint64_t> written = spooled.empty()
                                   ? files_->WriteOutput(id, attempt, name, *body)
                                   : files_->WriteOutputFromFile(id, attempt, name, spooled);
    if (!written.ok()) return reply(ErrorResponse(written.status(), version, keep_alive));
    auto current = std::make_shared<Status>(Status::Ok());
    runtime_->Execute(
        [current, id, attempt, worker, name, size = *written](engine::Engine& e) {
          // Recorded in the job's output manifest, committed before the 201.
          Status s = e.RecordOutput(engine::AttemptRef{id, attempt, worker}, name, size);
          if (s.code() == StatusCode::kStaleAttempt) {
            s = FailedPrecondition("attempt " + std::to_string(attempt) + " of job " +
                                   std::to_string(id) + " is not running: it may not add files");
          } else if (s.code() == StatusCode::kNotFound) {
            s = JobNotFound(id);
          }
          *current = s;
        },
        [this, current, id, attempt, name, size = *written, reply, version,
         keep_alive](const Status& committed) {
          Status s = committed.ok() ? *current : committed;
          if (!s.ok()) {
            // Removing the file is I/O: not on the commit thread.
            return blocking_->Post([this, s, id, attempt, name, reply, version, keep_alive] {
              files_->RemoveOutput(id, attempt, name);
              reply(ErrorResponse(s, version, keep_alive));
            });
          }
          boost::json::object o;
          o["name"] = name;
          o["size"] = size;
          reply(
              JsonResponse(http::status::created, boost::json::serialize(o), version, keep_alive));
        });
  });
}

std::optional<FilesApi::PendingSnapshot> FilesApi::TakeSnapshot(uint64_t number,
                                                                const engine::AttemptRef& from) {
  std::lock_guard lock(snapshots_mu_);
  auto it = snapshots_.find(number);
  if (it == snapshots_.end()) return std::nullopt;
  const PendingSnapshot& p = it->second;
  // Only the worker that was asked, about the attempt it was asked about.
  if (!from.worker_id.empty() &&
      (p.job != from.job_id || p.attempt != from.attempt_id || p.worker != from.worker_id)) {
    return std::nullopt;
  }
  PendingSnapshot taken = std::move(it->second);
  snapshots_.erase(it);
  if (taken.timer) taken.timer->cancel();
  return taken;
}

void FilesApi::SnapshotFailed(uint64_t number, const engine::AttemptRef& from,
                              const std::string& error) {
  std::optional<PendingSnapshot> p = TakeSnapshot(number, from);
  if (!p) return;
  p->reply(ErrorResponse(Unavailable("job " + std::to_string(from.job_id) +
                                     ": its worker sent no partial result: " + error),
                         p->version, p->keep_alive));
}

void FilesApi::AbandonSnapshots() {
  std::unordered_map<uint64_t, PendingSnapshot> pending;
  {
    std::lock_guard lock(snapshots_mu_);
    pending.swap(snapshots_);
  }
  for (auto& [number, p] : pending) {
    if (p.timer) p.timer->cancel();
    p.reply(ErrorResponse(
        Unavailable("job " + std::to_string(p.job) + ": the server is stopping; ask again"),
        p.version, p.keep_alive));
  }
}

void FilesApi::PartialZip(const Identity& who, engine::JobId id, const HttpRequest& request,
                          const Reply& reply) {
  const bool head = request.method() == http::verb::head;
  access_->FindJob(
      who, id,
      [this, id, head, version = request.version(), keep_alive = request.keep_alive(),
       reply](Result<engine::JobRecord> job) {
        if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
        const engine::JobStatus& s = job->status;
        if (s.state != engine::JobState::kRunning) {
          return reply(ErrorResponse(
              NotFound("job " + std::to_string(id) + " is " +
                       std::string(engine::JobStateName(s.state)) +
                       ": no attempt runs, so there is no partial result (the result of a finished "
                       "job is GET /v1/jobs/" +
                       std::to_string(id) + "/output.zip)"),
              version, keep_alive));
        }
        const std::string worker = s.worker_id.str();
        uint64_t number;
        auto timer = std::make_shared<boost::asio::steady_timer>(
            blocking_->executor(), std::chrono::milliseconds(options_.snapshot_timeout_ms));
        {
          std::lock_guard lock(snapshots_mu_);
          number = ++snapshot_requests_;
          snapshots_.emplace(number, PendingSnapshot{id, s.attempt_id, worker, reply, version,
                                                     keep_alive, head, timer});
        }
        const engine::AttemptRef ref{id, s.attempt_id, ""};
        if (!hub_->RequestSnapshot(worker, id, s.attempt_id, number)) {
          if (std::optional<PendingSnapshot> p = TakeSnapshot(number, ref)) {
            p->reply(ErrorResponse(Unavailable("job " + std::to_string(id) + ": its worker " +
                                               worker + " is not connected; try again"),
                                   version, keep_alive));
          }
          return;
        }
        timer->async_wait([this, number, ref, worker](const boost::system::error_code& ec) {
          if (ec) return;  // answered
          if (std::optional<PendingSnapshot> p = TakeSnapshot(number, ref)) {
            p->reply(
                ErrorResponse(Unavailable("job " + std::to_string(ref.job_id) + ": its worker " +
                                          worker + " sent no partial result within " +
                                          std::to_string(options_.snapshot_timeout_ms) + " ms"),
                              p->version, p->keep_alive));
          }
        });
      });
}

void FilesApi::PutSnapshot(const Identity& who, engine::JobId id, engine::AttemptId attempt,
                           uint64_t number, HttpRequest&& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const std::string what =
      "snapshot of attempt " + std::to_string(attempt) + " of job " + std::to_string(id);
  Result<std::string> worker = WorkerOf(who, request, what);
  if (!worker.ok()) return reply(ErrorResponse(worker.status(), version, keep_alive));
  // Bounded like the attempt's outputs (and, before that, by the request body limit).
  if (request.body().size() > limits().output_bytes_max) {
    return reply(
        ErrorResponse(ResourceExhausted(what + ": " + std::to_string(request.body().size()) +
                                        " bytes, more than output_bytes_max (" +
                                        std::to_string(limits().output_bytes_max) + ")"),
                      version, keep_alive));
  }
  std::optional<PendingSnapshot> p = TakeSnapshot(number, engine::AttemptRef{id, attempt, *worker});
  if (!p) {
    return reply(
        ErrorResponse(NotFound(what + ": no reader waits for snapshot " + std::to_string(number) +
                               " from this worker (it timed out, or was never asked)"),
                      version, keep_alive));
  }
  HttpResponse res{http::status::ok, p->version};
  res.set(http::field::content_type, "application/zip");
  res.set(http::field::server, "baton");
  res.set(http::field::content_disposition,
          "attachment; filename=\"job-" + std::to_string(id) + "-partial.zip\"");
  res.keep_alive(p->keep_alive);
  const size_t size = request.body().size();
  if (!p->head) res.body() = std::move(request.body());
  res.prepare_payload();
  if (p->head) res.content_length(size);
  p->reply(std::move(res));
  boost::json::object o{{"size", size}};
  reply(JsonResponse(http::status::created, boost::json::serialize(o), version, keep_alive));
}

}  // namespace baton::server
