#include "engine/children.h"

#include <boost/json.hpp>

namespace baton::engine::children {

namespace {

std::string Num(uint64_t n) { return std::to_string(n); }
std::string Quote(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }
// A result as JSON: itself, or null when there is none.
std::string_view JsonOrNull(const Text& text) {
  return text.empty() ? std::string_view("null") : text.view();
}

}  // namespace

Verdict Judge(const ChildrenPolicy& p, const Counts& c, bool has_aggregator, std::string* why) {
  switch (p.kind) {
    case ChildrenPolicy::kAll:
      if (c.failed > 0) {
        *why = Num(c.failed) + " of " + Num(c.total) + " sub-jobs did not succeed";
        return Verdict::kFail;
      }
      break;
    case ChildrenPolicy::kFailuresMax:
      if (c.failed > p.n) {
        *why = Num(c.failed) + " of " + Num(c.total) + " sub-jobs did not succeed; at most " +
               Num(p.n) + " may fail";
        return Verdict::kFail;
      }
      break;
    case ChildrenPolicy::kQuorum:
      if (c.total - c.failed < p.n) {
        *why = "at most " + Num(c.total - c.failed) + " of " + Num(c.total) +
               " sub-jobs can succeed; the quorum is " + Num(p.n);
        return Verdict::kFail;
      }
      break;
  }
  if (c.done < c.total) return Verdict::kWait;
  if (c.total > 0 && has_aggregator) return Verdict::kAggregate;
  return Verdict::kSucceed;
}

Result<std::string> AggregatorInput(const JobRecord& parent,
                                    const std::vector<const JobRecord*>& children,
                                    size_t bytes_max) {
  const JobSpec& ps = parent.spec;
  std::string in = R"({"parent":{"id":)" + Num(parent.id) + R"(,"type":)" + Quote(ps.type) +
                   R"(,"payload":)" + ps.payload + R"(,"result":)" +
                   std::string(JsonOrNull(parent.status.result)) + R"(},"children":[)";
  for (size_t i = 0; i < children.size() && in.size() <= bytes_max; ++i) {
    const JobRecord& child = *children[i];
    const JobStatus& cs = child.status;
    if (i > 0) in += ',';
    in += R"({"id":)" + Num(child.id) + R"(,"type":)" + Quote(child.spec.type) + R"(,"state":")" +
          std::string(JobStateName(cs.state)) + R"(","result":)";
    in += cs.state == JobState::kSucceeded ? JsonOrNull(cs.result) : "null";
    if (cs.state != JobState::kSucceeded) in += R"(,"error":)" + Quote(cs.error);
    in += '}';
  }
  in += "]}";
  if (in.size() > bytes_max) {
    return ResourceExhausted("the sub-jobs' results are larger than " + Num(bytes_max) +
                             " bytes, the most an aggregator takes (aggregate_bytes_max)");
  }
  return in;
}

std::string VerifierInput(const JobRecord& job) {
  const JobSpec& spec = job.spec;
  const JobStatus& s = job.status;
  std::string in = R"({"job":{"id":)" + Num(job.id) + R"(,"type":)" + Quote(spec.type) +
                   R"(,"payload":)" + spec.payload + R"(,"attempt":)" + Num(s.attempt_id) +
                   R"(,"number":)" + Num(s.attempts_started) + R"(},"result":)";
  in += s.result.view();
  in += '}';
  return in;
}

std::optional<VerifierVerdict> ParseVerdict(std::string_view result) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(result, ec);
  if (ec) return std::nullopt;
  if (v.is_bool()) return VerifierVerdict{v.as_bool(), ""};
  if (!v.is_object()) return std::nullopt;
  const boost::json::value* accept = v.as_object().if_contains("accept");
  if (accept == nullptr || !accept->is_bool()) return std::nullopt;
  VerifierVerdict out{accept->as_bool(), ""};
  if (const boost::json::value* r = v.as_object().if_contains("reason"); r && r->is_string()) {
    out.reason = std::string(r->as_string());
  }
  return out;
}

}  // namespace baton::engine::children
