#include "common/status.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = InvalidArgument("priority: must be between -1000 and 1000, got 5000");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "invalid_argument: priority: must be between -1000 and 1000, got 5000");
}

TEST(StatusTest, WithContextPrefixes) {
  EXPECT_EQ(Unavailable("disk full").WithContext("sqlite commit").message(),
            "sqlite commit: disk full");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

Status FailsWhenNegative(int x) {
  if (x < 0) return InvalidArgument("x: must not be negative");
  return Status::Ok();
}

Status Chain(int x) {
  BATON_RETURN_IF_ERROR(FailsWhenNegative(x));
  return NotFound("reached the end");
}

TEST(StatusTest, ReturnIfErrorStopsEarly) {
  EXPECT_EQ(Chain(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chain(1).code(), StatusCode::kNotFound);
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = NotFound("job 9");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "job 9");
}

TEST(ResultDeathTest, ValueOfErrorCrashes) {
  Result<int> bad = NotFound("job 9");
  EXPECT_DEATH((void)bad.value(), "");
}

TEST(ResultDeathTest, ResultFromOkStatusCrashes) { EXPECT_DEATH(Result<int>{Status::Ok()}, ""); }

}  // namespace
}  // namespace baton
