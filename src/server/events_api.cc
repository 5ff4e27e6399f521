#include "server/events_api.h"

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <limits>

#include "server/access.h"
#include "server/routes.h"

namespace baton::server {

namespace http = boost::beast::http;

void EventsApi::Stream(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  auto url = boost::urls::parse_origin_form(request.target());
  if (!url) return fail(InvalidArgument("the query string is malformed"));
  engine::EventSeq since = 0;
  engine::JobId job = 0;
  engine::WorkflowId workflow = 0;
  // A browser's EventSource resumes with Last-Event-ID; since= wins when both are given.
  if (auto it = request.find("Last-Event-ID"); it != request.end()) {
    auto n = ParseNumber(it->value(), 0, std::numeric_limits<int64_t>::max());
    if (!n) return fail(InvalidArgument("Last-Event-ID: must be an event sequence number"));
    since = *n;
  }
  for (const auto& param : url->params()) {
    const std::string key(param.key), value(param.value);
    auto n = ParseNumber(value, key == "since" ? 0 : 1, std::numeric_limits<int64_t>::max());
    if (key != "since" && key != "job" && key != "workflow") {
      return fail(InvalidArgument(key + ": unknown parameter (known: since, job, workflow)"));
    }
    if (!n) {
      return fail(InvalidArgument(key + ": must be " +
                                  (key == "job"        ? "a job id"
                                   : key == "workflow" ? "a workflow id"
                                                       : "an event sequence number") +
                                  ", got \"" + value + "\""));
    }
    (key == "job" ? job : key == "workflow" ? workflow : since) = *n;
  }
  if (workflow != 0) {
    Result<engine::WorkflowRecord> found =
        reader_->With([&](store::Store& r) { return r.GetWorkflow(workflow); });
    if (!found.ok() && found.status().code() != StatusCode::kNotFound) {
      return fail(found.status());
    }
    if (!found.ok() || !May(who, Access::kRead, found->owner)) {
      return fail(NotFound("workflow " + std::to_string(workflow) + ": not found"));
    }
  }
  if (job != 0) {
    // Another user's job is as absent as a missing one.
    Result<engine::JobRecord> found = access_->ReadStoredJob(who, job);
    if (!found.ok()) return fail(found.status());
  }
  HttpResponse head{http::status::ok, version};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set(http::field::server, "baton");
  std::shared_ptr<ResponseStream> stream = reply.Stream(std::move(head));
  if (Status s = events_->Add(stream, who.admin ? "" : who.user, job, workflow, since); !s.ok()) {
    stream->Write(": " + s.message() + "\n\n");
    stream->End();
  }
}

}  // namespace baton::server
