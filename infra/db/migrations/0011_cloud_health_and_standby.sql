-- Health and standby instances in the simulated cloud (ADR 0027): what deployment strategies watch (a canary's
-- health) and switch between (blue/green).

-- unhealthy_at is when it last turned unhealthy, kept when it recovers: "was it unhealthy at any moment since T?".
-- A constant default: existing rows are not rewritten.
ALTER TABLE cloud_resources
    ADD COLUMN health       text NOT NULL DEFAULT 'healthy' CHECK (health IN ('healthy', 'unhealthy')),
    ADD COLUMN unhealthy_at timestamptz;

-- At most one standby instance per resource, holding what differs per instance. green: staged, not serving yet;
-- blue: the instance that served before a switch. Goes with its resource (the foreign key cascades), so a
-- standby never outlives what it stands beside.
CREATE TABLE cloud_standby (
    tenant_id            text NOT NULL,
    resource_identifier  text NOT NULL,
    role                 text NOT NULL CHECK (role IN ('green', 'blue')),
    provider_resource_id text NOT NULL CHECK (provider_resource_id <> ''),
    properties           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(properties) = 'object'),
    tags                 jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(tags) = 'object'),
    health               text NOT NULL DEFAULT 'healthy' CHECK (health IN ('healthy', 'unhealthy')),
    unhealthy_at         timestamptz,
    deployment_id        uuid,
    stack                text CHECK (stack <> ''),
    dependencies         text[] NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, resource_identifier),
    FOREIGN KEY (tenant_id, resource_identifier) REFERENCES cloud_resources (tenant_id, resource_identifier)
        ON DELETE CASCADE
);
CREATE TRIGGER cloud_standby_touch BEFORE UPDATE ON cloud_standby
    FOR EACH ROW EXECUTE FUNCTION orch_touch_updated_at();

-- Health is what the cloud observes, not what a deployment wrote: a write that changes only the health keeps the
-- version, so an undo still recognises the record its deployment left (a canary marked unhealthy is rolled back).
-- Any other write, even one that changes nothing, bumps it as before.
DROP TRIGGER cloud_resources_version ON cloud_resources;
CREATE TRIGGER cloud_resources_version BEFORE UPDATE ON cloud_resources
    FOR EACH ROW WHEN (
        (to_jsonb(OLD) - 'health' - 'unhealthy_at' - 'updated_at' - 'version')
            IS DISTINCT FROM (to_jsonb(NEW) - 'health' - 'unhealthy_at' - 'updated_at' - 'version')
        OR (OLD.health = NEW.health AND OLD.unhealthy_at IS NOT DISTINCT FROM NEW.unhealthy_at))
    EXECUTE FUNCTION orch_bump_version();
