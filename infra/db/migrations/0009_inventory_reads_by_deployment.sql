-- Inventory reads follow the deployment, not the tenant (ADR 0023): every query a plan, a drift scan or the console
-- makes names a deployment, a stack or identifiers, and walks an index in identifier order so it can be paged.

-- A deployment's records in identifier order (drift scan pages, the console's per-deployment listing). Replaces the
-- index on deployment_id alone, whose rows came back unordered.
CREATE INDEX cloud_resources_deployment_identifier_idx ON cloud_resources (deployment_id, resource_identifier)
    WHERE deployment_id IS NOT NULL;
DROP INDEX cloud_resources_deployment_idx;

-- Records nobody deployed (made in a console) in one provider and region: a drift scan reports those in its
-- deployment's scope as added. Partial, so the tenant's deployed records never enter it.
CREATE INDEX cloud_resources_unowned_scope_idx ON cloud_resources (tenant_id, provider, region, resource_identifier)
    WHERE deployment_id IS NULL;

-- Blast radius looks dependents up one identifier at a time in the GIN index on dependencies. With fastupdate on,
-- recent inserts wait in a pending list (up to 4 MB) that every lookup scans in full: ~1 ms each, whatever the plan's
-- size. Records are written one at a time, so writing each into the index directly costs little.
ALTER INDEX cloud_resources_dependencies_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('cloud_resources_dependencies_idx'::regclass);
