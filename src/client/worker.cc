#include "client/worker.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <thread>

#include "common/zip.h"

namespace baton::client {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {
std::string Ref(uint64_t job, uint64_t attempt) {
  return R"("job":)" + std::to_string(job) + R"(,"attempt":)" + std::to_string(attempt);
}
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}
uint64_t U64(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64()) return static_cast<uint64_t>(v->as_int64());
  return 0;
}
}  // namespace

void AttemptContext::Progress(double fraction, std::string message) {
  json::object o{{"type", "progress"},
                 {"job", job_},
                 {"attempt", attempt_},
                 {"progress", fraction},
                 {"message", std::move(message)}};
  worker_->Send(json::serialize(o));
}

void AttemptContext::Log(std::string_view stream, std::string data) {
  json::object o{{"type", "log"},
                 {"job", job_},
                 {"attempt", attempt_},
                 {"stream", stream},
                 {"data", std::move(data)}};
  worker_->Send(json::serialize(o));
}

std::string AttemptContext::stop_reason() const {
  std::lock_guard lock(mu_);
  return stop_reason_;
}

bool AttemptContext::WaitStopped(int64_t ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopped_.load(); });
}

class Worker::Impl {
 public:
  Impl(Worker* self, WorkerOptions options) : self_(self), options_(std::move(options)) {}

  struct Running {
    std::shared_ptr<AttemptContext> context;
    int64_t next_heartbeat_ms = 0;
  };

  Worker* self_;
  WorkerOptions options_;
  std::map<std::string, Handler> handlers_;
  net::io_context ioc_;
  // Shared with its pending operations, which may finish after a reconnect replaced it.
  using Socket = websocket::stream<beast::tcp_stream>;
  std::shared_ptr<Socket> ws_;  // io thread only, as is all below
  beast::flat_buffer buffer_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool connected_ = false;
  bool draining_ = false;
  bool done_ = false;
  Status fatal_;
  bool welcomed_ = false;  // the server took this connection's hello
  int64_t reconnect_delay_ms_ = 100;
  std::map<uint64_t, Running> running_;  // attempt -> what runs
  struct Unacked {
    uint64_t job = 0;
    std::string message;  // the complete message
  };
  std::map<uint64_t, Unacked> unacked_;  // by attempt
  // Spawns waiting for their answer, by request number; re-sent after a reconnect.
  struct PendingSpawn {
    std::string message;
    std::shared_ptr<std::promise<Result<std::vector<uint64_t>>>> answer;
  };
  std::map<uint64_t, PendingSpawn> spawns_;
  std::atomic<uint64_t> spawn_requests_{0};
  net::steady_timer heartbeat_timer_{ioc_};
  net::steady_timer reconnect_timer_{ioc_};

  // The pool: attempts waiting for a thread.
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::deque<std::shared_ptr<AttemptContext>> pool_queue_;
  bool pool_stop_ = false;
  std::vector<std::thread> pool_;
  // Outcomes on their way from the pool to the io thread.
  std::mutex completed_mu_;
  struct Completed {
    uint64_t job = 0, attempt = 0;
    std::string message;
  };
  std::vector<Completed> completed_;
  // Partial results being zipped and sent, each on a thread of its own (joined when Run ends).
  static constexpr int kSnapshotsMax = 4;
  struct SnapshotThread {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<SnapshotThread> snapshot_threads_;  // io thread

  // The server asks for a partial result of an attempt: a zip of its directory, sent by PUT off
  // the io thread; what cannot be sent is said in a snapshot message instead.
  void Snapshot(const json::object& m) {
    const uint64_t job = U64(m, "job"), attempt = U64(m, "attempt"), request = U64(m, "request");
    auto refuse = [&](const std::string& why) {
      outbox_.push_back(json::serialize(json::object{{"type", "snapshot"},
                                                     {"job", job},
                                                     {"attempt", attempt},
                                                     {"request", request},
                                                     {"error", why}}));
      Flush();
    };
    auto it = running_.find(attempt);
    if (it == running_.end())
      return refuse("attempt " + std::to_string(attempt) + " is not running on this worker");
    const std::string dir = it->second.context->snapshot_dir();
    if (dir.empty()) return refuse("the attempt has no working directory to take a snapshot of");
    std::erase_if(snapshot_threads_, [](SnapshotThread& t) {
      if (!t.done->load()) return false;
      t.thread.join();
      return true;
    });
    if (snapshot_threads_.size() >= kSnapshotsMax) {
      return refuse("the worker is sending " + std::to_string(kSnapshotsMax) +
                    " snapshots already");
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([this, dir, job, attempt, request, done] {
      Client http(options_.server, options_.token);
      http.SetWorker(options_.id);
      const std::string target = "/v1/jobs/" + std::to_string(job) + "/attempts/" +
                                 std::to_string(attempt) + "/snapshot/" + std::to_string(request);
      Result<std::string> zip =
          ZipDirectory(dir, options_.snapshot_files_max, options_.snapshot_bytes_max);
      if (zip.ok()) {
        (void)http.Call("PUT", target, *zip, "application/zip");
      } else {
        Send(json::serialize(json::object{{"type", "snapshot"},
                                          {"job", job},
                                          {"attempt", attempt},
                                          {"request", request},
                                          {"error", zip.status().message()}}));
      }
      done->store(true);
    });
    snapshot_threads_.push_back({std::move(thread), std::move(done)});
  }

  void Send(std::string message) {
    net::post(ioc_, [this, message = std::move(message)]() mutable {
      outbox_.push_back(std::move(message));
      Flush();
    });
  }

  void Flush() {
    if (!connected_ || writing_ || outbox_.empty()) return;
    std::string frame;
    const size_t n = std::min(outbox_.size(), options_.frame_messages_max);
    if (n == 1) {
      frame = std::move(outbox_.front());
    } else {
      frame = "[";
      for (size_t i = 0; i < n; ++i) {
        if (i > 0) frame += ',';
        frame += outbox_[i];
      }
      frame += "]";
    }
    outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<ptrdiff_t>(n));
    writing_ = true;
    auto owned = std::make_shared<std::string>(std::move(frame));
    ws_->async_write(net::buffer(*owned), [this, owned, ws = ws_](beast::error_code ec, size_t) {
      if (ws != ws_) return;  // an earlier connection's
      writing_ = false;
      if (ec) return Disconnected(ec.message());
      Flush();
    });
  }

  void Connect() {
    if (done_) return;
    ws_ = std::make_shared<Socket>(ioc_);
    writing_ = false;
    boost::system::error_code ec;
    net::ip::tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(options_.server.host, std::to_string(options_.server.port), ec);
    if (!ec) beast::get_lowest_layer(*ws_).connect(results, ec);
    if (!ec) beast::get_lowest_layer(*ws_).socket().set_option(net::ip::tcp::no_delay(true), ec);
    if (!ec) {
      ws_->set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + options_.token);
        req.set(beast::http::field::user_agent, "libbaton-worker");
      }));
      websocket::response_type res;
      ws_->handshake(res, options_.server.host + ":" + std::to_string(options_.server.port),
                     "/v1/workers/connect", ec);
      if (ec == websocket::error::upgrade_declined) {
        // The server answered with an HTTP error: a bad token will not get better by retrying.
        fatal_ = Status(StatusCodeFor(res.result_int()),
                        "the server refused the worker: " + std::string(res.body()));
        if (res.result_int() == 401 || res.result_int() == 403) return Finish();
      }
    }
    if (ec) return RetryLater(ec.message());
    ws_->text(true);
    // An aggregator's assignment carries every sub-job's result (the server's
    // aggregate_bytes_max, 64 MiB by default).
    ws_->read_message_max(size_t{256} << 20);
    connected_ = true;
    welcomed_ = false;
    reconnect_delay_ms_ = 100;
    // A fresh session: hello first, then every outcome the server has not acknowledged.
    outbox_.clear();
    json::array types, running;
    for (const auto& [type, h] : handlers_) types.emplace_back(type);
    // Held: what runs, and what finished without an ack (its outcome follows the hello).
    for (const auto& [attempt, r] : running_) {
      running.push_back(json::object{{"job", r.context->job()}, {"attempt", attempt}});
    }
    for (const auto& [attempt, u] : unacked_) {
      running.push_back(json::object{{"job", u.job}, {"attempt", attempt}});
    }
    json::object hello{{"type", "hello"},
                       {"worker", options_.id},
                       {"types", types},
                       {"capacity", options_.capacity},
                       {"running", running}};
    if (!options_.resources.empty()) {
      json::object resources;
      for (const auto& [name, amount] : options_.resources) resources[name] = amount;
      hello["resources"] = std::move(resources);
    }
    if (!options_.labels.empty()) {
      json::object labels;
      for (const auto& [name, value] : options_.labels) labels[name] = value;
      hello["labels"] = std::move(labels);
    }
    if (!options_.plugins.empty()) {
      json::array plugins;
      for (const PluginOptions& p : options_.plugins) {
        plugins.push_back(json::object{{"activity", p.activity},
                                       {"type", p.type},
                                       {"mandatory", p.mandatory},
                                       {"order", p.order},
                                       {"always_run", p.always_run}});
      }
      hello["plugins"] = std::move(plugins);
    }
    outbox_.push_back(json::serialize(hello));
    for (const auto& [attempt, u] : unacked_) outbox_.push_back(u.message);
    for (const auto& [request, p] : spawns_) outbox_.push_back(p.message);
    if (draining_) outbox_.push_back(R"({"type":"drain"})");
    Read();
    Flush();
  }

  static StatusCode StatusCodeFor(unsigned http) {
    if (http == 401) return StatusCode::kUnauthenticated;
    if (http == 403) return StatusCode::kPermissionDenied;
    if (http == 400) return StatusCode::kInvalidArgument;
    return StatusCode::kUnavailable;
  }

  void RetryLater(const std::string& why) {
    connected_ = false;
    if (ws_) {
      boost::system::error_code ec;
      beast::get_lowest_layer(*ws_).socket().close(ec);  // its pending operations end
      ws_.reset();
    }
    if (done_) return;
    std::cerr << "baton worker: " << why << "; connecting again in " << reconnect_delay_ms_
              << " ms\n";
    reconnect_timer_.expires_after(std::chrono::milliseconds(reconnect_delay_ms_));
    reconnect_delay_ms_ = std::min(reconnect_delay_ms_ * 2, options_.reconnect_delay_ms_max);
    reconnect_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) Connect();
    });
  }

  void Disconnected(const std::string& why) {
    if (!connected_) return;
    connected_ = false;
    RetryLater("lost the connection to the server (" + why + ")");
  }

  void Read() {
    buffer_.clear();
    ws_->async_read(buffer_, [this, ws = ws_](beast::error_code ec, size_t) {
      if (ws != ws_) return;  // an earlier connection's
      if (ec) return Disconnected(ec.message());
      std::string text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      OnFrame(text);
      if (connected_) Read();
    });
  }

  void OnFrame(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return;
    if (v.is_object()) {
      OnMessage(v.as_object());
    } else if (v.is_array()) {
      for (const json::value& m : v.as_array()) {
        if (m.is_object()) OnMessage(m.as_object());
      }
    }
  }

  void StopAttempt(uint64_t attempt, const std::string& reason) {
    auto it = running_.find(attempt);
    if (it == running_.end()) return;
    AttemptContext& c = *it->second.context;
    {
      std::lock_guard lock(c.mu_);
      c.stop_reason_ = reason;
      c.stopped_ = true;
    }
    c.cv_.notify_all();
  }

  void OnMessage(const json::object& m) {
    const json::value* type = m.if_contains("type");
    if (type == nullptr || !type->is_string()) return;
    const std::string t(type->as_string());
    if (t == "assign") {
      for (const json::value& j : m.at("jobs").as_array()) Assigned(j.as_object());
    } else if (t == "stop") {
      StopAttempt(U64(m, "attempt"), std::string(m.at("reason").as_string()));
    } else if (t == "snapshot") {
      Snapshot(m);
    } else if (t == "ack") {
      unacked_.erase(U64(m, "attempt"));
      CheckDrained();
    } else if (t == "spawned") {
      auto it = spawns_.find(U64(m, "request"));
      if (it == spawns_.end()) return;
      std::vector<uint64_t> ids;
      if (const json::value* jobs = m.if_contains("jobs"); jobs && jobs->is_array()) {
        for (const json::value& id : jobs->as_array()) ids.push_back(id.to_number<uint64_t>());
      }
      it->second.answer->set_value(std::move(ids));
      spawns_.erase(it);
    } else if (t == "refused") {
      const std::string command(m.at("command").as_string());
      if (command == "spawn") {
        auto it = spawns_.find(U64(m, "request"));
        if (it == spawns_.end()) return;
        const json::object& error = m.at("error").as_object();
        it->second.answer->set_value(Status(ParseStatusCode(error.at("code").as_string()),
                                            std::string(error.at("message").as_string())));
        spawns_.erase(it);
      } else if (command == "complete") {
        // Final (the attempt ended without it: its lease ran out, it was cancelled, or it was
        // already reported); said, so that an operator sees work that did not count.
        std::cerr << "baton worker: the server refused the outcome of job " << U64(m, "job")
                  << " attempt " << U64(m, "attempt") << ": "
                  << m.at("error").as_object().at("message").as_string().c_str() << "\n";
        unacked_.erase(U64(m, "attempt"));
        CheckDrained();
      } else {
        // A heartbeat or progress for an attempt that is no longer ours: stop working on it.
        StopAttempt(U64(m, "attempt"),
                    "refused by the server: " +
                        std::string(m.at("error").as_object().at("message").as_string()));
      }
    } else if (t == "welcome") {
      welcomed_ = true;
    } else if (t == "error") {
      std::cerr << "baton worker: the server says: " << json::serialize(m) << "\n";
      const json::value* error = m.if_contains("error");
      if (!welcomed_ && error != nullptr && error->is_object() &&
          error->as_object().at("code") == "invalid_argument") {
        // The hello itself was refused (say, resources beyond the server's limits): the same
        // hello would be refused again.
        fatal_ = InvalidArgument("the server refused the worker's hello: " +
                                 std::string(error->as_object().at("message").as_string()));
        Finish();
      }
    }
  }

  void Assigned(const json::object& j) {
    auto c = std::make_shared<AttemptContext>();
    c->worker_ = self_;
    c->job_ = U64(j, "job");
    c->attempt_ = U64(j, "attempt");
    c->number_ = static_cast<uint32_t>(U64(j, "number"));
    c->type_ = std::string(j.at("type").as_string());
    c->payload_ = j.at("payload");
    if (const json::value* files = j.if_contains("files"); files && files->is_array()) {
      for (const json::value& f : files->as_array()) {
        if (f.is_string()) c->input_files_.emplace_back(f.as_string());
      }
    }
    c->timeout_ms_ = static_cast<int64_t>(U64(j, "timeout_ms"));
    c->heartbeat_timeout_ms_ = static_cast<int64_t>(U64(j, "heartbeat_timeout_ms"));
    running_[c->attempt_] = Running{c, NowMs() + HeartbeatEvery(*c)};
    {
      std::lock_guard lock(pool_mu_);
      pool_queue_.push_back(std::move(c));
    }
    pool_cv_.notify_one();
  }

  static int64_t HeartbeatEvery(const AttemptContext& c) {
    return std::max<int64_t>(50, c.heartbeat_timeout_ms_ / 3);
  }

  void ArmHeartbeat() {
    heartbeat_timer_.expires_after(std::chrono::milliseconds(50));
    heartbeat_timer_.async_wait([this](beast::error_code ec) {
      if (ec || done_) return;
      const int64_t now = NowMs();
      std::string list;
      for (auto& [attempt, r] : running_) {
        if (now < r.next_heartbeat_ms) continue;
        r.next_heartbeat_ms = now + HeartbeatEvery(*r.context);
        list += list.empty() ? "{" : ",{";
        list += Ref(r.context->job(), attempt) + "}";
      }
      if (!list.empty() && connected_) {
        outbox_.push_back(R"({"type":"heartbeat","attempts":[)" + list + "]}");
        Flush();
      }
      ArmHeartbeat();
    });
  }

  // Pool thread: runs attempts until the pool stops.
  void PoolLoop() {
    for (;;) {
      std::shared_ptr<AttemptContext> c;
      {
        std::unique_lock lock(pool_mu_);
        pool_cv_.wait(lock, [this] { return pool_stop_ || !pool_queue_.empty(); });
        if (pool_queue_.empty()) return;
        c = std::move(pool_queue_.front());
        pool_queue_.pop_front();
      }
      Outcome outcome;
      auto h = handlers_.find(c->type());
      if (h == handlers_.end()) {
        outcome = Outcome::Declined();
      } else {
        try {
          outcome = h->second(*c);
        } catch (const std::exception& e) {
          outcome = Outcome::Error(std::string("the handler threw: ") + e.what());
        }
      }
      std::string message = R"({"type":"complete",)" + Ref(c->job(), c->attempt());
      switch (outcome.kind) {
        case Outcome::kSucceeded:
          message += R"(,"outcome":"succeeded","result":)" + json::serialize(outcome.result);
          break;
        case Outcome::kError:
          message += R"(,"outcome":"error","error":)" +
                     json::serialize(json::string(outcome.error)) +
                     (outcome.retryable ? "" : R"(,"retryable":false)");
          if (!outcome.result.is_null())
            message += R"(,"result":)" + json::serialize(outcome.result);
          break;
        case Outcome::kDeclined:
          message += R"(,"outcome":"declined")";
          break;
      }
      message += "}";
      // Handed to the io thread in batches: one wake-up takes every outcome pending by then.
      bool first;
      {
        std::lock_guard lock(completed_mu_);
        first = completed_.empty();
        completed_.push_back({c->job(), c->attempt(), std::move(message)});
      }
      if (first) net::post(ioc_, [this] { TakeCompleted(); });
    }
  }

  // io thread: the outcomes the pool finished since the last call.
  void TakeCompleted() {
    std::vector<Completed> completed;
    {
      std::lock_guard lock(completed_mu_);
      completed.swap(completed_);
    }
    for (Completed& done : completed) {
      running_.erase(done.attempt);
      if (done_) continue;
      // Reported even after a stop: the server frees the slot (and refuses the outcome).
      unacked_[done.attempt] = Unacked{done.job, done.message};
      outbox_.push_back(std::move(done.message));
    }
    Flush();
  }

  void CheckDrained() {
    if (draining_ && running_.empty() && unacked_.empty()) Finish();
  }

  void Finish() {
    if (done_) return;
    done_ = true;
    heartbeat_timer_.cancel();
    reconnect_timer_.cancel();
    for (auto& [attempt, r] : running_) StopAttempt(attempt, "the worker is stopping");
    for (auto& [request, p] : spawns_) p.answer->set_value(Unavailable("the worker is stopping"));
    spawns_.clear();
    if (ws_ && connected_) {
      boost::system::error_code ec;
      beast::get_lowest_layer(*ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*ws_).close();
    }
    connected_ = false;
    ioc_.stop();
  }
};

Worker::Worker(WorkerOptions options) : impl_(std::make_unique<Impl>(this, std::move(options))) {}
Worker::~Worker() { Stop(); }

void Worker::Register(const std::string& type, Handler handler) {
  impl_->handlers_[type] = std::move(handler);
}

void Worker::Send(std::string message) { impl_->Send(std::move(message)); }
const WorkerOptions& Worker::options() const { return impl_->options_; }

Client& AttemptContext::Http() {
  if (!client_) {
    client_ = std::make_unique<Client>(worker_->options().server, worker_->options().token);
    client_->SetWorker(worker_->options().id);
  }
  return *client_;
}

Status AttemptContext::FetchInputs(const std::string& dir) {
  for (const std::string& name : input_files_) {
    BATON_RETURN_IF_ERROR(Http().DownloadTo(
        "/v1/jobs/" + std::to_string(job_) + "/inputs/" + EncodePath(name), dir, name));
  }
  return Status::Ok();
}

Result<std::vector<uint64_t>> AttemptContext::Spawn(const boost::json::array& jobs) {
  Worker::Impl& m = *worker_->impl_;
  const uint64_t request = ++m.spawn_requests_;
  json::object o{{"type", "spawn"},
                 {"job", job_},
                 {"attempt", attempt_},
                 {"request", request},
                 {"jobs", jobs}};
  auto answer = std::make_shared<std::promise<Result<std::vector<uint64_t>>>>();
  std::future<Result<std::vector<uint64_t>>> done = answer->get_future();
  net::post(m.ioc_, [&m, request, answer, message = json::serialize(o)]() mutable {
    if (m.done_) return answer->set_value(Unavailable("the worker is stopping"));
    m.outbox_.push_back(message);
    m.spawns_[request] = Worker::Impl::PendingSpawn{std::move(message), std::move(answer)};
    m.Flush();
  });
  return done.get();
}

Status AttemptContext::UploadOutput(const std::string& name, const std::string& data) {
  Result<HttpAnswer> answer =
      Http().Call("PUT",
                  "/v1/jobs/" + std::to_string(job_) + "/attempts/" + std::to_string(attempt_) +
                      "/files/" + EncodePath(name),
                  data, "application/octet-stream");
  if (!answer.ok()) return answer.status().WithContext("upload " + name);
  if (answer->status != 201) return StatusFromAnswer(*answer).WithContext("upload " + name);
  return Status::Ok();
}

void AttemptContext::SetSnapshotDir(std::string dir) {
  std::lock_guard lock(mu_);
  snapshot_dir_ = std::move(dir);
}

std::string AttemptContext::snapshot_dir() const {
  std::lock_guard lock(mu_);
  return snapshot_dir_;
}

Result<std::string> ZipDirectory(const std::string& dir, size_t files_max, size_t bytes_max) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> paths;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // Links are not followed: a snapshot holds what the job wrote, nothing it points at.
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    paths.push_back(it->path());
    if (paths.size() > files_max) {
      return ResourceExhausted("the working directory holds more than " +
                               std::to_string(files_max) + " files (snapshot_files_max)");
    }
  }
  if (ec) return Unavailable("read " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  ZipWriter zip;
  size_t bytes = 0;
  for (const fs::path& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    if (!in && !in.eof()) continue;  // gone or unreadable since it was listed: left out
    bytes += data.size();
    if (bytes > bytes_max) {
      return ResourceExhausted("the working directory holds more than " +
                               std::to_string(bytes_max) + " bytes (snapshot_bytes_max)");
    }
    zip.Add(path.lexically_relative(dir).generic_string(), data);
  }
  return zip.Finish();
}

Status Worker::Run() {
  Impl& m = *impl_;
  if (m.handlers_.empty())
    return InvalidArgument("worker: register a handler for a job type first");
  if (m.options_.capacity == 0) return InvalidArgument("--capacity: must be at least 1");
  for (uint32_t i = 0; i < m.options_.capacity; ++i) {
    m.pool_.emplace_back([&m] { m.PoolLoop(); });
  }
  net::post(m.ioc_, [&m] {
    m.Connect();
    m.ArmHeartbeat();
  });
  m.ioc_.run();
  {
    std::lock_guard lock(m.pool_mu_);
    m.pool_stop_ = true;
    m.pool_queue_.clear();
  }
  m.pool_cv_.notify_all();
  for (std::thread& t : m.pool_) t.join();
  m.pool_.clear();
  for (auto& t : m.snapshot_threads_) t.thread.join();
  m.snapshot_threads_.clear();
  return m.fatal_.code() == StatusCode::kUnauthenticated ||
                 m.fatal_.code() == StatusCode::kPermissionDenied ||
                 m.fatal_.code() == StatusCode::kInvalidArgument
             ? m.fatal_
             : Status::Ok();
}

void Worker::Drain() {
  net::post(impl_->ioc_, [m = impl_.get()] {
    if (m->draining_) return;
    m->draining_ = true;
    m->outbox_.push_back(R"({"type":"drain"})");
    m->Flush();
    m->CheckDrained();
  });
}

void Worker::Stop() {
  net::post(impl_->ioc_, [m = impl_.get()] { m->Finish(); });
}

}  // namespace baton::client
