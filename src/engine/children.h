// The rules of sub-jobs and helper jobs, one of the parts the Engine composes: when a parent's
// sub-jobs decide its fate (its children policy), what its aggregator is given, and what a
// verifier's result means. Pure functions of records; the engine applies their answers to its
// jobs (engine_children.cc).
//
// Thread rules: pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/text.h"
#include "engine/types.h"

namespace baton::engine::children {

// What a parent's sub-jobs say so far, under its policy.
enum class Verdict {
  kWait,       // sub-jobs still run, and the policy can still be met
  kFail,       // the policy can no longer be met (`why` says how)
  kAggregate,  // all ended within the policy, and the parent has an aggregator
  kSucceed,    // all ended within the policy
};
struct Counts {
  uint32_t total = 0;
  uint32_t done = 0;
  uint32_t failed = 0;  // ended without succeeding (counted in done)
};
// `why` is set for kFail.
Verdict Judge(const ChildrenPolicy& policy, const Counts& counts, bool has_aggregator,
              std::string* why);

// The aggregator's input: the parent (id, type, payload, result), then every sub-job of its
// attempt in the order given (id, type, state, result when succeeded, error when not). Past
// `bytes_max` a ResourceExhausted error says so, without building the rest.
Result<std::string> AggregatorInput(const JobRecord& parent,
                                    const std::vector<const JobRecord*>& children,
                                    size_t bytes_max);

// A verifier's input: the job (id, type, payload, attempt id and number) and the result its
// attempt handed in.
std::string VerifierInput(const JobRecord& job);

// A verifier's verdict, read from its result: true, false, or {"accept": bool, "reason": "..."}.
// None when the result is neither.
struct VerifierVerdict {
  bool accept = false;
  std::string reason;
};
std::optional<VerifierVerdict> ParseVerdict(std::string_view result);
// What a verifier's result must be, in words (for the rejection of one that is not).
inline constexpr std::string_view kVerdictForm =
    R"(its result must be true, false or {"accept": true|false, "reason": "..."})";

}  // namespace baton::engine::children
