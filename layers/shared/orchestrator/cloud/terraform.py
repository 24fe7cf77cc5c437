"""Terraform JSON configuration (`.tf.json`) for the resources of an intent: what a real apply would run.

One document per provider. AWS and Google take the region in the provider block, so each region gets an aliased
provider block (`aws.us_east_1`) and every resource names its alias; azurerm has no region setting (the location is an
argument of each resource), so it gets one block with its mandatory `features {}` and a resource group per region.

Intent properties understood (all optional; anything else is ignored):
  size            small | medium | large | xlarge (small when absent or unknown, as the cost estimate reads it),
                  mapped per provider to an instance class, SKU or machine type; `instance_type` overrides it with a
                  provider-native value
  count/instances compute only: how many identical instances
  public_access   true opens the resource to the internet (an `acl` of public-read(-write) counts too); closed otherwise
  encrypted       false switches encryption at rest off; on otherwise. `kms_key_id` selects a customer-managed key
  disk_gb, storage_gb, memory_mb, timeout_seconds, node_count, min_size, max_size, cidr, domain, origin, engine,
  version, runtime, handler, package, image_id, subnet_id(s), role_arn, versioning, fifo, retention_seconds,
  visibility_timeout_seconds, high_availability, environment_variables, backend_service, certificate, network
Environment-specific inputs that an intent usually does not carry (subnets, IAM roles, a CDN origin, an SSH key) are
taken from the property of the same name when present and otherwise become Terraform input variables, declared in
the document, rather than invented values.

User-supplied strings are escaped (`${` -> `$${`) so a property can never become a Terraform expression.
Output is deterministic (same specs in any order -> the same document) and JSON-serialisable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..domain.catalogue import Provider, ResourceType
from ..domain.intent import ResourceSpec
from .naming import (
    azure_resource_group,
    azure_servicebus_namespace,
    azure_storage_account_name,
    dns_domain,
    effective_region,
    gcp_zone,
    is_encrypted,
    is_public,
    suffixed,
)

P, R = Provider, ResourceType

TERRAFORM_TYPES: dict[tuple[Provider, ResourceType], str] = {
    (P.AWS, R.COMPUTE): "aws_instance",
    (P.AWS, R.STORAGE): "aws_s3_bucket",
    (P.AWS, R.DATABASE): "aws_db_instance",
    (P.AWS, R.NETWORK): "aws_vpc",
    (P.AWS, R.CONTAINER): "aws_eks_cluster",
    (P.AWS, R.SERVERLESS): "aws_lambda_function",
    (P.AWS, R.LOAD_BALANCER): "aws_lb",
    (P.AWS, R.DNS): "aws_route53_zone",
    (P.AWS, R.CDN): "aws_cloudfront_distribution",
    (P.AWS, R.QUEUE): "aws_sqs_queue",
    (P.AWS, R.CACHE): "aws_elasticache_cluster",
    (P.AZURE, R.COMPUTE): "azurerm_linux_virtual_machine",
    (P.AZURE, R.STORAGE): "azurerm_storage_account",
    (P.AZURE, R.DATABASE): "azurerm_postgresql_flexible_server",
    (P.AZURE, R.NETWORK): "azurerm_virtual_network",
    (P.AZURE, R.CONTAINER): "azurerm_kubernetes_cluster",
    (P.AZURE, R.SERVERLESS): "azurerm_linux_function_app",
    (P.AZURE, R.LOAD_BALANCER): "azurerm_lb",
    (P.AZURE, R.DNS): "azurerm_dns_zone",
    # Azure CDN (classic) profiles can no longer be created; Front Door Standard is its successor.
    (P.AZURE, R.CDN): "azurerm_cdn_frontdoor_profile",
    (P.AZURE, R.QUEUE): "azurerm_servicebus_queue",
    (P.AZURE, R.CACHE): "azurerm_redis_cache",
    (P.GCP, R.COMPUTE): "google_compute_instance",
    (P.GCP, R.STORAGE): "google_storage_bucket",
    (P.GCP, R.DATABASE): "google_sql_database_instance",
    (P.GCP, R.NETWORK): "google_compute_network",
    (P.GCP, R.CONTAINER): "google_container_cluster",
    (P.GCP, R.SERVERLESS): "google_cloudfunctions2_function",
    (P.GCP, R.LOAD_BALANCER): "google_compute_url_map",
    (P.GCP, R.DNS): "google_dns_managed_zone",
    (P.GCP, R.CDN): "google_compute_backend_bucket",
    (P.GCP, R.QUEUE): "google_pubsub_topic",
    (P.GCP, R.CACHE): "google_redis_instance",
}

# provider -> (local provider name, registry source, version constraint)
TERRAFORM_PROVIDERS: dict[Provider, tuple[str, str, str]] = {
    P.AWS: ("aws", "hashicorp/aws", "~> 5.0"),
    P.AZURE: ("azurerm", "hashicorp/azurerm", "~> 4.0"),
    P.GCP: ("google", "hashicorp/google", "~> 6.0"),
}
REQUIRED_TERRAFORM_VERSION = ">= 1.5.0"

SIZES = ("small", "medium", "large", "xlarge")
DEFAULT_SIZE = "small"

MACHINE_TYPES: dict[Provider, dict[str, str]] = {
    P.AWS: {"small": "t3.small", "medium": "t3.medium", "large": "m6i.large", "xlarge": "m6i.xlarge"},
    P.AZURE: {"small": "Standard_B2s", "medium": "Standard_D2s_v5", "large": "Standard_D4s_v5",
              "xlarge": "Standard_D8s_v5"},
    P.GCP: {"small": "e2-small", "medium": "e2-medium", "large": "n2-standard-4", "xlarge": "n2-standard-8"},
}
DATABASE_CLASSES: dict[Provider, dict[str, str]] = {
    P.AWS: {"small": "db.t4g.small", "medium": "db.t4g.medium", "large": "db.m6g.large", "xlarge": "db.m6g.xlarge"},
    P.AZURE: {"small": "B_Standard_B1ms", "medium": "GP_Standard_D2ds_v5", "large": "GP_Standard_D4ds_v5",
              "xlarge": "GP_Standard_D8ds_v5"},
    P.GCP: {"small": "db-g1-small", "medium": "db-custom-2-7680", "large": "db-custom-4-15360",
            "xlarge": "db-custom-8-30720"},
}
CACHE_NODE_TYPES: dict[str, str] = {
    "small": "cache.t4g.small", "medium": "cache.t4g.medium", "large": "cache.m7g.large", "xlarge": "cache.m7g.xlarge",
}
# Azure Cache for Redis: (sku_name, family, capacity).
AZURE_REDIS_SKUS: dict[str, tuple[str, str, int]] = {
    "small": ("Standard", "C", 1), "medium": ("Standard", "C", 2), "large": ("Premium", "P", 1),
    "xlarge": ("Premium", "P", 2),
}
GCP_REDIS_MEMORY_GB: dict[str, int] = {"small": 1, "medium": 2, "large": 5, "xlarge": 10}
FUNCTION_MEMORY_MB: dict[str, int] = {"small": 256, "medium": 512, "large": 1024, "xlarge": 2048}
# Consumption plan for small functions, Elastic Premium above (VNet integration, no cold start).
AZURE_FUNCTION_PLANS: dict[str, str] = {"small": "Y1", "medium": "EP1", "large": "EP2", "xlarge": "EP3"}
# The storage sizes Azure Database for PostgreSQL flexible server accepts, in MiB.
AZURE_POSTGRES_STORAGE_MB = (32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 8388608, 16777216,
                             33553408)

# AL2023 x86_64 (the default machine types are x86): the public SSM parameter always names the current AMI.
AWS_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
# CloudFront's managed "CachingOptimized" cache policy.
CLOUDFRONT_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def local_name(name: str, region: str) -> str:
    """Unique per (name, region) inside one provider's document and a valid identifier: names carry no underscore,
    so `web_us_east_1` splits back unambiguously."""
    return f"{name}_{region.replace('-', '_')}"


def provider_alias(region: str) -> str:
    return region.replace("-", "_")


def terraform_address(identifier: str) -> str | None:
    """`type.local_name` of the main resource for a resource identifier; None when it names no known type."""
    parts = identifier.split("/")
    if len(parts) != 4:
        return None
    provider, region, rtype, name = parts
    try:
        tf_type = TERRAFORM_TYPES[Provider(provider), ResourceType(rtype)]
    except ValueError:
        return None
    return f"{tf_type}.{local_name(name, region)}"


def terraform_resource(spec: ResourceSpec) -> dict[str, Any]:
    """The fragment for one resource: `{"resource": {type: {local_name: {...}}}}`, with the companions it needs
    (an encryption configuration, a resource group, a namespace...) and, when it uses any, `variable` and `data`
    blocks. `depends_on` names every same-provider dependency (a whole document keeps only those it holds)."""
    return _fragment(spec, None)


def terraform_document(specs: Sequence[ResourceSpec], provider: Provider) -> dict[str, Any]:
    """A complete `.tf.json` document for the resources of `provider` among `specs` (the others are left out).

    Dependencies on resources outside this document (another provider's) cannot be expressed in Terraform; the plan's
    waves order those.
    """
    provider = Provider(provider)
    mine = sorted((s for s in specs if s.provider == provider), key=lambda s: s.identifier)
    present = {s.identifier for s in mine}
    if len(present) != len(mine):
        raise ValueError("duplicate resource identifiers in one document")
    merged: dict[str, dict[str, Any]] = {"variable": {}, "data": {}, "resource": {}}
    for spec in mine:
        fragment = _fragment(spec, present)
        _merge_into(merged["variable"], fragment.get("variable", {}), depth=1)
        _merge_into(merged["data"], fragment.get("data", {}), depth=2)
        _merge_into(merged["resource"], fragment["resource"], depth=2)

    local, source, version = TERRAFORM_PROVIDERS[provider]
    regions = sorted({s.region for s in mine})
    if provider == P.AZURE:
        provider_blocks: list[dict[str, Any]] = [{"features": {}}]
    elif provider == P.AWS:
        provider_blocks = [{"alias": provider_alias(r), "region": effective_region(provider, r)} for r in regions]
    else:
        provider_blocks = [{"alias": provider_alias(r), "project": "${var.gcp_project_id}",
                            "region": effective_region(provider, r)} for r in regions]
        merged["variable"]["gcp_project_id"] = {"type": "string", "description": "Google Cloud project to deploy into"}

    document: dict[str, Any] = {
        "terraform": {
            "required_version": REQUIRED_TERRAFORM_VERSION,
            "required_providers": {local: {"source": source, "version": version}},
        },
        "provider": {local: provider_blocks},
    }
    for key in ("variable", "data", "resource"):
        if merged[key] or key == "resource":
            document[key] = _sorted(merged[key], depth=1 if key == "variable" else 2)
    return document


def terraform_by_provider(specs: Sequence[ResourceSpec]) -> dict[str, dict[str, Any]]:
    """One document per provider the specs use, keyed by provider name (`aws`, `azure`, `gcp`), in that order."""
    used = {s.provider for s in specs}
    return {p.value: terraform_document(specs, p) for p in Provider if p in used}


# ---------------------------------------------------------------------------------------------------------------------
# Building one fragment


def _escape(value: Any) -> Any:
    """Terraform evaluates `${...}` and `%{...}` in every JSON string: doubling the sigil makes user text literal."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list | tuple):
        return [_escape(v) for v in value]
    if isinstance(value, Mapping):
        return {_escape(str(k)): _escape(v) for k, v in value.items()}
    return value


_GCP_LABEL_INVALID = re.compile(r"[^a-z0-9_-]")
_AZURE_TAG_KEY_INVALID = re.compile(r"[<>%&\\?/]")


def _gcp_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """GCP labels: lowercase letters, digits, `_` and `-`, at most 63 characters, keys starting with a letter."""
    labels: dict[str, str] = {}
    for key, value in tags.items():
        k = _GCP_LABEL_INVALID.sub("_", key.lower())[:63]
        if not k[:1].isalpha():
            k = f"t_{k}"[:63]
        labels[k] = _GCP_LABEL_INVALID.sub("_", value.lower())[:63]
    return labels


def _azure_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {_AZURE_TAG_KEY_INVALID.sub("_", key): value for key, value in tags.items()}


class _Builder:
    """Collects the resources, variables and data sources one spec needs."""

    def __init__(self, spec: ResourceSpec):
        self.spec = spec
        self.provider = spec.provider
        self.name = spec.name
        self.local = local_name(spec.name, spec.region)
        self.alias = provider_alias(spec.region)
        self.region = effective_region(spec.provider, spec.region)
        self.props = spec.properties
        self.public = is_public(spec.properties)
        self.encrypted = is_encrypted(spec.properties)
        self.resources: dict[str, dict[str, dict[str, Any]]] = {}
        self.variables: dict[str, dict[str, Any]] = {}
        self.data: dict[str, dict[str, dict[str, Any]]] = {}

    # -- properties, read leniently: a value of the wrong type falls back to the default
    def text(self, key: str, default: str) -> str:
        value = self.props.get(key)
        return _escape(value) if isinstance(value, str) and value else default

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.props.get(key)
        return value if type(value) is int and value >= minimum else default

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.props.get(key)
        return value if isinstance(value, bool) else default

    def optional(self, key: str) -> Any:
        return _escape(self.props[key]) if key in self.props else None

    @property
    def size(self) -> str:
        size = self.props.get("size", DEFAULT_SIZE)
        return size if isinstance(size, str) and size in SIZES else DEFAULT_SIZE

    def sized(self, table: Mapping[str, Any]) -> Any:
        return self.text("instance_type", "") or table[self.size]

    @property
    def count(self) -> int:
        for key in ("count", "instances"):
            value = self.props.get(key)
            if type(value) is int and value >= 1:
                return value
        return 1

    def input(self, key: str, variable: str, type_: str, description: str) -> Any:
        """The property when the intent carries it, otherwise a reference to a declared input variable."""
        if key in self.props:
            return _escape(self.props[key])
        self.variables[variable] = {"type": type_, "description": description}
        return f"${{var.{variable}}}"

    # -- tags
    @property
    def tags(self) -> dict[str, str]:
        return _azure_tags(self.spec.tags) if self.provider == P.AZURE else dict(self.spec.tags)

    @property
    def labels(self) -> dict[str, str]:
        return _gcp_labels(self.spec.tags)

    # -- blocks
    def add(self, tf_type: str, local: str, body: dict[str, Any]) -> str:
        """Add a resource (with this region's provider alias where the provider has aliases); return its address."""
        if self.provider != P.AZURE:
            body = {"provider": f"{TERRAFORM_PROVIDERS[self.provider][0]}.{self.alias}", **body}
        self.resources.setdefault(tf_type, {})[local] = body
        return f"{tf_type}.{local}"

    def add_data(self, tf_type: str, local: str, body: dict[str, Any]) -> str:
        if self.provider != P.AZURE:
            body = {"provider": f"{TERRAFORM_PROVIDERS[self.provider][0]}.{self.alias}", **body}
        self.data.setdefault(tf_type, {})[local] = body
        return f"data.{tf_type}.{local}"

    def resource_group(self) -> dict[str, str]:
        """The region's resource group (shared by every Azure resource of the region) as the two usual arguments."""
        local = f"rg_{self.alias}"
        self.add("azurerm_resource_group", local, {"name": azure_resource_group(self.spec.region),
                                                   "location": self.region})
        return {"resource_group_name": f"${{azurerm_resource_group.{local}.name}}", "location": self.region}

    def kms(self, argument: str) -> dict[str, Any]:
        key = self.optional("kms_key_id")
        return {argument: key} if key and self.encrypted else {}


# ---------------------------------------------------------------------------------------------------------------------
# AWS


def _aws_subnets(b: _Builder) -> Any:
    return b.input("subnet_ids", f"aws_subnet_ids_{b.alias}", "list(string)", f"Subnet ids in {b.region}")


def _aws_compute(b: _Builder) -> dict[str, Any]:
    ami = b.optional("image_id") or "${" + b.add_data("aws_ssm_parameter", f"al2023_{b.alias}",
                                                      {"name": AWS_AMI_PARAMETER}) + ".value}"
    body: dict[str, Any] = {
        "ami": ami,
        "instance_type": b.sized(MACHINE_TYPES[P.AWS]),
        "associate_public_ip_address": b.public,
        "monitoring": True,
        # IMDSv2 only: the instance metadata service does not answer unauthenticated (SSRF-style) requests.
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required"},
        "root_block_device": {"volume_type": "gp3", "volume_size": b.integer("disk_gb", 20, 1),
                              "encrypted": b.encrypted, **b.kms("kms_key_id")},
        "tags": b.tags,
    }
    if b.count > 1:
        body = {"count": b.count, **body}
    if (subnet := b.optional("subnet_id")) is not None:
        body["subnet_id"] = subnet
    return body


def _aws_storage(b: _Builder) -> dict[str, Any]:
    bucket = f"${{aws_s3_bucket.{b.local}.id}}"
    if b.encrypted:
        key = b.optional("kms_key_id")
        default = {"sse_algorithm": "aws:kms", "kms_master_key_id": key} if key else {"sse_algorithm": "AES256"}
        b.add("aws_s3_bucket_server_side_encryption_configuration", b.local, {
            "bucket": bucket,
            "rule": {"apply_server_side_encryption_by_default": default, "bucket_key_enabled": bool(key)},
        })
    closed = not b.public
    b.add("aws_s3_bucket_public_access_block", b.local, {
        "bucket": bucket, "block_public_acls": closed, "block_public_policy": closed, "ignore_public_acls": closed,
        "restrict_public_buckets": closed,
    })
    if b.flag("versioning"):
        b.add("aws_s3_bucket_versioning", b.local, {"bucket": bucket,
                                                     "versioning_configuration": {"status": "Enabled"}})
    return {"bucket": b.name, "force_destroy": False, "tags": b.tags}


def _engine(b: _Builder) -> tuple[str, str]:
    engine = b.text("engine", "postgres")
    engine = "mysql" if engine.startswith("mysql") else "postgres"
    return engine, b.text("version", "8.0" if engine == "mysql" else "16")


def _aws_database(b: _Builder) -> dict[str, Any]:
    engine, version = _engine(b)
    body: dict[str, Any] = {
        "identifier": b.name,
        "engine": engine,
        "engine_version": version,
        "instance_class": b.sized(DATABASE_CLASSES[P.AWS]),
        "allocated_storage": b.integer("storage_gb", 20, 20),
        "storage_type": "gp3",
        "storage_encrypted": b.encrypted,
        **b.kms("kms_key_id"),
        "publicly_accessible": b.public,
        "username": b.text("username", "dbadmin"),
        # RDS generates the password and keeps it in Secrets Manager: no secret in the configuration or the state.
        "manage_master_user_password": True,
        "iam_database_authentication_enabled": True,
        "multi_az": b.flag("high_availability"),
        "backup_retention_period": b.integer("backup_retention_days", 7),
        "copy_tags_to_snapshot": True,
        "skip_final_snapshot": False,
        "final_snapshot_identifier": suffixed(b.name, "final"),
        "tags": b.tags,
    }
    if (group := b.optional("subnet_group")) is not None:
        body["db_subnet_group_name"] = group
    return body


def _aws_network(b: _Builder) -> dict[str, Any]:
    return {"cidr_block": b.text("cidr", "10.0.0.0/16"), "enable_dns_support": True, "enable_dns_hostnames": True,
            "tags": b.tags}


def _aws_container(b: _Builder) -> dict[str, Any]:
    subnets = _aws_subnets(b)
    nodes = b.integer("node_count", 2, 1)
    low, high = b.integer("min_size", min(nodes, 1), 0), b.integer("max_size", max(nodes, 3), 1)
    b.add("aws_eks_node_group", b.local, {
        "cluster_name": f"${{aws_eks_cluster.{b.local}.name}}",
        "node_group_name": suffixed(b.name, "nodes"),
        "node_role_arn": b.input("node_role_arn", "aws_eks_node_role_arn", "string", "IAM role of EKS worker nodes"),
        "subnet_ids": subnets,
        "instance_types": [b.sized(MACHINE_TYPES[P.AWS])],
        "scaling_config": {"desired_size": nodes, "min_size": min(low, nodes), "max_size": max(high, nodes)},
        "tags": b.tags,
    })
    body: dict[str, Any] = {
        "name": b.name,
        "role_arn": b.input("role_arn", "aws_eks_cluster_role_arn", "string", "IAM role of the EKS control plane"),
        "version": b.text("version", "1.30"),
        "vpc_config": {"subnet_ids": subnets, "endpoint_private_access": True, "endpoint_public_access": b.public},
        "enabled_cluster_log_types": ["api", "audit", "authenticator"],
        "tags": b.tags,
    }
    if (key := b.optional("kms_key_id")) and b.encrypted:
        body["encryption_config"] = {"resources": ["secrets"], "provider": {"key_arn": key}}
    return body


def _aws_serverless(b: _Builder) -> dict[str, Any]:
    body: dict[str, Any] = {
        "function_name": b.name,
        "role": b.input("role_arn", "aws_lambda_role_arn", "string", "Execution role of the Lambda functions"),
        "runtime": b.text("runtime", "python3.12"),
        "handler": b.text("handler", "app.handler"),
        "filename": b.text("package", f"build/{b.name}.zip"),
        "memory_size": b.integer("memory_mb", FUNCTION_MEMORY_MB[b.size], 128),
        "timeout": b.integer("timeout_seconds", 30, 1),
        "tracing_config": {"mode": "Active"},
        **b.kms("kms_key_arn"),
        "tags": b.tags,
    }
    if isinstance(env := b.optional("environment_variables"), dict):
        body["environment"] = {"variables": env}
    return body


def _aws_load_balancer(b: _Builder) -> dict[str, Any]:
    kind = b.text("lb_type", "application")
    body: dict[str, Any] = {
        "name": b.name[:32].rstrip("-"),
        "load_balancer_type": kind,
        "internal": not b.public,
        "subnets": _aws_subnets(b),
        "enable_deletion_protection": False,
        "tags": b.tags,
    }
    if kind == "application":
        body["drop_invalid_header_fields"] = True
    return body


def _aws_dns(b: _Builder) -> dict[str, Any]:
    return {"name": _escape(dns_domain(b.name, b.props)),
            "comment": f"Managed by the orchestrator: {b.spec.identifier}", "force_destroy": False, "tags": b.tags}


def _aws_cdn(b: _Builder) -> dict[str, Any]:
    origin_id = b.name
    return {
        "enabled": True,
        "comment": b.name,
        "price_class": b.text("price_class", "PriceClass_100"),
        "origin": [{
            "origin_id": origin_id,
            "domain_name": b.input("origin", f"{b.local}_origin", "string", f"Origin host name of CDN {b.name}"),
            "custom_origin_config": {"http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only",
                                     "origin_ssl_protocols": ["TLSv1.2"]},
        }],
        "default_cache_behavior": {
            "target_origin_id": origin_id, "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
            "cache_policy_id": CLOUDFRONT_CACHING_OPTIMIZED, "compress": True,
        },
        "restrictions": {"geo_restriction": {"restriction_type": "none"}},
        "viewer_certificate": {"cloudfront_default_certificate": True, "minimum_protocol_version": "TLSv1.2_2021"},
        "tags": b.tags,
    }


def _aws_queue(b: _Builder) -> dict[str, Any]:
    fifo = b.flag("fifo")
    body: dict[str, Any] = {
        "name": f"{b.name}.fifo" if fifo else b.name,
        "visibility_timeout_seconds": b.integer("visibility_timeout_seconds", 30),
        "message_retention_seconds": b.integer("retention_seconds", 4 * 24 * 3600, 60),
    }
    if fifo:
        body["fifo_queue"] = True
    key = b.kms("kms_master_key_id")
    body.update(key or {"sqs_managed_sse_enabled": b.encrypted})
    body["tags"] = b.tags
    return body


def _aws_cache(b: _Builder) -> dict[str, Any]:
    # At-rest and in-transit encryption of Redis live on replication groups; a single-node cluster has neither
    # argument, so `encrypted` cannot be expressed here (the drift detector still watches the property).
    body: dict[str, Any] = {
        "cluster_id": b.name[:40].rstrip("-"),
        "engine": "redis",
        "engine_version": b.text("version", "7.1"),
        "node_type": b.sized(CACHE_NODE_TYPES),
        "num_cache_nodes": 1,
        "parameter_group_name": "default.redis7",
        "port": 6379,
        "snapshot_retention_limit": b.integer("snapshot_retention_days", 1),
        "tags": b.tags,
    }
    if (group := b.optional("subnet_group")) is not None:
        body["subnet_group_name"] = group
    return body


# ---------------------------------------------------------------------------------------------------------------------
# Azure


def _azure_subnet(b: _Builder) -> Any:
    return b.input("subnet_id", f"azure_subnet_id_{b.alias}", "string", f"Subnet id in {b.region}")


def _azure_compute(b: _Builder) -> dict[str, Any]:
    group = b.resource_group()
    count = b.count
    index = "-${count.index}" if count > 1 else ""
    nic: dict[str, Any] = {
        "name": f"{b.name}-nic{index}", **group,
        "ip_configuration": [{"name": "internal", "subnet_id": _azure_subnet(b),
                              "private_ip_address_allocation": "Dynamic"}],
        "tags": b.tags,
    }
    nic_ref = f"${{azurerm_network_interface.{b.local}{'[count.index]' if count > 1 else ''}.id}}"
    body: dict[str, Any] = {
        "name": f"{b.name}{index}", **group,
        "size": b.sized(MACHINE_TYPES[P.AZURE]),
        "admin_username": b.text("admin_username", "azureuser"),
        "disable_password_authentication": True,
        "admin_ssh_key": [{"username": b.text("admin_username", "azureuser"),
                           "public_key": b.input("ssh_public_key", "azure_admin_ssh_public_key", "string",
                                                 "SSH public key of the VM administrator")}],
        "network_interface_ids": [nic_ref],
        "encryption_at_host_enabled": b.encrypted,
        "os_disk": {"caching": "ReadWrite", "storage_account_type": "Premium_LRS",
                    "disk_size_gb": b.integer("disk_gb", 30, 1)},
        "source_image_reference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                   "version": "latest"},
        "tags": b.tags,
    }
    if count > 1:
        nic, body = {"count": count, **nic}, {"count": count, **body}
    b.add("azurerm_network_interface", b.local, nic)
    return body


def _azure_storage_account(b: _Builder, name: str, public: bool) -> dict[str, Any]:
    return {
        "name": name, **b.resource_group(),
        "account_kind": "StorageV2",
        "account_tier": "Standard",
        "account_replication_type": b.text("replication", "LRS"),
        "min_tls_version": "TLS1_2",
        "https_traffic_only_enabled": True,
        "allow_nested_items_to_be_public": public,
        # Azure Storage always encrypts at rest; this adds the second, infrastructure-level layer.
        "infrastructure_encryption_enabled": b.encrypted,
        "tags": b.tags,
    }


def _azure_storage(b: _Builder) -> dict[str, Any]:
    body = _azure_storage_account(b, azure_storage_account_name(b.name), b.public)
    if b.flag("versioning"):
        body["blob_properties"] = {"versioning_enabled": True}
    return body


def _azure_database(b: _Builder) -> dict[str, Any]:
    config = b.add_data("azurerm_client_config", "current", {})
    engine, version = _engine(b)
    wanted_mb = b.integer("storage_gb", 32, 1) * 1024
    storage_mb = next((mb for mb in AZURE_POSTGRES_STORAGE_MB if mb >= wanted_mb), AZURE_POSTGRES_STORAGE_MB[-1])
    body: dict[str, Any] = {
        "name": b.name, **b.resource_group(),
        # A PostgreSQL-only service: a MySQL `engine` keeps PostgreSQL's default version.
        "version": version if engine == "postgres" else "16",
        "sku_name": b.sized(DATABASE_CLASSES[P.AZURE]),
        "storage_mb": storage_mb,
        "backup_retention_days": max(7, min(35, b.integer("backup_retention_days", 7))),
        "public_network_access_enabled": b.public,
        # Entra ID sign-in only: no administrator password to generate, store or leak.
        "authentication": {"active_directory_auth_enabled": True, "password_auth_enabled": False,
                           "tenant_id": f"${{{config}.tenant_id}}"},
        "tags": b.tags,
    }
    if b.flag("high_availability"):
        body["high_availability"] = {"mode": "ZoneRedundant"}
    return body


def _azure_network(b: _Builder) -> dict[str, Any]:
    return {"name": b.name, **b.resource_group(), "address_space": [b.text("cidr", "10.0.0.0/16")], "tags": b.tags}


def _azure_container(b: _Builder) -> dict[str, Any]:
    nodes = b.integer("node_count", 2, 1)
    pool: dict[str, Any] = {"name": "system", "vm_size": b.sized(MACHINE_TYPES[P.AZURE]), "node_count": nodes}
    if "min_size" in b.props or "max_size" in b.props:
        pool.update(auto_scaling_enabled=True, min_count=min(b.integer("min_size", 1, 1), nodes),
                    max_count=max(b.integer("max_size", nodes, 1), nodes))
    return {
        "name": b.name, **b.resource_group(),
        "dns_prefix": b.name,
        "kubernetes_version": b.text("version", "1.30"),
        "default_node_pool": pool,
        "identity": {"type": "SystemAssigned"},
        "role_based_access_control_enabled": True,
        "private_cluster_enabled": not b.public,
        "tags": b.tags,
    }


_RUNTIME = re.compile(r"^(python|nodejs|node|java|dotnet|go|ruby)(\d+(?:\.\d+)?)(?:\.x)?$")


def _runtime(b: _Builder) -> tuple[str, str]:
    match = _RUNTIME.match(b.text("runtime", "python3.12"))
    if not match:
        return "python", "3.12"
    language, version = match.groups()
    return ("nodejs" if language == "node" else language), version


def _azure_serverless(b: _Builder) -> dict[str, Any]:
    group = b.resource_group()
    plan = b.add("azurerm_service_plan", b.local, {"name": suffixed(b.name, "plan"), **group, "os_type": "Linux",
                                                   "sku_name": AZURE_FUNCTION_PLANS[b.size], "tags": b.tags})
    # A function app keeps its code and triggers in a storage account of its own.
    account = b.add("azurerm_storage_account", f"{b.local}_fn", _azure_storage_account(
        b, azure_storage_account_name(b.name, "function-app"), False))
    language, version = _runtime(b)
    stack_key = {"nodejs": "node_version", "java": "java_version", "dotnet": "dotnet_version"}.get(
        language, "python_version")
    if stack_key == "python_version" and language != "python":
        version = "3.12"
    return {
        "name": b.name, **group,
        "service_plan_id": f"${{{plan}.id}}",
        "storage_account_name": f"${{{account}.name}}",
        "storage_account_access_key": f"${{{account}.primary_access_key}}",
        "https_only": True,
        "public_network_access_enabled": b.public,
        "identity": {"type": "SystemAssigned"},
        "site_config": {"minimum_tls_version": "1.2", "ftps_state": "Disabled",
                        "application_stack": {stack_key: version}},
        "tags": b.tags,
    }


def _azure_load_balancer(b: _Builder) -> dict[str, Any]:
    group = b.resource_group()
    frontend: dict[str, Any] = {"name": "frontend"}
    if b.public:
        ip = b.add("azurerm_public_ip", b.local, {"name": suffixed(b.name, "pip"), **group,
                                                  "allocation_method": "Static", "sku": "Standard", "tags": b.tags})
        frontend["public_ip_address_id"] = f"${{{ip}.id}}"
    else:
        frontend.update(subnet_id=_azure_subnet(b), private_ip_address_allocation="Dynamic")
    return {"name": b.name, **group, "sku": "Standard", "frontend_ip_configuration": [frontend], "tags": b.tags}


def _azure_dns(b: _Builder) -> dict[str, Any]:
    group = b.resource_group()
    return {"name": _escape(dns_domain(b.name, b.props)), "resource_group_name": group["resource_group_name"],
            "tags": b.tags}


def _azure_cdn(b: _Builder) -> dict[str, Any]:
    group = b.resource_group()
    profile = f"${{azurerm_cdn_frontdoor_profile.{b.local}.id}}"
    endpoint = b.add("azurerm_cdn_frontdoor_endpoint", b.local, {"name": suffixed(b.name, "ep", 46),
                                                                 "cdn_frontdoor_profile_id": profile, "tags": b.tags})
    origins = b.add("azurerm_cdn_frontdoor_origin_group", b.local, {
        "name": "origins", "cdn_frontdoor_profile_id": profile,
        "load_balancing": {"sample_size": 4, "successful_samples_required": 3},
        "health_probe": {"protocol": "Https", "interval_in_seconds": 100, "request_type": "HEAD", "path": "/"},
    })
    origin = b.add("azurerm_cdn_frontdoor_origin", b.local, {
        "name": "origin", "cdn_frontdoor_origin_group_id": f"${{{origins}.id}}", "enabled": True,
        "host_name": b.input("origin", f"{b.local}_origin", "string", f"Origin host name of CDN {b.name}"),
        "certificate_name_check_enabled": True, "https_port": 443, "http_port": 80,
    })
    b.add("azurerm_cdn_frontdoor_route", b.local, {
        "name": "default", "cdn_frontdoor_endpoint_id": f"${{{endpoint}.id}}",
        "cdn_frontdoor_origin_group_id": f"${{{origins}.id}}", "cdn_frontdoor_origin_ids": [f"${{{origin}.id}}"],
        "patterns_to_match": ["/*"], "supported_protocols": ["Http", "Https"], "https_redirect_enabled": True,
        "forwarding_protocol": "HttpsOnly", "link_to_default_domain": True,
    })
    return {"name": b.name, "resource_group_name": group["resource_group_name"],
            "sku_name": "Standard_AzureFrontDoor", "tags": b.tags}


def _azure_queue(b: _Builder) -> dict[str, Any]:
    # Queues live in a namespace, which carries the tags (a Service Bus queue has none of its own).
    namespace = b.add("azurerm_servicebus_namespace", b.local, {
        "name": azure_servicebus_namespace(b.name), **b.resource_group(), "sku": "Standard",
        "minimum_tls_version": "1.2", "local_auth_enabled": False, "tags": b.tags,
    })
    return {
        "name": b.name,
        "namespace_id": f"${{{namespace}.id}}",
        "lock_duration": f"PT{min(b.integer('visibility_timeout_seconds', 30, 5), 300)}S",
        "default_message_ttl": f"PT{b.integer('retention_seconds', 4 * 24 * 3600, 60)}S",
        "max_delivery_count": b.integer("max_receive_count", 10, 1),
        "dead_lettering_on_message_expiration": True,
        # Sessions are how Service Bus delivers in order (the `fifo` of the other clouds).
        "requires_session": b.flag("fifo"),
    }


def _azure_cache(b: _Builder) -> dict[str, Any]:
    sku, family, capacity = AZURE_REDIS_SKUS[b.size]
    return {
        "name": b.name, **b.resource_group(),
        "sku_name": sku, "family": family, "capacity": capacity,
        "redis_version": "6",
        "minimum_tls_version": "1.2",
        "non_ssl_port_enabled": False,
        "public_network_access_enabled": b.public,
        "tags": b.tags,
    }


# ---------------------------------------------------------------------------------------------------------------------
# Google Cloud


def _gcp_compute(b: _Builder) -> dict[str, Any]:
    count = b.count
    disk: dict[str, Any] = {"initialize_params": {"image": b.text("image_id", "debian-cloud/debian-12"),
                                                  "size": b.integer("disk_gb", 20, 10)}}
    if key := b.kms("kms_key_self_link"):
        disk.update(key)
    interface: dict[str, Any] = {"network": b.text("network", "default")}
    if b.public:
        interface["access_config"] = {}  # an empty access_config assigns an ephemeral public IP
    body: dict[str, Any] = {
        "name": f"{b.name[:56].rstrip('-')}-${{count.index}}" if count > 1 else b.name,
        "machine_type": b.sized(MACHINE_TYPES[P.GCP]),
        "zone": gcp_zone(b.spec.region),
        "boot_disk": disk,
        "network_interface": [interface],
        "shielded_instance_config": {"enable_secure_boot": True, "enable_vtpm": True,
                                     "enable_integrity_monitoring": True},
        "metadata": {"block-project-ssh-keys": "true"},
        "labels": b.labels,
    }
    return {"count": count, **body} if count > 1 else body


def _gcp_bucket(b: _Builder, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "location": "US" if b.spec.region == "global" else b.region.upper(),
        "uniform_bucket_level_access": True,
        "public_access_prevention": "inherited" if b.public else "enforced",
        "force_destroy": False,
        "labels": b.labels,
    }
    if key := b.kms("default_kms_key_name"):
        body["encryption"] = key
    return body


def _gcp_storage(b: _Builder) -> dict[str, Any]:
    body = _gcp_bucket(b, b.name)
    if b.flag("versioning"):
        body["versioning"] = {"enabled": True}
    return body


def _gcp_database(b: _Builder) -> dict[str, Any]:
    engine, version = _engine(b)
    database_version = f"MYSQL_{version.replace('.', '_')}" if engine == "mysql" else f"POSTGRES_{version}"
    body: dict[str, Any] = {
        "name": b.name,
        "region": b.region,
        "database_version": database_version,
        "deletion_protection": True,
        "settings": {
            "tier": b.sized(DATABASE_CLASSES[P.GCP]),
            "disk_type": "PD_SSD",
            "disk_size": b.integer("storage_gb", 20, 10),
            "availability_type": "REGIONAL" if b.flag("high_availability") else "ZONAL",
            "backup_configuration": {"enabled": True, "point_in_time_recovery_enabled": engine == "postgres"},
            "ip_configuration": {"ipv4_enabled": b.public, "ssl_mode": "ENCRYPTED_ONLY"},
            "user_labels": b.labels,
        },
    }
    if key := b.kms("encryption_key_name"):
        body.update(key)
    return body


def _gcp_network(b: _Builder) -> dict[str, Any]:
    # A VPC network is global and unlabelled; its address range belongs to a regional subnetwork.
    b.add("google_compute_subnetwork", b.local, {
        "name": b.name, "region": b.region, "network": f"${{google_compute_network.{b.local}.id}}",
        "ip_cidr_range": b.text("cidr", "10.0.0.0/16"), "private_ip_google_access": True,
    })
    return {"name": b.name, "auto_create_subnetworks": False, "routing_mode": "REGIONAL"}


def _gcp_container(b: _Builder) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": b.name,
        "location": b.region,
        "initial_node_count": b.integer("node_count", 1, 1),
        "node_config": {"machine_type": b.sized(MACHINE_TYPES[P.GCP]),
                        "shielded_instance_config": {"enable_secure_boot": True}, "labels": b.labels},
        "release_channel": {"channel": "REGULAR"},
        "enable_shielded_nodes": True,
        "resource_labels": b.labels,
    }
    if not b.public:
        body["private_cluster_config"] = {"enable_private_nodes": True, "enable_private_endpoint": False}
    if (key := b.optional("kms_key_id")) and b.encrypted:
        body["database_encryption"] = {"state": "ENCRYPTED", "key_name": key}
    return body


def _gcp_serverless(b: _Builder) -> dict[str, Any]:
    language, version = _runtime(b)
    return {
        "name": b.name,
        "location": b.region,
        "build_config": {
            "runtime": f"{language}{version.replace('.', '')}",
            "entry_point": b.text("handler", "handler").rsplit(".", 1)[-1],
            "source": {"storage_source": {
                "bucket": b.input("source_bucket", "gcp_function_source_bucket", "string",
                                  "Bucket holding the Cloud Functions source archives"),
                "object": b.text("package", f"{b.name}.zip").rsplit("/", 1)[-1],
            }},
        },
        "service_config": {
            "available_memory": f"{b.integer('memory_mb', FUNCTION_MEMORY_MB[b.size], 128)}M",
            "timeout_seconds": b.integer("timeout_seconds", 60, 1),
            "max_instance_count": b.integer("max_instances", 10, 1),
            "ingress_settings": "ALLOW_ALL" if b.public else "ALLOW_INTERNAL_ONLY",
            "all_traffic_on_latest_revision": True,
        },
        "labels": b.labels,
    }


def _gcp_load_balancer(b: _Builder) -> dict[str, Any]:
    # A global external HTTPS load balancer: URL map <- HTTPS proxy (modern TLS policy) <- forwarding rule.
    policy = b.add("google_compute_ssl_policy", b.local, {"name": suffixed(b.name, "tls"), "profile": "MODERN",
                                                          "min_tls_version": "TLS_1_2"})
    proxy = b.add("google_compute_target_https_proxy", b.local, {
        "name": suffixed(b.name, "proxy"), "url_map": f"${{google_compute_url_map.{b.local}.id}}",
        "ssl_certificates": [b.input("certificate", f"{b.local}_certificate", "string",
                                     f"SSL certificate of load balancer {b.name}")],
        "ssl_policy": f"${{{policy}.id}}",
    })
    b.add("google_compute_global_forwarding_rule", b.local, {
        "name": suffixed(b.name, "https"), "target": f"${{{proxy}.id}}", "port_range": "443",
        "load_balancing_scheme": "EXTERNAL_MANAGED", "labels": b.labels,
    })
    return {"name": b.name, "default_service": b.input("backend_service", f"{b.local}_backend_service", "string",
                                                       f"Default backend service of load balancer {b.name}")}


def _gcp_dns(b: _Builder) -> dict[str, Any]:
    return {"name": b.name, "dns_name": f"{_escape(dns_domain(b.name, b.props))}.", "visibility": "public",
            "description": f"Managed by the orchestrator: {b.spec.identifier}", "dnssec_config": {"state": "on"},
            "labels": b.labels}


def _gcp_cdn(b: _Builder) -> dict[str, Any]:
    # Cloud CDN serves from a backend bucket; the origin bucket carries the labels (a backend bucket has none).
    bucket = b.add("google_storage_bucket", f"{b.local}_origin", _gcp_bucket(b, suffixed(b.name, "origin")))
    return {"name": b.name, "bucket_name": f"${{{bucket}.name}}", "enable_cdn": True,
            "cdn_policy": {"cache_mode": "CACHE_ALL_STATIC", "default_ttl": b.integer("default_ttl", 3600),
                           "signed_url_cache_max_age_sec": 7200}}


def _gcp_queue(b: _Builder) -> dict[str, Any]:
    # A queue is a topic plus the pull subscription its consumers read.
    retention = f"{b.integer('retention_seconds', 4 * 24 * 3600, 600)}s"
    b.add("google_pubsub_subscription", b.local, {
        "name": suffixed(b.name, "sub", 255), "topic": f"${{google_pubsub_topic.{b.local}.id}}",
        "ack_deadline_seconds": min(max(b.integer("visibility_timeout_seconds", 30), 10), 600),
        "message_retention_duration": retention, "enable_message_ordering": b.flag("fifo"), "labels": b.labels,
    })
    return {"name": b.name, "message_retention_duration": retention, **b.kms("kms_key_name"), "labels": b.labels}


def _gcp_cache(b: _Builder) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": b.name,
        "region": b.region,
        "tier": "STANDARD_HA" if b.flag("high_availability") else "BASIC",
        "memory_size_gb": GCP_REDIS_MEMORY_GB[b.size],
        "redis_version": "REDIS_7_2",
        "auth_enabled": True,
        "transit_encryption_mode": "SERVER_AUTHENTICATION" if b.encrypted else "DISABLED",
        "labels": b.labels,
    }
    if (network := b.optional("network")) is not None:
        body["authorized_network"] = network
    if key := b.kms("customer_managed_key"):
        body.update(key)
    return body


_BUILDERS: dict[tuple[Provider, ResourceType], Callable[[_Builder], dict[str, Any]]] = {
    (P.AWS, R.COMPUTE): _aws_compute, (P.AWS, R.STORAGE): _aws_storage, (P.AWS, R.DATABASE): _aws_database,
    (P.AWS, R.NETWORK): _aws_network, (P.AWS, R.CONTAINER): _aws_container, (P.AWS, R.SERVERLESS): _aws_serverless,
    (P.AWS, R.LOAD_BALANCER): _aws_load_balancer, (P.AWS, R.DNS): _aws_dns, (P.AWS, R.CDN): _aws_cdn,
    (P.AWS, R.QUEUE): _aws_queue, (P.AWS, R.CACHE): _aws_cache,
    (P.AZURE, R.COMPUTE): _azure_compute, (P.AZURE, R.STORAGE): _azure_storage,
    (P.AZURE, R.DATABASE): _azure_database, (P.AZURE, R.NETWORK): _azure_network,
    (P.AZURE, R.CONTAINER): _azure_container, (P.AZURE, R.SERVERLESS): _azure_serverless,
    (P.AZURE, R.LOAD_BALANCER): _azure_load_balancer, (P.AZURE, R.DNS): _azure_dns, (P.AZURE, R.CDN): _azure_cdn,
    (P.AZURE, R.QUEUE): _azure_queue, (P.AZURE, R.CACHE): _azure_cache,
    (P.GCP, R.COMPUTE): _gcp_compute, (P.GCP, R.STORAGE): _gcp_storage, (P.GCP, R.DATABASE): _gcp_database,
    (P.GCP, R.NETWORK): _gcp_network, (P.GCP, R.CONTAINER): _gcp_container, (P.GCP, R.SERVERLESS): _gcp_serverless,
    (P.GCP, R.LOAD_BALANCER): _gcp_load_balancer, (P.GCP, R.DNS): _gcp_dns, (P.GCP, R.CDN): _gcp_cdn,
    (P.GCP, R.QUEUE): _gcp_queue, (P.GCP, R.CACHE): _gcp_cache,
}


def _depends_on(spec: ResourceSpec, present: Iterable[str] | None) -> list[str]:
    allowed = None if present is None else set(present)
    addresses: list[str] = []
    for dependency in spec.dependencies:
        if not dependency.startswith(f"{spec.provider.value}/") or (allowed is not None and dependency not in allowed):
            continue
        address = terraform_address(dependency)
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def _fragment(spec: ResourceSpec, present: Iterable[str] | None) -> dict[str, Any]:
    builder = _Builder(spec)
    key = (spec.provider, spec.resource_type)
    body = _BUILDERS[key](builder)
    if depends_on := _depends_on(spec, present):
        body["depends_on"] = depends_on
    builder.add(TERRAFORM_TYPES[key], builder.local, body)
    fragment: dict[str, Any] = {"resource": builder.resources}
    if builder.data:
        fragment["data"] = builder.data
    if builder.variables:
        fragment["variable"] = builder.variables
    return fragment


def _merge_into(target: dict[str, Any], source: Mapping[str, Any], depth: int) -> None:
    """Merge `type -> name -> body` maps. Shared blocks (a region's resource group) merge when identical; two
    different bodies under one address would be a naming bug, so they raise."""
    for key, value in source.items():
        if depth > 1:
            _merge_into(target.setdefault(key, {}), value, depth - 1)
        elif key not in target:
            target[key] = value
        elif target[key] != value:
            raise ValueError(f"conflicting Terraform blocks named {key!r}")


def _sorted(mapping: Mapping[str, Any], depth: int) -> dict[str, Any]:
    return {k: _sorted(mapping[k], depth - 1) if depth > 1 else mapping[k] for k in sorted(mapping)}
