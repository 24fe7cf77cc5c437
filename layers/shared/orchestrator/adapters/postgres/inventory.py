"""PostgreSQL adapters of the Inventory and ResultStore ports: the simulated cloud's state and its operation log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from orchestrator.domain.resources import CloudResource, Health, StandbyResource, StandbyRole
from orchestrator.planning.blast import Dependent

from .pool import Database
from .repositories import is_uuid

# resource_identifier is derived by the model (and ignored when read); selected so reads can order by it.
_COLUMNS = """id::text, tenant_id, provider, region, resource_type, name, provider_resource_id, properties, tags,
    deployment_id::text, stack, version, dependencies, health, unhealthy_at, created_at, updated_at,
    resource_identifier"""

# What differs between a record's serving and standby instances (both tables have these columns).
_INSTANCE = "provider_resource_id, properties, tags, health, unhealthy_at, deployment_id, stack, dependencies"
_SET_INSTANCE = ", ".join(f"{column} = %({column})s" for column in _INSTANCE.split(", "))

# A standby instance shaped as a record: the address, id and version are its record's.
_STANDBY_COLUMNS = """r.id::text, r.tenant_id, r.provider, r.region, r.resource_type, r.name, s.provider_resource_id,
    s.properties, s.tags, s.deployment_id::text, s.stack, r.version, s.dependencies, s.health, s.unhealthy_at,
    s.created_at, s.updated_at, s.role, r.resource_identifier"""
_STANDBY_JOIN = """cloud_standby s JOIN cloud_resources r
    ON r.tenant_id = s.tenant_id AND r.resource_identifier = s.resource_identifier"""


_UPSERT = f"""
    INSERT INTO cloud_resources (id, tenant_id, provider, region, resource_type, name, resource_identifier,
                                 provider_resource_id, properties, tags, deployment_id, stack, dependencies,
                                 health, unhealthy_at, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (tenant_id, resource_identifier) DO UPDATE SET
        provider_resource_id = EXCLUDED.provider_resource_id, properties = EXCLUDED.properties,
        tags = EXCLUDED.tags, deployment_id = EXCLUDED.deployment_id, stack = EXCLUDED.stack,
        dependencies = EXCLUDED.dependencies, health = EXCLUDED.health, unhealthy_at = EXCLUDED.unhealthy_at
    RETURNING {_COLUMNS}"""


def _resource(row: dict[str, Any]) -> CloudResource:
    return CloudResource.model_validate(row)


def _instance(row: dict[str, Any]) -> dict[str, Any]:
    """An instance's columns as parameters for writing them to the other table."""
    return {**{column: row[column] for column in _INSTANCE.split(", ")},
            "properties": Jsonb(row["properties"]), "tags": Jsonb(row["tags"])}


class PgInventory:
    def __init__(self, db: Database):
        self._db = db

    def _one(self, sql: str, args: tuple) -> CloudResource | None:
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(sql, args).fetchone()
        return _resource(row) if row else None

    def get(self, tenant_id: str, identifier: str) -> CloudResource | None:
        return self._one(f"SELECT {_COLUMNS} FROM cloud_resources WHERE tenant_id = %s AND resource_identifier = %s",
                         (tenant_id, identifier))

    def get_by_id(self, tenant_id: str, resource_id: str) -> CloudResource | None:
        if not is_uuid(resource_id):
            return None
        return self._one(f"SELECT {_COLUMNS} FROM cloud_resources WHERE tenant_id = %s AND id = %s",
                         (tenant_id, resource_id))

    def upsert(self, resource: CloudResource) -> CloudResource:
        args = (resource.id, resource.tenant_id, resource.provider.value, resource.region,
                resource.resource_type.value, resource.name, resource.identifier, resource.provider_resource_id,
                Jsonb(resource.properties), Jsonb(resource.tags), resource.deployment_id, resource.stack,
                resource.dependencies, resource.health, resource.unhealthy_at, resource.created_at)
        try:
            stored = self._one(_UPSERT, args)
        except psycopg.errors.UniqueViolation as exc:
            # ON CONFLICT only absorbs conflicts on the identifier. Two writers creating one record at once (same
            # deterministic id) can also collide on the primary key, which is checked first: the loser fails here
            # once the winner has committed, and its retry now finds the row and updates it.
            if exc.diag.constraint_name != "cloud_resources_pkey":
                raise
            stored = self._one(_UPSERT, args)
        assert stored is not None
        return stored

    def delete(self, tenant_id: str, identifier: str) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute("DELETE FROM cloud_resources WHERE tenant_id = %s AND resource_identifier = %s",
                               (tenant_id, identifier))
            return cur.rowcount > 0

    def _many(self, sql: str, args: tuple | dict) -> list[CloudResource]:
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(sql, args).fetchall()
        return [_resource(r) for r in rows]

    def at(self, tenant_id: str, identifiers: list[str]) -> list[CloudResource]:
        if not identifiers:
            return []
        return self._many(f"""SELECT {_COLUMNS} FROM cloud_resources
                              WHERE tenant_id = %s AND resource_identifier = ANY(%s) ORDER BY resource_identifier""",
                          (tenant_id, identifiers))

    def list(self, tenant_id: str, deployment_id: str | None = None, *, after: str | None = None,
             limit: int | None = None) -> list[CloudResource]:
        """In identifier order from `after`: the unique (tenant, identifier) index, or with a deployment the
        (deployment, identifier) one, so a page costs its own rows whatever the tenant holds."""
        sql, args = f"SELECT {_COLUMNS} FROM cloud_resources WHERE tenant_id = %s", [tenant_id]
        if deployment_id is not None:
            if not is_uuid(deployment_id):
                return []
            sql += " AND deployment_id = %s"
            args.append(deployment_id)
        if after is not None:
            sql += " AND resource_identifier > %s"
            args.append(after)
        sql += " ORDER BY resource_identifier"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        return self._many(sql, tuple(args))

    def for_stack(self, tenant_id: str, stack: str, identifiers: list[str]) -> list[CloudResource]:
        """What a plan of `stack` needs: the records it owns and those at the identifiers its intent names (by index,
        never the tenant's whole inventory)."""
        return self._many(f"""
            SELECT {_COLUMNS} FROM cloud_resources WHERE tenant_id = %s AND stack = %s
            UNION
            SELECT {_COLUMNS} FROM cloud_resources WHERE tenant_id = %s AND resource_identifier = ANY(%s)
            ORDER BY 1""", (tenant_id, stack, tenant_id, identifiers))

    def drift_candidates(self, tenant_id: str, deployment_id: str, scopes: list[tuple[str, str]], *,
                         after: str | None = None, limit: int = 500) -> list[CloudResource]:
        """Records the deployment owns, and records nobody owns in its (provider, region) scopes: one index range
        each (deployment's, and per scope the partial index of unowned records), merged in identifier order."""
        if not is_uuid(deployment_id):
            return []
        after = after or ""
        providers = [provider for provider, _ in scopes]
        regions = [region for _, region in scopes]
        return self._many(f"""
            (SELECT {_COLUMNS} FROM cloud_resources
             WHERE deployment_id = %(deployment)s AND tenant_id = %(tenant)s AND resource_identifier > %(after)s
             ORDER BY resource_identifier LIMIT %(limit)s)
            UNION ALL
            (SELECT c.* FROM unnest(%(providers)s::text[], %(regions)s::text[]) AS s(provider, region)
             CROSS JOIN LATERAL (
                SELECT {_COLUMNS} FROM cloud_resources r
                WHERE r.tenant_id = %(tenant)s AND r.deployment_id IS NULL AND r.provider = s.provider
                  AND r.region = s.region AND r.resource_identifier > %(after)s
                ORDER BY r.resource_identifier LIMIT %(limit)s) c)
            ORDER BY resource_identifier LIMIT %(limit)s""",
                          {"deployment": deployment_id, "tenant": tenant_id, "after": after, "limit": limit,
                           "providers": providers, "regions": regions})

    def dependents(self, tenant_id: str, stack: str, identifiers: list[str]) -> list[Dependent]:
        """The records that depend, directly or through others, on what `stack` owns or on `identifiers`, with the
        environment of the run that wrote them. Walked in the database by the GIN index on dependencies, so a
        plan reads the dependents it can reach, never every record of the tenant that has dependencies."""
        with self._db.connection() as conn:
            rows = conn.execute("""
                WITH RECURSIVE reached(identifier) AS (
                    SELECT unnest(%(identifiers)s::text[])
                    UNION
                    SELECT resource_identifier FROM cloud_resources WHERE tenant_id = %(tenant)s AND stack = %(stack)s
                    UNION
                    SELECT c.resource_identifier FROM reached r
                    JOIN cloud_resources c ON c.dependencies @> ARRAY[r.identifier] AND c.tenant_id = %(tenant)s
                )
                SELECT c.resource_identifier, c.dependencies, c.provider, coalesce(d.environment, 'unknown'), c.stack
                FROM cloud_resources c LEFT JOIN deployments d ON d.id = c.deployment_id
                -- As an array, not a join: the planner cannot size a recursive result and would scan the table.
                WHERE c.tenant_id = %(tenant)s AND c.resource_identifier = ANY(ARRAY(SELECT identifier FROM reached))
                  AND c.dependencies <> '{}'""",
                                {"identifiers": identifiers, "tenant": tenant_id, "stack": stack}).fetchall()
        return [Dependent(*row) for row in rows]

    def patch(self, tenant_id: str, resource_id: str, properties: dict[str, Any] | None = None,
              tags: dict[str, str] | None = None, health: Health | None = None) -> CloudResource | None:
        if not is_uuid(resource_id):
            return None
        # SET reads the row as it was: unhealthy_at moves only when the health turns unhealthy.
        return self._one(f"""
            UPDATE cloud_resources SET properties = properties || %(properties)s, tags = coalesce(%(tags)s, tags),
                health = coalesce(%(health)s, health),
                unhealthy_at = CASE WHEN %(health)s = 'unhealthy' AND health = 'healthy' THEN now()
                                    ELSE unhealthy_at END
            WHERE tenant_id = %(tenant)s AND id = %(id)s RETURNING {_COLUMNS}""",
                         {"properties": Jsonb(properties or {}), "tags": Jsonb(tags) if tags is not None else None,
                          "health": health, "tenant": tenant_id, "id": resource_id})

    def unhealthy(self, tenant_id: str, identifiers: list[str], *, since: datetime | None = None,
                  standby: bool = False) -> list[str]:
        if not identifiers:
            return []
        table = "cloud_standby" if standby else "cloud_resources"
        with self._db.connection() as conn:
            rows = conn.execute(f"""
                SELECT i.identifier FROM unnest(%(identifiers)s::text[]) WITH ORDINALITY AS i(identifier, n)
                LEFT JOIN {table} c ON c.tenant_id = %(tenant)s AND c.resource_identifier = i.identifier
                WHERE c.resource_identifier IS NULL OR c.health = 'unhealthy' OR c.unhealthy_at >= %(since)s
                ORDER BY i.n""", {"identifiers": identifiers, "tenant": tenant_id, "since": since}).fetchall()
        return [identifier for (identifier,) in rows]

    def standby(self, tenant_id: str, identifier: str) -> StandbyResource | None:
        found = self.standbys_at(tenant_id, [identifier])
        return found[0] if found else None

    def standbys_at(self, tenant_id: str, identifiers: list[str]) -> list[StandbyResource]:
        if not identifiers:
            return []
        with self._db.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(f"""
                SELECT {_STANDBY_COLUMNS} FROM {_STANDBY_JOIN}
                WHERE s.tenant_id = %s AND s.resource_identifier = ANY(%s) ORDER BY s.resource_identifier""",
                                                             (tenant_id, identifiers)).fetchall()
        return [StandbyResource.model_validate(row) for row in rows]

    def add_standby(self, standby: StandbyResource) -> StandbyResource | None:
        args = {**_instance(standby.model_dump()), "role": standby.role, "tenant": standby.tenant_id,
                "identifier": standby.identifier, "created_at": standby.created_at}
        try:
            with self._db.connection() as conn:
                row = conn.cursor(row_factory=dict_row).execute(f"""
                    WITH s AS (
                        INSERT INTO cloud_standby (tenant_id, resource_identifier, role, {_INSTANCE}, created_at)
                        SELECT tenant_id, resource_identifier, %(role)s::text, %(provider_resource_id)s::text,
                               %(properties)s, %(tags)s, %(health)s::text, %(unhealthy_at)s::timestamptz,
                               %(deployment_id)s::uuid, %(stack)s::text, %(dependencies)s::text[],
                               %(created_at)s::timestamptz
                        FROM cloud_resources WHERE tenant_id = %(tenant)s AND resource_identifier = %(identifier)s
                        ON CONFLICT (tenant_id, resource_identifier) DO NOTHING
                        RETURNING *)
                    SELECT {_STANDBY_COLUMNS} FROM s JOIN cloud_resources r
                        ON r.tenant_id = s.tenant_id AND r.resource_identifier = s.resource_identifier""",
                                                            args).fetchone()
        except psycopg.errors.ForeignKeyViolation:
            return None  # the record was deleted between this statement's read and its insert
        return StandbyResource.model_validate(row) if row else None

    def swap_standby(self, tenant_id: str, identifier: str, role: StandbyRole) -> tuple[CloudResource,
                                                                                        StandbyResource] | None:
        key = {"tenant": tenant_id, "identifier": identifier}
        where = "WHERE tenant_id = %(tenant)s AND resource_identifier = %(identifier)s"
        with self._db.transaction() as conn:
            cur = conn.cursor(row_factory=dict_row)
            # Lock order: the record, then its standby, the order in which deleting the record (cascading to the
            # standby) takes them. Readers never wait: they see the instances before the swap or after it.
            serving = cur.execute(f"SELECT {_INSTANCE} FROM cloud_resources {where} FOR UPDATE", key).fetchone()
            staged = cur.execute(f"SELECT {_INSTANCE}, role FROM cloud_standby {where} FOR UPDATE", key).fetchone()
            if serving is None or staged is None or staged["role"] != role:
                return None
            promoted = cur.execute(f"UPDATE cloud_resources SET {_SET_INSTANCE} {where} RETURNING {_COLUMNS}",
                                   {**_instance(staged), **key}).fetchone()
            demoted = cur.execute(f"""
                UPDATE cloud_standby SET {_SET_INSTANCE}, role = %(role)s, created_at = now() {where}
                RETURNING role, {_INSTANCE}, created_at, updated_at""",
                                  {**_instance(serving), **key, "role": "blue" if role == "green" else "green"}
                                  ).fetchone()
        resource = _resource(promoted)
        return resource, StandbyResource.model_validate({
            **resource.model_dump(), **demoted,
            "deployment_id": str(demoted["deployment_id"]) if demoted["deployment_id"] else None})

    def delete_standby(self, tenant_id: str, identifier: str) -> StandbyResource | None:
        with self._db.connection() as conn:
            row = conn.cursor(row_factory=dict_row).execute(f"""
                WITH s AS (DELETE FROM cloud_standby WHERE tenant_id = %s AND resource_identifier = %s RETURNING *)
                SELECT {_STANDBY_COLUMNS} FROM s JOIN cloud_resources r
                    ON r.tenant_id = s.tenant_id AND r.resource_identifier = s.resource_identifier""",
                                                            (tenant_id, identifier)).fetchone()
        return StandbyResource.model_validate(row) if row else None


class PgResultStore:
    """First result wins: concurrent repeats of one key all read the row the first insert wrote."""

    def __init__(self, db: Database):
        self._db = db

    def get(self, key: str) -> dict[str, Any] | None:
        with self._db.connection() as conn:
            row = conn.execute("SELECT result FROM provider_operations WHERE idempotency_key = %s",
                               (key,)).fetchone()
        return row[0] if row else None

    def put_if_absent(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        with self._db.connection() as conn:
            row = conn.execute("""
                WITH inserted AS (
                    INSERT INTO provider_operations (idempotency_key, result) VALUES (%s, %s)
                    ON CONFLICT (idempotency_key) DO NOTHING RETURNING result
                )
                SELECT result FROM inserted""", (key, Jsonb(result))).fetchone()
            if row is None:
                # Lost the race: the winner committed after this statement's snapshot, so read it afresh.
                row = conn.execute("SELECT result FROM provider_operations WHERE idempotency_key = %s",
                                   (key,)).fetchone()
        return row[0]
