// A full disk, for real: the server's data directory is a small tmpfs. Submits beyond the space
// are refused with a clear error and change nothing; everything acknowledged stays readable, also
// across a SIGKILL; once the filesystem is grown, the same server takes submits again.
//
// Mounting needs root (or CAP_SYS_ADMIN); where the test cannot mount, it says so and is skipped.
#include <sqlite3.h>
#include <sys/mount.h>

#include <boost/json.hpp>

#include "util/server_fixture.h"

namespace baton {
namespace {

using testing::HttpResult;
namespace json = boost::json;

class DiskTest : public testing::ServerFixture {
 protected:
  void SetUp() override {
    dir_ = store::testing::TempDir("disk");
    data_ = dir_ + "/data";
    std::filesystem::create_directories(data_);
    if (::mount("tmpfs", data_.c_str(), "tmpfs", 0, "size=6m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs at " << data_ << " (" << std::strerror(errno)
                   << "): this test needs root or CAP_SYS_ADMIN";
    }
    mounted_ = true;
    StartServer();
  }
  void TearDown() override {
    if (server_) server_.reset();  // killed by its PID
    if (mounted_) ::umount2(data_.c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir_);
  }

  // `count` jobs of `payload_bytes` each, with keys PREFIX-i.
  static std::string Batch(const std::string& prefix, int count, size_t payload_bytes) {
    json::array jobs;
    for (int i = 0; i < count; ++i) {
      jobs.push_back({{"type", "t"},
                      {"idempotency_key", prefix + "-" + std::to_string(i)},
                      {"payload", {{"blob", std::string(payload_bytes, 'x')}}}});
    }
    return json::serialize(jobs);
  }

  std::string data_;
  bool mounted_ = false;
};

TEST_F(DiskTest, AFullDiskRefusesSubmitsLosesNothingAndRecoversWhenSpaceReturns) {
  std::vector<uint64_t> acked;
  HttpResult refused;
  for (int b = 0; b < 100; ++b) {
    HttpResult r = Call(admin_, "POST", "/v1/jobs", Batch("b" + std::to_string(b), 10, 50'000));
    if (r.status != 201) {
      refused = r;
      break;
    }
    const json::value r_body = Json(r);
    for (const json::value& j : r_body.at("jobs").as_array()) {
      acked.push_back(j.at("id").to_number<uint64_t>());
    }
  }
  ASSERT_NE(refused.status, 0) << "6 MiB never filled up";
  ASSERT_FALSE(acked.empty());
  // A clear error: the disk is full, try again later.
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("the disk is full"), std::string::npos) << refused.body;
  // Still full: refused again, the same way, and the server answers reads.
  HttpResult again = Call(admin_, "POST", "/v1/jobs", Batch("again", 10, 50'000));
  EXPECT_EQ(again.status, 503) << again.body;
  EXPECT_EQ(Call(admin_, "GET", "/healthz").status, 200);
  for (uint64_t id : acked) {
    ASSERT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(id)).status, 200) << id;
  }

  // Space returns: the same server takes submits again.
  ASSERT_EQ(::mount("tmpfs", data_.c_str(), "tmpfs", MS_REMOUNT, "size=64m,mode=0700"), 0)
      << std::strerror(errno);
  HttpResult after = Call(admin_, "POST", "/v1/jobs", Batch("after", 10, 50'000));
  ASSERT_EQ(after.status, 201) << after.body;
  const json::value after_body = Json(after);
  for (const json::value& j : after_body.at("jobs").as_array()) {
    acked.push_back(j.at("id").to_number<uint64_t>());
  }
  // The refused batch made nothing: sent again, its keys make new jobs.
  HttpResult resent = Call(admin_, "POST", "/v1/jobs", Batch("again", 10, 50'000));
  ASSERT_EQ(resent.status, 201) << resent.body;
  const json::value resent_body = Json(resent);
  for (const json::value& j : resent_body.at("jobs").as_array()) {
    EXPECT_FALSE(j.at("existed").as_bool());
  }

  // Nothing acknowledged is lost, also across a SIGKILL, and the file is sound.
  KillAndRestartServer();
  for (uint64_t id : acked) {
    ASSERT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(id)).status, 200) << id;
  }
  StopServer();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data_ + "/baton.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace baton
