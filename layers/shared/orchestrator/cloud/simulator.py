"""The simulated cloud provider: apply, destroy, read and verify resources against the inventory, as a cloud would.

Behaviour a workflow relies on:
- Idempotency. Apply and destroy record their outcome under the step's idempotency key (first result wins); a repeat
  returns that first outcome and touches nothing. A failed attempt records nothing, so its retry really runs.
  Concurrent calls for one resource are serialised in-process, as a cloud serialises mutations of one resource, so
  racing repeats of a key find the first outcome instead of writing twice.
- Provider-style ids, deterministic from the tenant and the resource identifier (an AWS account, Azure subscription
  and GCP project per tenant), assigned at creation and kept by updates.
- Computed attributes (endpoints, IPs, host names) are returned in `ApplyOutcome.computed` and never stored in the
  resource's properties: the properties stay exactly what the user asked for, so drift detection and the plan's diff
  compare like with like. They are derived, not stored, so `computed_attributes` can recompute them at any time.
- Fault injection through the `simulate` property, which is an instruction and never stored:
  `{"fail_apply": N}` fails attempts 1..N (`"always"`: every attempt), `{"latency_ms": n}` sleeps n ms per attempt
  through the injected `sleep`, `{"fail_verify": true}` fails verification, `{"unhealthy": true}` leaves the
  instance unhealthy (an apply without it leaves it healthy).
- Health: every instance is healthy or unhealthy; `unhealthy_at` is when it last turned unhealthy, kept when it
  recovers, so `unhealthy(since=T)` also names what was unhealthy for a moment since T.
- Standby instances (blue/green, ADR 0027): `create_standby` stages a green instance beside an existing resource,
  `switch` makes it serve in one transaction (the old instance stays as the blue standby), `switch_back` reverses
  that, `destroy_standby` removes the standby. All idempotent under their key, like apply and destroy. A standby's
  provider id is that of a resource named `<name>-g<6 hex of the key's digest>`, so each staging has its own id
  and a retry of one staging finds the instance it made.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.catalogue import Provider, ResourceType, resource_identifier
from ..domain.errors import ApplyFailed, ProviderError, VerificationFailed
from ..domain.intent import ResourceSpec
from ..domain.lifecycle import utcnow
from ..domain.resources import CloudResource, Health, StandbyResource
from ..drift.detector import property_differences
from ..ports.inventory import Inventory, ResultStore
from .naming import (
    azure_resource_group,
    azure_servicebus_namespace,
    azure_storage_account_name,
    cloud_properties,
    dns_domain,
    effective_region,
    gcp_zone,
    is_public,
    slug,
    suffixed,
)

_ID_NAMESPACE = uuid.UUID("5b0c7a4e-3f1d-4c59-9d1e-6a0f0e8b2c11")
_LOCK_STRIPES = 64


class ApplyOutcome(BaseModel):
    """What an apply step returns to the workflow (and what the result store keeps under its idempotency key)."""

    model_config = ConfigDict(frozen=True)

    operation: Literal["apply", "create_standby"] = "apply"
    identifier: str
    resource_id: str
    provider_resource_id: str
    action: Literal["created", "updated", "unchanged"]
    attempt: int
    computed: dict[str, Any] = Field(default_factory=dict)
    # The inventory record's version this apply left: an undo touches the record only while it still has it.
    version: int | None = None


class DestroyOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    operation: Literal["destroy"] = "destroy"
    identifier: str
    # None when the resource was already gone.
    provider_resource_id: str | None
    action: Literal["destroyed", "already_absent"]


class SwitchOutcome(BaseModel):
    """What `switch` and `switch_back` return: which instance serves now and which served before."""

    model_config = ConfigDict(frozen=True)

    operation: Literal["switch", "switch_back"]
    identifier: str
    # The provider id of the instance serving after the call.
    serving: str
    # The provider id of the instance that served before (now the standby); None when nothing changed.
    previous: str | None
    # The inventory record's version after the call.
    version: int
    action: Literal["switched", "unchanged"]


class StandbyDestroyOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    operation: Literal["destroy_standby"] = "destroy_standby"
    identifier: str
    # None when there was no standby.
    provider_resource_id: str | None
    role: Literal["green", "blue"] | None
    action: Literal["destroyed", "already_absent"]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The `simulate` property, read leniently: `validate_intent` has already rejected malformed values."""

    fail_apply: int | Literal["always"] = 0
    fail_verify: bool = False
    latency_ms: int = 0
    unhealthy: bool = False

    @classmethod
    def of(cls, properties: Mapping[str, Any]) -> FaultPlan:
        raw = properties.get("simulate")
        if not isinstance(raw, Mapping):
            return cls()
        fail_apply = raw.get("fail_apply", 0)
        latency = raw.get("latency_ms", 0)
        return cls(
            fail_apply=fail_apply if fail_apply == "always" or (type(fail_apply) is int and fail_apply > 0) else 0,
            fail_verify=raw.get("fail_verify") is True,
            latency_ms=latency if type(latency) is int and latency > 0 else 0,
            unhealthy=raw.get("unhealthy") is True,
        )

    def fails(self, attempt: int) -> bool:
        return self.fail_apply == "always" or attempt <= self.fail_apply


class SimulatedProvider:
    def __init__(self, inventory: Inventory, results: ResultStore, sleep: Callable[[float], None] = time.sleep):
        self._inventory = inventory
        self._results = results
        self._sleep = sleep
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    def apply(self, *, tenant_id: str, deployment_id: str, spec: ResourceSpec, idempotency_key: str,
              attempt: int, stack: str | None = None) -> ApplyOutcome:
        """Create the resource, or update it in place; raise `ApplyFailed` for an injected fault."""
        return self._once("apply", tenant_id, spec, idempotency_key, attempt,
                          lambda faults: self._apply(tenant_id, deployment_id, stack, spec, attempt))

    def _once(self, operation: str, tenant_id: str, spec: ResourceSpec, idempotency_key: str, attempt: int,
              run: Callable[[FaultPlan], ApplyOutcome]) -> ApplyOutcome:
        """`run` once per idempotency key, under the resource's lock, after the spec's injected latency and faults."""
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        identifier = spec.identifier
        if (first := self._replay(idempotency_key, operation, identifier)) is not None:
            return ApplyOutcome.model_validate(first)
        faults = FaultPlan.of(spec.properties)
        if faults.latency_ms:
            self._sleep(faults.latency_ms / 1000)
        if faults.fails(attempt):
            limit = "every attempt" if faults.fail_apply == "always" else f"attempts 1-{faults.fail_apply}"
            what = "apply" if operation == "apply" else "standby"
            raise ApplyFailed(f"{identifier}: simulated {what} failure on attempt {attempt} (fails {limit})")

        with self._lock(tenant_id, identifier):
            # A concurrent call with the same key may have finished while this one waited for the lock.
            if (first := self._replay(idempotency_key, operation, identifier)) is not None:
                return ApplyOutcome.model_validate(first)
            outcome = run(faults)
            stored = self._results.put_if_absent(idempotency_key, outcome.model_dump(mode="json"))
        return ApplyOutcome.model_validate(stored)

    def destroy(self, *, tenant_id: str, identifier: str, idempotency_key: str) -> DestroyOutcome:
        """Delete the resource. An absent resource is not an error: the goal, its absence, is reached."""
        if (first := self._replay(idempotency_key, "destroy", identifier)) is not None:
            return DestroyOutcome.model_validate(first)
        with self._lock(tenant_id, identifier):
            if (first := self._replay(idempotency_key, "destroy", identifier)) is not None:
                return DestroyOutcome.model_validate(first)
            existing = self._inventory.get(tenant_id, identifier)
            if existing is not None and self._inventory.delete(tenant_id, identifier):
                outcome = DestroyOutcome(identifier=identifier, provider_resource_id=existing.provider_resource_id,
                                         action="destroyed")
            else:
                outcome = DestroyOutcome(identifier=identifier, provider_resource_id=None, action="already_absent")
            stored = self._results.put_if_absent(idempotency_key, outcome.model_dump(mode="json"))
        return DestroyOutcome.model_validate(stored)

    def create_standby(self, *, tenant_id: str, deployment_id: str, spec: ResourceSpec, idempotency_key: str,
                       attempt: int, stack: str | None = None) -> ApplyOutcome:
        """Stage the green instance of an existing resource, as `spec` describes it, beside the serving one. Raise
        `ProviderError` when the resource does not exist or has a standby this key did not stage, `ApplyFailed` for
        an injected fault."""
        return self._once("create_standby", tenant_id, spec, idempotency_key, attempt,
                          lambda faults: self._create_standby(tenant_id, deployment_id, stack, spec, idempotency_key,
                                                              attempt, faults.unhealthy))

    def switch(self, *, tenant_id: str, identifier: str, idempotency_key: str) -> SwitchOutcome:
        """Make the green standby serve, atomically; the instance that served becomes the blue standby. Raise
        `ProviderError` when there is no green standby."""
        return self._switch("switch", tenant_id, identifier, idempotency_key)

    def switch_back(self, *, tenant_id: str, identifier: str, idempotency_key: str) -> SwitchOutcome:
        """Make the blue standby serve again, atomically; green becomes the standby again. Unchanged when blue
        already serves (the standby is green, or there is none)."""
        return self._switch("switch_back", tenant_id, identifier, idempotency_key)

    def destroy_standby(self, *, tenant_id: str, identifier: str, idempotency_key: str) -> StandbyDestroyOutcome:
        """Delete the standby instance, whatever its role. An absent standby is not an error."""
        if (first := self._replay(idempotency_key, "destroy_standby", identifier)) is not None:
            return StandbyDestroyOutcome.model_validate(first)
        with self._lock(tenant_id, identifier):
            if (first := self._replay(idempotency_key, "destroy_standby", identifier)) is not None:
                return StandbyDestroyOutcome.model_validate(first)
            removed = self._inventory.delete_standby(tenant_id, identifier)
            outcome = StandbyDestroyOutcome(
                identifier=identifier, provider_resource_id=removed.provider_resource_id if removed else None,
                role=removed.role if removed else None, action="destroyed" if removed else "already_absent")
            stored = self._results.put_if_absent(idempotency_key, outcome.model_dump(mode="json"))
        return StandbyDestroyOutcome.model_validate(stored)

    def read(self, tenant_id: str, identifier: str) -> CloudResource | None:
        return self._inventory.get(tenant_id, identifier)

    def serving(self, tenant_id: str, identifier: str) -> CloudResource | None:
        """The serving instance: the inventory record."""
        return self._inventory.get(tenant_id, identifier)

    def standby(self, tenant_id: str, identifier: str) -> StandbyResource | None:
        return self._inventory.standby(tenant_id, identifier)

    def unhealthy(self, tenant_id: str, identifiers: list[str], *, since: datetime | None = None,
                  standby: bool = False) -> list[str]:
        """The identifiers, in the given order, whose serving instance (standby: whose standby instance) is missing,
        unhealthy now, or (with `since`) turned unhealthy at or after `since`. One read."""
        return self._inventory.unhealthy(tenant_id, identifiers, since=since, standby=standby)

    def verify(self, *, tenant_id: str, spec: ResourceSpec) -> None:
        """Raise `VerificationFailed` unless the resource exists and holds exactly the spec's properties and tags."""
        self.verify_many(tenant_id=tenant_id, specs=[spec])

    def verify_many(self, *, tenant_id: str, specs: list[ResourceSpec], standby: bool = False) -> None:
        """`verify` for many resources, read in one go; raises for the first that fails. With `standby`, verify
        their standby instances instead, which must also be healthy."""
        identifiers = [spec.identifier for spec in specs]
        instances = self._inventory.standbys_at(tenant_id, identifiers) if standby else self._inventory.at(
            tenant_id, identifiers)
        found: dict[str, CloudResource] = {r.identifier: r for r in instances}
        for spec in specs:
            identifier = spec.identifier
            resource = found.get(identifier)
            if resource is None:
                raise VerificationFailed(f"{identifier} has no standby instance" if standby
                                         else f"{identifier} does not exist")
            if FaultPlan.of(spec.properties).fail_verify:
                raise VerificationFailed(f"{identifier}: simulated verification failure")
            differences = property_differences(cloud_properties(spec.properties), spec.tags, resource.properties,
                                               resource.tags)
            if differences:
                paths = ", ".join(path for path, _, _ in differences[:5])
                more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
                what = f"{identifier}'s standby instance" if standby else identifier
                raise VerificationFailed(f"{what} differs from its spec at {paths}{more}")
            if standby and resource.health == "unhealthy":
                raise VerificationFailed(f"{identifier}'s standby instance {resource.provider_resource_id} is "
                                         "unhealthy")

    # -----------------------------------------------------------------------------------------------------------------

    def _apply(self, tenant_id: str, deployment_id: str, stack: str | None, spec: ResourceSpec,
               attempt: int) -> ApplyOutcome:
        identifier = spec.identifier
        properties = cloud_properties(spec.properties)
        provider_id, computed = describe(tenant_id, spec.provider, spec.region, spec.resource_type, spec.name,
                                         properties)
        existing = self._inventory.get(tenant_id, identifier)
        health: Health = "unhealthy" if FaultPlan.of(spec.properties).unhealthy else "healthy"
        if existing is None:
            action: Literal["created", "updated", "unchanged"] = "created"
            stored = self._inventory.upsert(CloudResource(
                id=resource_uuid(tenant_id, identifier), tenant_id=tenant_id, provider=spec.provider,
                region=spec.region, resource_type=spec.resource_type, name=spec.name, provider_resource_id=provider_id,
                properties=properties, tags=dict(spec.tags), deployment_id=deployment_id, stack=stack,
                dependencies=[*spec.dependencies, *spec.references], health=health,
                unhealthy_at=_turned_unhealthy(None, health),
            ))
        elif (not property_differences(properties, spec.tags, existing.properties, existing.tags)
              and existing.deployment_id == deployment_id and existing.stack == stack
              and existing.dependencies == [*spec.dependencies, *spec.references] and existing.health == health):
            action, stored = "unchanged", existing
        else:
            # Updated in place: the cloud keeps the resource's id; the applying deployment's stack now owns it.
            action = "updated"
            stored = self._inventory.upsert(existing.model_copy(update={
                "properties": properties, "tags": dict(spec.tags), "deployment_id": deployment_id, "stack": stack,
                "dependencies": [*spec.dependencies, *spec.references], "updated_at": utcnow(), "health": health,
                "unhealthy_at": _turned_unhealthy(existing, health),
            }))
        return ApplyOutcome(identifier=identifier, resource_id=stored.id,
                            provider_resource_id=stored.provider_resource_id, action=action, attempt=attempt,
                            computed=computed, version=stored.version)

    def _create_standby(self, tenant_id: str, deployment_id: str, stack: str | None, spec: ResourceSpec, key: str,
                        attempt: int, unhealthy: bool) -> ApplyOutcome:
        identifier = spec.identifier
        existing = self._inventory.get(tenant_id, identifier)
        if existing is None:
            raise ProviderError(f"{identifier} does not exist: a standby instance stands beside an existing resource")
        properties = cloud_properties(spec.properties)
        provider_id, computed = standby_instance(tenant_id, spec, properties, key, existing.provider_resource_id)
        health: Health = "unhealthy" if unhealthy else "healthy"
        staged = self._inventory.add_standby(StandbyResource(
            id=existing.id, tenant_id=tenant_id, provider=spec.provider, region=spec.region,
            resource_type=spec.resource_type, name=spec.name, provider_resource_id=provider_id, properties=properties,
            tags=dict(spec.tags), deployment_id=deployment_id, stack=stack,
            dependencies=[*spec.dependencies, *spec.references], health=health,
            unhealthy_at=_turned_unhealthy(None, health), role="green",
        ))
        if staged is None:
            current = self._inventory.standby(tenant_id, identifier)
            if current is None:
                raise ProviderError(f"{identifier} was deleted while its standby instance was being staged")
            # The same provider id: an earlier attempt under this key staged it, then failed to record its outcome.
            if current.provider_resource_id != provider_id or current.role != "green":
                raise ProviderError(f"{identifier} already has a {current.role} standby instance "
                                    f"({current.provider_resource_id}); destroy it first")
        return ApplyOutcome(operation="create_standby", identifier=identifier, resource_id=existing.id,
                            provider_resource_id=provider_id, action="created", attempt=attempt, computed=computed)

    def _switch(self, operation: Literal["switch", "switch_back"], tenant_id: str, identifier: str,
                key: str) -> SwitchOutcome:
        if (first := self._replay(key, operation, identifier)) is not None:
            return SwitchOutcome.model_validate(first)
        with self._lock(tenant_id, identifier):
            if (first := self._replay(key, operation, identifier)) is not None:
                return SwitchOutcome.model_validate(first)
            swapped = self._inventory.swap_standby(tenant_id, identifier, "green" if operation == "switch" else "blue")
            if swapped is not None:
                serving, standby = swapped
                outcome = SwitchOutcome(operation=operation, identifier=identifier,
                                        serving=serving.provider_resource_id,
                                        previous=standby.provider_resource_id, version=serving.version,
                                        action="switched")
            else:
                outcome = self._not_switched(operation, tenant_id, identifier)
            stored = self._results.put_if_absent(key, outcome.model_dump(mode="json"))
        return SwitchOutcome.model_validate(stored)

    def _not_switched(self, operation: Literal["switch", "switch_back"], tenant_id: str,
                      identifier: str) -> SwitchOutcome:
        """Why a swap found nothing to swap: an error for `switch`, the goal already reached for `switch_back`."""
        serving = self._inventory.get(tenant_id, identifier)
        if serving is None:
            raise ProviderError(f"{identifier} does not exist")
        standby = self._inventory.standby(tenant_id, identifier)
        if operation == "switch":
            state = f"its standby is {standby.role}, already switched" if standby else "it has no standby instance"
            raise ProviderError(f"cannot switch {identifier}: {state}; stage a green instance first")
        return SwitchOutcome(operation=operation, identifier=identifier, serving=serving.provider_resource_id,
                             previous=None, version=serving.version, action="unchanged")

    def _replay(self, key: str, operation: str, identifier: str) -> dict[str, Any] | None:
        first = self._results.get(key)
        if first is None:
            return None
        if first.get("operation") != operation or first.get("identifier") != identifier:
            raise ProviderError(f"idempotency key {key} already recorded {first.get('operation')} of "
                                f"{first.get('identifier')}; refusing to reuse it for {operation} of {identifier}")
        return first

    def _lock(self, tenant_id: str, identifier: str) -> threading.Lock:
        return self._locks[zlib.crc32(f"{tenant_id}\x00{identifier}".encode()) % _LOCK_STRIPES]


def expected_resource(spec: ResourceSpec, *, tenant_id: str, deployment_id: str | None) -> CloudResource:
    """The inventory record a successful apply of `spec` leaves behind: the baseline drift detection compares with."""
    properties = cloud_properties(spec.properties)
    provider_id, _ = describe(tenant_id, spec.provider, spec.region, spec.resource_type, spec.name, properties)
    return CloudResource(id=resource_uuid(tenant_id, spec.identifier), tenant_id=tenant_id, provider=spec.provider,
                         region=spec.region, resource_type=spec.resource_type, name=spec.name,
                         provider_resource_id=provider_id, properties=properties, tags=dict(spec.tags),
                         deployment_id=deployment_id)


def standby_instance(tenant_id: str, spec: ResourceSpec, properties: Mapping[str, Any], key: str,
                     serving_id: str) -> tuple[str, dict[str, Any]]:
    """(provider id, computed attributes) of the standby instance staged under `key`: those of a resource named
    `<name>-g<6 hex>` (63 characters at most), so every staging gets its own id in the provider's format. The few
    kinds whose id ignores the name (an Azure DNS zone is its domain) get the generation appended."""
    generation = f"g{_digest('standby-generation', key)[:6]}"
    provider_id, computed = describe(tenant_id, spec.provider, spec.region, spec.resource_type,
                                     suffixed(spec.name, generation), properties)
    return (provider_id if provider_id != serving_id else f"{provider_id}-{generation}"), computed


def _turned_unhealthy(before: CloudResource | None, health: Health) -> datetime | None:
    """The instance's `unhealthy_at` once it has `health`: now when it turns unhealthy, else what it was."""
    was = before.unhealthy_at if before is not None else None
    if health == "unhealthy" and (before is None or before.health == "healthy"):
        return utcnow()
    return was


def computed_attributes(resource: CloudResource) -> dict[str, Any]:
    return describe(resource.tenant_id, resource.provider, resource.region, resource.resource_type, resource.name,
                    resource.properties)[1]


def resource_uuid(tenant_id: str, identifier: str) -> str:
    """Deterministic, so two processes racing to create one resource write the same record."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{tenant_id}\x00{identifier}"))


# ---------------------------------------------------------------------------------------------------------------------
# Provider ids and computed attributes


def aws_account_id(tenant_id: str) -> str:
    return f"{int(_digest('aws-account', tenant_id)[:15], 16) % 10**12:012d}"


def azure_subscription_id(tenant_id: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"azure-subscription\x00{tenant_id}"))


def gcp_project_id(tenant_id: str) -> str:
    """6-30 characters, lowercase letters, digits and hyphens, starting with a letter."""
    return f"prj-{slug(tenant_id, 16) or 'tenant'}-{_digest('gcp-project', tenant_id)[:6]}"


def describe(tenant_id: str, provider: Provider, region: str, resource_type: ResourceType, name: str,
             properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(provider resource id, computed attributes) of a resource, deterministic from its tenant and address."""
    provider, resource_type = Provider(provider), ResourceType(resource_type)
    identifier = resource_identifier(provider.value, region, resource_type.value, name)
    ids = _Ids(tenant_id, identifier, effective_region(provider, region), is_public(properties))
    return _DESCRIBERS[provider](ids, region, resource_type, name, properties)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Ids:
    tenant_id: str
    identifier: str
    region: str
    public: bool

    def hex(self, purpose: str, length: int) -> str:
        return _digest(purpose, self.tenant_id, self.identifier)[:length]

    def private_ip(self) -> str:
        n = int(self.hex("private-ip", 8), 16)
        return f"10.{n >> 16 & 0xFF}.{n >> 8 & 0xFF}.{(n & 0xFF) % 254 + 1}"

    def public_ip(self) -> str:
        # TEST-NET-3 (RFC 5737): unmistakably simulated, never routable.
        return f"203.0.113.{int(self.hex('public-ip', 2), 16) % 254 + 1}"

    def addresses(self) -> dict[str, str]:
        return {"private_ip": self.private_ip(), **({"public_ip": self.public_ip()} if self.public else {})}


def _aws(ids: _Ids, region: str, rtype: ResourceType, name: str,
         properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    account, r, h = aws_account_id(ids.tenant_id), ids.region, ids.hex("aws", 32)
    match rtype:
        case ResourceType.COMPUTE:
            instance = f"i-0{h[:16]}"  # 17 hex digits, as AWS instance ids have
            return instance, {"arn": f"arn:aws:ec2:{r}:{account}:instance/{instance}", **ids.addresses()}
        case ResourceType.STORAGE:
            return f"arn:aws:s3:::{name}", {"bucket_domain_name": f"{name}.s3.{r}.amazonaws.com"}
        case ResourceType.DATABASE:
            port = 3306 if str(properties.get("engine", "")).startswith("mysql") else 5432
            return (f"arn:aws:rds:{r}:{account}:db:{name}",
                    {"endpoint": f"{name}.{h[:12]}.{r}.rds.amazonaws.com", "port": port})
        case ResourceType.NETWORK:
            vpc = f"vpc-0{h[:16]}"
            return f"arn:aws:ec2:{r}:{account}:vpc/{vpc}", {"vpc_id": vpc}
        case ResourceType.CONTAINER:
            return (f"arn:aws:eks:{r}:{account}:cluster/{name}",
                    {"endpoint": f"https://{h.upper()}.gr7.{r}.eks.amazonaws.com"})
        case ResourceType.SERVERLESS:
            arn = f"arn:aws:lambda:{r}:{account}:function:{name}"
            return arn, {"invoke_arn": f"arn:aws:apigateway:{r}:lambda:path/2015-03-31/functions/{arn}/invocations"}
        case ResourceType.LOAD_BALANCER:
            lb = name[:32].rstrip("-")
            scheme = "" if ids.public else "internal-"
            return (f"arn:aws:elasticloadbalancing:{r}:{account}:loadbalancer/app/{lb}/{h[:16]}",
                    {"dns_name": f"{scheme}{lb}-{int(h[:8], 16)}.{r}.elb.amazonaws.com"})
        case ResourceType.DNS:
            zone = f"Z{h[:20].upper()}"
            n = int(h[20:24], 16)
            return (f"arn:aws:route53:::hostedzone/{zone}",
                    {"zone_id": zone, "name": dns_domain(name, properties),
                     "name_servers": [f"ns-{(n + i * 517) % 2048}.awsdns-{(n + i) % 64:02d}.{tld}"
                                      for i, tld in enumerate(("com", "net", "org", "co.uk"))]})
        case ResourceType.CDN:
            distribution = f"E{h[:13].upper()}"
            return (f"arn:aws:cloudfront::{account}:distribution/{distribution}",
                    {"domain_name": f"d{h[13:26]}.cloudfront.net"})
        case ResourceType.QUEUE:
            return f"arn:aws:sqs:{r}:{account}:{name}", {"url": f"https://sqs.{r}.amazonaws.com/{account}/{name}"}
        case ResourceType.CACHE:
            return (f"arn:aws:elasticache:{r}:{account}:cluster:{name}",
                    {"endpoint": f"{name}.{h[:6]}.0001.{r}.cache.amazonaws.com", "port": 6379})
    raise ProviderError(f"aws has no simulation for {rtype}")


_AZURE_TYPES: dict[ResourceType, str] = {
    ResourceType.COMPUTE: "Microsoft.Compute/virtualMachines",
    ResourceType.STORAGE: "Microsoft.Storage/storageAccounts",
    ResourceType.DATABASE: "Microsoft.DBforPostgreSQL/flexibleServers",
    ResourceType.NETWORK: "Microsoft.Network/virtualNetworks",
    ResourceType.CONTAINER: "Microsoft.ContainerService/managedClusters",
    ResourceType.SERVERLESS: "Microsoft.Web/sites",
    ResourceType.LOAD_BALANCER: "Microsoft.Network/loadBalancers",
    ResourceType.DNS: "Microsoft.Network/dnsZones",
    ResourceType.CDN: "Microsoft.Cdn/profiles",
    ResourceType.QUEUE: "Microsoft.ServiceBus/namespaces",
    ResourceType.CACHE: "Microsoft.Cache/redis",
}


def _azure(ids: _Ids, region: str, rtype: ResourceType, name: str,
           properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    base = (f"/subscriptions/{azure_subscription_id(ids.tenant_id)}/resourceGroups/{azure_resource_group(region)}"
            f"/providers/{_AZURE_TYPES[rtype]}")
    h = ids.hex("azure", 32)
    match rtype:
        case ResourceType.COMPUTE:
            return f"{base}/{name}", {"vm_id": str(uuid.UUID(h)), **ids.addresses()}
        case ResourceType.STORAGE:
            account = azure_storage_account_name(name)
            return f"{base}/{account}", {"primary_blob_endpoint": f"https://{account}.blob.core.windows.net/"}
        case ResourceType.DATABASE:
            return f"{base}/{name}", {"fqdn": f"{name}.postgres.database.azure.com", "port": 5432}
        case ResourceType.NETWORK:
            return f"{base}/{name}", {"guid": str(uuid.UUID(h))}
        case ResourceType.CONTAINER:
            return f"{base}/{name}", {"fqdn": f"{name}-{h[:8]}.hcp.{ids.region}.azmk8s.io"}
        case ResourceType.SERVERLESS:
            return f"{base}/{name}", {"default_hostname": f"{name}.azurewebsites.net"}
        case ResourceType.LOAD_BALANCER:
            return f"{base}/{name}", {"frontend_ip": ids.public_ip() if ids.public else ids.private_ip()}
        case ResourceType.DNS:
            domain = dns_domain(name, properties)
            n = int(h[:4], 16) % 10
            return (f"{base}/{domain}",
                    {"name": domain, "name_servers": [f"ns{i}-0{n}.azure-dns.{tld}."
                                                      for i, tld in enumerate(("com", "net", "org", "info"), 1)]})
        case ResourceType.CDN:
            return f"{base}/{name}", {"endpoint_host_name": f"{name}-ep-{h[:16]}.z01.azurefd.net"}
        case ResourceType.QUEUE:
            namespace = azure_servicebus_namespace(name)
            return (f"{base}/{namespace}/queues/{name}",
                    {"namespace_endpoint": f"sb://{namespace}.servicebus.windows.net/"})
        case ResourceType.CACHE:
            return f"{base}/{name}", {"hostname": f"{name}.redis.cache.windows.net", "ssl_port": 6380}
    raise ProviderError(f"azure has no simulation for {rtype}")


def _gcp(ids: _Ids, region: str, rtype: ResourceType, name: str,
         properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    project, r = gcp_project_id(ids.tenant_id), ids.region
    regional, global_ = f"projects/{project}/regions/{r}", f"projects/{project}/global"
    match rtype:
        case ResourceType.COMPUTE:
            path = f"projects/{project}/zones/{gcp_zone(region)}/instances/{name}"
            return path, {"self_link": f"https://www.googleapis.com/compute/v1/{path}", **ids.addresses()}
        case ResourceType.STORAGE:
            return f"{global_}/buckets/{name}", {"url": f"gs://{name}"}
        case ResourceType.DATABASE:
            return f"{regional}/instances/{name}", {"connection_name": f"{project}:{r}:{name}",
                                                    "private_ip": ids.private_ip()}
        case ResourceType.NETWORK:
            path = f"{global_}/networks/{name}"
            return path, {"self_link": f"https://www.googleapis.com/compute/v1/{path}"}
        case ResourceType.CONTAINER:
            return f"{regional}/clusters/{name}", {"endpoint": ids.public_ip() if ids.public else ids.private_ip()}
        case ResourceType.SERVERLESS:
            return f"{regional}/functions/{name}", {"url": f"https://{r}-{project}.cloudfunctions.net/{name}"}
        case ResourceType.LOAD_BALANCER:
            return f"{global_}/urlMaps/{name}", {"ip_address": ids.public_ip()}
        case ResourceType.DNS:
            shard = "abcde"[int(ids.hex("gcp-dns", 2), 16) % 5]
            return (f"{global_}/managedZones/{name}",
                    {"dns_name": f"{dns_domain(name, properties)}.",
                     "name_servers": [f"ns-cloud-{shard}{i}.googledomains.com." for i in range(1, 5)]})
        case ResourceType.CDN:
            path = f"{global_}/backendBuckets/{name}"
            return path, {"self_link": f"https://www.googleapis.com/compute/v1/{path}"}
        case ResourceType.QUEUE:
            return f"{global_}/topics/{name}", {"topic": f"projects/{project}/topics/{name}"}
        case ResourceType.CACHE:
            return f"{regional}/instances/{name}", {"host": ids.private_ip(), "port": 6378}
    raise ProviderError(f"gcp has no simulation for {rtype}")


_DESCRIBERS: dict[Provider, Callable[[_Ids, str, ResourceType, str, Mapping[str, Any]],
                                     tuple[str, dict[str, Any]]]] = {
    Provider.AWS: _aws, Provider.AZURE: _azure, Provider.GCP: _gcp,
}
