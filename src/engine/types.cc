#include "engine/types.h"

#include <array>

namespace baton::engine {
namespace {

constexpr std::array<std::string_view, kJobStateCount> kStateNames = {
    "pending",    "queued",    "running", "submitted", "waiting_children",
    "retry_wait", "succeeded", "failed",  "cancelled"};

constexpr std::array<std::string_view, 8> kOutcomeNames = {
    "none", "succeeded", "error", "timeout", "lost", "declined", "rejected", "cancelled"};

constexpr std::array<std::string_view, 2> kEventKindNames = {"state", "progress"};

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

}  // namespace baton::engine
