// The server's config file: every section parses to the policy it names, and every mistake is
// refused with the path of the field at fault.
#include "server/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/store_test_util.h"

namespace baton::server {
namespace {

std::string ErrorOf(std::string_view json_text) {
  Result<ServerConfig> c = ParseConfig(json_text);
  return c.ok() ? "ok" : c.status().message();
}

TEST(ConfigTest, AnEmptyConfigKeepsTheDefaults) {
  Result<ServerConfig> c = ParseConfig("{}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->retention.finished_ms, RetentionPolicy::kWeekMs);
  EXPECT_EQ(c->retention.events_ms, RetentionPolicy::kWeekMs);
  EXPECT_EQ(c->retention.interval_ms, 60'000);
  EXPECT_TRUE(c->retention.types.empty());
  EXPECT_EQ(c->scheduling.user_running_max, engine::SchedulingPolicy{}.user_running_max);
  EXPECT_TRUE(c->schedules.empty());
}

TEST(ConfigTest, SchedulingParsesEveryPolicy) {
  Result<ServerConfig> c = ParseConfig(R"({"scheduling": {
      "user_running_max": 20, "user_type_running_max": 5,
      "resources_max": {"cpu": 64, "gpu": 8}, "resource_max_default": 1000,
      "users": {"alice": {"running_max": 50, "type_running_max": 10, "types": {"render": 4}}},
      "types": {"render": {"running_max": 100, "rate": 2.5, "burst": 40}}}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const engine::SchedulingPolicy& p = c->scheduling;
  EXPECT_EQ(p.user_running_max, 20u);
  EXPECT_EQ(p.user_type_running_max, 5u);
  EXPECT_EQ(p.resources_max.at("cpu"), 64);
  EXPECT_EQ(p.resources_max.at("gpu"), 8);
  EXPECT_EQ(p.resource_max_default, 1000);
  EXPECT_EQ(p.users.at("alice").running_max, 50u);
  EXPECT_EQ(p.users.at("alice").type_running_max, 10u);
  EXPECT_EQ(p.users.at("alice").types.at("render"), 4u);
  EXPECT_EQ(p.types.at("render").running_max, 100u);
  EXPECT_DOUBLE_EQ(p.types.at("render").rate_per_s, 2.5);
  EXPECT_EQ(p.types.at("render").burst, 40u);
}

TEST(ConfigTest, RetentionTakesDurationsAsTextOrMilliseconds) {
  Result<ServerConfig> c = ParseConfig(R"({"retention": {
      "finished": "30d", "events": 3600000, "interval": "5m",
      "types": {"scratch": "1h", "audit": "0"}}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const RetentionPolicy& r = c->retention;
  EXPECT_EQ(r.finished_ms, 30 * 86'400'000LL);
  EXPECT_EQ(r.events_ms, 3'600'000);
  EXPECT_EQ(r.interval_ms, 300'000);
  EXPECT_EQ(r.types.at("scratch"), 3'600'000);
  EXPECT_EQ(r.types.at("audit"), 0);
  // A job's own retention first, then its type's, then the default.
  EXPECT_EQ(r.For("scratch", 5), 5);
  EXPECT_EQ(r.For("scratch", 0), 3'600'000);
  EXPECT_EQ(r.For("audit", 0), 0);  // kept forever
  EXPECT_EQ(r.For("other", 0), 30 * 86'400'000LL);
}

TEST(ConfigTest, SchedulesNeedAnOwnerInTheConfigFile) {
  Result<ServerConfig> c = ParseConfig(R"({"schedules": [{"name": "nightly", "cron": "0 3 * * *",
      "time_zone": "Europe/Paris", "catch_up": "once", "owner": "alice",
      "job": {"type": "report"}}]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->schedules.size(), 1u);
  EXPECT_EQ(c->schedules[0].name, "nightly");
  EXPECT_EQ(c->schedules[0].time_zone, "Europe/Paris");
  EXPECT_EQ(c->schedules[0].catch_up, engine::CatchUp::kOnce);
  EXPECT_EQ(c->schedules[0].owner, "alice");
  EXPECT_EQ(ErrorOf(R"({"schedules": [{"name": "n", "cron": "* * * * *", "job": {}}]})"),
            "schedules[0].owner: is required (the user its jobs belong to)");
}

TEST(ConfigTest, MistakesNameTheirField) {
  struct Row {
    const char* config;
    const char* error;
  };
  const Row rows[] = {
      {R"([])", "config: must be a table"},
      {R"({"retention": {"finished": "soon"}})",
       "retention.finished: must be a duration like \"7d\", \"12h\" or \"90m\" (0: forever), got "
       "\"soon\""},
      {R"({"retention": {"interval": "10ms"}})", "retention.interval: must be at least 1s"},
      {R"({"retention": {"finished": -1}})", "retention.finished: must be between 0 and"},
      {R"({"retention": {"types": {"scratch": "x"}}})", "retention.types.scratch: must be a"},
      {R"({"retention": {"keep": "1d"}})",
       "retention.keep: unknown field (known: finished, events, interval, types)"},
      {R"({"scheduling": {"user_running_max": -1}})", "scheduling.user_running_max: must be"},
      {R"({"scheduling": {"types": {"t": {"rate": 0}}}})",
       "scheduling.types.t.rate: must be between 0.001 and 1000000 a second"},
      {R"({"scheduling": {"types": {"t": {"burst": 4}}}})",
       "scheduling.types.t.burst: needs a rate"},
      {R"({"scheduling": {"users": {"bob": {"limit": 4}}}})",
       "scheduling.users.bob.limit: unknown field (known: running_max, type_running_max, types)"},
      {R"({"schedules": [{"name": "n", "cron": "* * * * *", "owner": "a", "job": {},
           "catch_up": "all"}]})",
       "schedules[0].catch_up: must be \"skip\" or \"once\""},
      {R"({"queues": {}})", "queues: unknown field (known: scheduling, retention, schedules)"},
  };
  for (const Row& row : rows) {
    const std::string error = ErrorOf(row.config);
    EXPECT_EQ(error.rfind(row.error, 0), 0u) << row.config << "\n  gave: " << error;
  }
}

TEST(ConfigTest, LoadConfigReadsTomlAndPrefixesErrorsWithThePath) {
  const std::string dir = store::testing::TempDir("config");
  const std::string path = dir + "/baton.toml";
  {
    std::ofstream out(path);
    out << "[retention]\nfinished = \"2d\"\ntypes = { scratch = \"1h\" }\n"
           "[scheduling.types.render]\nrunning_max = 3\n";
  }
  Result<ServerConfig> c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->retention.finished_ms, 2 * 86'400'000LL);
  EXPECT_EQ(c->retention.types.at("scratch"), 3'600'000);
  EXPECT_EQ(c->scheduling.types.at("render").running_max, 3u);
  {
    std::ofstream out(path);
    out << "[retention]\nevents = \"forever\"\n";
  }
  Result<ServerConfig> bad = LoadConfig(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("--config " + path + ": retention.events: ", 0), 0u)
      << bad.status().message();
  EXPECT_FALSE(LoadConfig(dir + "/missing.toml").ok());
  std::filesystem::remove_all(dir);
}

// The example in docs/operations.md is a config file the server takes as it is.
TEST(ConfigTest, TheExampleInTheOperationsGuideLoads) {
  std::ifstream doc(BATON_DOCS_DIR "/operations.md");
  ASSERT_TRUE(doc) << BATON_DOCS_DIR "/operations.md";
  std::string line, example;
  bool in_section = false, in_block = false;
  while (std::getline(doc, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## The config file";
    if (!in_section) continue;
    if (line == "```toml") {
      in_block = true;
    } else if (in_block && line == "```") {
      break;
    } else if (in_block) {
      example += line + "\n";
    }
  }
  ASSERT_FALSE(example.empty()) << "no ```toml block under \"## The config file\"";
  const std::string dir = store::testing::TempDir("config-doc");
  const std::string path = dir + "/baton.toml";
  std::ofstream(path) << example;
  Result<ServerConfig> c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scheduling.types.at("render").running_max, 100u);
  EXPECT_EQ(c->retention.types.at("scratch"), 3'600'000);
  ASSERT_EQ(c->schedules.size(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton::server
