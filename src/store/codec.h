// Codecs every backend shares: how engine values that a backend keeps as one text column are
// written and read back, so that each backend stores them alike and none copies another's code.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "engine/types.h"

namespace baton::store {

// A workflow's step states as one JSON array (rewritten with the workflow's status), and back;
// text that does not decode is DataLoss naming the workflow.
std::string EncodeSteps(const std::vector<engine::StepStatus>& steps);
Result<std::vector<engine::StepStatus>> DecodeSteps(const std::string& text, engine::WorkflowId id);

}  // namespace baton::store
