#include "engine/cron.h"

#include <gtest/gtest.h>

#include "common/time_text.h"

namespace baton::engine {
namespace {

int64_t At(const char* rfc3339) { return *ParseDatetimeMs(rfc3339); }

int64_t Next(const char* expr, const char* after, const char* tz = "UTC") {
  Result<CronExpr> c = CronExpr::Parse(expr, tz);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c->NextAfter(At(after)) : 0;
}

TEST(CronTest, FieldsAsCronReadsThem) {
  struct Row {
    const char* expr;
    const char* after;
    const char* next;
  } rows[] = {
      {"*/5 * * * *", "2026-11-23T10:02:30Z", "2026-11-23T10:05:00Z"},
      {"*/5 * * * *", "2026-11-23T10:05:00Z", "2026-11-23T10:10:00Z"},  // strictly after
      {"0 3 * * *", "2026-11-23T10:00:00Z", "2026-11-24T03:00:00Z"},
      {"30 9 * * MON-FRI", "2026-11-27T10:00:00Z", "2026-11-30T09:30:00Z"},  // Fri -> Mon
      {"0 0 1 JAN *", "2026-11-23T00:00:00Z", "2027-01-01T00:00:00Z"},
      {"0 12 13 * 5", "2026-11-01T00:00:00Z", "2026-11-06T12:00:00Z"},  // 13th or a Friday
      {"0 0 * * 7", "2026-11-23T00:00:00Z", "2026-11-29T00:00:00Z"},    // 7 is Sunday
      {"15,45 8-10/2 * * *", "2026-11-23T08:20:00Z", "2026-11-23T08:45:00Z"},
      {"15,45 8-10/2 * * *", "2026-11-23T08:50:00Z", "2026-11-23T10:15:00Z"},
      {"*/10 * * * * *", "2026-11-23T10:00:01Z", "2026-11-23T10:00:10Z"},  // seconds
      {"@hourly", "2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z"},
      {"@daily", "2026-11-23T10:00:00Z", "2026-11-24T00:00:00Z"},
      {"0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},  // leap years only
  };
  for (const Row& r : rows) {
    EXPECT_EQ(Next(r.expr, r.after), At(r.next)) << r.expr << " after " << r.after;
  }
  EXPECT_EQ(Next("0 0 30 2 *", "2026-01-01T00:00:00Z"), INT64_MAX);  // never
}

TEST(CronTest, TimeZonesAndDaylightSaving) {
  // 03:00 in Paris is 02:00 UTC in winter.
  EXPECT_EQ(Next("0 3 * * *", "2026-11-23T10:00:00Z", "Europe/Paris"), At("2026-11-24T02:00:00Z"));
  // Spring forward (2026-03-29, 02:00 -> 03:00 in Paris): 02:30 does not happen that day.
  EXPECT_EQ(Next("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Paris"), At("2026-03-30T00:30:00Z"));
  // Fall back (2026-10-25, 03:00 -> 02:00): 02:30 happens twice and ticks once, the first time.
  const int64_t first = Next("30 2 * * *", "2026-10-24T12:00:00Z", "Europe/Paris");
  EXPECT_EQ(first, At("2026-10-25T00:30:00Z"));
  Result<CronExpr> c = CronExpr::Parse("30 2 * * *", "Europe/Paris");
  EXPECT_EQ(c->NextAfter(first), At("2026-10-26T01:30:00Z"));
}

TEST(CronTest, BadExpressionsNameTheirField) {
  struct Row {
    const char* expr;
    const char* tz;
    const char* error;
  } rows[] = {
      {"* * * *", "UTC",
       "cron: \"* * * *\" must have 5 fields (minute hour day month weekday), 6 with seconds "
       "first, or be @hourly, @daily, @weekly, @monthly, @yearly"},
      {"0 24 * * *", "UTC", "cron: the hour field: 24 is out of 0-23"},
      {"x * * * *", "UTC", "cron: the minute field: \"x\" is not a number"},
      {"*/0 * * * *", "UTC", "cron: the minute field: the step \"0\" must be a number above 0"},
      {"0 0 * FOO *", "UTC", "cron: the month field: \"FOO\" is not a number"},
      {"0 10-5 * * *", "UTC", "cron: the hour field: the range 10-5 runs backwards"},
      {"0 0 * * *", "Mars/Olympus",
       "time_zone: \"Mars/Olympus\" is not a time zone (an IANA name such as Europe/Paris, or "
       "UTC)"},
  };
  for (const Row& r : rows) {
    Result<CronExpr> c = CronExpr::Parse(r.expr, r.tz);
    ASSERT_FALSE(c.ok()) << r.expr;
    EXPECT_EQ(c.status().message(), r.error);
  }
}

}  // namespace
}  // namespace baton::engine
