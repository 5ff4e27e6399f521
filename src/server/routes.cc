#include "server/routes.h"

#include <charconv>
#include <limits>

namespace baton::server {

// The whole of `text` as a number in [min, max], or nothing.
std::optional<uint64_t> ParseNumber(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

void RoutePatterns::Add(http::verb method, std::string_view pattern) {
  BATON_CHECK(pattern.size() > 1 && pattern[0] == '/');
  Pattern p{method, {}};
  size_t at = 1;
  while (at <= pattern.size()) {
    size_t end = pattern.find('/', at);
    if (end == std::string_view::npos) end = pattern.size();
    const std::string_view s = pattern.substr(at, end - at);
    BATON_CHECK(!s.empty());
    Segment seg{Segment::kLiteral, std::string(s)};
    if (s == "{job}") seg.kind = Segment::kJob;
    if (s == "{workflow}") seg.kind = Segment::kWorkflow;
    if (s == "{attempt}") seg.kind = Segment::kAttempt;
    if (s == "{request}") seg.kind = Segment::kRequest;
    if (s == "{name}") seg.kind = Segment::kName;
    if (s == "{path...}") {
      seg.kind = Segment::kPath;
      BATON_CHECK(end == pattern.size());  // the rest: last
    }
    BATON_CHECK(seg.kind != Segment::kLiteral || s.front() != '{');  // an unknown parameter
    p.segments.push_back(std::move(seg));
    at = end + 1;
  }
  patterns_.push_back(std::move(p));
}

bool RoutePatterns::Fits(const Pattern& p, const std::vector<std::string>& segments,
                         RouteArgs* args, Status* error) {
  const bool rest = !p.segments.empty() && p.segments.back().kind == Segment::kPath;
  if (rest ? segments.size() < p.segments.size() : segments.size() != p.segments.size()) {
    return false;
  }
  // Literals first: a path that differs in one is not this route, whatever its parameters.
  for (size_t i = 0; i < p.segments.size(); ++i) {
    if (p.segments[i].kind == Segment::kLiteral && p.segments[i].literal != segments[i]) {
      return false;
    }
  }
  constexpr uint64_t kIdMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (size_t i = 0; i < p.segments.size(); ++i) {
    const std::string& s = segments[i];
    auto id = [&](const char* what, uint64_t max, uint64_t* out) {
      std::optional<uint64_t> v = ParseNumber(s, 1, max);
      if (!v) {
        *error =
            InvalidArgument(std::string(what) + ": must be a positive number, got \"" + s + "\"");
        return false;
      }
      *out = *v;
      return true;
    };
    switch (p.segments[i].kind) {
      case Segment::kLiteral:
        break;
      case Segment::kJob:
        if (!id("job id", kIdMax, &args->job)) return false;
        break;
      case Segment::kWorkflow:
        if (!id("workflow id", kIdMax, &args->workflow)) return false;
        break;
      case Segment::kAttempt:
        if (!id("attempt id", kIdMax, &args->attempt)) return false;
        break;
      case Segment::kRequest:
        if (!id("snapshot request", UINT64_MAX, &args->request)) return false;
        break;
      case Segment::kName:
        args->name = s;
        break;
      case Segment::kPath:
        args->path.clear();
        for (size_t k = i; k < segments.size(); ++k) {
          if (k > i) args->path += '/';
          args->path += segments[k];
        }
        break;
    }
  }
  return true;
}

RoutePatterns::Match RoutePatterns::Find(http::verb method,
                                         const std::vector<std::string>& segments,
                                         RouteArgs* args) const {
  Match m;
  // The first route that fits, in table order; a parameter error is reported only when none does
  // (so /v1/jobs/retry is the literal route, not job "retry").
  for (size_t i = 0; i < patterns_.size(); ++i) {
    Status error;
    RouteArgs a;
    if (!Fits(patterns_[i], segments, &a, &error)) {
      if (!error.ok() && m.error.ok() && patterns_[i].method == method) m.error = error;
      continue;
    }
    if (patterns_[i].method != method) {
      m.path = true;
      continue;
    }
    m.route = static_cast<int>(i);
    m.error = Status::Ok();
    *args = std::move(a);
    return m;
  }
  return m;
}

}  // namespace baton::server
