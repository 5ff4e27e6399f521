#include "engine/types.h"

#include <array>
#include <charconv>
#include <limits>
#include <string>

namespace baton::engine {
namespace {

constexpr std::array<std::string_view, kJobStateCount> kStateNames = {
    "pending",    "queued",    "running", "submitted", "waiting_children",
    "retry_wait", "succeeded", "failed",  "cancelled"};

constexpr std::array<std::string_view, 8> kOutcomeNames = {
    "none", "succeeded", "error", "timeout", "lost", "declined", "rejected", "cancelled"};

constexpr std::array<std::string_view, 3> kEventKindNames = {"state", "progress", "workflow"};

template <typename E, size_t N>
std::optional<E> ParseName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view JobStateName(JobState s) { return kStateNames[static_cast<size_t>(s)]; }
std::optional<JobState> ParseJobState(std::string_view name) {
  return ParseName<JobState>(kStateNames, name);
}

std::string_view OutcomeName(Outcome o) { return kOutcomeNames[static_cast<size_t>(o)]; }
std::optional<Outcome> ParseOutcome(std::string_view name) {
  return ParseName<Outcome>(kOutcomeNames, name);
}

std::string_view EventKindName(EventKind k) { return kEventKindNames[static_cast<size_t>(k)]; }
std::optional<EventKind> ParseEventKind(std::string_view name) {
  return ParseName<EventKind>(kEventKindNames, name);
}

namespace {
constexpr std::array<std::string_view, 3> kRoleNames = {"job", "aggregator", "verifier"};
}  // namespace

std::string_view JobRoleName(JobRole r) { return kRoleNames[static_cast<size_t>(r)]; }
std::optional<JobRole> ParseJobRole(std::string_view name) {
  return ParseName<JobRole>(kRoleNames, name);
}

std::string ChildrenPolicyText(const ChildrenPolicy& p) {
  switch (p.kind) {
    case ChildrenPolicy::kAll:
      return "all";
    case ChildrenPolicy::kFailuresMax:
      return "failures_max:" + std::to_string(p.n);
    case ChildrenPolicy::kQuorum:
      return "quorum:" + std::to_string(p.n);
  }
  return "all";
}

std::optional<ChildrenPolicy> ParseChildrenPolicy(std::string_view text) {
  if (text == "all") return ChildrenPolicy{};
  ChildrenPolicy p;
  std::string_view number;
  if (text.starts_with("failures_max:")) {
    p.kind = ChildrenPolicy::kFailuresMax;
    number = text.substr(13);
  } else if (text.starts_with("quorum:")) {
    p.kind = ChildrenPolicy::kQuorum;
    number = text.substr(7);
  } else {
    return std::nullopt;
  }
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), p.n);
  if (ec != std::errc() || end != number.data() + number.size() || number.empty()) {
    return std::nullopt;
  }
  return p;
}

std::string_view CatchUpName(CatchUp c) { return c == CatchUp::kOnce ? "once" : "skip"; }

std::optional<CatchUp> ParseCatchUp(std::string_view name) {
  if (name == "skip") return CatchUp::kSkip;
  if (name == "once") return CatchUp::kOnce;
  return std::nullopt;
}

bool ValidSchedulingName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

namespace {

// "a=1,b=2" into pairs, each name and value checked by `value`; nullopt if malformed or unsorted.
template <typename V, typename ParseValue>
std::optional<std::vector<std::pair<std::string, V>>> ParsePairs(std::string_view text,
                                                                 ParseValue value) {
  std::vector<std::pair<std::string, V>> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = item.substr(0, eq);
    std::optional<V> v = value(item.substr(eq + 1));
    if (!ValidSchedulingName(name) || !v) return std::nullopt;
    if (!out.empty() && out.back().first >= name) return std::nullopt;
    out.emplace_back(std::string(name), std::move(*v));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

std::string ResourcesText(const Resources& r) {
  std::string out;
  for (const auto& [name, amount] : r) {
    if (!out.empty()) out += ',';
    out += name;
    out += '=';
    out += std::to_string(amount);
  }
  return out;
}

std::optional<Resources> ParseResourcesText(std::string_view text) {
  return ParsePairs<int64_t>(text, [](std::string_view v) -> std::optional<int64_t> {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty() || n <= 0) {
      return std::nullopt;
    }
    return n;
  });
}

std::string LabelsText(const Labels& l) {
  std::string out;
  for (const auto& [name, value] : l) {
    if (!out.empty()) out += ',';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::optional<Labels> ParseLabelsText(std::string_view text) {
  return ParsePairs<std::string>(text, [](std::string_view v) -> std::optional<std::string> {
    if (!ValidSchedulingName(v)) return std::nullopt;
    return std::string(v);
  });
}

bool InAccount(std::string_view owner, std::string_view account) {
  if (owner.size() == account.size()) return owner == account;
  return owner.size() > account.size() && owner[account.size()] == '/' &&
         owner.substr(0, account.size()) == account;
}

int64_t AttemptDeadlineMs(const JobRecord& job) {
  if (job.spec.timeout_ms == kNoTimeout) return std::numeric_limits<int64_t>::max();
  return job.status.attempt_started_ms + job.spec.timeout_ms;
}

}  // namespace baton::engine
