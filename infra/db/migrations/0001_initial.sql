-- Initial schema: users, deployments and their steps, the append-only audit trail, drift reports, the simulated
-- cloud inventory and fencing tokens. Applied in one transaction by orchestrator.adapters.postgres.migrations.
-- Enumerated values (status, role, severity, ...) are validated by the domain; the database only rejects empty
-- or malformed values so that adding a status does not need a migration.

CREATE FUNCTION orch_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE FUNCTION orch_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Users ---------------------------------------------------------------------------------------------------------

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     text NOT NULL CHECK (tenant_id <> ''),
    username      text NOT NULL CHECK (username <> ''),
    email         text NOT NULL CHECK (position('@' IN email) > 1),
    password_hash text NOT NULL CHECK (password_hash <> ''),
    role          text NOT NULL CHECK (role <> ''),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Login is by username alone, so usernames are unique across tenants, case-insensitively.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_tenant_idx ON users (tenant_id);
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION orch_touch_updated_at();

-- Deployments ---------------------------------------------------------------------------------------------------

CREATE TABLE deployments (
    id                    uuid PRIMARY KEY,
    tenant_id             text NOT NULL CHECK (tenant_id <> ''),
    name                  text NOT NULL CHECK (name <> ''),
    description           text NOT NULL DEFAULT '',
    environment           text NOT NULL CHECK (environment <> ''),
    strategy              text NOT NULL CHECK (strategy <> ''),
    status                text NOT NULL CHECK (status <> ''),
    intent                jsonb NOT NULL CHECK (jsonb_typeof(intent) = 'object'),
    plan                  jsonb,
    execution_arn         text,
    approval_task_token   text,
    approval_required     boolean NOT NULL DEFAULT false,
    approval_requested_at timestamptz,
    decided_by            text,
    decided_at            timestamptz,
    approval_comment      text,
    initiated_by          text NOT NULL CHECK (initiated_by <> ''),
    -- Optimistic concurrency: writers update WHERE version = <read version> and bump it.
    version               integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    error_message         text,
    idempotency_key       text CHECK (idempotency_key <> ''),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- NULL keys are distinct: only creations that carried an Idempotency-Key are deduplicated.
    CONSTRAINT deployments_idempotency_key UNIQUE (tenant_id, idempotency_key)
);
COMMENT ON COLUMN deployments.approval_task_token IS
    'Step Functions task token of the pending approval. A credential: never returned by the API nor logged.';
CREATE INDEX deployments_tenant_created_idx ON deployments (tenant_id, created_at DESC, id DESC);
CREATE INDEX deployments_tenant_status_idx ON deployments (tenant_id, status, created_at DESC);
CREATE TRIGGER deployments_touch BEFORE UPDATE ON deployments
    FOR EACH ROW EXECUTE FUNCTION orch_touch_updated_at();

CREATE TABLE deployment_steps (
    deployment_id        uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    step_id              text NOT NULL CHECK (step_id <> ''),
    wave                 integer NOT NULL CHECK (wave >= 0),
    name                 text NOT NULL CHECK (name <> ''),
    action               text NOT NULL CHECK (action <> ''),
    resource_identifier  text NOT NULL CHECK (resource_identifier <> ''),
    provider             text NOT NULL CHECK (provider <> ''),
    resource_type        text NOT NULL CHECK (resource_type <> ''),
    status               text NOT NULL CHECK (status <> ''),
    attempt              integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    -- Deterministic per (deployment, step, action): a retried Lambda finds its earlier result instead of
    -- applying twice.
    idempotency_key      text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    result               jsonb,
    provider_resource_id text,
    error_message        text,
    started_at           timestamptz,
    finished_at          timestamptz,
    duration_seconds     double precision CHECK (duration_seconds >= 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deployment_id, step_id),
    CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX deployment_steps_wave_idx ON deployment_steps (deployment_id, wave);
CREATE INDEX deployment_steps_resource_idx ON deployment_steps (resource_identifier);
CREATE TRIGGER deployment_steps_touch BEFORE UPDATE ON deployment_steps
    FOR EACH ROW EXECUTE FUNCTION orch_touch_updated_at();

-- Audit trail: append-only ----------------------------------------------------------------------------------------

CREATE TABLE deployment_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- No ON DELETE action: a deployment with an audit trail cannot be deleted.
    deployment_id  uuid NOT NULL REFERENCES deployments (id),
    tenant_id      text NOT NULL CHECK (tenant_id <> ''),
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    type           text NOT NULL CHECK (type <> ''),
    actor          text NOT NULL CHECK (actor <> ''),
    from_status    text,
    to_status      text,
    detail         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(detail) = 'object'),
    correlation_id text
);
CREATE INDEX deployment_events_deployment_idx ON deployment_events (deployment_id, id);
CREATE INDEX deployment_events_tenant_at_idx ON deployment_events (tenant_id, at DESC);
-- Triggers stop the application role from rewriting history by mistake or through a bug. A table owner can
-- still disable them: separate the owner from the application role in production to make this a guarantee.
CREATE TRIGGER deployment_events_no_update_delete BEFORE UPDATE OR DELETE ON deployment_events
    FOR EACH ROW EXECUTE FUNCTION orch_reject_change();
CREATE TRIGGER deployment_events_no_truncate BEFORE TRUNCATE ON deployment_events
    FOR EACH STATEMENT EXECUTE FUNCTION orch_reject_change();

-- Drift --------------------------------------------------------------------------------------------------------------

CREATE TABLE drift_reports (
    id                 uuid PRIMARY KEY,
    tenant_id          text NOT NULL CHECK (tenant_id <> ''),
    -- NULL for a tenant-wide scan.
    deployment_id      uuid REFERENCES deployments (id),
    status             text NOT NULL CHECK (status <> ''),
    resources_scanned  integer NOT NULL DEFAULT 0 CHECK (resources_scanned >= 0),
    drift_count        integer NOT NULL DEFAULT 0 CHECK (drift_count >= 0),
    summary            jsonb NOT NULL DEFAULT '{}'::jsonb,
    error_message      text,
    started_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_reports_tenant_started_idx ON drift_reports (tenant_id, started_at DESC);
CREATE INDEX drift_reports_deployment_idx ON drift_reports (deployment_id) WHERE deployment_id IS NOT NULL;

CREATE TABLE drift_items (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id           uuid NOT NULL REFERENCES drift_reports (id) ON DELETE CASCADE,
    tenant_id           text NOT NULL CHECK (tenant_id <> ''),
    resource_identifier text NOT NULL CHECK (resource_identifier <> ''),
    provider            text,
    resource_type       text,
    severity            text NOT NULL CHECK (severity <> ''),
    drift_type          text NOT NULL CHECK (drift_type <> ''),
    -- '' when the whole resource drifted (missing, unmanaged).
    property_path       text NOT NULL DEFAULT '',
    expected            jsonb,
    actual              jsonb,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_items_report_idx ON drift_items (report_id);
CREATE INDEX drift_items_resource_idx ON drift_items (tenant_id, resource_identifier);

-- Simulated cloud inventory -----------------------------------------------------------------------------------------
-- Stands in for the providers' APIs, so it deliberately has no foreign key into the orchestrator's tables:
-- drift scans must be able to find resources that no deployment knows about.

CREATE TABLE cloud_resources (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id            text NOT NULL CHECK (tenant_id <> ''),
    provider             text NOT NULL CHECK (provider <> ''),
    region               text NOT NULL CHECK (region <> ''),
    resource_type        text NOT NULL CHECK (resource_type <> ''),
    name                 text NOT NULL CHECK (name <> ''),
    resource_identifier  text NOT NULL CHECK (resource_identifier <> ''),
    provider_resource_id text NOT NULL CHECK (provider_resource_id <> ''),
    properties           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(properties) = 'object'),
    tags                 jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(tags) = 'object'),
    -- The deployment that last wrote the resource; NULL for resources created outside the orchestrator.
    deployment_id        uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cloud_resources_identifier_key UNIQUE (tenant_id, resource_identifier)
);
CREATE INDEX cloud_resources_tenant_type_idx ON cloud_resources (tenant_id, provider, resource_type);
CREATE INDEX cloud_resources_provider_id_idx ON cloud_resources (provider, provider_resource_id);
CREATE INDEX cloud_resources_deployment_idx ON cloud_resources (deployment_id) WHERE deployment_id IS NOT NULL;
CREATE TRIGGER cloud_resources_touch BEFORE UPDATE ON cloud_resources
    FOR EACH ROW EXECUTE FUNCTION orch_touch_updated_at();

-- Fencing tokens ----------------------------------------------------------------------------------------------------
-- The newest fencing token used for writes under each lock (see orchestrator.adapters.postgres.fencing). A writer
-- whose Redis lock expired carries an older token than the next holder's, and its write is rejected.

CREATE TABLE lock_fences (
    lock_name  text PRIMARY KEY CHECK (lock_name <> ''),
    fence      bigint NOT NULL CHECK (fence > 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
