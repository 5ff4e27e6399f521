// Chaos over PostgreSQL, with two servers on one database (a leader and a standby; clients and
// workers are given both URLs), and every promise of chaos_fixture.h checked at the end.
//
// TwoServers: a PostgreSQL of its own (scripts/pg-temp.sh); at moments drawn from a printed seed,
// the leader is SIGKILLed (and started again, a standby now), the leader is SIGSTOPped past its
// lease (when it wakes it must commit nothing and stand by), the database restarts
// (`pg_ctl restart -m immediate`), every database connection is cut (`pg_terminate_backend`),
// workers are SIGKILLed, the sleeper worker is stopped past its lease, and submits are cut.
//
// Patroni: etcd and two PostgreSQL nodes under Patroni in synchronous mode (scripts/ha-temp.sh),
// and the servers on the multi-host URL; the primary's postmaster is SIGKILLed, Patroni promotes
// the replica, the servers find it, and every acknowledged job still completes once.
//
// And a database that goes away and comes back, step by step.
//
// BATON_CHAOS_ROUNDS=N sets the rounds (default 2 and 1: the short forms `make test` runs; `make
// chaos ROUNDS=N` and `make test-ha ROUNDS=N` run more). BATON_SEED=S replays a schedule.
#include "chaos/chaos_fixture.h"
#include "store/postgres/pg_connection.h"

namespace baton {
namespace {

using testing::ChildProcess;
using testing::EnvOr;
namespace json = boost::json;

// Runs a script of the project's: true if it exited 0. `out` gets its stdout.
bool RunScript(const std::string& command, std::string* out = nullptr) {
  const std::string full = std::string(BATON_SOURCE_DIR) + "/scripts/" + command;
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return false;
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int status = ::pclose(p);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class PgChaosTest : public testing::ChaosFixture {
 protected:
  void SetUp() override { dir_ = store::testing::TempDir("pg-chaos"); }
  void TearDown() override {
    // The servers before their database, then the database by its pids (the scripts' stop).
    b_.process.reset();
    server_.reset();
    if (!database_stop_.empty()) {
      EXPECT_TRUE(RunScript(database_stop_));
    }
    std::filesystem::remove_all(dir_);
  }

  // Server a (the fixture's server_, which leads first) and server b, both on `store`, each kept
  // on its port across restarts so that the URL list stays true.
  void StartServers(const std::string& store) {
    store_ = store;
    server_args_ = {"--store", store, "--lease-ms", std::to_string(kLeaseMs)};
    StartServer();
    listen_ = "127.0.0.1:" + std::to_string(port_);
    a_port_ = port_;
    b_ = StartOther("b");
    ASSERT_NE(b_.port, 0);
    servers_ = url() + "," + b_.url();
  }

  // The port of the server that leads now (waits for one); port_ and admin_ follow it.
  uint16_t Leader() {
    uint16_t leader = 0;
    EXPECT_TRUE(WaitUntil([&] {
      for (uint16_t p : {a_port_, b_.port}) {
        if (Leads(p)) leader = p;
      }
      return leader != 0;
    })) << "no server leads";
    return leader;
  }

  // SIGKILLs the leader, waits for the other to lead, and starts the dead one again (a standby).
  void KillTheLeader() {
    const uint16_t leader = Leader();
    const uint16_t other = leader == a_port_ ? b_.port : a_port_;
    if (leader == a_port_) {
      server_->Kill(SIGKILL);
      server_->Wait();
    } else {
      b_.process->Kill(SIGKILL);
      b_.process->Wait();
    }
    ASSERT_TRUE(WaitUntil([&] { return Leads(other); })) << "the standby never took over";
    if (leader == a_port_) {
      server_ = StartOther("data", "127.0.0.1:" + std::to_string(a_port_)).process;
    } else {
      b_ = StartOther("b", "127.0.0.1:" + std::to_string(b_.port));
    }
  }

  // SIGSTOPs the leader past its lease: the other leads with a newer epoch, and the stopped one,
  // continued, commits nothing (its commits fail on the fence) and stands by.
  void FreezeTheLeader() {
    const uint16_t leader = Leader();
    const uint16_t other = leader == a_port_ ? b_.port : a_port_;
    const int64_t epoch = Health(leader).at("epoch").to_number<int64_t>();
    ChildProcess& p = leader == a_port_ ? *server_ : *b_.process;
    p.Kill(SIGSTOP);
    const bool took_over = WaitUntil([&] { return Leads(other); });
    p.Kill(SIGCONT);
    ASSERT_TRUE(took_over) << "the standby never took over from a stopped leader";
    ASSERT_TRUE(WaitUntil([&] {
      json::object h = Health(leader);
      return h.contains("role") && h.at("role") == "standby";
    })) << "the woken leader did not stand by: "
        << json::serialize(Health(leader));
    EXPECT_GT(Health(other).at("epoch").to_number<int64_t>(), epoch);
  }

  // Cuts every connection to the database but this one's (`pg_terminate_backend`).
  void CutDatabaseConnections() {
    Result<std::unique_ptr<store::PgConnection>> pg = store::PgConnection::Open(store_, "test");
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    Result<store::PgRows> cut = (*pg)->Query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
        {}, "cut connections");
    ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  }

  uint64_t LastEventSeq() {
    Result<std::unique_ptr<store::PgConnection>> pg = store::PgConnection::Open(store_, "test");
    if (!pg.ok()) return 0;
    Result<store::PgRows> last =
        (*pg)->Query("SELECT COALESCE(MAX(last_seq), 0) FROM event_batches", {}, "last event");
    return last.ok() ? static_cast<uint64_t>(last->At(0).Int(0)) : 0;
  }

  std::string store_;
  std::string database_stop_;  // the script command that stops the database
  uint16_t a_port_ = 0;
  Other b_;
};

TEST_F(PgChaosTest, TwoServersLoseNothingWhenTheLeaderOrTheDatabaseFails) {
  const uint64_t seed = EnvOr("BATON_SEED", std::random_device{}());
  const uint64_t rounds = EnvOr("BATON_CHAOS_ROUNDS", 2);
  std::printf("pg chaos: seed %llu, %llu rounds (replay: BATON_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(rounds),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  const auto t_start = std::chrono::steady_clock::now();
  const std::string pg = dir_ + "/pg";
  std::string url;
  ASSERT_TRUE(RunScript("pg-temp.sh start " + pg, &url)) << url;
  database_stop_ = "pg-temp.sh stop " + pg;
  ASSERT_NO_FATAL_FAILURE(StartServers(url.substr(0, url.find('\n'))));

  auto fn = StartFunctionWorker();
  std::vector<std::unique_ptr<ChildProcess>> killable;
  int next_worker = 0;
  for (int i = 0; i < 2; ++i)
    killable.push_back(StartShellWorker("sh" + std::to_string(++next_worker)));
  auto sleeper = StartShellWorker("sleeper", "chaos-sh,chaos-slow");

  Ledger ledger;
  Submitters submitters(this, &ledger, rng);
  std::vector<Stopped> stopped_attempts;
  int leader_kills = 0, leader_stops = 0, db_restarts = 0, db_cuts = 0, worker_kills = 0, stops = 0,
      cuts = 0;
  auto pause = [&] { std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 600)); };
  for (uint64_t round = 0; round < rounds; ++round) {
    std::vector<int> actions = {0, 1, 2, 3, 4, 5, 6};
    std::shuffle(actions.begin(), actions.end(), rng);
    for (int action : actions) {
      pause();
      if (action == 0) {
        ASSERT_NO_FATAL_FAILURE(KillTheLeader());
        ++leader_kills;
      } else if (action == 1) {
        ASSERT_NO_FATAL_FAILURE(FreezeTheLeader());
        ++leader_stops;
      } else if (action == 2) {
        ASSERT_TRUE(RunScript("pg-temp.sh restart " + pg));
        ++db_restarts;
      } else if (action == 3) {
        ASSERT_NO_FATAL_FAILURE(CutDatabaseConnections());
        ++db_cuts;
      } else if (action == 4) {
        ReplaceAWorker(killable, rng, &next_worker);
        ++worker_kills;
      } else if (action == 5) {
        stopped_attempts.push_back(StopTheSleeper(*sleeper, ledger, stops));
        ASSERT_NE(stopped_attempts.back().job, 0u);
        ++stops;
      } else {  // submits cut before their answer, to the leader
        CutSubmits(Leader(), ledger, rng, &cuts);
      }
    }
  }
  submitters.Stop();
  port_ = Leader();
  const Tally tally = CheckPromises(ledger, stopped_attempts, [&] { return LastEventSeq(); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf(
      "pg chaos: {\"seed\":%llu,\"rounds\":%llu,\"jobs\":%zu,\"succeeded\":%d,\"failed\":%d,"
      "\"leader_kills\":%d,\"leader_stops\":%d,\"database_restarts\":%d,"
      "\"connection_cuts\":%d,\"worker_kills\":%d,\"worker_stops\":%d,"
      "\"late_outcomes_refused\":%d,\"cut_requests\":%d,\"events\":%llu,\"seconds\":%.1f}\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(rounds),
      ledger.acked.size(), tally.succeeded, tally.failed, leader_kills, leader_stops, db_restarts,
      db_cuts, worker_kills, stops, tally.late_refused, cuts,
      static_cast<unsigned long long>(tally.events), seconds);
}

TEST_F(PgChaosTest, PatroniFailsOverAndEveryAcknowledgedJobCompletesOnce) {
  const uint64_t rounds = EnvOr("BATON_CHAOS_ROUNDS", 1);
  std::mt19937_64 rng(EnvOr("BATON_SEED", std::random_device{}()));
  const auto t_start = std::chrono::steady_clock::now();
  const std::string ha = dir_ + "/ha";
  std::string url;
  database_stop_ = "ha-temp.sh stop " + ha;
  ASSERT_TRUE(RunScript("ha-temp.sh start " + ha, &url)) << url;
  ASSERT_NO_FATAL_FAILURE(StartServers(url.substr(0, url.find('\n'))));

  auto fn = StartFunctionWorker();
  auto shell = StartShellWorker("sh1");
  Ledger ledger;
  Submitters submitters(this, &ledger, rng);
  std::vector<double> failovers;  // s: SIGKILL until a primary again
  for (uint64_t round = 0; round < rounds; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500 + rng() % 1000));
    std::string primary;
    ASSERT_TRUE(RunScript("ha-temp.sh primary " + ha, &primary)) << primary;
    const std::string node = primary.substr(0, primary.find(' '));
    const pid_t postmaster = std::stoi(primary.substr(primary.find(' ') + 1));
    const auto killed = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(postmaster, SIGKILL), 0) << primary;
    ASSERT_TRUE(WaitUntil([&] {
      std::string now;
      return RunScript("ha-temp.sh primary " + ha + " 2>/dev/null", &now) &&
             now.substr(0, now.find(' ')) != node;
    })) << "Patroni did not promote the replica";
    failovers.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
    // Baton commits again on the new primary before the next round.
    size_t before = 0;
    {
      std::lock_guard lock(ledger.mu);
      before = ledger.acked.size();
    }
    ASSERT_TRUE(WaitUntil([&] {
      std::lock_guard lock(ledger.mu);
      return ledger.acked.size() > before;
    })) << "no submit was acknowledged after the failover";
    // The old primary is back as the synchronous standby: the next kill loses nothing either.
    ASSERT_TRUE(RunScript("ha-temp.sh wait " + ha));
  }
  submitters.Stop();
  port_ = Leader();
  const Tally tally = CheckPromises(ledger, {}, [&] { return LastEventSeq(); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::string each;
  for (double f : failovers) each += (each.empty() ? "" : ",") + std::to_string(f);
  std::printf(
      "ha: {\"rounds\":%llu,\"jobs\":%zu,\"succeeded\":%d,\"failed\":%d,\"events\":%llu,"
      "\"failover_seconds\":[%s],\"seconds\":%.1f}\n",
      static_cast<unsigned long long>(rounds), ledger.acked.size(), tally.succeeded, tally.failed,
      static_cast<unsigned long long>(tally.events), each.c_str(), seconds);
}

// The database goes away mid-run and comes back: meanwhile a submit answers 503 naming the
// database and is not applied, the leader steps down rather than serve what it can no longer
// check, and afterwards the server leads again by itself with nothing acknowledged lost.
TEST_F(PgChaosTest, TheDatabaseGoingAwayAnswers503NamingItAndTheServerComesBack) {
  const std::string pg = dir_ + "/pg";
  std::string url;
  ASSERT_TRUE(RunScript("pg-temp.sh start " + pg, &url)) << url;
  database_stop_ = "pg-temp.sh stop " + pg;
  store_ = url.substr(0, url.find('\n'));
  server_args_ = {"--store", store_, "--lease-ms", std::to_string(kLeaseMs)};
  StartServer();
  auto worker = StartWorker("w1");
  const uint64_t before = Submit(R"({"type":"shell","payload":{"command":"echo before"}})");
  ASSERT_TRUE(WaitUntil([&] { return GetJob(before).at("state") == "succeeded"; }));

  ASSERT_TRUE(RunScript("pg-temp.sh down " + pg));
  const std::string named = store_;  // postgresql://baton@127.0.0.1:PORT/postgres
  const std::string job = R"({"type":"shell","payload":{"command":"echo during"}})";
  testing::HttpResult during = Call(admin_, "POST", "/v1/jobs", job);
  EXPECT_EQ(during.status, 503) << during.body;
  EXPECT_NE(during.body.find(named), std::string::npos) << during.body;
  // It stands by within its lease, and says why to whoever asks.
  ASSERT_TRUE(WaitUntil([&] {
    json::object h = Health(port_);
    return h.contains("role") && h.at("role") == "standby";
  }));
  testing::HttpResult standing = Call(admin_, "GET", "/v1/jobs/" + std::to_string(before));
  EXPECT_EQ(standing.status, 503) << standing.body;
  // It says why, to anyone (no token here), without naming the database.
  testing::HttpResult anyone = testing::HttpCall(port_, "GET", "/v1/jobs/1");
  for (const testing::HttpResult* r : {&standing, &anyone}) {
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_NE(r->body.find("it cannot reach the database"), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find(named), std::string::npos) << r->body;
  }

  ASSERT_TRUE(RunScript("pg-temp.sh up " + pg));
  ASSERT_TRUE(WaitUntil([&] { return Leads(port_); })) << "the server did not lead again";
  EXPECT_EQ(GetJob(before).at("state"), "succeeded");
  const uint64_t after = Submit(R"({"type":"shell","payload":{"command":"echo after"}})");
  ASSERT_TRUE(WaitUntil([&] {
    testing::HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(after));
    return r.status == 200 && Json(r).at("state") == "succeeded";
  })) << "the worker did not come back";
  EXPECT_EQ(Cli({"logs", std::to_string(after)}).out, "after\n");
  // What was refused is not there: the two acknowledged jobs only.
  json::value list = Json(Call(admin_, "GET", "/v1/jobs"));
  EXPECT_EQ(list.at("jobs").as_array().size(), 2u) << json::serialize(list);
}

}  // namespace
}  // namespace baton
