#include "store/group_commit.h"

#include <gtest/gtest.h>

#include <future>

#include "store/memory/memory_store.h"
#include "store/store_test_util.h"

namespace baton::store {
namespace {

engine::RecordBatch OneEvent(uint64_t seq) {
  engine::RecordBatch b;
  b.events.push_back(engine::Event{seq, 1, 0, engine::EventKind::kState, engine::JobState::kQueued,
                                   0, engine::Outcome::kNone, 0, ""});
  return b;
}

TEST(GroupCommitTest, AppendBatchMovesEveryKindOfRecord) {
  engine::RecordBatch to = OneEvent(1), from = OneEvent(2);
  from.inserts.push_back(testing::FullJob(1));
  from.updates.push_back(engine::JobUpdate{1, {}});
  from.attempts.push_back(engine::AttemptRecord{});
  from.workflow_inserts.push_back(engine::WorkflowRecord{});
  from.workflow_updates.push_back(engine::WorkflowUpdate{});
  from.schedules.push_back(engine::ScheduleRecord{});
  from.type_pauses.emplace_back("t", true);
  from.job_deletes.push_back(7);
  from.events_before = 3;
  const size_t total = to.size() + from.size();
  AppendBatch(to, std::move(from));
  EXPECT_EQ(to.size(), total);  // RecordBatch::size counts every list
  EXPECT_TRUE(from.empty());
}

TEST(GroupCommitTest, EverythingThatArrivesDuringACommitRidesTheNextOne) {
  testing::GatedStore store;
  std::vector<std::promise<Status>> results(11);
  {
    GroupCommitter committer(&store);
    committer.Commit(OneEvent(1), [&](const Status& s) { results[0].set_value(s); });
    store.WaitEntered(1);  // the first transaction is in flight
    for (uint64_t i = 1; i <= 10; ++i) {
      committer.Commit(OneEvent(i + 1), [&, i](const Status& s) { results[i].set_value(s); });
    }
    store.Open();
    for (auto& r : results) EXPECT_TRUE(r.get_future().get().ok());
    EXPECT_EQ(committer.stats().transactions, 2u);
    EXPECT_EQ(committer.stats().batches, 11u);
  }
  EXPECT_EQ(store.applied_event_counts(), (std::vector<size_t>{1, 10}));
  auto events = store.inner.ListEvents({.limit = 100}).value();
  ASSERT_EQ(events.size(), 11u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq, i + 1);
}

TEST(GroupCommitTest, CallbacksRunAfterTheCommitAndCarryItsFailure) {
  MemoryStore store;
  store.FailApplies(1, Unavailable("disk full"));
  GroupCommitter committer(&store);
  std::promise<Status> first, second;
  committer.Commit(OneEvent(1), [&](const Status& s) { first.set_value(s); });
  EXPECT_EQ(first.get_future().get(), Unavailable("disk full"));
  committer.Reset();  // the caller has rebuilt its state
  committer.Commit(OneEvent(1), [&](const Status& s) {
    // The commit has happened when the callback runs.
    EXPECT_EQ(store.ListEvents({.limit = 10}).value().size(), 1u);
    second.set_value(s);
  });
  EXPECT_TRUE(second.get_future().get().ok());
}

TEST(GroupCommitTest, AfterAFailureQueuedBatchesAreRefusedUntilReset) {
  testing::GatedStore store;
  store.inner.FailApplies(1, Unavailable("disk full"));
  GroupCommitter committer(&store);
  std::promise<Status> first, second, third;
  committer.Commit(OneEvent(1), [&](const Status& s) { first.set_value(s); });
  store.WaitEntered(1);
  committer.Commit(OneEvent(2), [&](const Status& s) { second.set_value(s); });  // queued behind
  store.Open();
  EXPECT_EQ(first.get_future().get(), Unavailable("disk full"));
  EXPECT_EQ(second.get_future().get(), Unavailable("disk full"));
  EXPECT_EQ(store.applied_event_counts().size(), 1u);  // the second never reached the store
  committer.Reset();
  committer.Commit(OneEvent(1), [&](const Status& s) { third.set_value(s); });
  EXPECT_TRUE(third.get_future().get().ok());
  EXPECT_EQ(store.inner.ListEvents({.limit = 10}).value().size(), 1u);
}

TEST(GroupCommitTest, DestructorCommitsWhatWasHandedOver) {
  MemoryStore store;
  int done = 0;
  {
    GroupCommitter committer(&store);
    for (uint64_t i = 1; i <= 100; ++i) {
      committer.Commit(OneEvent(i), [&](const Status& s) {
        EXPECT_TRUE(s.ok());
        ++done;  // callbacks run on one thread, in order
      });
    }
  }
  EXPECT_EQ(done, 100);
  EXPECT_EQ(store.ListEvents({.limit = 1000}).value().size(), 100u);
}

}  // namespace
}  // namespace baton::store
