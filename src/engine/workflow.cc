#include "engine/workflow.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <utility>

#include "engine/spec_json.h"
#include "engine/workflow_refs.h"

namespace baton::engine {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 7> kStepStateNames = {
    "waiting", "running", "succeeded", "failed", "skipped", "cancelled", "partial"};
constexpr std::array<std::string_view, 6> kWorkflowStateNames = {
    "running", "succeeded", "optional_failed", "failed", "cancelled", "partial"};

template <typename E, size_t N>
std::optional<E> ByName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

namespace refs {

bool ValidStepName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::optional<Ref> ParseRef(std::string_view text) {
  constexpr std::string_view kSteps = "steps.";
  if (!text.starts_with(kSteps)) return std::nullopt;
  text.remove_prefix(kSteps.size());
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Ref r;
  r.step = std::string(text.substr(0, dot));
  if (!ValidStepName(r.step)) return std::nullopt;
  std::string_view rest = text.substr(dot + 1);
  if (rest == "status") {
    r.field = Ref::kStatus;
    return r;
  }
  if (rest == "job") {
    r.field = Ref::kJob;
    return r;
  }
  if (rest.starts_with("files.") && rest.size() > 6) {
    r.field = Ref::kFile;
    r.keys.emplace_back(rest.substr(6));
    return r;
  }
  if (rest != "result" && !rest.starts_with("result.")) return std::nullopt;
  rest.remove_prefix(6);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '.'
    const size_t next = rest.find('.');
    std::string_view key = rest.substr(0, next);
    if (key.empty()) return std::nullopt;
    r.keys.emplace_back(key);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
  }
  return r;
}

json::value Resolve(const Ref& r, const StepLookup& steps) {
  const StepView* v = steps(r.step);
  if (v == nullptr) return nullptr;
  switch (r.field) {
    case Ref::kStatus:
      return json::string(StepStateName(v->state));
    case Ref::kJob:
      return v->job_id == 0 ? json::value(nullptr) : json::value(v->job_id);
    case Ref::kFile:
      return v->job_id == 0 ? json::value(nullptr)
                            : json::value("/v1/jobs/" + std::to_string(v->job_id) + "/files/" +
                                          r.keys.front());
    case Ref::kResult:
      break;
  }
  if (v->state != StepState::kSucceeded || v->result == nullptr || v->result->empty()) {
    return nullptr;
  }
  boost::system::error_code ec;
  json::value value = json::parse(*v->result, ec);
  if (ec) return nullptr;
  const json::value* at = &value;
  for (const std::string& key : r.keys) {
    if (at->is_object() && at->as_object().contains(key)) {
      at = &at->as_object().at(key);
    } else if (at->is_array() && !key.empty() &&
               std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
               std::stoull(key) < at->as_array().size()) {
      at = &at->as_array().at(std::stoull(key));
    } else {
      return nullptr;
    }
  }
  return *at;
}

Status ForEachRef(const json::value& v, const std::string& path,
                  const std::function<Status(std::string_view, const std::string&)>& each) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    size_t at = 0;
    while ((at = s.find("${", at)) != std::string_view::npos) {
      const size_t end = s.find('}', at);
      if (end == std::string_view::npos) {
        return InvalidArgument(path + ": a ${ without its closing }");
      }
      BATON_RETURN_IF_ERROR(each(s.substr(at + 2, end - at - 2), path));
      at = end + 1;
    }
  } else if (v.is_object()) {
    for (const auto& [key, value] : v.as_object()) {
      BATON_RETURN_IF_ERROR(ForEachRef(value, path + "." + std::string(key), each));
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.as_array().size(); ++i) {
      BATON_RETURN_IF_ERROR(ForEachRef(v.as_array()[i], Indexed(path, i), each));
    }
  }
  return Status::Ok();
}

}  // namespace refs

namespace {

using refs::ParseRef;
using refs::Ref;
using refs::Resolve;

json::value Fill(const json::value& v, const StepLookup& steps) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    if (s.find("${") == std::string_view::npos) return v;
    // A string that is one reference and nothing else takes the value itself.
    if (s.starts_with("${") && s.find('}') == s.size() - 1) {
      std::optional<Ref> r = ParseRef(s.substr(2, s.size() - 3));
      return r ? Resolve(*r, steps) : json::value(nullptr);
    }
    std::string out;
    size_t at = 0;
    for (;;) {
      const size_t open = s.find("${", at);
      if (open == std::string_view::npos) break;
      const size_t close = s.find('}', open);
      if (close == std::string_view::npos) break;
      out += s.substr(at, open - at);
      std::optional<Ref> r = ParseRef(s.substr(open + 2, close - open - 2));
      json::value value = r ? Resolve(*r, steps) : json::value(nullptr);
      if (value.is_string()) {
        out += value.as_string();
      } else if (!value.is_null()) {
        out += json::serialize(value);
      }
      at = close + 1;
    }
    out += s.substr(at);
    return json::string(out);
  }
  if (v.is_object()) {
    json::object o;
    for (const auto& [key, value] : v.as_object()) o[key] = Fill(value, steps);
    return o;
  }
  if (v.is_array()) {
    json::array a;
    for (const json::value& item : v.as_array()) a.push_back(Fill(item, steps));
    return a;
  }
  return v;
}

}  // namespace

std::string_view StepStateName(StepState s) { return kStepStateNames[static_cast<size_t>(s)]; }
std::optional<StepState> ParseStepState(std::string_view name) {
  return ByName<StepState>(kStepStateNames, name);
}
std::string_view WorkflowStateName(WorkflowState s) {
  return kWorkflowStateNames[static_cast<size_t>(s)];
}
std::optional<WorkflowState> ParseWorkflowState(std::string_view name) {
  if (name == "warning") return WorkflowState::kOptionalFailed;  // its name before issue 17
  return ByName<WorkflowState>(kWorkflowStateNames, name);
}

std::string_view StepReadName(const StepStatus& st) {
  if (st.state == StepState::kSucceeded && st.warning) return "optional_failed";
  return StepStateName(st.state);
}

WorkflowState ReadState(const WorkflowPlan& plan, const WorkflowStatus& status) {
  if (IsTerminal(status.state)) return status.state;
  bool optional_running = false;
  for (size_t i = 0; i < status.steps.size() && i < plan.steps.size(); ++i) {
    const StepPlan& p = plan.steps[i];
    const StepState s = status.steps[i].state;
    const bool failed = s == StepState::kFailed || s == StepState::kCancelled;
    if (failed && !p.optional && p.kind != StepPlan::kGate) return WorkflowState::kRunning;
    if (IsTerminal(s)) continue;
    if (s == StepState::kPartial || (p.optional && s == StepState::kRunning)) {
      optional_running = true;
      continue;
    }
    return WorkflowState::kRunning;  // mandatory work is not done
  }
  return optional_running ? WorkflowState::kPartial : WorkflowState::kRunning;
}

std::string FillReferences(const std::string& payload, const StepLookup& steps) {
  if (payload.find("${") == std::string::npos) return payload;
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec) return payload;
  return json::serialize(Fill(v, steps));
}

// The plan of a plugin's step, from the status that records it.
StepPlan PluginStep(const WorkflowPlan& plan, uint32_t plugins_step, const StepStatus& st,
                    WorkflowId id) {
  const StepPlan& p = plan.steps[plugins_step];
  StepPlan s;
  s.name = p.name + ":" + st.plugin_type;
  s.kind = StepPlan::kJob;
  s.depends_on = p.depends_on;
  s.when = StepPlan::kAlways;  // the plugins step decided
  s.optional = !st.plugin_mandatory;
  s.activity = p.activity;
  s.stage = StepPlan::kParallel;
  s.job.type = st.plugin_type;
  const std::string& activity = plan.activities[static_cast<size_t>(p.activity)].name;
  s.job.payload = R"({"workflow":)" + std::to_string(id) + R"(,"activity":)" +
                  json::serialize(json::string(activity)) + R"(,"plugin":)" +
                  json::serialize(json::string(st.plugin_type)) + "}";
  return s;
}

Result<WorkflowPlan> PlanOf(const WorkflowRecord& rec) {
  const std::string which = "workflow " + std::to_string(rec.id) + ": ";
  Result<WorkflowPlan> plan = WorkflowPlan::Parse(rec.document);
  if (!plan.ok()) return Status(plan.status().code(), which + plan.status().message());
  const size_t declared = plan->steps.size();
  if (rec.status.steps.size() < declared) {
    return DataLoss(which + std::to_string(rec.status.steps.size()) + " step states for " +
                    std::to_string(declared) + " steps");
  }
  for (size_t i = declared; i < rec.status.steps.size(); ++i) {
    const StepStatus& st = rec.status.steps[i];
    if (st.plugin_of == 0 || st.plugin_of > declared) {
      return DataLoss(which + "step " + std::to_string(i) + " is no plugin's");
    }
    plan->steps.push_back(PluginStep(*plan, st.plugin_of - 1, st, rec.id));
  }
  return plan;
}

}  // namespace baton::engine
