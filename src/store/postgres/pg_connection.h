// PgConnection: one libpq connection, kept in pipeline mode, and the values that cross it.
//
// Every call sends its statements and one sync, then reads every answer: a list of statements is
// one round trip and one implicit transaction (all of them or none). Each statement is prepared
// the first time the session sends it, so its parse and plan are paid once. A connection that broke
// is opened again at the next call; the call that found it broken fails with Unavailable naming the
// database (never a password).
//
// Thread rules: one thread at a time.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

struct pg_conn;
struct pg_result;

namespace baton::store {

// Parameters, in order: text format, but for Bytes (binary, for bytea). A Writer of
// row_codec.h.
class PgParams {
 public:
  void Int(int64_t v);
  void Real(double v);
  void Text(std::string_view v);
  void OwnedText(const std::string& v) { Text(v); }
  void Null();
  // Any bytes, sent as they are (a bytea parameter).
  void Bytes(std::string_view v);

  int size() const { return static_cast<int>(values_.size()); }
  // What libpq takes: a pointer to each value, null for NULL; each one's length and format (1 for
  // binary). Valid while this is unchanged.
  std::vector<const char*> Pointers() const;
  std::vector<int> Lengths() const;
  const std::vector<int>& Formats() const { return formats_; }

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> formats_;
};

// Columns of rows as PostgreSQL arrays, one parameter per column in the binary format (what the
// server's array_recv reads: no text to parse, no quoting): a Writer of row_codec.h, for
// `SELECT unnest($1::bigint[]), unnest($2::text[]), ...` (one statement, any number of rows).
// A column holds one type: bigint, double precision or text (text when all its values are null).
class PgArrays {
 public:
  explicit PgArrays(int columns) : columns_(static_cast<size_t>(columns)) {}
  // Starts the next row; its values follow in column order.
  void Row() {
    column_ = 0;
    ++rows_;
  }
  void Int(int64_t v);
  void Real(double v);
  void Text(std::string_view v);
  void OwnedText(const std::string& v) { Text(v); }
  void Null();

  size_t rows() const { return rows_; }
  // The arrays as parameters.
  PgParams Params() const;
  // "SELECT unnest($1::bigint[]), unnest($2::text[]), ...": the rows again, the parameters
  // numbered from 1. (Set-returning functions in the select list zip arrays of one length, and
  // run without the tuplestore that `FROM unnest(a, b, ...)` fills: 15-20% cheaper an insert.)
  std::string Select() const;
  // "$1::bigint[], $2::text[], ...": the arrays themselves, for a row that keeps them.
  std::string Arrays() const;

 private:
  struct Column {
    std::string elements;  // each: its length (4 bytes, big-endian; -1 for null), its bytes
    unsigned oid = 0;      // the element type's; 0 until a value that is not null
    bool has_null = false;
  };
  Column& Next(unsigned oid);
  std::string List(const char* open, const char* close) const;

  std::vector<Column> columns_;
  size_t column_ = 0;
  size_t rows_ = 0;
};

// An answer's rows. A Row of row_codec.h: Int, Real, Text and IsNull by column.
class PgRows {
 public:
  explicit PgRows(pg_result* result) : result_(result) {}
  PgRows(PgRows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgRows& operator=(PgRows&&) = delete;
  ~PgRows();

  int size() const;
  // Moves to row `row` (0-based) for the accessors below.
  PgRows& At(int row) {
    row_ = row;
    return *this;
  }
  int64_t Int(int col) const;  // also a boolean: 1 or 0; text or binary format
  // A bytea column of an answer in binary format is its bytes as they are.
  double Real(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;
  // The number of rows a command changed (UPDATE, DELETE, INSERT).
  int64_t Changed() const;

 private:
  pg_result* result_;
  int row_ = 0;
};

struct PgQuery {
  std::string sql;  // $1, $2, ... for parameters
  PgParams params;
  std::string what;  // for messages: "insert jobs"
  // The answer in binary format: bytea columns arrive as their bytes, not hex (Text reads them).
  bool binary_result = false;
};

class PgConnection {
 public:
  // Connects with `conninfo` (a postgresql:// URL or key=value pairs). `description` names the
  // database in messages. Unless `conninfo` says otherwise: connect_timeout 5 s, TCP keepalives
  // after 5 s idle (every 2 s, 3 probes), tcp_user_timeout 10 s.
  static Result<std::unique_ptr<PgConnection>> Open(const std::string& conninfo,
                                                    std::string description);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `queries` as one transaction in one round trip; returns each one's answer, in order.
  // The first error fails the call and undoes every statement of it.
  Result<std::vector<PgRows>> Run(const std::vector<PgQuery>& queries);
  // One statement.
  Result<PgRows> Query(std::string sql, PgParams params, std::string what,
                       bool binary_result = false);
  // A script of several statements, outside pipeline mode (migrations). Not for user input.
  Status Script(const char* sql, std::string_view what);

  const std::string& description() const { return description_; }
  // The connection's socket (-1 when it is broken): for its options, in tests.
  int Socket() const;
  // Round trips made by every connection of this process so far (each Run and Script is one):
  // for benchmarks.
  static uint64_t RoundTrips();

 private:
  PgConnection(pg_conn* conn, std::string conninfo, std::string description)
      : conn_(conn), conninfo_(std::move(conninfo)), description_(std::move(description)) {}
  // Opens the connection again if it broke.
  Status Ready();
  // A new session (PQreset): its prepared statements are gone.
  void Reset();
  // ConnectionError(what), after which the session starts afresh (Reset).
  Status Broken(std::string_view what);
  Status ErrorOf(pg_result* result, std::string_view what) const;
  Status ConnectionError(std::string_view what) const;

  pg_conn* conn_;
  std::string conninfo_;
  std::string description_;
  // Statements prepared in this session, by their SQL: their names. Bounded: past the bound a
  // statement is sent unnamed (parsed and planned each time), as ad-hoc ones would be.
  static constexpr size_t kPreparedMax = 256;
  std::unordered_map<std::string, std::string> prepared_;
};

// Connections lent to one caller at a time, opened as they are first needed, at most `max` open
// (a caller past it waits for one to come back). `setup`, if any, runs on each new connection
// ("SET synchronous_commit = off"). Thread-safe; no lease outlives its pool.
class PgPool {
 public:
  PgPool(std::string conninfo, std::string description, size_t max, std::string setup = "")
      : conninfo_(std::move(conninfo)),
        description_(std::move(description)),
        setup_(std::move(setup)),
        max_(max) {}

  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection* operator->() const { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // A connection for this caller alone until the lease ends; Unavailable if none can be opened.
  Result<Lease> Take();
  const std::string& description() const { return description_; }

 private:
  std::string conninfo_;
  std::string description_;
  std::string setup_;
  size_t max_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  size_t open_ = 0;
};

// `sql` with its "?" placeholders numbered for PostgreSQL ("$1", "$2", ...): for statements that
// row_codec.h shares with SQLite. There is no "?" inside their literals.
std::string PgNumbered(std::string_view sql);

// What `url` is, for messages: the URL or key=value string without its password. InvalidArgument
// naming the wrong part when libpq cannot parse it.
Result<std::string> PgDescribe(const std::string& url);

}  // namespace baton::store
