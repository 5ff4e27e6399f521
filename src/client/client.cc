#include "client/client.h"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url.hpp>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace baton::client {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

Result<Endpoint> Endpoint::Parse(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  const std::string expected = "expected http://HOST:PORT, got \"" + url + "\"";
  if (!u || u->scheme() != "http" || u->host().empty()) return InvalidArgument("URL: " + expected);
  if (!u->path().empty() && u->path() != "/") return InvalidArgument("URL: no path; " + expected);
  Endpoint e;
  e.host = std::string(u->host());
  if (e.host == "localhost") e.host = "127.0.0.1";
  e.port = u->has_port() ? u->port_number() : 80;
  if (u->has_port() && e.port == 0) return InvalidArgument("URL: the port must be 1 to 65535");
  return e;
}

Result<std::vector<Endpoint>> Endpoint::ParseList(const std::string& urls) {
  std::vector<Endpoint> out;
  size_t at = 0;
  for (;;) {
    const size_t comma = urls.find(',', at);
    const std::string one = urls.substr(at, comma == std::string::npos ? comma : comma - at);
    Result<Endpoint> e = Parse(one);
    if (!e.ok()) {
      return comma == std::string::npos && out.empty()
                 ? e.status()
                 : e.status().WithContext("server " + std::to_string(out.size() + 1) + " of \"" +
                                          urls + "\"");
    }
    if (std::find(out.begin(), out.end(), *e) == out.end()) out.push_back(*e);
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

bool IsTerminalState(std::string_view state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

Status StatusFromAnswer(const HttpAnswer& answer) {
  boost::system::error_code ec;
  json::value v = json::parse(answer.body, ec);
  if (!ec && v.is_object()) {
    const json::value* error = v.as_object().if_contains("error");
    if (error != nullptr && error->is_object()) {
      const json::object& e = error->as_object();
      const json::value* code = e.if_contains("code");
      const json::value* message = e.if_contains("message");
      if (code != nullptr && code->is_string() && message != nullptr && message->is_string()) {
        return Status(ParseStatusCode(code->as_string()), std::string(message->as_string()));
      }
    }
  }
  return Internal("the server answered " + std::to_string(answer.status) + ": " +
                  answer.body.substr(0, 200));
}

struct Client::Connection {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;
};

Client::Client(Endpoint endpoint, std::string token)
    : Client(std::vector<Endpoint>{std::move(endpoint)}, std::move(token)) {}
Client::Client(std::vector<Endpoint> servers, std::string token)
    : endpoints_(std::move(servers)), token_(std::move(token)) {
  if (endpoints_.empty()) endpoints_.push_back(Endpoint{"127.0.0.1", 7070});
}

bool Client::Redirected(const std::string& location) {
  auto u = boost::urls::parse_uri(location);
  if (!u) return false;
  Result<Endpoint> e = Endpoint::Parse(std::string(u->scheme()) + "://" + std::string(u->host()) +
                                       (u->has_port() ? ":" + std::string(u->port()) : ""));
  if (!e.ok()) return false;
  auto it = std::find(endpoints_.begin(), endpoints_.end(), *e);
  if (it == endpoints_.end()) it = endpoints_.insert(endpoints_.end(), *e);
  current_ = static_cast<size_t>(it - endpoints_.begin());
  connection_.reset();
  return true;
}

bool Client::NextServer(const std::string& why, std::chrono::steady_clock::time_point since,
                        int* round, bool always) {
  if (endpoints_.size() < 2 && !always) return false;
  if (std::chrono::steady_clock::now() - since > std::chrono::milliseconds(failover_ms_)) {
    return false;
  }
  connection_.reset();
  current_ = (current_ + 1) % endpoints_.size();
  if (say_) say_("reconnecting to " + endpoints_[current_].url() + " (" + why + ")");
  // A pause once every server was tried: 100 ms, doubling to 2 s.
  if (current_ == 0 || endpoints_.size() == 1) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(100 << std::min(*round, 5), 2000)));
    ++*round;
  }
  return true;
}
Client::~Client() = default;

namespace {
Status Connect(beast::tcp_stream& stream, const Endpoint& e) {
  boost::system::error_code ec;
  net::ip::tcp::resolver resolver(stream.get_executor());
  auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
  if (!ec) stream.connect(results, ec);
  if (!ec) stream.socket().set_option(net::ip::tcp::no_delay(true), ec);
  if (ec) {
    return Unavailable("cannot reach the server at http://" + e.host + ":" +
                       std::to_string(e.port) + ": " + ec.message());
  }
  return Status::Ok();
}

http::request<http::string_body> Request(const std::string& method, const std::string& target,
                                         const std::string& body, const Endpoint& e,
                                         const std::string& token, const std::string& content_type,
                                         const std::string& worker) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, e.host + ":" + std::to_string(e.port));
  req.set(http::field::user_agent, "libbaton");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) req.set(http::field::content_type, content_type);
  if (!worker.empty()) req.set("Baton-Worker", worker);
  req.body() = body;
  req.prepare_payload();
  return req;
}
}  // namespace

Result<HttpAnswer> Client::Call(const std::string& method, const std::string& target,
                                const std::string& body, const std::string& content_type) {
  const auto since = std::chrono::steady_clock::now();
  int round = 0;
  for (int redirects = 0;;) {
    bool sent = false;
    Result<HttpAnswer> a = CallOnce(method, target, body, content_type, &sent);
    if (a.ok() && a->status == 307 && redirects < 5) {
      auto location = a->location;
      if (Redirected(location)) {
        ++redirects;
        continue;
      }
    }
    const bool safe = !sent || method == "GET" || method == "HEAD";
    if (!a.ok() && safe && NextServer(a.status().message(), since, &round, false)) continue;
    if (a.ok() && a->status == 503 &&
        NextServer(StatusFromAnswer(*a).message(), since, &round, false)) {
      continue;
    }
    return a;
  }
}

Result<HttpAnswer> Client::CallOnce(const std::string& method, const std::string& target,
                                    const std::string& body, const std::string& content_type,
                                    bool* sent) {
  const Endpoint& endpoint = endpoints_[current_];
  // A kept-alive connection the server closed fails on first use: then once more, fresh.
  for (int tries = 0; tries < 2; ++tries) {
    if (!connection_ || !connection_->open) {
      connection_ = std::make_unique<Connection>();
      BATON_RETURN_IF_ERROR(Connect(connection_->stream, endpoint));
      connection_->open = true;
    }
    Connection& c = *connection_;
    auto req = Request(method, target, body, endpoint, token_, content_type, worker_);
    boost::system::error_code ec;
    http::write(c.stream, req, ec);
    *sent = *sent || !ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    if (!ec) http::read(c.stream, c.buffer, parser, ec);
    if (ec) {
      connection_.reset();
      if (tries == 0) continue;
      return Unavailable("the server at " + endpoint.url() + " did not answer: " + ec.message());
    }
    auto res = parser.release();
    if (!res.keep_alive()) connection_.reset();
    return HttpAnswer{static_cast<int>(res.result_int()), std::move(res.body()),
                      std::string(res[http::field::location])};
  }
  return Internal("unreachable");
}

Result<json::value> Client::Json(const std::string& method, const std::string& target,
                                 const std::string& body, const std::string& content_type) {
  Result<HttpAnswer> answer = Call(method, target, body, content_type);
  if (!answer.ok()) return answer.status();
  if (answer->status < 200 || answer->status > 299) return StatusFromAnswer(*answer);
  boost::system::error_code ec;
  json::value v = json::parse(answer->body, ec);
  if (ec) return Internal("the server's answer is not JSON: " + answer->body.substr(0, 200));
  return v;
}

Result<json::value> Client::Submit(const json::value& job_or_jobs) {
  return Json("POST", "/v1/jobs", json::serialize(job_or_jobs));
}
std::string EncodePath(std::string_view name) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<json::value> Client::SubmitWithFiles(const json::value& job,
                                            const std::vector<std::string>& files) {
  struct Part {
    std::string name, data;
  };
  std::vector<Part> parts;
  for (const std::string& entry : files) {
    const size_t eq = entry.find('=');
    const std::string path = eq == std::string::npos ? entry : entry.substr(eq + 1);
    std::string name = eq == std::string::npos ? std::filesystem::path(path).filename().string()
                                               : entry.substr(0, eq);
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgument("--file " + entry + ": cannot read " + path);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    if (in.bad()) return InvalidArgument("--file " + entry + ": cannot read " + path);
    parts.push_back({std::move(name), std::move(data)});
  }
  // A boundary that occurs in no file.
  std::random_device random;
  std::string boundary;
  for (bool clash = true; clash;) {
    boundary = "baton-" + std::to_string(random()) + std::to_string(random());
    clash = false;
    for (const Part& p : parts) clash |= p.data.find(boundary) != std::string::npos;
  }
  auto escape = [](const std::string& name) {
    std::string out;
    for (char c : name) out += c == '"' ? std::string("%22") : std::string(1, c);
    return out;
  };
  std::string body = "--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"job\"\r\n"
                     "Content-Type: application/json\r\n\r\n" +
                     json::serialize(job) + "\r\n";
  for (const Part& p : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
            escape(p.name) + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + p.data +
            "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return Json("POST", "/v1/jobs", body, "multipart/form-data; boundary=" + boundary);
}

Result<std::string> Client::Download(const std::string& target) {
  Result<HttpAnswer> answer = Call("GET", target);
  if (!answer.ok()) return answer.status();
  if (answer->status < 200 || answer->status > 299) return StatusFromAnswer(*answer);
  return std::move(answer->body);
}

Result<json::value> Client::GetResult(uint64_t id) {
  return Json("GET", "/v1/jobs/" + std::to_string(id) + "/result");
}

Status Client::DownloadFiles(uint64_t id, const std::string& dir) {
  Result<json::value> result = GetResult(id);
  if (!result.ok()) return result.status();
  for (const json::value& f : result->at("files").as_array()) {
    const std::string name(f.at("name").as_string());
    BATON_RETURN_IF_ERROR(
        DownloadTo("/v1/jobs/" + std::to_string(id) + "/files/" + EncodePath(name), dir, name));
  }
  return Status::Ok();
}

Status Client::DownloadTo(const std::string& target, const std::string& dir,
                          const std::string& name) {
  // The server checks names; so does the client, so that no answer writes outside `dir`.
  const std::filesystem::path relative(name);
  bool inside = !name.empty() && relative.is_relative();
  for (const auto& part : relative) inside &= part != ".." && part != ".";
  if (!inside) return DataLoss("file \"" + name + "\": outside the directory " + dir);
  Result<std::string> data = Download(target);
  if (!data.ok()) return data.status().WithContext(name);
  const std::filesystem::path path = std::filesystem::path(dir) / relative;
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << *data;
  out.close();
  if (!out) return Unavailable("write " + path.string() + ": failed");
  return Status::Ok();
}

Result<json::value> Client::Get(uint64_t id) {
  return Json("GET", "/v1/jobs/" + std::to_string(id));
}
Result<json::value> Client::List(const std::string& query) {
  return Json("GET", query.empty() ? "/v1/jobs" : "/v1/jobs?" + query);
}
Result<json::value> Client::Command(uint64_t id, const std::string& action,
                                    const std::string& reason) {
  std::string body;
  if (!reason.empty()) body = json::serialize(json::object{{"reason", reason}});
  return Json("POST", "/v1/jobs/" + std::to_string(id) + "/" + action, body);
}

Status Client::Stream(const std::string& target,
                      const std::function<bool(std::string_view)>& on_data) {
  const auto since = std::chrono::steady_clock::now();
  int round = 0;
  for (int redirects = 0;;) {
    bool redirected = false;
    Status s = StreamOnce(target, on_data, &redirected);
    if (redirected && redirects++ < 5) continue;
    // Only a stream that never began is tried elsewhere here; Events and FollowLog resume one
    // that broke.
    if (s.code() == StatusCode::kUnavailable &&
        s.message().find("did not answer") != std::string::npos &&
        NextServer(s.message(), since, &round, false)) {
      continue;
    }
    return s;
  }
}

Status Client::StreamOnce(const std::string& target,
                          const std::function<bool(std::string_view)>& on_data, bool* redirected) {
  const Endpoint endpoint = endpoints_[current_];
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  if (Status c = Connect(stream, endpoint); !c.ok()) {
    return Unavailable(target + ": the server did not answer: " + c.message());
  }
  auto req = Request("GET", target, "", endpoint, token_, "", worker_);
  boost::system::error_code ec;
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> head;
  if (!ec) http::read_header(stream, buffer, head, ec);
  if (ec) return Unavailable(target + ": the server did not answer: " + ec.message());
  if (head.get().result_int() == 307 &&
      Redirected(std::string(head.get()[http::field::location]))) {
    *redirected = true;
    return Status::Ok();
  }
  if (head.get().result_int() == 503) {
    http::response_parser<http::string_body> full(std::move(head));
    http::read(stream, buffer, full, ec);
    return Unavailable(target + ": the server did not answer: " +
                       StatusFromAnswer({503, full.get().body(), ""}).message());
  }
  if (head.get().result_int() != 200) {
    // An error answer has a length; read it whole for its message.
    http::response_parser<http::string_body> full(std::move(head));
    http::read(stream, buffer, full, ec);
    return StatusFromAnswer({static_cast<int>(full.get().result_int()), full.get().body(), ""});
  }
  // The body is the rest of the connection.
  if (buffer.size() > 0 && !on_data(beast::buffers_to_string(buffer.data()))) return Status::Ok();
  char chunk[16384];
  for (;;) {
    size_t n = stream.socket().read_some(net::buffer(chunk), ec);
    if (ec == net::error::eof) return Status::Ok();
    if (ec) return Unavailable(target + ": the stream broke: " + ec.message());
    if (!on_data(std::string_view(chunk, n))) return Status::Ok();
  }
}

Status Client::Events(uint64_t since, uint64_t job,
                      const std::function<bool(const json::object&)>& on_event) {
  // A stream that breaks or ends (the server stops, the leader changes) resumes after the last
  // event seen, on this server or the next: no gap, no event twice.
  auto failed_since = std::chrono::steady_clock::now();
  int round = 0;
  for (;;) {
    bool progressed = false;
    Status s = EventsOnce(since, job, on_event, &since, &progressed);
    if (s.ok() || s.code() != StatusCode::kUnavailable) return s;
    if (progressed) {
      failed_since = std::chrono::steady_clock::now();
      round = 0;
    }
    if (!NextServer(s.message(), failed_since, &round, true)) return s;
  }
}

Status Client::EventsOnce(uint64_t since, uint64_t job,
                          const std::function<bool(const json::object&)>& on_event, uint64_t* last,
                          bool* progressed) {
  std::string target = "/v1/events?since=" + std::to_string(since);
  if (job != 0) target += "&job=" + std::to_string(job);
  // "id: ..\nevent: ..\ndata: {...}\n\n" blocks.
  std::string pending;
  Status malformed;
  bool stopped = false;
  Status s = Stream(target, [&](std::string_view data) {
    pending.append(data);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      std::string block = pending.substr(0, end);
      pending.erase(0, end + 2);
      size_t at = block.find("data: ");
      if (at == std::string::npos) continue;  // a comment (keepalive)
      boost::system::error_code ec;
      json::value v = json::parse(block.substr(at + 6, block.find('\n', at) - at - 6), ec);
      if (ec || !v.is_object()) {
        malformed = Internal("events: a malformed event: " + block);
        return false;
      }
      if (const json::value* seq = v.as_object().if_contains("seq"); seq && seq->is_number()) {
        *last = seq->to_number<uint64_t>();
        *progressed = true;
      }
      if (!on_event(v.as_object())) {
        stopped = true;
        return false;
      }
    }
    return true;
  });
  if (!s.ok()) return s;
  if (!malformed.ok()) return malformed;
  if (stopped) return Status::Ok();
  return Unavailable("events: the stream ended");
}

Status Client::FollowLog(uint64_t id, uint64_t offset,
                         const std::function<void(std::string_view)>& on_data) {
  auto failed_since = std::chrono::steady_clock::now();
  int round = 0;
  for (;;) {
    bool progressed = false;
    Status s =
        Stream("/v1/jobs/" + std::to_string(id) + "/logs?follow=1&offset=" + std::to_string(offset),
               [&](std::string_view data) {
                 offset += data.size();
                 progressed = progressed || !data.empty();
                 on_data(data);
                 return true;
               });
    if (s.ok()) {
      // The server ends the response when the job ends, or when it stops: then ask again.
      Result<json::value> job = Get(id);
      if (!job.ok() && job.status().code() != StatusCode::kUnavailable) return job.status();
      if (job.ok() && IsTerminalState(job->at("state").as_string())) {
        // The rest of the log, if the end came before it all arrived.
        for (;;) {
          Result<HttpAnswer> rest = Call(
              "GET", "/v1/jobs/" + std::to_string(id) + "/logs?offset=" + std::to_string(offset));
          if (!rest.ok() || rest->status != 200 || rest->body.empty()) break;
          offset += rest->body.size();
          on_data(rest->body);
        }
        return Status::Ok();
      }
      s = Unavailable("the log stream ended before the job did");
    }
    if (s.code() != StatusCode::kUnavailable) return s;
    if (progressed) {
      failed_since = std::chrono::steady_clock::now();
      round = 0;
    }
    if (!NextServer(s.message(), failed_since, &round, true)) return s;
  }
}

Result<json::value> Client::Wait(uint64_t id,
                                 const std::function<void(const json::object&)>& on_event,
                                 std::optional<uint64_t> since) {
  if (!since) {
    Result<json::value> job = Get(id);
    if (!job.ok()) return job.status();
    if (IsTerminalState(job->at("state").as_string())) return job;
    // Its changes after the state just read: events after the answer's event_seq (an older
    // server without it: from the start of the log, which costs a scan of it).
    const json::value* as_of = job->as_object().if_contains("event_seq");
    since = as_of != nullptr && as_of->is_number() ? as_of->to_number<uint64_t>() : 0;
  }
  Status s = Events(*since, id, [&](const json::object& e) {
    if (on_event) on_event(e);
    return !(e.at("kind").as_string() == "state" && IsTerminalState(e.at("state").as_string()));
  });
  if (!s.ok()) return s;
  return Get(id);
}

}  // namespace baton::client
