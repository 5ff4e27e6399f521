// libbaton's client: the REST API (docs/api.md) from C++. Blocking calls over one keep-alive
// connection, reopened when the server closed it.
//
// Thread rules: one Client per thread.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace baton::client {

// http://HOST:PORT (no path); the error says what is wrong.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  static Result<Endpoint> Parse(const std::string& url);
  // "URL1,URL2,...": the servers of one cluster, any of which may lead.
  static Result<std::vector<Endpoint>> ParseList(const std::string& urls);
  std::string url() const { return "http://" + host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string location;  // a redirect's
};

// With several servers (a leader and standbys on one PostgreSQL database), a Client finds the
// leader: it follows a standby's redirect (307) to it, and when a server cannot be reached or
// answers 503 it tries the next one, with back-off, for up to failover_ms. A request it may have
// delivered without an answer is retried only if it is a GET. Event and log streams resume where
// they were on the next server (Events from the last sequence number, logs from the last byte).
class Client {
 public:
  Client(Endpoint endpoint, std::string token);
  Client(std::vector<Endpoint> servers, std::string token);
  // How long to keep looking for a server that answers (default 30 s); `say` hears each retry
  // ("reconnecting to http://...: why"), for a line on stderr.
  void SetFailover(int64_t ms, std::function<void(const std::string&)> say) {
    failover_ms_ = ms;
    say_ = std::move(say);
  }
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Requests speak for this worker (its hello's name) in the Baton-Worker header: a worker's file
  // requests (input downloads, output uploads) are served only for the attempts it holds.
  void SetWorker(std::string name) { worker_ = std::move(name); }

  // One request. A connection failure is Unavailable; any answer, even 4xx, is returned.
  Result<HttpAnswer> Call(const std::string& method, const std::string& target,
                          const std::string& body = "",
                          const std::string& content_type = "application/json");
  // One request whose 2xx answer is JSON; a 4xx/5xx becomes the Status the server named.
  Result<boost::json::value> Json(const std::string& method, const std::string& target,
                                  const std::string& body = "",
                                  const std::string& content_type = "application/json");

  Result<boost::json::value> Submit(const boost::json::value& job_or_jobs);
  // One job with input files (multipart/form-data). Each file goes by its base name; a
  // `NAME=PATH` entry names it NAME (which may hold '/': "data/a.csv=local.csv").
  Result<boost::json::value> SubmitWithFiles(const boost::json::value& job,
                                             const std::vector<std::string>& files);
  // The body of a 2xx answer to GET `target` (a file, a zip); a 4xx/5xx becomes its Status.
  Result<std::string> Download(const std::string& target);
  // The result of a finished job ({"result", "files": [{"name","size","url"}]}); and its output
  // files, written under `dir` (created if missing).
  Result<boost::json::value> GetResult(uint64_t id);
  Status DownloadFiles(uint64_t id, const std::string& dir);
  // GET `target` into DIR/NAME (directories created); NAME must stay inside DIR.
  Status DownloadTo(const std::string& target, const std::string& dir, const std::string& name);
  Result<boost::json::value> Get(uint64_t id);
  Result<boost::json::value> List(const std::string& query);  // "status=failed&limit=10"
  Result<boost::json::value> Command(uint64_t id, const std::string& action,
                                     const std::string& reason = "");

  // GET `target` on a connection of its own, handing the body to `on_data` as it arrives, until
  // it returns false or the server ends the response (Ok both). A 4xx/5xx becomes its Status.
  Status Stream(const std::string& target, const std::function<bool(std::string_view)>& on_data);
  // GET /v1/jobs/{id}/logs?follow=1: the log from `offset` as it grows, until the job ends,
  // resumed from the last byte received when the connection drops or the leader changes.
  Status FollowLog(uint64_t id, uint64_t offset,
                   const std::function<void(std::string_view)>& on_data);

  // Follows GET /v1/events from after `since` (job 0: every job the token may see), calling
  // `on_event` with each event's JSON until it returns false or the connection ends.
  Status Events(uint64_t since, uint64_t job,
                const std::function<bool(const boost::json::object&)>& on_event);

  // Waits until the job is in a terminal state (following its events from the state it reads
  // first: the event log is not read from its start), calling `on_event` for each event on the
  // way. Returns the job as it ended. Events(0, id, ...) gives a job's whole history.
  // With `since` (a new job's submit answer's `event_seq`), every event after it: all of the new
  // job's, also when it ended before the wait began.
  Result<boost::json::value> Wait(uint64_t id,
                                  const std::function<void(const boost::json::object&)>& on_event,
                                  std::optional<uint64_t> since = std::nullopt);

 private:
  struct Connection;
  // One request to the current server; `sent`: it may have been delivered.
  Result<HttpAnswer> CallOnce(const std::string& method, const std::string& target,
                              const std::string& body, const std::string& content_type, bool* sent);
  // After a 307: the server its Location names becomes the current one. False if it names none.
  bool Redirected(const std::string& location);
  // After a failure: the next server, after a pause once every one was tried. False once the
  // failover time since `since` ran out (or there is one server and `always` is false).
  bool NextServer(const std::string& why, std::chrono::steady_clock::time_point since, int* round,
                  bool always);
  Status StreamOnce(const std::string& target, const std::function<bool(std::string_view)>& on_data,
                    bool* redirected);
  Status EventsOnce(uint64_t since, uint64_t job,
                    const std::function<bool(const boost::json::object&)>& on_event, uint64_t* last,
                    bool* progressed);
  std::vector<Endpoint> endpoints_;
  size_t current_ = 0;
  int64_t failover_ms_ = 30'000;
  std::function<void(const std::string&)> say_;
  std::string token_;
  std::string worker_;
  std::unique_ptr<Connection> connection_;
};

// `name` with every byte but unreserved characters and '/' percent-encoded, for a URL path.
std::string EncodePath(std::string_view name);

// The Status a server's error body names ({"error":{"code":...,"message":...}}).
Status StatusFromAnswer(const HttpAnswer& answer);
bool IsTerminalState(std::string_view state);

}  // namespace baton::client
