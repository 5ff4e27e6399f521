// A PostgreSQL for tests. Test-only.
//
// Under ctest, the `pg_server` fixture (tests/CMakeLists.txt) starts one real PostgreSQL for the
// whole run with scripts/pg-temp.sh and stops it by its pid at the end, also when tests fail; a
// test finds it through BATON_TEST_PG (the file that holds its URL). Run by hand, a test binary
// starts one of its own the same way and stops it when it exits.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "store/postgres/pg_connection.h"

namespace baton::store::testing {

// The URL of the test server (the `postgres` database).
inline std::string PgServerUrl() {
  static const std::string url = [] {
    std::string file;
    if (const char* f = std::getenv("BATON_TEST_PG")) {
      file = f;
    } else {
      static const std::string dir = "/tmp/baton-pg-" + std::to_string(getpid());
      const std::string script = std::string(BATON_SOURCE_DIR) + "/scripts/pg-temp.sh";
      if (std::system((script + " start " + dir + " > /dev/null").c_str()) != 0) {
        throw std::runtime_error("could not start a PostgreSQL with " + script);
      }
      std::atexit([] {
        const std::string stop = std::string(BATON_SOURCE_DIR) + "/scripts/pg-temp.sh stop " + dir;
        (void)std::system(stop.c_str());
      });
      file = dir + "/url";
    }
    std::ifstream in(file);
    std::string u;
    std::getline(in, u);
    if (u.empty()) throw std::runtime_error("no PostgreSQL URL in " + file);
    return u;
  }();
  return url;
}

// The URL of a new, empty schema of its own on the test server (`options=-csearch_path=...`):
// a fresh database for one test, made in a few milliseconds.
inline std::string PgFreshUrl() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  const std::string schema = "t" + std::to_string(getpid()) + "_" + std::to_string(counter++) +
                             "_" + std::to_string(rd() % 100000);
  const std::string server = PgServerUrl();
  Result<std::unique_ptr<PgConnection>> c = PgConnection::Open(server, "the test server");
  if (!c.ok()) throw std::runtime_error(c.status().ToString());
  const std::string sql = "CREATE SCHEMA " + schema;
  Status s = (*c)->Script(sql.c_str(), "make a test schema");
  if (!s.ok()) throw std::runtime_error(s.ToString());
  return server + (server.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
         schema;
}

}  // namespace baton::store::testing
