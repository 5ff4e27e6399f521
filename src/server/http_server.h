// HttpServer: HTTP/1.1 on Boost.Beast, with every limit a client could push against made explicit.
// It parses requests and enforces the limits; a Handler decides the answer and may give it later,
// from any thread (for example after a commit).
//
// Thread rules: Start and Stop from one controlling thread. The handler runs on the server's I/O
// threads; the reply callback it receives may be called from any thread, exactly once.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace baton::server {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;
using Reply = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&& request, Reply reply)>;

struct HttpLimits {
  size_t header_bytes_max = 16 << 10;  // request line and headers; more: 431
  size_t body_bytes_max = 64 << 20;    // more: 413
  size_t connections_max = 1024;       // more: 503, then the connection is closed
  int64_t idle_timeout_ms = 60'000;    // a connection silent this long is closed
  int threads = 2;                     // I/O threads
};

class HttpServer {
 public:
  // Listens on `host`:`port` (port 0: any free port; see port()).
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& host, uint16_t port,
                                                   HttpLimits limits, Handler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting, closes every connection, joins the I/O threads. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A JSON answer: {"error":{"code":"invalid_argument","message":"..."}} with the HTTP status that
// matches the code.
HttpResponse ErrorResponse(const Status& status, unsigned version, bool keep_alive);
HttpResponse JsonResponse(http::status status, std::string body, unsigned version, bool keep_alive);
http::status HttpStatusFor(StatusCode code);

}  // namespace baton::server
