#include "server/compat_api.h"

#include <boost/json.hpp>
#include <limits>
#include <optional>

#include "common/json.h"
#include "server/job_json.h"
#include "server/multipart.h"

namespace baton::server {

namespace http = boost::beast::http;

void CompatApi::Upload(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  if (!IsMultipart(request)) {
    return fail(InvalidArgument("/upload: send multipart/form-data (curl -F file=@run.sh ...)"));
  }
  Result<std::vector<MultipartPart>> parts = ParseMultipart(
      request[http::field::content_type], request.body(), files_->limits().files_max + 16);
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
  if (Status s = types_->Apply(specs, false); !s.ok()) return fail(s);
  engine::JobSpec spec = std::move(specs[0]);
  // One token serves a web app's many end users: each is a user of the caller's account
  // ("webapp/2"), with a quota and a turn of its own, and the caller sees all of them.
  spec.owner = who.user + "/" + *user_id;
  spec.tags.push_back("user_id:" + *user_id);
  files_->SubmitWithInputs(
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

void CompatApi::Download(const Identity& who, engine::JobId id, const Call& c) {
  for (const auto& param : c.url.params()) {
    if (param.key != "partial" || (param.value != "0" && param.value != "1")) {
      return c.reply(
          ErrorResponse(InvalidArgument("download: the one parameter is partial=0|1, got \"" +
                                        std::string(c.url.encoded_query()) + "\""),
                        c.request.version(), c.request.keep_alive()));
    }
    if (param.value == "1") return files_->PartialZip(who, id, c.request, c.reply);
  }
  DownloadOutputs(who, id, c.request, c.reply);
}

void CompatApi::Terminate(const Identity& who, engine::JobId id, const HttpRequest& request,
                          const Reply& reply) {
  access_->JobCommand(
      who, id, request, reply,
      [](engine::Engine& e, engine::JobId j) { return e.Cancel(j, "terminated"); }, nullptr,
      CompatStatus);
}

void CompatApi::DownloadOutputs(const Identity& who, engine::JobId id, const HttpRequest& request,
                                Reply reply) {
  access_->FindJob(who, id, [this, id, request, reply](Result<engine::JobRecord> job) {
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    const bool head = request.method() == http::verb::head;
    auto send = [&](HttpResponse res) { reply(head ? HeadOf(std::move(res)) : std::move(res)); };
    if (!job.ok()) return send(ErrorResponse(job.status(), version, keep_alive));
    const std::string_view status = CompatStatusName(job->status.state);
    if (status == "Completed") {
      return files_->SendZipOfOutputs(*job, request, reply);
    }
    // Not done yet: 202 with the status; ended without a result: 410, as job-orchestrator does.
    const http::status code =
        status == "Failed" || status == "Killed" ? http::status::gone : http::status::accepted;
    send(JsonResponse(code, boost::json::serialize(CompatStatus(*job)), version, keep_alive));
  });
}

}  // namespace baton::server
