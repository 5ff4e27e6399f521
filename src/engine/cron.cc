#include "engine/cron.h"

#include <date/tz.h>

#include <charconv>
#include <chrono>
#include <limits>
#include <vector>

namespace baton::engine {

namespace {

constexpr const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kWeekdays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

struct Field {
  const char* name;
  unsigned min, max;
  const char* const* names;  // for months (from 1) and weekdays (from 0)
  size_t name_count;
};

Result<unsigned> Value(std::string_view text, const Field& f) {
  for (size_t i = 0; i < f.name_count; ++i) {
    std::string upper(text);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == f.names[i]) return static_cast<unsigned>(i + (f.min == 1 ? 1 : 0));
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument("cron: the " + std::string(f.name) + " field: \"" + std::string(text) +
                           "\" is not a number");
  }
  // Day of the week 7 is Sunday too.
  const unsigned max = f.names == kWeekdays ? 7 : f.max;
  if (v < f.min || v > max) {
    return InvalidArgument("cron: the " + std::string(f.name) + " field: " + std::to_string(v) +
                           " is out of " + std::to_string(f.min) + "-" + std::to_string(max));
  }
  return v;
}

// Sets the bits of `out` the field's text names; `restricted`: it was not "*".
template <size_t N>
Status ParseField(std::string_view text, const Field& f, std::bitset<N>* out, bool* restricted) {
  *restricted = text != "*" && text != "?";
  for (std::string_view part : Split(text, ',')) {
    unsigned step = 1;
    const size_t slash = part.find('/');
    if (slash != std::string_view::npos) {
      std::string_view s = part.substr(slash + 1);
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || step == 0) {
        return InvalidArgument("cron: the " + std::string(f.name) + " field: the step \"" +
                               std::string(s) + "\" must be a number above 0");
      }
      part = part.substr(0, slash);
    }
    unsigned lo = f.min, hi = f.max;
    if (part != "*" && part != "?") {
      const size_t dash = part.find('-');
      Result<unsigned> a = Value(part.substr(0, dash), f);
      if (!a.ok()) return a.status();
      lo = hi = *a;
      if (dash != std::string_view::npos) {
        Result<unsigned> b = Value(part.substr(dash + 1), f);
        if (!b.ok()) return b.status();
        hi = *b;
      } else if (slash != std::string_view::npos) {
        hi = f.max;  // "5/15": from 5 on, every 15
      }
      if (lo > hi) {
        return InvalidArgument("cron: the " + std::string(f.name) + " field: the range " +
                               std::string(part) + " runs backwards");
      }
    }
    for (unsigned v = lo; v <= hi; v += step) out->set(f.names == kWeekdays ? v % 7 : v);
  }
  return Status::Ok();
}

}  // namespace

Result<CronExpr> CronExpr::Parse(std::string_view expression, std::string_view time_zone) {
  CronExpr c;
  try {
    c.zone_ = date::locate_zone(time_zone);
  } catch (const std::exception&) {
    return InvalidArgument("time_zone: \"" + std::string(time_zone) +
                           "\" is not a time zone (an IANA name such as Europe/Paris, or UTC)");
  }
  std::string_view e = expression;
  if (e == "@yearly" || e == "@annually") e = "0 0 1 1 *";
  if (e == "@monthly") e = "0 0 1 * *";
  if (e == "@weekly") e = "0 0 * * 0";
  if (e == "@daily" || e == "@midnight") e = "0 0 * * *";
  if (e == "@hourly") e = "0 * * * *";
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(e, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5 && fields.size() != 6) {
    return InvalidArgument("cron: \"" + std::string(expression) +
                           "\" must have 5 fields (minute hour day month weekday), 6 with "
                           "seconds first, or be @hourly, @daily, @weekly, @monthly, @yearly");
  }
  size_t i = 0;
  bool unused = false;
  if (fields.size() == 6) {
    BATON_RETURN_IF_ERROR(
        ParseField(fields[i++], Field{"second", 0, 59, nullptr, 0}, &c.seconds_, &unused));
  } else {
    c.seconds_.set(0);
  }
  BATON_RETURN_IF_ERROR(
      ParseField(fields[i++], Field{"minute", 0, 59, nullptr, 0}, &c.minutes_, &unused));
  BATON_RETURN_IF_ERROR(
      ParseField(fields[i++], Field{"hour", 0, 23, nullptr, 0}, &c.hours_, &unused));
  BATON_RETURN_IF_ERROR(ParseField(fields[i++], Field{"day-of-month", 1, 31, nullptr, 0}, &c.days_,
                                   &c.days_restricted_));
  BATON_RETURN_IF_ERROR(
      ParseField(fields[i++], Field{"month", 1, 12, kMonths, 12}, &c.months_, &unused));
  BATON_RETURN_IF_ERROR(ParseField(fields[i++], Field{"day-of-week", 0, 6, kWeekdays, 7},
                                   &c.weekdays_, &c.weekdays_restricted_));
  return c;
}

bool CronExpr::DayMatches(unsigned month, unsigned day, unsigned weekday) const {
  if (!months_.test(month)) return false;
  const bool d = days_.test(day), w = weekdays_.test(weekday);
  if (days_restricted_ && weekdays_restricted_) return d || w;
  return d && w;
}

int64_t CronExpr::NextAfter(int64_t after_ms) const {
  using namespace std::chrono;
  // From the next whole second after `after_ms`, in local (wall-clock) time.
  const sys_seconds from{seconds{after_ms / 1000 + (after_ms >= 0 ? 1 : 0)}};
  const auto local_from = zone_->to_local(from);
  const auto first_day = floor<days>(local_from);
  const seconds first_second = local_from - first_day;
  for (int d = 0; d < 5 * 366 + 1; ++d) {
    const date::local_days day = first_day + days{d};
    const date::year_month_day ymd{day};
    const unsigned weekday = date::weekday{day}.c_encoding();
    if (!DayMatches(static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                    weekday)) {
      continue;
    }
    for (unsigned h = 0; h < 24; ++h) {
      if (!hours_.test(h)) continue;
      if (d == 0 && hours{h + 1} <= first_second) continue;
      for (unsigned m = 0; m < 60; ++m) {
        if (!minutes_.test(m)) continue;
        for (unsigned s = 0; s < 60; ++s) {
          if (!seconds_.test(s)) continue;
          const seconds at = hours{h} + minutes{m} + seconds{s};
          if (d == 0 && at < first_second) continue;
          const date::local_seconds local = day + at;
          const date::local_info info = zone_->get_info(local);
          if (info.result == date::local_info::nonexistent) continue;  // skipped by the clocks
          const sys_seconds sys{local.time_since_epoch() - info.first.offset};
          if (sys < from) continue;  // the second pass of a repeated hour
          return duration_cast<milliseconds>(sys.time_since_epoch()).count();
        }
      }
    }
  }
  return std::numeric_limits<int64_t>::max();
}

}  // namespace baton::engine
