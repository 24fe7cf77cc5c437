-- Deployment strategies (planning/strategies.py): the phase each step runs in, and the phase a run is in now.
-- `phase` orders a task's steps (phase, then wave); `phase_name` is what operators read ("batch 2/5", "canary").
-- A deployment's `phase` is null when no workflow runs it; `phase_ends_at` is set while it bakes.

ALTER TABLE deployment_steps
    ADD COLUMN phase integer NOT NULL DEFAULT 0 CHECK (phase >= 0),
    ADD COLUMN phase_name text CHECK (phase_name <> '');

ALTER TABLE deployments
    ADD COLUMN phase text CHECK (phase <> ''),
    ADD COLUMN phase_started_at timestamptz,
    ADD COLUMN phase_ends_at timestamptz;
