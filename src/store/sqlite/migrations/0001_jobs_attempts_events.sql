-- jobs, attempts, events
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  owner TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL,
  run_after_ms INTEGER NOT NULL,
  run_by_ms INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  heartbeat_timeout_ms INTEGER NOT NULL,
  attempts_max INTEGER NOT NULL,
  retry_delay_ms_initial INTEGER NOT NULL,
  retry_multiplier REAL NOT NULL,
  retry_delay_ms_max INTEGER NOT NULL,
  retry_jitter REAL NOT NULL,
  retry_on INTEGER NOT NULL,
  idempotency_key TEXT,
  tags TEXT NOT NULL,
  parent_id INTEGER NOT NULL,
  verify INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX jobs_idempotency ON jobs(created_ms) WHERE idempotency_key IS NOT NULL;
CREATE TABLE job_status (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL,
  attempts_used INTEGER NOT NULL,
  attempts_started INTEGER NOT NULL,
  declines INTEGER NOT NULL,
  attempt_id INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  attempt_started_ms INTEGER NOT NULL,
  lease_expires_ms INTEGER NOT NULL,
  ready_at_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  last_outcome TEXT NOT NULL,
  progress REAL NOT NULL,
  progress_message TEXT NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  declined_by TEXT NOT NULL,
  children_total INTEGER NOT NULL,
  children_done INTEGER NOT NULL,
  children_failed INTEGER NOT NULL
);
CREATE TABLE attempts (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL,
  number INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT NOT NULL
);
CREATE INDEX attempts_job ON attempts(job_id);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt_id INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  progress REAL NOT NULL,
  message TEXT NOT NULL
);
