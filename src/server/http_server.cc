#include "server/http_server.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "common/json.h"

namespace baton::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

http::status HttpStatusFor(StatusCode code) {
  return static_cast<http::status>(HttpStatusOf(code));
}

HttpResponse JsonResponse(http::status status, std::string body, unsigned version,
                          bool keep_alive) {
  HttpResponse res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "baton");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

HttpResponse ErrorResponse(const Status& status, unsigned version, bool keep_alive) {
  boost::json::object error;
  error["code"] = std::string(StatusCodeName(status.code()));
  error["message"] = json::ValidUtf8(status.message());  // messages quote outside input
  boost::json::object body;
  body["error"] = std::move(error);
  return JsonResponse(HttpStatusFor(status.code()), boost::json::serialize(body), version,
                      keep_alive);
}

// What CloseAll reaches: every open connection, whatever it speaks.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Close() = 0;
  // Its socket is closed: its place in connections_max is free, even if the object lives on.
  virtual void Released() {}
};

class HttpServer::Impl {
 public:
  Impl(HttpLimits limits, Handler handler, WebSocketUpgrade upgrade, RequestSpool spool)
      : limits_(limits),
        handler_(std::move(handler)),
        upgrade_(std::move(upgrade)),
        spool_(std::move(spool)),
        acceptor_(ioc_) {}
  ~Impl() { Stop(); }

  Status Listen(const std::string& host, uint16_t port) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(host, ec);
    if (ec) return InvalidArgument("listen: \"" + host + "\" is not an IP address");
    const tcp::endpoint endpoint{address, port};
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable("listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    work_.emplace(ioc_.get_executor());  // the threads run until Stop, even with nothing to do
    Accept();
    for (int i = 0; i < std::max(1, limits_.threads); ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "baton-http");
        ioc_.run();
      });
    }
    return Status::Ok();
  }

  void Stop() {
    std::call_once(stopped_, [this] {
      if (!threads_.empty()) {
        // Close on an I/O thread, and wait for it, before stopping the threads.
        std::promise<void> closed;
        net::post(acceptor_.get_executor(), [this, &closed] {
          boost::system::error_code ec;
          acceptor_.close(ec);
          CloseAll();
          closed.set_value();
        });
        closed.get_future().wait();
      }
      work_.reset();
      ioc_.stop();
      for (auto& t : threads_) t.join();
    });
  }

  void StopAccepting() {
    draining_ = true;
    if (threads_.empty()) return;
    std::promise<void> closed;
    net::post(acceptor_.get_executor(), [this, &closed] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      closed.set_value();
    });
    closed.get_future().wait();
  }

  bool WaitIdle(int64_t timeout_ms) {
    std::unique_lock lock(idle_mu_);
    return idle_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [this] { return answering_ == 0; });
  }
  // A request is being answered: from its handing to the handler until its answer is written.
  void BeginAnswer() {
    std::lock_guard lock(idle_mu_);
    ++answering_;
  }
  void EndAnswer() {
    std::lock_guard lock(idle_mu_);
    if (--answering_ == 0) idle_cv_.notify_all();
  }
  bool draining() const { return draining_; }

  uint16_t port() const { return port_; }
  const HttpLimits& limits() const { return limits_; }
  const Handler& handler() const { return handler_; }
  const WebSocketUpgrade& upgrade() const { return upgrade_; }
  const RequestSpool& spool() const { return spool_; }
  // A new file name under the spool directory.
  std::string SpoolPath() {
    return spool_.dir + "/upload-" + std::to_string(spool_files_.fetch_add(1)) + ".part";
  }

  void Register(const std::shared_ptr<Connection>& c) {
    std::lock_guard lock(sessions_mu_);
    // Forget connections that have ended, so the set stays as small as the open connections.
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.insert(c);
  }
  void Unregister() { --connections_; }

 private:
  void Accept();
  void CloseAll();

  HttpLimits limits_;
  Handler handler_;
  WebSocketUpgrade upgrade_;
  RequestSpool spool_;
  std::atomic<uint64_t> spool_files_{0};
  // Declared before the io_context: sessions still queued in it when it is destroyed unregister
  // themselves here.
  std::atomic<size_t> connections_{0};
  std::mutex sessions_mu_;
  std::set<std::weak_ptr<Connection>, std::owner_less<std::weak_ptr<Connection>>> sessions_;
  std::once_flag stopped_;
  std::atomic<bool> draining_{false};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  size_t answering_ = 0;  // under idle_mu_
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  friend class Session;
  friend class WsSession;
};

// A WebSocket connection, upgraded from a Session.
class WsSession : public Connection,
                  public WebSocket,
                  public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(HttpServer::Impl* server, net::any_io_executor executor)
      : server_(server), executor_(std::move(executor)) {}
  ~WsSession() override {
    if (ws_) server_->Unregister();
  }

  // Takes over the connection and answers the upgrade.
  void Start(beast::tcp_stream stream, HttpRequest request, WebSocketHandlers handlers) {
    ++server_->connections_;
    ws_.emplace(std::move(stream));
    handlers_ = std::move(handlers);
    beast::get_lowest_layer(*ws_).expires_never();  // the websocket's own timeouts take over
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = std::chrono::milliseconds(server_->limits().idle_timeout_ms);
    timeouts.keep_alive_pings = true;  // a live client answers the pings, so only the dead time out
    ws_->set_option(timeouts);
    ws_->read_message_max(server_->limits().body_bytes_max);
    ws_->set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "baton"); }));
    ws_->text(true);
    auto owned = std::make_shared<HttpRequest>(std::move(request));
    ws_->async_accept(*owned, [self = shared_from_this(), owned](beast::error_code ec) {
      if (ec) return self->Ended();
      self->open_ = true;
      self->Read();
      self->Flush();
    });
  }

  void Send(std::string text) override {
    net::post(executor(), [self = shared_from_this(), text = std::move(text)]() mutable {
      if (self->ended_) return;
      self->backlog_ += text.size();
      if (self->backlog_ > self->server_->limits().websocket_backlog_bytes_max) {
        return self->CloseNow(websocket::close_code::policy_error,
                              "the client reads too slowly (websocket_backlog_bytes_max)");
      }
      self->outbox_.push_back(std::move(text));
      self->Flush();
    });
  }

  void Close(std::string reason) override {
    net::post(executor(), [self = shared_from_this(), reason = std::move(reason)] {
      self->close_reason_ = reason;
      self->closing_ = true;
      self->Flush();
    });
  }

  void Close() override { Close("the server is stopping"); }

 private:
  const net::any_io_executor& executor() const { return executor_; }

  void Read() {
    ws_->async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Ended();
      std::string message = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      if (self->handlers_.on_message) self->handlers_.on_message(std::move(message));
      self->Read();
    });
  }

  // Writes the next queued message, or the close frame once all are out.
  void Flush() {
    if (!open_ || writing_ || ended_) return;
    if (outbox_.empty()) {
      if (closing_) CloseNow(websocket::close_code::normal, close_reason_);
      return;
    }
    writing_ = true;
    ws_->async_write(net::buffer(outbox_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       self->backlog_ -= self->outbox_.front().size();
                       self->outbox_.pop_front();
                       if (ec) return self->Ended();
                       self->Flush();
                     });
  }

  void CloseNow(websocket::close_code code, const std::string& reason) {
    if (ended_ || close_sent_) return;
    close_sent_ = true;
    if (!open_) return Ended();
    websocket::close_reason why(code);
    why.reason = reason.substr(0, 120);  // a close frame holds at most 123 bytes of reason
    ws_->async_close(why, [self = shared_from_this()](beast::error_code) { self->Ended(); });
  }

  void Ended() {
    if (ended_) return;
    ended_ = true;
    if (handlers_.on_close) handlers_.on_close();
    handlers_ = {};  // drops what the handlers hold, which may include this session
    beast::error_code ec;
    beast::get_lowest_layer(*ws_).socket().close(ec);
  }

  HttpServer::Impl* server_;
  net::any_io_executor executor_;  // the connection's strand
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  WebSocketHandlers handlers_;
  beast::flat_buffer buffer_;
  std::deque<std::string> outbox_;
  size_t backlog_ = 0;
  bool open_ = false, writing_ = false, closing_ = false, close_sent_ = false, ended_ = false;
  std::string close_reason_;
};

// The body of a streamed response, written straight to the socket after the headers.
class StreamSession : public ResponseStream, public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(std::shared_ptr<Connection> owner, beast::tcp_stream* stream)
      : owner_(std::move(owner)), stream_(stream) {}
  // From the head on, each Write is framed as one chunk and End sends the last chunk.
  void Chunked() { chunked_ = true; }

  bool Write(std::string data) override {
    if (closed_) return false;
    if (chunked_) {
      if (data.empty()) return true;  // an empty chunk would end the body
      std::ostringstream frame;
      frame << std::hex << data.size() << "\r\n";
      data.insert(0, frame.str());
      data += "\r\n";
    }
    backlog_ += data.size();
    net::post(stream_->get_executor(),
              [self = shared_from_this(), data = std::move(data)]() mutable {
                self->outbox_.push_back(std::move(data));
                self->Flush();
              });
    return true;
  }
  void End() override {
    net::post(stream_->get_executor(), [self = shared_from_this()] {
      if (self->chunked_ && !self->ending_ && !self->closed_) {
        constexpr std::string_view kLastChunk = "0\r\n\r\n";
        self->backlog_ += kLastChunk.size();
        self->outbox_.emplace_back(kLastChunk);
      }
      self->ending_ = true;
      self->Flush();
    });
  }
  void Abort() override {
    net::post(stream_->get_executor(), [self = shared_from_this()] { self->Finish(); });
  }
  bool closed() const override { return closed_; }
  size_t backlog() const override { return backlog_; }
  void WhenRoom(size_t bytes, std::function<void()> fn) override {
    net::post(stream_->get_executor(),
              [self = shared_from_this(), bytes, fn = std::move(fn)]() mutable {
                if (self->closed_ || self->backlog_ <= bytes) return fn();
                self->room_ = bytes;
                self->on_room_ = std::move(fn);
              });
  }

  // Starts watching the client: anything it sends or its going away ends the stream.
  void Watch() {
    stream_->expires_never();
    stream_->async_read_some(
        net::buffer(probe_),
        [self = shared_from_this()](beast::error_code, size_t) { self->Finish(); });
  }
  void Flush() {
    if (writing_ || closed_) return;
    if (outbox_.empty()) {
      if (ending_) Finish();
      return;
    }
    writing_ = true;
    net::async_write(stream_->socket(), net::buffer(outbox_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       self->backlog_ -= self->outbox_.front().size();
                       self->outbox_.pop_front();
                       if (ec) return self->Finish();
                       if (self->on_room_ && self->backlog_ <= self->room_) self->CallOnRoom();
                       self->Flush();
                     });
  }
  void Finish() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_->close();
    // The stream object lives on until whoever writes it sees it closed (an event stream at its
    // next event or keepalive, a followed log at its next line): the slot is free already.
    owner_->Released();
    // A write in flight still points into the front message; its completion pops it.
    if (!writing_) outbox_.clear();
    if (on_room_) CallOnRoom();  // the producer sees the stream closed, and stops
  }
  void CallOnRoom() {
    std::function<void()> fn;
    fn.swap(on_room_);
    fn();
  }

 private:
  // Keeps the connection (and stream_) alive as long as this stream is; whoever writes the stream
  // must drop it once it is closed, and before the server is destroyed.
  std::shared_ptr<Connection> owner_;
  beast::tcp_stream* stream_;
  std::deque<std::string> outbox_;
  std::atomic<size_t> backlog_{0};
  std::atomic<bool> closed_{false};
  bool writing_ = false, ending_ = false;
  bool chunked_ = false;           // set before the first Write
  size_t room_ = 0;                // on the strand: the backlog on_room_ waits for
  std::function<void()> on_room_;  // on the strand
  char probe_[1];
};

// One connection: reads a request, hands it to the handler, writes the reply, and repeats while
// the client keeps the connection alive.
class Session : public Connection, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server, bool over_limit)
      : stream_(std::move(socket)), server_(server), over_limit_(over_limit) {}

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->over_limit_) {
        self->Write(ErrorResponse(
            ResourceExhausted("too many connections (connections_max = " +
                              std::to_string(self->server_->limits().connections_max) +
                              "); try again later"),
            11, false));
        return;
      }
      self->Read();
    });
  }

  void Close() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (auto stream = self->stream_session_.lock()) return stream->Finish();
      boost::system::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
      self->Released();
    });
  }

  // On the strand, or from the destructor.
  void Released() override {
    if (std::exchange(counted_, false)) server_->Unregister();
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->limits().header_bytes_max));
    parser_->body_limit(server_->limits().body_bytes_max);
    stream_.expires_after(std::chrono::milliseconds(server_->limits().idle_timeout_ms));
    // The head first: it decides whether the body goes to memory or to a spool file.
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    HttpRequest& head = parser_->get();
    head.erase(kSpooledBodyHeader);  // only the server sets it
    const RequestSpool& spool = server_->spool();
    if (spool.wants && !websocket::is_upgrade(head) && spool.wants(head, ContentLength())) {
      return Spool();
    }
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // The body's declared length as the parser read it (none when chunked).
  std::optional<uint64_t> ContentLength() const {
    const auto length = parser_->content_length();
    return length ? std::optional<uint64_t>(*length) : std::nullopt;
  }

  // Reads the body into a file under the spool directory, in the parser's buffer-sized pieces.
  void Spool() {
    const uint64_t max = server_->spool().bytes_max;
    // (A declared length is checked against the header parser's limit only: check it here.)
    if (const std::optional<uint64_t> length = ContentLength(); length && *length > max) {
      return WriteRefusal(
          http::status::payload_too_large,
          "body: larger than " + std::to_string(max) + " bytes, the most this upload may hold");
    }
    spooled_ = server_->SpoolPath();
    spool_parser_.emplace(std::move(*parser_));
    parser_.reset();
    spool_parser_->body_limit(max);
    beast::error_code ec;
    spool_parser_->get().body().open(spooled_.c_str(), beast::file_mode::write_new, ec);
    if (ec) {
      spool_parser_.reset();
      return Write(ErrorResponse(
          Unavailable("cannot take the upload: " + spooled_ + ": " + ec.message()), 11, false));
    }
    http::async_read(
        stream_, buffer_, *spool_parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnSpooled(ec); });
  }

  void OnSpooled(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      spool_parser_.reset();
      return WriteRefusal(http::status::payload_too_large,
                          "body: larger than " + std::to_string(server_->spool().bytes_max) +
                              " bytes, the most this upload may hold");
    }
    if (ec) {
      spool_parser_.reset();
      return OnRead(ec);
    }
    http::request<http::file_body> message = spool_parser_->release();
    spool_parser_.reset();
    message.body().close();
    HttpRequest request(std::move(message.base()));
    request.set(kSpooledBodyHeader, spooled_);
    Dispatch(std::move(request));
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return Shutdown();
    }
    if (ec == http::error::header_limit) {
      return WriteRefusal(http::status::request_header_fields_too_large,
                          "headers: larger than header_bytes_max (" +
                              std::to_string(server_->limits().header_bytes_max) + " bytes)");
    }
    if (ec == http::error::body_limit) {
      return WriteRefusal(http::status::payload_too_large,
                          "body: larger than body_bytes_max (" +
                              std::to_string(server_->limits().body_bytes_max) + " bytes)");
    }
    if (ec) {
      return Write(
          ErrorResponse(InvalidArgument("malformed HTTP request: " + ec.message()), 11, false));
    }
    Dispatch(parser_->release());
  }

  void Dispatch(HttpRequest request) {
    if (server_->draining()) {
      return Write(ErrorResponse(Unavailable("the server is stopping; send the request again "
                                             "once it is back"),
                                 request.version(), false));
    }
    // No read while the handler works: one request at a time per connection, and no idle
    // timeout runs against a request the server is still answering.
    stream_.expires_never();
    if (websocket::is_upgrade(request)) return Upgrade(std::move(request));
    auto self = shared_from_this();
    server_->BeginAnswer();
    answering_ = true;
    Reply reply(
        [self](HttpResponse response) {
          net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
            self->Write(std::move(response));
          });
        },
        [self](HttpResponse head) -> std::shared_ptr<ResponseStream> {
          auto stream = std::make_shared<StreamSession>(self, &self->stream_);
          net::post(self->stream_.get_executor(), [self] { self->DropSpooled(); });
          head.keep_alive(false);
          head.body().clear();  // a Content-Length the head set stays: the body's size
          std::ostringstream out;
          out << head.base();        // the status line and headers, ending with an empty line
          stream->Write(out.str());  // first on the strand, before anything the caller writes
          // With Transfer-Encoding: chunked, what the caller writes is framed as chunks: a client
          // can tell a body cut short from a whole one.
          if (head.chunked()) stream->Chunked();
          net::post(self->stream_.get_executor(), [self, stream] {
            self->stream_session_ = stream;
            stream->Watch();
            self->Answered();
          });
          return stream;
        });
    server_->handler()(std::move(request), std::move(reply));
  }

  void Upgrade(HttpRequest request) {
    if (!server_->upgrade()) {
      return Write(
          ErrorResponse(NotFound(std::string(request.target()) + ": no WebSocket endpoint here"),
                        request.version(), false));
    }
    auto ws = std::make_shared<WsSession>(server_, stream_.get_executor());
    Result<WebSocketHandlers> handlers = server_->upgrade()(request, ws);
    if (!handlers.ok()) return Write(ErrorResponse(handlers.status(), request.version(), false));
    server_->Register(ws);
    ws->Start(std::move(stream_), std::move(request), std::move(*handlers));
  }

  // Answers a request that broke a limit, and closes the connection: the rest of what the client
  // sends is not read.
  void WriteRefusal(http::status status, const std::string& message) {
    HttpResponse res = ErrorResponse(InvalidArgument(message), 11, false);
    res.result(status);
    Write(std::move(res));
  }

  void Write(HttpResponse response) {
    DropSpooled();  // the handler has answered: it is done with the request's body
    if (server_->draining()) response.keep_alive(false);  // the last answer on this connection
    const bool keep_alive = response.keep_alive();
    auto owned = std::make_shared<HttpResponse>(std::move(response));
    stream_.expires_after(std::chrono::milliseconds(server_->limits().idle_timeout_ms));
    http::async_write(stream_, *owned,
                      [self = shared_from_this(), owned, keep_alive](beast::error_code ec, size_t) {
                        self->Answered();
                        if (ec || !keep_alive) return self->Shutdown();
                        self->Read();
                      });
  }

  // On the strand: the request taken last has its answer out (or its stream started).
  void Answered() {
    if (!answering_) return;
    answering_ = false;
    server_->EndAnswer();
  }

  void Shutdown() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
    Released();
  }

 public:
  // The spooled body of the request just answered (or abandoned) goes.
  void DropSpooled() {
    if (spooled_.empty()) return;
    ::unlink(spooled_.c_str());
    spooled_.clear();
  }

  ~Session() override {
    DropSpooled();
    if (answering_) server_->EndAnswer();  // the handler dropped its reply without answering
    Released();
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl* server_;
  bool over_limit_;
  bool answering_ = false;  // counted in the server's answers in progress
  std::optional<http::request_parser<http::file_body>> spool_parser_;
  std::string spooled_;  // the file the current request's body was spooled to
  bool counted_ = true;  // holds a place in connections_max (until Released)
  std::weak_ptr<StreamSession> stream_session_;  // a streamed response, once started
};

void HttpServer::Impl::CloseAll() {
  std::lock_guard lock(sessions_mu_);
  for (const auto& weak : sessions_) {
    if (auto s = weak.lock()) s->Close();
  }
  sessions_.clear();
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted) return;  // closed by Stop()
    } else {
      const bool over = connections_.fetch_add(1) >= limits_.connections_max;
      // Small answers and pushed frames leave at once (no Nagle delay behind a delayed ACK).
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto session = std::make_shared<Session>(std::move(socket), this, over);
      Register(session);
      session->Run();
    }
    Accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& host, uint16_t port,
                                                      HttpLimits limits, Handler handler,
                                                      WebSocketUpgrade upgrade,
                                                      RequestSpool spool) {
  auto impl =
      std::make_unique<Impl>(limits, std::move(handler), std::move(upgrade), std::move(spool));
  BATON_RETURN_IF_ERROR(impl->Listen(host, port));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::StopAccepting() { impl_->StopAccepting(); }
bool HttpServer::WaitIdle(int64_t timeout_ms) { return impl_->WaitIdle(timeout_ms); }

}  // namespace baton::server
