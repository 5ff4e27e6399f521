#include "server/jobs_api.h"

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <limits>

#include "server/downloads.h"
#include "server/job_json.h"
#include "server/routes.h"

namespace baton::server {

namespace http = boost::beast::http;

void JobsApi::GetLog(const Identity& who, engine::JobId id, const Call& call) {
  const unsigned version = call.request.version();
  const bool keep_alive = call.request.keep_alive();
  // ?offset=N: from byte N on; ?follow=1: and then as it grows, until the job ends.
  uint64_t offset = 0;
  bool follow = false;
  for (const auto& param : call.url.params()) {
    std::optional<uint64_t> n;
    if (param.key == "offset") n = ParseNumber(param.value, 0, 1ULL << 40);
    if (param.key == "follow") n = ParseNumber(param.value, 0, 1);
    if (!n) {
      return call.reply(ErrorResponse(
          InvalidArgument("logs: the parameters are offset=BYTES and follow=0|1, got \"" +
                          std::string(call.url.encoded_query()) + "\""),
          version, keep_alive));
    }
    if (param.key == "offset") {
      offset = *n;
    } else {
      follow = *n == 1;
    }
  }
  access_->FindJob(who, id,
                   [this, offset, follow, reply = call.reply, version,
                    keep_alive](Result<engine::JobRecord> job) {
                     if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
                     if (follow) return FollowLog(*job, offset, version, reply);
                     SendLog(*job, offset, version, keep_alive, reply);
                   });
}

void JobsApi::SendLog(const engine::JobRecord& job, uint64_t offset, unsigned version,
                      bool keep_alive, const Reply& reply) {
  Result<uint64_t> size = logs_->Size(job.id);
  if (!size.ok()) return reply(ErrorResponse(size.status(), version, keep_alive));
  // The log as it is now, from `offset`: what is appended meanwhile is for the next read.
  const uint64_t length = *size > offset ? *size - offset : 0;
  HttpResponse head{http::status::ok, version};
  head.set(http::field::content_type, "text/plain; charset=utf-8");
  head.set(http::field::server, "baton");
  head.keep_alive(keep_alive);
  head.set("Baton-Job-State", engine::JobStateName(job.status.state));
  head.content_length(length);
  struct Cursor {
    uint64_t at, left;
  };
  auto cursor = std::make_shared<Cursor>(Cursor{offset, length});
  const size_t chunk = options_.download.chunk_bytes;
  ChunkSource source = [logs = logs_, id = job.id, cursor, chunk]() -> Result<std::string> {
    if (cursor->left == 0) return std::string();
    BATON_ASSIGN_OR_RETURN(std::string data,
                           logs->Read(id, cursor->at, std::min<uint64_t>(chunk, cursor->left)));
    if (data.empty()) return DataLoss("the log of job " + std::to_string(id) + " shrank");
    cursor->at += data.size();
    cursor->left -= data.size();
    return data;
  };
  StreamDownload(blocking_, reply, std::move(head), false, std::move(source), options_.download);
}

void JobsApi::FollowLog(const engine::JobRecord& job, uint64_t offset, unsigned version,
                        const Reply& reply) {
  HttpResponse head{http::status::ok, version};
  head.set(http::field::content_type, "text/plain; charset=utf-8");
  head.set(http::field::cache_control, "no-cache");
  head.set(http::field::server, "baton");
  std::shared_ptr<ResponseStream> stream = reply.Stream(std::move(head));
  if (Status s = logs_->Follow(job.id, offset, stream); !s.ok()) {
    stream->Write("\n[baton: " + s.message() + "]\n");
    stream->End();
    return;
  }
  const engine::JobId id = job.id;
  if (engine::IsTerminal(job.status.state)) return logs_->Finish(id);  // all of it was written
  // Ending while the follower was being added: then it ends now (a job's end after this check
  // reaches the follower through on_jobs_finished).
  auto ended = std::make_shared<bool>(false);
  runtime_->Execute(
      [ended, id](engine::Engine& e) {
        const engine::JobRecord* now = e.Find(id);
        *ended = now == nullptr || engine::IsTerminal(now->status.state);
      },
      [this, ended, id](const Status&) {
        if (*ended) logs_->Finish(id);
      });
}

void JobsApi::SubmitJobs(const Identity& who, const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  Result<SubmitBody> parsed = ParseSubmitBody(request.body(), options_.batch_max);
  if (!parsed.ok()) return reply(ErrorResponse(parsed.status(), version, keep_alive));
  for (engine::JobSpec& spec : parsed->specs) spec.owner = who.user;
  if (Status st = types_->Apply(parsed->specs, parsed->batch); !st.ok()) {
    return reply(ErrorResponse(st, version, keep_alive));
  }
  const bool batch = parsed->batch;
  auto result = std::make_shared<Result<std::vector<engine::SubmitResult>>>(
      Status(StatusCode::kInternal, "not run"));
  runtime_->Execute([result, specs = std::move(parsed->specs)](
                        engine::Engine& e) mutable { *result = e.SubmitBatch(std::move(specs)); },
                    // The answer leaves only after the commit: 201 means the jobs are on disk.
                    [result, batch, reply, version, keep_alive](const Status& committed) {
                      if (!committed.ok())
                        return reply(ErrorResponse(committed, version, keep_alive));
                      if (!result->ok())
                        return reply(ErrorResponse(result->status(), version, keep_alive));
                      boost::json::array jobs;
                      bool created = false;
                      for (const engine::SubmitResult& r : **result) {
                        boost::json::object o;
                        o["id"] = r.job_id;
                        o["existed"] = r.existed;
                        o["event_seq"] = r.event_seq;
                        created |= !r.existed;
                        jobs.push_back(std::move(o));
                      }
                      std::string body;
                      if (batch) {
                        boost::json::object o;
                        o["jobs"] = std::move(jobs);
                        body = boost::json::serialize(o);
                      } else {
                        body = boost::json::serialize(jobs.front());
                      }
                      reply(JsonResponse(created ? http::status::created : http::status::ok,
                                         std::move(body), version, keep_alive));
                    });
}

void JobsApi::GetJob(const Identity& who, engine::JobId id, const HttpRequest& request,
                     const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto waiting_for = std::make_shared<std::string>();
  auto as_of = std::make_shared<engine::EventSeq>(0);
  access_->FindJob(
      who, id,
      [reply, version, keep_alive, waiting_for, as_of](Result<engine::JobRecord> job) {
        if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
        boost::json::object o = JobToJson(*job);
        // Follow GET /v1/events?since=event_seq&job=ID for every change after this answer.
        o["event_seq"] = *as_of;
        // Why it is not running yet (its run_after, its back-off, a quota, no worker...).
        if (waiting_for->empty()) {
          o["waiting_for"] = nullptr;
        } else {
          o["waiting_for"] = *waiting_for;
        }
        reply(JsonResponse(http::status::ok, boost::json::serialize(o), version, keep_alive));
      },
      waiting_for, as_of);
}

namespace {

// The paging and filter parameters of a job listing: status, limit, cursor, and with `typed`
// also type.
Status ParseJobQuery(const boost::urls::params_view& params, bool typed, store::JobQuery* query) {
  for (const auto& param : params) {
    const std::string key(param.key), value(param.value);
    if (key == "status") {
      query->state = engine::ParseJobState(value);
      if (!query->state) {
        return InvalidArgument(
            "status: must be a job state (pending, queued, running, submitted, "
            "waiting_children, retry_wait, succeeded, failed, cancelled), got \"" +
            value + "\"");
      }
    } else if (key == "type" && typed) {
      query->type = value;
    } else if (key == "limit") {
      auto n = ParseNumber(value, 1, 1000);
      if (!n)
        return InvalidArgument("limit: must be a number from 1 to 1000, got \"" + value + "\"");
      query->limit = *n;
    } else if (key == "cursor") {
      auto n = ParseNumber(value, 1, std::numeric_limits<int64_t>::max());
      if (!n) {
        return InvalidArgument("cursor: must be the next_cursor of a page, got \"" + value + "\"");
      }
      query->before = *n;
    } else {
      return InvalidArgument(key + ": unknown parameter (known: status, " +
                             (typed ? "type, " : "") + "limit, cursor)");
    }
  }
  return Status::Ok();
}

boost::json::object JobPageJson(const store::JobPage& page, const char* name) {
  boost::json::array jobs;
  for (const engine::JobRecord& job : page.jobs) jobs.push_back(JobToJson(job));
  boost::json::object o;
  o[name] = std::move(jobs);
  if (page.next != 0) {
    o["next_cursor"] = page.next;
  } else {
    o["next_cursor"] = nullptr;
  }
  return o;
}

}  // namespace

void JobsApi::ListJobs(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  auto url = boost::urls::parse_origin_form(request.target());
  if (!url) return fail(InvalidArgument("the query string is malformed"));
  store::JobQuery query;
  if (!who.admin) query.owner = who.user;  // users list their own jobs only
  if (Status s = ParseJobQuery(url->params(), true, &query); !s.ok()) return fail(s);
  Result<store::JobPage> page = reader_->With([&](store::Store& r) { return r.ListJobs(query); });
  if (!page.ok()) return fail(page.status());
  reply(JsonResponse(http::status::ok, boost::json::serialize(JobPageJson(*page, "jobs")), version,
                     keep_alive));
}

void JobsApi::ListChildren(const Identity& who, engine::JobId id, const HttpRequest& request,
                           const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto url = boost::urls::parse_origin_form(request.target());
  store::JobQuery query;
  query.parent_id = id;
  Status parsed = url ? ParseJobQuery(url->params(), false, &query)
                      : InvalidArgument("the query string is malformed");
  if (!parsed.ok()) return reply(ErrorResponse(parsed, version, keep_alive));
  access_->FindJob(
      who, id, [this, query, reply, version, keep_alive](Result<engine::JobRecord> parent) {
        if (!parent.ok()) return reply(ErrorResponse(parent.status(), version, keep_alive));
        Result<std::array<uint64_t, engine::kJobStateCount>> counts = Internal("not read");
        Result<store::JobPage> page = reader_->With([&](store::Store& r) {
          Result<store::JobPage> p = r.ListJobs(query);
          counts = p.ok() ? r.CountChildren(query.parent_id) : p.status();
          return p;
        });
        if (!page.ok()) return reply(ErrorResponse(page.status(), version, keep_alive));
        if (!counts.ok()) return reply(ErrorResponse(counts.status(), version, keep_alive));
        boost::json::object o = JobPageJson(*page, "children");
        boost::json::object summary;
        for (engine::JobState st : engine::kAllJobStates) {
          if (uint64_t n = (*counts)[static_cast<size_t>(st)])
            summary[engine::JobStateName(st)] = n;
        }
        o["summary"] = std::move(summary);
        o["parent"] = ChildrenStatusJson(*parent);
        reply(JsonResponse(http::status::ok, boost::json::serialize(o), version, keep_alive));
      });
}

// The job's ended attempts, as committed, oldest first (the running one is in the job's status).
void JobsApi::ListAttempts(const Identity& who, engine::JobId id, const HttpRequest& request,
                           const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  access_->FindJob(
      who, id, [this, id, reply, version, keep_alive](const Result<engine::JobRecord>& job) {
        if (!job.ok()) return reply(ErrorResponse(job.status(), version, keep_alive));
        Result<std::vector<engine::AttemptRecord>> attempts =
            reader_->With([id](store::Store& r) { return r.ListAttempts(id); });
        if (!attempts.ok()) return reply(ErrorResponse(attempts.status(), version, keep_alive));
        boost::json::array out;
        for (const engine::AttemptRecord& a : *attempts) {
          out.push_back({{"attempt", a.id},
                         {"number", a.number},
                         {"worker", a.worker_id},
                         {"started_ms", a.started_ms},
                         {"ended_ms", a.ended_ms},
                         {"outcome", engine::OutcomeName(a.outcome)},
                         {"error", a.error},
                         {"result", EmbeddedJson(a.result)}});
        }
        boost::json::object o{{"job", id}, {"attempts", std::move(out)}};
        reply(JsonResponse(http::status::ok, boost::json::serialize(o), version, keep_alive));
      });
}

void JobsApi::RetryJobs(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  // {"status": "failed" | "cancelled", "type": "...", "limit": N}: the newest matching first.
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(request.body().empty() ? "{}" : request.body(), ec);
  if (ec || !v.is_object()) return fail(InvalidArgument("body: must be a JSON object"));
  store::JobQuery query;
  query.state = engine::JobState::kFailed;
  size_t limit = 1000;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "status") {
      auto s = value.is_string() ? engine::ParseJobState(value.as_string()) : std::nullopt;
      if (!s || (*s != engine::JobState::kFailed && *s != engine::JobState::kCancelled)) {
        return fail(engine::Wrong("status", "\"failed\" or \"cancelled\"", value));
      }
      query.state = *s;
    } else if (key == "type") {
      Result<std::string> t = engine::String(value, "type");
      if (!t.ok()) return fail(t.status());
      query.type = std::move(*t);
    } else if (key == "limit") {
      auto n = engine::Int(value, "limit", 1, static_cast<int64_t>(options_.retry_jobs_max));
      if (!n.ok()) return fail(n.status());
      limit = static_cast<size_t>(*n);
    } else {
      return fail(InvalidArgument(std::string(key) + ": unknown field (known: status, type, "
                                                     "limit)"));
    }
  }
  if (!who.admin) query.owner = who.user;
  blocking_->Post([this, query, limit, reply, version, keep_alive]() mutable {
    auto reading = gate_->Reading();  // from the read until the loads are queued
    // Read from the store, newest first, page by page.
    auto jobs = std::make_shared<std::vector<engine::JobRecord>>();
    while (jobs->size() < limit) {
      query.limit = std::min<size_t>(1000, limit - jobs->size());
      Result<store::JobPage> page =
          reader_->With([&](store::Store& r) { return r.ListJobs(query); });
      if (!page.ok()) return reply(ErrorResponse(page.status(), version, keep_alive));
      for (engine::JobRecord& r : page->jobs) jobs->push_back(std::move(r));
      if (page->next == 0) break;
      query.before = page->next;
    }
    auto retried = std::make_shared<boost::json::array>();
    auto errors = std::make_shared<boost::json::array>();
    runtime_->Execute(
        [this, jobs, retried, errors](engine::Engine& e) {
          for (engine::JobRecord& r : *jobs) {
            const engine::JobId id = r.id;
            Status s = e.Find(id) != nullptr ? Status::Ok()
                       : gate_->MayLoad(id)  ? e.Load(std::move(r))
                                             : JobNotFound(id);
            if (s.ok()) s = e.Retry(id);
            if (s.ok()) {
              retried->emplace_back(id);
            } else {
              errors->push_back(boost::json::object{{"id", id}, {"message", s.message()}});
            }
          }
        },
        [retried, errors, reply, version, keep_alive](const Status& committed) {
          if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
          boost::json::object o;
          o["count"] = retried->size();
          o["retried"] = std::move(*retried);
          o["errors"] = std::move(*errors);
          reply(JsonResponse(http::status::ok, boost::json::serialize(o), version, keep_alive));
        });
  });
}

}  // namespace baton::server
