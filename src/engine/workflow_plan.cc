// A workflow document read into its plan (WorkflowPlan::Parse): fields, activities and their
// stages, names, dependencies, order and references, each error naming its path.
#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "engine/spec_json.h"
#include "engine/workflow.h"
#include "engine/workflow_refs.h"

namespace baton::engine {

namespace json = boost::json;
using refs::ForEachRef;
using refs::kRefForms;
using refs::ParseRef;
using refs::Ref;
using refs::ValidStepName;

namespace {

struct RawStep {
  StepPlan plan;
  std::string path;                    // where it is in the document, for errors
  std::vector<std::string> deps;       // names
  std::vector<std::string> dep_paths;  // and where each is named
};

Result<StepPlan::When> ParseWhen(const json::value& v, const std::string& field,
                                 std::shared_ptr<const Expression>* expression) {
  if (!v.is_string()) return Wrong(field, "on_success, on_failure, always or an expression", v);
  const std::string_view w = v.as_string();
  if (w == "on_success") return StepPlan::kOnSuccess;
  if (w == "on_failure") return StepPlan::kOnFailure;
  if (w == "always") return StepPlan::kAlways;
  auto e = Expression::Parse(w, field);
  if (!e.ok()) return e.status();
  *expression = *e;
  return StepPlan::kExpression;
}

// A step object: job fields plus name, depends_on, when, optional. `in_activity`: depends_on is
// the activity's to set.
Result<RawStep> ParseStep(const json::value& v, const std::string& path, bool in_activity) {
  if (!v.is_object()) return Wrong(path, "a step object", v);
  RawStep r;
  r.path = path;
  json::object job;
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "name") {
      if (!value.is_string() || !ValidStepName(value.as_string())) {
        return Wrong(field, "1 to 128 letters, digits, _ and -", value);
      }
      r.plan.name = std::string(value.as_string());
    } else if (key == "depends_on") {
      if (in_activity) {
        return InvalidArgument(field +
                               ": a step of an activity follows its stages; set depends_on on "
                               "the activity");
      }
      if (!value.is_array()) return Wrong(field, "an array of step names", value);
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        auto name = String(value.as_array()[i], Indexed(field, i));
        if (!name.ok()) return name.status();
        r.deps.push_back(*name);
        r.dep_paths.push_back(Indexed(field, i));
      }
    } else if (key == "when") {
      auto w = ParseWhen(value, field, &r.plan.expression);
      if (!w.ok()) return w.status();
      r.plan.when = *w;
    } else if (key == "optional") {
      if (!value.is_bool()) return Wrong(field, "true or false", value);
      r.plan.optional = value.as_bool();
    } else if (key == "parent_id") {
      return InvalidArgument(field + ": a workflow step is not a sub-job");
    } else if (key == "idempotency_key") {
      return InvalidArgument(field + ": a workflow step runs once per run of the workflow");
    } else {
      job[key] = value;
    }
  }
  if (r.plan.name.empty()) return InvalidArgument(path + ".name: is required");
  auto spec = ParseJobSpec(job, path);
  if (!spec.ok()) return spec.status();
  r.plan.job = std::move(*spec);
  return r;
}

// An activity as written: its fields, and its stages' steps (pre, parallel, post).
struct RawActivity {
  ActivityPlan plan;
  RawStep gate;
  std::vector<std::string> entry;  // its depends_on
  std::vector<std::string> entry_paths;
  StepPlan::When entry_when = StepPlan::kOnSuccess;
  std::shared_ptr<const Expression> entry_expression;
  bool plugins = false;
  std::array<std::vector<RawStep>, 3> stages;
};

Result<RawActivity> ParseActivity(const json::value& av, size_t a, const std::string& path) {
  if (!av.is_object()) return Wrong(path, "an activity object", av);
  RawActivity act;
  RawStep& gate = act.gate;
  gate.path = path;
  gate.plan.kind = StepPlan::kGate;
  gate.plan.when = StepPlan::kAlways;
  gate.plan.activity = static_cast<int32_t>(a);
  for (const auto& [key, value] : av.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "name") {
      if (!value.is_string() || !ValidStepName(value.as_string())) {
        return Wrong(field, "1 to 128 letters, digits, _ and -", value);
      }
      act.plan.name = std::string(value.as_string());
    } else if (key == "depends_on") {
      if (!value.is_array()) return Wrong(field, "an array of step names", value);
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        auto name = String(value.as_array()[i], Indexed(field, i));
        if (!name.ok()) return name.status();
        act.entry.push_back(*name);
        act.entry_paths.push_back(Indexed(field, i));
      }
    } else if (key == "when") {
      auto w = ParseWhen(value, field, &act.entry_expression);
      if (!w.ok()) return w.status();
      act.entry_when = *w;
    } else if (key == "plugins") {
      if (!value.is_bool()) return Wrong(field, "true or false", value);
      act.plugins = value.as_bool();
    } else if (key == "pre" || key == "parallel" || key == "post") {
      if (!value.is_array()) return Wrong(field, "an array of steps", value);
      auto& stage = act.stages[key == "pre" ? 0 : key == "parallel" ? 1 : 2];
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        auto s = ParseStep(value.as_array()[i], Indexed(field, i), true);
        if (!s.ok()) return s.status();
        s->plan.activity = static_cast<int32_t>(a);
        s->plan.stage = key == "pre"        ? StepPlan::kPre
                        : key == "parallel" ? StepPlan::kParallel
                                            : StepPlan::kPost;
        stage.push_back(std::move(*s));
      }
    } else {
      return InvalidArgument(field +
                             ": unknown field (known: name, depends_on, when, plugins, pre, "
                             "parallel, post)");
    }
  }
  if (act.plan.name.empty()) return InvalidArgument(path + ".name: is required");
  return act;
}

// The stages as steps: pre one after another, then parallel (and the plugins) together, then
// post one after another; the activity's depends_on and when apply to its first stage. Appends
// them to `raw`, then the activity's gate, which depends on them all.
Status CompileActivity(RawActivity act, size_t a, const std::string& path,
                       std::vector<RawStep>* raw) {
  RawStep& gate = act.gate;
  auto& stages = act.stages;
  const ActivityPlan& activity = act.plan;
  gate.plan.name = activity.name;
  std::vector<std::string> before = act.entry;
  std::vector<std::string> before_paths = act.entry_paths;
  bool first = true;
  auto enter = [&](RawStep& s) {
    s.deps = before;
    s.dep_paths = before_paths;
    if (first && act.entry_when != StepPlan::kOnSuccess) {
      s.plan.when = act.entry_when;
      s.plan.expression = act.entry_expression;
    }
  };
  std::vector<RawStep> compiled;
  for (RawStep& s : stages[0]) {
    enter(s);
    first = false;
    before = {s.plan.name};
    before_paths = {s.path};
    compiled.push_back(std::move(s));
  }
  std::vector<std::string> parallel_names, parallel_paths;
  if (act.plugins) {
    RawStep p;
    p.path = path + ".plugins";
    p.plan.name = activity.name + ":plugins";
    p.plan.kind = StepPlan::kPlugins;
    p.plan.activity = static_cast<int32_t>(a);
    p.plan.stage = StepPlan::kParallel;
    stages[1].push_back(std::move(p));
  }
  for (RawStep& s : stages[1]) {
    enter(s);
    parallel_names.push_back(s.plan.name);
    parallel_paths.push_back(s.path);
    compiled.push_back(std::move(s));
  }
  if (!stages[1].empty()) {
    first = false;
    before = parallel_names;
    before_paths = parallel_paths;
  }
  for (RawStep& s : stages[2]) {
    enter(s);
    first = false;
    before = {s.plan.name};
    before_paths = {s.path};
    compiled.push_back(std::move(s));
  }
  if (compiled.empty()) return InvalidArgument(path + ": has no steps in pre, parallel or post");
  for (RawStep& s : compiled) {
    gate.deps.push_back(s.plan.name);
    gate.dep_paths.push_back(s.path);
    raw->push_back(std::move(s));
  }
  raw->push_back(std::move(gate));
  return Status::Ok();
}

// Every step's dependencies by index (`deps`), with each name known once (`index`).
Status Link(const std::vector<RawStep>& raw, std::map<std::string, uint32_t>* index_out,
            std::vector<std::vector<uint32_t>>* deps_out) {
  std::map<std::string, uint32_t>& index = *index_out;
  std::vector<std::vector<uint32_t>>& deps = *deps_out;
  for (uint32_t i = 0; i < raw.size(); ++i) {
    if (!index.emplace(raw[i].plan.name, i).second) {
      return InvalidArgument(raw[i].path + ".name: \"" + raw[i].plan.name +
                             "\" is used twice; step and activity names must be unique");
    }
  }
  deps.assign(raw.size(), {});
  for (uint32_t i = 0; i < raw.size(); ++i) {
    for (size_t d = 0; d < raw[i].deps.size(); ++d) {
      auto it = index.find(raw[i].deps[d]);
      if (it == index.end()) {
        return InvalidArgument(raw[i].dep_paths[d] + ": no step named \"" + raw[i].deps[d] + "\"");
      }
      if (std::find(deps[i].begin(), deps[i].end(), it->second) == deps[i].end()) {
        deps[i].push_back(it->second);
      }
    }
    if (deps[i].empty() && raw[i].plan.when == StepPlan::kOnFailure) {
      return InvalidArgument(raw[i].path + ".when: on_failure needs depends_on");
    }
  }
  return Status::Ok();
}

// The steps in an order where each comes after its dependencies (Kahn's algorithm, stable:
// ready steps in document order); an error naming a cycle if there is none.
Result<std::vector<uint32_t>> Order(const std::vector<RawStep>& raw,
                                    const std::vector<std::vector<uint32_t>>& deps) {
  std::vector<uint32_t> order, pending(raw.size());
  std::vector<std::vector<uint32_t>> users(raw.size());
  for (uint32_t i = 0; i < raw.size(); ++i) {
    pending[i] = static_cast<uint32_t>(deps[i].size());
    for (uint32_t d : deps[i]) users[d].push_back(i);
  }
  std::set<uint32_t> ready;
  for (uint32_t i = 0; i < raw.size(); ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  while (!ready.empty()) {
    const uint32_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (uint32_t u : users[i]) {
      if (--pending[u] == 0) ready.insert(u);
    }
  }
  if (order.size() != raw.size()) {
    // Walk back from a step left over until a step repeats: that is the cycle.
    uint32_t at = 0;
    while (pending[at] == 0) ++at;
    std::vector<uint32_t> walk;
    std::vector<int> seen(raw.size(), -1);
    while (seen[at] < 0) {
      seen[at] = static_cast<int>(walk.size());
      walk.push_back(at);
      for (uint32_t d : deps[at]) {
        if (pending[d] != 0) {
          at = d;
          break;
        }
      }
    }
    // "a -> b -> a": a depends on b, which depends on a.
    std::string cycle;
    for (size_t k = static_cast<size_t>(seen[at]); k < walk.size(); ++k) {
      cycle += raw[walk[k]].plan.name + " -> ";
    }
    cycle += raw[at].plan.name;
    return InvalidArgument(raw[at].path + ".depends_on: a cycle: " + cycle);
  }
  return order;
}

// What a step's condition and payload references name must be upstream of it.
Status CheckReferences(const std::vector<RawStep>& raw,
                       const std::map<std::string, uint32_t>& index,
                       const std::vector<std::vector<uint32_t>>& deps,
                       const std::vector<uint32_t>& order) {
  // Every step's upstream steps, for references and expressions.
  std::vector<std::set<uint32_t>> upstream(raw.size());
  for (uint32_t i : order) {
    for (uint32_t d : deps[i]) {
      upstream[i].insert(d);
      upstream[i].insert(upstream[d].begin(), upstream[d].end());
    }
  }
  auto check_upstream = [&](uint32_t i, const std::string& step,
                            const std::string& field) -> Status {
    auto it = index.find(step);
    if (it == index.end()) return InvalidArgument(field + ": no step named \"" + step + "\"");
    if (!upstream[i].contains(it->second)) {
      return InvalidArgument(field + ": step \"" + step + "\" is not upstream of \"" +
                             raw[i].plan.name + "\" (add it to depends_on)");
    }
    return Status::Ok();
  };
  for (uint32_t i = 0; i < raw.size(); ++i) {
    const StepPlan& s = raw[i].plan;
    if (s.expression) {
      for (const std::string& step : s.expression->steps()) {
        BATON_RETURN_IF_ERROR(check_upstream(i, step, raw[i].path + ".when"));
      }
    }
    if (s.kind == StepPlan::kJob && s.job.payload.find("${") != std::string::npos) {
      json::value payload = json::parse(s.job.payload);
      BATON_RETURN_IF_ERROR(ForEachRef(
          payload, raw[i].path + ".payload",
          [&](std::string_view text, const std::string& field) -> Status {
            std::optional<Ref> r = ParseRef(text);
            if (!r) return InvalidArgument(field + ": ${" + std::string(text) + "}: " + kRefForms);
            return check_upstream(i, r->step, field + ": ${" + std::string(text) + "}");
          }));
    }
  }
  return Status::Ok();
}

}  // namespace

int32_t WorkflowPlan::Find(std::string_view step) const {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].name == step) return static_cast<int32_t>(i);
  }
  return -1;
}

Result<WorkflowPlan> WorkflowPlan::Parse(std::string_view document, const WorkflowLimits& limits) {
  if (document.size() > limits.document_bytes_max) {
    return InvalidArgument("workflow: at most " + std::to_string(limits.document_bytes_max) +
                           " bytes, got " + std::to_string(document.size()));
  }
  boost::system::error_code ec;
  json::value doc = json::parse(document, ec);
  if (ec) return InvalidArgument("workflow: not JSON: " + ec.message());
  if (!doc.is_object()) return Wrong("workflow", "an object", doc);
  WorkflowPlan plan;
  std::vector<RawStep> raw;
  const json::value* steps = nullptr;
  const json::value* activities = nullptr;
  for (const auto& [key, value] : doc.as_object()) {
    if (key == "name") {
      if (!value.is_string() || value.as_string().size() > 128) {
        return Wrong("name", "a string of at most 128 bytes", value);
      }
      plan.name = std::string(value.as_string());
    } else if (key == "steps") {
      if (!value.is_array()) return Wrong("steps", "an array of steps", value);
      steps = &value;
    } else if (key == "activities") {
      if (!value.is_array()) return Wrong("activities", "an array of activities", value);
      activities = &value;
    } else {
      return InvalidArgument(std::string(key) + ": unknown field (known: name, steps, activities)");
    }
  }
  if (steps != nullptr) {
    for (size_t i = 0; i < steps->as_array().size(); ++i) {
      auto s = ParseStep(steps->as_array()[i], Indexed("steps", i), false);
      if (!s.ok()) return s.status();
      raw.push_back(std::move(*s));
    }
  }
  if (activities != nullptr) {
    for (size_t a = 0; a < activities->as_array().size(); ++a) {
      const std::string path = Indexed("activities", a);
      Result<RawActivity> act = ParseActivity(activities->as_array()[a], a, path);
      if (!act.ok()) return act.status();
      plan.activities.push_back(act->plan);
      BATON_RETURN_IF_ERROR(CompileActivity(std::move(*act), a, path, &raw));
    }
  }
  if (raw.empty()) return InvalidArgument("steps: a workflow needs at least one step");
  if (raw.size() > limits.steps_max) {
    return InvalidArgument("steps: at most " + std::to_string(limits.steps_max) +
                           " steps (activities and their stages included), got " +
                           std::to_string(raw.size()));
  }
  std::map<std::string, uint32_t> index;
  std::vector<std::vector<uint32_t>> deps;
  BATON_RETURN_IF_ERROR(Link(raw, &index, &deps));
  Result<std::vector<uint32_t>> ordered = Order(raw, deps);
  if (!ordered.ok()) return ordered.status();
  const std::vector<uint32_t>& order = *ordered;
  BATON_RETURN_IF_ERROR(CheckReferences(raw, index, deps, order));
  std::vector<uint32_t> position(raw.size());
  for (uint32_t k = 0; k < order.size(); ++k) position[order[k]] = k;
  for (uint32_t k = 0; k < order.size(); ++k) {
    RawStep& r = raw[order[k]];
    StepPlan s = std::move(r.plan);
    for (uint32_t d : deps[order[k]]) s.depends_on.push_back(position[d]);
    std::sort(s.depends_on.begin(), s.depends_on.end());
    if (s.kind == StepPlan::kGate) {
      s.members = s.depends_on;
      plan.activities[static_cast<size_t>(s.activity)].gate = k;
    }
    if (s.kind == StepPlan::kPlugins) plan.activities[static_cast<size_t>(s.activity)].plugins = k;
    plan.steps.push_back(std::move(s));
  }
  return plan;
}

}  // namespace baton::engine
