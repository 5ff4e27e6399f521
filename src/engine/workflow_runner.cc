#include "engine/workflow_runner.h"

#include <algorithm>
#include <string>

namespace baton::engine {

namespace {

std::string Num(uint64_t n) { return std::to_string(n); }

// A step's failure fails what it belongs to unless it is optional (a plugin step: unless its
// plugin is not mandatory).
bool Mandatory(const StepPlan& plan) { return !plan.optional; }

bool Failed(StepState s) { return s == StepState::kFailed || s == StepState::kCancelled; }

// A failed step as a roll-up names it: its name and its own error text, cut (at a character's
// start, so the text stays UTF-8) to keep the group's message bounded.
std::string FailedStepText(const std::string& name, const std::string& error) {
  constexpr size_t kErrorBytesMax = 300;
  if (error.empty()) return name;
  if (error.size() <= kErrorBytesMax) return name + " (" + error + ")";
  size_t cut = kErrorBytesMax;
  while (cut > 0 && (static_cast<unsigned char>(error[cut]) & 0xC0) == 0x80) --cut;
  return name + " (" + error.substr(0, cut) + "...)";
}

// Whether every mandatory step of a group is done (ended, or partial): then the group rolls up,
// to its end or to partial.
bool MandatoryDone(const WorkflowPlan& plan, const WorkflowStatus& status,
                   const std::vector<uint32_t>& members) {
  return std::all_of(members.begin(), members.end(), [&](uint32_t m) {
    return !Mandatory(plan.steps[m]) || Settled(status.steps[m].state);
  });
}

// The roll-up of a group of steps (an activity, or its plugins) into `group`, once its mandatory
// steps are done (docs/api.md has it as a table): skipped if all were skipped; failed if a
// mandatory one failed, whatever the optional ones show; partial while optional ones (or a
// partial group) still run; else succeeded, with a warning naming the optional ones that failed
// (or that succeeded with warnings of their own), which reads optional_failed.
void RollUp(const WorkflowPlan& plan, const WorkflowStatus& status,
            const std::vector<uint32_t>& members, StepStatus& group) {
  group.warning = false;
  bool all_skipped = !members.empty();
  std::string failed, warned, running;
  for (uint32_t m : members) {
    const StepStatus& st = status.steps[m];
    if (st.state != StepState::kSkipped) all_skipped = false;
    if (!IsTerminal(st.state)) {
      running += (running.empty() ? "" : ", ") + plan.steps[m].name;
      continue;
    }
    if (Failed(st.state)) {
      std::string& list = Mandatory(plan.steps[m]) ? failed : warned;
      list += (list.empty() ? "" : ", ") + FailedStepText(plan.steps[m].name, st.message);
    }
    if (st.state == StepState::kSucceeded && st.warning) {
      // A group that succeeded with warnings of its own (an activity's plugins): the optional
      // steps it names, each with its error, rather than the group's name.
      constexpr std::string_view kWarned = "warning: optional steps failed: ";
      const bool nested = st.message.compare(0, kWarned.size(), kWarned) == 0;
      warned += (warned.empty() ? "" : ", ") +
                (nested ? st.message.substr(kWarned.size()) : plan.steps[m].name);
    }
  }
  if (all_skipped) {
    group.state = StepState::kSkipped;
    group.message = "all its steps were skipped";
  } else if (!failed.empty()) {
    group.state = StepState::kFailed;
    group.message = "failed: " + failed + (warned.empty() ? "" : "; warnings: " + warned);
  } else if (!running.empty()) {
    group.state = StepState::kPartial;
    group.message = "mandatory completed; still running: " + running +
                    (warned.empty() ? "" : "; optional steps failed: " + warned);
  } else {
    group.state = StepState::kSucceeded;
    group.warning = !warned.empty();
    group.message = warned.empty() ? "" : "warning: optional steps failed: " + warned;
  }
}

}  // namespace

WorkflowRunner::~WorkflowRunner() = default;

WorkflowRunner::Workflow* WorkflowRunner::FindMutable(WorkflowId id) const {
  auto it = workflows_.find(id);
  return it == workflows_.end() ? nullptr : it->second.get();
}

const WorkflowRecord* WorkflowRunner::Find(WorkflowId id) const {
  Workflow* wf = FindMutable(id);
  return wf ? &wf->rec : nullptr;
}

bool WorkflowRunner::Running(WorkflowId id) const {
  const Workflow* wf = FindMutable(id);
  return wf != nullptr && !IsTerminal(wf->rec.status.state);
}

void WorkflowRunner::MarkDirty(Workflow& wf) {
  wf.rec.status.updated_ms = sink_->now_ms;
  if (!wf.dirty) {
    wf.dirty = true;
    dirty_.push_back(&wf);
  }
}

void WorkflowRunner::Emit(Workflow& wf, JobId job, std::string message) {
  Event e;
  e.job_id = job;
  e.kind = EventKind::kWorkflow;
  e.message = std::move(message);
  e.workflow_id = wf.rec.id;
  sink_->Emit(std::move(e));
}

StepLookup WorkflowRunner::Lookup(const Workflow& wf) const {
  return [&wf, views = std::make_shared<std::deque<StepView>>()](
             std::string_view name) -> const StepView* {
    const int32_t i = wf.plan.Find(name);
    if (i < 0) return nullptr;
    const StepStatus& st = wf.rec.status.steps[static_cast<size_t>(i)];
    views->push_back(StepView{st.state, st.job_id, &st.result});
    return &views->back();
  };
}

Result<std::unique_ptr<WorkflowRunner::Workflow>> WorkflowRunner::Rebuild(WorkflowRecord rec) {
  Result<WorkflowPlan> plan = PlanOf(rec);
  if (!plan.ok()) return plan.status();
  auto wf = std::make_unique<Workflow>();
  wf->plan = std::move(*plan);
  wf->rec = std::move(rec);
  return wf;
}

Result<WorkflowId> WorkflowRunner::Submit(const std::string& owner, std::string document,
                                          std::optional<WorkflowPlan> parsed) {
  if (owner.empty()) return InvalidArgument("owner: must not be empty");
  Result<WorkflowPlan> plan =
      parsed ? Result<WorkflowPlan>(std::move(*parsed)) : WorkflowPlan::Parse(document);
  if (!plan.ok()) return plan.status();
  // Every step's job must be valid as it stands (references are filled in later).
  for (const StepPlan& step : plan->steps) {
    if (step.kind != StepPlan::kJob) continue;
    JobSpec spec = step.job;
    spec.owner = owner;
    if (Status s = jobs_.validate(spec); !s.ok()) {
      return Status(s.code(), "steps." + step.name + "." + s.message());
    }
  }
  auto wf = std::make_unique<Workflow>();
  wf->rec.id = ++id_last_;
  wf->rec.owner = owner;
  wf->rec.name = plan->name;
  wf->rec.created_ms = sink_->now_ms;
  wf->rec.document = std::move(document);
  wf->rec.status.steps.resize(plan->steps.size());
  wf->plan = std::move(*plan);
  Workflow& w = *wf;
  workflows_.emplace(w.rec.id, std::move(wf));
  MarkDirty(w);
  Emit(w, 0, "workflow: running");
  Advance(w);
  return w.rec.id;
}

void WorkflowRunner::StartStep(Workflow& wf, uint32_t i) {
  const StepPlan& plan = wf.plan.steps[i];
  StepStatus& st = wf.rec.status.steps[i];
  JobSpec spec = plan.job;
  spec.owner = wf.rec.owner;
  spec.workflow_id = wf.rec.id;
  spec.workflow_step = i;
  spec.payload = FillReferences(spec.payload, Lookup(wf));
  if (Status s = jobs_.validate(spec); !s.ok()) {
    st.state = StepState::kFailed;
    st.message = "its job was refused: " + s.message();
    Emit(wf, 0, "step " + plan.name + ": failed: " + st.message);
    return;
  }
  const JobId job = jobs_.create(std::move(spec));
  st.state = StepState::kRunning;
  st.job_id = job;
  st.result.clear();
  st.message.clear();
  ++st.runs;
  Emit(wf, job, "step " + plan.name + ": running");
}

bool WorkflowRunner::RolledUpAgain(Workflow& wf, const std::vector<uint32_t>& members,
                                   StepStatus& group) {
  const StepState state = group.state;
  const std::string message = group.message;
  RollUp(wf.plan, wf.rec.status, members, group);
  return group.state != state || group.message != message;
}

void WorkflowRunner::Advance(Workflow& wf) {
  if (IsTerminal(wf.rec.status.state)) return;
  MarkDirty(wf);
  const WorkflowState read_before = ReadState(wf.plan, wf.rec.status);
  for (bool moved = true; moved;) {
    moved = false;
    // (Expanding plugins appends steps: the bound is read again at each step.)
    for (uint32_t i = 0; i < wf.rec.status.steps.size(); ++i) moved |= MoveStep(wf, i);
  }
  for (const StepStatus& st : wf.rec.status.steps) {
    if (!IsTerminal(st.state)) {
      // Still running; partial once only optional steps are left (it says so when that changes).
      const WorkflowState read = ReadState(wf.plan, wf.rec.status);
      if (read != read_before) {
        Emit(wf, 0, "workflow: " + std::string(WorkflowStateName(read)));
      }
      return;
    }
  }
  Finish(wf);
}

bool WorkflowRunner::MoveStep(Workflow& wf, uint32_t i) {
  const StepPlan& plan = wf.plan.steps[i];
  StepStatus& st = wf.rec.status.steps[i];
  const bool open = st.state == StepState::kRunning || st.state == StepState::kPartial;
  if (plan.kind == StepPlan::kPlugins && open) return RollUpPlugins(wf, i);
  if (plan.kind == StepPlan::kGate) return MoveGate(wf, i);
  if (st.state != StepState::kWaiting) return false;
  if (wf.cancelling) {
    st.state = StepState::kCancelled;
    st.message = "the workflow was cancelled";
    return true;
  }
  std::string why;
  const std::optional<bool> run = Decide(wf, plan, &why);
  if (!run) return false;
  if (plan.kind == StepPlan::kPlugins) {
    ExpandPlugins(wf, i, *run, why);
  } else if (!*run) {
    st.state = StepState::kSkipped;
    st.message = why;
    Emit(wf, 0, "step " + plan.name + ": skipped (" + why + ")");
  } else {
    StartStep(wf, i);
  }
  return true;
}

bool WorkflowRunner::RollUpPlugins(Workflow& wf, uint32_t i) {
  std::vector<StepStatus>& steps = wf.rec.status.steps;
  std::vector<uint32_t> mine;
  for (uint32_t k = 0; k < steps.size(); ++k) {
    if (steps[k].plugin_of == i + 1) mine.push_back(k);
  }
  // It rolls up once its mandatory plugins are done: to partial while optional ones run.
  StepStatus& st = steps[i];
  if (!MandatoryDone(wf.plan, wf.rec.status, mine) || !RolledUpAgain(wf, mine, st)) return false;
  Emit(wf, 0,
       "step " + wf.plan.steps[i].name + ": " + std::string(StepReadName(st)) +
           (st.state == StepState::kPartial ? " (" + st.message + ")" : ""));
  return true;
}

bool WorkflowRunner::MoveGate(Workflow& wf, uint32_t i) {
  const StepPlan& plan = wf.plan.steps[i];
  std::vector<StepStatus>& steps = wf.rec.status.steps;
  StepStatus& st = steps[i];
  if (st.state == StepState::kWaiting && !wf.cancelling) {
    // An activity reads running from its first step's start until it rolls up.
    bool started = false;
    for (uint32_t m : plan.members) started = started || steps[m].state != StepState::kWaiting;
    if (started && !MandatoryDone(wf.plan, wf.rec.status, plan.members)) {
      st.state = StepState::kRunning;
      Emit(wf, 0, "activity " + plan.name + ": running");
      return true;
    }
  }
  // A waiting, running or partial activity rolls up once its mandatory steps are done.
  const bool open = st.state == StepState::kRunning || st.state == StepState::kPartial;
  if (st.state != StepState::kWaiting && !open) return false;
  if (wf.cancelling) {
    st.state = StepState::kCancelled;
    st.message = "the workflow was cancelled";
    return true;
  }
  if (!MandatoryDone(wf.plan, wf.rec.status, plan.members)) return false;
  if (!RolledUpAgain(wf, plan.members, st)) return false;
  Emit(wf, 0,
       "activity " + plan.name + ": " + std::string(StepReadName(st)) +
           (st.message.empty() ? "" : " (" + st.message + ")"));
  return true;
}

std::optional<bool> WorkflowRunner::Decide(const Workflow& wf, const StepPlan& plan,
                                           std::string* why) const {
  const std::vector<StepStatus>& steps = wf.rec.status.steps;
  bool all_ok = true, any_failed = false;
  for (uint32_t d : plan.depends_on) {
    const StepState ds = steps[d].state;
    const StepPlan& dp = wf.plan.steps[d];
    if (!Settled(ds)) {
      // An optional step of an activity's parallel stage does not hold up what follows: the
      // stage is done ("partial") once its mandatory steps are.
      if (dp.optional && dp.stage == StepPlan::kParallel && ds == StepState::kRunning) continue;
      return std::nullopt;
    }
    const bool failed = Failed(ds);
    any_failed |= failed;
    if (ds == StepState::kSkipped || (failed && Mandatory(dp))) {
      all_ok = false;
      if (why->empty()) *why = "upstream " + dp.name + " " + std::string(StepStateName(ds));
    }
  }
  switch (plan.when) {
    case StepPlan::kOnSuccess:
      return all_ok;
    case StepPlan::kOnFailure:
      if (!any_failed) *why = "no upstream step failed";
      return any_failed;
    case StepPlan::kAlways:
      return true;
    case StepPlan::kExpression: {
      const bool run = plan.expression->Evaluate(Lookup(wf));
      if (!run) *why = "its condition is false";
      return run;
    }
  }
  return std::nullopt;
}

void WorkflowRunner::ExpandPlugins(Workflow& wf, uint32_t i, bool run, const std::string& why) {
  std::vector<StepStatus>& steps = wf.rec.status.steps;
  // Every plugin registered for the activity, lower order first; only those that always run
  // when the stage is skipped.
  std::map<std::pair<int32_t, std::string>, PluginRegistration> chosen;
  const std::string activity =
      wf.plan.activities[static_cast<size_t>(wf.plan.steps[i].activity)].name;
  for (const auto& [worker, regs] : plugins_) {
    for (const PluginRegistration& r : regs) {
      if (r.activity != activity || (!run && !r.always_run)) continue;
      chosen.emplace(std::make_pair(r.order, r.type), r);
    }
  }
  const std::string name = wf.plan.steps[i].name;
  if (steps.size() + chosen.size() > WorkflowLimits{}.steps_max) {
    steps[i].state = StepState::kFailed;
    steps[i].message = Num(chosen.size()) + " plugins would make more than " +
                       Num(WorkflowLimits{}.steps_max) + " steps, the most a workflow may have";
    Emit(wf, 0, "step " + name + ": failed (" + steps[i].message + ")");
    return;
  }
  // (Appending invalidates references into the plan and the steps: none is held across it.)
  for (const auto& [key, r] : chosen) {
    StepStatus ps;
    ps.plugin_of = i + 1;
    ps.plugin_type = r.type;
    ps.plugin_mandatory = r.mandatory;
    ps.plugin_order = r.order;
    wf.plan.steps.push_back(PluginStep(wf.plan, i, ps, wf.rec.id));
    steps.push_back(std::move(ps));
  }
  StepStatus& now = steps[i];
  if (chosen.empty()) {
    now.state = run ? StepState::kSucceeded : StepState::kSkipped;
    now.message = run ? "no plugin is registered for activity " + activity : why;
  } else {
    now.state = StepState::kRunning;
  }
  Emit(wf, 0,
       "step " + name + ": " + std::string(StepStateName(now.state)) + " (" + Num(chosen.size()) +
           " plugins)");
}

void WorkflowRunner::Finish(Workflow& wf) {
  WorkflowStatus& s = wf.rec.status;
  std::string failed, warned;
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    const StepPlan& plan = wf.plan.steps[i];
    const StepStatus& st = s.steps[i];
    if (plan.kind == StepPlan::kGate) continue;  // its steps speak for it
    if (Failed(st.state)) {
      std::string& list = Mandatory(plan) ? failed : warned;
      list += (list.empty() ? "" : ", ") + plan.name;
    }
  }
  if (wf.cancelling) {
    s.state = WorkflowState::kCancelled;
  } else if (!failed.empty()) {
    s.state = WorkflowState::kFailed;
    s.message =
        "steps failed: " + failed + (warned.empty() ? "" : "; optional steps failed: " + warned);
  } else if (!warned.empty()) {
    s.state = WorkflowState::kOptionalFailed;
    s.message = "optional steps failed: " + warned;
  } else {
    s.state = WorkflowState::kSucceeded;
    s.message.clear();
  }
  s.finished_ms = sink_->now_ms;
  wf.cancelling = false;
  MarkDirty(wf);
  Emit(wf, 0,
       "workflow: " + std::string(WorkflowStateName(s.state)) +
           (s.message.empty() ? "" : " (" + s.message + ")"));
  finished_.push_back(wf.rec.id);
}

void WorkflowRunner::JobFinished(const JobRecord& job) {
  Workflow* wf = FindMutable(job.spec.workflow_id);
  if (wf == nullptr) return;
  const uint32_t i = job.spec.workflow_step;
  if (i >= wf->rec.status.steps.size()) return;
  StepStatus& st = wf->rec.status.steps[i];
  if (st.job_id != job.id || st.state != StepState::kRunning) return;  // an earlier run's
  const JobStatus& js = job.status;
  st.state = js.state == JobState::kSucceeded ? StepState::kSucceeded
             : js.state == JobState::kFailed  ? StepState::kFailed
                                              : StepState::kCancelled;
  st.result = js.state == JobState::kSucceeded ? js.result : "";
  st.message = js.state == JobState::kSucceeded ? "" : js.error;
  Emit(*wf, job.id, "step " + wf->plan.steps[i].name + ": " + std::string(StepStateName(st.state)));
  Advance(*wf);
}

Status WorkflowRunner::Cancel(WorkflowId id, std::string reason) {
  if (reason.size() > limits_.message_bytes_max) {
    return TooLong("reason", reason.size(), limits_.message_bytes_max);
  }
  if (reason.empty()) reason = "cancelled";
  Workflow* wf = FindMutable(id);
  if (wf == nullptr) return NotFound("workflow " + Num(id) + ": not found");
  if (IsTerminal(wf->rec.status.state)) {
    return FailedPrecondition("workflow " + Num(id) + " has already " +
                              std::string(WorkflowStateName(wf->rec.status.state)) +
                              "; only a running workflow can be cancelled");
  }
  wf->cancelling = true;
  wf->rec.status.message = reason;
  std::vector<JobId> running;
  for (const StepStatus& st : wf->rec.status.steps) {
    if (st.state == StepState::kRunning && st.job_id != 0) running.push_back(st.job_id);
  }
  for (JobId j : running) jobs_.cancel(j, reason);
  // Plugins steps still running (or partial), and whatever waits.
  for (StepStatus& st : wf->rec.status.steps) {
    if (st.state == StepState::kRunning || st.state == StepState::kPartial) {
      st.state = StepState::kCancelled;
      st.message = reason;
    }
  }
  Advance(*wf);
  return Status::Ok();
}

Status WorkflowRunner::Retry(WorkflowId id) {
  Workflow* wf = FindMutable(id);
  if (wf == nullptr) return NotFound("workflow " + Num(id) + ": not found");
  WorkflowStatus& s = wf->rec.status;
  if (s.state == WorkflowState::kRunning || s.state == WorkflowState::kSucceeded) {
    return FailedPrecondition("workflow " + Num(id) + " is " +
                              std::string(WorkflowStateName(s.state)) +
                              "; only a failed, cancelled or optional_failed workflow can be "
                              "retried");
  }
  // The failed steps, and everything downstream of them (in plan order, upstream comes first).
  std::vector<bool> again(s.steps.size(), false);
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    const StepPlan& plan = wf->plan.steps[i];
    bool redo = Failed(s.steps[i].state) && plan.kind == StepPlan::kJob;
    for (uint32_t d : plan.depends_on) redo = redo || again[d];
    if (s.steps[i].plugin_of != 0) redo = redo || again[s.steps[i].plugin_of - 1];
    again[i] = redo;
  }
  // Groups (activities, plugins) whose members run again resolve again; a second pass, since a
  // plugin step comes after its plugins step.
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    if (again[i] && s.steps[i].plugin_of != 0) again[s.steps[i].plugin_of - 1] = true;
  }
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    const StepPlan& plan = wf->plan.steps[i];
    if (plan.kind == StepPlan::kGate) {
      for (uint32_t m : plan.members) again[i] = again[i] || again[m];
    }
  }
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    if (!again[i]) continue;
    StepStatus& st = s.steps[i];
    // A plugins step keeps the plugin steps it added: they run again, not anew.
    const bool expanded = wf->plan.steps[i].kind == StepPlan::kPlugins &&
                          std::any_of(s.steps.begin(), s.steps.end(),
                                      [i](const StepStatus& o) { return o.plugin_of == i + 1; });
    st.state = expanded ? StepState::kRunning : StepState::kWaiting;
    st.result.clear();
    st.message.clear();
    st.warning = false;
  }
  s.state = WorkflowState::kRunning;
  s.finished_ms = 0;
  s.message.clear();
  Emit(*wf, 0, "workflow: retried");
  Advance(*wf);
  return Status::Ok();
}

Status WorkflowRunner::Load(WorkflowRecord rec) {
  if (!IsTerminal(rec.status.state)) {
    return FailedPrecondition("load: workflow " + Num(rec.id) +
                              " is running; only a finished workflow can be loaded");
  }
  if (rec.id == 0 || rec.id > id_last_) {
    return InvalidArgument("load: workflow " + Num(rec.id) + " is not a workflow of this store");
  }
  if (FindMutable(rec.id) != nullptr) return Status::Ok();
  Result<std::unique_ptr<Workflow>> wf = Rebuild(std::move(rec));
  if (!wf.ok()) return wf.status();
  (*wf)->is_new = false;
  const WorkflowId id = (*wf)->rec.id;
  workflows_.emplace(id, std::move(*wf));
  finished_.push_back(id);
  return Status::Ok();
}

void WorkflowRunner::RegisterPlugins(const std::string& worker_id,
                                     std::vector<PluginRegistration> plugins) {
  if (plugins.empty()) {
    plugins_.erase(worker_id);
  } else {
    plugins_[worker_id] = std::move(plugins);
  }
}

Status WorkflowRunner::Restore(WorkflowId id_max, std::vector<WorkflowRecord> recs) {
  id_last_ = id_max;
  for (WorkflowRecord& rec : recs) {
    if (rec.id == 0 || rec.id > id_last_) {
      return DataLoss("restore: workflow " + Num(rec.id) + " is inconsistent with the stored ids");
    }
    Result<std::unique_ptr<Workflow>> wf = Rebuild(std::move(rec));
    if (!wf.ok()) return DataLoss("restore: " + wf.status().message());
    (*wf)->is_new = false;
    const WorkflowId id = (*wf)->rec.id;
    workflows_.emplace(id, std::move(*wf));
  }
  return Status::Ok();
}

void WorkflowRunner::TakeRecords(RecordBatch* out) {
  for (Workflow* wf : dirty_) {
    wf->dirty = false;
    if (wf->is_new) {
      wf->is_new = false;
      out->workflow_inserts.push_back(wf->rec);
    } else {
      out->workflow_updates.push_back(WorkflowUpdate{wf->rec.id, wf->rec.status});
    }
  }
  dirty_.clear();
  while (finished_.size() > limits_.finished_max) {
    auto it = workflows_.find(finished_.front());
    finished_.pop_front();
    if (it != workflows_.end() && IsTerminal(it->second->rec.status.state) && !it->second->dirty) {
      workflows_.erase(it);
    }
  }
}

}  // namespace baton::engine
