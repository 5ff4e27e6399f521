// Worker protocol frames, as a worker's WebSocket delivers them to the server: each input is up
// to 16 frames (one a line) on one connection, fed to the real WorkerHub driving a real runtime
// and engine (over the memory store). Jobs are queued first, so that hellos get attempts and the
// fuzzer's heartbeats, progress, completions and spawns can name them (ids are small numbers).
// Only the transport is a stand-in: it records what the hub sends.
//
// Both directions are held to the typed protocol (src/protocol/frames.h): every frame the hub
// sends parses as server messages, and every frame that parses (either way) serializes to text
// that parses back to the same messages.
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "fuzz/fuzz.h"
#include "protocol/frames.h"
#include "server/runtime.h"
#include "server/worker_hub.h"
#include "store/memory/memory_store.h"

namespace {

using namespace baton;

// parse(serialize(m)) == m for every message a frame parsed into.
template <typename Message, typename Parse>
void CheckRoundTrip(const std::vector<Message>& messages, Parse parse) {
  Result<std::vector<Message>> again = parse(protocol::SerializeFrame(messages));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == messages);
}

class RecordingSocket final : public server::WebSocket {
 public:
  void Send(std::string text) override {
    // What the server sends a worker is always a well-formed frame of the protocol.
    Result<std::vector<protocol::ServerMessage>> messages = protocol::ParseServerFrame(text);
    FUZZ_CHECK(messages.ok());
    CheckRoundTrip(*messages, [](const std::string& t) { return protocol::ParseServerFrame(t); });
    std::lock_guard lock(mu_);
    ++sent_;
  }
  void Close(std::string) override {}

 private:
  std::mutex mu_;
  size_t sent_ = 0;
};

struct World {
  SystemClock clock;
  store::MemoryStore store;
  server::WorkerHub hub{&clock, server::WorkerHubOptions{}};
  std::unique_ptr<server::Runtime> runtime;

  World() {
    server::RuntimeOptions options;
    options.on_pass = [this](engine::Engine& e, auto* after) { hub.OnPass(e, after); };
    options.on_notices = [this](const std::vector<engine::Notice>& n) { hub.Notify(n); };
    options.on_engine = [this](engine::Engine& e) { hub.Reattach(e); };
    runtime = server::Runtime::Start(&store, &clock, std::move(options)).value();
    hub.Attach(runtime.get(),
               [](engine::JobId, engine::AttemptId, const std::string&, const std::string&) {});
    hub.SetSpecCheck([](std::vector<engine::JobSpec>&) { return Status::Ok(); });
    hub.SetResourceCheck([](const engine::Resources&) { return Status::Ok(); });
  }

  void Refill() {
    // A few queued jobs of the types a fuzzed hello is likely to name.
    std::vector<engine::JobSpec> specs;
    for (const char* type : {"a", "b", "shell"}) {
      engine::JobSpec s;
      s.type = type;
      s.owner = "admin";
      specs.push_back(s);
    }
    (void)runtime->Call([specs](engine::Engine& e) mutable { return e.SubmitBatch(specs); }).get();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();  // one server for the whole run (never torn down)
  static size_t runs = 0;
  if (runs++ % 64 == 0) world->Refill();
  auto socket = std::make_shared<RecordingSocket>();
  server::Identity who{"admin", true, true};
  Result<server::WebSocketHandlers> h = world->hub.Connect(who, socket);
  FUZZ_CHECK(h.ok());
  std::string_view text = AsText(data, size);
  for (int frame = 0; frame < 16 && !text.empty(); ++frame) {
    const size_t nl = text.find('\n');
    const std::string line(text.substr(0, nl));
    Result<std::vector<protocol::WorkerMessage>> messages = protocol::ParseWorkerFrame(line);
    if (messages.ok()) {
      CheckRoundTrip(*messages, [](const std::string& t) { return protocol::ParseWorkerFrame(t); });
    }
    h->on_message(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  h->on_close();
  // Whatever the frames did, the server still answers: a command goes through and commits.
  FUZZ_CHECK(world->runtime->Call([](engine::Engine&) { return Status::Ok(); }).get().ok());
  return 0;
}
