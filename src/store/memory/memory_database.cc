// The `memory:` database: one MemoryStore and one token map, shared by every connection behind
// one mutex (the connections are as independent as the thread rules ask, not as fast).
#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "store/memory/memory_store.h"

namespace baton::store {
namespace {

struct Shared {
  std::mutex mu;
  MemoryStore store;
  std::map<std::string, TokenRecord> tokens;  // by hash
};

class MemoryConnection final : public Store, public StoreAdmin, public TokenStore {
  // Runs f on the shared store under the lock (first: its return type is deduced from here).
  template <typename F>
  auto Locked(F f) {
    std::lock_guard lock(shared_->mu);
    return f(shared_->store);
  }

 public:
  explicit MemoryConnection(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  Status Apply(const engine::RecordBatch& batch) override {
    return Locked([&](MemoryStore& s) { return s.Apply(batch); });
  }
  Result<engine::RecoveredState> Recover(int64_t keys_since_ms) override {
    return Locked([&](MemoryStore& s) { return s.Recover(keys_since_ms); });
  }
  Result<engine::JobRecord> GetJob(engine::JobId id) override {
    return Locked([&](MemoryStore& s) { return s.GetJob(id); });
  }
  Result<std::vector<engine::AttemptRecord>> ListAttempts(engine::JobId id) override {
    return Locked([&](MemoryStore& s) { return s.ListAttempts(id); });
  }
  Result<JobPage> ListJobs(const JobQuery& query) override {
    return Locked([&](MemoryStore& s) { return s.ListJobs(query); });
  }
  Result<engine::WorkflowRecord> GetWorkflow(engine::WorkflowId id) override {
    return Locked([&](MemoryStore& s) { return s.GetWorkflow(id); });
  }
  Result<std::array<uint64_t, engine::kJobStateCount>> CountChildren(
      engine::JobId parent) override {
    return Locked([&](MemoryStore& s) { return s.CountChildren(parent); });
  }
  Result<std::vector<engine::Event>> ListEvents(const EventQuery& query) override {
    return Locked([&](MemoryStore& s) { return s.ListEvents(query); });
  }
  Result<std::vector<FinishedJob>> ListFinished(engine::JobId after, size_t limit) override {
    return Locked([&](MemoryStore& s) { return s.ListFinished(after, limit); });
  }
  Result<engine::EventSeq> FirstEventAt(int64_t at_ms) override {
    return Locked([&](MemoryStore& s) { return s.FirstEventAt(at_ms); });
  }

  Result<int> SchemaVersion() override { return 0; }  // nothing is kept: no schema
  Status IntegrityCheck() override { return Status::Ok(); }
  Result<bool> InputDirInUse(const std::string& input_dir) override {
    return Locked([&](MemoryStore& s) { return s.InputDirInUse(input_dir); });
  }

  Status Put(const TokenRecord& token) override {
    std::lock_guard lock(shared_->mu);
    if (!shared_->tokens.emplace(token.hash, token).second) {
      return Status(StatusCode::kAlreadyExists, "a token with this hash exists");
    }
    return Status::Ok();
  }
  Result<std::optional<TokenRecord>> Find(const std::string& hash) override {
    std::lock_guard lock(shared_->mu);
    auto it = shared_->tokens.find(hash);
    if (it == shared_->tokens.end()) return std::optional<TokenRecord>();
    return std::optional<TokenRecord>(it->second);
  }
  Result<std::vector<TokenRecord>> List() override {
    std::lock_guard lock(shared_->mu);
    std::vector<TokenRecord> out;
    for (const auto& [hash, t] : shared_->tokens) out.push_back(t);
    std::sort(out.begin(), out.end(), [](const TokenRecord& a, const TokenRecord& b) {
      return std::tie(a.created_ms, a.hash) < std::tie(b.created_ms, b.hash);
    });
    return out;
  }

 private:
  std::shared_ptr<Shared> shared_;
};

class MemoryDatabase final : public Database {
 public:
  std::string_view backend() const override { return "memory"; }
  std::string description() const override { return "memory:"; }
  std::string local_dir() const override { return {}; }
  Result<std::unique_ptr<Store>> Connect() override {
    return std::unique_ptr<Store>(std::make_unique<MemoryConnection>(shared_));
  }
  Result<std::unique_ptr<TokenStore>> ConnectTokens() override {
    return std::unique_ptr<TokenStore>(std::make_unique<MemoryConnection>(shared_));
  }
  Result<std::unique_ptr<StoreAdmin>> ConnectAdmin() override {
    return std::unique_ptr<StoreAdmin>(std::make_unique<MemoryConnection>(shared_));
  }
  // None: the server keeps them on its disk.
  Result<std::unique_ptr<BlobStore>> ConnectBlobs() override {
    return std::unique_ptr<BlobStore>();
  }
  Result<std::unique_ptr<LogStore>> ConnectLogs() override { return std::unique_ptr<LogStore>(); }
  // One server per database: no lease, and its commits need no fence.
  Result<std::unique_ptr<Lease>> ConnectLease() override { return std::unique_ptr<Lease>(); }
  Result<std::unique_ptr<Store>> ConnectLeader(int64_t) override { return Connect(); }

 private:
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace

std::unique_ptr<Database> OpenMemoryDatabase() { return std::make_unique<MemoryDatabase>(); }

}  // namespace baton::store
