#include "server/http_server.h"

#include <pthread.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace baton::server {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

http::status HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return http::status::ok;
    case StatusCode::kInvalidArgument:
      return http::status::bad_request;
    case StatusCode::kNotFound:
      return http::status::not_found;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kStaleAttempt:
      return http::status::conflict;
    case StatusCode::kResourceExhausted:
      return http::status::too_many_requests;
    case StatusCode::kUnavailable:
      return http::status::service_unavailable;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      return http::status::internal_server_error;
    case StatusCode::kUnauthenticated:
      return http::status::unauthorized;
    case StatusCode::kPermissionDenied:
      return http::status::forbidden;
  }
  return http::status::internal_server_error;
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
  error["message"] = status.message();
  boost::json::object body;
  body["error"] = std::move(error);
  return JsonResponse(HttpStatusFor(status.code()), boost::json::serialize(body), version,
                      keep_alive);
}

class Session;

class HttpServer::Impl {
 public:
  Impl(HttpLimits limits, Handler handler)
      : limits_(limits), handler_(std::move(handler)), acceptor_(ioc_) {}
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
      ioc_.stop();
      for (auto& t : threads_) t.join();
    });
  }

  uint16_t port() const { return port_; }
  const HttpLimits& limits() const { return limits_; }
  const Handler& handler() const { return handler_; }

  void Unregister(Session* s);

 private:
  void Accept();
  void CloseAll();

  HttpLimits limits_;
  Handler handler_;
  // Declared before the io_context: sessions still queued in it when it is destroyed unregister
  // themselves here.
  std::atomic<size_t> connections_{0};
  std::mutex sessions_mu_;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions_;
  std::once_flag stopped_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  friend class Session;
};

// One connection: reads a request, hands it to the handler, writes the reply, and repeats while
// the client keeps the connection alive.
class Session : public std::enable_shared_from_this<Session> {
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

  void Close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->limits().header_bytes_max));
    parser_->body_limit(server_->limits().body_bytes_max);
    stream_.expires_after(std::chrono::milliseconds(server_->limits().idle_timeout_ms));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
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
    HttpRequest request = parser_->release();
    // No read while the handler works: one request at a time per connection, and no idle
    // timeout runs against a request the server is still answering.
    stream_.expires_never();
    auto self = shared_from_this();
    server_->handler()(std::move(request), [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response));
      });
    });
  }

  // Answers a request that broke a limit, and closes the connection: the rest of what the client
  // sends is not read.
  void WriteRefusal(http::status status, const std::string& message) {
    HttpResponse res = ErrorResponse(InvalidArgument(message), 11, false);
    res.result(status);
    Write(std::move(res));
  }

  void Write(HttpResponse response) {
    const bool keep_alive = response.keep_alive();
    auto owned = std::make_shared<HttpResponse>(std::move(response));
    stream_.expires_after(std::chrono::milliseconds(server_->limits().idle_timeout_ms));
    http::async_write(stream_, *owned,
                      [self = shared_from_this(), owned, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->Shutdown();
                        self->Read();
                      });
  }

  void Shutdown() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

 public:
  ~Session() { server_->Unregister(this); }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl* server_;
  bool over_limit_;
};

void HttpServer::Impl::Unregister(Session*) { --connections_; }

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
      auto session = std::make_shared<Session>(std::move(socket), this, over);
      {
        std::lock_guard lock(sessions_mu_);
        // Forget sessions that have ended, so the set stays as small as the open connections.
        std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
        sessions_.insert(session);
      }
      session->Run();
    }
    Accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& host, uint16_t port,
                                                      HttpLimits limits, Handler handler) {
  auto impl = std::make_unique<Impl>(limits, std::move(handler));
  BATON_RETURN_IF_ERROR(impl->Listen(host, port));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace baton::server
