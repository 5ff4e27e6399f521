// OpenDatabase: what each URL opens, and the errors for the ones it cannot.
#include "store/database.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "store/store_test_util.h"

namespace baton::store {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::TempDir("database"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(DatabaseTest, SqliteMakesItsDirectoryOwnerOnlyAndKeepsWhatWasCommitted) {
  const std::string dir = dir_ + "/a/b";
  {
    Result<std::unique_ptr<Database>> db = OpenDatabase("sqlite:" + dir);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ((*db)->backend(), "sqlite");
    EXPECT_EQ((*db)->description(), "sqlite:" + dir);
    EXPECT_EQ((*db)->local_dir(), dir);
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_TRUE(std::filesystem::exists(dir + "/baton.db"));
    auto store = (*db)->Connect();
    ASSERT_TRUE(store.ok());
    engine::RecordBatch b;
    b.inserts.push_back(testing::FullJob(3));
    ASSERT_TRUE((*store)->Apply(b).ok());
  }
  Result<std::unique_ptr<Database>> again = OpenDatabase("sqlite:" + dir);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Connect().value()->GetJob(3).value(), testing::FullJob(3));
}

TEST_F(DatabaseTest, MemoryStartsEmptyEachTime) {
  Result<std::unique_ptr<Database>> db = OpenDatabase("memory:");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->local_dir(), "");
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(3));
  ASSERT_TRUE((*db)->Connect().value()->Apply(b).ok());
  Result<std::unique_ptr<Database>> other = OpenDatabase("memory:");
  EXPECT_EQ((*other)->Connect().value()->GetJob(3).status().code(), StatusCode::kNotFound);
}

TEST_F(DatabaseTest, AUrlItCannotOpenGetsAnErrorThatSaysWhy) {
  std::ofstream(dir_ + "/file") << "x";
  const DatabaseOptions plain;
  DatabaseOptions sometimes;
  sometimes.synchronous = "SOMETIMES";
  struct Case {
    std::string url;
    DatabaseOptions options;
    StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"", plain, StatusCode::kInvalidArgument,
       R"(--store "": expected sqlite:DIR (a directory), postgresql://... or memory:)"},
      {"mysql://db/baton", plain, StatusCode::kInvalidArgument,
       R"(--store "mysql://db/baton": expected sqlite:DIR (a directory), postgresql://... or memory:)"},
      {"sqlite", plain, StatusCode::kInvalidArgument,
       R"(--store "sqlite": expected sqlite:DIR (a directory), postgresql://... or memory:)"},
      {"sqlite:", plain, StatusCode::kInvalidArgument,
       R"(--store sqlite:: expected a directory after "sqlite:")"},
      {"sqlite:" + dir_ + "/file", plain, StatusCode::kInvalidArgument,
       "--store sqlite:" + dir_ + "/file: not a directory"},
      {"sqlite:" + dir_ + "/file/sub", plain, StatusCode::kUnavailable,
       "--store sqlite:" + dir_ + "/file/sub: cannot create the directory: Not a directory"},
      {"sqlite:" + dir_ + "/s", sometimes, StatusCode::kInvalidArgument,
       "--store sqlite:" + dir_ +
           "/s: synchronous: must be FULL, NORMAL, EXTRA or OFF, got \"SOMETIMES\""},
      {"memory:x", plain, StatusCode::kInvalidArgument,
       "--store memory: takes nothing after the colon"},
      // The URL is not echoed (it may hold a password); libpq's reason names the wrong part.
      {"postgresql://baton:secret@localhost/baton?sslmode=sometimes&nosuch=1", plain,
       StatusCode::kInvalidArgument,
       "--store postgresql: not a PostgreSQL connection string: invalid URI query parameter: "
       "\"nosuch\""},
      {"postgresql://baton@[::1/baton", plain, StatusCode::kInvalidArgument,
       "--store postgresql: not a PostgreSQL connection string: end of string reached when "
       "looking for matching \"]\" in IPv6 host address in URI: \"postgresql://baton@[::1/baton\""},
      // Port 1 on loopback: nothing listens there. The password is not in the message.
      {"postgresql://baton:secret@127.0.0.1:1/baton?connect_timeout=5", plain,
       StatusCode::kUnavailable,
       "--store postgresql: the database postgresql://baton@127.0.0.1:1/baton cannot be reached: "
       "connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is the server "
       "running on that host and accepting TCP/IP connections?"},
      // Each host of a multi-host URL is named with its port.
      {"postgresql://baton@127.0.0.1:1,127.0.0.1:2/baton?target_session_attrs=read-write&"
       "connect_timeout=5",
       plain, StatusCode::kUnavailable,
       "--store postgresql: the database postgresql://baton@127.0.0.1:1,127.0.0.1:2/baton cannot "
       "be reached: connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is "
       "the server running on that host and accepting TCP/IP connections? connection to server at "
       "\"127.0.0.1\", port 2 failed: Connection refused Is the server running on that host and "
       "accepting TCP/IP connections?"},
  };
  for (const Case& c : cases) {
    Result<std::unique_ptr<Database>> db = OpenDatabase(c.url, c.options);
    ASSERT_FALSE(db.ok()) << c.url;
    EXPECT_EQ(db.status().code(), c.code) << c.url;
    EXPECT_EQ(db.status().message(), c.message) << c.url;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/s"));  // refused before anything was made
}

}  // namespace
}  // namespace baton::store
