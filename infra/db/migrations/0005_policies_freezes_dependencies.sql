-- Tenant policy sets, change-freeze windows, and the dependencies of applied resources (cross-stack references and
-- blast radius read them; ADR 0015).

CREATE TABLE policies (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL CHECK (tenant_id <> ''),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    environments text[] NOT NULL DEFAULT '{}',
    enforcement text NOT NULL CHECK (enforcement IN ('advisory', 'soft_mandatory', 'mandatory')),
    rule        jsonb NOT NULL CHECK (jsonb_typeof(rule) = 'object'),
    created_by  text NOT NULL CHECK (created_by <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policies_name_key UNIQUE (tenant_id, name)
);
-- Tenants whose default policy set (the built-in rules) was written: once, so deleting a default keeps it deleted.
CREATE TABLE policy_defaults (
    tenant_id  text PRIMARY KEY CHECK (tenant_id <> ''),
    seeded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER policies_touch BEFORE UPDATE ON policies FOR EACH ROW EXECUTE FUNCTION orch_touch_updated_at();

CREATE TABLE freeze_windows (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL CHECK (tenant_id <> ''),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    environments     text[] NOT NULL DEFAULT '{}',
    reason           text NOT NULL CHECK (reason <> ''),
    mode             text NOT NULL CHECK (mode IN ('block', 'queue')),
    starts_at        timestamptz,
    ends_at          timestamptz,
    cron             text,
    duration_minutes integer CHECK (duration_minutes > 0),
    timezone         text,
    created_by       text NOT NULL CHECK (created_by <> ''),
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Exactly one kind: a one-off window (start, end) or a recurring one (cron, duration, time zone).
    CHECK ((starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at AND cron IS NULL)
           OR (cron IS NOT NULL AND duration_minutes IS NOT NULL AND timezone IS NOT NULL AND starts_at IS NULL)),
    CONSTRAINT freeze_windows_name_key UNIQUE (tenant_id, name)
);

-- What each applied resource depends on (identifiers, possibly in other stacks), as its spec said.
ALTER TABLE cloud_resources ADD COLUMN dependencies text[] NOT NULL DEFAULT '{}';
CREATE INDEX cloud_resources_dependencies_idx ON cloud_resources USING gin (dependencies);

-- An admin's override of soft-mandatory findings (or a freeze), kept with the approval record.
ALTER TABLE deployments ADD COLUMN override_reason text, ADD COLUMN overridden_by text;
