// The REST API of a real `baton server` on loopback: tokens, submitting and reading jobs,
// isolation between users, clear errors, and durability across a restart.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "util/server_fixture.h"

namespace baton {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::HttpCall;
using testing::HttpResult;
using testing::ServerFixture;

class ApiTest : public ServerFixture {
 protected:
  ApiTest() { server_args_ = {"--batch-max", "5"}; }
};

TEST_F(ApiTest, TheAdminTokenIsPrivateToItsOwner) {
  auto perms = std::filesystem::status(dir_ + "/data/admin.token").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(admin_.rfind("bt_", 0), 0u);
}

TEST_F(ApiTest, NoTokenNoAccess) {
  HttpResult none = Call("", "POST", "/v1/jobs", R"({"type":"t"})");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find("Authorization: Bearer <token>"), std::string::npos) << none.body;
  EXPECT_EQ(Call("bt_nope", "GET", "/v1/jobs/1").status, 401);
  EXPECT_EQ(Call("", "GET", "/healthz").status, 200);  // the one open endpoint
  HttpResult health = Call("", "GET", "/health");      // under job-orchestrator's name too
  EXPECT_EQ(health.status, 200);
  // On PostgreSQL the leader names itself and its lease's epoch too.
  EXPECT_EQ(health.body, OnPostgres() ? R"({"status":"ok","role":"leader","leader":")" + url() +
                                            R"(","epoch":1})"
                                      : R"({"status":"ok","role":"leader"})");
}

TEST_F(ApiTest, SubmitThenReadAJob) {
  HttpResult created = Call(admin_, "POST", "/v1/jobs",
                            R"({"type":"render","payload":{"frame":7},"priority":3,"tags":["x"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  // No event came before it: its events are those after 0.
  EXPECT_EQ(created.body, R"({"id":1,"existed":false,"event_seq":0})");
  HttpResult got = Call(admin_, "GET", "/v1/jobs/1");
  ASSERT_EQ(got.status, 200) << got.body;
  boost::json::value job = Json(got);
  EXPECT_EQ(job.at("state").as_string(), "queued");
  EXPECT_EQ(job.at("owner").as_string(), "admin");
  EXPECT_EQ(job.at("type").as_string(), "render");
  EXPECT_EQ(boost::json::serialize(job.at("payload")), R"({"frame":7})");
  EXPECT_EQ(job.at("priority").as_int64(), 3);
  // As of its one event (queued): later changes are events after 1.
  EXPECT_EQ(job.at("event_seq").as_int64(), 1);
  HttpResult second = Call(admin_, "POST", "/v1/jobs", R"({"type":"render"})");
  EXPECT_EQ(second.body, R"({"id":2,"existed":false,"event_seq":1})");
  EXPECT_EQ(Json(Call(admin_, "GET", "/v1/jobs/1")).at("event_seq").as_int64(), 2);
}

TEST_F(ApiTest, ABatchIsAllOrNothingAndLimited) {
  HttpResult bad =
      Call(admin_, "POST", "/v1/jobs", R"([{"type":"a"},{"type":"b","priority":99999}])");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      bad.body,
      R"({"error":{"code":"invalid_argument","message":"[1].priority: must be between -1000 and 1000, got 99999"}})");
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/1").status, 404);  // nothing was stored
  HttpResult big = Call(admin_, "POST", "/v1/jobs",
                        std::string("[") + R"({"type":"a"},)" + R"({"type":"a"},{"type":"a"},)" +
                            R"({"type":"a"},{"type":"a"},{"type":"a"}])");
  EXPECT_EQ(big.status, 400);
  EXPECT_NE(big.body.find("6 jobs in one batch, at most 5 allowed (batch_max)"), std::string::npos);
  HttpResult ok = Call(admin_, "POST", "/v1/jobs", R"([{"type":"a"},{"type":"b"}])");
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(
      ok.body,
      R"({"jobs":[{"id":1,"existed":false,"event_seq":0},{"id":2,"existed":false,"event_seq":0}]})");
}

TEST_F(ApiTest, BadInputGetsAMessageNamingTheField) {
  struct Case {
    std::string body;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"{not json", "body: not JSON"},
           {R"({"type":"t","colour":"red"})", "colour: unknown field"},
           {R"({"type":"t","owner":"mallory"})", "owner: unknown field"},
           {R"({"type":"has space"})", "type: may hold only"},
           {R"({"type":"t","timeout_ms":"ten"})", R"(timeout_ms: must be an integer, got \"ten\")"},
           {R"({"priority":1})", "type: is required"},
       }) {
    HttpResult r = Call(admin_, "POST", "/v1/jobs", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(r.body.find(c.message), std::string::npos) << c.body << " -> " << r.body;
  }
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/1").status, 404);
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/abc").status, 400);
}

TEST_F(ApiTest, AnIdempotencyKeyReturnsTheFirstJob) {
  const std::string body = R"({"type":"t","idempotency_key":"order-17"})";
  EXPECT_EQ(Call(admin_, "POST", "/v1/jobs", body).body,
            R"({"id":1,"existed":false,"event_seq":0})");
  HttpResult again = Call(admin_, "POST", "/v1/jobs", body);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, R"({"id":1,"existed":true,"event_seq":1})");
}

TEST_F(ApiTest, UsersSeeOnlyTheirOwnJobs) {
  const std::string alice = NewToken("alice");
  const std::string bob = NewToken("bob");
  ASSERT_EQ(Call(alice, "POST", "/v1/jobs", R"({"type":"t"})").status, 201);
  EXPECT_EQ(Call(alice, "GET", "/v1/jobs/1").status, 200);
  HttpResult stranger = Call(bob, "GET", "/v1/jobs/1");
  EXPECT_EQ(stranger.status, 404);
  EXPECT_EQ(stranger.body, R"({"error":{"code":"not_found","message":"job 1: not found"}})");
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/1").status, 200);  // the administrator sees all
  // Only an administrator makes tokens.
  EXPECT_EQ(Call(bob, "POST", "/v1/tokens", R"({"user":"eve","admin":true})").status, 403);
  EXPECT_EQ(Call(admin_, "POST", "/v1/tokens", R"({"user":"a b"})").status, 400);
}

TEST_F(ApiTest, JobsAndTokensSurviveARestart) {
  const std::string alice = NewToken("alice");
  ASSERT_EQ(Call(alice, "POST", "/v1/jobs", R"({"type":"t","idempotency_key":"k"})").status, 201);
  StopServer();
  StartServer();
  HttpResult got = Call(alice, "GET", "/v1/jobs/1");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Json(got).at("state").as_string(), "queued");
  EXPECT_EQ(Call(alice, "POST", "/v1/jobs", R"({"type":"t","idempotency_key":"k"})").body,
            R"({"id":1,"existed":true,"event_seq":1})");
}

TEST_F(ApiTest, ListingShowsOnlyYourJobsNewestFirstInPages) {
  const std::string alice = NewToken("alice");
  const std::string bob = NewToken("bob");
  ASSERT_EQ(Call(alice, "POST", "/v1/jobs", R"([{"type":"a"},{"type":"b"},{"type":"a"}])").status,
            201);
  ASSERT_EQ(Call(bob, "POST", "/v1/jobs", R"({"type":"a"})").status, 201);
  ASSERT_EQ(Call(alice, "POST", "/v1/jobs/1/cancel").status, 200);
  auto ids = [](const HttpResult& r) {
    std::vector<int64_t> out;
    const boost::json::value page = boost::json::parse(r.body);  // (a named value: it must
    for (const auto& j : page.at("jobs").as_array()) {           // outlive the loop)
      out.push_back(j.at("id").to_number<int64_t>());
    }
    return out;
  };
  HttpResult mine = Call(alice, "GET", "/v1/jobs");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(ids(mine), (std::vector<int64_t>{3, 2, 1}));
  EXPECT_TRUE(Json(mine).at("next_cursor").is_null());
  HttpResult page1 = Call(alice, "GET", "/v1/jobs?limit=2");
  EXPECT_EQ(ids(page1), (std::vector<int64_t>{3, 2}));
  const int64_t cursor = Json(page1).at("next_cursor").to_number<int64_t>();
  EXPECT_EQ(ids(Call(alice, "GET", "/v1/jobs?limit=2&cursor=" + std::to_string(cursor))),
            (std::vector<int64_t>{1}));
  EXPECT_EQ(ids(Call(alice, "GET", "/v1/jobs?status=cancelled")), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids(Call(alice, "GET", "/v1/jobs?type=a&status=queued")), (std::vector<int64_t>{3}));
  EXPECT_EQ(ids(Call(admin_, "GET", "/v1/jobs?type=a")), (std::vector<int64_t>{4, 3, 1}));
  HttpResult bad = Call(alice, "GET", "/v1/jobs?status=done");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("status: must be a job state"), std::string::npos) << bad.body;
  EXPECT_EQ(Call(alice, "GET", "/v1/jobs?limit=0").status, 400);
  EXPECT_EQ(Call(alice, "GET", "/v1/jobs?colour=red").status, 400);
}

TEST_F(ApiTest, CancelRetryRejectAndAcceptFollowTheLifecycle) {
  const std::string alice = NewToken("alice");
  const std::string bob = NewToken("bob");
  ASSERT_EQ(Call(alice, "POST", "/v1/jobs", R"({"type":"t"})").status, 201);
  // Another user cannot touch it, and it is unchanged.
  EXPECT_EQ(Call(bob, "POST", "/v1/jobs/1/cancel").status, 404);
  HttpResult cancelled = Call(alice, "POST", "/v1/jobs/1/cancel", R"({"reason":"not needed"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(Json(cancelled).at("state").as_string(), "cancelled");
  EXPECT_EQ(Json(cancelled).at("error").as_string(), "not needed");
  HttpResult again = Call(alice, "POST", "/v1/jobs/1/cancel");
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("job 1 has already cancelled"), std::string::npos) << again.body;
  HttpResult retried = Call(alice, "POST", "/v1/jobs/1/retry");
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(Json(retried).at("state").as_string(), "queued");
  EXPECT_EQ(Call(alice, "POST", "/v1/jobs/1/reject").status, 409);  // nothing to reject yet
  EXPECT_EQ(Call(alice, "POST", "/v1/jobs/1/accept").status, 409);
  EXPECT_EQ(Call(alice, "POST", "/v1/jobs/1/cancel", R"({"why":"x"})").status, 400);
  EXPECT_EQ(Call(alice, "POST", "/v1/jobs/99/cancel").status, 404);
  EXPECT_EQ(Call(alice, "POST", "/v1/jobs/1/explode").status, 404);
}

TEST_F(ApiTest, AJobThatLeftMemoryIsStillReadAndRetriedFromTheStore) {
  StopServer();
  StartServer({"--finished-jobs-max", "0"});  // finished jobs leave memory at once
  const std::string alice = NewToken("alice");
  ASSERT_EQ(Call(alice, "POST", "/v1/jobs", R"({"type":"t"})").status, 201);
  ASSERT_EQ(Call(alice, "POST", "/v1/jobs/1/cancel").status, 200);
  HttpResult got = Call(alice, "GET", "/v1/jobs/1");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Json(got).at("state").as_string(), "cancelled");
  EXPECT_EQ(Call(NewToken("bob"), "POST", "/v1/jobs/1/retry").status, 404);
  HttpResult retried = Call(alice, "POST", "/v1/jobs/1/retry");
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(Json(retried).at("state").as_string(), "queued");
  HttpResult cancel_again = Call(alice, "POST", "/v1/jobs/1/cancel");
  EXPECT_EQ(cancel_again.status, 200) << cancel_again.body;
  HttpResult twice = Call(alice, "POST", "/v1/jobs/1/cancel");
  EXPECT_EQ(twice.status, 409) << twice.body;  // read from the store, it is cancelled
}

// The job type registry: a declared type's payload is checked (every violation in one 400) and
// its defaults filled; undeclared types pass, unless the server runs with --strict-types.
TEST_F(ApiTest, DeclaredTypesCheckPayloadsAndFillDefaults) {
  const std::string types = dir_ + "/types.json";
  std::ofstream(types) << R"({"types": [{"name": "render", "version": "2",
      "parameters": {"frame": {"type": "integer", "min": 0},
                     "quality": {"type": "string", "enum": ["low", "high"], "default": "low"},
                     "start": {"type": "datetime", "required": false},
                     "end": {"type": "datetime", "required": false}},
      "constraints": ["end > start"], "timeout_ms": 5000, "attempts_max": 7}]})";
  StopServer();
  StartServer({"--types", types});
  HttpResult bad = Call(admin_, "POST", "/v1/jobs",
                        R"([{"type":"render","payload":{"frame":1}},
                            {"type":"render","payload":{"frame":-1,"quality":"ultra","x":1}}])");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Json(bad).at("error").at("message").as_string(),
            "3 problems: [1].payload.x: not a parameter of render; [1].payload.frame: must be at "
            "least 0, got -1; [1].payload.quality: must be one of [\"low\",\"high\"], got "
            "\"ultra\"");
  HttpResult order = Call(admin_, "POST", "/v1/jobs",
                          R"({"type":"render","payload":{"frame":1,"start":"2026-11-23T10:00:00Z",
                              "end":"2026-11-23T09:00:00Z"}})");
  EXPECT_EQ(order.status, 400);
  EXPECT_NE(order.body.find("end > start does not hold"), std::string::npos) << order.body;
  EXPECT_EQ(Json(Call(admin_, "GET", "/v1/jobs")).at("jobs").as_array().size(), 0u);

  HttpResult good = Call(admin_, "POST", "/v1/jobs", R"({"type":"render","payload":{"frame":3}})");
  ASSERT_EQ(good.status, 201) << good.body;
  boost::json::value job =
      Json(Call(admin_, "GET", "/v1/jobs/" + std::to_string(Json(good).at("id").as_int64())));
  EXPECT_EQ(job.at("payload"), boost::json::parse(R"({"frame":3,"quality":"low"})"));
  EXPECT_EQ(job.at("timeout_ms").as_int64(), 5000);
  EXPECT_EQ(job.at("attempts_max").as_int64(), 7);
  EXPECT_EQ(Call(admin_, "POST", "/v1/jobs", R"({"type":"free","payload":[1]})").status, 201);
  HttpResult listed = Call(admin_, "GET", "/v1/types");
  EXPECT_NE(listed.body.find(R"("declaration":{"name":"render","version":"2")"), std::string::npos)
      << listed.body;

  // Strict: an undeclared type is refused; a broken registry stops the server from starting.
  StopServer();
  StartServer({"--types", types, "--strict-types"});
  HttpResult strict = Call(admin_, "POST", "/v1/jobs", R"({"type":"free"})");
  EXPECT_EQ(strict.status, 400);
  EXPECT_NE(strict.body.find(R"(type: \"free\" is not declared)"), std::string::npos)
      << strict.body;
  StopServer();
  std::ofstream(types)
      << R"({"types": [{"name": "render", "parameters": {"x": {"type": "date"}}}]})";
  ChildProcess bad_start;
  ASSERT_TRUE(bad_start.Start({BATON_PATH, "server", "--data", dir_ + "/data", "--listen",
                               "127.0.0.1:0", "--types", types}));
  bad_start.ReadToEnd(std::chrono::seconds(30));
  const int status = bad_start.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;  // its input was wrong
  StartServer();  // for the fixture's teardown
}

}  // namespace
}  // namespace baton
