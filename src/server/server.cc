#include "server/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "server/config.h"
#include "server/job_json.h"

namespace baton::server {

Status ParseListen(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return InvalidArgument("--listen: expected HOST:PORT, got \"" + text + "\"");
  }
  const std::string port_text = text.substr(colon + 1);
  std::optional<uint64_t> value = ParseNumber(port_text, 0, 65535);
  if (!value) {
    return InvalidArgument("--listen: the port must be a number from 0 to 65535, got \"" +
                           port_text + "\"");
  }
  *host = text.substr(0, colon);
  *port = static_cast<uint16_t>(*value);
  return Status::Ok();
}

// The body of a job or workflow command: empty, or {"reason": "text"}.
Status ResolveStore(ServerOptions& options, bool data_given) {
  if (options.store.empty()) {
    options.store = "sqlite:" + options.data_dir;
    return Status::Ok();
  }
  if (!options.store.starts_with("sqlite:")) return Status::Ok();
  const std::string dir = options.store.substr(7);
  auto normal = [](const std::string& path) {
    std::string p = std::filesystem::path(path).lexically_normal().string();
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
  };
  if (data_given && !dir.empty() && normal(dir) != normal(options.data_dir)) {
    return InvalidArgument("--store " + options.store + " and --data " + options.data_dir +
                           " name two directories; a sqlite store is the data directory, so "
                           "give one of them");
  }
  if (!dir.empty()) options.data_dir = dir;
  return Status::Ok();
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  std::unique_ptr<Server> s(new Server(std::move(options)));
  if (!s->options_.types_file.empty()) {
    BATON_ASSIGN_OR_RETURN(s->types_, TypeRegistry::Load(s->options_.types_file));
  } else if (s->options_.strict_types) {
    return InvalidArgument("--strict-types needs --types FILE: no type would be allowed");
  }
  s->types_.set_strict(s->options_.strict_types);
  if (!s->options_.config_file.empty()) {
    BATON_ASSIGN_OR_RETURN(s->config_, LoadConfig(s->options_.config_file));
  }
  BATON_RETURN_IF_ERROR(ResolveStore(s->options_, false));
  // The data directory, and this server's lock on it, before anything else touches it.
  const std::string& data = s->options_.data_dir;
  std::error_code ec;
  const bool made = std::filesystem::create_directories(data, ec);
  if (ec) return Unavailable("--data " + data + ": cannot create it: " + ec.message());
  ::chmod(data.c_str(), 0700);  // the data is the users' jobs: owner only
  BATON_ASSIGN_OR_RETURN(s->lock_, DataLock::Acquire(data));
  auto database = store::OpenDatabase(s->options_.store, s->options_.database);
  if (!database.ok()) {
    if (made) {  // a store it cannot open leaves nothing behind
      s->lock_.reset();
      std::filesystem::remove(data + "/server.lock", ec);
      std::filesystem::remove(data, ec);
    }
    return database.status();
  }
  s->database_ = std::move(*database);
  BATON_ASSIGN_OR_RETURN(s->store_, s->database_->Connect());
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> reader, s->database_->Connect());
  s->reader_ = std::make_unique<StoreReader>(std::move(reader));
  BATON_ASSIGN_OR_RETURN(s->tokens_, s->database_->ConnectTokens());
  s->auth_ = std::make_unique<Auth>(s->tokens_.get(), &s->clock_);
  BATON_RETURN_IF_ERROR(s->EnsureAdminToken());
  BATON_ASSIGN_OR_RETURN(s->logs_,
                         JobLogs::Open(s->options_.data_dir + "/logs", s->options_.log_bytes_max,
                                       s->options_.log_followers_max));
  BATON_ASSIGN_OR_RETURN(s->files_, JobFiles::Open(s->options_.data_dir, s->options_.files));
  // Inputs of a submit that crashed before its commit: no job names them.
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::StoreAdmin> admin, s->database_->ConnectAdmin());
  Result<size_t> orphans = s->files_->RemoveOrphanInputs(
      [&admin](const std::string& key) { return admin->InputDirInUse(key); });
  if (!orphans.ok()) return orphans.status().WithContext("clean up input files");
  s->blocking_ = std::make_unique<BlockingPool>(s->options_.blocking_threads);
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> event_reader, s->database_->Connect());
  s->events_ = std::make_unique<EventStreams>(std::move(event_reader), 0, s->options_.events);
  s->hub_ = std::make_unique<WorkerHub>(&s->clock_, s->options_.workers);
  Server* self = s.get();
  s->hub_->SetSpecCheck(
      [self](std::vector<engine::JobSpec>& specs) { return self->types_.Apply(specs, true); });
  s->hub_->SetResourceCheck([self](const engine::Resources& r) {
    return engine::CheckWorkerResources(self->config_.scheduling, r);
  });
  s->hub_->SetSnapshotSink(
      [self](uint64_t number, const engine::AttemptRef& from, const std::string& error) {
        std::optional<PendingSnapshot> p = self->TakeSnapshot(number, from);
        if (!p) return;
        p->reply(ErrorResponse(Unavailable("job " + std::to_string(from.job_id) +
                                           ": its worker sent no partial result: " + error),
                               p->version, p->keep_alive));
      });
  RuntimeOptions runtime_options = s->options_.runtime;
  runtime_options.on_engine = [self](engine::Engine& e) {
    e.SetTypes(self->types_.EngineDefaults());
    e.SetPolicy(self->config_.scheduling);
    self->hub_->Reattach(e);
  };
  runtime_options.on_pass = [self](engine::Engine& e, auto* after) {
    self->hub_->OnPass(e, after);
  };
  runtime_options.on_notices = [self](const std::vector<engine::Notice>& notices) {
    self->hub_->Notify(notices);
  };
  runtime_options.on_events_committed = [self](engine::EventSeq last) {
    self->events_->Committed(last);
  };
  runtime_options.on_jobs_finished = [self](const std::vector<engine::JobId>& jobs) {
    for (engine::JobId job : jobs) self->logs_->Finish(job);
  };
  BATON_ASSIGN_OR_RETURN(s->runtime_,
                         Runtime::Start(s->store_.get(), &s->clock_, std::move(runtime_options)));
  s->access_ = std::make_unique<JobAccess>(s->runtime_.get(), s->reader_.get(), s->blocking_.get(),
                                           &s->gate_);
  // The API's modules, each with what it needs and nothing else.
  s->workflows_ = std::make_unique<WorkflowsApi>(s->runtime_.get(), s->reader_.get(),
                                                 s->blocking_.get(), &s->types_);
  s->scheduling_ =
      std::make_unique<SchedulingApi>(s->runtime_.get(), s->hub_.get(), &s->types_, &s->config_);
  s->tokens_api_ = std::make_unique<TokensApi>(s->auth_.get());
  s->events_api_ =
      std::make_unique<EventsApi>(s->events_.get(), s->reader_.get(), s->access_.get());
  s->hub_->Attach(s->runtime_.get(),
                  [self](engine::JobId job, engine::AttemptId, const std::string&,
                         const std::string& data) { self->logs_->Append(job, data); });
  Result<engine::EventSeq> last_event =
      s->runtime_->Call([](engine::Engine& e) { return e.Stats().event_seq_last; }).get();
  if (!last_event.ok()) return last_event.status();
  s->events_->Committed(*last_event);
  auto http = HttpServer::Start(
      s->options_.host, s->options_.port, s->options_.http,
      [self](HttpRequest&& request, Reply reply) {
        self->Handle(std::move(request), std::move(reply));
      },
      [self](const HttpRequest& request,
             const std::shared_ptr<WebSocket>& socket) -> Result<WebSocketHandlers> {
        if (request.target() != "/v1/workers/connect") {
          return NotFound(std::string(request.target()) +
                          ": no WebSocket endpoint here (workers connect to /v1/workers/connect)");
        }
        Result<Identity> who = self->auth_->Authenticate(request[http::field::authorization]);
        if (!who.ok()) return who.status();
        return self->hub_->Connect(*who, socket);
      });
  if (!http.ok()) return http.status();
  s->http_ = std::move(*http);
  BATON_ASSIGN_OR_RETURN(s->cleaner_reader_, s->database_->Connect());
  s->StartCleaner();
  return s;
}

Server::~Server() { Stop(); }

// The administrator's token lives in DIR/admin.token (mode 0600). It is made at the first start,
// and made again if the file is gone or no longer names a token of this database.
Status Server::EnsureAdminToken() {
  const std::string path = admin_token_path();
  {
    std::ifstream in(path);
    std::string token;
    if (in && std::getline(in, token) && auth_->Authenticate("Bearer " + token).ok()) {
      return Status::Ok();
    }
  }
  Result<std::string> token = auth_->Create({"admin", true, false});
  if (!token.ok()) return token.status().WithContext("create the admin token");
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("write " + path + ": " + std::strerror(errno));
  const std::string line = *token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) return Unavailable("write " + path + ": short write");
  return Status::Ok();
}

// How long a stopping server waits for the answers of the requests it took to be written.
constexpr int64_t kStopAnswersMs = 5000;

void Server::Stop() {
  // Graceful, in this order: no new connections or requests; workers go (they send what is
  // unacknowledged again to the next server); the runtime commits what it took and answers every
  // caller, whose answers are written before the connections close; then the store.
  StopCleaner();
  if (http_) http_->StopAccepting();
  if (hub_) hub_->CloseAll();
  AbandonSnapshots();  // their timers would hold up the blocking pool's join
  if (runtime_) runtime_->Stop();
  if (blocking_) blocking_->Join();  // what the last commits handed over finishes
  if (http_ && !http_->WaitIdle(kStopAnswersMs)) {
    std::fprintf(stderr, "baton server: stopping: some answers were not written within %lld ms\n",
                 static_cast<long long>(kStopAnswersMs));
  }
  if (events_) events_->Stop();
  if (logs_) logs_->FinishAll();
  if (http_) http_->Stop();  // before the runtime goes: handlers run on its threads
  runtime_.reset();
  http_.reset();
  access_.reset();
  workflows_.reset();
  scheduling_.reset();
  tokens_api_.reset();
  events_api_.reset();
  blocking_.reset();
  events_.reset();
  hub_.reset();
  store_.reset();
  reader_.reset();
  cleaner_reader_.reset();
  auth_.reset();
  tokens_.reset();
  database_.reset();
  lock_.reset();  // last: another server may start on the directory now
}

void Server::Handle(HttpRequest&& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& st) { reply(ErrorResponse(st, version, keep_alive)); };
  auto url = boost::urls::parse_origin_form(request.target());
  std::vector<std::string> segments;  // decoded
  if (url) segments.assign(url->segments().begin(), url->segments().end());
  RouteArgs args;
  RoutePatterns::Match match;
  const Route<Server>* route = Routes().Find(request.method(), segments, &args, &match);
  Identity who;
  if (route == nullptr || route->caller != Caller::kAnyone) {
    // Every endpoint but the open ones is for a token's holder; one without a token learns not
    // even whether an endpoint exists.
    Result<Identity> found = auth_->Authenticate(request[http::field::authorization]);
    if (!found.ok()) return fail(found.status());
    who = std::move(*found);
  }
  if (!url) return fail(InvalidArgument("the request target is malformed"));
  if (route == nullptr) {
    if (!match.error.ok()) return fail(match.error);
    return fail(NotFound(std::string(request.method_string()) + " " +
                         std::string(request.target()) + ": no such endpoint"));
  }
  if (Status s = CheckCaller(who, route->caller,
                             std::string(request.method_string()) + " " + std::string(url->path()));
      !s.ok()) {
    return fail(s);
  }
  Call call{who, args, request, reply, *url};
  route->handle(*this, call);
}

void Server::FollowLog(const engine::JobRecord& job, uint64_t offset, unsigned version,
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

void Server::SubmitJobs(const Identity& who, const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  Result<SubmitBody> parsed = ParseSubmitBody(request.body(), options_.batch_max);
  if (!parsed.ok()) return reply(ErrorResponse(parsed.status(), version, keep_alive));
  for (engine::JobSpec& spec : parsed->specs) spec.owner = who.user;
  if (Status st = types_.Apply(parsed->specs, parsed->batch); !st.ok()) {
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

void Server::GetJob(const Identity& who, engine::JobId id, const HttpRequest& request,
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

void Server::ListJobs(const Identity& who, const HttpRequest& request, Reply reply) {
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

void Server::ListChildren(const Identity& who, engine::JobId id, const HttpRequest& request,
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
void Server::ListAttempts(const Identity& who, engine::JobId id, const HttpRequest& request,
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

void Server::RetryJobs(const Identity& who, const HttpRequest& request, Reply reply) {
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
    auto reading = gate_.Reading();  // from the read until the loads are queued
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
                       : gate_.MayLoad(id)   ? e.Load(std::move(r))
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
