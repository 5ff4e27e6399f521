// The engine's own header, for its .cc files only (engine.cc, engine_validate.cc,
// engine_attempts.cc, engine_children.cc, engine_records.cc): a job as the engine holds it, and
// the small helpers they share.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace baton::engine {

struct Engine::Job : SchedEntry {
  JobRecord rec;
  std::array<int32_t, 2> timer_pos{-1, -1};
  int64_t lease_persisted_ms = 0;  // the lease expiry the store last saw
  bool dirty = false;
  bool is_new = true;  // not yet handed to the store
  bool in_finished = false;
  bool attached = false;  // a sub-job counted by its parent's current attempt
  std::vector<JobId> children;
};

namespace detail {

inline std::string Str(JobState s) { return std::string(JobStateName(s)); }
inline std::string Num(uint64_t n) { return std::to_string(n); }

// The key of the idempotency map: owner, NUL, key.
inline std::string KeyOf(const std::string& owner, const std::string& key) {
  std::string k;
  k.reserve(owner.size() + 1 + key.size());
  k += owner;
  k += '\0';
  k += key;
  return k;
}

// The type whose workers run the job's attempts: its splitter's, if it has one.
inline const std::string& RunType(const JobSpec& spec) {
  return spec.splitter.empty() ? spec.type : spec.splitter;
}

// A job type's name: 1 to `max` bytes of letters, digits and _ - . : / (engine_validate.cc).
Status CheckTypeName(std::string_view field, const std::string& name, size_t max);

}  // namespace detail
}  // namespace baton::engine
