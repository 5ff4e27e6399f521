// ScheduleBook on its own: a stand-in submit that records the jobs, and the sink it writes to.
#include "engine/schedules.h"

#include <gtest/gtest.h>

namespace baton::engine {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // 2023-11-14 22:13:20 UTC

class ScheduleBookTest : public ::testing::Test {
 protected:
  static ScheduleRecord Every(const std::string& name, const std::string& cron,
                              CatchUp catch_up = CatchUp::kSkip) {
    ScheduleRecord r;
    r.name = name;
    r.owner = "alice";
    r.cron = cron;
    r.catch_up = catch_up;
    r.job = R"({"type":"report"})";
    return r;
  }
  // The template check a submit would make: here, only that the owner is set.
  static Result<JobSpec> Check(const ScheduleRecord& rec) {
    if (rec.job == "bad") return InvalidArgument("job: not JSON");
    JobSpec spec;
    spec.type = "report";
    spec.owner = rec.owner;
    return spec;
  }
  Result<SubmitResult> Submit(JobSpec spec) {
    if (refuse_) return ResourceExhausted("queue full");
    submitted_.push_back(std::move(spec));
    return SubmitResult{static_cast<JobId>(submitted_.size()), false};
  }
  void Fire(int64_t now) {
    book_.Fire(now, [this](JobSpec s) { return Submit(std::move(s)); });
  }

  Sink sink_;
  ScheduleBook book_{{3, 60'000}, &sink_};
  std::vector<JobSpec> submitted_;
  bool refuse_ = false;
};

TEST_F(ScheduleBookTest, EachTickMakesOneJobKeyedByItsTick) {
  EXPECT_EQ(book_.NextDueMs(), std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(book_.Put(Every("s", "*/10 * * * * *"), kT0, Check).ok());
  const int64_t first = book_.NextMs("s");
  EXPECT_EQ(first, kT0 + 10'000);
  ASSERT_TRUE(book_.Put(Every("later", "0 * * * *"), kT0, Check).ok());
  EXPECT_EQ(book_.NextDueMs(), first);  // the earliest of them
  Fire(first - 1);
  EXPECT_TRUE(submitted_.empty());
  Fire(first + 25'000);  // three ticks due, all within the grace: each on time
  ASSERT_EQ(submitted_.size(), 3u);
  EXPECT_EQ(submitted_[0].idempotency_key, "schedule:s:" + std::to_string(first));
  EXPECT_EQ(submitted_[2].idempotency_key, "schedule:s:" + std::to_string(first + 20'000));
  EXPECT_EQ(submitted_[0].owner, "alice");
  const ScheduleRecord* s = book_.Find("s");
  EXPECT_EQ(s->jobs_created, 3u);
  EXPECT_EQ(s->last_job_id, 3u);
  EXPECT_EQ(s->last_tick_ms, first + 20'000);
  EXPECT_EQ(book_.NextMs("s"), first + 30'000);
  // The two puts, then the fire's record: the schedule as it now is.
  ASSERT_EQ(sink_.records.schedules.size(), 3u);
  EXPECT_EQ(sink_.records.schedules.back(), *s);
}

TEST_F(ScheduleBookTest, MissedTicksAreSkippedOrMadeOnceWithACount) {
  ASSERT_TRUE(book_.Put(Every("skip", "0 * * * *"), kT0, Check).ok());
  ASSERT_TRUE(book_.Put(Every("once", "0 * * * *", CatchUp::kOnce), kT0, Check).ok());
  const int64_t first = book_.NextMs("skip");
  Fire(first + 3 * 3'600'000 + 1000);  // down for three hours: three missed, one on time
  std::map<std::string, std::vector<std::string>> tags;
  for (const JobSpec& j : submitted_)
    tags[std::string(j.idempotency_key.view().substr(9, 4))].push_back(j.tags.empty() ? ""
                                                                                      : j.tags[0]);
  EXPECT_EQ(tags["skip"], (std::vector<std::string>{""}));
  EXPECT_EQ(tags["once"], (std::vector<std::string>{"catch-up:3", ""}));
  EXPECT_EQ(book_.Find("skip")->last_error, "");  // its last tick made a job
  EXPECT_EQ(book_.NextMs("once"), first + 4 * 3'600'000);
}

TEST_F(ScheduleBookTest, RefusalsChangeNothing) {
  ASSERT_TRUE(book_.Put(Every("s", "* * * * *"), kT0, Check).ok());
  const size_t records = sink_.records.schedules.size();
  struct Case {
    ScheduleRecord rec;
    StatusCode code;
    std::string message;
  };
  ScheduleRecord other = Every("s", "* * * * *");
  other.owner = "mallory";
  ScheduleRecord bad_job = Every("t", "* * * * *");
  bad_job.job = "bad";
  ScheduleRecord no_owner = Every("u", "* * * * *");
  no_owner.owner.clear();
  const Case cases[] = {
      {Every("a b", "* * * * *"), StatusCode::kInvalidArgument,
       R"(name: 1 to 64 of a-z A-Z 0-9 _ - . /, got "a b")"},
      {no_owner, StatusCode::kInvalidArgument, "owner: must not be empty"},
      {Every("t", "61 * * * *"), StatusCode::kInvalidArgument, ""},
      {bad_job, StatusCode::kInvalidArgument, "job: not JSON"},
      {other, StatusCode::kFailedPrecondition, "schedule s: another user's schedule has this name"},
  };
  for (const Case& c : cases) {
    Status s = book_.Put(c.rec, kT0, Check);
    EXPECT_EQ(s.code(), c.code) << c.rec.name;
    if (!c.message.empty()) {
      EXPECT_EQ(s.message(), c.message);
    }
  }
  ASSERT_TRUE(book_.Put(Every("b", "* * * * *"), kT0, Check).ok());
  ASSERT_TRUE(book_.Put(Every("c", "* * * * *"), kT0, Check).ok());
  Status full = book_.Put(Every("d", "* * * * *"), kT0, Check);
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(), "schedules: the server has 3, the most it keeps (schedules_max)");
  EXPECT_EQ(book_.List().size(), 3u);
  EXPECT_EQ(sink_.records.schedules.size(), records + 2);  // only the two that were made
  EXPECT_EQ(book_.Find("s")->owner, "alice");
  EXPECT_EQ(book_.Delete("nope").code(), StatusCode::kNotFound);
}

TEST_F(ScheduleBookTest, ReplacingKeepsCountsPausingStopsAndResumingStartsFromNow) {
  ASSERT_TRUE(book_.Put(Every("s", "* * * * * *"), kT0, Check).ok());
  Fire(kT0 + 2000);
  ASSERT_EQ(book_.Find("s")->jobs_created, 2u);
  ScheduleRecord paused = Every("s", "* * * * * *");
  paused.paused = true;
  ASSERT_TRUE(book_.Put(paused, kT0 + 2000, Check).ok());
  EXPECT_EQ(book_.NextMs("s"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(book_.Find("s")->jobs_created, 2u);  // kept
  Fire(kT0 + 60'000);
  EXPECT_EQ(submitted_.size(), 2u);
  ASSERT_TRUE(book_.Put(Every("s", "* * * * * *"), kT0 + 60'000, Check).ok());
  EXPECT_EQ(book_.NextMs("s"), kT0 + 61'000);  // no making up for the pause
  ASSERT_TRUE(book_.Delete("s").ok());
  EXPECT_TRUE(sink_.records.schedules.back().deleted);
  EXPECT_EQ(book_.Find("s"), nullptr);
  Fire(kT0 + 120'000);
  EXPECT_EQ(submitted_.size(), 2u);
}

TEST_F(ScheduleBookTest, ATickThatCannotSubmitSaysWhyAndTheNextOneTriesAgain) {
  ASSERT_TRUE(book_.Put(Every("s", "* * * * * *"), kT0, Check).ok());
  refuse_ = true;
  Fire(kT0 + 1000);
  EXPECT_EQ(book_.Find("s")->last_error, "tick " + std::to_string(kT0 + 1000) + ": queue full");
  refuse_ = false;
  Fire(kT0 + 2000);
  EXPECT_EQ(book_.Find("s")->last_error, "");
  EXPECT_EQ(book_.Find("s")->jobs_created, 1u);
}

TEST_F(ScheduleBookTest, RestoredSchedulesThatNoLongerCheckAreKeptAndSayWhy) {
  ScheduleRecord good = Every("good", "* * * * * *");
  good.last_tick_ms = kT0;
  ScheduleRecord bad = Every("bad", "* * * * * *");
  bad.job = "bad";
  book_.Restore({good, bad}, Check);
  EXPECT_EQ(book_.NextMs("good"), kT0 + 1000);
  EXPECT_EQ(book_.NextMs("bad"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(book_.Find("bad")->last_error, "not running: job: not JSON");
  EXPECT_TRUE(sink_.records.schedules.empty());  // restoring writes nothing
}

}  // namespace
}  // namespace baton::engine
