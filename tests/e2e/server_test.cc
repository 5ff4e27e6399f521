// The real `baton server` binary on loopback, port 0: it starts, answers, enforces its limits,
// and stops cleanly on SIGTERM.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "store/store_test_util.h"
#include "util/child_process.h"
#include "util/http_client.h"

namespace baton {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::HttpCall;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = store::testing::TempDir("server"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Starts `baton server` with `extra` flags and returns its port (0 if it did not start).
  uint16_t Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {BATON_PATH,     "server",   "--data",
                                     dir_ + "/data", "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!server_.Start(argv)) return 0;
    auto line = server_.ReadLine(30s);
    if (!line) return 0;
    std::smatch m;
    if (!std::regex_search(*line, m, std::regex("listening on http://127\\.0\\.0\\.1:(\\d+)"))) {
      ADD_FAILURE() << "unexpected first line: " << *line;
      return 0;
    }
    return static_cast<uint16_t>(std::stoi(m[1]));
  }

  std::string dir_;
  ChildProcess server_;
};

TEST_F(ServerTest, AnswersHealthzAndStopsCleanlyOnSigterm) {
  const uint16_t port = Start();
  ASSERT_NE(port, 0);
  auto health = HttpCall(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok","role":"leader"})");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/data/baton.db"));
  EXPECT_EQ(std::filesystem::status(dir_ + "/data").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);

  server_.Kill(SIGTERM);
  std::vector<std::string> lines = server_.DrainLines();
  const int status = server_.Wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "baton server: stopped");
  EXPECT_EQ(HttpCall(port, "GET", "/healthz").status, 0);  // nobody listens any more
}

TEST_F(ServerTest, UnknownEndpointsGetAJsonNotFound) {
  const uint16_t port = Start();
  ASSERT_NE(port, 0);
  // Without a token nothing is told, not even which endpoints exist.
  EXPECT_EQ(HttpCall(port, "POST", "/v1/nothing").status, 401);
  std::ifstream in(dir_ + "/data/admin.token");
  std::string token;
  ASSERT_TRUE(std::getline(in, token));
  auto r = HttpCall(port, "POST", "/v1/nothing", "", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body,
            R"({"error":{"code":"not_found","message":"POST /v1/nothing: no such endpoint"}})");
}

TEST_F(ServerTest, OversizeHeadersAndBodiesAreRefusedWithTheLimit) {
  const uint16_t port = Start({"--header-bytes-max", "2048", "--body-bytes-max", "1000"});
  ASSERT_NE(port, 0);
  auto big_header = HttpCall(port, "GET", "/healthz", "", {{"X-Big", std::string(4000, 'a')}});
  EXPECT_EQ(big_header.status, 431);
  EXPECT_NE(big_header.body.find("header_bytes_max (2048 bytes)"), std::string::npos)
      << big_header.body;
  auto big_body = HttpCall(port, "POST", "/v1/jobs", std::string(1001, 'x'));
  EXPECT_EQ(big_body.status, 413);
  EXPECT_NE(big_body.body.find("body_bytes_max (1000 bytes)"), std::string::npos) << big_body.body;
  // The server is still fine.
  EXPECT_EQ(HttpCall(port, "GET", "/healthz").status, 200);
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitAreRefused) {
  const uint16_t port = Start({"--connections-max", "1"});
  ASSERT_NE(port, 0);
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket held(ioc);
  held.connect({boost::asio::ip::make_address("127.0.0.1"), port});  // takes the only slot
  auto refused = HttpCall(port, "GET", "/healthz");
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("too many connections (connections_max = 1)"), std::string::npos)
      << refused.body;
  held.close();
}

TEST_F(ServerTest, AnIdleConnectionIsClosed) {
  const uint16_t port = Start({"--idle-timeout-ms", "200"});
  ASSERT_NE(port, 0);
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket idle(ioc);
  idle.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  // Send nothing; the server must close the connection (read returns end of file). The 60 s
  // bound only keeps a broken server from hanging the test.
  struct timeval tv {
    60, 0
  };
  setsockopt(idle.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char byte;
  boost::system::error_code ec;
  const size_t n = idle.read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(ec, boost::asio::error::eof) << ec.message();
}

// Slowloris: a client that trickles its request a byte at a time, each byte well within the
// idle timeout, is still cut off: the whole request (headers and body) must arrive within
// idle_timeout_ms. Other clients are served meanwhile.
TEST_F(ServerTest, ASlowClientIsCutOffWhateverItsPace) {
  const uint16_t port = Start({"--idle-timeout-ms", "300"});
  ASSERT_NE(port, 0);
  auto trickle = [&](const std::string& complete_head) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket slow(ioc);
    slow.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    boost::asio::write(slow, boost::asio::buffer(complete_head));
    // An endless header (or body), a byte every 20 ms; at most 60 s, so that a server that never
    // cuts it off fails the test instead of hanging it.
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    boost::system::error_code ec;
    while (std::chrono::steady_clock::now() < give_up) {
      boost::asio::write(slow, boost::asio::buffer("a", 1), ec);
      if (ec) return true;
      // The server closed its end: the next write fails, or a read sees the end.
      slow.non_blocking(true);
      char byte;
      const size_t n = slow.read_some(boost::asio::buffer(&byte, 1), ec);
      slow.non_blocking(false);
      if (ec && ec != boost::asio::error::would_block) return true;
      if (n > 0) return true;  // an answer (an error) also ends it
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  EXPECT_TRUE(trickle("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  EXPECT_TRUE(trickle("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  EXPECT_EQ(HttpCall(port, "GET", "/healthz").status, 200);
}

// A raw connection to the server that sends one request and reads what comes back, up to 60 s
// (so a server that never answers fails the test instead of hanging it).
class RawRequest {
 public:
  RawRequest(uint16_t port, const std::string& request) : socket_(ioc_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    struct timeval tv {
      60, 0
    };
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    Send(request);
  }
  void Send(const std::string& request) {
    boost::asio::write(socket_, boost::asio::buffer(request));
  }
  // What came so far, once it holds `until` or the server closed the connection.
  const std::string& ReadUntil(const std::string& until) {
    char buf[4096];
    boost::system::error_code ec;
    while (received_.find(until) == std::string::npos) {
      const size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
      if (ec) break;
      received_.append(buf, n);
    }
    return received_;
  }
  int Status() {
    ReadUntil("\r\n\r\n");
    return received_.size() > 12 ? std::stoi(received_.substr(9, 3)) : 0;
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  std::string received_;
};

// A client that follows a log or an event stream and goes away frees its connection and its
// stream's place at once, even when the job has nothing more to say for a long time (a queued
// job): a later follower is not refused because of it.
TEST_F(ServerTest, AClientThatLeavesAStreamFreesItsPlaces) {
  const uint16_t port =
      Start({"--connections-max", "2", "--log-followers-max", "1", "--event-streams-max", "1"});
  ASSERT_NE(port, 0);
  std::string admin;
  std::ifstream(dir_ + "/data/admin.token") >> admin;
  const std::string auth = "Authorization: Bearer " + admin + "\r\n";
  auto submitted = HttpCall(port, "POST", "/v1/jobs", R"({"type":"nobody-runs-this"})",
                            {{"Authorization", "Bearer " + admin}});
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const std::string id =
      std::to_string(boost::json::parse(submitted.body).at("id").to_number<uint64_t>());
  const std::string cancel = "POST /v1/jobs/" + id + "/cancel HTTP/1.1\r\nHost: x\r\n" + auth +
                             "Content-Length: 0\r\n\r\n";
  for (const std::string target : {"/v1/jobs/" + id + "/logs?follow=1", "/v1/events?job=" + id}) {
    SCOPED_TRACE(target);
    const std::string get = "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n";
    // A stream is opened once the server has a free connection for it: a 429 (the previous
    // stream's client left, and the server has not seen it yet) is tried again, for up to 30 s.
    auto open = [&]() -> std::unique_ptr<RawRequest> {
      const auto give_up = std::chrono::steady_clock::now() + 30s;
      while (std::chrono::steady_clock::now() < give_up) {
        auto r = std::make_unique<RawRequest>(port, get);
        const int status = r->Status();
        if (status == 200) return r;
        EXPECT_EQ(status, 429);
      }
      ADD_FAILURE() << "no free connection after 30 s";
      return nullptr;
    };
    for (int i = 0; i < 5; ++i) ASSERT_NE(open(), nullptr);  // opened and left
    // With one connection held, the stream's opening proves every stream left above is closed.
    RawRequest held(port, "");
    auto stream = open();
    ASSERT_NE(stream, nullptr);
    if (target.find("/logs") != std::string::npos) {
      held.Send(cancel);  // the job's end ends its followed log
      ASSERT_EQ(held.Status(), 200);
      const std::string& got = stream->ReadUntil("\r\n0\r\n\r\n");
      EXPECT_EQ(got.find("followed already"), std::string::npos) << got;
    } else {
      const std::string& got = stream->ReadUntil("\"state\":\"queued\"");
      EXPECT_NE(got.find("\"state\":\"queued\""), std::string::npos) << got;
      EXPECT_EQ(got.find("too many event streams"), std::string::npos) << got;
    }
  }
}

TEST_F(ServerTest, BadFlagsAndABusyPortGetClearErrors) {
  ChildProcess bad;
  ASSERT_TRUE(bad.Start({BATON_PATH, "server", "--data", dir_ + "/d", "--listen", "nowhere"}));
  int status = bad.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;

  const uint16_t port = Start();
  ASSERT_NE(port, 0);
  ChildProcess second;
  ASSERT_TRUE(second.Start({BATON_PATH, "server", "--data", dir_ + "/other", "--listen",
                            "127.0.0.1:" + std::to_string(port)}));
  status = second.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
}

// --store: sqlite:DIR is the data directory; memory: keeps nothing; a URL it cannot open, or a
// sqlite store and a --data that disagree, is refused with a message and changes nothing.
TEST_F(ServerTest, TheStoreIsAUrl) {
  auto run = [&](std::vector<std::string> args, int* code) {
    std::string line = std::string(BATON_PATH) + " server --listen 127.0.0.1:0";
    for (const std::string& a : args) line += " '" + a + "'";
    ChildProcess p;
    EXPECT_TRUE(p.Start({"/bin/sh", "-c", "exec " + line + " 2>&1"}));
    std::string out = p.ReadLine(30s).value_or("");
    if (out.find("listening") != std::string::npos) {
      p.Kill(SIGTERM);
      p.DrainLines();
    }
    const int status = p.Wait();
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  };
  int code = 0;
  std::string out = run({"--store", "sqlite:" + dir_ + "/s"}, &code);
  EXPECT_NE(out.find("(store sqlite:" + dir_ + "/s, files in " + dir_ + "/s)"), std::string::npos)
      << out;
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/s/baton.db"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/s/admin.token"));

  out = run({"--store", "memory:", "--data", dir_ + "/m"}, &code);
  EXPECT_NE(out.find("(store memory:, files in " + dir_ + "/m)"), std::string::npos) << out;
  EXPECT_EQ(code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/m/baton.db"));

  out = run({"--store", "sqlite:" + dir_ + "/a", "--data", dir_ + "/b"}, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("name two directories"), std::string::npos) << out;
  out = run({"--store", "sqlite:" + dir_ + "/same/", "--data", dir_ + "/same"}, &code);
  EXPECT_EQ(code, 0) << out;  // the same directory, spelled twice

  out = run({"--store", "mysql://db/baton", "--data", dir_ + "/c"}, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find(R"(--store "mysql://db/baton": expected sqlite:DIR (a directory), )"
                     R"(postgresql://... or memory:)"),
            std::string::npos)
      << out;
  // A PostgreSQL URL that does not parse: exit 2, naming the wrong part and not the password.
  out =
      run({"--store", "postgresql://baton:secret@localhost/baton?nosuch=1", "--data", dir_ + "/c"},
          &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find(R"(invalid URI query parameter: "nosuch")"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/a"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/b"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/c"));
}

// One server per data directory: a second is refused, naming the first; once the first has
// stopped (or died: the kernel drops the lock), the directory is free again.
TEST_F(ServerTest, ASecondServerOnTheSameDataDirectoryIsRefused) {
  ASSERT_NE(Start(), 0);
  auto second = [&](std::string* out) {
    ChildProcess p;
    EXPECT_TRUE(p.Start({"/bin/sh", "-c",
                         "exec " + std::string(BATON_PATH) + " server --data '" + dir_ +
                             "/data' --listen 127.0.0.1:0 2>&1"}));
    *out = p.ReadLine(30s).value_or("");
    if (out->find("listening") != std::string::npos) {
      p.Kill(SIGTERM);
      p.DrainLines();
    }
    const int status = p.Wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string out;
  EXPECT_EQ(second(&out), 1) << out;
  EXPECT_NE(out.find("--data " + dir_ + "/data: another baton server (pid " +
                     std::to_string(server_.pid()) + ") uses this data directory"),
            std::string::npos)
      << out;
  server_.Kill(SIGKILL);
  server_.Wait();
  EXPECT_EQ(second(&out), 0) << out;  // the lock went with the process
  EXPECT_NE(out.find("listening"), std::string::npos) << out;
}

}  // namespace
}  // namespace baton
