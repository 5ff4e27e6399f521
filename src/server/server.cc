#include "server/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/url.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "server/config.h"

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
  // Files and logs: in --files DIR, else in the database if it keeps them, else beside it.
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<store::LogStore> logs;
  const std::string& files_dir = s->options_.files_dir;
  if (files_dir.empty()) {
    BATON_ASSIGN_OR_RETURN(blobs, s->database_->ConnectBlobs());
    BATON_ASSIGN_OR_RETURN(logs, s->database_->ConnectLogs());
  }
  const std::string dir = files_dir.empty() ? s->options_.data_dir : files_dir;
  s->files_description_ = blobs ? "the database" : dir;
  if (!blobs) {
    BATON_ASSIGN_OR_RETURN(blobs, store::OpenDiskBlobStore(dir));
  }
  if (!logs) {
    BATON_ASSIGN_OR_RETURN(logs, store::OpenDiskLogStore(dir + "/logs"));
  }
  s->logs_ = std::make_unique<JobLogs>(std::move(logs), s->options_.log_bytes_max,
                                       s->options_.log_followers_max);
  s->files_.emplace(std::move(blobs), s->options_.files);
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
        self->files_api_->SnapshotFailed(number, from, error);
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
  s->files_api_ = std::make_unique<FilesApi>(
      FilesApi::Parts{s->runtime_.get(), s->access_.get(), s->blocking_.get(), &*s->files_,
                      s->hub_.get(), &s->types_},
      FilesApi::Options{s->options_.snapshot_timeout_ms});
  s->compat_ = std::make_unique<CompatApi>(s->files_api_.get(), s->access_.get(), &s->types_);
  s->jobs_ = std::make_unique<JobsApi>(
      JobsApi::Parts{s->runtime_.get(), s->access_.get(), s->reader_.get(), s->blocking_.get(),
                     &s->gate_, s->logs_.get(), &s->types_},
      JobsApi::Options{s->options_.batch_max, s->options_.retry_jobs_max});
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
  // Big uploads are spooled here as they arrive; what a crash left behind is of no use.
  const std::string spool_dir = s->options_.data_dir + "/spool";
  std::error_code spool_ec;
  std::filesystem::remove_all(spool_dir, spool_ec);
  std::filesystem::create_directories(spool_dir, spool_ec);
  if (spool_ec) return Unavailable("create " + spool_dir + ": " + spool_ec.message());
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
      },
      UploadSpool(spool_dir, s->options_.files));
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
  if (files_api_)
    files_api_->AbandonSnapshots();  // their timers would hold up the blocking pool's join
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
  // The modules, then the parts they were given.
  jobs_.reset();
  compat_.reset();
  files_api_.reset();
  workflows_.reset();
  scheduling_.reset();
  tokens_api_.reset();
  events_api_.reset();
  access_.reset();
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

}  // namespace baton::server
