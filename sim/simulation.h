// Deterministic simulations of Baton: many simulated workers and clients, a simulated clock, and
// faults (workers that fail, hang, decline, stall, vanish and come back with stale completions; a
// server that crashes and loses what it had not committed; commits that fail). One drives the
// engine alone over a memory store; the other the runtime (engine pass and group commit, stepped)
// and the worker hub, with workers that speak the protocol, over a store that fails and stalls.
// Afterwards each checks the guarantees of design.md against what the store holds
// (invariants.h).
//
// Everything is driven by one seed: the same seed replays exactly (the digest says so).
// Thread rules: single-threaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace baton::sim {

struct SimOptions {
  uint64_t seed = 1;
  uint32_t jobs = 10000;  // top-level jobs the clients get acknowledged
  uint32_t workers = 24;
  // Clients spread their submits over this much simulated time; faults strike until then.
  int64_t submit_period_ms = 120'000;
  // Fault rates, per simulated step (10 ms).
  double server_crash_per_step = 0.001;
  double commit_failure_per_step = 0.001;
  double worker_vanish_per_step = 0.0003;
  double worker_pause_per_step = 0.0003;
  // The runtime simulation: a commit held back for 50-550 ms (a slow disk), per step.
  double commit_delay_per_step = 0.01;
  int64_t step_ms = 10;
  int64_t drain_ms_max = 4LL * 3600 * 1000;  // after the last submit, how long jobs may take
};

struct SimReport {
  uint64_t seed = 0;
  std::vector<std::string> violations;  // empty: every invariant held
  uint64_t digest = 0;                  // a hash of the final event log: equal runs, equal digests
  // What happened, for the log.
  uint64_t jobs_total = 0;  // including sub-jobs
  uint64_t succeeded = 0, failed = 0, cancelled = 0;
  uint64_t attempts = 0, declines = 0, timeouts = 0, lost = 0, rejected = 0;
  uint64_t events = 0;
  uint64_t server_crashes = 0, commit_failures = 0, worker_vanishes = 0, worker_pauses = 0;
  uint64_t stale_refused = 0;  // completions, heartbeats and progress refused as stale
  // The runtime simulation: transactions and the batches they held (their ratio: the grouping).
  uint64_t transactions = 0, batches = 0;
  int64_t simulated_ms = 0;

  bool ok() const { return violations.empty(); }
  std::string Summary() const;
};

// The engine alone, its commits made by the simulation (simulation.cc).
SimReport RunSimulation(const SimOptions& options);
// The runtime, stepped, with the worker hub and workers that speak the protocol, over a memory
// store behind a FaultyStore (runtime_simulation.cc).
SimReport RunRuntimeSimulation(const SimOptions& options);

}  // namespace baton::sim
