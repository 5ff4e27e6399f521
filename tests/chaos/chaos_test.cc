// Chaos over SQLite: a real server, shell workers (processes) and an in-process libbaton worker,
// and clients submitting batches through the public API, while, at moments drawn from a printed
// seed, the server is SIGKILLed and restarted, workers are SIGKILLed and replaced, a worker is
// SIGSTOPped past its lease and continued, and client connections are cut mid-request. Then every
// promise is checked against what the clients were told (chaos_fixture.h), and the database
// passes PRAGMA integrity_check after a clean stop.
//
// BATON_CHAOS_ROUNDS=N sets the rounds (default 3: the short form `make test` runs; `make chaos
// ROUNDS=N` runs more). BATON_SEED=S replays a schedule of faults (real processes still race).
#include <sqlite3.h>

#include "chaos/chaos_fixture.h"

namespace baton {
namespace {

using testing::ChildProcess;
using testing::EnvOr;
namespace json = boost::json;

class ChaosTest : public testing::ChaosFixture {};

TEST_F(ChaosTest, NothingAcknowledgedIsLostAndNothingRunsTwiceAsSuccess) {
  const uint64_t seed = EnvOr("BATON_SEED", std::random_device{}());
  const uint64_t rounds = EnvOr("BATON_CHAOS_ROUNDS", 3);
  std::printf("chaos: seed %llu, %llu rounds (replay: BATON_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(rounds),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  const auto t_start = std::chrono::steady_clock::now();
  // Later restarts keep the port, so workers and clients find the server again.
  listen_ = "127.0.0.1:" + std::to_string(port_);

  auto fn = StartFunctionWorker();
  std::vector<std::unique_ptr<ChildProcess>> killable;
  int next_worker = 0;
  for (int i = 0; i < 2; ++i)
    killable.push_back(StartShellWorker("sh" + std::to_string(++next_worker)));
  // The sleeper is stopped past its lease, never killed: its log must show each late outcome
  // refused.
  auto sleeper = StartShellWorker("sleeper", "chaos-sh,chaos-slow");

  Ledger ledger;
  Submitters submitters(this, &ledger, rng);

  std::vector<Stopped> stopped_attempts;
  int server_kills = 0, worker_kills = 0, stops = 0, cuts = 0;
  auto pause = [&] { std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 600)); };
  for (uint64_t round = 0; round < rounds; ++round) {
    std::vector<int> actions = {0, 1, 2, 3};
    std::shuffle(actions.begin(), actions.end(), rng);
    for (int action : actions) {
      pause();
      if (action == 0) {  // the server: SIGKILL, and a new one on the same data and port
        KillAndRestartServer();
        ++server_kills;
      } else if (action == 1) {  // a shell worker: SIGKILL, and a new one
        ReplaceAWorker(killable, rng, &next_worker);
        ++worker_kills;
      } else if (action == 2) {  // the sleeper: stopped past its lease, then continued
        stopped_attempts.push_back(StopTheSleeper(*sleeper, ledger, stops));
        ASSERT_NE(stopped_attempts.back().job, 0u);
        ++stops;
      } else {  // clients: requests cut before their answer
        CutSubmits(port_, ledger, rng, &cuts);
      }
    }
  }
  submitters.Stop();

  const Tally tally = CheckPromises(ledger, stopped_attempts, [&] {
    sqlite3* db = nullptr;
    uint64_t last = 0;
    if (sqlite3_open_v2((dir_ + "/data/baton.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT MAX(seq) FROM events", -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        last = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return last;
  });
  ASSERT_FALSE(HasFailure());

  // A clean stop, and a sound file.
  fn.reset();
  killable.clear();
  sleeper.reset();
  StopServer();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/data/baton.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf(
      "chaos: {\"seed\":%llu,\"rounds\":%llu,\"jobs\":%zu,\"succeeded\":%d,\"failed\":%d,"
      "\"server_kills\":%d,\"worker_kills\":%d,\"worker_stops\":%d,\"late_outcomes_refused\":%d,"
      "\"cut_requests\":%d,\"events\":%llu,\"seconds\":%.1f}\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(rounds),
      ledger.acked.size(), tally.succeeded, tally.failed, server_kills, worker_kills, stops,
      tally.late_refused, cuts, static_cast<unsigned long long>(tally.events), seconds);
}

}  // namespace
}  // namespace baton
