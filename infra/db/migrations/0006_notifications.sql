-- Notification destinations (webhooks) of a tenant and the last outcomes of their deliveries. The HMAC secret is
-- kept so deliveries can be signed (ADR 0021); the API shows it only in the creation's answer.

CREATE TABLE notification_destinations (
    id         uuid PRIMARY KEY,
    tenant_id  text NOT NULL CHECK (tenant_id <> ''),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    url        text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    format     text NOT NULL CHECK (format IN ('generic', 'slack')),
    events     text[] NOT NULL CHECK (cardinality(events) > 0),
    secret     text NOT NULL CHECK (length(secret) >= 32),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_destinations_tenant ON notification_destinations (tenant_id, created_at DESC);

CREATE TABLE notification_deliveries (
    id             uuid PRIMARY KEY,
    destination_id uuid NOT NULL REFERENCES notification_destinations (id) ON DELETE CASCADE,
    event          text NOT NULL,
    deployment_id  text,
    outcome        text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'refused')),
    attempts       integer NOT NULL CHECK (attempts >= 0),
    status_code    integer,
    error          text,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_deliveries_destination ON notification_deliveries (destination_id, at DESC);
