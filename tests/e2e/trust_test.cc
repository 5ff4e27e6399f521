// A worker acts only on the attempts it holds, and a user's own worker gets only that user's
// jobs (design.md, guarantee 7), tried from outside with a second, hostile worker: a forged
// completion, heartbeat, progress, spawn and log for another worker's running attempt; a hello
// that claims that attempt; reads of its input files and uploads to it; and a private pool that
// must never be offered another user's job. Real server, real workers, real sockets.
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "util/worker_fixture.h"
#include "util/ws_client.h"

namespace baton {
namespace {

namespace json = boost::json;
using testing::HttpResult;

class TrustTest : public testing::WorkerFixture {
 protected:
  // A victim worker of a shared pool (token user "pool-a", name "v1") whose "slow" handler reads
  // its inputs, uploads one output, then waits at the hold until the test releases it.
  std::unique_ptr<InProcessWorker> StartVictim(Hold& hold) {
    victim_token_ = NewWorkerToken("pool-a");
    return std::make_unique<InProcessWorker>(
        url(), victim_token_, "v1", 1,
        std::map<std::string, client::Handler>{
            {"slow", [&hold, this](client::AttemptContext& ctx) {
               std::string seen;
               if (!ctx.input_files().empty()) {
                 const std::string dir = dir_ + "/victim-" + std::to_string(ctx.attempt());
                 if (Status s = ctx.FetchInputs(dir); !s.ok()) {
                   return client::Outcome::Error("inputs: " + s.ToString());
                 }
                 std::ifstream in(dir + "/secret.txt");
                 std::stringstream text;
                 text << in.rdbuf();
                 seen = text.str();
                 if (Status s = ctx.UploadOutput("seen.txt", seen); !s.ok()) {
                   return client::Outcome::Error("upload: " + s.ToString());
                 }
               }
               hold.At("slow");
               return client::Outcome::Succeeded(json::object{{"by", "victim"}, {"seen", seen}});
             }}});
  }

  // The job's current attempt, once it runs on the victim.
  std::string RunningAttempt(uint64_t id) {
    const json::object job = GetJob(id);
    EXPECT_EQ(job.at("state"), "running");
    EXPECT_EQ(job.at("worker_id"), "pool-a:v1");
    return std::to_string(job.at("attempt_id").to_number<uint64_t>());
  }

  std::string victim_token_;
};

TEST_F(TrustTest, AnotherWorkerCannotActOnAnAttemptItDoesNotHold) {
  Hold hold("slow");
  auto victim = StartVictim(hold);
  const uint64_t id = Submit(R"({"type":"slow","payload":{}})");
  ASSERT_TRUE(hold.WaitEntered());
  const std::string job = std::to_string(id), attempt = RunningAttempt(id);
  const std::string ref = R"("job":)" + job + R"(,"attempt":)" + attempt;

  // The hostile worker: another token, registered only for an unrelated type, with the victim's
  // name, and a hello that claims the victim's attempt.
  testing::WsClient hostile;
  ASSERT_TRUE(hostile.Connect(port_, NewWorkerToken("pool-b"))) << hostile.error();
  hostile.Send(R"({"type":"hello","worker":"v1","types":["unrelated"],"capacity":1,"running":[{)" +
               ref + "}]}");
  std::optional<json::value> welcome = hostile.Receive();
  ASSERT_TRUE(welcome.has_value()) << hostile.error();
  EXPECT_EQ(welcome->at("type"), "welcome");
  EXPECT_EQ(welcome->at("worker"), "pool-b:v1") << "its own id, not the victim's";
  hostile.Send("[" + std::string(R"({"type":"log","stream":"stdout","data":"forged log\n",)") +
               ref + "}," + R"({"type":"heartbeat","attempts":[{)" + ref + "}]}," +
               R"({"type":"progress","progress":0.9,"message":"forged",)" + ref + "}," +
               R"({"type":"spawn","request":1,"jobs":[{"type":"slow"}],)" + ref + "}," +
               R"({"type":"complete","outcome":"succeeded","result":{"by":"hostile"},)" + ref +
               "}]");
  std::optional<json::value> answer = hostile.Receive();
  ASSERT_TRUE(answer.has_value()) << hostile.error();
  ASSERT_TRUE(answer->is_array()) << json::serialize(*answer);
  ASSERT_EQ(answer->as_array().size(), 4u) << json::serialize(*answer);
  const std::string refused_because =
      "attempt " + attempt + " of job " + job + " is not held by worker pool-b:v1";
  for (const json::value& r : answer->as_array()) {
    EXPECT_EQ(r.at("type"), "refused") << json::serialize(r);
    EXPECT_EQ(r.at("error").at("code"), "permission_denied") << json::serialize(r);
    EXPECT_NE(std::string(r.at("error").at("message").as_string()).find(refused_because),
              std::string::npos)
        << json::serialize(r);
  }

  // Nothing changed: still the victim's, no progress, no child, no log line.
  json::object now = GetJob(id);
  EXPECT_EQ(now.at("state"), "running");
  EXPECT_EQ(now.at("worker_id"), "pool-a:v1");
  EXPECT_EQ(now.at("progress").to_number<double>(), 0.0);
  EXPECT_EQ(now.at("children").at("total"), 0);
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + job + "/logs").body, "");

  // The victim ends it with its own result; its only attempt is its own.
  hold.Release();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
  EXPECT_EQ(GetJob(id).at("result").at("by"), "victim");
  const json::value attempts = Json(Call(admin_, "GET", "/v1/jobs/" + job + "/attempts"));
  ASSERT_EQ(attempts.at("attempts").as_array().size(), 1u);
  EXPECT_EQ(attempts.at("attempts").at(0).at("worker"), "pool-a:v1");
  EXPECT_EQ(attempts.at("attempts").at(0).at("outcome"), "succeeded");
  // Both workers are listed, each under its own id.
  const std::string workers = Call(admin_, "GET", "/v1/workers").body;
  EXPECT_NE(workers.find(R"("id":"pool-a:v1")"), std::string::npos) << workers;
  EXPECT_NE(workers.find(R"("id":"pool-b:v1")"), std::string::npos) << workers;
}

TEST_F(TrustTest, AnotherWorkerCanNeitherReadNorWriteTheFilesOfAnAttempt) {
  Hold hold("slow");
  auto victim = StartVictim(hold);
  const std::string alice = NewToken("alice");
  HttpResult posted =
      PostMultipart(alice, "/v1/jobs",
                    Multipart({{"job", R"({"type":"slow"})"}}, {{"secret.txt", "the secret\n"}}));
  ASSERT_EQ(posted.status, 201) << posted.body;
  const uint64_t id = Json(posted).at("id").to_number<uint64_t>();
  ASSERT_TRUE(hold.WaitEntered());
  const std::string job = std::to_string(id), attempt = RunningAttempt(id);
  const std::string hostile = NewWorkerToken("pool-b");
  const std::string input = "/v1/jobs/" + job + "/inputs/secret.txt";
  const std::string output = "/v1/jobs/" + job + "/attempts/" + attempt + "/files/forged.txt";
  struct Try {
    std::string token, worker;  // the Baton-Worker header ("": none)
  };
  // Another worker token, under its own name and under the victim's; the victim's own token
  // without a name, and under a name that holds nothing.
  for (const Try& t : {Try{hostile, "v1"}, Try{hostile, ""}, Try{hostile, "other"},
                       Try{victim_token_, ""}, Try{victim_token_, "v2"}}) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Authorization", "Bearer " + t.token}};
    if (!t.worker.empty()) headers.emplace_back("Baton-Worker", t.worker);
    HttpResult read = testing::HttpCall(port_, "GET", input, "", headers);
    EXPECT_EQ(read.status, 403) << t.worker << ": " << read.body;
    EXPECT_EQ(read.body.find("the secret"), std::string::npos);
    EXPECT_NE(read.body.find("permission_denied"), std::string::npos) << read.body;
    HttpResult write = testing::HttpCall(port_, "PUT", output, "forged", headers);
    EXPECT_EQ(write.status, 403) << t.worker << ": " << write.body;
    EXPECT_NE(write.body.find("attempt " + attempt + " of job " + job), std::string::npos)
        << write.body;
  }
  // The holder read its input (its handler uploaded what it saw) and finishes.
  hold.Release();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
  EXPECT_EQ(GetJob(id).at("result").at("seen"), "the secret\n");
  const json::value result = Json(Call(alice, "GET", "/v1/jobs/" + job + "/result"));
  ASSERT_EQ(result.at("files").as_array().size(), 1u) << json::serialize(result);
  EXPECT_EQ(result.at("files").at(0).at("name"), "seen.txt") << "nothing forged was kept";
  // The owner still reads the inputs; another user does not.
  EXPECT_EQ(Call(alice, "GET", input).body, "the secret\n");
  EXPECT_EQ(Call(NewToken("bob"), "GET", input).status, 404);
}

TEST_F(TrustTest, APrivateWorkerIsNeverOfferedAnotherUsersJob) {
  const std::string alice = NewToken("alice"), bob = NewToken("bob");
  // Users make worker tokens of their own pool, and nothing else.
  for (const std::string body :
       {R"({"worker":true,"private":false})", R"({"worker":true,"user":"alice"})",
        R"({"worker":false})", R"({"worker":true,"admin":true})", R"({"user":"bob"})"}) {
    HttpResult r = Call(bob, "POST", "/v1/tokens", body);
    EXPECT_EQ(r.status, 403) << body << ": " << r.body;
  }
  HttpResult made = Call(alice, "POST", "/v1/tokens", R"({"worker":true})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(Json(made).at("user"), "alice");
  EXPECT_EQ(Json(made).at("private"), true);
  const std::string own = std::string(Json(made).at("token").as_string());
  // The CLI makes one too: `baton token create --worker`, as the user.
  CliResult cli = Cli({"token", "create", "--worker"}, alice);
  EXPECT_EQ(cli.exit_code, 0) << cli.out;
  EXPECT_EQ(cli.out.rfind("bt_", 0), 0u) << cli.out;

  auto mine = StartWorkerAs(own, "own", "shell", "4");
  const std::string listed = Call(admin_, "GET", "/v1/workers").body;
  EXPECT_NE(listed.find(R"("id":"alice:own")"), std::string::npos) << listed;
  EXPECT_NE(listed.find(R"("private":true)"), std::string::npos) << listed;
  std::vector<uint64_t> bobs;
  for (int i = 0; i < 3; ++i) {
    bobs.push_back(
        Submit(R"({"type":"shell","payload":{"command":"echo bob"},"priority":9})", bob));
  }
  const uint64_t first = Submit(R"({"type":"shell","payload":{"command":"echo alice"}})", alice);
  // Alice's job, submitted after bob's higher-priority ones, runs on her worker; bob's wait.
  ASSERT_TRUE(WaitUntil([&] { return GetJob(first).at("state") == "succeeded"; }));
  EXPECT_EQ(GetJob(first).at("worker_id"), "alice:own");
  for (uint64_t b : bobs) {
    const json::object job = GetJob(b);
    EXPECT_EQ(job.at("state"), "queued");
    EXPECT_EQ(job.at("attempts_used"), 0);
    EXPECT_EQ(job.at("waiting_for"),
              "no connected worker of type shell serves user bob (those connected are other "
              "users' own)");
  }
  // Her worker's token sees nothing of bob's.
  EXPECT_EQ(Call(own, "GET", "/v1/jobs/" + std::to_string(bobs[0])).status, 404);
  // A shared worker runs them; each had exactly one attempt, and it was the shared worker's.
  auto shared = StartWorker("shared");
  for (uint64_t b : bobs) {
    ASSERT_TRUE(WaitUntil([&] { return GetJob(b).at("state") == "succeeded"; }));
    const json::value attempts =
        Json(Call(admin_, "GET", "/v1/jobs/" + std::to_string(b) + "/attempts"));
    ASSERT_EQ(attempts.at("attempts").as_array().size(), 1u) << json::serialize(attempts);
    EXPECT_EQ(attempts.at("attempts").at(0).at("worker"), "admin:shared");
  }
}

}  // namespace
}  // namespace baton
