-- jobs, workflows, schedules, tokens
-- The PostgreSQL schema is the SQLite one (src/store/sqlite/migrations) as it stands at its
-- migration 10, in PostgreSQL's types. Text that is compared by ranges or sorted (owners, names)
-- is COLLATE "C": byte order, as SQLite compares, whatever the database's locale.
--
-- Rows rewritten on every change (job_status, workflow_status, schedules) leave room in each page
-- (fillfactor) and index nothing but their id, so that an update is a HOT update: no index entry,
-- and the old version is pruned from the page without waiting for VACUUM. Autovacuum then runs
-- on these tables after 1% of their rows changed rather than 20%, which keeps them flat over a
-- long run.
CREATE TABLE jobs (
  id BIGINT PRIMARY KEY,
  type TEXT COLLATE "C" NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  payload TEXT NOT NULL,
  priority BIGINT NOT NULL,
  run_after_ms BIGINT NOT NULL,
  run_by_ms BIGINT NOT NULL,
  timeout_ms BIGINT NOT NULL,
  heartbeat_timeout_ms BIGINT NOT NULL,
  attempts_max BIGINT NOT NULL,
  retry_delay_ms_initial BIGINT NOT NULL,
  retry_multiplier DOUBLE PRECISION NOT NULL,
  retry_delay_ms_max BIGINT NOT NULL,
  retry_jitter DOUBLE PRECISION NOT NULL,
  retry_on BIGINT NOT NULL,
  idempotency_key TEXT,
  tags TEXT NOT NULL,
  parent_id BIGINT NOT NULL,
  verify BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  input_dir TEXT COLLATE "C" NOT NULL,
  input_files TEXT NOT NULL,
  splitter TEXT NOT NULL,
  aggregator TEXT NOT NULL,
  verifier TEXT NOT NULL,
  children_policy TEXT NOT NULL,
  parent_attempt BIGINT NOT NULL,
  role TEXT NOT NULL,
  subject_id BIGINT NOT NULL,
  subject_attempt BIGINT NOT NULL,
  workflow_id BIGINT NOT NULL,
  workflow_step BIGINT NOT NULL,
  resources TEXT NOT NULL,
  labels TEXT NOT NULL,
  concurrency_key TEXT NOT NULL,
  concurrency_limit BIGINT NOT NULL,
  retention_ms BIGINT NOT NULL,
  verdict_timeout_ms BIGINT NOT NULL
);
CREATE INDEX jobs_idempotency ON jobs(created_ms) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_input_dir ON jobs(input_dir) WHERE input_dir != '';
CREATE INDEX jobs_parent ON jobs(parent_id) WHERE parent_id != 0;
CREATE TABLE job_status (
  id BIGINT PRIMARY KEY,
  state TEXT NOT NULL,
  attempts_used BIGINT NOT NULL,
  attempts_started BIGINT NOT NULL,
  declines BIGINT NOT NULL,
  attempt_id BIGINT NOT NULL,
  worker_id TEXT NOT NULL,
  attempt_started_ms BIGINT NOT NULL,
  lease_expires_ms BIGINT NOT NULL,
  ready_at_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL,
  last_outcome TEXT NOT NULL,
  progress DOUBLE PRECISION NOT NULL,
  progress_message TEXT NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  declined_by TEXT NOT NULL,
  children_total BIGINT NOT NULL,
  children_done BIGINT NOT NULL,
  children_failed BIGINT NOT NULL,
  helper_id BIGINT NOT NULL,
  outputs TEXT NOT NULL
) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01,
        autovacuum_analyze_scale_factor = 0.05);
CREATE TABLE attempts (
  id BIGINT PRIMARY KEY,
  job_id BIGINT NOT NULL,
  number BIGINT NOT NULL,
  worker_id TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  ended_ms BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX attempts_job ON attempts(job_id);
CREATE TABLE events (
  seq BIGINT PRIMARY KEY,
  job_id BIGINT NOT NULL,
  at_ms BIGINT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  attempt_id BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  progress DOUBLE PRECISION NOT NULL,
  message TEXT NOT NULL,
  workflow_id BIGINT NOT NULL
);
CREATE INDEX events_workflow ON events(workflow_id) WHERE workflow_id != 0;
CREATE TABLE workflows (
  id BIGINT PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL,
  document TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE workflow_status (
  id BIGINT PRIMARY KEY,
  state TEXT NOT NULL,
  updated_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL,
  message TEXT NOT NULL,
  steps TEXT NOT NULL
) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01);
CREATE TABLE schedules (
  name TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT NOT NULL,
  cron TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  job TEXT NOT NULL,
  paused BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  last_tick_ms BIGINT NOT NULL,
  jobs_created BIGINT NOT NULL,
  last_job_id BIGINT NOT NULL,
  last_error TEXT NOT NULL
) WITH (fillfactor = 50);
CREATE TABLE paused_types (type TEXT COLLATE "C" PRIMARY KEY);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  admin BOOLEAN NOT NULL,
  worker BOOLEAN NOT NULL,
  private BOOLEAN NOT NULL,
  created_ms BIGINT NOT NULL
);
-- Fails the transaction it runs in when a statement changed fewer rows than the batch meant to
-- (an update of a job that is not there), naming what was missing: the whole batch is then undone.
-- `got` and `want` are the ids changed and meant; the names are looked for only on a mismatch.
CREATE FUNCTION baton_expect_ids(got BIGINT[], want BIGINT[], what TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
  missing BIGINT[];
BEGIN
  IF coalesce(array_length(got, 1), 0) <> coalesce(array_length(want, 1), 0) THEN
    missing := ARRAY(SELECT w FROM unnest(want) AS w EXCEPT SELECT g FROM unnest(got) AS g);
    RAISE EXCEPTION 'baton: no such % %', what, array_to_string(missing, ', ')
      USING ERRCODE = 'BT002';
  END IF;
END
$$;
