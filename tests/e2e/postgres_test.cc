// The real server on PostgreSQL (`--store postgresql://...`, a fresh schema of the test server of
// the pg_server fixture): jobs run end to end, and what was acknowledged survives a SIGKILL.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Files and logs are in the database, not on a server's disk: after the first server and its data
// directory are gone, a server with a data directory of its own (another machine) serves the
// job's input, output and log.
TEST_F(PostgresTest, FilesAndLogsLiveInTheDatabase) {
  {
    std::ofstream(dir_ + "/in.txt") << "alpha\n";
    auto worker = StartWorker("w1");
    CliResult r = Cli({"submit", "shell", "--file", dir_ + "/in.txt", "-c",
                       "cat in.txt > out/copy.txt; echo logged", "--wait"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  for (const char* dir : {"/data/inputs", "/data/outputs", "/data/logs"}) {
    EXPECT_FALSE(std::filesystem::exists(dir_ + dir)) << dir;
  }
  StopServer();
  std::filesystem::rename(dir_ + "/data", dir_ + "/data-gone");
  StartServer();
  EXPECT_NE(start_line_.find("files in the database)"), std::string::npos) << start_line_;
  EXPECT_EQ(Cli({"logs", "1"}).out, "logged\n");
  ASSERT_EQ(Cli({"result", "1", "-o", dir_ + "/res"}).exit_code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/res/copy.txt"), "alpha\n");
  testing::HttpResult input = Call(admin_, "GET", "/v1/jobs/1/inputs/in.txt");
  EXPECT_EQ(input.status, 200);
  EXPECT_EQ(input.body, "alpha\n");
}

// --files DIR keeps them in a directory instead (a shared filesystem), and says so at start.
TEST_F(PostgresTest, FilesCanLiveInASharedDirectory) {
  StopServer();
  const std::string shared = dir_ + "/shared";
  StartServer({"--files", shared});
  EXPECT_NE(start_line_.find("files in " + shared + ")"), std::string::npos) << start_line_;
  auto worker = StartWorker("w1");
  ASSERT_EQ(Cli({"submit", "shell", "-c", "echo 7 > out/n.txt; echo hello", "--wait"}).exit_code,
            0);
  EXPECT_EQ(ReadFile(shared + "/logs/1.log"), "hello\n");
  EXPECT_TRUE(std::filesystem::exists(shared + "/outputs/1")) << shared;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data/outputs"));
  EXPECT_EQ(Cli({"logs", "1"}).out, "hello\n");
}

}  // namespace
}  // namespace baton
