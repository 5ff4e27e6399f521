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

TEST(StatusCodeTest, EachCodeHasOneNameOneHttpStatusAndOneExitCode) {
  struct Row {
    StatusCode code;
    const char* name;
    int http;
    int exit;
  };
  const Row rows[] = {
      {StatusCode::kOk, "ok", 200, 0},
      {StatusCode::kInvalidArgument, "invalid_argument", 400, 2},
      {StatusCode::kNotFound, "not_found", 404, 3},
      {StatusCode::kAlreadyExists, "already_exists", 409, 2},
      {StatusCode::kFailedPrecondition, "failed_precondition", 409, 2},
      {StatusCode::kStaleAttempt, "stale_attempt", 409, 2},
      {StatusCode::kResourceExhausted, "resource_exhausted", 429, 2},
      {StatusCode::kUnavailable, "unavailable", 503, 4},
      {StatusCode::kDataLoss, "data_loss", 500, 4},
      {StatusCode::kInternal, "internal", 500, 4},
      {StatusCode::kUnauthenticated, "unauthenticated", 401, 2},
      {StatusCode::kPermissionDenied, "permission_denied", 403, 2},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(StatusCodeName(r.code), r.name);
    EXPECT_EQ(ParseStatusCode(r.name), r.code) << r.name;
    EXPECT_EQ(HttpStatusOf(r.code), r.http) << r.name;
    EXPECT_EQ(ExitCodeOf(r.code), r.exit) << r.name;
  }
  EXPECT_EQ(ParseStatusCode("no_such_code"), StatusCode::kInternal);
  EXPECT_EQ(StatusCodeOfHttp(204), StatusCode::kOk);
  EXPECT_EQ(StatusCodeOfHttp(401), StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusCodeOfHttp(403), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusCodeOfHttp(409), StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusCodeOfHttp(502), StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeOfHttp(418), StatusCode::kInvalidArgument);
}

Result<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgument(std::to_string(n) + " is odd");
  return n / 2;
}

Result<int> Quarter(int n) {
  BATON_ASSIGN_OR_RETURN(const int half, Half(n));
  int quarter = 0;
  BATON_ASSIGN_OR_RETURN(quarter, Half(half));
  return quarter;
}

TEST(ResultTest, AssignOrReturnAssignsAValueAndReturnsAnError) {
  EXPECT_EQ(Quarter(12).value(), 3);
  EXPECT_EQ(Quarter(6).status().message(), "3 is odd");
  EXPECT_EQ(Quarter(5).status().message(), "5 is odd");
}

}  // namespace
}  // namespace baton
