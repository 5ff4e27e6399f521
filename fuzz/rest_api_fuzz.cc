// The whole REST API, as a client reaches it: each input is one HTTP request to a real server
// (SQLite store in a temporary directory, loopback, port 0) over a keep-alive connection, so every
// endpoint's body and query parsing is in reach, not only the submit body's.
//
// An input is "METHOD TARGET [CONTENT-TYPE]\nBODY"; a first line ending in " @user" sends the
// request as a user who is not the administrator. The properties: every request is answered; no
// answer is a 500 (the store is healthy, so one would be a bug); every JSON answer parses (so
// outside bytes that are not UTF-8 never come back raw); an error's body is JSON naming
// the error (or, from the compatibility endpoints, the job's status); and afterwards the server is
// still healthy. An event stream or a followed log is
// checked by its head, then its connection is dropped.
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "fuzz/fuzz.h"
#include "server/server.h"

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using namespace baton;

struct Answer {
  int status = 0;     // 0: the connection failed or closed without an answer
  std::string error;  // then: why
  std::string content_type;
  std::string body;
};

// One keep-alive connection, opened again when the server closed it.
class Connection {
 public:
  explicit Connection(uint16_t port) : port_(port) {}

  Answer Call(http::verb method, const std::string& target, const std::string& content_type,
              const std::string& body, const std::string& token) {
    std::string error;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!stream_ && !Open(&error)) return {0, "", "", error};
      http::request<http::string_body> req{method, target, 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::authorization, "Bearer " + token);
      if (!content_type.empty()) req.set(http::field::content_type, content_type);
      req.body() = body;
      req.prepare_payload();
      boost::system::error_code ec;
      http::write(*stream_, req, ec);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      parser.skip(method == http::verb::head);
      if (!ec) http::read_header(*stream_, buffer_, parser, ec);
      if (ec) {  // closed after the last answer: once more on a new connection
        error += "request: " + ec.message() + "; ";
        Drop();
        continue;
      }
      Answer a;
      a.status = static_cast<int>(parser.get().result_int());
      a.content_type = std::string(parser.get()[http::field::content_type]);
      // A stream (events, a followed log) has no length and runs until the server or the
      // client ends it: its head is the answer.
      const bool streaming = !parser.content_length().has_value() && !parser.chunked();
      if (streaming) {
        Drop();
        return a;
      }
      http::read(*stream_, buffer_, parser, ec);
      FUZZ_CHECK(!ec);  // a whole answer, once its head came
      a.body = parser.get().body();
      if (!parser.get().keep_alive()) Drop();
      return a;
    }
    return {0, "", "", error};
  }

 private:
  // Closed with a reset, not a FIN: a run drops thousands of connections a minute (each stream),
  // and closed ones would otherwise hold their ports in TIME_WAIT until none is left.
  void Drop() {
    if (!stream_) return;
    boost::system::error_code ec;
    stream_->socket().set_option(net::socket_base::linger(true, 0), ec);
    stream_.reset();
  }

  bool Open(std::string* error) {
    stream_.emplace(ioc_);
    buffer_.clear();
    boost::system::error_code ec;
    stream_->connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    if (ec) {
      *error += "connect: " + ec.message() + "; ";
      Drop();
      return false;
    }
    stream_->expires_never();
    return true;
  }

  uint16_t port_;
  net::io_context ioc_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

struct World {
  std::string dir;
  std::unique_ptr<server::Server> server;
  std::unique_ptr<Connection> connection;
  std::string admin, user;

  World() {
    char path[] = "/tmp/baton-fuzz-rest-XXXXXX";
    FUZZ_CHECK(mkdtemp(path) != nullptr);
    dir = path;
    server::ServerOptions options;
    options.data_dir = dir + "/data";
    options.port = 0;
    options.database.synchronous = "OFF";  // durability is not what this target checks
    Result<std::unique_ptr<server::Server>> started = server::Server::Start(std::move(options));
    FUZZ_CHECK(started.ok());
    server = std::move(*started);
    std::ifstream in(server->admin_token_path());
    FUZZ_CHECK(static_cast<bool>(std::getline(in, admin)));
    connection = std::make_unique<Connection>(server->port());
    Answer a = connection->Call(http::verb::post, "/v1/tokens", "application/json",
                                R"({"user":"fuzz"})", admin);
    FUZZ_CHECK(a.status == 201 || a.status == 200);
    user = std::string(boost::json::parse(a.body).at("token").as_string());
    // Something for the requests that name a job, a workflow or a schedule to find.
    for (const char* body : {R"({"type":"shell","payload":{"command":"true"}})",
                             R"([{"type":"a","priority":3},{"type":"b","idempotency_key":"k"}])"}) {
      const int status =
          connection->Call(http::verb::post, "/v1/jobs", "application/json", body, admin).status;
      FUZZ_CHECK(status == 201);
    }
  }
  ~World() {
    connection.reset();
    server.reset();  // ~Server stops it
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One server for many inputs. What the inputs submit stays queued (no worker runs it), so the
  // server is replaced by a fresh one now and then, to keep a long run within libFuzzer's memory
  // limit. The last one is stopped at exit, before OpenSSL's own exit handler (registered while
  // the first server started, so run after this one) frees what the server's threads use.
  static World* current = nullptr;
  static size_t runs = 0;
  if (runs++ % 50000 == 0) {
    const bool first = current == nullptr;
    delete current;
    current = new World();
    if (first) {
      std::atexit([] {
        delete current;
        current = nullptr;
      });
    }
  }
  World& world = *current;
  std::string_view text = AsText(data, size);
  const size_t nl = text.find('\n');
  std::string line(text.substr(0, nl));
  const std::string body(nl == std::string_view::npos ? "" : text.substr(nl + 1));
  bool as_user = false;
  if (line.size() >= 6 && line.compare(line.size() - 6, 6, " @user") == 0) {
    as_user = true;
    line.resize(line.size() - 6);
  }
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string::npos) return 0;
  const size_t sp2 = line.find(' ', sp1 + 1);
  const std::string method_text = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 == std::string::npos ? sp2 : sp2 - sp1 - 1);
  const std::string content_type = sp2 == std::string::npos ? "" : line.substr(sp2 + 1);
  const http::verb method = http::string_to_verb(method_text);
  // What an HTTP client could not send at all is the HTTP parser's business, not the API's.
  if (method == http::verb::unknown || target.empty() || target[0] != '/') return 0;
  for (char c : target + content_type) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return 0;
  }

  Answer a = world.connection->Call(method, target, content_type, body,
                                    as_user ? world.user : world.admin);
  if (a.status == 0 || a.status == 500) {
    std::fprintf(stderr, "answer %d: %s%s\n", a.status, a.error.c_str(), a.body.c_str());
  }
  FUZZ_CHECK(a.status != 0);    // every request is answered
  FUZZ_CHECK(a.status != 500);  // an internal error on a healthy store is a bug
  const bool json_body = a.content_type.rfind("application/json", 0) == 0;
  if (json_body && method != http::verb::head) {  // JSON a client can read: UTF-8 and whole
    boost::system::error_code ec;
    boost::json::parse(a.body, ec);
    FUZZ_CHECK(!ec);
  }
  if (a.status >= 400 && method != http::verb::head) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(a.body, ec);
    FUZZ_CHECK(!ec && v.is_object());
    // The compatibility endpoints answer a job that failed or was cancelled with its status (410).
    const bool compat = target.rfind("/download/", 0) == 0 || target.rfind("/terminate/", 0) == 0;
    if (!compat || !v.as_object().contains("status")) {
      FUZZ_CHECK(v.as_object().contains("error"));
      const boost::json::value& message = v.at("error").at("message");
      FUZZ_CHECK(message.is_string() && !message.as_string().empty());
    }
  }
  FUZZ_CHECK(world.connection->Call(http::verb::get, "/healthz", "", "", "").status == 200);
  return 0;
}
