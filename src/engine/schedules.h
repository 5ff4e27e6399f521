// ScheduleBook: the engine's cron schedules, one of the parts the Engine composes. It keeps each
// schedule with its parsed expression and its checked job template, knows when each ticks next,
// and at a tick submits the schedule's job through the engine (one job per tick: the job's
// idempotency key names the tick). What changes goes to the engine's Sink (sink.h), in the
// same commit as the jobs a tick made.
//
// Thread rules: the engine's thread, like the engine.
#pragma once

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/cron.h"
#include "engine/sink.h"
#include "engine/types.h"

namespace baton::engine {

struct ScheduleLimits {
  size_t schedules_max = 10000;
  // A tick later than this when the engine gets to it (the server was down) was missed.
  int64_t misfire_grace_ms = 60'000;
};

class ScheduleBook {
 public:
  // The job template of a schedule, checked as a submit would check it (its owner set).
  using CheckTemplate = std::function<Result<JobSpec>(const ScheduleRecord&)>;
  using SubmitJob = std::function<Result<SubmitResult>(JobSpec)>;

  // `sink`: where the schedules' records go (the engine's, shared by its parts).
  ScheduleBook(ScheduleLimits limits, Sink* sink) : limits_(limits), sink_(sink) {}

  // Creates a schedule, or replaces the one of that name (keeping its counts and last tick; a
  // new schedule starts from now, and so does one that is resumed). Refused, changing nothing:
  // a bad name, cron expression or template, another owner's name, past schedules_max.
  Status Put(ScheduleRecord rec, int64_t now_ms, const CheckTemplate& check);
  Status Delete(const std::string& name);
  // The schedules read back at recovery. One whose expression or template no longer checks
  // (the time zone database or the types changed) is kept and says why it does not run.
  void Restore(std::vector<ScheduleRecord> recs, const CheckTemplate& check);

  const ScheduleRecord* Find(const std::string& name) const;
  std::vector<const ScheduleRecord*> List() const;
  // When the schedule ticks next; INT64_MAX when paused, unknown, or never.
  int64_t NextMs(const std::string& name) const;
  // The earliest tick of any schedule; INT64_MAX when none is armed.
  int64_t NextDueMs() const {
    return due_.empty() ? std::numeric_limits<int64_t>::max() : due_.begin()->first;
  }

  // Makes the jobs of every tick due by `now_ms`: the on-time ones each, the missed ones (older
  // than the grace) once or not at all as the schedule's catch_up says.
  void Fire(int64_t now_ms, const SubmitJob& submit);

 private:
  struct Schedule {
    ScheduleRecord rec;
    std::optional<CronExpr> cron;  // none if the stored expression no longer parses
    JobSpec spec;                  // the template, checked
    int64_t next_ms = std::numeric_limits<int64_t>::max();
  };
  void Arm(Schedule& s);
  void MakeJob(Schedule& s, int64_t tick_ms, uint64_t missed, const SubmitJob& submit);

  ScheduleLimits limits_;
  Sink* sink_;
  std::map<std::string, std::unique_ptr<Schedule>> schedules_;
  std::set<std::pair<int64_t, std::string>> due_;  // (next tick, name)
};

}  // namespace baton::engine
