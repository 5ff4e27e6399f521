// What the PostgreSQL backend does beyond the conformance suite: its migrations, text that its
// bulk statements (array literals for unnest) must carry unchanged, its connections' options.
#include "store/postgres/postgres_store.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "store/migrations.h"
#include "store/postgres/pg_test_util.h"
#include "store/postgres/postgres_files.h"
#include "store/store_test_util.h"

namespace baton::store {
namespace {

TEST(PostgresStoreTest, MigratesOnceAndRefusesASchemaNewerThanItKnows) {
  const std::string url = testing::PgFreshUrl();
  {
    Result<std::unique_ptr<Database>> db = OpenDatabase(url);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ((*db)->backend(), "postgresql");
    Result<std::unique_ptr<StoreAdmin>> admin = (*db)->ConnectAdmin();
    ASSERT_TRUE(admin.ok());
    EXPECT_EQ((*admin)->SchemaVersion().value(), PostgresMigrations().back().version);
  }
  // Opened again: nothing to do, the same version.
  ASSERT_TRUE(OpenDatabase(url).ok());
  Result<std::unique_ptr<PgConnection>> c = PgConnection::Open(url, "test");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      (*c)->Script("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)", "future")
          .ok());
  Result<std::unique_ptr<Database>> newer = OpenDatabase(url);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("schema version 999, newer than this baton knows"),
            std::string::npos)
      << newer.status().ToString();
}

// Quotes, backslashes, braces, commas, the word NULL and an empty string travel through the array
// literals of a bulk insert and update as they are.
// A database that vanishes without a word is noticed in seconds: the socket has keepalives and a
// user timeout unless the URL chooses other values, which win.
TEST(PgConnectionTest, KeepalivesAndAUserTimeoutByDefaultAndTheUrlWins) {
  auto option = [](const PgConnection& c, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    EXPECT_EQ(::getsockopt(c.Socket(), level, name, &v, &len), 0);
    return v;
  };
  const std::string url = testing::PgServerUrl();
  std::unique_ptr<PgConnection> plain = PgConnection::Open(url, "test").value();
  EXPECT_EQ(option(*plain, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(option(*plain, IPPROTO_TCP, TCP_KEEPIDLE), 5);
  EXPECT_EQ(option(*plain, IPPROTO_TCP, TCP_KEEPINTVL), 2);
  EXPECT_EQ(option(*plain, IPPROTO_TCP, TCP_KEEPCNT), 3);
  EXPECT_EQ(option(*plain, IPPROTO_TCP, TCP_USER_TIMEOUT), 10000);
  const std::string chosen =
      url + (url.find('?') == std::string::npos ? "?" : "&") + "keepalives_idle=7";
  std::unique_ptr<PgConnection> own = PgConnection::Open(chosen, "test").value();
  EXPECT_EQ(option(*own, IPPROTO_TCP, TCP_KEEPIDLE), 7);
  EXPECT_EQ(option(*own, IPPROTO_TCP, TCP_USER_TIMEOUT), 10000);
}

TEST(PostgresStoreTest, TextThatLooksLikeArraySyntaxRoundTrips) {
  Result<std::unique_ptr<Database>> db = OpenDatabase(testing::PgFreshUrl());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::unique_ptr<Store> store = std::move((*db)->Connect().value());
  const std::string tricky[] = {R"(a"b)", R"(back\slash\\)", "{1,2}",       "NULL",
                                "",       " spaced ",        "line\nbreak", R"(\"{,}\")"};
  engine::RecordBatch b;
  engine::JobId id = 0;
  for (const std::string& t : tricky) {
    engine::JobRecord r = testing::FullJob(++id);
    r.spec.type = t.empty() ? "x" : t;
    r.spec.idempotency_key = t.empty() ? "k" : t;
    r.status.error = t;
    b.inserts.push_back(r);
  }
  ASSERT_TRUE(store->Apply(b).ok());
  engine::RecordBatch u;
  id = 0;
  for (const std::string& t : tricky) {
    engine::JobStatus s = testing::FullJob(++id).status;
    s.result = t;
    u.updates.push_back({id, s});
  }
  ASSERT_TRUE(store->Apply(u).ok());
  id = 0;
  for (const std::string& t : tricky) {
    Result<engine::JobRecord> got = store->GetJob(++id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->spec.type, t.empty() ? "x" : t);
    EXPECT_EQ(got->spec.idempotency_key, t.empty() ? "k" : t);
    EXPECT_EQ(std::string(got->status.result), t);
  }
}

// One batch that changes a job twice (started, then done) leaves the second change, as applying
// them in order does.
TEST(PostgresStoreTest, TheLastOfTwoUpdatesOfAJobInOneBatchWins) {
  Result<std::unique_ptr<Database>> db = OpenDatabase(testing::PgFreshUrl());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::unique_ptr<Store> store = std::move((*db)->Connect().value());
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  ASSERT_TRUE(store->Apply(b).ok());
  engine::RecordBatch u;
  engine::JobStatus running = testing::FullJob(1).status, done = running;
  running.state = engine::JobState::kRunning;
  done.state = engine::JobState::kSucceeded;
  u.updates.push_back({1, running});
  u.updates.push_back({1, done});
  engine::AttemptRecord a{7, 1, 1, "w", 10, 0, engine::Outcome::kNone, "", ""};
  u.attempts.push_back(a);
  a.ended_ms = 20;
  a.outcome = engine::Outcome::kSucceeded;
  u.attempts.push_back(a);
  ASSERT_TRUE(store->Apply(u).ok());
  EXPECT_EQ(store->GetJob(1).value().status.state, engine::JobState::kSucceeded);
  std::vector<engine::AttemptRecord> attempts = store->ListAttempts(1).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, engine::Outcome::kSucceeded);
  EXPECT_EQ(attempts[0].ended_ms, 20);
}

// Migration 4 turns the rows of the events table into batches of arrays: a store that had them
// lists the same events after it, finds times in them, and deletes up to a line inside a batch.
TEST(PostgresStoreTest, EventsStoredAsRowsAreKeptAsBatchesByMigration4) {
  const std::string url = testing::PgFreshUrl();
  std::unique_ptr<PgConnection> c = PgConnection::Open(url, "test").value();
  ASSERT_TRUE(c->Script("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT "
                        "NULL, applied_ms BIGINT NOT NULL)",
                        "migrations")
                  .ok());
  for (const Migration& m : PostgresMigrations()) {
    if (m.version >= 4) break;
    const std::string script = "BEGIN;\n" + std::string(m.sql) +
                               ";\nINSERT INTO schema_migrations VALUES (" +
                               std::to_string(m.version) + ", 'old', 0);\nCOMMIT;";
    ASSERT_TRUE(c->Script(script.c_str(), "old migration").ok()) << m.name;
  }
  // 2,500 events of 500 jobs, 10 ms apart; every third has a message with a quote and a comma.
  ASSERT_TRUE(c->Script("INSERT INTO events SELECT g, (g - 1) / 5 + 1, 1000 + 10 * g, 'state', "
                        "'queued', 0, 'none', 0.5, CASE WHEN g % 3 = 0 THEN 'a \"b\", c' ELSE '' "
                        "END, 0 FROM generate_series(1, 2500) g",
                        "old events")
                  .ok());
  std::unique_ptr<Database> db = std::move(OpenDatabase(url).value());
  std::unique_ptr<Store> store = std::move(db->Connect().value());
  std::vector<engine::Event> all = store->ListEvents({.limit = 10000}).value();
  ASSERT_EQ(all.size(), 2500u);
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].seq, i + 1);
    EXPECT_EQ(all[i].job_id, i / 5 + 1);
    EXPECT_EQ(all[i].at_ms, static_cast<int64_t>(1000 + 10 * (i + 1)));
    EXPECT_EQ(all[i].message, (i + 1) % 3 == 0 ? "a \"b\", c" : "");
  }
  std::vector<engine::Event> job = store->ListEvents({.job_id = 250, .limit = 100}).value();
  ASSERT_EQ(job.size(), 5u);
  EXPECT_EQ(job.front().seq, 1246u);
  std::vector<engine::Event> window =
      store->ListEvents({.after = 998, .through = 1003, .limit = 100}).value();
  ASSERT_EQ(window.size(), 5u);  // across the line between two batches
  EXPECT_EQ(window.front().seq, 999u);
  EXPECT_EQ(window.back().seq, 1003u);
  EXPECT_EQ(store->FirstEventAt(1000 + 10 * 1500).value(), 1500u);
  EXPECT_EQ(store->FirstEventAt(1000 + 10 * 1500 - 5).value(), 1500u);
  EXPECT_EQ(store->FirstEventAt(1'000'000).value(), 2501u);
  engine::RecordBatch del;
  del.events_before = 1500;
  ASSERT_TRUE(store->Apply(del).ok());
  std::vector<engine::Event> kept = store->ListEvents({.limit = 10000}).value();
  ASSERT_EQ(kept.size(), 1001u);
  EXPECT_EQ(kept.front().seq, 1500u);
  EXPECT_EQ(store->FirstEventAt(0).value(), 1500u);
  EXPECT_EQ(store->Recover(0).value().event_seq_max, 2500u);
}

// One holder at a time; a deposed leader's commits fail whatever it believes, and change nothing.
TEST(PostgresLeaseTest, OneHolderAtATimeAndADeposedLeaderCommitsNothing) {
  std::unique_ptr<Database> db = std::move(OpenDatabase(testing::PgFreshUrl()).value());
  std::unique_ptr<Lease> a = std::move(db->ConnectLease().value());
  std::unique_ptr<Lease> b = std::move(db->ConnectLease().value());
  LeaseView va = a->Acquire("a", "http://a:1", 60'000).value();
  ASSERT_TRUE(va.held);
  EXPECT_EQ(va.epoch, 1);
  LeaseView vb = b->Acquire("b", "http://b:2", 60'000).value();
  EXPECT_FALSE(vb.held);
  EXPECT_EQ(vb.epoch, 1);
  EXPECT_EQ(vb.holder, "a");
  EXPECT_EQ(vb.address, "http://a:1");
  EXPECT_GT(vb.remaining_ms, 50'000);
  EXPECT_TRUE(a->Renew(1, 60'000).value());

  std::unique_ptr<Store> leader_a = std::move(db->ConnectLeader(1).value());
  auto insert = [](engine::JobId id) {
    engine::RecordBatch batch;
    batch.inserts.push_back(testing::FullJob(id));
    return batch;
  };
  ASSERT_TRUE(leader_a->Apply(insert(1)).ok());
  // a lets go (a stop); b takes the lease with the next epoch, and a is deposed.
  ASSERT_TRUE(a->Release(1).ok());
  vb = b->Acquire("b", "http://b:2", 60'000).value();
  ASSERT_TRUE(vb.held);
  EXPECT_EQ(vb.epoch, 2);
  EXPECT_FALSE(a->Renew(1, 60'000).value());
  Status late = leader_a->Apply(insert(2));
  EXPECT_EQ(late.code(), StatusCode::kUnavailable);
  EXPECT_NE(late.message().find("no longer the leader"), std::string::npos) << late.ToString();
  std::unique_ptr<Store> reader = std::move(db->Connect().value());
  EXPECT_EQ(reader->GetJob(2).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(reader->GetJob(1).ok());
  std::unique_ptr<Store> leader_b = std::move(db->ConnectLeader(2).value());
  EXPECT_TRUE(leader_b->Apply(insert(2)).ok());
}

int64_t Count(PgConnection& c, const std::string& sql) {
  Result<PgRows> r = c.Query(sql, {}, "count");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->At(0).Int(0) : -1;
}

// An upload given up after some chunks were sent takes them back; contents released long ago, and
// uploads that a dead server left half-written, go at the next removal; a content released a
// moment ago stays for its readers.
TEST(PostgresFilesTest, UnfinishedUploadsAndReleasedContentsAreDeleted) {
  const std::string url = testing::PgFreshUrl();
  std::unique_ptr<Database> db = std::move(OpenDatabase(url).value());
  std::unique_ptr<BlobStore> blobs = std::move(db->ConnectBlobs().value());
  std::unique_ptr<PgConnection> c = std::move(PgConnection::Open(url, "test").value());
  {
    std::unique_ptr<BlobWriter> w = std::move(blobs->Create("outputs/1/1/big").value());
    ASSERT_TRUE(w->Write(std::string(kBlobChunkBytes * 2 + 5, 'x')).ok());
    EXPECT_EQ(Count(*c, "SELECT count(*) FROM blob_chunks"), 2);
  }
  EXPECT_EQ(Count(*c, "SELECT count(*) FROM blob_contents"), 0);
  EXPECT_EQ(Count(*c, "SELECT count(*) FROM blob_chunks"), 0);

  const int64_t now = WallClockMs();
  const std::string insert = "INSERT INTO blob_contents (id, state, since_ms) VALUES ";
  ASSERT_TRUE(
      c->Script((insert + "(1001, 'released', " + std::to_string(now - kReleasedKeepMs - 1) +
                 "), (1002, 'released', " + std::to_string(now - 1000) + "), (1003, " +
                 "'writing', " + std::to_string(now - kWritingKeepMs - 1) + "), (1004, " +
                 "'writing', " + std::to_string(now - kReleasedKeepMs - 1) + ")")
                    .c_str(),
                "contents")
          .ok());
  ASSERT_TRUE(
      c->Script("INSERT INTO blob_chunks VALUES (1001, 0, 'a'), (1003, 0, 'b')", "chunks").ok());
  blobs->Remove("outputs/none");
  // 1002, released a moment ago, and 1004, an upload of a few minutes, stay.
  EXPECT_EQ(Count(*c, "SELECT count(*) FROM blob_contents"), 2);
  EXPECT_EQ(Count(*c, "SELECT count(*) FROM blob_contents WHERE id IN (1002, 1004)"), 2);
  EXPECT_EQ(Count(*c, "SELECT count(*) FROM blob_chunks"), 0);
}

}  // namespace
}  // namespace baton::store
