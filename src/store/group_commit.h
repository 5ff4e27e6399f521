// GroupCommitter: makes record batches durable on a dedicated thread, one transaction at a time.
// Everything handed over while a commit is in flight rides the next transaction together, so the
// cost of an fsync is shared by every command that waited for it. A batch's callback runs after
// the transaction that holds it, with its status; callbacks run on the commit thread, in order.
//
// Thread rules: Commit(), Reset() and stats() may be called from any thread. The Store is used only
// by the commit thread while the committer lives.
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

  explicit GroupCommitter(Store* store);
  // Commits what was handed over, then stops the thread.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Commit(engine::RecordBatch batch, Done done);

  // After a failed transaction the committer refuses every batch (with that failure, without
  // touching the store) until Reset(): later batches were built on the failed one's state, so
  // applying them could tear a hole in the event log. The caller resets once it has rebuilt.
  void Reset();

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
