// Kills a process that is busy submitting and completing jobs through SQLite with SIGKILL at a
// random moment, several times over one database, and checks after each kill that every
// acknowledged job is there with its acknowledged state, each completed job holds exactly one
// succeeded attempt and its own result, the event log has no gap and the file is intact.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>

#include "common/random.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"
#include "util/child_process.h"

namespace baton {
namespace {

using namespace std::chrono_literals;

TEST(CrashTest, EveryAcknowledgedJobSurvivesSigkill) {
  // BATON_SEED=N replays the kill timing of an earlier run.
  const char* env_seed = std::getenv("BATON_SEED");
  const uint64_t seed = env_seed ? std::stoull(env_seed) : std::random_device{}();
  std::printf("crash test seed: %llu\n", static_cast<unsigned long long>(seed));
  Random rng(seed);
  const std::string dir = store::testing::TempDir("crash");
  const std::string db = dir + "/baton.db";
  std::set<engine::JobId> submitted, completed;
  constexpr int kRounds = 5;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed));
    testing::ChildProcess child;
    ASSERT_TRUE(child.Start({CRASH_CHILD_PATH, db, std::to_string(seed + round)}));
    auto record = [&](const std::string& line) {
      ASSERT_GE(line.size(), 3u) << line;
      const engine::JobId id = std::stoull(line.substr(2));
      if (line[0] == 'S') submitted.insert(id);
      if (line[0] == 'C') completed.insert(id);
    };
    // Let it get going (its first completion), then kill it at a random moment.
    const size_t completed_before = completed.size();
    const auto started = std::chrono::steady_clock::now();
    while (completed.size() == completed_before) {
      auto line = child.ReadLine(60s);
      ASSERT_TRUE(line.has_value()) << "the child printed nothing for 60 s";
      record(*line);
      ASSERT_LT(std::chrono::steady_clock::now() - started, 120s);
    }
    const auto kill_at =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(rng.Below(400));
    while (std::chrono::steady_clock::now() < kill_at) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          kill_at - std::chrono::steady_clock::now());
      if (auto line = child.ReadLine(std::max(left, 1ms))) record(*line);
    }
    child.Kill(SIGKILL);
    for (const std::string& line : child.DrainLines()) record(line);
    const int status = child.Wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended on its own (status " << status << ")";

    auto store = store::SqliteStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->IntegrityCheck().ok());
    for (engine::JobId id : submitted) {
      Result<engine::JobRecord> job = (*store)->GetJob(id);
      ASSERT_TRUE(job.ok()) << "acknowledged job " << id << " is missing";
      EXPECT_EQ(job->spec.type, "crash");
    }
    for (engine::JobId id : completed) {
      Result<engine::JobRecord> job = (*store)->GetJob(id);
      ASSERT_TRUE(job.ok()) << "completed job " << id << " is missing";
      ASSERT_EQ(job->status.state, engine::JobState::kSucceeded) << "job " << id;
      EXPECT_EQ(job->status.result, R"({"job":)" + std::to_string(id) + "}");
      auto attempts = (*store)->ListAttempts(id);
      ASSERT_TRUE(attempts.ok());
      int succeeded = 0;
      for (const auto& a : *attempts) succeeded += a.outcome == engine::Outcome::kSucceeded;
      EXPECT_EQ(succeeded, 1) << "job " << id;
    }
    // The event log from 0 is gap-free.
    engine::EventSeq last = 0;
    for (;;) {
      auto page = (*store)->ListEvents({.after = last, .limit = 10000});
      ASSERT_TRUE(page.ok());
      if (page->empty()) break;
      for (const engine::Event& e : *page) {
        ASSERT_EQ(e.seq, last + 1) << "gap in the event log";
        last = e.seq;
      }
    }
    std::printf("round %d: %zu submitted, %zu completed acknowledged so far, %llu events\n", round,
                submitted.size(), completed.size(), static_cast<unsigned long long>(last));
  }
  EXPECT_GT(completed.size(), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace baton
