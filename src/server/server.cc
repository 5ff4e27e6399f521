#include "server/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "server/config.h"
#include "server/files_api.h"

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
  if (s->options_.lease_ms < 300 || s->options_.lease_ms > 3'600'000) {
    return InvalidArgument("--lease-ms: from 300 to 3600000, got " +
                           std::to_string(s->options_.lease_ms));
  }
  BATON_RETURN_IF_ERROR(ResolveStore(s->options_, false));
  // The data directory, and this server's lock on it, before anything else touches it.
  const std::string& data = s->options_.data_dir;
  std::error_code ec;
  const bool made = std::filesystem::create_directories(data, ec);
  if (ec) return Unavailable("--data " + data + ": cannot create it: " + ec.message());
  ::chmod(data.c_str(), 0700);  // the data is the users' jobs: owner only
  BATON_ASSIGN_OR_RETURN(s->lock_, DataLock::Acquire(data));
  if (Status opened = s->OpenDatabase(); !opened.ok()) {
    if (made) {  // a store it cannot open leaves nothing behind
      s->lock_.reset();
      std::filesystem::remove(data + "/server.lock", ec);
      std::filesystem::remove(data, ec);
    }
    return opened;
  }
  BATON_ASSIGN_OR_RETURN(s->tokens_, s->database_->ConnectTokens());
  s->auth_ = std::make_unique<Auth>(s->tokens_.get(), &s->clock_);
  BATON_RETURN_IF_ERROR(s->EnsureAdminToken());
  // Where files and logs go (each term opens them; leader_term.cc).
  s->files_description_ =
      s->options_.files_dir.empty() ? s->options_.data_dir : s->options_.files_dir;
  if (s->options_.files_dir.empty()) {
    BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::BlobStore> blobs, s->database_->ConnectBlobs());
    if (blobs) s->files_description_ = "the database";
  }
  BATON_ASSIGN_OR_RETURN(s->lease_, s->database_->ConnectLease());
  // Big uploads are spooled here as they arrive; what a crash left behind is of no use.
  const std::string spool_dir = s->options_.data_dir + "/spool";
  std::error_code spool_ec;
  std::filesystem::remove_all(spool_dir, spool_ec);
  std::filesystem::create_directories(spool_dir, spool_ec);
  if (spool_ec) return Unavailable("create " + spool_dir + ": " + spool_ec.message());
  Server* self = s.get();
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
        std::shared_ptr<LeaderTerm> term = self->term();
        if (!term) return Unavailable("this server is a standby: " + self->HealthBody());
        Result<Identity> who = self->auth_->Authenticate(request[http::field::authorization]);
        if (!who.ok()) return who.status();
        return term->ConnectWorker(*who, socket);
      },
      UploadSpool(spool_dir, s->options_.files));
  if (!http.ok()) return http.status();
  s->http_ = std::move(*http);
  if (s->options_.advertise.empty()) {
    s->options_.advertise = "http://" + s->options_.host + ":" + std::to_string(s->port());
  }
  if (!s->lease_) {  // one server per database: it leads, for its whole life
    BATON_ASSIGN_OR_RETURN(std::unique_ptr<LeaderTerm> term, LeaderTerm::Start(s->TermParts(0)));
    s->term_ = std::move(term);
    return s;
  }
  std::random_device random;
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  s->holder_ = std::string(name) + ":" + std::to_string(::getpid()) + ":" +
               std::to_string(random() % 1'000'000);
  // The first turn before the server answers: it knows who leads from its first request on.
  std::string error;
  s->TryToLead(error);
  s->lease_thread_ = std::thread([self] { self->LeaseLoop(); });
  return s;
}

// A database that cannot be reached is tried again, once a second, for --store-wait.
Status Server::OpenDatabase() {
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(std::max<int64_t>(0, options_.store_wait_ms));
  for (;;) {
    Result<std::unique_ptr<store::Database>> database =
        store::OpenDatabase(options_.store, options_.database);
    if (database.ok()) {
      database_ = std::move(*database);
      return Status::Ok();
    }
    const auto now = std::chrono::steady_clock::now();
    if (database.status().code() != StatusCode::kUnavailable || now >= give_up) {
      return database.status();
    }
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(give_up - now).count();
    Say(database.status().ToString() + "; trying again for " + std::to_string(left) +
        " s more (--store-wait)");
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void Server::Say(const std::string& line) {
  std::fprintf(stderr, "baton server: %s\n", line.c_str());
}

LeaderTerm::Parts Server::TermParts(int64_t epoch) {
  LeaderTerm::Parts p{&options_, &clock_, database_.get(), auth_.get(), &types_, &config_, epoch};
  p.health_body = [this] { return HealthBody(); };
  if (lease_) {
    p.on_commit_failed = [this](const Status&) {
      {
        std::lock_guard lock(mu_);
        check_lease_ = true;
      }
      wake_.notify_all();
    };
  }
  return p;
}

Server::~Server() { Stop(); }

std::shared_ptr<LeaderTerm> Server::term() {
  std::lock_guard lock(mu_);
  return term_;
}

std::string Server::role() { return term() ? "leader" : "standby"; }

std::optional<Runtime::Stats> Server::stats() {
  std::shared_ptr<LeaderTerm> t = term();
  if (!t) return std::nullopt;
  return t->stats();
}

std::string Server::HealthBody() {
  std::lock_guard lock(mu_);
  boost::json::object o;
  o["status"] = "ok";
  o["role"] = term_ ? "leader" : "standby";
  if (lease_) {
    if (!leader_.address.empty() && std::chrono::steady_clock::now() < leader_until_) {
      o["leader"] = leader_.address;
    }
    o["epoch"] = leader_.epoch;
  }
  return boost::json::serialize(o);
}

// How long a stopped term is kept for requests that may still be using it: more than a request
// may take (--idle-timeout-ms bounds one).
constexpr auto kRetiredKeep = std::chrono::minutes(3);

void Server::LeaseLoop() {
  pthread_setname_np(pthread_self(), "baton-lease");
  const int64_t ttl = options_.lease_ms;
  const auto renew_every = std::chrono::milliseconds(ttl / 3);
  std::string last_error;
  std::unique_lock lock(mu_);
  for (;;) {
    const bool leading = term_ != nullptr;
    // A standby looks again every quarter of a lease, and just after the lease it read lapses,
    // so that it takes over as soon as it may.
    std::chrono::steady_clock::duration wait =
        leading ? renew_every : std::chrono::milliseconds(ttl / 4);
    if (const auto until = leader_until_ - std::chrono::steady_clock::now();
        !leading && until > std::chrono::steady_clock::duration::zero()) {
      wait = std::min<std::chrono::steady_clock::duration>(wait,
                                                           until + std::chrono::milliseconds(20));
    }
    wake_.wait_for(lock, wait, [&] { return stopping_ || check_lease_; });
    if (stopping_) return;
    check_lease_ = false;
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(retired_, [&](const auto& r) { return now - r.first > kRetiredKeep; });
    const int64_t epoch = term_ ? term_->epoch() : 0;
    lock.unlock();
    if (epoch != 0) {
      Result<bool> renewed = lease_->Renew(epoch, ttl);
      if (renewed.ok() && *renewed) {
        lease_valid_until_ = now + std::chrono::milliseconds(ttl);
        last_error.clear();
        std::lock_guard renewed_lock(mu_);
        leader_until_ = lease_valid_until_;
        lease_failing_ = false;
      } else if (renewed.ok()) {
        StepDown("another server took the lease");
      } else {
        if (renewed.status().ToString() != last_error) {
          last_error = renewed.status().ToString();
          Say("cannot renew the lease: " + last_error);
        }
        {
          std::lock_guard failed_lock(mu_);
          lease_failing_ = true;
        }
        // Stop before the lease can lapse, while it is still ours for sure.
        if (std::chrono::steady_clock::now() + std::chrono::milliseconds(ttl / 4) >=
            lease_valid_until_) {
          StepDown("the lease could not be renewed in time");
        }
      }
    } else {
      TryToLead(last_error);
    }
    lock.lock();
  }
}

void Server::TryToLead(std::string& last_error) {
  const auto now = std::chrono::steady_clock::now();
  Result<store::LeaseView> view = lease_->Acquire(holder_, options_.advertise, options_.lease_ms);
  if (!view.ok()) {
    if (view.status().ToString() != last_error) {
      last_error = view.status().ToString();
      Say("cannot read the lease: " + last_error);
    }
    std::lock_guard lock(mu_);
    lease_failing_ = true;
    return;
  }
  last_error.clear();
  {
    std::lock_guard lock(mu_);
    lease_failing_ = false;
    leader_ = *view;
    leader_until_ = now + std::chrono::milliseconds(std::max<int64_t>(0, view->remaining_ms));
  }
  if (view->held) {
    lease_valid_until_ = now + std::chrono::milliseconds(options_.lease_ms);
    Lead(view->epoch);
  }
}

void Server::Lead(int64_t epoch) {
  Result<std::unique_ptr<LeaderTerm>> term = LeaderTerm::Start(TermParts(epoch));
  if (!term.ok()) {
    Say("took the lease (epoch " + std::to_string(epoch) +
        ") but cannot lead: " + term.status().ToString());
    (void)lease_->Release(epoch);
    std::lock_guard lock(mu_);
    leader_until_ = {};
    return;
  }
  Say("leading (lease epoch " + std::to_string(epoch) + ")");
  std::lock_guard lock(mu_);
  term_ = std::move(*term);
}

void Server::StepDown(const std::string& why) {
  std::shared_ptr<LeaderTerm> term;
  {
    std::lock_guard lock(mu_);
    term = std::move(term_);
    term_.reset();
    leader_until_ = {};  // who leads now is read at the next turn
  }
  if (!term) return;
  Say("no longer the leader (" + why + "): a standby now");
  term->Quiesce();
  term->EndStreams();
  std::lock_guard lock(mu_);
  retired_.emplace_back(std::chrono::steady_clock::now(), std::move(term));
}

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
  // Graceful, in this order: no new leases, connections or requests; the term's workers go (they
  // send what is unacknowledged again to the next server) and its runtime commits what it took
  // and answers every caller, whose answers are written before the connections close; the lease
  // is let go, so that a standby takes over at once; then the store.
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (lease_thread_.joinable()) lease_thread_.join();
  std::shared_ptr<LeaderTerm> term = this->term();
  if (http_) http_->StopAccepting();
  if (term) term->Quiesce();
  if (http_ && !http_->WaitIdle(kStopAnswersMs)) {
    Say("stopping: some answers were not written within " + std::to_string(kStopAnswersMs) + " ms");
  }
  if (term) term->EndStreams();
  if (http_) http_->Stop();  // before the terms go: handlers run on its threads
  if (term && lease_) (void)lease_->Release(term->epoch());
  term.reset();
  {
    std::lock_guard lock(mu_);
    term_.reset();
    retired_.clear();
  }
  http_.reset();
  lease_.reset();
  auth_.reset();
  tokens_.reset();
  database_.reset();
  lock_.reset();  // last: another server may start on the directory now
}

void Server::Standby(const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const std::string_view path = request.target().substr(0, request.target().find('?'));
  if (request.method() == http::verb::get && (path == "/healthz" || path == "/health")) {
    return reply(JsonResponse(http::status::ok, HealthBody(), version, keep_alive));
  }
  std::string leader;
  bool database_away = false;
  {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() < leader_until_ && leader_.holder != holder_) {
      leader = leader_.address;
    }
    database_away = lease_failing_;
  }
  if (leader.empty()) {
    // A standby answers anyone, token or not (it cannot check one without the database): it
    // says the database is the reason but not which it is; its stderr has the details.
    return reply(
        ErrorResponse(Unavailable(std::string("this server is a standby and no server leads now") +
                                  (database_away ? " (it cannot reach the database)" : "") +
                                  "; try again in a moment"),
                      version, keep_alive));
  }
  HttpResponse r = ErrorResponse(Unavailable("this server is a standby; the leader is " + leader),
                                 version, keep_alive);
  r.result(http::status::temporary_redirect);
  r.set(http::field::location, leader + std::string(request.target()));
  reply(std::move(r));
}

void Server::Handle(HttpRequest&& request, Reply reply) {
  // Held for the call: a term that steps down meanwhile stays whole until the handler returns.
  std::shared_ptr<LeaderTerm> term = this->term();
  if (!term) return Standby(request, reply);
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& st) { reply(ErrorResponse(st, version, keep_alive)); };
  auto url = boost::urls::parse_origin_form(request.target());
  std::vector<std::string> segments;  // decoded
  if (url) segments.assign(url->segments().begin(), url->segments().end());
  RouteArgs args;
  RoutePatterns::Match match;
  const Route<LeaderTerm>* route =
      LeaderTerm::Routes().Find(request.method(), segments, &args, &match);
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
  route->handle(*term, call);
}

}  // namespace baton::server
