// The real server on PostgreSQL (`--store postgresql://...`, a fresh schema of the test server of
// the pg_server fixture): jobs run end to end, and what was acknowledged survives a SIGKILL.
#include <gtest/gtest.h>

#include "store/postgres/pg_test_util.h"
#include "util/worker_fixture.h"

namespace baton {
namespace {

namespace json = boost::json;

class PostgresTest : public testing::WorkerFixture {
 protected:
  void SetUp() override {
    server_args_ = {"--store", store::testing::PgFreshUrl()};
    WorkerFixture::SetUp();
  }
};

TEST_F(PostgresTest, AShellJobRunsWithItsLogsResultAndOutputs) {
  auto worker = StartWorker("w1");
  CliResult r = Cli({"submit", "shell", "-c",
                     "echo first line; echo '::progress 0.5 halfway'; echo 42 > out/answer.txt; "
                     "echo last line",
                     "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("succeeded"), std::string::npos) << r.out;
  json::object job = GetJob(1);
  EXPECT_EQ(job.at("state").as_string(), "succeeded");
  EXPECT_EQ(json::serialize(job.at("result").at("files")), R"(["answer.txt"])");
  CliResult logs = Cli({"logs", "1"});
  EXPECT_EQ(logs.out, "first line\nlast line\n");
  CliResult out = Cli({"result", "1", "-o", dir_ + "/out"});
  ASSERT_EQ(out.exit_code, 0) << out.out;
  std::ifstream in(dir_ + "/out/answer.txt");
  std::string answer;
  std::getline(in, answer);
  EXPECT_EQ(answer, "42");
  // The events, in order from the store, end with the success.
  std::vector<json::object> events = EventsUntilEnd(1);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().at("state").as_string(), "succeeded");
}

// Jobs acknowledged before a SIGKILL are in PostgreSQL: the new server recovers them, a queued one
// runs, a finished one keeps its result, and ids go on from where they were.
TEST_F(PostgresTest, AcknowledgedJobsSurviveAServerSigkill) {
  {
    auto worker = StartWorker("w1");
    ASSERT_EQ(Cli({"submit", "shell", "-c", "echo done > out/x.txt", "--wait"}).exit_code, 0);
  }
  const uint64_t queued = Submit(R"({"type":"shell","payload":{"command":"true"}})");
  EXPECT_EQ(GetJob(queued).at("state").as_string(), "queued");
  KillAndRestartServer();
  EXPECT_EQ(GetJob(1).at("state").as_string(), "succeeded");
  EXPECT_EQ(GetJob(queued).at("state").as_string(), "queued");
  auto worker = StartWorker("w2");
  ASSERT_TRUE(WaitUntil([&] { return GetJob(queued).at("state") == "succeeded"; }))
      << json::serialize(GetJob(queued));
  EXPECT_EQ(Submit(R"({"type":"shell","payload":{"command":"true"}})"), queued + 1);
}

}  // namespace
}  // namespace baton
