-- Large plans are applied and undone in batches (orchestrator/planning/schedule.py): a task gets a batch number and
-- reads its steps by index, so the execution's state never carries step ids.
ALTER TABLE deployment_steps
    ADD COLUMN batch      integer CHECK (batch >= 0),
    ADD COLUMN undo_batch integer CHECK (undo_batch >= 0);

CREATE INDEX deployment_steps_batch_idx ON deployment_steps (deployment_id, batch) WHERE batch IS NOT NULL;
CREATE INDEX deployment_steps_undo_batch_idx ON deployment_steps (deployment_id, undo_batch)
    WHERE undo_batch IS NOT NULL;
