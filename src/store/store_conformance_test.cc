// One suite, every backend: what any Database and its connections must do. A new backend adds
// itself to kBackends below (a name, and the URL of a fresh database in a scratch directory).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <thread>

#include "engine/engine.h"
#include "store/database.h"
#include "store/postgres/pg_test_util.h"
#include "store/store_test_util.h"

namespace baton::store {
namespace {

using engine::AttemptRecord;
using engine::Event;
using engine::JobRecord;
using engine::JobState;
using engine::Outcome;

struct Backend {
  std::string name;
  // The URL of a new, empty database whose files (if any) go under `dir`.
  std::function<std::string(const std::string& dir)> url;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

const Backend kBackends[] = {
    {"memory", [](const std::string&) { return std::string("memory:"); }},
    {"sqlite", [](const std::string& dir) { return "sqlite:" + dir + "/db"; }},
    {"postgresql", [](const std::string&) { return testing::PgFreshUrl(); }},
};

class StoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("conformance");
    Result<std::unique_ptr<Database>> db = OpenDatabase(GetParam().url(dir_));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    store_ = Connect();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Store> Connect() {
    Result<std::unique_ptr<Store>> s = db_->Connect();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  void MustApply(const engine::RecordBatch& b) {
    Status s = store_->Apply(b);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, EveryFieldOfAJobRoundTrips) {
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  JobRecord plain = testing::FullJob(2);
  plain.spec.idempotency_key.clear();
  plain.spec.tags.clear();
  plain.spec.input_dir.clear();
  plain.spec.input_files.clear();
  plain.spec.children_policy = engine::ChildrenPolicy{};
  plain.spec.role = engine::JobRole::kJob;
  plain.spec.resources.clear();
  plain.spec.labels.clear();
  plain.spec.concurrency_key.clear();
  plain.spec.concurrency_limit = 0;
  plain.spec.retention_ms = 0;
  b.inserts.push_back(plain);
  MustApply(b);
  Result<JobRecord> got = store_->GetJob(1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, testing::FullJob(1));
  EXPECT_EQ(store_->GetJob(2).value(), plain);
  Result<JobRecord> missing = store_->GetJob(3);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, UpdatesReplaceTheStatusOnly) {
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  MustApply(b);
  engine::JobStatus s;
  s.state = JobState::kSucceeded;
  s.result = R"({"sum":3})";
  s.finished_ms = 99;
  s.last_outcome = Outcome::kSucceeded;
  engine::RecordBatch u;
  u.updates.push_back({1, s});
  MustApply(u);
  JobRecord want = testing::FullJob(1);
  want.status = s;
  EXPECT_EQ(store_->GetJob(1).value(), want);
}

TEST_P(StoreConformanceTest, InsertAndUpdateInOneBatchApplyInOrder) {
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  engine::JobStatus first, second;
  first.state = JobState::kRunning;
  second.state = JobState::kFailed;
  second.error = "later wins";
  b.updates.push_back({1, first});
  b.updates.push_back({1, second});
  MustApply(b);
  EXPECT_EQ(store_->GetJob(1).value().status, second);
}

TEST_P(StoreConformanceTest, AttemptsAreReplacedByIdAndListedInOrder) {
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  b.attempts.push_back(
      AttemptRecord{7, 1, 1, "w1", 10, 20, Outcome::kError, "boom", R"({"messages":[]})"});
  b.attempts.push_back(AttemptRecord{9, 1, 2, "w2", 30, 40, Outcome::kSucceeded, ""});
  b.attempts.push_back(AttemptRecord{8, 5, 1, "w1", 10, 20, Outcome::kLost, "gone"});
  MustApply(b);
  engine::RecordBatch again;
  again.attempts.push_back(AttemptRecord{9, 1, 2, "w2", 30, 50, Outcome::kRejected, "no"});
  MustApply(again);
  Result<std::vector<AttemptRecord>> list = store_->ListAttempts(1);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0],
            (AttemptRecord{7, 1, 1, "w1", 10, 20, Outcome::kError, "boom", R"({"messages":[]})"}));
  EXPECT_EQ((*list)[1], (AttemptRecord{9, 1, 2, "w2", 30, 50, Outcome::kRejected, "no"}));
  EXPECT_TRUE(store_->ListAttempts(2).value().empty());
}

TEST_P(StoreConformanceTest, EventsAreListedAfterASequenceNumber) {
  engine::RecordBatch b;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    b.events.push_back(Event{seq, seq % 2 + 1, static_cast<int64_t>(seq * 10),
                             seq == 5 ? engine::EventKind::kProgress : engine::EventKind::kState,
                             JobState::kRunning, seq, Outcome::kNone, 0.25,
                             "msg " + std::to_string(seq)});
  }
  MustApply(b);
  auto all = store_->ListEvents({.after = 0, .limit = 100}).value();
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all[4], b.events[4]);
  auto page = store_->ListEvents({.after = 3, .limit = 4}).value();
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page.front().seq, 4u);
  EXPECT_EQ(page.back().seq, 7u);
  auto one_job = store_->ListEvents({.job_id = 2, .limit = 100}).value();
  ASSERT_EQ(one_job.size(), 5u);
  for (const Event& e : one_job) EXPECT_EQ(e.job_id, 2u);
  auto window = store_->ListEvents({.after = 2, .through = 6, .limit = 100}).value();
  ASSERT_EQ(window.size(), 4u);
  EXPECT_EQ(window.front().seq, 3u);
  EXPECT_EQ(window.back().seq, 6u);
}

TEST_P(StoreConformanceTest, EventsCanBeListedForOneOwner) {
  engine::RecordBatch b;
  for (engine::JobId id = 1; id <= 3; ++id) {
    JobRecord job = testing::FullJob(id);
    job.spec.owner = id == 2 ? "bob" : "alice";
    b.inserts.push_back(job);
    b.events.push_back(
        Event{id, id, 1, engine::EventKind::kState, JobState::kQueued, 0, Outcome::kNone, 0, ""});
  }
  MustApply(b);
  auto bob = store_->ListEvents({.owner = "bob"}).value();
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0].job_id, 2u);
  EXPECT_EQ(store_->ListEvents({.owner = "alice"}).value().size(), 2u);
  EXPECT_TRUE(store_->ListEvents({.owner = "carol"}).value().empty());
}

// An owner filter names an account: the owner itself and its end users ("webapp/2"), never a
// name that only starts the same ("webapps", "webapp0").
TEST_P(StoreConformanceTest, AnOwnerFilterHoldsTheAccountsEndUsers) {
  engine::RecordBatch b;
  const char* owners[] = {"webapp", "webapp/2", "webapps", "webapp0", "webapp/10", "web"};
  for (engine::JobId id = 1; id <= 6; ++id) {
    JobRecord job = testing::FullJob(id);
    job.spec.owner = owners[id - 1];
    b.inserts.push_back(job);
    b.events.push_back(
        Event{id, id, 1, engine::EventKind::kState, JobState::kQueued, 0, Outcome::kNone, 0, ""});
  }
  MustApply(b);
  std::vector<engine::JobId> jobs, events;
  const JobPage page = store_->ListJobs({.owner = "webapp"}).value();
  for (const JobRecord& j : page.jobs) jobs.push_back(j.id);
  const std::vector<Event> listed = store_->ListEvents({.owner = "webapp"}).value();
  for (const Event& e : listed) events.push_back(e.job_id);
  EXPECT_EQ(jobs, (std::vector<engine::JobId>{5, 2, 1}));
  EXPECT_EQ(events, (std::vector<engine::JobId>{1, 2, 5}));
  EXPECT_EQ(store_->ListJobs({.owner = "webapp/2"}).value().jobs.size(), 1u);
}

TEST_P(StoreConformanceTest, RecoverReturnsActiveJobsKeysAndLargestIds) {
  engine::RecordBatch b;
  JobRecord queued = testing::FullJob(1);
  queued.status.state = JobState::kQueued;
  queued.spec.idempotency_key = "old";
  queued.created_ms = 100;
  JobRecord running = testing::FullJob(2);
  running.status.state = JobState::kRunning;
  running.status.attempt_id = 40;  // open attempt: not in the attempts table
  running.spec.idempotency_key = "new";
  running.created_ms = 500;
  JobRecord done = testing::FullJob(3);
  done.status.state = JobState::kSucceeded;
  done.spec.idempotency_key = "done";
  done.created_ms = 600;
  b.inserts = {queued, running, done};
  b.attempts.push_back(AttemptRecord{12, 3, 1, "w", 1, 2, Outcome::kSucceeded, ""});
  b.events.push_back(Event{77, 3, 1, engine::EventKind::kState, JobState::kSucceeded, 12,
                           Outcome::kSucceeded, 0, ""});
  MustApply(b);
  Result<engine::RecoveredState> r = store_->Recover(200);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->jobs.size(), 2u);
  EXPECT_EQ(r->jobs[0], queued);
  EXPECT_EQ(r->jobs[1], running);
  EXPECT_EQ(r->job_id_max, 3u);
  EXPECT_EQ(r->attempt_id_max, 40u);
  EXPECT_EQ(r->event_seq_max, 77u);
  std::vector<std::string> keys;
  for (const auto& k : r->keys) keys.push_back(k.key + "@" + std::to_string(k.job_id));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"done@3", "new@2"}));
}

TEST_P(StoreConformanceTest, RecoverReturnsTheFinishedSubJobsOfActiveParents) {
  engine::RecordBatch b;
  auto job = [](engine::JobId id, JobState state, engine::JobId parent) {
    JobRecord r = testing::FullJob(id);
    r.spec.idempotency_key.clear();
    r.status.state = state;
    r.spec.parent_id = parent;
    return r;
  };
  b.inserts = {job(1, JobState::kWaitingChildren, 0), job(2, JobState::kSucceeded, 1),
               job(3, JobState::kFailed, 1),          job(4, JobState::kRunning, 1),
               job(5, JobState::kSucceeded, 0),       job(6, JobState::kSucceeded, 5),
               job(7, JobState::kRetryWait, 0),       job(8, JobState::kCancelled, 7)};
  MustApply(b);
  Result<engine::RecoveredState> r = store_->Recover(0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<engine::JobId> ids;
  for (const JobRecord& j : r->jobs) ids.push_back(j.id);
  std::sort(ids.begin(), ids.end());
  // 6 belongs to a finished parent, 8 to a parent whose attempt ended: neither can count again.
  EXPECT_EQ(ids, (std::vector<engine::JobId>{1, 2, 3, 4, 7}));

  auto children = [&](engine::JobId parent, size_t limit, engine::JobId before) {
    store::JobQuery q;
    q.parent_id = parent;
    q.limit = limit;
    q.before = before;
    q.scan_max = 1;  // does not bound a parent's listing
    return store_->ListJobs(q).value();
  };
  JobPage first = children(1, 2, 0);
  ASSERT_EQ(first.jobs.size(), 2u);
  EXPECT_EQ(first.jobs[0].id, 4u);
  EXPECT_EQ(first.jobs[1].id, 3u);
  JobPage rest = children(1, 2, first.next);
  ASSERT_EQ(rest.jobs.size(), 1u);
  EXPECT_EQ(rest.jobs[0].id, 2u);
  EXPECT_EQ(rest.next, 0u);
  EXPECT_TRUE(children(2, 10, 0).jobs.empty());

  auto counts = store_->CountChildren(1).value();
  EXPECT_EQ(counts[static_cast<size_t>(JobState::kSucceeded)], 1u);
  EXPECT_EQ(counts[static_cast<size_t>(JobState::kFailed)], 1u);
  EXPECT_EQ(counts[static_cast<size_t>(JobState::kRunning)], 1u);
  EXPECT_EQ(counts[static_cast<size_t>(JobState::kQueued)], 0u);
  auto none = store_->CountChildren(4).value();
  EXPECT_EQ(std::accumulate(none.begin(), none.end(), uint64_t{0}), 0u);
}

TEST_P(StoreConformanceTest, WorkflowsRoundTripRecoverAndOwnTheirEvents) {
  engine::WorkflowRecord w;
  w.id = 3;
  w.owner = "bob";
  w.name = "etl";
  w.created_ms = 100;
  w.document = R"({"steps":[{"name":"a","type":"t"}]})";
  w.status.updated_ms = 100;
  engine::StepStatus plugin;
  plugin.state = engine::StepState::kRunning;
  plugin.job_id = 9;
  plugin.plugin_of = 1;
  plugin.plugin_type = "scan";
  plugin.plugin_mandatory = true;
  plugin.plugin_order = -2;
  engine::StepStatus done;
  done.state = engine::StepState::kSucceeded;
  done.job_id = 8;
  done.result = R"({"url":"x"})";
  done.message = "warning: \"quoted\"";
  done.runs = 2;
  done.warning = true;
  w.status.steps = {done, plugin};
  engine::RecordBatch b;
  b.workflow_inserts.push_back(w);
  b.events.push_back(Event{1, 0, 100, engine::EventKind::kWorkflow, JobState::kPending, 0,
                           Outcome::kNone, 0, "workflow: running", 3});
  MustApply(b);
  EXPECT_EQ(store_->GetWorkflow(3).value(), w);
  Result<engine::RecoveredState> r = store_->Recover(0);
  ASSERT_EQ(r->workflows.size(), 1u);
  EXPECT_EQ(r->workflows[0], w);
  EXPECT_EQ(r->workflow_id_max, 3u);
  // The workflow's own events belong to its owner.
  EXPECT_EQ(store_->ListEvents({.workflow_id = 3, .owner = "bob"}).value().size(), 1u);
  EXPECT_TRUE(store_->ListEvents({.owner = "alice"}).value().empty());
  EXPECT_EQ(store_->ListEvents({.workflow_id = 3}).value().at(0).workflow_id, 3u);

  w.status.state = engine::WorkflowState::kOptionalFailed;
  w.status.finished_ms = 200;
  w.status.message = "optional steps failed: scan";
  engine::RecordBatch u;
  u.workflow_updates.push_back(engine::WorkflowUpdate{3, w.status});
  MustApply(u);
  EXPECT_EQ(store_->GetWorkflow(3).value(), w);
  EXPECT_TRUE(store_->Recover(0)->workflows.empty());  // finished
  EXPECT_EQ(store_->GetWorkflow(4).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RecoverOfAnEmptyStoreIsEmpty) {
  Result<engine::RecoveredState> r = store_->Recover(0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->jobs.empty());
  EXPECT_EQ(r->job_id_max, 0u);
  EXPECT_EQ(r->event_seq_max, 0u);
  EXPECT_TRUE(store_->Apply(engine::RecordBatch{}).ok());
}

TEST_P(StoreConformanceTest, AFailedBatchChangesNothing) {
  engine::RecordBatch good;
  good.inserts.push_back(testing::FullJob(1));
  MustApply(good);
  engine::RecordBatch bad;
  bad.inserts.push_back(testing::FullJob(2));
  bad.events.push_back(
      Event{1, 2, 1, engine::EventKind::kState, JobState::kQueued, 0, Outcome::kNone, 0, ""});
  engine::JobStatus s;
  bad.updates.push_back({99, s});  // no such job
  Status st = store_->Apply(bad);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("99"), std::string::npos) << st.message();
  EXPECT_EQ(store_->GetJob(2).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListEvents({.limit = 10}).value().empty());
  // And the store still works.
  engine::RecordBatch next;
  next.inserts.push_back(testing::FullJob(2));
  MustApply(next);
  EXPECT_TRUE(store_->GetJob(2).ok());
}

TEST_P(StoreConformanceTest, ADuplicateJobOrEventIsRefused) {
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  b.events.push_back(
      Event{1, 1, 1, engine::EventKind::kState, JobState::kQueued, 0, Outcome::kNone, 0, ""});
  MustApply(b);
  engine::RecordBatch dup_job;
  dup_job.inserts.push_back(testing::FullJob(1));
  EXPECT_FALSE(store_->Apply(dup_job).ok());
  engine::RecordBatch dup_event;
  dup_event.events = b.events;
  EXPECT_FALSE(store_->Apply(dup_event).ok());
  // Also among others of one commit: that commit is refused whole.
  engine::RecordBatch later;
  for (engine::EventSeq seq : {2, 3}) {
    later.events.push_back(
        Event{seq, 1, 1, engine::EventKind::kState, JobState::kQueued, 0, Outcome::kNone, 0, ""});
  }
  MustApply(later);
  engine::RecordBatch overlapping;
  for (engine::EventSeq seq : {3, 4}) {
    overlapping.events.push_back(
        Event{seq, 1, 1, engine::EventKind::kState, JobState::kQueued, 0, Outcome::kNone, 0, ""});
  }
  EXPECT_FALSE(store_->Apply(overlapping).ok());
  EXPECT_EQ(store_->ListEvents({.limit = 10}).value().size(), 3u);
}

TEST_P(StoreConformanceTest, JobsAreListedNewestFirstWithFiltersAndBoundedPages) {
  engine::RecordBatch b;
  for (engine::JobId id = 1; id <= 10; ++id) {
    JobRecord r = testing::FullJob(id);
    r.spec.owner = id % 2 ? "alice" : "bob";
    r.spec.type = id <= 5 ? "a" : "b";
    r.status.state = id == 3 ? JobState::kFailed : JobState::kQueued;
    b.inserts.push_back(r);
  }
  MustApply(b);
  auto ids = [](const JobPage& p) {
    std::vector<engine::JobId> out;
    for (const auto& j : p.jobs) out.push_back(j.id);
    return out;
  };
  JobPage all = store_->ListJobs({}).value();
  EXPECT_EQ(ids(all), (std::vector<engine::JobId>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(all.next, 0u);
  JobPage first = store_->ListJobs({0, "alice", "", std::nullopt, 2, 100}).value();
  EXPECT_EQ(ids(first), (std::vector<engine::JobId>{9, 7}));
  ASSERT_EQ(first.next, 7u);
  JobPage second = store_->ListJobs({first.next, "alice", "", std::nullopt, 2, 100}).value();
  EXPECT_EQ(ids(second), (std::vector<engine::JobId>{5, 3}));
  EXPECT_EQ(ids(store_->ListJobs({0, "", "a", JobState::kFailed, 100, 100}).value()),
            (std::vector<engine::JobId>{3}));
  // A small scan budget: the page examines 4 jobs (10..7), finds what matches, says where to go on.
  JobPage bounded = store_->ListJobs({0, "", "a", std::nullopt, 100, 4}).value();
  EXPECT_TRUE(bounded.jobs.empty());
  EXPECT_EQ(bounded.next, 7u);
  JobPage rest = store_->ListJobs({bounded.next, "", "a", std::nullopt, 100, 10}).value();
  EXPECT_EQ(ids(rest), (std::vector<engine::JobId>{5, 4, 3, 2, 1}));
  EXPECT_EQ(rest.next, 0u);
}

// The engine's own records, through the store and back: recovery yields the engine's active jobs.
TEST_P(StoreConformanceTest, EngineRecordsRecoverToTheEngineState) {
  engine::EngineConfig config;
  config.seed = 3;
  engine::Engine e(config);
  e.Tick(1'000'000);
  std::vector<engine::JobId> ids;
  for (int i = 0; i < 20; ++i) {
    engine::JobSpec spec;
    spec.type = i % 2 ? "a" : "b";
    spec.owner = "o";
    spec.idempotency_key = "k" + std::to_string(i);
    spec.tags = {"t" + std::to_string(i)};
    ids.push_back(e.Submit(spec).value().job_id);
  }
  auto as = e.Dispatch({"w", {"a", "b"}, 12});
  engine::RecordBatch b;
  e.TakeRecords(&b);
  MustApply(b);
  for (size_t i = 0; i < as.size(); ++i) {
    engine::AttemptRef ref{as[i].job_id, as[i].attempt_id, "w"};
    if (i % 3 == 0) {
      ASSERT_TRUE(e.Complete(ref, {Outcome::kSucceeded, "1", "", true}).ok());
    } else if (i % 3 == 1) {
      ASSERT_TRUE(e.Complete(ref, {Outcome::kError, "", "x", true}).ok());
    }
  }
  b.clear();
  e.TakeRecords(&b);
  MustApply(b);

  Result<engine::RecoveredState> r = store_->Recover(0);
  ASSERT_TRUE(r.ok());
  size_t active = 0;
  for (engine::JobId id : ids) {
    const JobRecord* live = e.Find(id);
    ASSERT_NE(live, nullptr);
    EXPECT_EQ(store_->GetJob(id).value(), *live);
    active += engine::IsTerminal(live->status.state) ? 0 : 1;
  }
  EXPECT_EQ(r->jobs.size(), active);
  EXPECT_EQ(r->event_seq_max, e.Stats().event_seq_last);
  EXPECT_EQ(r->keys.size(), 20u);
  engine::Engine fresh(config);
  ASSERT_TRUE(fresh.Restore(std::move(*r)).ok());
  for (engine::JobId id : ids) {
    const JobRecord* live = e.Find(id);
    if (engine::IsTerminal(live->status.state)) continue;
    ASSERT_NE(fresh.Find(id), nullptr);
    EXPECT_EQ(*fresh.Find(id), *live);
  }
}

TEST_P(StoreConformanceTest, SchedulesAndPausedTypesRoundTrip) {
  engine::ScheduleRecord a;
  a.name = "nightly";
  a.owner = "alice";
  a.cron = "0 3 * * *";
  a.time_zone = "Europe/Paris";
  a.catch_up = engine::CatchUp::kOnce;
  a.job = R"({"type":"report","payload":{"n":1}})";
  a.paused = true;
  a.created_ms = 1'700'000'000'000;
  a.last_tick_ms = 1'700'000'100'000;
  a.jobs_created = 12;
  a.last_job_id = 99;
  a.last_error = "type: must not be empty";
  engine::ScheduleRecord b = a;
  b.name = "gone";
  engine::RecordBatch batch;
  batch.schedules = {a, b};
  batch.type_pauses = {{"render", true}, {"other", true}};
  MustApply(batch);
  engine::RecordBatch second;
  a.last_tick_ms += 1000;
  engine::ScheduleRecord gone;
  gone.name = "gone";
  gone.deleted = true;
  second.schedules = {a, gone};  // replaces by name, and deletes
  second.type_pauses = {{"other", false}};
  MustApply(second);
  Result<engine::RecoveredState> st = store_->Recover(0);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_EQ(st->schedules.size(), 1u);
  EXPECT_EQ(st->schedules[0], a);
  EXPECT_EQ(st->paused_types, std::vector<std::string>{"render"});
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

TEST_P(StoreConformanceTest, ACommitIsSeenThroughEveryOtherConnection) {
  std::unique_ptr<Store> reader = Connect();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->GetJob(1).status().code(), StatusCode::kNotFound);
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(1));
  MustApply(b);
  Result<JobRecord> seen = reader->GetJob(1);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(*seen, b.inserts[0]);
  // A connection opened after the commit, and one from another thread, see it too.
  std::unique_ptr<Store> later = Connect();
  ASSERT_NE(later, nullptr);
  EXPECT_TRUE(later->GetJob(1).ok());
  Result<JobRecord> from_thread = NotFound("not read");
  std::thread([&] { from_thread = later->GetJob(1); }).join();
  EXPECT_TRUE(from_thread.ok()) << from_thread.status().ToString();
}

TEST_P(StoreConformanceTest, TokensArePutOnceFoundByHashAndListed) {
  Result<std::unique_ptr<TokenStore>> tokens = db_->ConnectTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  const TokenRecord alice{"ab12", "alice", false, true, true, 1000};
  ASSERT_TRUE((*tokens)->Put(alice).ok());
  EXPECT_EQ((*tokens)->Put(alice).code(), StatusCode::kAlreadyExists);
  TokenRecord other = alice;
  other.user = "mallory";  // the same hash under another name is refused too
  EXPECT_EQ((*tokens)->Put(other).code(), StatusCode::kAlreadyExists);
  Result<std::unique_ptr<TokenStore>> second = db_->ConnectTokens();
  ASSERT_TRUE(second.ok());
  Result<std::optional<TokenRecord>> found = (*second)->Find("ab12");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, alice);
  EXPECT_FALSE((*second)->Find("ab13").value().has_value());
  // Listed oldest first, then by hash.
  const TokenRecord bob{"cd34", "bob", true, false, false, 500};
  const TokenRecord carol{"aa00", "carol", false, false, false, 1000};
  ASSERT_TRUE((*tokens)->Put(bob).ok());
  ASSERT_TRUE((*tokens)->Put(carol).ok());
  Result<std::vector<TokenRecord>> all = (*second)->List();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, (std::vector<TokenRecord>{bob, carol, alice}));
}

TEST_P(StoreConformanceTest, TheAdminConnectionChecksAndFindsInputDirs) {
  Result<std::unique_ptr<StoreAdmin>> admin = db_->ConnectAdmin();
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  EXPECT_TRUE((*admin)->IntegrityCheck().ok());
  EXPECT_TRUE((*admin)->SchemaVersion().ok());
  engine::RecordBatch b;
  b.inserts.push_back(testing::FullJob(5));  // input_dir "in-5"
  engine::JobRecord none = testing::FullJob(6);
  none.spec.input_dir.clear();
  b.inserts.push_back(none);
  MustApply(b);
  EXPECT_TRUE((*admin)->InputDirInUse("in-5").value());
  EXPECT_FALSE((*admin)->InputDirInUse("in-6").value());
  EXPECT_FALSE((*admin)->InputDirInUse("").value());
  EXPECT_FALSE(db_->description().empty());
  EXPECT_EQ(db_->backend(), GetParam().name);
}

TEST_P(StoreConformanceTest, RetentionListsFinishedJobsAndDeletesThemWithTheirRecords) {
  auto job = [](engine::JobId id, JobState state, engine::JobId parent) {
    JobRecord r = testing::FullJob(id);
    r.spec.parent_id = parent;
    r.status.state = state;
    r.status.finished_ms = engine::IsTerminal(state) ? 1000 + static_cast<int64_t>(id) : 0;
    return r;
  };
  engine::WorkflowRecord running;
  running.id = 1;
  running.owner = "alice";
  running.name = "etl";
  running.document = R"({"steps":[{"name":"a","type":"t"}]})";
  engine::RecordBatch b;
  b.workflow_inserts.push_back(running);
  b.inserts.push_back(job(1, JobState::kSucceeded, 0));
  b.inserts.push_back(job(2, JobState::kQueued, 0));
  b.inserts.push_back(job(3, JobState::kFailed, 2));     // held: its parent is queued
  b.inserts.push_back(job(4, JobState::kCancelled, 1));  // its parent is finished
  b.inserts.push_back(job(5, JobState::kSucceeded, 0));
  b.inserts.back().spec.workflow_id = 1;  // held: its workflow runs
  b.inserts.push_back(job(6, JobState::kSucceeded, 0));
  b.inserts.back().spec.idempotency_key.clear();
  b.inserts.back().spec.input_dir.clear();
  b.attempts.push_back(AttemptRecord{10, 1, 1, "w1", 10, 20, Outcome::kSucceeded, ""});
  b.attempts.push_back(AttemptRecord{11, 2, 1, "w1", 10, 20, Outcome::kError, "boom"});
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    b.events.push_back(Event{seq, seq, static_cast<int64_t>(seq * 100), engine::EventKind::kState,
                             JobState::kQueued, 0, Outcome::kNone, 0, ""});
  }
  MustApply(b);

  Result<std::vector<FinishedJob>> all = store_->ListFinished(0, 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<engine::JobId> ids;
  std::vector<engine::JobId> held;
  for (const FinishedJob& f : *all) {
    ids.push_back(f.id);
    if (f.held) held.push_back(f.id);
  }
  EXPECT_EQ(ids, (std::vector<engine::JobId>{1, 3, 4, 5, 6}));
  EXPECT_EQ(held, (std::vector<engine::JobId>{3, 5}));
  const FinishedJob& first = all->front();
  EXPECT_EQ(first.owner, "alice");
  EXPECT_EQ(first.type, "render.frame");
  EXPECT_EQ(first.idempotency_key, "order-1");
  EXPECT_EQ(first.input_dir, "in-1");
  EXPECT_EQ(first.retention_ms, 86'400'000);
  EXPECT_EQ(first.finished_ms, 1001);
  EXPECT_EQ(all->back().idempotency_key, "");
  // Pages: after an id, bounded.
  Result<std::vector<FinishedJob>> page = store_->ListFinished(3, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, 4u);
  EXPECT_EQ((*page)[1].id, 5u);

  // Events by time: the first at or after a moment; past the last when none is.
  EXPECT_EQ(store_->FirstEventAt(0).value(), 1u);
  EXPECT_EQ(store_->FirstEventAt(250).value(), 3u);
  EXPECT_EQ(store_->FirstEventAt(300).value(), 3u);
  EXPECT_EQ(store_->FirstEventAt(10'000).value(), 7u);

  engine::RecordBatch del;
  del.job_deletes = {1, 4};
  del.events_before = 3;
  MustApply(del);
  EXPECT_EQ(store_->GetJob(1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetJob(4).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListAttempts(1).value().empty());
  EXPECT_EQ(store_->ListAttempts(2).value().size(), 1u);  // another job's are kept
  EXPECT_TRUE(store_->GetJob(2).ok());
  auto events = store_->ListEvents({.after = 0, .limit = 100}).value();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events.front().seq, 3u);
  EXPECT_EQ(store_->FirstEventAt(0).value(), 3u);
  ids.clear();
  const std::vector<FinishedJob> left = store_->ListFinished(0, 100).value();
  for (const FinishedJob& f : left) ids.push_back(f.id);
  EXPECT_EQ(ids, (std::vector<engine::JobId>{3, 5, 6}));
  // The deleted keys are gone from recovery too.
  Result<engine::RecoveredState> r = store_->Recover(0);
  ASSERT_TRUE(r.ok());
  for (const engine::IdempotencyKey& k : r->keys) {
    EXPECT_NE(k.job_id, 1u);
    EXPECT_NE(k.job_id, 4u);
  }
}

}  // namespace
}  // namespace baton::store
