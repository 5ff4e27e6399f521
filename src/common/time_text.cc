#include "common/time_text.h"

#include <charconv>
#include <chrono>
#include <cstdint>

namespace baton {

std::optional<int64_t> ParseDatetimeMs(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)
  auto num = [&](size_t at, size_t n, int* out) {
    if (at + n > s.size()) return false;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !num(0, 4, &y) || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' ||
      !num(8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, &h) ||
      s[13] != ':' || !num(14, 2, &mi) || s[16] != ':' || !num(17, 2, &se)) {
    return std::nullopt;
  }
  size_t at = 19;
  int64_t ms = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    int64_t scale = 100;
    const size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      ms += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int oh, om;
    if (!num(at + 1, 2, &oh) || at + 3 >= s.size() || s[at + 3] != ':' || !num(at + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_min = (s[at] == '-' ? -1 : 1) * (oh * 60 + om);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  const int64_t days = sys_days(date).time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi - offset_min) * 60'000 + se * 1000 + ms;
}

std::optional<int64_t> ParseDurationMs(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  size_t at = 0;
  while (at < s.size()) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data() + at, s.data() + s.size(), n);
    if (ec != std::errc() || n < 0 || end == s.data() + s.size()) return std::nullopt;
    at = static_cast<size_t>(end - s.data());
    int64_t unit;
    if (s.substr(at, 2) == "ms") {
      unit = 1;
      at += 2;
    } else if (s[at] == 's') {
      unit = 1000;
      ++at;
    } else if (s[at] == 'm') {
      unit = 60'000;
      ++at;
    } else if (s[at] == 'h') {
      unit = 3'600'000;
      ++at;
    } else if (s[at] == 'd') {
      unit = 86'400'000;
      ++at;
    } else {
      return std::nullopt;
    }
    if (n > (INT64_MAX - total) / unit) return std::nullopt;
    total += n * unit;
  }
  return total;
}

}  // namespace baton
