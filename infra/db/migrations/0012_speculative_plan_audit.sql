-- Speculative plans (POST /api/v1/plans) store no plan, claim nothing and start no workflow: each request leaves
-- only this record of who asked what of which stack, and what the answer came to. The intent itself is not kept
-- (its properties may hold secrets); `actor` is the username, `actor_id` the user's id; `by_action` counts the plan's
-- steps by action.

CREATE TABLE plan_audit (
    id                     uuid PRIMARY KEY,
    tenant_id              text NOT NULL CHECK (tenant_id <> ''),
    at                     timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id               text NOT NULL CHECK (actor_id <> ''),
    actor                  text NOT NULL CHECK (actor <> ''),
    stack                  text NOT NULL CHECK (stack <> ''),
    environment            text NOT NULL CHECK (environment <> ''),
    plan_id                text NOT NULL,
    by_action              jsonb NOT NULL CHECK (jsonb_typeof(by_action) = 'object'),
    has_changes            boolean NOT NULL,
    blocked                boolean NOT NULL,
    estimated_monthly_cost numeric(14, 2) NOT NULL CHECK (estimated_monthly_cost >= 0),
    risk                   text NOT NULL,
    correlation_id         text
);
CREATE INDEX plan_audit_tenant_at_idx ON plan_audit (tenant_id, at DESC);
-- An audit record, like deployment_events: the application appends, never rewrites.
CREATE TRIGGER plan_audit_no_update_delete BEFORE UPDATE OR DELETE ON plan_audit
    FOR EACH ROW EXECUTE FUNCTION orch_reject_change();
CREATE TRIGGER plan_audit_no_truncate BEFORE TRUNCATE ON plan_audit
    FOR EACH STATEMENT EXECUTE FUNCTION orch_reject_change();
