#include "server/leader_term.h"

#include <cstdio>

namespace baton::server {

Result<std::unique_ptr<LeaderTerm>> LeaderTerm::Start(Parts parts) {
  std::unique_ptr<LeaderTerm> t(new LeaderTerm(std::move(parts)));
  store::Database& db = *t->parts_.database;
  const ServerOptions& options = t->options_;
  BATON_ASSIGN_OR_RETURN(t->store_, db.ConnectLeader(t->parts_.epoch));
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> reader, db.Connect());
  t->reader_ = std::make_unique<StoreReader>(std::move(reader));
  // Files and logs: in --files DIR, else in the database if it keeps them, else beside it. A new
  // term opens them anew: what a LogStore knows of sizes is only true while it is the writer.
  BATON_ASSIGN_OR_RETURN(store::FileStores stores,
                         store::OpenFileStores(db, options.files_dir, options.data_dir));
  t->logs_ = std::make_unique<JobLogs>(std::move(stores.logs), options.log_bytes_max,
                                       options.log_followers_max);
  t->files_.emplace(std::move(stores.blobs), options.files);
  // Inputs of a submit that crashed before its commit: no job names them. Only a leader uploads,
  // so none is in flight now but on a deposed leader, whose commit will fail.
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::StoreAdmin> admin, db.ConnectAdmin());
  Result<size_t> orphans = t->files_->RemoveOrphanInputs(
      [&admin](const std::string& key) { return admin->InputDirInUse(key); });
  if (!orphans.ok()) return orphans.status().WithContext("clean up input files");
  t->blocking_ = std::make_unique<BlockingPool>(options.blocking_threads);
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> event_reader, db.Connect());
  t->events_ = std::make_unique<EventStreams>(std::move(event_reader), 0, options.events);
  t->hub_ = std::make_unique<WorkerHub>(t->parts_.clock, options.workers);
  LeaderTerm* self = t.get();
  t->hub_->SetSpecCheck(
      [self](std::vector<engine::JobSpec>& specs) { return self->types_.Apply(specs, true); });
  t->hub_->SetResourceCheck([self](const engine::Resources& r) {
    return engine::CheckWorkerResources(self->config_.scheduling, r);
  });
  t->hub_->SetSnapshotSink(
      [self](uint64_t number, const engine::AttemptRef& from, const std::string& error) {
        self->files_api_->SnapshotFailed(number, from, error);
      });
  RuntimeOptions runtime_options = options.runtime;
  runtime_options.on_engine = [self](engine::Engine& e) {
    e.SetTypes(self->types_.EngineDefaults());
    e.SetPolicy(self->config_.scheduling);
  };
  t->hub_->HookInto(runtime_options);
  runtime_options.on_events_committed = [self](engine::EventSeq last) {
    self->events_->Committed(last);
  };
  runtime_options.on_jobs_finished = [self](const std::vector<engine::JobId>& jobs) {
    for (engine::JobId job : jobs) self->logs_->Finish(job);
  };
  runtime_options.on_commit_failed = t->parts_.on_commit_failed;
  BATON_ASSIGN_OR_RETURN(
      t->runtime_, Runtime::Start(t->store_.get(), t->parts_.clock, std::move(runtime_options)));
  t->access_ = std::make_unique<JobAccess>(t->runtime_.get(), t->reader_.get(), t->blocking_.get(),
                                           &t->gate_);
  // The API's modules, each with what it needs and nothing else.
  t->files_api_ = std::make_unique<FilesApi>(
      FilesApi::Parts{t->runtime_.get(), t->access_.get(), t->blocking_.get(), &*t->files_,
                      t->hub_.get(), &t->types_},
      FilesApi::Options{options.snapshot_timeout_ms});
  t->compat_ = std::make_unique<CompatApi>(t->files_api_.get(), t->access_.get(), &t->types_);
  t->jobs_ = std::make_unique<JobsApi>(
      JobsApi::Parts{t->runtime_.get(), t->access_.get(), t->reader_.get(), t->blocking_.get(),
                     &t->gate_, t->logs_.get(), &t->types_},
      JobsApi::Options{options.batch_max, options.retry_jobs_max});
  t->workflows_ = std::make_unique<WorkflowsApi>(t->runtime_.get(), t->reader_.get(),
                                                 t->blocking_.get(), &t->types_);
  t->scheduling_ = std::make_unique<SchedulingApi>(t->runtime_.get(), t->hub_.get(), &t->types_,
                                                   t->parts_.config);
  t->tokens_api_ = std::make_unique<TokensApi>(t->parts_.auth);
  t->events_api_ =
      std::make_unique<EventsApi>(t->events_.get(), t->reader_.get(), t->access_.get());
  t->hub_->Attach(t->runtime_.get(),
                  [self](engine::JobId job, engine::AttemptId, const std::string&,
                         const std::string& data) { self->logs_->Append(job, data); });
  Result<engine::EventSeq> last_event =
      t->runtime_->Call([](engine::Engine& e) { return e.Stats().event_seq_last; }).get();
  if (!last_event.ok()) return last_event.status();
  t->events_->Committed(*last_event);
  BATON_ASSIGN_OR_RETURN(t->cleaner_reader_, db.Connect());
  t->StartCleaner();
  return t;
}

LeaderTerm::~LeaderTerm() {
  Quiesce();
  EndStreams();
}

Result<WebSocketHandlers> LeaderTerm::ConnectWorker(const Identity& who,
                                                    const std::shared_ptr<WebSocket>& socket) {
  return hub_->Connect(who, socket);
}

void LeaderTerm::Quiesce() {
  if (quiesced_) return;
  quiesced_ = true;
  StopCleaner();
  if (hub_) hub_->CloseAll();
  // Their timers would hold up the blocking pool's join.
  if (files_api_) files_api_->AbandonSnapshots();
  if (runtime_) runtime_->Stop();
  if (blocking_) blocking_->Join();  // what the last commits handed over finishes
}

void LeaderTerm::EndStreams() {
  if (streams_ended_) return;
  streams_ended_ = true;
  if (events_) events_->Stop();
  if (logs_) logs_->FinishAll();
}

}  // namespace baton::server
