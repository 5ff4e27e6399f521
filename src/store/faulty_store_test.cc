#include "store/faulty_store.h"

#include <gtest/gtest.h>

#include "store/memory/memory_store.h"
#include "store/store_test_util.h"

namespace baton::store {
namespace {

engine::RecordBatch InsertJob(engine::JobId id) {
  engine::RecordBatch batch;
  batch.inserts.push_back(testing::FullJob(id));
  return batch;
}

TEST(FaultyStoreTest, FailedAppliesTouchNothingAndTheRestPassThrough) {
  MemoryStore memory;
  FaultyStore store(&memory);
  store.FailApplies(2, Unavailable("the disk is full"));
  EXPECT_EQ(store.Apply(InsertJob(1)).message(), "the disk is full");
  EXPECT_EQ(store.Apply(InsertJob(1)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(memory.job_count(), 0u);
  ASSERT_TRUE(store.Apply(InsertJob(1)).ok());
  EXPECT_EQ(memory.job_count(), 1u);
  EXPECT_EQ(store.failed_applies(), 2u);
  EXPECT_EQ(store.applies(), 1u);
  EXPECT_EQ(store.GetJob(1).value().id, 1u);
  // Slowed, a commit still goes through.
  store.SetApplyDelay(std::chrono::microseconds(100));
  ASSERT_TRUE(store.Apply(InsertJob(2)).ok());
  EXPECT_EQ(memory.job_count(), 2u);
}

TEST(FaultyStoreTest, DownFailsCommitsAndReadsUntilItIsBack) {
  MemoryStore memory;
  FaultyStore store(&memory);
  ASSERT_TRUE(store.Apply(InsertJob(1)).ok());
  store.SetDown(Unavailable("gone"));
  EXPECT_EQ(store.Apply(InsertJob(2)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.GetJob(1).status().message(), "gone");
  EXPECT_EQ(store.Recover(0).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.ListEvents({}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(memory.job_count(), 1u);
  store.SetDown(Status::Ok());
  EXPECT_TRUE(store.GetJob(1).ok());
  EXPECT_TRUE(store.Recover(0).ok());
  EXPECT_TRUE(store.Apply(InsertJob(2)).ok());
}

}  // namespace
}  // namespace baton::store
