#include "server/job_json.h"

#include <gtest/gtest.h>

namespace baton::server {
namespace {

std::string ErrorOf(std::string_view body, size_t batch_max = 100) {
  auto r = ParseSubmitBody(body, batch_max);
  EXPECT_FALSE(r.ok()) << body;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(JobJsonTest, EveryFieldIsRead) {
  auto r = ParseSubmitBody(R"({
    "type": "render.frame", "payload": {"frame": 7, "list": [1, "two"]}, "priority": -3,
    "run_after_ms": 1700000000000, "run_by_ms": 1700000900000, "timeout_ms": 60000,
    "heartbeat_timeout_ms": 5000, "attempts_max": 4,
    "retry": {"delay_initial_ms": 250, "multiplier": 1.5, "delay_max_ms": 9000, "jitter": 0.3,
              "retry_on": ["error", "lost"]},
    "idempotency_key": "order-17", "tags": ["blue", "big"], "parent_id": 12, "verify": true})",
                           10);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->specs.size(), 1u);
  EXPECT_FALSE(r->batch);
  const engine::JobSpec& s = r->specs.front();
  EXPECT_EQ(s.type, "render.frame");
  EXPECT_EQ(s.payload, R"({"frame":7,"list":[1,"two"]})");
  EXPECT_EQ(s.priority, -3);
  EXPECT_EQ(s.run_after_ms, 1700000000000);
  EXPECT_EQ(s.run_by_ms, 1700000900000);
  EXPECT_EQ(s.timeout_ms, 60000);
  EXPECT_EQ(s.heartbeat_timeout_ms, 5000);
  EXPECT_EQ(s.attempts_max, 4u);
  ASSERT_TRUE(s.retry.has_value());
  EXPECT_EQ(*s.retry, (engine::RetryPolicy{250, 1.5, 9000, 0.3,
                                           engine::OutcomeBit(engine::Outcome::kError) |
                                               engine::OutcomeBit(engine::Outcome::kLost)}));
  EXPECT_EQ(s.idempotency_key, "order-17");
  EXPECT_EQ(s.tags, (std::vector<std::string>{"blue", "big"}));
  EXPECT_EQ(s.parent_id, 12u);
  EXPECT_TRUE(s.verify);
  EXPECT_TRUE(s.owner.empty());  // the owner comes from the caller's token, never the body
}

TEST(JobJsonTest, OnlyTheTypeIsRequired) {
  auto r = ParseSubmitBody(R"({"type":"t"})", 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->specs.front().payload, "{}");
  EXPECT_FALSE(r->specs.front().retry.has_value());  // the engine fills defaults
  EXPECT_EQ(ErrorOf(R"({"payload":{}})"), "type: is required");
}

TEST(JobJsonTest, AnyJsonIsAPayload) {
  EXPECT_EQ(ParseSubmitBody(R"({"type":"t","payload":[1,2]})", 1)->specs.front().payload, "[1,2]");
  EXPECT_EQ(ParseSubmitBody(R"({"type":"t","payload":"text"})", 1)->specs.front().payload,
            "\"text\"");
  EXPECT_EQ(ParseSubmitBody(R"({"type":"t","payload":null})", 1)->specs.front().payload, "null");
}

TEST(JobJsonTest, ErrorsNameTheFieldAndWhatWasWrong) {
  EXPECT_EQ(ErrorOf(R"({"type":"t","priority":"high"})"),
            R"(priority: must be an integer, got "high")");
  EXPECT_EQ(ErrorOf(R"({"type":"t","timeout_ms":-5})"),
            "timeout_ms: must be between 0 and 9223372036854775807, got -5");
  EXPECT_EQ(ErrorOf(R"({"type":"t","timeout_ms":1.5})"),
            "timeout_ms: must be an integer, got 1.5E0");
  EXPECT_EQ(ErrorOf(R"({"type":"t","attempts_max":0})"),
            "attempts_max: must be between 1 and 4294967295, got 0");
  EXPECT_EQ(ErrorOf(R"({"type":"t","parent_id":18446744073709551615})"),
            "parent_id: must be between 0 and 9223372036854775807, got 18446744073709551615");
  EXPECT_EQ(ErrorOf(R"({"type":7})"), "type: must be a string, got 7");
  EXPECT_EQ(ErrorOf(R"({"type":"t","verify":"yes"})"),
            R"(verify: must be true or false, got "yes")");
  EXPECT_EQ(ErrorOf(R"({"type":"t","tags":"blue"})"),
            R"(tags: must be an array of strings, got "blue")");
  EXPECT_EQ(ErrorOf(R"({"type":"t","tags":["a",1]})"), "tags[1]: must be a string, got 1");
  EXPECT_EQ(ErrorOf(R"({"type":"t","retry":{"retry_on":["declined"]}})"),
            R"(retry.retry_on[0]: must be one of error, timeout, lost, rejected, got "declined")");
  EXPECT_EQ(ErrorOf(R"({"type":"t","retry":{"delay":5}})").rfind("retry.delay: unknown field", 0),
            0u);
  EXPECT_EQ(ErrorOf(R"({"type":"t","retry":[]})"), "retry: must be an object, got an array");
  EXPECT_EQ(
      ErrorOf(R"({"type":"t","colour":"red"})").rfind("colour: unknown field (known: type,", 0),
      0u);
  EXPECT_EQ(ErrorOf(R"({"type":"t","owner":"mallory"})").rfind("owner: unknown field", 0), 0u);
}

TEST(JobJsonTest, ABatchIsAllOrNothingAndLimited) {
  auto r = ParseSubmitBody(R"([{"type":"a"},{"type":"b"},{"type":"c"}])", 3);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->specs.size(), 3u);
  EXPECT_TRUE(r->batch);
  EXPECT_EQ(r->specs[2].type, "c");
  EXPECT_EQ(ErrorOf(R"([{"type":"a"},{"type":"b","priority":"x"}])"),
            R"([1].priority: must be an integer, got "x")");
  EXPECT_EQ(ErrorOf(R"([{"type":"a"},5])"), "[1]: must be an object, got 5");
  EXPECT_EQ(ErrorOf("[]"), "body: the array holds no job");
  EXPECT_EQ(ErrorOf(R"([{"type":"a"},{"type":"b"}])", 1),
            "body: 2 jobs in one batch, at most 1 allowed (batch_max)");
}

TEST(JobJsonTest, ABodyThatIsNotAJobIsRefused) {
  EXPECT_EQ(ErrorOf("{\"type\":").rfind("body: not JSON: ", 0), 0u);
  EXPECT_EQ(ErrorOf("42"), "body: must be a job object or an array of them, got 42");
  EXPECT_EQ(ErrorOf("").rfind("body: not JSON", 0), 0u);
}

TEST(JobJsonTest, AJobIsShownWithItsPayloadAndResultAsJson) {
  engine::JobRecord job;
  job.id = 42;
  job.created_ms = 1000;
  job.spec.type = "t";
  job.spec.owner = "alice";
  job.spec.payload = R"({"n":1})";
  job.spec.tags = {"x"};
  job.status.state = engine::JobState::kSucceeded;
  job.status.result = R"({"sum":3})";
  job.status.last_outcome = engine::Outcome::kSucceeded;
  boost::json::object o = JobToJson(job);
  EXPECT_EQ(o.at("id").as_uint64(), 42u);
  EXPECT_EQ(o.at("state").as_string(), "succeeded");
  EXPECT_EQ(o.at("owner").as_string(), "alice");
  EXPECT_EQ(boost::json::serialize(o.at("payload")), R"({"n":1})");
  EXPECT_EQ(boost::json::serialize(o.at("result")), R"({"sum":3})");
  EXPECT_EQ(o.at("last_outcome").as_string(), "succeeded");
  EXPECT_EQ(boost::json::serialize(o.at("tags")), R"(["x"])");
  job.status.result.clear();
  EXPECT_TRUE(JobToJson(job).at("result").is_null());
}

}  // namespace
}  // namespace baton::server
