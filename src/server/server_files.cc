// The Server's file endpoints: submits with input files (multipart), results and output files,
// the worker's uploads and downloads, and the job-orchestrator file API.
#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>

#include "common/json.h"
#include "server/job_json.h"
#include "server/multipart.h"
#include "server/server.h"
#include "server/zip.h"

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

HttpResponse BytesResponse(std::string body, std::string_view content_type,
                           const std::string& filename, const HttpRequest& request) {
  HttpResponse res{http::status::ok, request.version()};
  res.set(http::field::content_type, content_type);
  res.set(http::field::server, "baton");
  // The last segment as the name a browser saves; quotes and control characters left out.
  std::string base = filename.substr(filename.rfind('/') + 1);
  std::erase_if(
      base, [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
  res.set(http::field::content_disposition, "attachment; filename=\"" + base + "\"");
  res.keep_alive(request.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// The file parts of a multipart body as input files, checked: a file part needs a file name
// (unless `compat`: /upload names each by CompatFileName).
Result<std::vector<FileData>> FileParts(const std::vector<MultipartPart>& parts,
                                        bool compat = false) {
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

}  // namespace

std::string CompatFileName(std::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  std::string base(slash == std::string_view::npos ? name : name.substr(slash + 1));
  if (base.empty() || base == "." || base == "..") return "file";
  return base;
}

bool IsMultipart(const HttpRequest& request) {
  return boost::algorithm::istarts_with(request[http::field::content_type], "multipart/");
}

Result<HttpResponse> Server::ZipOfOutputs(engine::JobId id, engine::AttemptId attempt,
                                          const HttpRequest& request) const {
  Result<std::vector<FileInfo>> files = files_->ListOutputs(id, attempt);
  if (!files.ok()) return files.status();
  ZipWriter zip;
  for (const FileInfo& f : *files) {
    Result<std::string> data = files_->ReadOutput(id, attempt, f.name);
    if (!data.ok()) return data.status();
    zip.Add(f.name, *data);
  }
  return BytesResponse(zip.Finish(), "application/zip", "job-" + std::to_string(id) + ".zip",
                       request);
}

void Server::SubmitWithInputs(engine::JobSpec spec, const std::vector<FileData>& files,
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

void Server::SubmitWithFiles(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  Result<std::vector<MultipartPart>> parts = ParseMultipart(
      request[http::field::content_type], request.body(), options_.files.files_max + 16);
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
  Result<std::vector<FileData>> files = FileParts(*parts);
  if (!files.ok()) return fail(files.status());
  if (Status s = ApplyTypes(parsed->specs, false); !s.ok()) return fail(s);
  engine::JobSpec spec = std::move(parsed->specs.front());
  spec.owner = who.user;
  SubmitWithInputs(std::move(spec), *files,
                   [reply, version, keep_alive](Result<engine::SubmitResult> r) {
                     if (!r.ok()) return reply(ErrorResponse(r.status(), version, keep_alive));
                     boost::json::object o;
                     o["id"] = r->job_id;
                     o["existed"] = r->existed;
                     reply(JsonResponse(r->existed ? http::status::ok : http::status::created,
                                        boost::json::serialize(o), version, keep_alive));
                   });
}

void Server::Upload(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  if (!IsMultipart(request)) {
    return fail(InvalidArgument("/upload: send multipart/form-data (curl -F file=@run.sh ...)"));
  }
  Result<std::vector<MultipartPart>> parts = ParseMultipart(
      request[http::field::content_type], request.body(), options_.files.files_max + 16);
  if (!parts.ok()) return fail(parts.status());
  std::optional<std::string> user_id, service;
  for (const MultipartPart& p : *parts) {
    if (p.is_file) continue;
    std::optional<std::string>* field = p.name == "user_id"   ? &user_id
                                        : p.name == "service" ? &service
                                                              : nullptr;
    if (field == nullptr) {
      return fail(InvalidArgument("multipart field \"" + std::string(p.name) +
                                  "\": unknown (known: file, user_id, service)"));
    }
    if (*field)
      return fail(InvalidArgument("multipart field \"" + std::string(p.name) + "\": sent twice"));
    *field = std::string(p.data);
  }
  if (!service || service->empty()) {
    return fail(InvalidArgument("service: required, the job type that runs the upload"));
  }
  if (!user_id || user_id->empty()) return fail(InvalidArgument("user_id: required"));
  // The web app's end user: a number, as job-orchestrator takes it. Quoted only when it is text
  // (an error message is JSON, and must stay valid UTF-8).
  const std::optional<uint64_t> end_user =
      ParseNumber(*user_id, 0, std::numeric_limits<int64_t>::max());
  if (!end_user) {
    return fail(InvalidArgument(
        "user_id: must be a number" +
        (baton::json::InvalidUtf8At(*user_id) == std::string_view::npos && user_id->size() <= 64
             ? ", got \"" + *user_id + "\""
             : std::string())));
  }
  // File names as job-orchestrator takes them: the last segment of the path the browser sent.
  Result<std::vector<FileData>> files = FileParts(*parts, /*compat=*/true);
  if (!files.ok()) return fail(files.status());
  // One end user, one name: "007" is user 7.
  *user_id = std::to_string(*end_user);
  bool has_run = false;
  for (const FileData& f : *files) has_run |= f.name == "run.sh";
  if (!has_run) return fail(InvalidArgument("file: one of the files must be run.sh"));
  std::vector<engine::JobSpec> specs(1);
  specs[0].type = *service;
  if (Status s = ApplyTypes(specs, false); !s.ok()) return fail(s);
  engine::JobSpec spec = std::move(specs[0]);
  // One token serves a web app's many end users: each is a user of the caller's account
  // ("webapp/2"), with a quota and a turn of its own, and the caller sees all of them.
  spec.owner = who.user + "/" + *user_id;
  spec.tags.push_back("user_id:" + *user_id);
  SubmitWithInputs(
      std::move(spec), *files,
      [reply, version, keep_alive, user_id = *user_id,
       service = *service](Result<engine::SubmitResult> r) {
        if (!r.ok()) return reply(ErrorResponse(r.status(), version, keep_alive));
        engine::JobRecord job;
        job.id = r->job_id;
        job.spec.type = service;
        job.spec.tags.push_back("user_id:" + user_id);
        job.status.state = engine::JobState::kQueued;
        boost::json::object o = CompatStatus(job);
        o["message"] = "job " + std::to_string(r->job_id) + " queued for service " + service;
        reply(JsonResponse(http::status::created, boost::json::serialize(o), version, keep_alive));
      });
}

void Server::JobResult(const Identity& who, engine::JobId id, const HttpRequest& request,
                       const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  FindJob(who, id, [this, id, reply, version, keep_alive](Result<engine::JobRecord> job) {
    if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
    Result<engine::AttemptId> attempt = ResultAttempt(*job);
    if (!attempt.ok()) return reply(ErrorResponse(attempt.status(), version, keep_alive));
    Result<std::vector<FileInfo>> files = files_->ListOutputs(id, *attempt);
    if (!files.ok()) return reply(ErrorResponse(files.status(), version, keep_alive));
    boost::json::object o;
    o["id"] = id;
    o["state"] = engine::JobStateName(job->status.state);
    o["attempt_id"] = *attempt;
    o["result"] = EmbeddedJson(job->status.result);
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

void Server::OutputFile(const Identity& who, engine::JobId id, const std::string& name,
                        const HttpRequest& request, const Reply& reply) {
  if (Status s = ValidateFileName(name); !s.ok()) {
    return reply(ErrorResponse(s, request.version(), request.keep_alive()));
  }
  FindJob(who, id, [this, id, name, request, reply](Result<engine::JobRecord> job) {
    const unsigned version = request.version();
    if (!job.ok()) return reply(ErrorResponse(job.status(), version, request.keep_alive()));
    Result<engine::AttemptId> attempt = ResultAttempt(*job);
    if (!attempt.ok()) return reply(ErrorResponse(attempt.status(), version, request.keep_alive()));
    Result<std::string> data = files_->ReadOutput(id, *attempt, name);
    if (!data.ok()) {
      return reply(ErrorResponse(data.status().WithContext("job " + std::to_string(id)), version,
                                 request.keep_alive()));
    }
    reply(BytesResponse(std::move(*data), "application/octet-stream", name, request));
  });
}

void Server::OutputZip(const Identity& who, engine::JobId id, const HttpRequest& request,
                       const Reply& reply) {
  FindJob(who, id, [this, id, request, reply](Result<engine::JobRecord> job) {
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
    Result<engine::AttemptId> attempt = ResultAttempt(*job);
    if (!attempt.ok()) return reply(ErrorResponse(attempt.status(), version, keep_alive));
    Result<HttpResponse> zip = ZipOfOutputs(id, *attempt, request);
    if (!zip.ok()) return reply(ErrorResponse(zip.status(), version, keep_alive));
    reply(std::move(*zip));
  });
}

Result<std::string> Server::WorkerOf(const Identity& who, const HttpRequest& request,
                                     std::string_view what) const {
  const std::string_view name = request["Baton-Worker"];
  if (!who.worker && !who.admin) {
    return PermissionDenied(std::string(what) + ": only a worker may do this");
  }
  if (!ValidWorkerId(name)) {
    return PermissionDenied(std::string(what) +
                            ": a worker names itself in the Baton-Worker header (the worker of "
                            "its hello), and must hold the attempt");
  }
  return QualifiedWorkerId(who.user, name);
}

void Server::InputFile(const Identity& who, engine::JobId id, const std::string& name,
                       const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  if (Status s = ValidateFileName(name); !s.ok()) {
    return reply(ErrorResponse(s, version, keep_alive));
  }
  // On the blocking pool.
  auto send = [this, id, name, request, reply](const std::string& input_dir) {
    Result<std::string> data = files_->ReadInput(input_dir, name);
    if (!data.ok()) {
      return reply(ErrorResponse(data.status().WithContext("job " + std::to_string(id)),
                                 request.version(), request.keep_alive()));
    }
    reply(BytesResponse(std::move(*data), "application/octet-stream", name, request));
  };
  // The owner and administrators read a job's inputs; a worker only those of the attempt it
  // holds now (a worker token sees no other job, and a private worker only its user's).
  if (!who.worker || who.admin) {
    return FindJob(who, id, [send, reply, version, keep_alive](Result<engine::JobRecord> job) {
      if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
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
        Blocking([send, held] { send(**held); });
      });
}

void Server::PutOutput(const Identity& who, engine::JobId id, engine::AttemptId attempt,
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
  auto body = std::make_shared<std::string>(std::move(request.body()));
  Blocking([this, id, attempt, name, body, reply, version, keep_alive, worker = *worker] {
    // Written first, then checked: only the job's current, running attempt may add files, and
    // only from the worker that holds it. A refused file is removed again, and an attempt's files
    // count only if it succeeds.
    Status written = files_->WriteOutput(id, attempt, name, *body);
    if (!written.ok()) return reply(ErrorResponse(written, version, keep_alive));
    auto current = std::make_shared<Status>(Status::Ok());
    runtime_->Execute(
        [current, id, attempt, worker](engine::Engine& e) {
          Status s = e.Holds(engine::AttemptRef{id, attempt, worker});
          if (s.code() == StatusCode::kStaleAttempt) {
            s = FailedPrecondition("attempt " + std::to_string(attempt) + " of job " +
                                   std::to_string(id) + " is not running: it may not add files");
          } else if (s.code() == StatusCode::kNotFound) {
            s = JobNotFound(id);
          }
          *current = s;
        },
        [this, current, id, attempt, name, body, reply, version,
         keep_alive](const Status& committed) {
          Status s = committed.ok() ? *current : committed;
          if (!s.ok()) {
            // Removing the file is I/O: not on the commit thread.
            return Blocking([this, s, id, attempt, name, reply, version, keep_alive] {
              files_->RemoveOutput(id, attempt, name);
              reply(ErrorResponse(s, version, keep_alive));
            });
          }
          boost::json::object o;
          o["name"] = name;
          o["size"] = body->size();
          reply(
              JsonResponse(http::status::created, boost::json::serialize(o), version, keep_alive));
        });
  });
}

void Server::Download(const Identity& who, engine::JobId id, const HttpRequest& request,
                      Reply reply) {
  FindJob(who, id, [this, id, request, reply](Result<engine::JobRecord> job) {
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    const bool head = request.method() == http::verb::head;
    auto send = [&](HttpResponse res) {
      if (head) {
        const size_t size = res.body().size();
        res.body().clear();
        res.content_length(size);
      }
      reply(std::move(res));
    };
    if (!job.ok()) return send(ErrorResponse(job.status(), version, keep_alive));
    const std::string_view status = CompatStatusName(job->status.state);
    if (status == "Completed") {
      Result<HttpResponse> zip = ZipOfOutputs(id, job->status.attempt_id, request);
      if (!zip.ok()) return send(ErrorResponse(zip.status(), version, keep_alive));
      return send(std::move(*zip));
    }
    // Not done yet: 202 with the status; ended without a result: 410, as job-orchestrator does.
    const http::status code =
        status == "Failed" || status == "Killed" ? http::status::gone : http::status::accepted;
    send(JsonResponse(code, boost::json::serialize(CompatStatus(*job)), version, keep_alive));
  });
}

}  // namespace baton::server
