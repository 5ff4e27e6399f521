// The worker hub over a stepped runtime and a store that fails on demand: what a worker's hello
// becomes when the engine cannot take it. (The protocol end to end: tests/e2e/worker_test.cc.)
#include "server/worker_hub.h"

#include <gtest/gtest.h>

#include <deque>

#include "common/clock.h"
#include "protocol/frames.h"
#include "store/faulty_store.h"
#include "store/memory/memory_store.h"

namespace baton::server {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

// The worker's end: what the hub sends, and whether (and why) it closed the connection.
class TestSocket : public WebSocket {
 public:
  void Send(std::string text) override {
    if (!closed) inbox.push_back(std::move(text));
  }
  void Close(std::string why) override {
    closed = true;
    reason = std::move(why);
  }
  std::deque<std::string> inbox;
  bool closed = false;
  std::string reason;
};

class WorkerHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.threaded = false;
    hub_.HookInto(options);
    Result<std::unique_ptr<Runtime>> rt = Runtime::Start(&store_, &clock_, options);
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    runtime_ = std::move(*rt);
    hub_.Attach(runtime_.get(),
                [](engine::JobId, engine::AttemptId, const std::string&, const std::string&) {});
  }

  // Drives the runtime until nothing is left to do: passes and commits, in turn.
  void Settle() {
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(runtime_->RunPass());
      runtime_->CommitPending();
    }
  }

  // A worker "w1" of type t with one slot: connected, its hello read.
  std::shared_ptr<TestSocket> Connect() {
    auto socket = std::make_shared<TestSocket>();
    Result<WebSocketHandlers> h = hub_.Connect(Identity{.user = "ops", .worker = true}, socket);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return socket;
    handlers_.push_back(*h);
    protocol::Hello hello{.worker = "w1", .types = {"t"}, .capacity = 1};
    h->on_message(protocol::SerializeFrame(
        std::vector<protocol::WorkerMessage>{protocol::WorkerMessage(std::move(hello))}));
    return socket;
  }

  Status Submit() {
    Status answer = Internal("no answer");
    runtime_->Execute(
        [](engine::Engine& e) {
          engine::JobSpec spec;
          spec.type = "t";
          spec.owner = "alice";
          ASSERT_TRUE(e.Submit(spec).ok());
        },
        [&answer](const Status& s) { answer = s; });
    Settle();
    return answer;
  }

  // The jobs assigned to `socket` so far.
  static std::vector<engine::JobId> Assigned(const TestSocket& socket) {
    std::vector<engine::JobId> jobs;
    for (const std::string& text : socket.inbox) {
      Result<std::vector<protocol::ServerMessage>> frame = protocol::ParseServerFrame(text);
      EXPECT_TRUE(frame.ok()) << frame.status().ToString();
      if (!frame.ok()) continue;
      for (const protocol::ServerMessage& m : *frame) {
        if (const auto* a = std::get_if<protocol::Assign>(&m)) {
          for (const protocol::AssignedJob& j : a->jobs) jobs.push_back(j.key.job);
        }
      }
    }
    return jobs;
  }

  store::MemoryStore memory_;
  store::FaultyStore store_{&memory_};
  ManualClock clock_{kStart};
  WorkerHub hub_{&clock_, WorkerHubOptions{}};
  std::unique_ptr<Runtime> runtime_;
  std::vector<WebSocketHandlers> handlers_;  // the hub's connections live as long as these
};

TEST_F(WorkerHubTest, AHelloTheEngineCannotTakeClosesTheConnectionSoTheWorkerSaysItAgain) {
  // The store goes away: a commit fails, and so does the rebuild after it.
  store_.SetDown(Unavailable("the database is gone"));
  EXPECT_EQ(Submit().code(), StatusCode::kUnavailable);
  std::shared_ptr<TestSocket> first = Connect();
  Settle();
  // Refused while the store fails: before, the connection stayed open and got no work, ever.
  ASSERT_TRUE(first->closed);
  EXPECT_EQ(first->reason,
            "hello not applied, connect again: the store is failing (recover: the database is "
            "gone); the command was not applied");

  // Back: the worker's next connection is taken and runs the next job.
  store_.SetDown(Status::Ok());
  clock_.Advance(1000);  // the runtime's next rebuild is due
  Settle();
  std::shared_ptr<TestSocket> second = Connect();
  Settle();
  ASSERT_FALSE(second->closed) << second->reason;
  ASSERT_TRUE(Submit().ok());
  EXPECT_EQ(Assigned(*second).size(), 1u);
}

TEST_F(WorkerHubTest, AHelloLostWithAFailedCommitClosesTheConnection) {
  store_.FailApplies(1, Unavailable("the disk is full"));
  std::shared_ptr<TestSocket> first = Connect();
  Settle();
  ASSERT_TRUE(first->closed);
  EXPECT_EQ(first->reason, "hello not applied, connect again: the disk is full");
  std::shared_ptr<TestSocket> second = Connect();
  Settle();
  ASSERT_FALSE(second->closed) << second->reason;
  ASSERT_TRUE(Submit().ok());
  EXPECT_EQ(Assigned(*second).size(), 1u);
}

}  // namespace
}  // namespace baton::server
