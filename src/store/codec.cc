#include "store/codec.h"

#include <boost/json.hpp>

namespace baton::store {

std::string EncodeSteps(const std::vector<engine::StepStatus>& steps) {
  boost::json::array a;
  a.reserve(steps.size());
  for (const engine::StepStatus& st : steps) {
    boost::json::object o;
    o["state"] = engine::StepStateName(st.state);
    if (st.job_id != 0) o["job"] = st.job_id;
    if (!st.result.empty()) o["result"] = st.result;
    if (!st.message.empty()) o["message"] = st.message;
    if (st.runs != 0) o["runs"] = st.runs;
    if (st.warning) o["warning"] = true;
    if (st.plugin_of != 0) {
      o["plugin_of"] = st.plugin_of;
      o["plugin_type"] = st.plugin_type;
      o["plugin_mandatory"] = st.plugin_mandatory;
      o["plugin_order"] = st.plugin_order;
    }
    a.push_back(std::move(o));
  }
  return boost::json::serialize(a);
}

Result<std::vector<engine::StepStatus>> DecodeSteps(const std::string& text,
                                                    engine::WorkflowId id) {
  const Status bad = DataLoss("workflow " + std::to_string(id) + ": unreadable step states");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return bad;
  std::vector<engine::StepStatus> out;
  try {
    for (const boost::json::value& item : v.as_array()) {
      const boost::json::object& o = item.as_object();
      engine::StepStatus st;
      auto state = engine::ParseStepState(o.at("state").as_string());
      if (!state) return bad;
      st.state = *state;
      auto num = [&](const char* key) -> uint64_t {
        const boost::json::value* x = o.if_contains(key);
        return x ? x->to_number<uint64_t>() : 0;
      };
      auto text_of = [&](const char* key) -> std::string {
        const boost::json::value* x = o.if_contains(key);
        return x ? std::string(x->as_string()) : std::string();
      };
      st.job_id = num("job");
      st.result = text_of("result");
      st.message = text_of("message");
      st.runs = static_cast<uint32_t>(num("runs"));
      st.warning = o.contains("warning") && o.at("warning").as_bool();
      st.plugin_of = static_cast<uint32_t>(num("plugin_of"));
      if (st.plugin_of != 0) {
        st.plugin_type = text_of("plugin_type");
        st.plugin_mandatory = o.at("plugin_mandatory").as_bool();
        st.plugin_order = static_cast<int32_t>(o.at("plugin_order").to_number<int64_t>());
      }
      out.push_back(std::move(st));
    }
  } catch (const std::exception&) {
    return bad;
  }
  return out;
}

}  // namespace baton::store
