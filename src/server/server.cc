#include "server/server.h"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <charconv>
#include <filesystem>

namespace baton::server {

Status ParseListen(const std::string& text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return InvalidArgument("--listen: expected HOST:PORT, got \"" + text + "\"");
  }
  unsigned value = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last || value > 65535) {
    return InvalidArgument("--listen: the port must be a number from 0 to 65535, got \"" +
                           std::string(first, last) + "\"");
  }
  *host = text.substr(0, colon);
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  std::unique_ptr<Server> s(new Server(std::move(options)));
  std::error_code ec;
  std::filesystem::create_directories(s->options_.data_dir, ec);
  if (ec) {
    return Unavailable("--data " + s->options_.data_dir + ": cannot create it: " + ec.message());
  }
  ::chmod(s->options_.data_dir.c_str(), 0700);  // the data is the users' jobs: owner only
  auto store = store::SqliteStore::Open(s->options_.data_dir + "/baton.db", s->options_.sqlite);
  if (!store.ok()) return store.status();
  s->store_ = std::move(*store);
  auto runtime = Runtime::Start(s->store_.get(), &s->clock_, s->options_.runtime);
  if (!runtime.ok()) return runtime.status();
  s->runtime_ = std::move(*runtime);
  Server* self = s.get();
  auto http = HttpServer::Start(s->options_.host, s->options_.port, s->options_.http,
                                [self](HttpRequest&& request, Reply reply) {
                                  self->Handle(std::move(request), std::move(reply));
                                });
  if (!http.ok()) return http.status();
  s->http_ = std::move(*http);
  return s;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  // The order matters: no new requests; then the runtime commits what it has and answers its
  // callers (into the stopped HTTP threads, where the answers are dropped); then the store.
  if (http_) http_->Stop();
  runtime_.reset();
  http_.reset();
  store_.reset();
}

void Server::Handle(HttpRequest&& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const std::string target(request.target());
  if (target == "/healthz" && request.method() == http::verb::get) {
    // Healthy means the engine thread answers and the store commits.
    runtime_->Execute(
        [](engine::Engine&) {},
        [reply, version, keep_alive](const Status& s) {
          if (!s.ok()) return reply(ErrorResponse(s, version, keep_alive));
          reply(JsonResponse(http::status::ok, R"({"status":"ok"})", version, keep_alive));
        });
    return;
  }
  reply(ErrorResponse(
      NotFound(std::string(request.method_string()) + " " + target + ": no such endpoint"), version,
      keep_alive));
}

}  // namespace baton::server
