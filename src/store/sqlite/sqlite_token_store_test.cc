#include "store/sqlite/sqlite_token_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace baton::store {
namespace {

TEST(SqliteTokenStoreTest, TokensArePutFoundAndKeptAcrossReopen) {
  const std::string dir = testing::TempDir("tokens");
  const std::string path = dir + "/baton.db";
  ASSERT_TRUE(SqliteStore::Open(path).ok());  // the schema
  const TokenRecord alice{"aa11", "alice", false, false, false, 5};
  const TokenRecord own{"dd44", "alice", false, true, true, 7};
  {
    auto tokens = SqliteTokenStore::Open(path);
    ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
    ASSERT_TRUE((*tokens)->Put(alice).ok());
    ASSERT_TRUE((*tokens)->Put({"bb22", "root", true, false, false, 6}).ok());
    ASSERT_TRUE((*tokens)->Put(own).ok());
    EXPECT_EQ((*tokens)->Put(alice).code(), StatusCode::kAlreadyExists);
    EXPECT_FALSE((*tokens)->Find("cc33").value().has_value());
  }
  auto tokens = SqliteTokenStore::Open(path);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)->Find("aa11").value(), alice);
  EXPECT_TRUE((*tokens)->Find("bb22").value()->admin);
  EXPECT_EQ((*tokens)->Find("dd44").value(), own);  // a private pool's worker token
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton::store
