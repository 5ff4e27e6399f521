// The guarantees of design.md, checked against what a store holds after a simulated run: every
// acknowledged job stored and terminal with its key, a gap-free event log that agrees with each
// job's state, attempts within their maximum, one committed result per success, what workers and
// clients were told still true, and the engine in agreement with the store. Both simulations (the
// engine alone, and the runtime with the worker hub) end with it.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "engine/types.h"
#include "sim/simulation.h"
#include "store/store.h"

namespace baton::sim {

// What the simulated clients and workers were told.
struct ClientView {
  const std::map<std::string, engine::JobId>& acked;                // key -> acknowledged job
  const std::map<engine::JobId, engine::AttemptId>& acked_success;  // completions acknowledged
  const std::set<engine::JobId>& acked_cancel;
  uint32_t refused = 0;  // submits refused with a clear reason
  uint32_t wanted = 0;   // submits the clients meant to make
};

// Fills `report`'s counts, events and digest; each broken guarantee goes to `violation`. `live`
// gives the engine's copy of a job (null when it holds none).
void CheckInvariants(store::Store& store, const ClientView& seen,
                     const std::function<const engine::JobRecord*(engine::JobId)>& live,
                     SimReport* report, const std::function<void(std::string)>& violation);

// FNV-1a over `s`, continuing from `h`: the run's digest.
uint64_t Fnv(uint64_t h, std::string_view s);

}  // namespace baton::sim
