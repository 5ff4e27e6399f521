// The route table (src/server/api_routes.cc) against docs/api.md's "Endpoints" table, and every
// route called by the identities it must refuse: no token, a plain user's, for administrators'
// and workers' endpoints, against a real server.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "server/server.h"
#include "util/server_fixture.h"

namespace baton {
namespace {

using server::Caller;
namespace http = boost::beast::http;

std::string MethodName(http::verb v) { return std::string(http::to_string(v)); }

// "GET /v1/jobs/{job} user" for each row of the Endpoints table.
std::set<std::string> DocumentedRoutes() {
  std::ifstream in(BATON_DOCS_DIR "/api.md");
  std::stringstream s;
  s << in.rdbuf();
  const std::string doc = s.str();
  const size_t at = doc.find("## Endpoints");
  EXPECT_NE(at, std::string::npos);
  const size_t end = doc.find("\n## ", at + 1);
  std::istringstream table(doc.substr(at, end - at));
  const std::regex row(R"(^\| `([A-Z]+)` \| `([^`]+)` \| (\w+) \|)");
  std::set<std::string> out;
  for (std::string line; std::getline(table, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row))
      out.insert(m[1].str() + " " + m[2].str() + " " + m[3].str());
  }
  return out;
}

TEST(RoutesDocTest, TheRouteTableAndApiMdListTheSameEndpoints) {
  std::set<std::string> table;
  for (const auto& r : server::LeaderTerm::Routes().routes()) {
    const std::string entry = MethodName(r.method) + " " + std::string(r.pattern) + " " +
                              std::string(server::CallerName(r.caller));
    EXPECT_TRUE(table.insert(entry).second) << "twice in the table: " << entry;
  }
  const std::set<std::string> documented = DocumentedRoutes();
  EXPECT_GT(documented.size(), 30u);
  for (const std::string& e : table) {
    EXPECT_TRUE(documented.contains(e)) << "in the route table, not in docs/api.md: " << e;
  }
  for (const std::string& e : documented) {
    EXPECT_TRUE(table.contains(e)) << "in docs/api.md, not in the route table: " << e;
  }
}

class RoutesTest : public testing::ServerFixture {};

// A concrete path for a pattern: every parameter filled with something that parses.
std::string Concrete(std::string_view pattern) {
  std::string p(pattern);
  for (auto [param, value] :
       {std::pair{"{job}", "1"}, std::pair{"{workflow}", "1"}, std::pair{"{attempt}", "1"},
        std::pair{"{request}", "1"}, std::pair{"{name}", "x"}, std::pair{"{path...}", "a.txt"}}) {
    for (size_t at = p.find(param); at != std::string::npos; at = p.find(param)) {
      p.replace(at, std::string_view(param).size(), value);
    }
  }
  return p;
}

TEST_F(RoutesTest, EveryEndpointRefusesWhomItsTableRowRefuses) {
  const std::string user = NewToken("mallory");
  for (const auto& r : server::LeaderTerm::Routes().routes()) {
    const std::string method = MethodName(r.method);
    const std::string path = Concrete(r.pattern);
    const std::string what = method + " " + path;
    // No token: only the open endpoints answer.
    testing::HttpResult none = Call("", method, path);
    if (r.caller == Caller::kAnyone) {
      EXPECT_EQ(none.status, 200) << what << ": " << none.body;
      continue;
    }
    EXPECT_EQ(none.status, 401) << what << ": " << none.body;
    if (r.caller == Caller::kUser) continue;  // what a user may do to a thing: other tests
    // A plain user's token, at an administrator's or a worker's endpoint: refused, by name.
    testing::HttpResult mallory = Call(user, method, path);
    EXPECT_EQ(mallory.status, 403) << what << ": " << mallory.body;
    const std::string who = r.caller == Caller::kAdmin ? "only an administrator may do this"
                                                       : "only a worker may do this";
    if (method != "HEAD") {
      EXPECT_NE(mallory.body.find(what + ": " + who), std::string::npos) << mallory.body;
    }
    // The administrator passes the route's check (and gets whatever the endpoint then says of
    // "x" and 1: a worker's file request without its Baton-Worker header is refused further on).
    testing::HttpResult admin = Call(admin_, method, path);
    EXPECT_NE(admin.status, 401) << what << ": " << admin.body;
    EXPECT_EQ(admin.body.find(who), std::string::npos) << what << ": " << admin.body;
    if (r.caller == Caller::kAdmin) EXPECT_NE(admin.status, 403) << what << ": " << admin.body;
  }
}

TEST_F(RoutesTest, PathsThatNameNothingOrDoNotParseSaySo) {
  struct Case {
    const char* method;
    const char* path;
    int status;
    const char* message;
  };
  const Case cases[] = {
      {"GET", "/v1/jobs/abc", 400, R"(job id: must be a positive number, got \"abc\")"},
      {"GET", "/v1/jobs/0/logs", 400, R"(job id: must be a positive number, got \"0\")"},
      {"GET", "/v1/jobs/9223372036854775808", 400, "job id: must be a positive number"},
      {"GET", "/v1/workflows/x", 400, R"(workflow id: must be a positive number, got \"x\")"},
      {"PUT", "/v1/jobs/1/attempts/z/files/a", 400, "attempt id: must be a positive number"},
      {"PUT", "/v1/jobs/1/attempts/1/snapshot/0", 400, "snapshot request: must be a positive"},
      {"GET", "/v1/jobs/retry", 400, R"(job id: must be a positive number, got \"retry\")"},
      {"GET", "/v1/nothing", 404, "GET /v1/nothing: no such endpoint"},
      {"DELETE", "/v1/jobs/1", 404, "DELETE /v1/jobs/1: no such endpoint"},
      {"GET", "/v1/jobs/1/", 404, "no such endpoint"},
      {"GET", "/", 404, "GET /: no such endpoint"},
      {"GET", "/v1/workers/connect", 400, "a worker connects with a WebSocket upgrade"},
  };
  for (const Case& c : cases) {
    testing::HttpResult r = Call(admin_, c.method, c.path);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << ": " << r.body;
    EXPECT_NE(r.body.find(c.message), std::string::npos)
        << c.method << " " << c.path << ": " << r.body;
  }
  // A job's files by path, the whole rest of it.
  EXPECT_NE(Call(admin_, "GET", "/v1/jobs/1/files/sub/dir/a.txt").body.find("job 1: not found"),
            std::string::npos);
}

// Schedules follow the one policy as jobs and workflows do: an account reaches its own and its
// end users'; another user finds them absent, and cannot make one in their name.
TEST_F(RoutesTest, SchedulesFollowTheOnePolicy) {
  const std::string alice = NewToken("alice");
  const std::string mallory = NewToken("mallory");
  auto schedule = [](const std::string& name, const std::string& owner) {
    return R"({"name":")" + name + R"(","cron":"0 0 1 1 *",)" +
           (owner.empty() ? "" : R"("owner":")" + owner + R"(",)") + R"("job":{"type":"t"}})";
  };
  auto names = [&](const std::string& token) {
    std::set<std::string> out;
    testing::HttpResult r = Call(token, "GET", "/v1/schedules");
    EXPECT_EQ(r.status, 200) << r.body;
    const boost::json::value body = boost::json::parse(r.body);
    for (const auto& s : body.at("schedules").as_array()) {
      out.insert(std::string(s.at("name").as_string()));
    }
    return out;
  };
  EXPECT_EQ(Call(alice, "POST", "/v1/schedules", schedule("own", "")).status, 200);
  EXPECT_EQ(Call(alice, "POST", "/v1/schedules", schedule("end-user", "alice/3")).status, 200);
  testing::HttpResult forged = Call(mallory, "POST", "/v1/schedules", schedule("forged", "alice"));
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_EQ(names(alice), (std::set<std::string>{"end-user", "own"}));
  EXPECT_TRUE(names(mallory).empty());
  EXPECT_EQ(names(admin_), (std::set<std::string>{"end-user", "own"}));
  for (const char* name : {"own", "end-user"}) {
    const std::string path = std::string("/v1/schedules/") + name;
    EXPECT_EQ(Call(mallory, "GET", path).status, 404);
    EXPECT_EQ(Call(mallory, "DELETE", path).status, 404);
    EXPECT_EQ(Call(alice, "GET", path).status, 200);
  }
  EXPECT_EQ(Call(alice, "DELETE", "/v1/schedules/end-user").status, 200);
  EXPECT_EQ(names(admin_), (std::set<std::string>{"own"}));  // mallory's deletes changed nothing
}

}  // namespace
}  // namespace baton
