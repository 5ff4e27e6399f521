// A real `baton server` on loopback for end-to-end tests: started on port 0 in a temporary data
// directory, stopped by its PID (also when a test fails: ChildProcess kills what it started).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string_view>
#include <thread>

#include "store/postgres/pg_test_util.h"
#include "store/store_test_util.h"
#include "util/child_process.h"
#include "util/http_client.h"

namespace baton::testing {

using namespace std::chrono_literals;

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = store::testing::TempDir("e2e");
    StartServer();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Under BATON_TEST_STORE=postgresql[:URL_FILE] (ctest's "/postgresql" runs of the end-to-end
  // suites, with the pg_server fixture's URL file) a server with no --store of its own keeps its
  // jobs in a schema of its own on the test PostgreSQL, the same one across the test's restarts.
  static bool OnPostgres() {
    const char* store = std::getenv("BATON_TEST_STORE");
    if (store == nullptr || !std::string_view(store).starts_with("postgresql")) return false;
    const std::string_view file = std::string_view(store).substr(10);
    if (file.starts_with(":")) ::setenv("BATON_TEST_PG", std::string(file.substr(1)).c_str(), 0);
    return true;
  }
  std::vector<std::string> StoreArgs() {
    if (!OnPostgres() ||
        std::find(server_args_.begin(), server_args_.end(), "--store") != server_args_.end()) {
      return {};
    }
    if (pg_store_.empty()) pg_store_ = store::testing::PgFreshUrl();
    return {"--store", pg_store_, "--lease-ms", "1000"};
  }

  void StartServer(std::vector<std::string> extra = {}) {
    server_ = std::make_unique<ChildProcess>();
    std::vector<std::string> argv = {BATON_PATH,     "server",   "--data",
                                     dir_ + "/data", "--listen", listen_};
    argv.insert(argv.end(), server_args_.begin(), server_args_.end());
    for (std::string& a : StoreArgs()) argv.push_back(std::move(a));
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(server_->Start(argv));
    auto line = server_->ReadLine(30s);
    ASSERT_TRUE(line.has_value());
    start_line_ = *line;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:(\\d+)"))) << *line;
    port_ = static_cast<uint16_t>(std::stoi(m[1]));
    std::ifstream in(dir_ + "/data/admin.token");
    ASSERT_TRUE(std::getline(in, admin_));
    // On PostgreSQL a server leads once it has the lease (at once, or when the last one lapsed).
    ASSERT_TRUE(WaitUntil([&] {
      return HttpCall(port_, "GET", "/healthz").body.find(R"("role":"leader")") !=
             std::string::npos;
    })) << "the server never led";
  }

  // Another server with the same flags and a data directory of its own (another machine): on
  // PostgreSQL, a second server on the same database. It may lead or stand by.
  struct Other {
    std::unique_ptr<ChildProcess> process;
    uint16_t port = 0;
    std::string token;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  };
  Other StartOther(const std::string& name, const std::string& listen = "127.0.0.1:0") {
    Other o;
    o.process = std::make_unique<ChildProcess>();
    std::vector<std::string> argv = {BATON_PATH,        "server",   "--data",
                                     dir_ + "/" + name, "--listen", listen};
    argv.insert(argv.end(), server_args_.begin(), server_args_.end());
    for (std::string& a : StoreArgs()) argv.push_back(std::move(a));
    EXPECT_TRUE(o.process->Start(argv));
    std::optional<std::string> line = o.process->ReadLine(30s);
    EXPECT_TRUE(line.has_value());
    std::smatch m;
    if (line && std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:(\\d+)"))) {
      o.port = static_cast<uint16_t>(std::stoi(m[1]));
    }
    std::ifstream in(dir_ + "/" + name + "/admin.token");
    std::getline(in, o.token);
    return o;
  }
  // A server's /healthz ({} when it does not answer), and whether it leads.
  static boost::json::object Health(uint16_t port) {
    HttpResult r = HttpCall(port, "GET", "/healthz");
    if (r.status != 200) return {};
    return boost::json::parse(r.body).as_object();
  }
  static bool Leads(uint16_t port) {
    boost::json::object h = Health(port);
    return h.contains("role") && h.at("role") == "leader";
  }

  // Waits up to 60 s for `condition`: a test that would hang fails instead.
  static bool WaitUntil(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  void StopServer() {
    server_->Kill(SIGTERM);
    server_->DrainLines();
    const int status = server_->Wait();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }

  // A server SIGKILL, then a new server on the same port and data (workers and clients find it
  // again by themselves).
  void KillAndRestartServer() {
    server_->Kill(SIGKILL);
    server_->Wait();
    listen_ = "127.0.0.1:" + std::to_string(port_);
    StartServer();
  }

  HttpResult Call(const std::string& token, const std::string& method, const std::string& target,
                  const std::string& body = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return HttpCall(port_, method, target, body, headers);
  }

  std::string NewToken(const std::string& user) {
    HttpResult r = Call(admin_, "POST", "/v1/tokens", R"({"user":")" + user + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(boost::json::parse(r.body).at("token").as_string());
  }

  // A worker token of a shared pool (made by the administrator), or, with `own_user`'s token, of
  // that user's private pool.
  std::string NewWorkerToken(const std::string& user, const std::string& own_user_token = "") {
    HttpResult r =
        own_user_token.empty()
            ? Call(admin_, "POST", "/v1/tokens", R"({"user":")" + user + R"(","worker":true})")
            : Call(own_user_token, "POST", "/v1/tokens", R"({"worker":true})");
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(boost::json::parse(r.body).at("token").as_string());
  }

  static boost::json::value Json(const HttpResult& r) { return boost::json::parse(r.body); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<std::string> server_args_;  // more flags for `baton server`
  std::string pg_store_;                  // OnPostgres(): the test's schema
  std::string start_line_;                // what the server printed first ("listening on ...")
  std::string listen_ = "127.0.0.1:0";    // "127.0.0.1:" + port_ restarts on the same port
  std::string dir_;
  std::unique_ptr<ChildProcess> server_;
  uint16_t port_ = 0;
  std::string admin_;
};

}  // namespace baton::testing
