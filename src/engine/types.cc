#include "engine/types.h"

#include <array>
#include <charconv>
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

}  // namespace baton::engine
