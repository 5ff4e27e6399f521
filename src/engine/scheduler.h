// Scheduler: the engine's ready queues and the policies that choose which queued job a worker
// gets next. It owns the queues, the counts of running jobs (per type, user, user and type,
// concurrency key), the token buckets of rate-limited types, paused types, and what it knows of
// connected workers (resources, labels, what their running jobs hold, drains and reservations).
//
// The order, for one worker asking for work:
//  1. Only the worker's types, and of those only types that are not paused, not at their
//     running_max and (when rate-limited) have a token.
//  2. Higher priority first.
//  3. Within a priority, users take turns: the user served least recently goes first (round
//     robin), so one user's flood never starves another.
//  4. Within a user, first in, first out.
// Jobs wait in lanes: one per type, user and demand (resources, labels, concurrency key). All jobs
// of a lane are held back by the same things, so a quota or key at its limit takes the whole lane
// out of the running (and puts it back when a job ends) instead of being met job by job.
//
// Private pools: a worker of a user's own (WorkerInfo::owner) takes only that account's jobs; a
// pass for it looks only at the account's lanes of its types, so other users' jobs are never
// offered to it.
//
// Resources: a job goes only to a worker that carries its labels and has its resources free, and
// holds them while it runs. A job that no connected worker has enough for in total waits, and
// status says so. A job that fits a worker in total but not in what is free now reserves that
// worker: the worker takes nothing new until the job fits, then runs it. So a big job behind
// small ones waits only for the jobs running when it reached the front, never for later ones
// (no starvation); other workers keep taking small jobs. A job reserves at most one worker.
//
// Pure and deterministic, like the engine; the engine calls it on its thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "engine/indexed_heap.h"
#include "engine/types.h"

namespace baton::engine {

struct SchedLane;
struct SchedWorker;
struct SchedType;
struct SchedUser;
struct SchedUserType;
struct SchedKey;

// A job as the scheduler sees it; the engine's jobs derive from it. Only the scheduler touches
// these fields.
struct SchedEntry {
  int32_t priority = 0;
  uint64_t seq = 0;                   // FIFO order within a lane and priority
  int32_t pos = -1;                   // in its lane's heap; -1 when not queued
  SchedLane* lane = nullptr;          // set from the first queueing until the job finishes
  SchedWorker* running_on = nullptr;  // while an attempt runs on a known worker
  SchedWorker* reserved = nullptr;    // the worker held free for this job
  bool counted = false;               // counted as running
};

// A worker's resources beyond the policy's resources_max: the error names the first.
Status CheckWorkerResources(const SchedulingPolicy& policy, const Resources& resources);

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Replaces the policy; lanes held back by the old limits are looked at again.
  void SetPolicy(SchedulingPolicy policy);
  const SchedulingPolicy& policy() const { return policy_; }
  // The clock, for token buckets (the engine's now).
  void SetNow(int64_t now_ms) { now_ms_ = now_ms; }

  // A job's demand no worker could ever meet (more than resources_max): the error names the
  // field. Labels and unknown resources are not refused here: a worker may yet carry them.
  Status CheckDemand(const JobSpec& spec) const;

  // The job's queueing from its first to its end. `run_type` is the type whose workers run it.
  void Queue(SchedEntry& e, const JobSpec& spec, const std::string& run_type, bool keep_seq);
  void Unqueue(SchedEntry& e);
  // An attempt of the job starts on `worker_id` / ends. Counted against quotas and keys, and
  // against the worker's resources while it runs.
  void Started(SchedEntry& e, const JobSpec& spec, const std::string& run_type,
               const std::string& worker_id);
  void Stopped(SchedEntry& e);
  // The job finished: it leaves its lane for good.
  void Finished(SchedEntry& e);

  // Workers. Connect refuses resources beyond resources_max, naming them. A later connection of
  // the same worker replaces the earlier; Disconnect of an earlier connection does nothing.
  Status ConnectWorker(WorkerInfo info);
  void DisconnectWorker(const std::string& id, uint64_t connection);
  // A drained worker keeps its running jobs and gets no new ones, until undrained. Remembered
  // across its reconnects (not across server restarts).
  void DrainWorker(const std::string& id, bool drain);
  bool Drained(const std::string& id) const { return drained_.contains(id); }
  // The account of a private worker (WorkerInfo::owner); empty for a shared or unknown one.
  std::string_view WorkerOwner(const std::string& id) const;
  // Whether the worker the job runs on may hold a job of `owner`: a shared worker any, a private
  // one only its account's. O(1), for the hot path of every attempt command.
  static bool MayHold(const SchedEntry& e, std::string_view owner);

  void PauseType(const std::string& type, bool paused);
  bool Paused(const std::string& type) const { return paused_.contains(type); }
  const std::set<std::string>& paused_types() const { return paused_; }

  // One dispatch for one worker: Next() gives the best job for it now (the caller starts it,
  // which calls Started, or passes it by with Skip), nullptr when there is none. Lanes passed over
  // go back when the pass ends.
  class Pass {
   public:
    Pass(Pass&&) = default;
    ~Pass();
    SchedEntry* Next();
    // Passes the job by for now (this worker declined it); it keeps its place in its lane.
    void Skip(SchedEntry& e);
    // Whether the worker has the job's resources free (for jobs passed by and offered again).
    bool Fits(const SchedEntry& e) const;

   private:
    friend class Scheduler;
    Pass(Scheduler* s, SchedWorker* w) : s_(s), worker_(w) {}
    Scheduler* s_;
    SchedWorker* worker_;  // null: a worker the scheduler does not know (no resources, no labels)
    std::vector<SchedType*> types_;
    // A private worker's account: its users, whose lanes alone the pass looks at. Null: shared.
    const std::vector<SchedUser*>* account_ = nullptr;
    std::vector<SchedLane*> aside_;
    bool done_ = false;
  };
  Pass Begin(const DispatchRequest& request);

  // Why a queued job is not running yet, in words ("user alice runs 5 jobs, her running_max").
  std::string WhyWaiting(const SchedEntry& e, const JobSpec& spec,
                         const std::string& run_type) const;
  // When a rate-limited type with queued jobs gets its next token; INT64_MAX when none waits.
  int64_t NextWakeMs() const;
  // Every type the scheduler has seen, with how many of its jobs are queued.
  std::vector<std::pair<std::string, size_t>> QueuedByType() const;
  // Counts, for GET /v1/scheduling and tests.
  uint32_t RunningOfType(const std::string& type) const;
  uint32_t RunningOfUser(const std::string& user) const;
  size_t lanes() const { return lanes_.size(); }

 private:
  friend struct SchedLane;
  SchedType& TypeOf(const std::string& name);
  SchedUser& UserOf(const std::string& name);
  SchedLane& LaneOf(const JobSpec& spec, const std::string& run_type);
  void Release(SchedLane& lane);
  // Puts the lane in its type's heap, takes it out, or re-sorts it, as its state says.
  void Refresh(SchedLane& lane);
  bool Blocked(const SchedLane& lane) const;
  bool TypeOpen(SchedType& t);
  void ResolveLimits(SchedLane& lane) const;
  void Served(SchedUser& user);
  void Unreserve(SchedEntry& e);
  void DropWorkerIfIdle(SchedWorker* w);
  const SchedWorker* FindWorker(const std::string& id) const;

  SchedulingPolicy policy_;
  int64_t now_ms_ = 0;
  uint64_t seq_ = 0;
  uint64_t served_seq_ = 0;
  std::unordered_map<std::string, std::unique_ptr<SchedType>> types_;
  std::vector<SchedType*> type_order_;  // in the order first seen
  std::unordered_map<std::string, std::unique_ptr<SchedUser>> users_;
  // Account -> its users (the account itself and its "account/N" end users), for private pools.
  std::unordered_map<std::string, std::vector<SchedUser*>> accounts_;
  std::unordered_map<std::string, std::unique_ptr<SchedKey>> keys_;
  std::unordered_map<std::string, std::unique_ptr<SchedLane>> lanes_;
  std::unordered_map<std::string, std::unique_ptr<SchedWorker>> workers_;
  std::set<std::string> drained_;
  std::set<std::string> paused_;
  std::string key_buf_;                 // reused to build lane names
  SchedLane* last_lane_ = nullptr;      // the lane LaneOf found last
  SchedWorker* last_worker_ = nullptr;  // the worker Started found last
};

}  // namespace baton::engine
