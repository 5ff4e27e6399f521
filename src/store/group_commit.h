// GroupCommitter: makes record batches durable on a dedicated thread, one transaction at a time.
// Everything handed over while a commit is in flight rides the next transaction together, so the
// cost of an fsync is shared by every command that waited for it. A batch's callback runs after
// the transaction that holds it, with its status; callbacks run on the commit thread, in order.
//
// Stepped (threaded = false, for the simulation): there is no thread; whoever drives it calls
// CommitPending, which commits on the caller's thread.
//
// Thread rules: Commit(), Reset() and stats() may be called from any thread. The Store is used only
// by the commit thread (stepped: by the caller of CommitPending) while the committer lives.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/types.h"
#include "store/store.h"

namespace baton::store {

class GroupCommitter {
 public:
  using Done = std::function<void(const Status&)>;

  explicit GroupCommitter(Store* store, bool threaded = true);
  // Commits what was handed over, then stops the thread.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Commit(engine::RecordBatch batch, Done done);

  // After a failed transaction the committer refuses every batch (with that failure, without
  // touching the store) until Reset(): later batches were built on the failed one's state, so
  // applying them could tear a hole in the event log. The caller resets once it has rebuilt.
  void Reset();

  // Stepped only: one transaction of everything handed over so far, and its callbacks; false if
  // nothing was waiting.
  bool CommitPending();

  struct Stats {
    uint64_t transactions = 0;
    uint64_t batches = 0;  // Commit() calls; batches / transactions is the grouping factor
    uint64_t records = 0;
    uint64_t apply_us = 0;  // time spent inside Store::Apply
  };
  Stats stats();

 private:
  void Run();

  Store* store_;
  engine::RecordBatch batch_;  // the transaction being committed (commit thread)
  std::vector<Done> done_;     // its callbacks (commit thread)
  std::mutex mu_;
  std::condition_variable cv_;
  engine::RecordBatch pending_;
  std::vector<Done> pending_done_;
  bool stop_ = false;
  Status failure_;  // set by a failed transaction, cleared by Reset()
  Stats stats_;
  std::thread thread_;
};

// Appends `from` to `to`, keeping order (inserts, updates, attempts and events each in turn).
void AppendBatch(engine::RecordBatch& to, engine::RecordBatch&& from);

}  // namespace baton::store
