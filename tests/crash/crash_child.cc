// The crash test's child: drives a runtime over a SQLite store as fast as it can and prints every
// acknowledged fact, one line each, the moment it is acknowledged:
//   S <id>   job <id> was submitted (the submit's commit returned)
//   C <id>   job <id> succeeded with result {"job":<id>} (the completion's commit returned)
// It runs until it is killed. Usage: crash_child DB_PATH SEED
#include <sys/prctl.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/random.h"
#include "server/runtime.h"
#include "store/sqlite/sqlite_store.h"

using namespace baton;

namespace {
std::mutex out_mu;

void Print(char kind, const std::vector<engine::JobId>& ids) {
  if (ids.empty()) return;
  std::string text;
  for (engine::JobId id : ids) {
    text += kind;
    text += ' ';
    text += std::to_string(id);
    text += '\n';
  }
  std::lock_guard lock(out_mu);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_child DB_PATH SEED\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  const uint64_t seed = std::stoull(argv[2]);
  auto store = store::SqliteStore::Open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "crash_child: %s\n", store.status().ToString().c_str());
    return 1;
  }
  SystemClock clock;
  server::RuntimeOptions options;
  options.engine.seed = seed;
  auto rt = server::Runtime::Start(store->get(), &clock, options);
  if (!rt.ok()) {
    std::fprintf(stderr, "crash_child: %s\n", rt.status().ToString().c_str());
    return 1;
  }
  server::Runtime& runtime = **rt;

  auto submitter = [&](int n) {
    Random rng(seed * 31 + n);
    for (uint64_t round = 0;; ++round) {
      const size_t count = 1 + rng.Below(64);
      auto ids = runtime
                     .Call([&](engine::Engine& e) {
                       std::vector<engine::JobId> out;
                       for (size_t i = 0; i < count; ++i) {
                         engine::JobSpec spec;
                         spec.type = "crash";
                         spec.owner = "tester";
                         spec.payload = R"({"round":)" + std::to_string(round) + "}";
                         if (auto r = e.Submit(std::move(spec)); r.ok()) out.push_back(r->job_id);
                       }
                       return out;
                     })
                     .get();
      if (ids.ok()) Print('S', *ids);
    }
  };
  auto worker = [&](int n) {
    const std::string name = "worker-" + std::to_string(n);
    for (;;) {
      auto assigned =
          runtime.Call([&](engine::Engine& e) {
                   return e.Dispatch({name, {"crash"}, 48});
                 })
              .get();
      if (!assigned.ok() || assigned->empty()) {
        std::this_thread::yield();
        continue;
      }
      auto done = runtime
                      .Call([&](engine::Engine& e) {
                        std::vector<engine::JobId> out;
                        for (const engine::Assignment& a : *assigned) {
                          const std::string result = R"({"job":)" + std::to_string(a.job_id) + "}";
                          if (e.Complete({a.job_id, a.attempt_id, name},
                                         {engine::Outcome::kSucceeded, result, "", true})
                                  .ok()) {
                            out.push_back(a.job_id);
                          }
                        }
                        return out;
                      })
                      .get();
      if (done.ok()) Print('C', *done);
    }
  };
  std::thread s1(submitter, 1), s2(submitter, 2), w1(worker, 1), w2(worker, 2);
  s1.join();  // never returns: the test kills the process
  return 0;
}
