// End-to-end tests with workers: a real server (ServerFixture), real `baton worker` processes
// with the shell executor, and the real CLI, on loopback.
#pragma once

#include <boost/json.hpp>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "client/client.h"
#include "client/worker.h"
#include "util/server_fixture.h"

namespace baton::testing {

namespace json = boost::json;

class WorkerFixture : public ServerFixture {
 protected:
  std::unique_ptr<ChildProcess> StartWorker(const std::string& id,
                                            const std::string& executor = "shell",
                                            const std::string& capacity = "2",
                                            const std::string& types = "shell",
                                            const std::vector<std::string>& extra = {}) {
    return StartWorkerAs(admin_, id, executor, capacity, types, extra);
  }
  // The same with another token: a worker token of a shared or a private pool.
  std::unique_ptr<ChildProcess> StartWorkerAs(const std::string& token, const std::string& id,
                                              const std::string& executor = "shell",
                                              const std::string& capacity = "2",
                                              const std::string& types = "shell",
                                              const std::vector<std::string>& extra = {}) {
    auto w = std::make_unique<ChildProcess>();
    // Stopped, not killed, at the end: a stopping worker ends its jobs' process groups, where
    // SIGKILL would leave them running.
    w->StopWith({SIGTERM, SIGINT});
    std::vector<std::string> argv = {BATON_PATH,   "worker",
                                     "--server",   url(),
                                     "--token",    token,
                                     "--types",    types,
                                     "--id",       id,
                                     "--capacity", capacity,
                                     "--workdir",  dir_ + "/work-" + id,
                                     "--executor", executor};
    // A short grace period, unless the test chooses its own.
    if (std::find(extra.begin(), extra.end(), "--grace-ms") == extra.end()) {
      argv.insert(argv.end(), {"--grace-ms", "500"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    EXPECT_TRUE(w->Start(argv));
    EXPECT_TRUE(WaitUntil([&] {
      return Call(admin_, "GET", "/v1/workers").body.find("\"" + id + "\"") != std::string::npos;
    })) << "worker "
        << id << " never connected";
    return w;
  }

  struct CliResult {
    int exit_code = -1;
    std::string out;
  };
  CliResult Cli(std::vector<std::string> args, const std::string& token = "") {
    std::vector<std::string> argv = {"/usr/bin/env", "BATON_URL=" + url(),
                                     "BATON_TOKEN=" + (token.empty() ? admin_ : token), BATON_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }
  // Any program (curl, unzip): its exit code and what it printed on stdout.
  static CliResult Run(std::vector<std::string> argv) {
    if (argv.front().find('/') == std::string::npos) argv.insert(argv.begin(), "/usr/bin/env");
    ChildProcess p;
    EXPECT_TRUE(p.Start(argv));
    CliResult r;
    r.out = p.ReadToEnd(std::chrono::minutes(5));
    const int status = p.Wait();
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  json::object GetJob(uint64_t id) {
    HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r).as_object();
  }

  uint64_t Submit(const std::string& body, const std::string& token = "") {
    HttpResult r = Call(token.empty() ? admin_ : token, "POST", "/v1/jobs", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r).at("id").to_number<uint64_t>();
  }

  // A multipart body by hand, as a browser would send it.
  static std::string Multipart(const std::vector<std::pair<std::string, std::string>>& fields,
                               const std::vector<std::pair<std::string, std::string>>& files) {
    std::string body;
    for (const auto& [name, value] : fields) {
      body += "--B0undary\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
              value + "\r\n";
    }
    for (const auto& [filename, data] : files) {
      body += "--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
              filename + "\"\r\n\r\n" + data + "\r\n";
    }
    return body + "--B0undary--\r\n";
  }
  HttpResult PostMultipart(const std::string& token, const std::string& target,
                           const std::string& body) {
    return HttpCall(port_, "POST", target, body,
                    {{"Authorization", "Bearer " + token},
                     {"Content-Type", "multipart/form-data; boundary=B0undary"}});
  }

  // Every event of `job` after `since` (from its first) until it ends, through the SDK's stream.
  std::vector<json::object> EventsUntilEnd(uint64_t job, uint64_t since = 0) {
    client::Client c(client::Endpoint::Parse(url()).value(), admin_);
    std::vector<json::object> events;
    Status s = c.Events(since, job, [&](const json::object& e) {
      events.push_back(e);
      return !(e.at("kind").as_string() == "state" &&
               client::IsTerminalState(e.at("state").as_string()));
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return events;
  }

  // A libbaton worker in this process, on its own thread, with the given handlers; stopped and
  // joined when it goes out of scope.
  class InProcessWorker {
   public:
    InProcessWorker(const std::string& url, const std::string& token, const std::string& id,
                    uint32_t capacity, std::map<std::string, client::Handler> handlers,
                    std::vector<client::PluginOptions> plugins = {}) {
      client::WorkerOptions options;
      options.servers = client::Endpoint::ParseList(url).value();  // "URL1,URL2" too
      options.token = token;
      options.id = id;
      options.capacity = capacity;
      options.reconnect_delay_ms_max = 200;
      options.plugins = std::move(plugins);
      worker_ = std::make_unique<client::Worker>(options);
      for (auto& [type, h] : handlers) worker_->Register(type, std::move(h));
      thread_ = std::thread([this] { status_ = worker_->Run(); });
    }
    ~InProcessWorker() {
      worker_->Stop();
      thread_.join();
    }

   private:
    std::unique_ptr<client::Worker> worker_;
    std::thread thread_;
    Status status_;
  };

  // Holds the first handler that reaches it under the chosen name until Release(), so that a
  // test can act (kill the server, say) while that job runs.
  class Hold {
   public:
    explicit Hold(std::string at) : at_(std::move(at)) {}
    // Handler side: blocks if `name` is the chosen one and nobody held here before.
    void At(const std::string& name) {
      std::unique_lock lock(mu_);
      if (name != at_ || entered_) return;
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    // Test side: waits up to 60 s for a handler to arrive.
    bool WaitEntered() {
      std::unique_lock lock(mu_);
      return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return entered_; });
    }
    void Release() {
      {
        std::lock_guard lock(mu_);
        released_ = true;
      }
      cv_.notify_all();
    }

   private:
    const std::string at_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool entered_ = false, released_ = false;
  };

  static bool ProcessGone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
  }
};

}  // namespace baton::testing
