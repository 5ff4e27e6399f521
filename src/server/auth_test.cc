#include "server/auth.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/database.h"
#include "store/store_test_util.h"

namespace baton::server {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = store::testing::TempDir("auth");
    auto db = store::OpenDatabase("sqlite:" + dir_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    database_ = std::move(*db);
    auto t = database_->ConnectTokens();
    ASSERT_TRUE(t.ok());
    tokens_ = std::move(*t);
  }
  void TearDown() override {
    tokens_.reset();
    database_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  ManualClock clock_{1000};
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<store::TokenStore> tokens_;
};

TEST_F(AuthTest, ACreatedTokenAuthenticatesItsUserAndOnlyItsHashIsStored) {
  Auth auth(tokens_.get(), &clock_);
  Result<std::string> token = auth.Create({"alice", false, false});
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->rfind("bt_", 0), 0u);
  EXPECT_EQ(token->size(), 3u + 64u);
  Result<Identity> who = auth.Authenticate("Bearer " + *token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->user, "alice");
  EXPECT_FALSE(who->admin);
  // Stored by hash, not in clear.
  EXPECT_FALSE(tokens_->Find(*token).value().has_value());
  EXPECT_TRUE(tokens_->Find(Auth::Hash(*token)).value().has_value());
  // A second Auth (a restarted server) knows it from the store.
  Auth again(tokens_.get(), &clock_);
  EXPECT_TRUE(again.Authenticate("Bearer " + *token)->admin == false);
  EXPECT_NE(*auth.Create({"alice", false, false}), *token);  // every token is new
}

TEST_F(AuthTest, APrivateWorkerTokenKeepsItsPoolAcrossARestart) {
  Auth auth(tokens_.get(), &clock_);
  Result<std::string> own = auth.Create({"alice", false, true, true});
  Result<std::string> shared = auth.Create({"pool", false, true, false});
  ASSERT_TRUE(own.ok() && shared.ok());
  Auth again(tokens_.get(), &clock_);  // read from the store, not the cache
  Result<Identity> a = again.Authenticate("Bearer " + *own);
  Result<Identity> b = again.Authenticate("Bearer " + *shared);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->worker && a->private_pool);
  EXPECT_EQ(a->user, "alice");
  EXPECT_TRUE(b->worker && !b->private_pool);
}

TEST_F(AuthTest, MissingMalformedAndUnknownTokensAreRefused) {
  Auth auth(tokens_.get(), &clock_);
  EXPECT_EQ(auth.Authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("Basic abc").status().message(),
            "Authorization: must be \"Bearer <token>\"");
  EXPECT_EQ(auth.Authenticate("Bearer bt_00").status().message(), "the token is not valid");
}

TEST_F(AuthTest, UserNamesAreChecked) {
  Auth auth(tokens_.get(), &clock_);
  EXPECT_EQ(auth.Create({"", false, false}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(auth.Create({"a b", false, false}).status().message(),
            "user: may hold only letters, digits and . _ - @");
  EXPECT_TRUE(auth.Create({"ops@example.com", true, false}).ok());
}

TEST(AuthHashTest, IsSha256InHex) {
  EXPECT_EQ(Auth::Hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace baton::server
