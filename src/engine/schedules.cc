#include "engine/schedules.h"

#include <limits>

namespace baton::engine {

namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
std::string Num(uint64_t n) { return std::to_string(n); }
}  // namespace

Status ScheduleBook::Put(ScheduleRecord rec, int64_t now_ms, const CheckTemplate& check) {
  if (!ValidSchedulingName(rec.name)) {
    return InvalidArgument("name: 1 to 64 of a-z A-Z 0-9 _ - . /, got \"" + rec.name + "\"");
  }
  if (rec.owner.empty()) return InvalidArgument("owner: must not be empty");
  Result<CronExpr> cron = CronExpr::Parse(rec.cron, rec.time_zone);
  if (!cron.ok()) return cron.status();
  Result<JobSpec> spec = check(rec);
  if (!spec.ok()) return spec.status();
  auto it = schedules_.find(rec.name);
  if (it == schedules_.end() && schedules_.size() >= limits_.schedules_max) {
    return ResourceExhausted("schedules: the server has " + Num(schedules_.size()) +
                             ", the most it keeps (schedules_max)");
  }
  if (it != schedules_.end()) {
    const ScheduleRecord& old = it->second->rec;
    if (old.owner != rec.owner) {
      return FailedPrecondition("schedule " + rec.name + ": another user's schedule has this name");
    }
    due_.erase({it->second->next_ms, rec.name});
    rec.created_ms = old.created_ms;
    rec.jobs_created = old.jobs_created;
    rec.last_job_id = old.last_job_id;
    // Ticks while it was paused are not made up.
    rec.last_tick_ms = old.paused && !rec.paused ? now_ms : old.last_tick_ms;
  } else {
    it = schedules_.emplace(rec.name, std::make_unique<Schedule>()).first;
    rec.created_ms = now_ms;
    rec.last_tick_ms = now_ms;
    rec.jobs_created = 0;
    rec.last_job_id = 0;
  }
  rec.last_error.clear();
  Schedule& s = *it->second;
  s.rec = std::move(rec);
  s.cron = *cron;
  s.spec = std::move(*spec);
  sink_->records.schedules.push_back(s.rec);
  Arm(s);
  return Status::Ok();
}

Status ScheduleBook::Delete(const std::string& name) {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return NotFound("schedule " + name + ": not found");
  due_.erase({it->second->next_ms, name});
  schedules_.erase(it);
  ScheduleRecord gone;
  gone.name = name;
  gone.deleted = true;
  sink_->records.schedules.push_back(std::move(gone));
  return Status::Ok();
}

void ScheduleBook::Restore(std::vector<ScheduleRecord> recs, const CheckTemplate& check) {
  for (ScheduleRecord& rec : recs) {
    auto s = std::make_unique<Schedule>();
    Result<CronExpr> cron = CronExpr::Parse(rec.cron, rec.time_zone);
    Result<JobSpec> spec = check(rec);
    if (cron.ok() && spec.ok()) {
      s->cron = *cron;
      s->spec = std::move(*spec);
    } else {
      // Kept, and said, rather than refusing to start: the tz database or the types changed.
      rec.last_error = "not running: " + (cron.ok() ? spec.status() : cron.status()).message();
    }
    s->rec = std::move(rec);
    Schedule& ref = *s;
    schedules_.emplace(ref.rec.name, std::move(s));
    Arm(ref);
  }
}

const ScheduleRecord* ScheduleBook::Find(const std::string& name) const {
  auto it = schedules_.find(name);
  return it == schedules_.end() ? nullptr : &it->second->rec;
}

std::vector<const ScheduleRecord*> ScheduleBook::List() const {
  std::vector<const ScheduleRecord*> out;
  out.reserve(schedules_.size());
  for (const auto& [name, s] : schedules_) out.push_back(&s->rec);
  return out;
}

int64_t ScheduleBook::NextMs(const std::string& name) const {
  auto it = schedules_.find(name);
  return it == schedules_.end() ? kNever : it->second->next_ms;
}

void ScheduleBook::Arm(Schedule& s) {
  s.next_ms = kNever;
  if (s.rec.paused || !s.cron) return;
  s.next_ms = s.cron->NextAfter(s.rec.last_tick_ms);
  if (s.next_ms != kNever) due_.emplace(s.next_ms, s.rec.name);
}

void ScheduleBook::Fire(int64_t now_ms, const SubmitJob& submit) {
  while (!due_.empty() && due_.begin()->first <= now_ms) {
    const std::string name = due_.begin()->second;
    due_.erase(due_.begin());
    Schedule& s = *schedules_.at(name);
    const int64_t grace_from = now_ms - limits_.misfire_grace_ms;
    // The due ticks: those older than the grace were missed (the server was down).
    int64_t latest_missed = 0;
    uint64_t missed = 0;
    std::vector<int64_t> on_time;
    int64_t last = s.rec.last_tick_ms;
    size_t steps = 0;
    for (int64_t t = s.next_ms; t <= now_ms; t = s.cron->NextAfter(t)) {
      last = t;
      if (t < grace_from) {
        latest_missed = t;
        ++missed;
        // After a long outage, frequent ticks are not walked one by one.
        if (++steps == 100'000) t = s.cron->NextAfter(grace_from - 1) - 1;
      } else {
        on_time.push_back(t);
      }
    }
    if (missed > 0) {
      if (s.rec.catch_up == CatchUp::kOnce) {
        MakeJob(s, latest_missed, missed, submit);
      } else {
        s.rec.last_error = "skipped " + Num(missed) + " ticks missed while the server was down";
      }
    }
    for (int64_t t : on_time) MakeJob(s, t, 0, submit);
    s.rec.last_tick_ms = last;
    sink_->records.schedules.push_back(s.rec);
    Arm(s);
  }
}

void ScheduleBook::MakeJob(Schedule& s, int64_t tick_ms, uint64_t missed, const SubmitJob& submit) {
  JobSpec spec = s.spec;
  // The key names the tick: one job per tick, whatever happens.
  spec.idempotency_key = "schedule:" + s.rec.name + ":" + Num(static_cast<uint64_t>(tick_ms));
  if (missed > 0) spec.tags.push_back("catch-up:" + Num(missed));
  Result<SubmitResult> r = submit(std::move(spec));
  if (!r.ok()) {
    s.rec.last_error = "tick " + Num(static_cast<uint64_t>(tick_ms)) + ": " + r.status().message();
    return;
  }
  ++s.rec.jobs_created;
  s.rec.last_job_id = r->job_id;
  s.rec.last_error.clear();
}

}  // namespace baton::engine
