// Server: Baton's server process, assembled: the database (a store URL, by default SQLite in the
// data directory), the HTTP API in front, and while it leads, a LeaderTerm (leader_term.h: the
// runtime, the workers' hub and the API's modules).
//
// With a lease (PostgreSQL, several servers on one database), one server leads and the others are
// standbys. A standby answers GET /healthz with its role and the leader's address, and every other
// request with a redirect to the leader (307: the same method and body, sent again by the client;
// a redirect, not a proxy, so that clients learn the leader and no request takes two hops); with
// no leader known, 503. Its lease thread takes the lease when it lapses and starts a term. The
// leader renews the lease every third of --lease-ms; when it is deposed (another epoch), or it
// could not renew for three quarters of the lease, it stops its term and becomes a standby. Every
// commit of a term checks its epoch in the database, so a deposed leader commits nothing, even
// before it notices (Database::ConnectLeader).
//
// Thread rules: Start and Stop from one thread; the parts run their own threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/data_lock.h"
#include "server/http_server.h"
#include "server/job_types.h"
#include "server/leader_term.h"
#include "server/server_options.h"
#include "store/database.h"

namespace baton::server {

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();  // Stop()

  uint16_t port() const { return http_->port(); }
  // Where the administrator's token is (written at the first start, mode 0600).
  std::string admin_token_path() const { return options_.data_dir + "/admin.token"; }
  // The database, for messages: "sqlite:./baton-data".
  std::string store_description() const { return database_->description(); }
  // Where files and logs are kept: "the database" or a directory.
  const std::string& files_description() const { return files_description_; }
  // "leader" or "standby".
  std::string role();
  // The commit counters of the term this server leads; nullopt on a standby.
  std::optional<Runtime::Stats> stats();
  // Stops taking requests, commits what was done, gives up the lease, closes the store.
  void Stop();

 private:
  explicit Server(ServerOptions options) : options_(std::move(options)) {}
  Status EnsureAdminToken();
  Status OpenDatabase();
  LeaderTerm::Parts TermParts(int64_t epoch);
  void Handle(HttpRequest&& request, Reply reply);
  // What a standby answers: its health, or the way to the leader.
  void Standby(const HttpRequest& request, const Reply& reply);
  std::shared_ptr<LeaderTerm> term();
  // GET /healthz's answer: {"status":"ok","role":...,"leader":...,"epoch":...}.
  std::string HealthBody();
  // The lease thread: renews the lease while leading, takes it when it lapses.
  void LeaseLoop();
  // Takes the lease if it lapsed, and leads; notes who leads. `last_error`: said once.
  void TryToLead(std::string& last_error);
  void Lead(int64_t epoch);
  void StepDown(const std::string& why);
  void Say(const std::string& line);

  ServerOptions options_;
  SystemClock clock_;
  std::unique_ptr<DataLock> lock_;  // this server's hold on the data directory
  std::unique_ptr<store::Database> database_;
  std::string files_description_;
  std::unique_ptr<store::TokenStore> tokens_;
  std::unique_ptr<Auth> auth_;
  TypeRegistry types_;
  ServerConfig config_;
  std::unique_ptr<store::Lease> lease_;  // null: no lease, one term for the server's life
  std::string holder_;                   // this server's name in the lease
  std::unique_ptr<HttpServer> http_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::shared_ptr<LeaderTerm> term_;  // null while a standby
  // Stopped terms, kept until no request can be using them (kRetiredKeepMs), or the stop.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<LeaderTerm>>>
      retired_;
  store::LeaseView leader_;  // the lease as last read: who leads, at which address
  std::chrono::steady_clock::time_point leader_until_;  // when that lease lapses, unrenewed
  bool lease_failing_ = false;  // the lease could not be read or renewed last time
  bool check_lease_ = false;    // a commit failed: renew now
  bool stopping_ = false;
  std::thread lease_thread_;
  std::chrono::steady_clock::time_point lease_valid_until_;  // lease thread only
};

}  // namespace baton::server
