// Lease: which one of the servers on a database is the leader, the one that runs the engine.
//
// The lease is a row in the database with an epoch (a fencing number), its holder and the
// holder's address, and a time at which it lapses, on the database's clock. A server takes a
// lapsed lease with a new epoch and renews it well before it lapses; every commit of the leader
// checks the epoch in its own transaction (Database::ConnectLeader), so the commit of a server
// that lost the lease fails, whatever it believes.
//
// Backends that serve one server per database (sqlite: the data directory's lock; memory) have
// no lease: Database::ConnectLease gives null, and the one server leads.
//
// Thread rules: one thread at a time.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace baton::store {

struct LeaseView {
  bool held = false;  // by the caller of Acquire, now
  int64_t epoch = 0;  // 0: never taken
  std::string holder;
  std::string address;       // the holder's, for redirects (`--advertise`)
  int64_t remaining_ms = 0;  // until it lapses; 0 or less: lapsed
};

class Lease {
 public:
  virtual ~Lease() = default;
  // Takes the lease for `ttl_ms` if it has lapsed: then the view is the caller's, with a new
  // epoch. Otherwise it is the holder's, not held.
  virtual Result<LeaseView> Acquire(const std::string& holder, const std::string& address,
                                    int64_t ttl_ms) = 0;
  // Extends the lease of `epoch` to `ttl_ms` from now; false if it has another epoch (deposed).
  virtual Result<bool> Renew(int64_t epoch, int64_t ttl_ms) = 0;
  // Lets the lease of `epoch` lapse now (a server that stops), so a standby takes over at once.
  virtual Status Release(int64_t epoch) = 0;
};

}  // namespace baton::store
