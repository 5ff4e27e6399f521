#include "store/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <atomic>
#include <bit>
#include <charconv>
#include <cstdlib>

namespace baton::store {

namespace {

std::string Number(int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string Number(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back
  return std::string(buf, end);
}

// libpq's message on one line.
std::string Trimmed(const char* m) {
  std::string s;
  for (const char* p = m ? m : ""; *p; ++p) {
    if (*p == '\n' || *p == '\t') {
      if (!s.empty() && s.back() != ' ') s += ' ';
    } else {
      s += *p;
    }
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

void PgParams::Int(int64_t v) { Text(Number(v)); }
void PgParams::Real(double v) { Text(Number(v)); }
void PgParams::Text(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  formats_.push_back(0);
}
void PgParams::Null() {
  values_.emplace_back();
  null_.push_back(true);
  formats_.push_back(0);
}
void PgParams::Bytes(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  formats_.push_back(1);
}
std::vector<int> PgParams::Lengths() const {
  std::vector<int> out(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) out[i] = static_cast<int>(values_[i].size());
  return out;
}
std::vector<const char*> PgParams::Pointers() const {
  std::vector<const char*> out(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) out[i] = null_[i] ? nullptr : values_[i].c_str();
  return out;
}

namespace {

constexpr unsigned kInt8Oid = 20, kTextOid = 25, kFloat8Oid = 701;

void AppendBigEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

const char* TypeName(unsigned oid) {
  switch (oid) {
    case kInt8Oid:
      return "bigint";
    case kFloat8Oid:
      return "double precision";
    default:
      return "text";
  }
}

}  // namespace

PgArrays::Column& PgArrays::Next(unsigned oid) {
  BATON_CHECK(column_ < columns_.size());
  Column& col = columns_[column_++];
  if (oid != 0) {
    BATON_CHECK(col.oid == 0 || col.oid == oid);  // one type a column
    col.oid = oid;
  }
  return col;
}
void PgArrays::Int(int64_t v) {
  std::string& e = Next(kInt8Oid).elements;
  AppendBigEndian(e, 8, 4);
  AppendBigEndian(e, static_cast<uint64_t>(v), 8);
}
void PgArrays::Real(double v) {
  std::string& e = Next(kFloat8Oid).elements;
  AppendBigEndian(e, 8, 4);
  AppendBigEndian(e, std::bit_cast<uint64_t>(v), 8);
}
void PgArrays::Text(std::string_view v) {
  std::string& e = Next(kTextOid).elements;
  AppendBigEndian(e, v.size(), 4);
  e.append(v);
}
void PgArrays::Null() {
  Column& col = Next(0);
  col.has_null = true;
  AppendBigEndian(col.elements, 0xffffffff, 4);  // -1
}

std::string PgArrays::List(const char* open, const char* close) const {
  std::string out;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) out += ", ";
    out += open;
    out += '$';
    out += std::to_string(i + 1);
    out += "::";
    out += TypeName(columns_[i].oid);
    out += "[]";
    out += close;
  }
  return out;
}

std::string PgArrays::Select() const { return "SELECT " + List("unnest(", ")"); }
std::string PgArrays::Arrays() const { return List("", ""); }

PgParams PgArrays::Params() const {
  PgParams p;
  std::string a;
  for (const Column& col : columns_) {
    // array_recv's layout: dimensions, a null flag, the element type; each dimension's length and
    // lower bound; the elements. No rows: no dimensions.
    a.clear();
    const bool empty = rows_ == 0;
    AppendBigEndian(a, empty ? 0 : 1, 4);
    AppendBigEndian(a, col.has_null ? 1 : 0, 4);
    AppendBigEndian(a, col.oid == 0 ? kTextOid : col.oid, 4);
    if (!empty) {
      AppendBigEndian(a, rows_, 4);
      AppendBigEndian(a, 1, 4);
    }
    a += col.elements;
    p.Bytes(a);
  }
  return p;
}

PgRows::~PgRows() { PQclear(result_); }
int PgRows::size() const { return result_ ? PQntuples(result_) : 0; }
int64_t PgRows::Int(int col) const {
  const char* v = PQgetvalue(result_, row_, col);
  if (PQfformat(result_, col) == 1) {  // binary: big-endian, of the column's width
    const auto* b = reinterpret_cast<const unsigned char*>(v);
    const int n = PQgetlength(result_, row_, col);
    uint64_t u = 0;
    for (int i = 0; i < n; ++i) u = (u << 8) | b[i];
    if (n > 0 && n < 8 && (b[0] & 0x80) != 0) u |= ~uint64_t{0} << (8 * n);  // sign
    return static_cast<int64_t>(u);
  }
  if (v[0] == 't' && v[1] == '\0') return 1;
  if (v[0] == 'f' && v[1] == '\0') return 0;
  int64_t out = 0;
  std::from_chars(v, v + PQgetlength(result_, row_, col), out);
  return out;
}
double PgRows::Real(int col) const { return std::strtod(PQgetvalue(result_, row_, col), nullptr); }
std::string PgRows::Text(int col) const {
  return std::string(PQgetvalue(result_, row_, col),
                     static_cast<size_t>(PQgetlength(result_, row_, col)));
}
bool PgRows::IsNull(int col) const { return PQgetisnull(result_, row_, col) != 0; }
int64_t PgRows::Changed() const {
  const char* n = result_ ? PQcmdTuples(result_) : "";
  return n[0] ? std::strtoll(n, nullptr, 10) : 0;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& conninfo,
                                                         std::string description) {
  // Defaults that the URL may override (it is expanded after them): a connection attempt gives
  // up within seconds, and a connection whose peer went away without a word (a host lost, a
  // network cut) is noticed within seconds too, by TCP keepalives and tcp_user_timeout, rather
  // than after the kernel's two hours. Each host of a multi-host URL is tried in turn.
  static constexpr const char* kKeywords[] = {
      "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* values[] = {"5", "1", "5", "2", "3", "10000", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(kKeywords, values, /*expand_dbname=*/1);
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = Unavailable("the database " + description +
                           " cannot be reached: " + Trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    return s;
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);  // no NOTICEs on stderr
  return std::unique_ptr<PgConnection>(new PgConnection(conn, conninfo, std::move(description)));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

int PgConnection::Socket() const { return PQsocket(conn_); }

namespace {
std::atomic<uint64_t> round_trips{0};
}  // namespace

uint64_t PgConnection::RoundTrips() { return round_trips.load(std::memory_order_relaxed); }

Status PgConnection::ConnectionError(std::string_view what) const {
  return Unavailable(std::string(what) + ": the database " + description_ +
                     " is unavailable: " + Trimmed(PQerrorMessage(conn_)));
}

Status PgConnection::Broken(std::string_view what) {
  Status s = ConnectionError(what);
  Reset();
  return s;
}

void PgConnection::Reset() {
  PQreset(conn_);
  prepared_.clear();  // a new session has none
}

Status PgConnection::Ready() {
  if (PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
  Reset();
  if (PQstatus(conn_) != CONNECTION_OK) return ConnectionError("reconnect");
  return Status::Ok();
}

Status PgConnection::ErrorOf(pg_result* result, std::string_view what) const {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string m = std::string(what) + ": " +
                  Trimmed(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (!state || PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable(m + " (the database " + description_ + ")");
  }
  const std::string_view code(state);
  m += " (sqlstate " + std::string(code) + ")";
  if (code == "23505" || code == "23P01") return {StatusCode::kAlreadyExists, std::move(m)};
  // Connections, the server shutting down or out of resources, a read-only standby (the primary
  // moved), lock conflicts: try again.
  if (code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") ||
      code == "40001" || code == "40P01" || code == "25006" || code == "55P03" ||
      code == "BT003") {  // BT003: the lease moved on (baton_fence); the new leader has it
    return Unavailable(m + " (the database " + description_ + ")");
  }
  if (code.starts_with("22")) return InvalidArgument(std::move(m));
  return Internal(std::move(m));
}

Result<std::vector<PgRows>> PgConnection::Run(const std::vector<PgQuery>& queries) {
  BATON_RETURN_IF_ERROR(Ready());
  round_trips.fetch_add(1, std::memory_order_relaxed);
  if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn_) != 1) {
    return ConnectionError("enter pipeline mode");
  }
  // Each statement is prepared the first time this session sends it (its parse and plan are
  // kept), up to kPreparedMax of them; `preparing[i]`: query i's Parse rides this round trip.
  std::vector<const std::string*> preparing(queries.size(), nullptr);
  for (size_t i = 0; i < queries.size(); ++i) {
    const PgQuery& q = queries[i];
    const std::vector<const char*> values = q.params.Pointers();
    const std::vector<int> lengths = q.params.Lengths();
    const std::string* name = nullptr;
    if (auto it = prepared_.find(q.sql); it != prepared_.end()) {
      name = &it->second;
    } else if (prepared_.size() < kPreparedMax) {
      auto added = prepared_.emplace(q.sql, "baton_" + std::to_string(prepared_.size() + 1));
      name = &added.first->second;
      if (PQsendPrepare(conn_, name->c_str(), q.sql.c_str(), q.params.size(), nullptr) != 1) {
        return Broken(q.what);
      }
      preparing[i] = name;
    }
    const int sent =
        name != nullptr
            ? PQsendQueryPrepared(conn_, name->c_str(), q.params.size(), values.data(),
                                  lengths.data(), q.params.Formats().data(),
                                  q.binary_result ? 1 : 0)
            : PQsendQueryParams(conn_, q.sql.c_str(), q.params.size(), nullptr, values.data(),
                                lengths.data(), q.params.Formats().data(), q.binary_result ? 1 : 0);
    if (sent != 1) {
      return Broken(q.what);  // the pipeline is in an unknown state: start afresh
    }
  }
  if (PQpipelineSync(conn_) != 1) {
    return Broken("sync");
  }
  std::vector<PgRows> out;
  out.reserve(queries.size());
  Status first = Status::Ok();
  // The next answer of `q` (a Parse's or a query's), the first error noted; each answer ends with
  // a null, read here. Null when the connection broke.
  auto next = [&](const PgQuery& q) -> PGresult* {
    PGresult* r = PQgetResult(conn_);
    if (!r) return nullptr;
    if (PQresultStatus(r) == PGRES_FATAL_ERROR && first.ok()) first = ErrorOf(r, q.what);
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    return r;
  };
  for (size_t i = 0; i < queries.size(); ++i) {
    const PgQuery& q = queries[i];
    if (preparing[i] != nullptr) {
      // The Parse's own answer. One that failed (or was skipped after an earlier error) made no
      // statement: it is prepared again next time.
      PGresult* parsed = next(q);
      if (!parsed) return Broken(q.what);
      if (PQresultStatus(parsed) != PGRES_COMMAND_OK) prepared_.erase(q.sql);
      PQclear(parsed);
    }
    PGresult* r = next(q);
    if (!r) return Broken(q.what);
    out.emplace_back(r);
  }
  PGresult* sync = PQgetResult(conn_);
  const bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!synced) {
    Status s = first.ok() ? ConnectionError("sync") : first;
    Reset();
    return s;
  }
  if (!first.ok()) return first;
  return out;
}

Result<PgRows> PgConnection::Query(std::string sql, PgParams params, std::string what,
                                   bool binary_result) {
  std::vector<PgQuery> one;
  one.push_back(PgQuery{std::move(sql), std::move(params), std::move(what), binary_result});
  Result<std::vector<PgRows>> rows = Run(one);
  if (!rows.ok()) return rows.status();
  return std::move(rows->front());
}

Status PgConnection::Script(const char* sql, std::string_view what) {
  BATON_RETURN_IF_ERROR(Ready());
  if (PQpipelineStatus(conn_) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn_) != 1) {
    return ConnectionError("leave pipeline mode");
  }
  round_trips.fetch_add(1, std::memory_order_relaxed);
  PGresult* r = PQexec(conn_, sql);
  const ExecStatusType st = PQresultStatus(r);
  Status s = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? Status::Ok() : ErrorOf(r, what);
  PQclear(r);
  return s;
}

PgPool::Lease::~Lease() {
  if (!conn_) return;  // moved from
  std::lock_guard lock(pool_->mu_);
  pool_->idle_.push_back(std::move(conn_));
  pool_->returned_.notify_one();
}

Result<PgPool::Lease> PgPool::Take() {
  std::unique_lock lock(mu_);
  returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
  if (!idle_.empty()) {
    std::unique_ptr<PgConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(conninfo_, description_);
  Status s = conn.ok() ? Status::Ok() : conn.status();
  if (s.ok() && !setup_.empty()) s = (*conn)->Script(setup_.c_str(), "set up a connection");
  if (!s.ok()) {
    lock.lock();
    --open_;
    returned_.notify_one();
    return s;
  }
  return Lease(this, std::move(*conn));
}

std::string PgNumbered(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (char c : sql) {
    if (c == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> PgDescribe(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (!options) {
    std::string m = err ? Trimmed(err) : "out of memory";
    PQfreemem(err);
    return InvalidArgument("not a PostgreSQL connection string: " + m);
  }
  std::string user, host, port, dbname;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string_view k(o->keyword);
    if (k == "user") user = o->val;
    if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  // Several hosts come as lists ("h1,h2" and "p1,p2", or one port for all): host:port each.
  auto split = [](const std::string& list) {
    std::vector<std::string> parts;
    size_t from = 0;
    for (;;) {
      const size_t comma = list.find(',', from);
      parts.push_back(list.substr(from, comma - from));
      if (comma == std::string::npos) return parts;
      from = comma + 1;
    }
  };
  const std::vector<std::string> hosts = split(host), ports = split(port);
  std::string d = "postgresql://";
  if (!user.empty()) d += user + "@";
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (i > 0) d += ",";
    d += hosts[i];
    const std::string& p = ports.size() == hosts.size() ? ports[i] : ports.front();
    if (!p.empty()) d += ":" + p;
  }
  if (!dbname.empty()) d += "/" + dbname;
  return d;
}

}  // namespace baton::store
