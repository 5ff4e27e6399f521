#include "store/postgres/postgres_files.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "store/postgres/pg_connection.h"

namespace baton::store {
namespace {

// Blob and log calls at once, per store: each holds a connection for one round trip.
constexpr size_t kPoolMax = 4;

// The keys below `prefix` + "/": [prefix/, prefix0) in byte order ('0' follows '/').
void AddRange(PgParams& p, const std::string& prefix) {
  p.Text(prefix + "/");
  p.Text(prefix + "0");
}

// Releases the content `key` names (replaced or removed): deleted by a sweep kReleasedKeepMs on.
PgQuery Release(const std::string& key, const std::string& what) {
  PgParams p;
  p.Text(key);
  p.Int(WallClockMs());
  return PgQuery{
      "UPDATE blob_contents SET state = 'released', since_ms = $2 WHERE id = (SELECT "
      "content FROM blobs WHERE key = $1)",
      std::move(p), what + " " + key};
}

// Deletes released contents past their time, and contents abandoned mid-write (chunks cascade).
PgQuery Sweep() {
  PgParams p;
  const int64_t now = WallClockMs();
  p.Int(now - kReleasedKeepMs);
  p.Int(now - kWritingKeepMs);
  return PgQuery{
      "DELETE FROM blob_contents WHERE state <> 'live' AND since_ms < $1 AND "
      "(state = 'released' OR since_ms < $2)",
      std::move(p), "sweep released files"};
}

class PgBlobReader final : public BlobReader {
 public:
  PgBlobReader(std::shared_ptr<PgPool> pool, std::string key, int64_t content, uint64_t size,
               std::string first)
      : pool_(std::move(pool)),
        key_(std::move(key)),
        content_(content),
        size_(size),
        chunk_(std::move(first)) {}

  uint64_t size() const override { return size_; }

  Result<std::string> Read(size_t max) override {
    if (at_ == chunk_.size()) {
      if (done_ + chunk_.size() >= size_) return std::string();
      BATON_RETURN_IF_ERROR(Next());
    }
    const size_t n = std::min(max, chunk_.size() - at_);
    std::string out = chunk_.substr(at_, n);
    at_ += n;
    return out;
  }

 private:
  Status Next() {
    PgParams p;
    p.Int(content_);
    p.Int(n_ + 1);
    BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Take());
    BATON_ASSIGN_OR_RETURN(PgRows rows,
                           conn->Query("SELECT data FROM blob_chunks WHERE content = $1 AND n = $2",
                                       std::move(p), "read " + key_, true));
    if (rows.size() == 0 || rows.At(0).Text(0).empty()) {
      return NotFound(key_ + ": the file was removed while it was being read");
    }
    done_ += chunk_.size();
    chunk_ = rows.At(0).Text(0);
    at_ = 0;
    ++n_;
    return Status::Ok();
  }

  std::shared_ptr<PgPool> pool_;
  std::string key_;
  int64_t content_;
  uint64_t size_;
  std::string chunk_;  // chunk n_, read up to at_
  size_t at_ = 0;
  int64_t n_ = 0;
  uint64_t done_ = 0;  // the bytes of the chunks before this one
};

class PgBlobWriter final : public BlobWriter {
 public:
  PgBlobWriter(std::shared_ptr<PgPool> pool, std::string key)
      : pool_(std::move(pool)), key_(std::move(key)) {}

  ~PgBlobWriter() override {
    if (committed_ || content_ == 0) return;
    // Best effort: if this fails, the sweep deletes the content a day later.
    Result<PgPool::Lease> conn = pool_->Take();
    if (!conn.ok()) return;
    PgParams p;
    p.Int(content_);
    (void)(*conn)->Query("DELETE FROM blob_contents WHERE id = $1", std::move(p),
                         "drop an unfinished upload");
  }

  Status Write(std::string_view data) override {
    BATON_RETURN_IF_ERROR(Usable());
    buffer_.append(data);
    size_ += data.size();
    while (buffer_.size() >= kBlobChunkBytes) {
      std::vector<PgQuery> queries;
      AddChunk(queries, std::string_view(buffer_).substr(0, kBlobChunkBytes), "writing");
      Result<std::vector<PgRows>> rows = Send(queries);
      if (!rows.ok()) return rows.status();
      if (content_ == 0) content_ = rows->front().At(0).Int(0);
      buffer_.erase(0, kBlobChunkBytes);
    }
    return Status::Ok();
  }

  uint64_t size() const override { return size_; }

  Status Commit() override {
    BATON_RETURN_IF_ERROR(Usable());
    std::vector<PgQuery> queries;
    if (!buffer_.empty() || content_ == 0) AddChunk(queries, buffer_, "live");
    if (content_ != 0) {
      PgParams p;
      p.Int(content_);
      queries.push_back(PgQuery{"UPDATE blob_contents SET state = 'live' WHERE id = $1",
                                std::move(p), "commit " + key_});
    }
    queries.push_back(Release(key_, "replace"));
    PgParams name;
    name.Text(key_);
    name.Int(static_cast<int64_t>(size_));
    const std::string content =
        content_ != 0 ? std::to_string(content_) : "currval('blob_contents_id_seq')";
    queries.push_back(PgQuery{"INSERT INTO blobs (key, content, size) VALUES ($1, " + content +
                                  ", $2) ON CONFLICT (key) DO UPDATE SET content = "
                                  "excluded.content, size = excluded.size",
                              std::move(name), "name " + key_});
    BATON_RETURN_IF_ERROR(Send(queries).status());
    committed_ = true;
    buffer_.clear();
    return Status::Ok();
  }

 private:
  Status Usable() const {
    if (committed_) return FailedPrecondition(key_ + ": used after its commit");
    if (failed_) return FailedPrecondition(key_ + ": an earlier write of this file failed");
    return Status::Ok();
  }
  // A writer whose statements failed is of no more use (its chunks are numbered already).
  Result<std::vector<PgRows>> Send(const std::vector<PgQuery>& queries) {
    Result<PgPool::Lease> conn = pool_->Take();
    Result<std::vector<PgRows>> rows = conn.ok() ? (*conn)->Run(queries) : conn.status();
    failed_ = !rows.ok();
    return rows;
  }

  // The next chunk; the first one also makes the content (in `state`), which the chunk's
  // statement reaches as currval: the two share a transaction.
  void AddChunk(std::vector<PgQuery>& queries, std::string_view data, const char* state) {
    std::string content = std::to_string(content_);
    if (content_ == 0) {
      PgParams p;
      p.Text(state);
      p.Int(WallClockMs());
      queries.push_back(
          PgQuery{"INSERT INTO blob_contents (state, since_ms) VALUES ($1, $2) RETURNING id",
                  std::move(p), "upload " + key_});
      content = "currval('blob_contents_id_seq')";
    }
    if (data.empty()) return;  // an empty file: a content without chunks
    PgParams p;
    p.Int(n_++);
    p.Bytes(data);
    queries.push_back(
        PgQuery{"INSERT INTO blob_chunks (content, n, data) VALUES (" + content + ", $1, $2)",
                std::move(p), "upload " + key_});
  }

  std::shared_ptr<PgPool> pool_;
  std::string key_;
  std::string buffer_;  // less than a chunk, not sent yet
  uint64_t size_ = 0;
  int64_t content_ = 0;  // 0 until the first chunk is sent
  int64_t n_ = 0;        // the next chunk's number
  bool committed_ = false;
  bool failed_ = false;
};

class PostgresBlobStore final : public BlobStore {
 public:
  explicit PostgresBlobStore(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  Result<std::unique_ptr<BlobWriter>> Create(const std::string& key) override {
    return std::unique_ptr<BlobWriter>(std::make_unique<PgBlobWriter>(pool_, key));
  }

  Result<std::unique_ptr<BlobReader>> Open(const std::string& key) const override {
    PgParams p;
    p.Text(key);
    BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Take());
    BATON_ASSIGN_OR_RETURN(
        PgRows rows,
        conn->Query("SELECT b.content, b.size, c.data FROM blobs b LEFT JOIN blob_chunks c ON "
                    "c.content = b.content AND c.n = 0 WHERE b.key = $1",
                    std::move(p), "open " + key, true));
    if (rows.size() == 0) return NotFound("no file " + key);
    PgRows& row = rows.At(0);
    return std::unique_ptr<BlobReader>(
        std::make_unique<PgBlobReader>(pool_, key, row.Int(0), static_cast<uint64_t>(row.Int(1)),
                                       row.IsNull(2) ? std::string() : row.Text(2)));
  }

  // A commit is durable with its name: nothing to do.
  Status Publish(const std::vector<std::string>&) override { return Status::Ok(); }

  Result<std::vector<BlobInfo>> List(const std::string& prefix) const override {
    PgParams p;
    AddRange(p, prefix);
    p.Int(static_cast<int64_t>(prefix.size()) + 2);
    BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Take());
    BATON_ASSIGN_OR_RETURN(PgRows rows,
                           conn->Query("SELECT substr(key, $3), size FROM blobs WHERE key >= $1 "
                                       "AND key < $2 ORDER BY key",
                                       std::move(p), "list files of " + prefix));
    std::vector<BlobInfo> out;
    for (int i = 0; i < rows.size(); ++i) {
      rows.At(i);
      out.push_back(BlobInfo{rows.Text(0), static_cast<uint64_t>(rows.Int(1))});
    }
    return out;
  }

  Result<std::vector<std::string>> Children(const std::string& prefix) const override {
    PgParams p;
    AddRange(p, prefix);
    p.Int(static_cast<int64_t>(prefix.size()) + 2);
    BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Take());
    BATON_ASSIGN_OR_RETURN(
        PgRows rows, conn->Query("SELECT DISTINCT split_part(substr(key, $3), '/', 1) COLLATE "
                                 "\"C\" AS c FROM blobs WHERE key >= $1 AND key < $2 ORDER BY c",
                                 std::move(p), "list the directories of " + prefix));
    std::vector<std::string> out;
    for (int i = 0; i < rows.size(); ++i) out.push_back(rows.At(i).Text(0));
    return out;
  }

  void Remove(const std::string& key) override {
    PgParams unname;
    unname.Text(key);
    RemoveWith({Release(key, "remove"),
                PgQuery{"DELETE FROM blobs WHERE key = $1", std::move(unname), "remove " + key}});
  }

  void RemoveAll(const std::string& prefix) override {
    PgParams release;
    AddRange(release, prefix);
    release.Int(WallClockMs());
    PgParams unname;
    AddRange(unname, prefix);
    RemoveWith({PgQuery{"UPDATE blob_contents SET state = 'released', since_ms = $3 WHERE id IN "
                        "(SELECT content FROM blobs WHERE key >= $1 AND key < $2)",
                        std::move(release), "remove " + prefix},
                PgQuery{"DELETE FROM blobs WHERE key >= $1 AND key < $2", std::move(unname),
                        "remove " + prefix}});
  }

 private:
  // Removals are best effort, as on a disk: a file that stays is swept by a later one.
  void RemoveWith(std::vector<PgQuery> queries) {
    queries.push_back(Sweep());
    Result<PgPool::Lease> conn = pool_->Take();
    if (conn.ok()) (void)(*conn)->Run(queries);
  }

  std::shared_ptr<PgPool> pool_;
};

class PostgresLogStore final : public LogStore {
 public:
  explicit PostgresLogStore(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {
    writer_ = std::thread([this] { WriteLoop(); });
  }

  ~PostgresLogStore() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    writer_.join();
  }

  Status Append(engine::JobId job, std::string_view data) override {
    BATON_ASSIGN_OR_RETURN(uint64_t size, Size(job));
    (void)size;  // the job is known now
    std::lock_guard lock(mu_);
    if (pending_bytes_ + data.size() > kLogPendingMax) {
      return Unavailable("logs: " + std::to_string(pending_bytes_) +
                         " bytes wait for the database " + pool_->description() +
                         " already; this chunk is dropped");
    }
    auto it = known_.find(job);
    if (it == known_.end()) return Status::Ok();  // removed meanwhile
    it->second.pending.append(data);
    pending_bytes_ += data.size();
    wake_.notify_one();
    return Status::Ok();
  }

  Result<uint64_t> Size(engine::JobId job) const override {
    {
      std::lock_guard lock(mu_);
      auto it = known_.find(job);
      if (it != known_.end()) return it->second.end();
    }
    PgParams p;
    p.Int(static_cast<int64_t>(job));
    BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Take());
    BATON_ASSIGN_OR_RETURN(
        PgRows rows,
        conn->Query("SELECT off + length(data) FROM job_logs WHERE job = $1 "
                    "ORDER BY off DESC LIMIT 1",
                    std::move(p), "the size of job " + std::to_string(job) + "'s log"));
    const uint64_t stored = rows.size() ? static_cast<uint64_t>(rows.At(0).Int(0)) : 0;
    std::lock_guard lock(mu_);
    return known_.try_emplace(job, Log{stored, {}, {}}).first->second.end();
  }

  Result<std::string> Read(engine::JobId job, uint64_t offset, size_t max) const override {
    uint64_t stored = UINT64_MAX;
    {
      std::lock_guard lock(mu_);
      auto it = known_.find(job);
      if (it != known_.end()) {
        const Log& log = it->second;
        stored = log.stored;
        if (offset >= stored) {  // all of it in memory, not written yet
          const std::string unwritten = log.writing + log.pending;
          const uint64_t from = offset - stored;
          if (from >= unwritten.size()) return std::string();
          return unwritten.substr(from, max);
        }
      }
    }
    // From the database: the rows from the one that holds `offset`, up to what is written.
    if (offset >= static_cast<uint64_t>(INT64_MAX) - max) return std::string();
    const uint64_t end = std::min<uint64_t>(stored, offset + max);
    PgParams p;
    p.Int(static_cast<int64_t>(job));
    p.Int(static_cast<int64_t>(offset));
    p.Int(static_cast<int64_t>(end));
    BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Take());
    BATON_ASSIGN_OR_RETURN(
        PgRows rows,
        conn->Query("SELECT off, data FROM job_logs WHERE job = $1 AND off >= coalesce((SELECT "
                    "max(off) FROM job_logs WHERE job = $1 AND off <= $2), 0) AND off < $3 "
                    "ORDER BY off LIMIT 256",
                    std::move(p), "read job " + std::to_string(job) + "'s log", true));
    std::string out;
    for (int i = 0; i < rows.size() && out.size() < max; ++i) {
      rows.At(i);
      const auto off = static_cast<uint64_t>(rows.Int(0));
      const std::string data = rows.Text(1);
      if (off + data.size() <= offset) continue;
      const size_t skip = off < offset ? offset - off : 0;
      out += data.substr(skip, std::min<uint64_t>(max - out.size(), end - off - skip));
    }
    return out;
  }

  void Remove(engine::JobId job) override {
    {
      std::unique_lock lock(mu_);
      auto it = known_.find(job);
      if (it != known_.end()) {
        pending_bytes_ -= it->second.pending.size();
        it->second.pending.clear();
        // Bytes on their way to the database land first, then go with the rest.
        written_.wait(lock, [&] {
          auto found = known_.find(job);
          return found == known_.end() || found->second.writing.empty();
        });
        known_.erase(job);
      }
    }
    PgParams p;
    p.Int(static_cast<int64_t>(job));
    Result<PgPool::Lease> conn = pool_->Take();
    if (conn.ok()) {
      (void)(*conn)->Query("DELETE FROM job_logs WHERE job = $1", std::move(p),
                           "remove job " + std::to_string(job) + "'s log");
    }
  }

 private:
  // Logs of this many jobs at most are kept known (their size in memory); past it, those with
  // nothing unwritten are forgotten, to be asked of the database again.
  static constexpr size_t kKnownMax = 10'000;
  // Log bytes in one row at most.
  static constexpr size_t kRowBytes = 256 << 10;
  // Rows in one INSERT statement at most (3 parameters each, of PostgreSQL's 65,535).
  static constexpr size_t kRowsPerStatement = 1000;

  struct Log {
    uint64_t stored = 0;  // bytes in the database
    std::string writing;  // after them: on their way to the database
    std::string pending;  // after those: not sent yet
    uint64_t end() const { return stored + writing.size() + pending.size(); }
  };

  void WriteLoop() {
    int backoff_ms = 0;
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms ? backoff_ms : 60'000),
                     [&] { return stop_ || (pending_bytes_ > 0 && backoff_ms == 0); });
      if (pending_bytes_ == 0) {
        if (stop_) return;
        continue;
      }
      // What every job has pending, as rows at their offsets.
      struct Row {
        engine::JobId job;
        uint64_t off;
        std::string_view data;
      };
      std::vector<Row> rows;
      for (auto& [job, log] : known_) {
        if (log.pending.empty()) continue;
        log.writing = std::move(log.pending);
        log.pending.clear();
        for (size_t at = 0; at < log.writing.size(); at += kRowBytes) {
          rows.push_back(
              Row{job, log.stored + at, std::string_view(log.writing).substr(at, kRowBytes)});
        }
      }
      pending_bytes_ = 0;
      lock.unlock();
      std::vector<PgQuery> queries;
      for (size_t first = 0; first < rows.size(); first += kRowsPerStatement) {
        PgQuery q{"INSERT INTO job_logs (job, off, data) VALUES ", {}, "write logs"};
        for (size_t i = first; i < std::min(rows.size(), first + kRowsPerStatement); ++i) {
          const int n = q.params.size();
          if (i > first) q.sql += ", ";
          q.sql += "($" + std::to_string(n + 1) + ", $" + std::to_string(n + 2) + ", $" +
                   std::to_string(n + 3) + ")";
          q.params.Int(static_cast<int64_t>(rows[i].job));
          q.params.Int(static_cast<int64_t>(rows[i].off));
          q.params.Bytes(rows[i].data);
        }
        // A retry after a commit whose answer was lost writes the same rows again: no harm.
        q.sql += " ON CONFLICT DO NOTHING";
        queries.push_back(std::move(q));
      }
      Status s = Status::Ok();
      {
        Result<PgPool::Lease> conn = pool_->Take();
        s = conn.ok() ? (*conn)->Run(queries).status() : conn.status();
      }
      lock.lock();
      for (auto& [job, log] : known_) {
        if (log.writing.empty()) continue;
        if (s.ok()) {
          log.stored += log.writing.size();
        } else {  // sent again, before what came since
          log.pending = log.writing + log.pending;
          pending_bytes_ += log.writing.size();
        }
        log.writing.clear();
      }
      backoff_ms = s.ok() ? 0 : std::min(std::max(backoff_ms * 2, 50), 2000);
      if (stop_ && !s.ok()) return;  // the server stops and the database is away: dropped
      if (known_.size() > kKnownMax) {
        std::erase_if(known_, [](const auto& entry) {
          return entry.second.writing.empty() && entry.second.pending.empty();
        });
      }
      written_.notify_all();
    }
  }

  std::shared_ptr<PgPool> pool_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  mutable std::condition_variable written_;
  mutable std::unordered_map<engine::JobId, Log> known_;
  size_t pending_bytes_ = 0;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> OpenPostgresBlobStore(const std::string& url,
                                                         const std::string& description) {
  auto pool = std::make_shared<PgPool>(url, description, kPoolMax);
  // Reach the database now, so that a server does not start with files it cannot keep.
  {
    BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool->Take());
    BATON_RETURN_IF_ERROR(conn->Run({Sweep()}).status());
  }
  return std::unique_ptr<BlobStore>(std::make_unique<PostgresBlobStore>(std::move(pool)));
}

Result<std::unique_ptr<LogStore>> OpenPostgresLogStore(const std::string& url,
                                                       const std::string& description) {
  auto pool = std::make_shared<PgPool>(url, description, kPoolMax, "SET synchronous_commit = off");
  { BATON_ASSIGN_OR_RETURN(PgPool::Lease conn, pool->Take()); }
  return std::unique_ptr<LogStore>(std::make_unique<PostgresLogStore>(std::move(pool)));
}

}  // namespace baton::store
