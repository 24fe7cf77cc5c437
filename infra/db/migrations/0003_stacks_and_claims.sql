-- Ownership by stack: every inventory record names the stack (the deployment name within its tenant) that owns it,
-- and carries a version that every write bumps, so apply and undo can tell whether anybody changed it since.
-- Claims: the resources an in-flight deployment's plan touches, one holder per resource.

ALTER TABLE cloud_resources
    ADD COLUMN stack   text CHECK (stack <> ''),
    ADD COLUMN version bigint NOT NULL DEFAULT 1 CHECK (version >= 1);

-- Records written before stacks existed belong to the stack of the deployment that last wrote them.
UPDATE cloud_resources r SET stack = d.name FROM deployments d WHERE d.id = r.deployment_id;

CREATE INDEX cloud_resources_stack_idx ON cloud_resources (tenant_id, stack) WHERE stack IS NOT NULL;

CREATE FUNCTION orch_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$;
CREATE TRIGGER cloud_resources_version BEFORE UPDATE ON cloud_resources
    FOR EACH ROW EXECUTE FUNCTION orch_bump_version();

-- The stack a step applies for, so a step task knows it without loading its deployment.
ALTER TABLE deployment_steps ADD COLUMN stack text CHECK (stack <> '');
UPDATE deployment_steps s SET stack = d.name FROM deployments d WHERE d.id = s.deployment_id;

CREATE TABLE resource_claims (
    tenant_id           text NOT NULL CHECK (tenant_id <> ''),
    resource_identifier text NOT NULL CHECK (resource_identifier <> ''),
    deployment_id       uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    claimed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, resource_identifier)
);
CREATE INDEX resource_claims_deployment_idx ON resource_claims (deployment_id);
