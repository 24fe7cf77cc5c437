"""Names a cloud derives from a resource, shared by the Terraform generator and the simulated provider.

Both must agree (the resource group a document creates is the one the provider ids point into), and both must stay
deterministic: every name here is a pure function of its arguments.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ..domain.catalogue import Provider

# Where "global" resources of a regional API live: AWS manages CloudFront and Route 53 through us-east-1, and a
# regional resource declared in "global" has to land somewhere.
HOME_REGION: dict[Provider, str] = {Provider.AWS: "us-east-1", Provider.AZURE: "eastus", Provider.GCP: "us-central1"}

# Properties that are instructions to the simulated provider (fault injection), never state of the resource.
INSTRUCTION_PROPERTIES = frozenset({"simulate"})

PUBLIC_ACLS = frozenset({"public-read", "public-read-write"})


def short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def effective_region(provider: Provider, region: str) -> str:
    return HOME_REGION[provider] if region == "global" else region


def gcp_zone(region: str) -> str:
    # Zone "b" is the one zone letter every GCP region offers (europe-west1 and us-east1 have no "a").
    return f"{effective_region(Provider.GCP, region)}-b"


def azure_resource_group(region: str) -> str:
    return f"rg-orchestrator-{region}"


def azure_storage_account_name(name: str, purpose: str = "") -> str:
    """3-24 lowercase letters and digits, globally unique: a readable prefix plus a hash of the full name (and of the
    purpose, so a function app's own account never takes the name of a storage resource)."""
    return f"st{name.replace('-', '')[:14]}{short_hash(name, purpose)}"


def azure_servicebus_namespace(name: str) -> str:
    """6-50 letters, digits and hyphens, globally unique, starting with a letter and ending with a letter or digit."""
    return f"sb-{name[:36].rstrip('-')}-{short_hash(name)}"


def suffixed(name: str, suffix: str, limit: int = 63) -> str:
    """`name-suffix` within `limit` characters, never leaving a hyphen where the name was cut."""
    return f"{name[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


def dns_domain(name: str, properties: Mapping[str, Any]) -> str:
    domain = properties.get("domain")
    if isinstance(domain, str) and domain.strip(". "):
        return domain.strip(". ").lower()
    return f"{name}.example.com"


def is_public(properties: Mapping[str, Any]) -> bool:
    """Public only when asked for explicitly, as the plan's policy reads it: closed is the safe default."""
    acl = properties.get("acl")
    return properties.get("public_access") is True or (isinstance(acl, str) and acl in PUBLIC_ACLS)


def is_encrypted(properties: Mapping[str, Any]) -> bool:
    """Encryption is on unless explicitly switched off."""
    return properties.get("encrypted") is not False


def cloud_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties a cloud stores: the user's, without the instructions to the simulator."""
    return {key: value for key, value in properties.items() if key not in INSTRUCTION_PROPERTIES}


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:limit].rstrip("-")
