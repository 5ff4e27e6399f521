-- workflows
CREATE TABLE workflows (
  id INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  document TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE workflow_status (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  message TEXT NOT NULL,
  steps TEXT NOT NULL
);
ALTER TABLE jobs ADD COLUMN workflow_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN workflow_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN workflow_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_workflow ON events(workflow_id) WHERE workflow_id != 0;
