// A blocking HTTP/1.1 client for tests, on Boost.Beast, to 127.0.0.1 only. Test-only.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <utility>
#include <vector>

namespace baton::testing {

struct HttpResult {
  int status = 0;  // 0: no answer (the connection failed or was closed)
  std::string body;
};

inline HttpResult HttpCall(uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body = "",
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  net::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  boost::system::error_code ec;
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {};
  // A server that never answers fails the test instead of hanging it.
  struct timeval tv {
    60, 0
  };
  setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req, ec);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  parser.skip(req.method() == http::verb::head);  // a HEAD answer has a length but no body
  http::read(stream, buffer, parser, ec);
  if (ec && !parser.is_header_done()) return {};
  return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace baton::testing
