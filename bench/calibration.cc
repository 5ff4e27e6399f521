#include "bench/calibration.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "store/postgres/pg_connection.h"

namespace baton::bench {

namespace {
using Steady = std::chrono::steady_clock;
}  // namespace

const std::string kPayload =
    R"({"input":"s3://bucket/path/to/some/input/file-000123.csv","rows":5000,"mode":"fast"})";

// Raw SQLite: a table of its own holding a whole job in one row (the 40 columns of a job's spec
// and status, the same payload), filled by one prepared INSERT in transactions of 10,000 rows,
// with the store's file settings. It does not depend on Baton's schema, so figures stay comparable.
double SqliteInsertRowsPerSecond(const std::string& path, const std::string& synchronous,
                                 uint64_t rows) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  const std::string setup = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous +
                            "; CREATE TABLE calibration (id INTEGER PRIMARY KEY, type TEXT, "
                            "owner TEXT, payload TEXT, "
                            "i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, "
                            "idempotency_key TEXT, tags TEXT, parent_id, verify, created_ms, "
                            "state TEXT, a1, a2, a3, a4, worker_id TEXT, t1, t2, t3, t4, t5, "
                            "last_outcome TEXT, progress REAL, s1 TEXT, s2 TEXT, s3 TEXT, s4 TEXT, "
                            "c1, c2, c3);";
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) std::abort();
  std::string sql = "INSERT INTO calibration VALUES (?";
  for (int i = 1; i < 40; ++i) sql += ",?";
  sql += ")";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) std::abort();
  const auto t0 = Steady::now();
  const uint64_t tx = 10000;
  for (uint64_t id = 1; id <= rows;) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (uint64_t k = 0; k < tx && id <= rows; ++k, ++id) {
      int i = 1;
      sqlite3_bind_int64(st, i++, static_cast<int64_t>(id));
      sqlite3_bind_text(st, i++, "noop", -1, SQLITE_STATIC);
      sqlite3_bind_text(st, i++, "bench", -1, SQLITE_STATIC);
      sqlite3_bind_text(st, i++, kPayload.c_str(), static_cast<int>(kPayload.size()),
                        SQLITE_STATIC);
      for (int n = 0; n < 11; ++n) sqlite3_bind_int64(st, i++, 1000 + n);  // priority..retry_on
      sqlite3_bind_null(st, i++);                                          // idempotency_key
      sqlite3_bind_text(st, i++, "[]", -1, SQLITE_STATIC);                 // tags
      sqlite3_bind_int64(st, i++, 0);                                      // parent_id
      sqlite3_bind_int64(st, i++, 0);                                      // verify
      sqlite3_bind_int64(st, i++, 1'700'000'000'000);                      // created_ms
      sqlite3_bind_text(st, i++, "queued", -1, SQLITE_STATIC);             // state
      for (int n = 0; n < 4; ++n) sqlite3_bind_int64(st, i++, n);          // attempts..attempt_id
      sqlite3_bind_text(st, i++, "", -1, SQLITE_STATIC);                   // worker_id
      for (int n = 0; n < 5; ++n) sqlite3_bind_int64(st, i++, 1'700'000'000'000);  // times
      sqlite3_bind_text(st, i++, "none", -1, SQLITE_STATIC);                       // last_outcome
      sqlite3_bind_double(st, i++, 0);                                             // progress
      for (int n = 0; n < 4; ++n) sqlite3_bind_text(st, i++, "", -1, SQLITE_STATIC);
      for (int n = 0; n < 3; ++n) sqlite3_bind_int64(st, i++, 0);  // children
      if (sqlite3_step(st) != SQLITE_DONE) std::abort();
      sqlite3_reset(st);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double rate = static_cast<double>(rows) / Seconds(t0, Steady::now());
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

Result<double> PgInsertRowsPerSecond(const std::string& url, uint64_t rows, uint64_t batch) {
  Result<std::unique_ptr<store::PgConnection>> c =
      store::PgConnection::Open(url, "the calibration's database");
  if (!c.ok()) return c.status();
  store::PgConnection& pg = **c;
  std::string columns = "id BIGINT PRIMARY KEY, type TEXT, owner TEXT, payload TEXT";
  for (int n = 1; n <= 11; ++n) columns += ", i" + std::to_string(n) + " BIGINT";
  columns +=
      ", idempotency_key TEXT, tags TEXT, parent_id BIGINT, verify BIGINT, "
      "created_ms BIGINT, state TEXT, a1 BIGINT, a2 BIGINT, a3 BIGINT, a4 BIGINT, "
      "worker_id TEXT, t1 BIGINT, t2 BIGINT, t3 BIGINT, t4 BIGINT, t5 BIGINT, "
      "last_outcome TEXT, progress DOUBLE PRECISION, s1 TEXT, s2 TEXT, s3 TEXT, s4 TEXT, "
      "c1 BIGINT, c2 BIGINT, c3 BIGINT";
  const std::string table = "baton_calibration_" + std::to_string(::getpid());
  BATON_RETURN_IF_ERROR(pg.Script(
      ("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (" + columns + ")").c_str(),
      "make the calibration table"));
  const auto t0 = Steady::now();
  Status failed = Status::Ok();
  for (uint64_t id = 1; id <= rows && failed.ok();) {
    store::PgArrays v(40);
    for (uint64_t k = 0; k < batch && id <= rows; ++k, ++id) {
      v.Row();
      v.Int(static_cast<int64_t>(id));
      v.Text("noop");
      v.Text("bench");
      v.Text(kPayload);
      for (int n = 0; n < 11; ++n) v.Int(1000 + n);
      v.Null();
      v.Text("[]");
      v.Int(0);
      v.Int(0);
      v.Int(1'700'000'000'000);
      v.Text("queued");
      for (int n = 0; n < 4; ++n) v.Int(n);
      v.Text("");
      for (int n = 0; n < 5; ++n) v.Int(1'700'000'000'000);
      v.Text("none");
      v.Real(0);
      for (int n = 0; n < 4; ++n) v.Text("");
      for (int n = 0; n < 3; ++n) v.Int(0);
    }
    failed = pg.Query("INSERT INTO " + table + " " + v.Select(), v.Params(), "calibration insert")
                 .status();
  }
  const double rate = static_cast<double>(rows) / Seconds(t0, Steady::now());
  (void)pg.Script(("DROP TABLE " + table).c_str(), "drop the calibration table");
  if (!failed.ok()) return failed;
  return rate;
}

double LoopbackRoundTripUs(int round_trips) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listener);
    return -1;
  }
  std::thread echo([listener, round_trips] {
    const int fd = ::accept(listener, nullptr, nullptr);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char c;
    for (int i = 0; i < round_trips && ::read(fd, &c, 1) == 1; ++i) {
      if (::write(fd, &c, 1) != 1) break;
    }
    ::close(fd);
  });
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<double> us;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    char c = 'x';
    for (int i = 0; i < round_trips; ++i) {
      const auto t0 = Steady::now();
      if (::write(fd, &c, 1) != 1 || ::read(fd, &c, 1) != 1) break;
      us.push_back(Seconds(t0, Steady::now()) * 1e6);
    }
  }
  ::close(fd);
  echo.join();
  ::close(listener);
  if (us.empty()) return -1;
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

}  // namespace baton::bench
