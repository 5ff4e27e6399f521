#include "server/job_types.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace baton::server {
namespace {

namespace json = boost::json;

const char* kDoc = R"({"types": [
  {"name": "render", "description": "renders frames", "version": "1.2",
   "parameters": {
     "frame": {"type": "integer", "min": 0, "max": 100000},
     "quality": {"type": "string", "enum": ["low", "high"], "default": "low"},
     "scale": {"type": "float", "min": 0.5, "max": 4, "default": 1},
     "dry": {"type": "boolean", "default": false},
     "start": {"type": "datetime"},
     "end": {"type": "datetime"},
     "budget": {"type": "duration", "max": "2h", "required": false}},
   "constraints": ["end > start"],
   "timeout_ms": 60000, "attempts_max": 5, "resources": {"cpu": 1}, "aggregator": "merge"}]})";

TypeRegistry Registry() {
  Result<TypeRegistry> r = TypeRegistry::Parse(kDoc);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(*r);
}

std::string Problems(std::string payload_text) {
  TypeRegistry r = Registry();
  json::object payload = json::parse(payload_text).as_object();
  Status s = TypeRegistry::Check(*r.Find("render"), payload);
  return s.ok() ? "ok" : s.message();
}

TEST(JobTypes, ParsesADeclaration) {
  TypeRegistry r = Registry();
  const JobType* t = r.Find("render");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->version, "1.2");
  EXPECT_EQ(t->params.size(), 7u);
  EXPECT_EQ(t->timeout_ms, 60000);
  EXPECT_EQ(t->attempts_max, 5u);
  EXPECT_EQ(t->aggregator, "merge");
  EXPECT_EQ(r.Find("other"), nullptr);
}

TEST(JobTypes, FillsDefaultsAndAcceptsAGoodPayload) {
  TypeRegistry r = Registry();
  json::object payload = json::parse(R"({"frame": 7, "start": "2026-11-23T10:00:00Z",
      "end": "2026-11-23T11:00:00+01:00", "budget": "1h30m"})")
                             .as_object();
  // end is 10:00Z + 0: equal to start, so make it later.
  payload["end"] = "2026-11-23T12:00:00+01:00";
  Status s = TypeRegistry::Check(*r.Find("render"), payload);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(payload.at("quality"), "low");
  EXPECT_EQ(payload.at("scale"), 1);
  EXPECT_EQ(payload.at("dry"), false);
}

TEST(JobTypes, ListsEveryViolationNamingItsField) {
  EXPECT_EQ(Problems(R"({"frame": 200000, "quality": "ultra", "scale": "big", "colour": 1,
                         "start": "yesterday", "end": "2026-11-23T10:00:00Z", "budget": "3h"})"),
            "6 problems: payload.colour: not a parameter of render; "
            "payload.frame: must be at most 100000, got 200000; "
            "payload.quality: must be one of [\"low\",\"high\"], got \"ultra\"; "
            "payload.scale: must be a number, got \"big\"; "
            "payload.start: must be a date and time like \"2026-11-23T10:00:00Z\", got "
            "\"yesterday\"; payload.budget: must be at most \"2h\", got \"3h\"");
  EXPECT_EQ(Problems(R"({"start": "2026-11-23T10:00:00Z", "end": "2026-11-23T10:00:00Z"})"),
            "2 problems: payload.frame: required (integer); payload: end > start does not hold "
            "(end = \"2026-11-23T10:00:00Z\", start = \"2026-11-23T10:00:00Z\")");
  EXPECT_EQ(Problems(R"({"frame": 1.5, "start": "2026-11-23T10:00:00Z",
                         "end": "2026-11-23T10:00:01Z"})"),
            "payload.frame: must be an integer, got 1.5");
}

TEST(JobTypes, RefusesBadDeclarationsWithTheirPath) {
  auto error = [](const std::string& doc) { return TypeRegistry::Parse(doc).status().message(); };
  EXPECT_EQ(error("{"), "types: not JSON: incomplete JSON");
  EXPECT_EQ(error(R"({"types": {}})"), R"(types: must be {"types": [ ... ]})");
  EXPECT_EQ(error(R"({"types": [{"description": "x"}]})"), "types[0].name: required");
  EXPECT_EQ(error(R"({"types": [{"name": "a"}, {"name": "a"}]})"),
            "types[1].name: \"a\" is declared twice");
  EXPECT_EQ(error(R"({"types": [{"name": "a", "parameters": {"x": {"type": "date"}}}]})"),
            "types[0].parameters.x.type: must be string, boolean, integer, float, datetime or "
            "duration");
  EXPECT_EQ(error(R"({"types": [{"name": "a", "parameters": {"x": {"type": "integer",
                     "min": "low"}}}]})"),
            "types[0].parameters.x.min: must be an integer, got \"low\"");
  EXPECT_EQ(error(R"({"types": [{"name": "a", "parameters": {"x": {"type": "string",
                     "max": 3}}}]})"),
            "types[0].parameters.x.max: only numbers, datetimes and durations have bounds");
  EXPECT_EQ(error(R"({"types": [{"name": "a", "parameters": {"x": {"type": "integer"}},
                     "constraints": ["x > y"]}]})"),
            "types[0].constraints[0]: \"y\" is not a parameter");
  EXPECT_EQ(error(R"({"types": [{"name": "a", "parameters": {"x": {"type": "integer"}},
                     "constraints": ["x >> x"]}]})"),
            "types[0].constraints[0]: must be \"PARAM OP PARAM\" with OP one of < <= > >= == !=");
  EXPECT_EQ(error(R"({"types": [{"name": "a", "colour": "red"}]})").substr(0, 33),
            "types[0].colour: unknown field (k");
}

TEST(JobTypes, DatetimesAndDurations) {
  EXPECT_EQ(ParseDatetimeMs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseDatetimeMs("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseDatetimeMs("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseDatetimeMs("2026-11-23T10:00:00Z"), 1795428000000);
  EXPECT_FALSE(ParseDatetimeMs("2026-02-30T10:00:00Z"));
  EXPECT_FALSE(ParseDatetimeMs("2026-11-23T10:00:00"));
  EXPECT_FALSE(ParseDatetimeMs("2026-11-23"));
  EXPECT_EQ(ParseDurationMs("250ms"), 250);
  EXPECT_EQ(ParseDurationMs("1h30m"), 5'400'000);
  EXPECT_EQ(ParseDurationMs("2d"), 172'800'000);
  EXPECT_FALSE(ParseDurationMs("5"));
  EXPECT_FALSE(ParseDurationMs("5x"));
  EXPECT_FALSE(ParseDurationMs(""));
}

TEST(JobTypesTest, ATomlFileDeclaresTheSameTypes) {
  const std::string path = ::testing::TempDir() + "/types-" + std::to_string(::getpid()) + ".toml";
  std::ofstream(path) << R"(
[[types]]
name = "fan"
aggregator = "fan.join"
children_policy = { quorum = 2 }
timeout_ms = 5000
retry = { delay_initial_ms = 250, retry_on = ["error"] }
[types.parameters.n]
type = "integer"
min = 1
)";
  Result<TypeRegistry> r = TypeRegistry::Load(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const JobType* fan = r->Find("fan");
  ASSERT_NE(fan, nullptr);
  EXPECT_EQ(fan->aggregator, "fan.join");
  EXPECT_EQ(fan->timeout_ms, 5000);
  ASSERT_TRUE(fan->retry.has_value());
  EXPECT_EQ(fan->retry->delay_ms_initial, 250);
  EXPECT_EQ(fan->retry->retry_on, engine::OutcomeBit(engine::Outcome::kError));
  EXPECT_EQ(r->EngineDefaults().at("fan").retry, fan->retry);
  ASSERT_TRUE(fan->children_policy.has_value());
  EXPECT_EQ(fan->children_policy->kind, engine::ChildrenPolicy::kQuorum);
  ASSERT_EQ(fan->params.size(), 1u);
  EXPECT_EQ(fan->params[0].min, 1);
  std::ofstream(path) << "[[types]]\nname = \"x\"\ntimeout_ms = = 3\n";
  Result<TypeRegistry> bad = TypeRegistry::Load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("--types " + path + ": TOML, line 3: ", 0), 0u)
      << bad.status().message();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace baton::server
