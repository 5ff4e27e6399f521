// Workflows: a document of steps (each a job template) with dependencies, conditions and data
// passed from step to step, and activities (pre / parallel / post stages). This file parses and
// checks the document into a plan, evaluates conditions, and fills ${...} references; the engine
// runs the plan (engine.h).
//
// The document (JSON):
//   {"name": "etl",
//    "steps": [{"name": "fetch", "type": "shell", "payload": {"command": "..."}},
//              {"name": "load", "type": "db.load", "depends_on": ["fetch"],
//               "payload": {"url": "${steps.fetch.result.url}"}, "optional": true,
//               "attempts_max": 5, "retry": {"delay_initial_ms": 100}},
//              {"name": "cleanup", "type": "shell", "depends_on": ["load"], "when": "on_failure",
//               "payload": {"command": "rm -rf tmp"}}],
//    "activities": [{"name": "deploy", "depends_on": ["load"], "plugins": true,
//                    "pre": [steps], "parallel": [steps], "post": [steps]}]}
// A step is a job (as POST /v1/jobs takes it) plus name, depends_on, when and optional. `when` is
// on_success (the default: every upstream step succeeded, an optional one may have failed),
// on_failure (an upstream step failed), always, or an expression such as
//   steps.load.result.rows > 100 && steps.fetch.status == "succeeded"
// (comparisons == != < <= > >= of step fields and literals, && || ! and parentheses). A string
// in a payload may hold ${steps.NAME.result.KEY...}, ${steps.NAME.status}, ${steps.NAME.job} or
// ${steps.NAME.files.FILE} (the file's URL path); a string that is only one reference takes the
// referenced JSON value itself. Only upstream steps may be referenced.
//
// Thread rules: immutable once parsed; const methods are thread-safe.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/types.h"

namespace baton::engine {

// What an expression or a reference reads from an upstream step.
struct StepView {
  StepState state = StepState::kWaiting;
  JobId job_id = 0;
  const std::string* result = nullptr;  // JSON text, when succeeded
};
using StepLookup = std::function<const StepView*(std::string_view step)>;

class Expression {
 public:
  // `field` names it in errors ("steps[2].when: ...").
  static Result<std::shared_ptr<const Expression>> Parse(std::string_view text,
                                                         const std::string& field);
  bool Evaluate(const StepLookup& steps) const;
  // The steps it reads.
  const std::vector<std::string>& steps() const { return steps_; }

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
  std::vector<std::string> steps_;
};

struct StepPlan {
  std::string name;
  // kJob runs a job; kGate is an activity's own step (its name is the activity's), which rolls up
  // the activity's steps; kPlugins runs, in an activity's parallel stage, every plugin registered
  // for the activity.
  enum Kind : uint8_t { kJob, kGate, kPlugins } kind = kJob;
  std::vector<uint32_t> depends_on;
  enum When : uint8_t { kOnSuccess, kOnFailure, kAlways, kExpression } when = kOnSuccess;
  std::shared_ptr<const Expression> expression;
  bool optional = false;
  JobSpec job;  // kJob: the template; strings in its payload may hold ${...}
  int32_t activity = -1;
  enum Stage : uint8_t { kNone, kPre, kParallel, kPost } stage = kNone;
  std::vector<uint32_t> members;  // kGate: the activity's steps
};

struct ActivityPlan {
  std::string name;
  uint32_t gate = 0;  // its kGate step
  uint32_t plugins = UINT32_MAX;
};

struct WorkflowLimits {
  size_t steps_max = 1000;
  size_t document_bytes_max = 1 << 20;
};

struct WorkflowPlan {
  std::string name;
  std::vector<StepPlan> steps;  // in an order where every step comes after its dependencies
  std::vector<ActivityPlan> activities;

  // Every error names its path: "steps[2].depends_on[0]: no step named \"x\"", "steps: a cycle:
  // a -> b -> a", "steps[1].payload.url: ${steps.zz.result}: no step named \"zz\"".
  static Result<WorkflowPlan> Parse(std::string_view document, const WorkflowLimits& limits = {});
  int32_t Find(std::string_view step) const;
};

// The payload template with every ${...} filled from `steps`. A reference to a step that did not
// succeed, or to a missing key, becomes null.
std::string FillReferences(const std::string& payload, const StepLookup& steps);

// A plugin a worker registered for an activity: its job type runs in the activity's parallel
// stage. Mandatory: its failure fails the activity; else it only warns. always_run: it runs even
// when the stage is skipped. Lower order first.
struct PluginRegistration {
  std::string activity;
  std::string type;
  bool mandatory = false;
  int32_t order = 0;
  bool always_run = false;

  bool operator==(const PluginRegistration&) const = default;
};

// The plan of a plugin's step, from the status that records it; `plugins_step` is its
// activity's plugins step.
StepPlan PluginStep(const WorkflowPlan& plan, uint32_t plugins_step, const StepStatus& st,
                    WorkflowId id);

// A stored workflow's plan: its document's, then its plugin steps. DataLoss if they disagree.
Result<WorkflowPlan> PlanOf(const WorkflowRecord& rec);

// What a step reads as in the API: its state, or "optional_failed" for a group that succeeded
// while optional steps of it failed.
std::string_view StepReadName(const StepStatus& st);
// What a workflow reads as: its state, or kPartial while it runs, no mandatory step has failed,
// every mandatory step is done and only optional steps (or partial groups) still run.
WorkflowState ReadState(const WorkflowPlan& plan, const WorkflowStatus& status);

}  // namespace baton::engine
