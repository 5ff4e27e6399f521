// Cron expressions in a time zone: when a schedule's ticks fall.
//
//   "*/5 * * * *"        5 fields: minute hour day-of-month month day-of-week
//   "*/10 * * * * *"     6 fields: a seconds field first
//   "@hourly" "@daily" "@weekly" "@monthly" "@yearly"
// Each field takes *, a value, a range a-b, a list a,b,c and a step (*/n, a-b/n); months take
// JAN..DEC and days of the week SUN..SAT (0 or 7 is Sunday). As in cron, a day matches when both
// day fields match, except that when both are restricted either one is enough.
//
// Times are wall-clock times in the schedule's time zone (an IANA name such as "Europe/Paris";
// the system's time zone database). A time the clocks skip (a spring-forward gap) has no tick; a
// time they pass twice (fall back) ticks once, the first time.
//
// Thread rules: a parsed CronExpr is immutable; its methods are thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace date {
class time_zone;
}

namespace baton::engine {

class CronExpr {
 public:
  // An error names the field and what was wrong ("cron: the hour field: 24 is out of 0-23").
  static Result<CronExpr> Parse(std::string_view expression, std::string_view time_zone = "UTC");

  // The first tick strictly after `after_ms` (ms since the epoch), or INT64_MAX if there is none
  // within five years (say, February 30th).
  int64_t NextAfter(int64_t after_ms) const;

 private:
  bool DayMatches(unsigned month, unsigned day, unsigned weekday) const;

  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
  const date::time_zone* zone_ = nullptr;
};

}  // namespace baton::engine
