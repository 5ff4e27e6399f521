#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/migrations.h"
#include "store/store_test_util.h"

namespace baton::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::TempDir("sqlite"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path() const { return dir_ + "/baton.db"; }
  std::string dir_;
};

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  {
    auto store = SqliteStore::Open(Path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    engine::RecordBatch b;
    b.inserts.push_back(testing::FullJob(5));
    ASSERT_TRUE((*store)->Apply(b).ok());
  }
  auto store = SqliteStore::Open(Path());
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->GetJob(5).value(), testing::FullJob(5));
  EXPECT_TRUE((*store)->IntegrityCheck().ok());
}

TEST_F(SqliteStoreTest, MigrationsAreRecordedAndAppliedOnce) {
  {
    auto store = SqliteStore::Open(Path());
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->SchemaVersion().value(), SqliteMigrations().back().version);
  }
  auto again = SqliteStore::Open(Path());  // a second open must not re-run migration 1
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->SchemaVersion().value(), SqliteMigrations().back().version);
}

// Migration 10 on a database that already holds jobs: their output manifest reads "unknown" (the
// disk is taken as it is), a failed attempt has no result, a verdict no deadline.
TEST_F(SqliteStoreTest, JobsFromBeforeMigration10HaveAnUnknownOutputManifest) {
  {
    auto store = SqliteStore::Open(Path());
    ASSERT_TRUE(store.ok());
    engine::RecordBatch b;
    b.inserts.push_back(testing::FullJob(5));
    b.attempts.push_back(engine::AttemptRecord{31, 5, 1, "w", 1, 2, engine::Outcome::kError, "boom",
                                               R"({"kept":true})"});
    ASSERT_TRUE((*store)->Apply(b).ok());
  }
  // Back to schema 9, as a database of the previous release is.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  for (const char* sql :
       {"ALTER TABLE job_status DROP COLUMN outputs", "ALTER TABLE attempts DROP COLUMN result",
        "ALTER TABLE jobs DROP COLUMN verdict_timeout_ms",
        "DELETE FROM schema_migrations WHERE version = 10"}) {
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  }
  sqlite3_close(db);
  auto store = SqliteStore::Open(Path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->SchemaVersion().value(), 10);
  engine::JobRecord job = (*store)->GetJob(5).value();
  EXPECT_EQ(job.status.outputs, engine::kOutputsUnknown);
  EXPECT_EQ(job.spec.verdict_timeout_ms, 0);
  EXPECT_EQ((*store)->ListAttempts(5).value().at(0).result, "");
}

// The migrations embedded from src/store/sqlite/migrations/*.sql: numbered from 1 without a gap,
// each named by its file's first line, none empty.
TEST(SqliteMigrationsTest, AreTheEmbeddedFilesInOrder) {
  const std::vector<Migration>& all = SqliteMigrations();
  ASSERT_GE(all.size(), 10u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i + 1));
    EXPECT_NE(std::string_view(all[i].name), "");
    EXPECT_EQ(std::string_view(all[i].sql).rfind("-- " + std::string(all[i].name) + "\n", 0), 0u)
        << all[i].version;
  }
  EXPECT_EQ(std::string_view(all[0].name), "jobs, attempts, events");
  EXPECT_NE(std::string_view(all[9].sql).find("ADD COLUMN outputs"), std::string_view::npos);
}

TEST_F(SqliteStoreTest, ANewerSchemaIsRefusedWithAClearMessage) {
  { ASSERT_TRUE(SqliteStore::Open(Path()).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 'future', 0)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStore::Open(Path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 999"), std::string::npos)
      << store.status().message();
}

TEST_F(SqliteStoreTest, BadOptionsAndPathsGetClearErrors) {
  DatabaseOptions bad;
  bad.synchronous = "SOMETIMES";
  auto s = SqliteStore::Open(Path(), bad);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "synchronous: must be FULL, NORMAL, EXTRA or OFF, got \"SOMETIMES\"");
  auto missing = SqliteStore::Open(dir_ + "/no/such/dir/baton.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.status().message().find("no/such/dir"), std::string::npos);
}

TEST_F(SqliteStoreTest, UsesWalAndTheRequestedSynchronousMode) {
  auto store = SqliteStore::Open(Path());
  ASSERT_TRUE(store.ok());
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  ASSERT_TRUE((*store)->Apply(b).ok());
  EXPECT_TRUE(std::filesystem::exists(Path() + "-wal"));
}

}  // namespace
}  // namespace baton::store
