// A worker's WebSocket by hand, for tests that speak the worker protocol frame by frame
// (docs/protocol.md): connects to /v1/workers/connect on loopback with a token, sends text
// frames, and reads them with a deadline. Test-only.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace baton::testing {

class WsClient {
 public:
  // Opens the connection and upgrades it; false (with the reason in error()) if refused.
  bool Connect(uint16_t port, const std::string& token) {
    namespace net = boost::asio;
    namespace beast = boost::beast;
    ws_ = std::make_unique<Stream>(ioc_);
    boost::system::error_code ec;
    beast::get_lowest_layer(*ws_).connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return Failed(ec);
    beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(30));
    ws_->set_option(
        beast::websocket::stream_base::decorator([token](beast::websocket::request_type& req) {
          req.set(beast::http::field::authorization, "Bearer " + token);
        }));
    ws_->handshake("127.0.0.1", "/v1/workers/connect", ec);
    if (ec) return Failed(ec);
    return true;
  }
  void Send(const std::string& text) { ws_->write(boost::asio::buffer(text)); }
  // The next frame as JSON, or nullopt if none came within 30 s or the connection closed.
  std::optional<boost::json::value> Receive() {
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    boost::beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(30));
    ws_->read(buffer, ec);
    if (ec) {
      error_ = ec.message();
      return std::nullopt;
    }
    return boost::json::parse(boost::beast::buffers_to_string(buffer.data()));
  }
  const std::string& error() const { return error_; }

 private:
  using Stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  bool Failed(const boost::system::error_code& ec) {
    error_ = ec.message();
    return false;
  }
  boost::asio::io_context ioc_;
  std::unique_ptr<Stream> ws_;
  std::string error_;
};

}  // namespace baton::testing
