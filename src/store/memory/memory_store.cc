#include "store/memory/memory_store.h"

#include <algorithm>
#include <unordered_set>

namespace baton::store {

using engine::JobId;

Status MemoryStore::Apply(const engine::RecordBatch& batch) {
  if (fail_count_ > 0) {
    --fail_count_;
    return fail_status_;
  }
  // Check first, so that a refused batch changes nothing (as a rolled-back transaction).
  for (const auto& r : batch.inserts) {
    if (jobs_.contains(r.id)) return Internal("insert job " + std::to_string(r.id) + ": exists");
  }
  std::unordered_set<JobId> inserted;
  for (const auto& r : batch.inserts) inserted.insert(r.id);
  for (const auto& u : batch.updates) {
    if (!inserted.contains(u.id) && !jobs_.contains(u.id)) {
      return Internal("update job " + std::to_string(u.id) + ": no such job");
    }
  }
  for (const auto& e : batch.events) {
    if (events_.contains(e.seq)) return Internal("event " + std::to_string(e.seq) + ": exists");
  }
  for (const auto& r : batch.inserts) jobs_[r.id] = r;
  for (const auto& u : batch.updates) jobs_[u.id].status = u.status;
  for (const auto& a : batch.attempts) {
    attempts_[a.id] = a;
    attempts_by_job_[a.job_id].insert(a.id);
  }
  for (const auto& e : batch.events) events_[e.seq] = e;
  for (const auto& w : batch.workflow_inserts) workflows_[w.id] = w;
  for (const auto& u : batch.workflow_updates) workflows_[u.id].status = u.status;
  for (const auto& r : batch.schedules) {
    if (r.deleted) {
      schedules_.erase(r.name);
    } else {
      schedules_[r.name] = r;
    }
  }
  for (engine::JobId id : batch.job_deletes) {
    jobs_.erase(id);
    auto a = attempts_by_job_.find(id);
    if (a != attempts_by_job_.end()) {
      for (engine::AttemptId aid : a->second) attempts_.erase(aid);
      attempts_by_job_.erase(a);
    }
  }
  if (batch.events_before != 0)
    events_.erase(events_.begin(), events_.lower_bound(batch.events_before));
  for (const auto& [type, paused] : batch.type_pauses) {
    if (paused) {
      paused_types_.insert(type);
    } else {
      paused_types_.erase(type);
    }
  }
  return Status::Ok();
}

Result<engine::RecoveredState> MemoryStore::Recover(int64_t keys_since_ms) {
  engine::RecoveredState st;
  for (const auto& [id, r] : jobs_) {
    st.job_id_max = std::max(st.job_id_max, id);
    if (!engine::IsTerminal(r.status.state)) {
      st.jobs.push_back(r);
      st.attempt_id_max = std::max(st.attempt_id_max, r.status.attempt_id);
    }
    if (engine::IsTerminal(r.status.state) && r.spec.parent_id != 0) {
      auto parent = jobs_.find(r.spec.parent_id);
      const engine::JobState ps =
          parent == jobs_.end() ? engine::JobState::kSucceeded : parent->second.status.state;
      if (ps == engine::JobState::kRunning || ps == engine::JobState::kSubmitted ||
          ps == engine::JobState::kWaitingChildren) {
        st.jobs.push_back(r);
      }
    }
    if (!r.spec.idempotency_key.empty() && r.created_ms > keys_since_ms) {
      st.keys.push_back({r.spec.owner, r.spec.idempotency_key, id, r.created_ms});
    }
  }
  if (!attempts_.empty()) {
    st.attempt_id_max = std::max(st.attempt_id_max, attempts_.rbegin()->first);
  }
  if (!events_.empty()) st.event_seq_max = events_.rbegin()->first;
  for (const auto& [id, w] : workflows_) {
    if (!engine::IsTerminal(w.status.state)) st.workflows.push_back(w);
    st.workflow_id_max = std::max(st.workflow_id_max, id);
  }
  for (const auto& [name, r] : schedules_) st.schedules.push_back(r);
  st.paused_types.assign(paused_types_.begin(), paused_types_.end());
  return st;
}

Result<engine::JobRecord> MemoryStore::GetJob(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return NotFound("job " + std::to_string(id) + ": not found");
  return it->second;
}

Result<std::vector<engine::AttemptRecord>> MemoryStore::ListAttempts(JobId id) {
  std::vector<engine::AttemptRecord> out;
  auto it = attempts_by_job_.find(id);
  if (it == attempts_by_job_.end()) return out;
  for (engine::AttemptId aid : it->second) out.push_back(attempts_.at(aid));
  return out;
}

Result<std::vector<engine::Event>> MemoryStore::ListEvents(const EventQuery& q) {
  std::vector<engine::Event> out;
  for (auto it = events_.upper_bound(q.after); it != events_.end() && out.size() < q.limit; ++it) {
    if (q.through != 0 && it->first > q.through) break;
    if (q.job_id != 0 && it->second.job_id != q.job_id) continue;
    if (q.workflow_id != 0 && it->second.workflow_id != q.workflow_id) continue;
    if (!q.owner.empty()) {
      auto job = jobs_.find(it->second.job_id);
      auto wf = workflows_.find(it->second.workflow_id);
      const std::string* owner = job != jobs_.end()       ? &job->second.spec.owner
                                 : wf != workflows_.end() ? &wf->second.owner
                                                          : nullptr;
      if (owner == nullptr || !engine::InAccount(*owner, q.owner)) continue;
    }
    out.push_back(it->second);
  }
  return out;
}

Result<JobPage> MemoryStore::ListJobs(const JobQuery& q) {
  JobPage page;
  if (jobs_.empty()) return page;
  const JobId top = q.before == 0 ? jobs_.rbegin()->first + 1 : q.before;
  const JobId floor = q.parent_id != 0 ? 1 : top > q.scan_max ? top - q.scan_max : 1;
  auto it = jobs_.lower_bound(top);
  while (it != jobs_.begin()) {
    --it;
    if (it->first < floor) break;
    const engine::JobRecord& r = it->second;
    if ((!q.owner.empty() && !engine::InAccount(r.spec.owner, q.owner)) ||
        (!q.type.empty() && r.spec.type != q.type) || (q.state && r.status.state != *q.state) ||
        (q.parent_id != 0 && r.spec.parent_id != q.parent_id)) {
      continue;
    }
    page.jobs.push_back(r);
    if (page.jobs.size() == q.limit) {
      page.next = r.id > 1 ? r.id : 0;
      return page;
    }
  }
  page.next = floor > 1 ? floor : 0;
  return page;
}

Result<std::array<uint64_t, engine::kJobStateCount>> MemoryStore::CountChildren(JobId parent) {
  std::array<uint64_t, engine::kJobStateCount> out{};
  for (const auto& [id, r] : jobs_) {
    if (r.spec.parent_id == parent) ++out[static_cast<size_t>(r.status.state)];
  }
  return out;
}

Result<engine::WorkflowRecord> MemoryStore::GetWorkflow(engine::WorkflowId id) {
  auto it = workflows_.find(id);
  if (it == workflows_.end()) return NotFound("workflow " + std::to_string(id) + ": not found");
  return it->second;
}

bool MemoryStore::InputDirInUse(const std::string& input_dir) const {
  if (input_dir.empty()) return false;
  for (const auto& [id, job] : jobs_) {
    if (job.spec.input_dir == input_dir) return true;
  }
  return false;
}

void MemoryStore::FailApplies(int count, Status status) {
  fail_count_ = count;
  fail_status_ = std::move(status);
}

Result<std::vector<FinishedJob>> MemoryStore::ListFinished(JobId after, size_t limit) {
  std::vector<FinishedJob> out;
  for (auto it = jobs_.upper_bound(after); it != jobs_.end() && out.size() < limit; ++it) {
    const engine::JobRecord& r = it->second;
    if (!engine::IsTerminal(r.status.state)) continue;
    auto parent = jobs_.find(r.spec.parent_id);
    auto workflow = workflows_.find(r.spec.workflow_id);
    const bool held =
        (parent != jobs_.end() && !engine::IsTerminal(parent->second.status.state)) ||
        (workflow != workflows_.end() && !engine::IsTerminal(workflow->second.status.state));
    out.push_back(FinishedJob{r.id, r.spec.owner, r.spec.type, r.spec.idempotency_key,
                              r.spec.input_dir, r.spec.retention_ms, r.status.finished_ms, held});
  }
  return out;
}

Result<engine::EventSeq> MemoryStore::FirstEventAt(int64_t at_ms) {
  for (const auto& [seq, e] : events_) {
    if (e.at_ms >= at_ms) return seq;
  }
  return events_.empty() ? engine::EventSeq{1} : events_.rbegin()->first + 1;
}

}  // namespace baton::store
