-- schedules, paused types
CREATE TABLE schedules (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  cron TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  job TEXT NOT NULL,
  paused INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  last_tick_ms INTEGER NOT NULL,
  jobs_created INTEGER NOT NULL,
  last_job_id INTEGER NOT NULL,
  last_error TEXT NOT NULL
);
CREATE TABLE paused_types (type TEXT PRIMARY KEY);
