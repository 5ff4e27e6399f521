// HttpServer: HTTP/1.1 on Boost.Beast, with every limit a client could push against made explicit.
// It parses requests and enforces the limits; a Handler decides the answer and may give it later,
// from any thread (for example after a commit).
//
// Besides plain request/response it serves responses that go on after their headers (server-sent
// events, followed logs: Reply::Stream) and WebSocket connections (the worker protocol).
//
// Thread rules: Start and Stop from one controlling thread. The handler runs on the server's I/O
// threads; the Reply it receives may be used from any thread, exactly once.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace baton::server {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// The rest of a response whose headers have gone: written as it comes, until End() or until the
// client goes away. The connection closes at the end. Unless the head gives a Content-Length or
// says Transfer-Encoding: chunked (each Write is then one chunk), the end of the body is the end
// of the connection; with either, a client can tell a body cut short from a whole one.
// Thread rules: thread-safe.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Queues `data`; false once the client has gone or the server is stopping (stop writing then).
  virtual bool Write(std::string data) = 0;
  virtual void End() = 0;
  // Closes the connection now, without the rest of what was queued: the body went wrong after
  // its head was sent, and the client must see it cut short rather than whole.
  virtual void Abort() = 0;
  virtual bool closed() const = 0;
  // Bytes queued and not yet written: a writer that outpaces its client should wait or give up.
  virtual size_t backlog() const = 0;
  // Calls `fn` once, on an I/O thread, when the backlog is at most `bytes` (at once if it is
  // already) or the stream has closed: a producer writes a window, then waits here for room, so
  // a slow client holds back the producer instead of filling the server's memory.
  virtual void WhenRoom(size_t bytes, std::function<void()> fn) = 0;
};

// How a handler answers: once, with a whole response, or with a stream.
class Reply {
 public:
  using Send = std::function<void(HttpResponse)>;
  using Open = std::function<std::shared_ptr<ResponseStream>(HttpResponse)>;
  Reply(Send send, Open open) : send_(std::move(send)), open_(std::move(open)) {}
  void operator()(HttpResponse response) const { send_(std::move(response)); }
  // Sends `head`'s status and headers (not its body) and returns the stream for the rest.
  std::shared_ptr<ResponseStream> Stream(HttpResponse head) const { return open_(std::move(head)); }

 private:
  Send send_;
  Open open_;
};
using Handler = std::function<void(HttpRequest&& request, Reply reply)>;

// One accepted WebSocket connection. Thread rules: thread-safe.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // Queues a text message; messages leave in the order sent. A client that lets more than
  // HttpLimits::websocket_backlog_bytes_max pile up is disconnected.
  virtual void Send(std::string text) = 0;
  // Closes the connection (after what was queued), with `reason` in the close frame.
  virtual void Close(std::string reason) = 0;
};
struct WebSocketHandlers {
  // Each message, in order, on an I/O thread; the next is read only after this returns.
  std::function<void(std::string message)> on_message;
  // Once, when the connection has ended for any reason.
  std::function<void()> on_close;
};
// Called for an upgrade request, on an I/O thread: an error is answered as plain HTTP and the
// connection is not upgraded; otherwise `socket` is the connection the handlers serve.
using WebSocketUpgrade = std::function<Result<WebSocketHandlers>(
    const HttpRequest& request, std::shared_ptr<WebSocket> socket)>;

// Request bodies written to a file as they arrive instead of held in memory (big uploads). For a
// request whose head and declared length (none when chunked) `wants` says yes to, the body goes to
// a new file under `dir` (at most `bytes_max` bytes; more: 413), and the handler gets the request
// with an empty body and the file's path in the Baton-Spooled-Body header. A client's own header of
// that name is removed from every request first. The handler may read or move the file until it
// answers; the file is deleted as the answer is given.
struct RequestSpool {
  std::string dir;
  std::function<bool(const HttpRequest& head, std::optional<uint64_t> length)> wants;
  uint64_t bytes_max = 0;
};
inline constexpr std::string_view kSpooledBodyHeader = "Baton-Spooled-Body";

struct HttpLimits {
  size_t header_bytes_max = 16 << 10;             // request line and headers; more: 431
  size_t body_bytes_max = 64 << 20;               // more: 413
  size_t connections_max = 1024;                  // more: 503, then the connection is closed
  int64_t idle_timeout_ms = 60'000;               // a connection silent this long is closed
  int threads = 2;                                // I/O threads
  size_t websocket_backlog_bytes_max = 64 << 20;  // unsent bytes to one WebSocket; more: closed
};

class HttpServer {
 public:
  // Listens on `host`:`port` (port 0: any free port; see port()).
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& host, uint16_t port,
                                                   HttpLimits limits, Handler handler,
                                                   WebSocketUpgrade upgrade = nullptr,
                                                   RequestSpool spool = {});
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // The first step of a graceful stop: no new connections; a request that arrives on an open one
  // is answered 503 and its connection closed; answers still to come close theirs after them.
  void StopAccepting();
  // Waits until every request taken before StopAccepting has had its answer written (a streamed
  // one counts once its headers are out), or `timeout_ms` has passed; false on the timeout.
  bool WaitIdle(int64_t timeout_ms);
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
