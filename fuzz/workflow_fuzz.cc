// Workflow documents (JSON): steps, dependencies, conditions, activities and ${...} references.
#include "engine/workflow.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  baton::engine::WorkflowLimits limits;
  limits.steps_max = 64;
  auto plan = baton::engine::WorkflowPlan::Parse(AsText(data, size), limits);
  if (!plan.ok()) FUZZ_CHECK(!plan.status().message().empty());
  return 0;
}
