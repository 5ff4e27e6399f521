#include "engine/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace baton::engine {

namespace {

std::string Num(uint64_t n) { return std::to_string(n); }

// A queued job in its lane's heap, with its order inline: a heap a million deep compares
// without reading the jobs themselves (measured: reading them cost ~15% of dispatch at that
// depth, one cache miss per comparison).
struct KeyedEntry {
  int32_t priority;
  uint64_t seq;
  SchedEntry* entry;
};
struct EntryLess {
  bool operator()(const KeyedEntry& a, const KeyedEntry& b) const {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.seq < b.seq;
  }
};
struct EntryPos {
  int32_t& operator()(const KeyedEntry& k) const { return k.entry->pos; }
};
using EntryHeap = IndexedHeap<KeyedEntry, EntryLess, EntryPos>;

// Lanes a pass may set aside (for not matching the worker) before it gives up on the worker.
constexpr size_t kLanesPassedMax = 1000;

}  // namespace

struct SchedUserType {
  uint32_t running = 0;
  uint32_t running_max = 0;  // 0: no limit
  std::vector<SchedLane*> lanes;
};

struct SchedUser {
  std::string name;
  uint64_t served = 0;  // when it last had a job started: round robin takes the oldest first
  uint32_t running = 0;
  uint32_t running_max = 0;
  std::vector<SchedLane*> lanes;
  std::unordered_map<SchedType*, SchedUserType> by_type;
};

struct SchedKey {
  std::string name;  // owner '\0' key
  uint32_t running = 0;
  std::vector<SchedLane*> lanes;
};

struct SchedLane {
  std::string name;
  SchedType* type = nullptr;
  SchedUser* user = nullptr;
  SchedUserType* user_type = nullptr;
  SchedKey* key = nullptr;
  uint32_t key_limit = 0;
  Resources resources;
  Labels labels;
  EntryHeap jobs;
  int32_t pos = -1;   // in its type's heap
  uint32_t refs = 0;  // unfinished jobs that belong to it
  bool aside = false;
};

namespace {

struct LaneLess {
  bool operator()(const SchedLane* a, const SchedLane* b) const {
    const SchedEntry* x = a->jobs.top().entry;
    const SchedEntry* y = b->jobs.top().entry;
    if (x->priority != y->priority) return x->priority > y->priority;
    if (a->user->served != b->user->served) return a->user->served < b->user->served;
    return x->seq < y->seq;
  }
};
struct LanePos {
  int32_t& operator()(SchedLane* l) const { return l->pos; }
};

}  // namespace

struct SchedType {
  std::string name;
  IndexedHeap<SchedLane*, LaneLess, LanePos> lanes;  // lanes with a job that may start
  size_t queued = 0;
  uint32_t running = 0;
  uint32_t running_max = 0;
  double rate_per_s = 0;
  double burst = 0;
  double tokens = 0;
  int64_t refilled_ms = 0;
};

struct SchedWorker {
  std::string id;
  std::string owner;  // a private pool's account; empty: shared
  uint64_t connection = 0;
  bool connected = false;  // else known only for the jobs it runs (say, after a restart)
  std::vector<std::string> types;
  Resources total;
  Labels labels;
  std::map<std::string, int64_t, std::less<>> used;
  SchedEntry* reserved = nullptr;
  uint32_t running = 0;
};

namespace {

int64_t Amount(const Resources& r, std::string_view name) {
  for (const auto& [n, a] : r) {
    if (n == name) return a;
  }
  return 0;
}

bool HasLabels(const SchedWorker* w, const Labels& want) {
  if (want.empty()) return true;
  if (w == nullptr) return false;
  for (const auto& label : want) {
    if (std::find(w->labels.begin(), w->labels.end(), label) == w->labels.end()) return false;
  }
  return true;
}

bool FitsTotal(const SchedWorker* w, const Resources& want) {
  for (const auto& [name, amount] : want) {
    if (w == nullptr || Amount(w->total, name) < amount) return false;
  }
  return true;
}

bool FitsFree(const SchedWorker* w, const Resources& want) {
  for (const auto& [name, amount] : want) {
    if (w == nullptr) return false;
    auto used = w->used.find(name);
    const int64_t in_use = used == w->used.end() ? 0 : used->second;
    if (Amount(w->total, name) - in_use < amount) return false;
  }
  return true;
}

std::string DemandText(const SchedLane& lane) {
  std::string out;
  for (const auto& [name, amount] : lane.resources) {
    if (!out.empty()) out += ", ";
    out += name + " " + Num(static_cast<uint64_t>(amount));
  }
  for (const auto& [name, value] : lane.labels) {
    if (!out.empty()) out += ", ";
    out += "label " + name + "=" + value;
  }
  return out;
}

template <typename T>
void EraseOne(std::vector<T>& v, const T& x) {
  auto it = std::find(v.begin(), v.end(), x);
  if (it != v.end()) {
    *it = v.back();
    v.pop_back();
  }
}

}  // namespace

Scheduler::Scheduler() = default;
Scheduler::~Scheduler() = default;

void Scheduler::SetPolicy(SchedulingPolicy policy) {
  policy_ = std::move(policy);
  for (auto& [name, t] : types_) {
    auto it = policy_.types.find(name);
    const TypePolicy p = it == policy_.types.end() ? TypePolicy{} : it->second;
    t->running_max = p.running_max;
    t->rate_per_s = p.rate_per_s;
    t->burst = p.rate_per_s <= 0 ? 0
               : p.burst > 0     ? p.burst
                                 : std::max(1.0, std::ceil(p.rate_per_s));
    t->tokens = std::min(t->tokens, t->burst);
  }
  for (auto& [name, u] : users_) {
    auto it = policy_.users.find(name);
    const UserPolicy* up = it == policy_.users.end() ? nullptr : &it->second;
    u->running_max = up && up->running_max ? *up->running_max : policy_.user_running_max;
    for (auto& [type, ut] : u->by_type) {
      ut.running_max = policy_.user_type_running_max;
      if (up != nullptr) {
        auto t = up->types.find(type->name);
        ut.running_max = t != up->types.end()   ? t->second
                         : up->type_running_max ? *up->type_running_max
                                                : policy_.user_type_running_max;
      }
    }
  }
  for (auto& [name, lane] : lanes_) Refresh(*lane);
}

Status Scheduler::CheckDemand(const JobSpec& spec) const {
  for (const auto& [name, amount] : spec.resources) {
    auto it = policy_.resources_max.find(name);
    const int64_t max =
        it == policy_.resources_max.end() ? policy_.resource_max_default : it->second;
    if (amount > max) {
      return InvalidArgument("resources." + name + ": " + Num(static_cast<uint64_t>(amount)) +
                             " asked for, but no worker may have more than " +
                             Num(static_cast<uint64_t>(max)) +
                             " (the server's scheduling.resources_max), so no worker could "
                             "ever run this job");
    }
  }
  return Status::Ok();
}

SchedType& Scheduler::TypeOf(const std::string& name) {
  auto [it, inserted] = types_.try_emplace(name);
  if (inserted) {
    it->second = std::make_unique<SchedType>();
    it->second->name = name;
    type_order_.push_back(it->second.get());
    auto p = policy_.types.find(name);
    if (p != policy_.types.end()) {
      SchedType& t = *it->second;
      t.running_max = p->second.running_max;
      t.rate_per_s = p->second.rate_per_s;
      t.burst = t.rate_per_s <= 0     ? 0
                : p->second.burst > 0 ? p->second.burst
                                      : std::max(1.0, std::ceil(t.rate_per_s));
      t.tokens = t.burst;
      t.refilled_ms = now_ms_;
    }
  }
  return *it->second;
}

SchedUser& Scheduler::UserOf(const std::string& name) {
  auto [it, inserted] = users_.try_emplace(name);
  if (inserted) {
    it->second = std::make_unique<SchedUser>();
    it->second->name = name;
    auto p = policy_.users.find(name);
    it->second->running_max = p != policy_.users.end() && p->second.running_max
                                  ? *p->second.running_max
                                  : policy_.user_running_max;
    accounts_[name.substr(0, name.find('/'))].push_back(it->second.get());
  }
  return *it->second;
}

SchedLane& Scheduler::LaneOf(const JobSpec& spec, const std::string& run_type) {
  // Jobs come in runs of the same type and owner: the last lane found is tried first.
  if (SchedLane* last = last_lane_;
      last != nullptr && spec.resources.empty() && spec.labels.empty() &&
      spec.concurrency_key.empty() && last->resources.empty() && last->labels.empty() &&
      last->key == nullptr && last->type->name == run_type && last->user->name == spec.owner) {
    return *last;
  }
  // The lane's name: everything that decides what holds its jobs back.
  key_buf_.clear();
  key_buf_ += run_type;
  key_buf_ += '\0';
  key_buf_ += spec.owner;
  if (!spec.resources.empty() || !spec.labels.empty() || !spec.concurrency_key.empty()) {
    key_buf_ += '\0';
    key_buf_ += ResourcesText(spec.resources);
    key_buf_ += '\0';
    key_buf_ += LabelsText(spec.labels);
    key_buf_ += '\0';
    key_buf_ += spec.concurrency_key;
    key_buf_ += '\0';
    key_buf_ += Num(spec.concurrency_limit);
  }
  auto it = lanes_.find(key_buf_);
  if (it != lanes_.end()) {
    last_lane_ = it->second.get();
    return *it->second;
  }
  auto lane = std::make_unique<SchedLane>();
  SchedLane& l = *lane;
  l.name = key_buf_;
  l.type = &TypeOf(run_type);
  l.user = &UserOf(spec.owner);
  auto [ut, inserted] = l.user->by_type.try_emplace(l.type);
  if (inserted) {
    auto p = policy_.users.find(spec.owner);
    ut->second.running_max = policy_.user_type_running_max;
    if (p != policy_.users.end()) {
      auto t = p->second.types.find(run_type);
      ut->second.running_max = t != p->second.types.end()   ? t->second
                               : p->second.type_running_max ? *p->second.type_running_max
                                                            : policy_.user_type_running_max;
    }
  }
  l.user_type = &ut->second;
  if (!spec.concurrency_key.empty()) {
    std::string key_name = spec.owner;
    key_name += '\0';
    key_name += spec.concurrency_key;
    auto& k = keys_[key_name];
    if (!k) {
      k = std::make_unique<SchedKey>();
      k->name = std::move(key_name);
    }
    l.key = k.get();
    l.key_limit = spec.concurrency_limit;
    l.key->lanes.push_back(&l);
  }
  l.resources = spec.resources;
  l.labels = spec.labels;
  l.user->lanes.push_back(&l);
  l.user_type->lanes.push_back(&l);
  last_lane_ = &l;
  return *lanes_.emplace(l.name, std::move(lane)).first->second;
}

void Scheduler::Release(SchedLane& lane) {
  BATON_CHECK(lane.refs == 0 && lane.jobs.empty() && lane.pos < 0);
  if (last_lane_ == &lane) last_lane_ = nullptr;
  EraseOne(lane.user->lanes, &lane);
  EraseOne(lane.user_type->lanes, &lane);
  if (lane.key != nullptr) {
    EraseOne(lane.key->lanes, &lane);
    if (lane.key->lanes.empty() && lane.key->running == 0) keys_.erase(lane.key->name);
  }
  lanes_.erase(lane.name);
}

bool Scheduler::Blocked(const SchedLane& lane) const {
  const SchedUser& u = *lane.user;
  if (u.running_max != 0 && u.running >= u.running_max) return true;
  const SchedUserType& ut = *lane.user_type;
  if (ut.running_max != 0 && ut.running >= ut.running_max) return true;
  return lane.key != nullptr && lane.key->running >= lane.key_limit;
}

void Scheduler::Refresh(SchedLane& lane) {
  auto& heap = lane.type->lanes;
  const bool want = !lane.jobs.empty() && !lane.aside && !Blocked(lane);
  if (want) {
    if (lane.pos < 0) {
      heap.Push(&lane);
    } else {
      heap.Fix(static_cast<size_t>(lane.pos));
    }
  } else if (lane.pos >= 0) {
    heap.RemoveAt(static_cast<size_t>(lane.pos));
  }
}

bool Scheduler::TypeOpen(SchedType& t) {
  if (!paused_.empty() && paused_.contains(t.name)) return false;
  if (t.running_max != 0 && t.running >= t.running_max) return false;
  if (t.rate_per_s > 0) {
    if (now_ms_ > t.refilled_ms) {
      t.tokens = std::min(
          t.burst, t.tokens + static_cast<double>(now_ms_ - t.refilled_ms) * t.rate_per_s / 1000.0);
      t.refilled_ms = now_ms_;
    }
    if (t.tokens < 1) return false;
  }
  return true;
}

void Scheduler::Queue(SchedEntry& e, const JobSpec& spec, const std::string& run_type,
                      bool keep_seq) {
  BATON_CHECK(e.pos < 0);
  if (e.lane == nullptr) {
    e.lane = &LaneOf(spec, run_type);
    ++e.lane->refs;
  }
  e.priority = spec.priority;
  if (!keep_seq) e.seq = ++seq_;
  e.lane->jobs.Push(KeyedEntry{e.priority, e.seq, &e});
  ++e.lane->type->queued;
  Refresh(*e.lane);
}

void Scheduler::Unreserve(SchedEntry& e) {
  if (e.reserved != nullptr) {
    e.reserved->reserved = nullptr;
    e.reserved = nullptr;
  }
}

void Scheduler::Unqueue(SchedEntry& e) {
  Unreserve(e);
  if (e.pos < 0) return;
  SchedLane& lane = *e.lane;
  lane.jobs.RemoveAt(static_cast<size_t>(e.pos));
  --lane.type->queued;
  Refresh(lane);
}

void Scheduler::Served(SchedUser& user) {
  user.served = ++served_seq_;
  for (SchedLane* l : user.lanes) {
    if (l->pos >= 0) l->type->lanes.Fix(static_cast<size_t>(l->pos));
  }
}

void Scheduler::Started(SchedEntry& e, const JobSpec& spec, const std::string& run_type,
                        const std::string& worker_id) {
  Unqueue(e);
  if (e.lane == nullptr) {
    e.lane = &LaneOf(spec, run_type);
    ++e.lane->refs;
  }
  BATON_CHECK(!e.counted);
  e.counted = true;
  SchedLane& lane = *e.lane;
  SchedType& t = *lane.type;
  ++t.running;
  if (t.rate_per_s > 0) t.tokens -= 1;
  SchedUser& u = *lane.user;
  ++u.running;
  ++lane.user_type->running;
  Served(u);
  SchedWorker* w = last_worker_;
  if (w == nullptr || w->id != worker_id) {
    auto [it, inserted] = workers_.try_emplace(worker_id);
    if (inserted) {
      it->second = std::make_unique<SchedWorker>();
      it->second->id = worker_id;
    }
    w = last_worker_ = it->second.get();
  }
  ++w->running;
  for (const auto& [name, amount] : lane.resources) {
    auto used = w->used.find(name);
    if (used == w->used.end()) used = w->used.emplace(name, 0).first;
    used->second += amount;
  }
  e.running_on = w;
  // A limit reached holds back every lane it covers.
  if (u.running_max != 0 && u.running == u.running_max) {
    for (SchedLane* l : u.lanes) Refresh(*l);
  }
  if (lane.user_type->running_max != 0 && lane.user_type->running == lane.user_type->running_max) {
    for (SchedLane* l : lane.user_type->lanes) Refresh(*l);
  }
  if (lane.key != nullptr) {
    ++lane.key->running;
    for (SchedLane* l : lane.key->lanes) Refresh(*l);
  }
}

void Scheduler::Stopped(SchedEntry& e) {
  if (!e.counted) return;
  e.counted = false;
  SchedLane& lane = *e.lane;
  --lane.type->running;
  SchedUser& u = *lane.user;
  --u.running;
  --lane.user_type->running;
  if (SchedWorker* w = e.running_on) {
    e.running_on = nullptr;
    --w->running;
    for (const auto& [name, amount] : lane.resources) w->used[name] -= amount;
    DropWorkerIfIdle(w);
  }
  // A limit no longer reached lets its lanes go again.
  if (u.running_max != 0 && u.running + 1 == u.running_max) {
    for (SchedLane* l : u.lanes) Refresh(*l);
  }
  if (lane.user_type->running_max != 0 &&
      lane.user_type->running + 1 == lane.user_type->running_max) {
    for (SchedLane* l : lane.user_type->lanes) Refresh(*l);
  }
  if (lane.key != nullptr) {
    --lane.key->running;
    for (SchedLane* l : lane.key->lanes) Refresh(*l);
  }
}

void Scheduler::Finished(SchedEntry& e) {
  Unqueue(e);
  Stopped(e);
  if (e.lane == nullptr) return;
  SchedLane& lane = *e.lane;
  e.lane = nullptr;
  if (--lane.refs == 0 && lane.jobs.empty()) Release(lane);
}

Status CheckWorkerResources(const SchedulingPolicy& policy, const Resources& resources) {
  for (const auto& [name, amount] : resources) {
    auto it = policy.resources_max.find(name);
    const int64_t max = it == policy.resources_max.end() ? policy.resource_max_default : it->second;
    if (amount > max) {
      return InvalidArgument("resources." + name + ": a worker may have at most " +
                             Num(static_cast<uint64_t>(max)) + " (the server's " +
                             "scheduling.resources_max), got " +
                             Num(static_cast<uint64_t>(amount)));
    }
  }
  return Status::Ok();
}

Status Scheduler::ConnectWorker(WorkerInfo info) {
  BATON_RETURN_IF_ERROR(CheckWorkerResources(policy_, info.resources));
  auto& slot = workers_[info.id];
  if (!slot) slot = std::make_unique<SchedWorker>();
  SchedWorker& w = *slot;
  w.id = info.id;
  w.owner = std::move(info.owner);
  w.connection = info.connection;
  w.connected = true;
  w.types = std::move(info.types);
  w.total = std::move(info.resources);
  w.labels = std::move(info.labels);
  return Status::Ok();
}

void Scheduler::DisconnectWorker(const std::string& id, uint64_t connection) {
  auto it = workers_.find(id);
  if (it == workers_.end() || it->second->connection != connection) return;
  SchedWorker* w = it->second.get();
  w->connected = false;
  if (w->reserved != nullptr) Unreserve(*w->reserved);
  DropWorkerIfIdle(w);
}

void Scheduler::DropWorkerIfIdle(SchedWorker* w) {
  if (!w->connected && w->running == 0 && w->reserved == nullptr) {
    if (last_worker_ == w) last_worker_ = nullptr;
    workers_.erase(w->id);
  }
}

void Scheduler::DrainWorker(const std::string& id, bool drain) {
  if (drain) {
    drained_.insert(id);
    auto it = workers_.find(id);
    if (it != workers_.end() && it->second->reserved != nullptr) {
      Unreserve(*it->second->reserved);
    }
  } else {
    drained_.erase(id);
  }
}

void Scheduler::PauseType(const std::string& type, bool paused) {
  if (paused) {
    paused_.insert(type);
  } else {
    paused_.erase(type);
  }
}

std::string_view Scheduler::WorkerOwner(const std::string& id) const {
  const SchedWorker* w = FindWorker(id);
  return w == nullptr ? std::string_view() : std::string_view(w->owner);
}

bool Scheduler::MayHold(const SchedEntry& e, std::string_view owner) {
  return e.running_on == nullptr || e.running_on->owner.empty() ||
         InAccount(owner, e.running_on->owner);
}

const SchedWorker* Scheduler::FindWorker(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------------------------------------
// Dispatch

Scheduler::Pass Scheduler::Begin(const DispatchRequest& request) {
  auto it = workers_.find(request.worker_id);
  Pass pass(this, it == workers_.end() ? nullptr : it->second.get());
  if (drained_.contains(request.worker_id)) {
    pass.done_ = true;
    return pass;
  }
  for (const std::string& name : request.types) {
    auto t = types_.find(name);
    if (t != types_.end()) pass.types_.push_back(t->second.get());
  }
  std::sort(pass.types_.begin(), pass.types_.end());
  pass.types_.erase(std::unique(pass.types_.begin(), pass.types_.end()), pass.types_.end());
  if (pass.worker_ != nullptr && !pass.worker_->owner.empty()) {
    static const std::vector<SchedUser*> kNobody;
    auto account = accounts_.find(pass.worker_->owner);
    pass.account_ = account == accounts_.end() ? &kNobody : &account->second;
  }
  return pass;
}

Scheduler::Pass::~Pass() {
  if (s_ == nullptr) return;
  for (SchedLane* l : aside_) {
    l->aside = false;
    s_->Refresh(*l);
  }
}

SchedEntry* Scheduler::Pass::Next() {
  if (done_) return nullptr;
  if (worker_ != nullptr && worker_->reserved != nullptr) {
    // The worker is kept for the job that reserved it: that job or nothing, unless the job can
    // no longer start for reasons of its own (its type paused, its user at quota).
    SchedEntry* r = worker_->reserved;
    SchedLane& lane = *r->lane;
    if (!s_->TypeOpen(*lane.type) || s_->Blocked(lane)) {
      s_->Unreserve(*r);
    } else {
      if (FitsFree(worker_, lane.resources)) return r;
      done_ = true;
      return nullptr;
    }
  }
  for (;;) {
    SchedLane* best = nullptr;
    for (SchedType* t : types_) {
      if (t->lanes.empty() || !s_->TypeOpen(*t)) continue;
      if (account_ == nullptr) {
        SchedLane* candidate = t->lanes.top();
        if (best == nullptr || LaneLess{}(candidate, best)) best = candidate;
        continue;
      }
      // A private worker: the account's lanes of the type that may start (those in the type's
      // heap), never another user's. O(the account's lanes of the worker's types).
      for (SchedUser* u : *account_) {
        auto ut = u->by_type.find(t);
        if (ut == u->by_type.end()) continue;
        for (SchedLane* candidate : ut->second.lanes) {
          if (candidate->pos < 0) continue;
          if (best == nullptr || LaneLess{}(candidate, best)) best = candidate;
        }
      }
    }
    if (best == nullptr) return nullptr;
    SchedEntry* e = best->jobs.top().entry;
    if (best->resources.empty() && best->labels.empty()) return e;
    bool pass_by = !HasLabels(worker_, best->labels) || !FitsTotal(worker_, best->resources);
    if (!pass_by && !FitsFree(worker_, best->resources)) {
      if (e->reserved == nullptr && worker_ != nullptr && worker_->reserved == nullptr) {
        e->reserved = worker_;
        worker_->reserved = e;
        done_ = true;
        return nullptr;
      }
      pass_by = true;
    }
    if (pass_by) {
      best->aside = true;
      s_->Refresh(*best);
      aside_.push_back(best);
      if (aside_.size() >= kLanesPassedMax) return nullptr;
      continue;
    }
    return e;
  }
}

void Scheduler::Pass::Skip(SchedEntry& e) {
  SchedLane& lane = *e.lane;
  lane.jobs.RemoveAt(static_cast<size_t>(e.pos));
  --lane.type->queued;
  s_->Refresh(lane);
}

bool Scheduler::Pass::Fits(const SchedEntry& e) const {
  const SchedLane& lane = *e.lane;
  return HasLabels(worker_, lane.labels) && FitsFree(worker_, lane.resources);
}

// ---------------------------------------------------------------------------------------------
// Reports

std::string Scheduler::WhyWaiting(const SchedEntry& e, const JobSpec& spec,
                                  const std::string& run_type) const {
  if (e.pos < 0 || e.lane == nullptr) return "";
  const SchedLane& lane = *e.lane;
  const SchedType& t = *lane.type;
  if (paused_.contains(t.name)) return "type " + t.name + " is paused";
  if (t.running_max != 0 && t.running >= t.running_max) {
    return "type " + t.name + " runs " + Num(t.running) + " jobs, its running_max";
  }
  if (t.rate_per_s > 0) {
    const double tokens = std::min(
        t.burst, t.tokens + static_cast<double>(now_ms_ - t.refilled_ms) * t.rate_per_s / 1000.0);
    if (tokens < 1) {
      return "type " + t.name + " is rate limited to " + std::to_string(t.rate_per_s) +
             " starts a second";
    }
  }
  const SchedUser& u = *lane.user;
  if (u.running_max != 0 && u.running >= u.running_max) {
    return "user " + u.name + " runs " + Num(u.running) + " jobs, the user's running_max";
  }
  if (lane.user_type->running_max != 0 && lane.user_type->running >= lane.user_type->running_max) {
    return "user " + u.name + " runs " + Num(lane.user_type->running) + " jobs of type " + t.name +
           ", the user's running_max for the type";
  }
  if (lane.key != nullptr && lane.key->running >= lane.key_limit) {
    return "concurrency key " + spec.concurrency_key + " runs " + Num(lane.key->running) +
           " jobs, its limit";
  }
  if (e.reserved != nullptr) {
    return "worker " + e.reserved->id + " is being kept free for it (it needs " + DemandText(lane) +
           ")";
  }
  size_t of_type = 0, undrained = 0, matching = 0, private_others = 0;
  for (const auto& [id, w] : workers_) {
    if (!w->connected || std::find(w->types.begin(), w->types.end(), run_type) == w->types.end()) {
      continue;
    }
    if (!w->owner.empty() && !InAccount(u.name, w->owner)) {
      ++private_others;  // another user's own worker: never this job's
      continue;
    }
    ++of_type;
    if (drained_.contains(id)) continue;
    ++undrained;
    if (HasLabels(w.get(), lane.labels) && FitsTotal(w.get(), lane.resources)) ++matching;
  }
  if (of_type == 0 && private_others > 0) {
    return "no connected worker of type " + run_type + " serves user " + u.name +
           " (those connected are other users' own)";
  }
  if (of_type == 0) return "no connected worker runs type " + run_type;
  if (undrained == 0) return "every connected worker of type " + run_type + " is drained";
  if (matching == 0) {
    return "no connected worker of type " + run_type + " has " + DemandText(lane);
  }
  if (!lane.resources.empty() || !lane.labels.empty()) {
    return "waiting for a worker of type " + run_type + " with " + DemandText(lane) + " free";
  }
  return "waiting for a free slot on a worker of type " + run_type + " (" + Num(t.queued) +
         " jobs of the type queued)";
}

int64_t Scheduler::NextWakeMs() const {
  int64_t out = std::numeric_limits<int64_t>::max();
  for (const SchedType* t : type_order_) {
    if (t->rate_per_s <= 0 || t->lanes.empty() || t->tokens >= 1) continue;
    const double wait_ms = std::ceil((1 - t->tokens) * 1000.0 / t->rate_per_s);
    out = std::min(out, t->refilled_ms + static_cast<int64_t>(wait_ms));
  }
  return out;
}

std::vector<std::pair<std::string, size_t>> Scheduler::QueuedByType() const {
  std::vector<std::pair<std::string, size_t>> out;
  out.reserve(type_order_.size());
  for (const SchedType* t : type_order_) out.emplace_back(t->name, t->queued);
  return out;
}

uint32_t Scheduler::RunningOfType(const std::string& type) const {
  auto it = types_.find(type);
  return it == types_.end() ? 0 : it->second->running;
}

uint32_t Scheduler::RunningOfUser(const std::string& user) const {
  auto it = users_.find(user);
  return it == users_.end() ? 0 : it->second->running;
}

}  // namespace baton::engine
