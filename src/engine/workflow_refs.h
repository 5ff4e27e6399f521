// References and step names of workflow documents, shared by the workflow sources
// (workflow.cc, workflow_expression.cc, workflow_plan.cc); private to them.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/workflow.h"

namespace baton::engine::refs {

// 1 to 128 letters, digits, _ and -.
bool ValidStepName(std::string_view s);

// A reference: steps.NAME.result[.KEY...] | steps.NAME.status | steps.NAME.job |
// steps.NAME.files.FILE.
struct Ref {
  std::string step;
  enum Field { kResult, kStatus, kJob, kFile } field = kResult;
  std::vector<std::string> keys;  // kResult: the path into the result; kFile: the file name
};

// The reference in `text` (without ${ and }), or none when it has none of the forms.
std::optional<Ref> ParseRef(std::string_view text);
inline constexpr const char* kRefForms =
    "must be steps.NAME.result[.KEY...], steps.NAME.status, steps.NAME.job or "
    "steps.NAME.files.FILE";

// The value a reference names, or null.
boost::json::value Resolve(const Ref& r, const StepLookup& steps);
// Calls `each(ref text, path)` for every ${...} in the strings of `v`; stops at the first error.
Status ForEachRef(const boost::json::value& v, const std::string& path,
                  const std::function<Status(std::string_view, const std::string&)>& each);

}  // namespace baton::engine::refs
