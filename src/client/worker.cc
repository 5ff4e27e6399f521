#include "client/worker.h"

#include <algorithm>
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
#include "protocol/frames.h"

namespace baton::client {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}
}  // namespace

void AttemptContext::Progress(double fraction, std::string message) {
  worker_->Send(protocol::Serialize(
      protocol::WorkerMessage(protocol::Progress{{job_, attempt_}, fraction, std::move(message)})));
}

void AttemptContext::Log(std::string_view stream, std::string data) {
  worker_->Send(protocol::Serialize(protocol::WorkerMessage(
      protocol::Log{{job_, attempt_}, std::string(stream), std::move(data)})));
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
  size_t server_ = 0;                    // options_.servers' index of the one to connect to
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
  static std::string SnapshotFailed(uint64_t job, uint64_t attempt, uint64_t request,
                                    std::string why) {
    return protocol::Serialize(
        protocol::WorkerMessage(protocol::SnapshotFailed{{job, attempt}, request, std::move(why)}));
  }

  void Snapshot(const protocol::SnapshotRequest& m) {
    const uint64_t job = m.key.job, attempt = m.key.attempt, request = m.request;
    auto refuse = [&](const std::string& why) {
      outbox_.push_back(SnapshotFailed(job, attempt, request, why));
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
      Client http(options_.servers, options_.token);
      http.SetWorker(options_.id);
      const std::string target = "/v1/jobs/" + std::to_string(job) + "/attempts/" +
                                 std::to_string(attempt) + "/snapshot/" + std::to_string(request);
      Result<std::string> zip =
          ZipDirectory(dir, options_.snapshot_files_max, options_.snapshot_bytes_max);
      if (zip.ok()) {
        (void)http.Call("PUT", target, *zip, "application/zip");
      } else {
        Send(SnapshotFailed(job, attempt, request, zip.status().message()));
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

  // After a failed connection: the server that leads, if a standby's /healthz names one among
  // ours (or a new one), else the next server.
  void NextServer(bool standby) {
    if (standby) {
      Client probe(options_.servers[server_], "");
      probe.SetFailover(0, nullptr);
      Result<HttpAnswer> health = probe.Call("GET", "/healthz");
      boost::system::error_code ec;
      json::value v = health.ok() ? json::parse(health->body, ec) : json::value();
      const json::value* leader =
          !ec && v.is_object() ? v.as_object().if_contains("leader") : nullptr;
      if (leader != nullptr && leader->is_string()) {
        Result<Endpoint> e = Endpoint::Parse(std::string(leader->as_string()));
        if (e.ok() && !(*e == options_.servers[server_])) {
          auto it = std::find(options_.servers.begin(), options_.servers.end(), *e);
          if (it == options_.servers.end())
            it = options_.servers.insert(options_.servers.end(), *e);
          server_ = static_cast<size_t>(it - options_.servers.begin());
          return;
        }
      }
    }
    server_ = (server_ + 1) % options_.servers.size();
  }

  void Connect() {
    if (done_) return;
    ws_ = std::make_shared<Socket>(ioc_);
    writing_ = false;
    boost::system::error_code ec;
    net::ip::tcp::resolver resolver(ioc_);
    const Endpoint server = options_.servers[server_];
    auto results = resolver.resolve(server.host, std::to_string(server.port), ec);
    if (!ec) beast::get_lowest_layer(*ws_).connect(results, ec);
    if (!ec) beast::get_lowest_layer(*ws_).socket().set_option(net::ip::tcp::no_delay(true), ec);
    if (!ec) {
      ws_->set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + options_.token);
        req.set(beast::http::field::user_agent, "libbaton-worker");
      }));
      websocket::response_type res;
      ws_->handshake(res, server.host + ":" + std::to_string(server.port), "/v1/workers/connect",
                     ec);
      if (ec == websocket::error::upgrade_declined && res.result_int() == 503) {
        // A standby (or a server that stops): the leader is elsewhere. A server that answers
        // is up, and a takeover comes within a lease: try every 200 ms, not with a back-off
        // grown while no server answered.
        NextServer(true);
        reconnect_delay_ms_ = std::min<int64_t>(reconnect_delay_ms_, 200);
        return RetryLater("the server at " + server.url() +
                          " does not lead: " + std::string(res.body()));
      }
      if (ec == websocket::error::upgrade_declined) {
        // The server answered with an HTTP error: a bad token will not get better by retrying.
        fatal_ = Status(StatusCodeOfHttp(static_cast<int>(res.result_int())),
                        "the server refused the worker: " + std::string(res.body()));
        if (res.result_int() == 401 || res.result_int() == 403) return Finish();
      }
    }
    if (ec) {
      NextServer(false);
      return RetryLater(ec.message());
    }
    ws_->text(true);
    // An aggregator's assignment carries every sub-job's result (the server's
    // aggregate_bytes_max, 64 MiB by default).
    ws_->read_message_max(size_t{256} << 20);
    connected_ = true;
    welcomed_ = false;
    reconnect_delay_ms_ = 100;
    // A fresh session: hello first, then every outcome the server has not acknowledged.
    outbox_.clear();
    protocol::Hello hello;
    hello.worker = options_.id;
    for (const auto& [type, h] : handlers_) hello.types.push_back(type);
    hello.capacity = options_.capacity;
    // Held: what runs, and what finished without an ack (its outcome follows the hello).
    for (const auto& [attempt, r] : running_) hello.running.push_back({r.context->job(), attempt});
    for (const auto& [attempt, u] : unacked_) hello.running.push_back({u.job, attempt});
    if (!options_.resources.empty()) {
      json::object resources;
      for (const auto& [name, amount] : options_.resources) resources[name] = amount;
      hello.resources = std::move(resources);
    }
    if (!options_.labels.empty()) {
      json::object labels;
      for (const auto& [name, value] : options_.labels) labels[name] = value;
      hello.labels = std::move(labels);
    }
    for (const PluginOptions& p : options_.plugins) {
      hello.plugins.push_back({p.activity, p.type, p.mandatory, p.order, p.always_run});
    }
    outbox_.push_back(protocol::Serialize(protocol::WorkerMessage(std::move(hello))));
    for (const auto& [attempt, u] : unacked_) outbox_.push_back(u.message);
    for (const auto& [request, p] : spawns_) outbox_.push_back(p.message);
    if (draining_)
      outbox_.push_back(protocol::Serialize(protocol::WorkerMessage(protocol::Drain{})));
    Read();
    Flush();
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
    Result<std::vector<protocol::ServerMessage>> messages = protocol::ParseServerFrame(text);
    if (!messages.ok()) {
      // A server that breaks the protocol: said, and the frame left alone.
      std::cerr << "baton worker: a frame from the server could not be read: "
                << messages.status().message() << "\n";
      return;
    }
    for (protocol::ServerMessage& m : *messages) OnMessage(m);
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

  void OnMessage(protocol::ServerMessage& message) {
    if (auto* m = std::get_if<protocol::Assign>(&message)) {
      for (protocol::AssignedJob& j : m->jobs) Assigned(j);
    } else if (auto* m = std::get_if<protocol::Stop>(&message)) {
      StopAttempt(m->key.attempt, m->reason);
    } else if (auto* m = std::get_if<protocol::SnapshotRequest>(&message)) {
      Snapshot(*m);
    } else if (auto* m = std::get_if<protocol::Ack>(&message)) {
      unacked_.erase(m->key.attempt);
      CheckDrained();
    } else if (auto* m = std::get_if<protocol::Spawned>(&message)) {
      auto it = spawns_.find(m->request);
      if (it == spawns_.end()) return;
      it->second.answer->set_value(std::move(m->jobs));
      spawns_.erase(it);
    } else if (auto* m = std::get_if<protocol::Refused>(&message)) {
      Refused(*m);
    } else if (std::holds_alternative<protocol::Welcome>(message)) {
      welcomed_ = true;
    } else if (auto* m = std::get_if<protocol::Error>(&message)) {
      std::cerr << "baton worker: the server says: " << StatusCodeName(m->code) << ": "
                << m->message << "\n";
      if (!welcomed_ && m->code == StatusCode::kInvalidArgument) {
        // The hello itself was refused (say, resources beyond the server's limits): the same
        // hello would be refused again.
        fatal_ = InvalidArgument("the server refused the worker's hello: " + m->message);
        Finish();
      }
    }
  }

  void Refused(const protocol::Refused& m) {
    if (m.command == "spawn") {
      auto it = m.request ? spawns_.find(*m.request) : spawns_.end();
      if (it == spawns_.end()) return;
      it->second.answer->set_value(Status(m.code, m.message));
      spawns_.erase(it);
    } else if (m.command == "complete") {
      // Final (the attempt ended without it: its lease ran out, it was cancelled, or it was
      // already reported); said, so that an operator sees work that did not count.
      std::cerr << "baton worker: the server refused the outcome of job " << m.key.job
                << " attempt " << m.key.attempt << ": " << m.message << "\n";
      unacked_.erase(m.key.attempt);
      CheckDrained();
    } else {
      // A heartbeat or progress for an attempt that is no longer ours: stop working on it.
      StopAttempt(m.key.attempt, "refused by the server: " + m.message);
    }
  }

  void Assigned(protocol::AssignedJob& j) {
    auto c = std::make_shared<AttemptContext>();
    c->worker_ = self_;
    c->job_ = j.key.job;
    c->attempt_ = j.key.attempt;
    c->number_ = j.number;
    c->type_ = std::move(j.type);
    boost::system::error_code ec;
    c->payload_ = json::parse(j.payload, ec);  // JSON: the frame it came in was parsed
    c->input_files_ = std::move(j.files);
    c->timeout_ms_ = j.timeout_ms;
    c->heartbeat_timeout_ms_ = j.heartbeat_timeout_ms;
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
      protocol::Heartbeat beat;
      for (auto& [attempt, r] : running_) {
        if (now < r.next_heartbeat_ms) continue;
        r.next_heartbeat_ms = now + HeartbeatEvery(*r.context);
        beat.attempts.push_back({r.context->job(), attempt});
      }
      if (!beat.attempts.empty() && connected_) {
        outbox_.push_back(protocol::Serialize(protocol::WorkerMessage(std::move(beat))));
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
      protocol::Complete complete{{c->job(), c->attempt()}};
      switch (outcome.kind) {
        case Outcome::kSucceeded:
          complete.outcome = protocol::Complete::kSucceeded;
          complete.result = json::serialize(outcome.result);
          break;
        case Outcome::kError:
          complete.outcome = protocol::Complete::kError;
          complete.error = std::move(outcome.error);
          complete.retryable = outcome.retryable;
          if (!outcome.result.is_null()) complete.result = json::serialize(outcome.result);
          break;
        case Outcome::kDeclined:
          complete.outcome = protocol::Complete::kDeclined;
          break;
      }
      std::string message = protocol::Serialize(protocol::WorkerMessage(std::move(complete)));
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
    client_ = std::make_unique<Client>(worker_->options().servers, worker_->options().token);
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
  std::string message = protocol::Serialize(
      protocol::WorkerMessage(protocol::Spawn{{job_, attempt_}, request, jobs}));
  auto answer = std::make_shared<std::promise<Result<std::vector<uint64_t>>>>();
  std::future<Result<std::vector<uint64_t>>> done = answer->get_future();
  net::post(m.ioc_, [&m, request, answer, message = std::move(message)]() mutable {
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
  ZipStream zip;
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
  zip.Finish();
  return zip.Take();
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
    m->outbox_.push_back(protocol::Serialize(protocol::WorkerMessage(protocol::Drain{})));
    m->Flush();
    m->CheckDrained();
  });
}

void Worker::Stop() {
  net::post(impl_->ioc_, [m = impl_.get()] { m->Finish(); });
}

}  // namespace baton::client
