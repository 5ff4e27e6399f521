// docs/protocol.md's examples, played against a real server over a real WebSocket: the session
// (every "> " line is sent as written, with the job and attempt ids of the run; every "< " line
// must match what comes back: the same message types and the same fields), and the error frame
// for a broken hello. If the document and the server drift apart, this fails.
#include <boost/json.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "util/server_fixture.h"
#include "util/ws_client.h"

namespace baton {
namespace {

namespace json = boost::json;

class ProtocolDocTest : public testing::ServerFixture {
 protected:
  static std::string Doc() {
    std::ifstream in(BATON_DOCS_DIR "/protocol.md");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // The lines of the first fenced block after `heading`.
  static std::vector<std::string> Block(const std::string& doc, const std::string& heading) {
    size_t at = doc.find(heading);
    EXPECT_NE(at, std::string::npos) << heading;
    at = doc.find("```", at);
    at = doc.find('\n', at) + 1;
    const size_t end = doc.find("```", at);
    std::vector<std::string> lines;
    std::istringstream in(doc.substr(at, end - at));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    return lines;
  }

  // As a worker of the shared pool whose token's user is "pool" (the document's worker).
  void Connect() {
    if (token_.empty()) token_ = NewWorkerToken("pool");
    ASSERT_TRUE(ws_.Connect(port_, token_)) << ws_.error();
  }
  void Send(const std::string& text) { ws_.Send(text); }
  json::value Receive() {
    std::optional<json::value> v = ws_.Receive();
    EXPECT_TRUE(v.has_value()) << ws_.error();
    return v.value_or(json::value());
  }

  // Same type and the same fields, recursively through objects and the first element of arrays.
  static void ExpectSameShape(const json::value& doc, const json::value& got,
                              const std::string& path) {
    ASSERT_EQ(doc.kind() == json::kind::object, got.kind() == json::kind::object) << path;
    ASSERT_EQ(doc.kind() == json::kind::array, got.kind() == json::kind::array) << path;
    if (doc.is_object()) {
      std::set<std::string> a, b;
      for (const auto& [k, v] : doc.as_object()) a.insert(std::string(k));
      for (const auto& [k, v] : got.as_object()) b.insert(std::string(k));
      ASSERT_EQ(a, b) << path << ": " << json::serialize(got);
      for (const auto& [k, v] : doc.as_object()) {
        ExpectSameShape(v, got.as_object().at(k), path + "." + std::string(k));
      }
      if (doc.as_object().contains("type")) {
        EXPECT_EQ(doc.at("type"), got.at("type")) << path;
      }
    } else if (doc.is_array() && !doc.as_array().empty()) {
      ASSERT_EQ(doc.as_array().size(), got.as_array().size()) << path;
      ExpectSameShape(doc.as_array()[0], got.as_array()[0], path + "[0]");
    }
  }

  std::string token_;
  testing::WsClient ws_;
};

TEST_F(ProtocolDocTest, TheSessionRunsAsDocumented) {
  const std::vector<std::string> session = Block(Doc(), "## A session");
  ASSERT_GE(session.size(), 5u);
  // The document's job: submitted the way its assign shows it.
  std::smatch m;
  std::string assign;
  for (const std::string& line : session) {
    if (line.find(R"("type":"assign")") != std::string::npos) assign = line.substr(2);
  }
  const json::object doc_job = json::parse(assign).at("jobs").at(0).as_object();
  Connect();
  std::string job_id, attempt_id;
  for (const std::string& line : session) {
    ASSERT_TRUE(line.rfind("> ", 0) == 0 || line.rfind("< ", 0) == 0) << line;
    std::string frame = line.substr(2);
    if (line[0] == '>') {
      frame = std::regex_replace(frame, std::regex(R"("job":7\b)"), R"("job":)" + job_id);
      frame =
          std::regex_replace(frame, std::regex(R"("attempt":12\b)"), R"("attempt":)" + attempt_id);
      Send(frame);
      continue;
    }
    const json::value expected = json::parse(frame);
    if (expected.is_object() && expected.at("type") == "assign") {
      // Now there is a worker: the job goes to it.
      json::object job{{"type", doc_job.at("type")},
                       {"payload", doc_job.at("payload")},
                       {"timeout_ms", doc_job.at("timeout_ms")},
                       {"heartbeat_timeout_ms", doc_job.at("heartbeat_timeout_ms")}};
      testing::HttpResult r = Call(admin_, "POST", "/v1/jobs", json::serialize(job));
      ASSERT_EQ(r.status, 201) << r.body;
    }
    const json::value got = Receive();
    ExpectSameShape(expected, got, frame.substr(0, 40));
    if (got.is_object() && got.at("type") == "assign") {
      const json::object& a = got.at("jobs").at(0).as_object();
      EXPECT_EQ(a.at("payload"), doc_job.at("payload"));
      EXPECT_EQ(a.at("number"), doc_job.at("number"));
      job_id = json::serialize(a.at("job"));
      attempt_id = json::serialize(a.at("attempt"));
    }
    if (got.is_object() && got.at("type") == "welcome") {
      EXPECT_EQ(got.at("worker"), expected.at("worker"));
    }
  }
  // What the session did is what the job shows.
  testing::HttpResult r = Call(admin_, "GET", "/v1/jobs/" + job_id);
  const json::value job = Json(r);
  EXPECT_EQ(job.at("state"), "succeeded");
  EXPECT_EQ(job.at("result"), json::parse(R"({"exit_code":0})"));
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + job_id + "/logs").body, "compiling\n");
}

TEST_F(ProtocolDocTest, TheErrorExampleIsWhatABrokenHelloGets) {
  const std::string doc = Doc();
  const size_t at = doc.find(R"({"type":"error")");
  ASSERT_NE(at, std::string::npos);
  const json::value expected = json::parse(doc.substr(at, doc.find('\n', at) - at));
  Connect();
  Send(R"({"type":"hello","worker":"w1","types":["shell"],"capacity":20000})");
  EXPECT_EQ(Receive(), expected);
}

}  // namespace
}  // namespace baton
