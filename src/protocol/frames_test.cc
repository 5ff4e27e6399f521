#include "protocol/frames.h"

#include <gtest/gtest.h>

namespace baton::protocol {
namespace {

namespace json = boost::json;

std::vector<WorkerMessage> EveryWorkerMessage() {
  Hello full{"w-1.a@b",
             {"shell", "render"},
             8,
             json::object{{"cpu", 4}, {"gpu", 1}},
             json::object{{"zone", "eu"}},
             {{7, 12}, {8, 13}},
             {{"deploy", "render", true, -3, true}, {"deploy", "shell", false, 0, false}}};
  Hello bare{"w", {"t"}, 0, std::nullopt, std::nullopt, {}, {}};
  Complete error{{7, 12}, Complete::kError, R"({"partial":[1,2]})", "exit code 3", false};
  Complete plain_error{{7, 12}, Complete::kError, "", "boom", true};
  return {full,
          bare,
          Heartbeat{{{7, 12}, {9, 20}}},
          Heartbeat{{}},
          Progress{{7, 12}, 0.25, "a quarter \"done\""},
          Progress{{7, 12}, 1, ""},
          Log{{7, 12}, "stderr", "line one\nline \xc3\xa9\n"},
          Complete{{7, 12}, Complete::kSucceeded, R"({"exit_code":0})", "", true},
          Complete{{7, 12}, Complete::kSucceeded, "", "", true},
          error,
          plain_error,
          Complete{{7, 12}, Complete::kDeclined, "", "", true},
          SnapshotFailed{{7, 12}, 3, "no working directory"},
          Spawn{{7, 12}, 4, json::array{json::object{{"type", "t"}}}},
          Capacity{10000},
          Drain{}};
}

std::vector<ServerMessage> EveryServerMessage() {
  AssignedJob with_files{{7, 12}, 1,     "shell",       R"({"command":"make"})",
                         3600000, 30000, 1795000030000, {"in/a.txt", "b \"c\".bin"}};
  AssignedJob plain{{8, 13}, 2, "t", "null", 0, 10000, 5, {}};
  return {Welcome{"pool:w1", 1795000000000},
          Assign{{with_files, plain}},
          Stop{{7, 12}, "cancelled"},
          SnapshotRequest{{7, 12}, 3},
          Ack{{7, 12}},
          Spawned{{7, 12}, 4, {20, 21, 22}},
          Spawned{{7, 12}, 5, {}},
          Refused{{7, 12}, "spawn", 4, StatusCode::kInvalidArgument, "spawn.jobs[0].type: missing"},
          Refused{{7, 12}, "heartbeat", std::nullopt, StatusCode::kStaleAttempt, "moved on"},
          Error{StatusCode::kInvalidArgument, "hello.capacity: at most 10000, got 20000"}};
}

TEST(FramesTest, EveryWorkerMessageRoundTrips) {
  for (const WorkerMessage& m : EveryWorkerMessage()) {
    const std::string text = Serialize(m);
    Result<std::vector<WorkerMessage>> back = ParseWorkerFrame(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
    ASSERT_EQ(back->size(), 1u) << text;
    EXPECT_TRUE((*back)[0] == m) << text;
    EXPECT_EQ(json::parse(text).at("type").as_string(), TypeName(m)) << text;
  }
  // A frame of them all, in order.
  const std::vector<WorkerMessage> all = EveryWorkerMessage();
  Result<std::vector<WorkerMessage>> back = ParseWorkerFrame(SerializeFrame(all));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == all);
}

TEST(FramesTest, EveryServerMessageRoundTrips) {
  for (const ServerMessage& m : EveryServerMessage()) {
    const std::string text = Serialize(m);
    Result<std::vector<ServerMessage>> back = ParseServerFrame(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
    ASSERT_EQ(back->size(), 1u) << text;
    EXPECT_TRUE((*back)[0] == m) << text;
    EXPECT_EQ(json::parse(text).at("type").as_string(), TypeName(m)) << text;
  }
  const std::vector<ServerMessage> all = EveryServerMessage();
  const std::string frame = SerializeFrame(all);
  EXPECT_EQ(frame.front(), '[');
  Result<std::vector<ServerMessage>> back = ParseServerFrame(frame);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == all);
  EXPECT_EQ(SerializeFrame(std::vector<ServerMessage>{Ack{{1, 2}}}),
            R"([{"type":"ack","job":1,"attempt":2}])");  // one message is still a frame
}

TEST(FramesTest, TheDocumentsSessionParses) {
  // docs/protocol.md's session, as a worker writes it and as the server does.
  Result<std::vector<WorkerMessage>> hello =
      ParseWorkerFrame(R"({"type":"hello","worker":"w1","types":["shell"],"capacity":2})");
  ASSERT_TRUE(hello.ok()) << hello.status().ToString();
  EXPECT_TRUE((*hello)[0] == WorkerMessage(Hello{"w1", {"shell"}, 2, {}, {}, {}, {}}));
  Result<std::vector<ServerMessage>> assign = ParseServerFrame(
      R"({"type":"assign","jobs":[{"job":7,"attempt":12,"number":1,"type":"shell","payload":{"command":"make"},"timeout_ms":3600000,"heartbeat_timeout_ms":30000,"lease_expires_ms":1795000030000}]})");
  ASSERT_TRUE(assign.ok()) << assign.status().ToString();
  const AssignedJob& job = std::get<Assign>((*assign)[0]).jobs.at(0);
  EXPECT_EQ(job.key, (AttemptKey{7, 12}));
  EXPECT_EQ(job.payload, R"({"command":"make"})");
  EXPECT_EQ(job.timeout_ms, 3600000);
}

TEST(FramesTest, ABrokenWorkerFrameIsRefusedWholeWithAnErrorNamingTheField) {
  struct Case {
    const char* frame;
    const char* error;
  };
  const Case cases[] = {
      {"not json", "frame: not JSON: syntax error"},
      {"42", "frame: must be a message object or an array of them"},
      {R"([{"type":"drain"},7])", R"(message [1]: must be an object with a string "type")"},
      {R"({"type":1})", R"(message [0]: must be an object with a string "type")"},
      {R"([{"type":"drain"},{"type":"dance"}])",
       R"(message [1]: unknown type "dance" (known: hello, heartbeat, progress, log, complete, snapshot, spawn, capacity, drain))"},
      {R"({"type":"hello","types":["t"],"capacity":1})",
       "hello.worker: must be 1 to 128 letters, digits and . _ - : @ (the worker's id)"},
      {R"({"type":"hello","worker":"a/b","types":["t"],"capacity":1})",
       "hello.worker: must be 1 to 128 letters, digits and . _ - : @ (the worker's id)"},
      {R"({"type":"hello","worker":"w","types":[],"capacity":1})",
       "hello.types: must be an array of 1 to 64 job type names"},
      {R"({"type":"hello","worker":"w","types":[""],"capacity":1})",
       "hello.types: each must be a job type name of 1 to 128 bytes"},
      {R"({"type":"hello","worker":"w","types":["t"]})", "hello.capacity: missing"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":-1})",
       "hello.capacity: must be a non-negative integer"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":20000})",
       "hello.capacity: at most 10000, got 20000"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"colour":"red"})",
       "hello.colour: unknown field"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"resources":[]})",
       "hello.resources: must be an object"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"running":{}})",
       "hello.running: must be an array of {job, attempt}"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"running":[{"job":1}]})",
       "hello.running[].attempt: missing"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"plugins":[{"activity":"a","type":"u"}]})",
       "hello.plugins[0].type: must be one of this worker's types"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"plugins":[{"activity":"","type":"t"}]})",
       "hello.plugins[0].activity: must be the name of an activity"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"plugins":[{"activity":"a","type":"t","order":2000000}]})",
       "hello.plugins[0].order: must be an integer (lower runs first)"},
      {R"({"type":"hello","worker":"w","types":["t"],"capacity":1,"plugins":[{"activity":"a","type":"t","mandatory":1}]})",
       "hello.plugins[0].mandatory: must be true or false"},
      {R"({"type":"heartbeat"})", "heartbeat.attempts: must be an array of {job, attempt}"},
      {R"({"type":"heartbeat","attempts":[{"job":1,"attempt":2,"x":3}]})",
       "heartbeat.attempts[].x: unknown field"},
      {R"({"type":"progress","job":1,"attempt":2})",
       "progress.progress: must be a number from 0 to 1"},
      {R"({"type":"progress","job":1,"attempt":2,"progress":0.5,"message":5})",
       "progress.message: must be a string"},
      {R"({"type":"log","job":1,"attempt":2,"stream":"stdin","data":"x"})",
       R"(log.stream: must be "stdout" or "stderr")"},
      {R"({"type":"log","job":1,"attempt":2,"stream":"stdout"})", "log.data: must be a string"},
      {R"({"type":"complete","job":1,"attempt":2})",
       "complete.outcome: must be succeeded, error or declined"},
      {R"({"type":"complete","job":1,"attempt":2,"outcome":"error"})",
       "complete.error: must be a string saying what went wrong"},
      {R"({"type":"complete","job":1,"attempt":2,"outcome":"error","error":"x","retryable":"no"})",
       "complete.retryable: must be true or false"},
      {R"({"type":"complete","job":"1","attempt":2,"outcome":"declined"})",
       "complete.job: must be a non-negative integer"},
      {R"({"type":"snapshot","job":1,"attempt":2,"request":3})",
       "snapshot.error: must be a string saying why there is none"},
      {R"({"type":"spawn","job":1,"attempt":2,"jobs":[]})", "spawn.request: missing"},
      {R"({"type":"spawn","job":1,"attempt":2,"request":1,"jobs":{}})",
       "spawn.jobs: must be an array of jobs (as in POST /v1/jobs)"},
      {R"({"type":"capacity","capacity":10001})", "capacity.capacity: at most 10000, got 10001"},
      {R"({"type":"drain","now":true})", "drain.now: unknown field"},
  };
  for (const Case& c : cases) {
    Result<std::vector<WorkerMessage>> r = ParseWorkerFrame(c.frame);
    ASSERT_FALSE(r.ok()) << c.frame;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.frame;
    EXPECT_EQ(r.status().message(), c.error) << c.frame;
  }
}

TEST(FramesTest, TheServersLimitsAreTheParsersLimits) {
  ParseLimits tight;
  tight.types_max = 1;
  tight.capacity_max = 2;
  tight.resources_max = 1;
  tight.plugins_max = 1;
  EXPECT_EQ(
      ParseWorkerFrame(R"({"type":"hello","worker":"w","types":["a","b"],"capacity":1})", tight)
          .status()
          .message(),
      "hello.types: must be an array of 1 to 1 job type names");
  EXPECT_EQ(ParseWorkerFrame(R"({"type":"capacity","capacity":3})", tight).status().message(),
            "capacity.capacity: at most 2, got 3");
  EXPECT_EQ(
      ParseWorkerFrame(
          R"({"type":"hello","worker":"w","types":["a"],"capacity":1,"labels":{"x":"1","y":"2"}})",
          tight)
          .status()
          .message(),
      "hello.labels: at most 1");
  EXPECT_EQ(
      ParseWorkerFrame(
          R"({"type":"hello","worker":"w","types":["a"],"capacity":1,"plugins":[{"activity":"p","type":"a"},{"activity":"q","type":"a"}]})",
          tight)
          .status()
          .message(),
      "hello.plugins: must be an array of at most 1 plugins");
  EXPECT_TRUE(ParseWorkerFrame(R"({"type":"capacity","capacity":2})", tight).ok());
}

TEST(FramesTest, AWorkerSkipsMessagesItDoesNotKnowButNotBrokenOnes) {
  Result<std::vector<ServerMessage>> r =
      ParseServerFrame(R"([{"type":"rebalance","to":"w2"},{"type":"ack","job":1,"attempt":2}])");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE((*r)[0] == ServerMessage(Ack{{1, 2}}));
  for (const char* broken :
       {R"({"type":"ack","job":1})", R"({"type":"assign"})",
        R"({"type":"assign","jobs":[{"job":1}]})", R"({"type":"stop","job":1,"attempt":2})",
        R"({"type":"refused","job":1,"attempt":2})", R"({"type":"error","error":{"code":"x"}})",
        R"({"type":"spawned","job":1,"attempt":2,"request":1,"jobs":["a"]})",
        R"({"type":"welcome","worker":"w"})", "[1]", "nope"}) {
    EXPECT_FALSE(ParseServerFrame(broken).ok()) << broken;
  }
}

TEST(FramesTest, WorkerNames) {
  EXPECT_TRUE(ValidWorkerName("w1"));
  EXPECT_TRUE(ValidWorkerName("host-1.example_a:2@b"));
  EXPECT_TRUE(ValidWorkerName(std::string(128, 'a')));
  EXPECT_FALSE(ValidWorkerName(""));
  EXPECT_FALSE(ValidWorkerName(std::string(129, 'a')));
  EXPECT_FALSE(ValidWorkerName("a b"));
  EXPECT_FALSE(ValidWorkerName("a/b"));
}

}  // namespace
}  // namespace baton::protocol
