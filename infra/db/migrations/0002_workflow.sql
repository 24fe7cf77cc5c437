-- What the workflow tasks need beyond the initial schema: the plan's id, each step's tenant, desired resource, the
-- inventory record it found (so an undo restores it exactly) and when it was undone; drift report metadata; and
-- the simulated provider's first-result-wins record of operations.

ALTER TABLE deployments ADD COLUMN plan_id text;

ALTER TABLE deployment_steps
    ADD COLUMN tenant_id text NOT NULL CHECK (tenant_id <> ''),
    ADD COLUMN resource  jsonb NOT NULL CHECK (jsonb_typeof(resource) = 'object'),
    ADD COLUMN before    jsonb,
    ADD COLUMN undone_at timestamptz;

ALTER TABLE drift_reports
    ADD COLUMN scan_type text NOT NULL DEFAULT 'scheduled' CHECK (scan_type <> ''),
    ADD COLUMN remediation_deployment_id uuid REFERENCES deployments (id);

-- Keyed by a step's idempotency key: a repeated apply or destroy returns the first outcome and changes nothing.
CREATE TABLE provider_operations (
    idempotency_key text PRIMARY KEY CHECK (idempotency_key <> ''),
    result          jsonb NOT NULL CHECK (jsonb_typeof(result) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now()
);
