// WorkflowRunner: the engine's workflows, one of the parts the Engine composes (with the
// ScheduleBook, over one Sink). It keeps each workflow with its plan (workflow.h), decides which
// steps start, are skipped or roll up as their dependencies end, runs an activity's plugins, and
// finishes, cancels and retries workflows. A step's job is checked, made and cancelled through
// StepJobs, so the runner knows nothing of the job lifecycle; the engine tells it when a step's
// job ends (JobFinished). What changes goes to the sink: events at once, the workflows' rows when
// the engine takes its records.
//
// Thread rules: the engine's thread, like the engine.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "engine/sink.h"
#include "engine/types.h"
#include "engine/workflow.h"

namespace baton::engine {

// What the runner asks of the job side.
struct StepJobs {
  // Fills a step's job spec's defaults and checks it, as a submit would.
  std::function<Status(JobSpec&)> validate;
  // Makes a job of a checked spec; returns its id.
  std::function<JobId(JobSpec)> create;
  // Ends a step's job as cancelled, if it has not finished. It may call JobFinished at once.
  std::function<void(JobId, const std::string& reason)> cancel;
};

struct WorkflowRunnerLimits {
  size_t message_bytes_max = 4 << 10;  // a cancel's reason
  size_t finished_max = 10000;         // finished workflows kept in memory
};

class WorkflowRunner {
 public:
  WorkflowRunner(WorkflowRunnerLimits limits, Sink* sink, StepJobs jobs)
      : limits_(limits), sink_(sink), jobs_(std::move(jobs)) {}
  ~WorkflowRunner();
  WorkflowRunner(const WorkflowRunner&) = delete;
  WorkflowRunner& operator=(const WorkflowRunner&) = delete;

  // Checks the whole document (errors name their path; every step's job as a submit would),
  // makes the workflow and starts the steps that depend on nothing. `parsed`: the plan of
  // `document`, when the caller parsed it already.
  Result<WorkflowId> Submit(const std::string& owner, std::string document,
                            std::optional<WorkflowPlan> parsed = std::nullopt);
  // Cancels every running step's job and the steps not yet started; the workflow ends cancelled.
  Status Cancel(WorkflowId id, std::string reason);
  // Runs a finished workflow's failed and cancelled steps again, and every step downstream of
  // them; the steps that succeeded keep their results.
  Status Retry(WorkflowId id);
  // A step's job ended (`job` is its record, finished): the step takes its state and result,
  // and the workflow moves on. A job of an earlier run of the step changes nothing.
  void JobFinished(const JobRecord& job);

  // The workflow, if running or recently finished. Valid until the next command.
  const WorkflowRecord* Find(WorkflowId id) const;
  bool Running(WorkflowId id) const;
  // Brings back a finished workflow that left memory (read from the store).
  Status Load(WorkflowRecord rec);
  // The plugins a worker registers for activities (from its hello); replaces its earlier ones.
  // An activity's parallel stage runs every plugin registered for it when the stage starts.
  void RegisterPlugins(const std::string& worker_id, std::vector<PluginRegistration> plugins);

  // The workflows read back at recovery; `id_max` is the largest id the store gave out.
  Status Restore(WorkflowId id_max, std::vector<WorkflowRecord> recs);
  bool empty() const { return workflows_.empty() && id_last_ == 0; }

  bool HasRecords() const { return !dirty_.empty(); }
  // Moves the rows of the workflows that changed into `out`, then lets the oldest finished
  // workflows past finished_max leave memory.
  void TakeRecords(RecordBatch* out);

 private:
  struct Workflow {
    WorkflowRecord rec;
    WorkflowPlan plan;  // the document's steps, then the plugin steps added as they started
    bool dirty = false;
    bool is_new = true;
    bool cancelling = false;
  };
  Workflow* FindMutable(WorkflowId id) const;
  void MarkDirty(Workflow& wf);
  void Emit(Workflow& wf, JobId job, std::string message);
  StepLookup Lookup(const Workflow& wf) const;
  static Result<std::unique_ptr<Workflow>> Rebuild(WorkflowRecord rec);

  // Starts, skips or resolves every step that can move, until none can; finishes the workflow
  // when every step has ended.
  void Advance(Workflow& wf);
  // Moves step `i` one step on if it can; true if it did.
  bool MoveStep(Workflow& wf, uint32_t i);
  // An activity's own step: it reads running from its first step's start, and rolls up once its
  // mandatory steps are done.
  bool MoveGate(Workflow& wf, uint32_t i);
  // A running plugins step rolls up once its mandatory plugins are done.
  bool RollUpPlugins(Workflow& wf, uint32_t i);
  // Rolls `group` up over `members` again; true if its state or message changed.
  bool RolledUpAgain(Workflow& wf, const std::vector<uint32_t>& members, StepStatus& group);
  // Whether a waiting step runs (true), is skipped (false, with `why`), or is not ready yet
  // (none), from its dependencies and its `when`.
  std::optional<bool> Decide(const Workflow& wf, const StepPlan& plan, std::string* why) const;
  // A plugins step that is due: adds a step for every plugin registered for its activity.
  void ExpandPlugins(Workflow& wf, uint32_t i, bool run, const std::string& why);
  void StartStep(Workflow& wf, uint32_t i);
  void Finish(Workflow& wf);

  WorkflowRunnerLimits limits_;
  Sink* sink_;
  StepJobs jobs_;
  std::unordered_map<WorkflowId, std::unique_ptr<Workflow>> workflows_;
  WorkflowId id_last_ = 0;
  std::vector<Workflow*> dirty_;
  std::deque<WorkflowId> finished_;                                 // oldest first, for eviction
  std::map<std::string, std::vector<PluginRegistration>> plugins_;  // by worker
};

}  // namespace baton::engine
