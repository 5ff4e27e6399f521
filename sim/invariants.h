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
#include <vector>

#include "common/random.h"
#include "engine/engine.h"
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

// The engine's configuration in both simulations: short leases and timeouts, so that faults show
// within seconds of simulated time.
engine::EngineConfig SimEngineConfig(uint64_t seed);

// `n` workers named w0, w1, ..., serving the type sets in turn, each with 1 to 8 slots.
template <typename Worker>
std::vector<Worker> SimWorkers(uint32_t n, const std::vector<std::vector<std::string>>& type_sets,
                               Random& rng) {
  std::vector<Worker> workers;
  for (uint32_t i = 0; i < n; ++i) {
    Worker w;
    w.name = "w" + std::to_string(i);
    w.types = type_sets[i % type_sets.size()];
    w.capacity = 1 + static_cast<uint32_t>(rng.Below(8));
    workers.push_back(std::move(w));
  }
  return workers;
}

// FNV-1a over `s`, continuing from `h`: the run's digest.
uint64_t Fnv(uint64_t h, std::string_view s);

}  // namespace baton::sim
