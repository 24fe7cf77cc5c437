"""What the orchestrator knows about clouds: providers, resource types and the regions each provider offers."""

from __future__ import annotations

from enum import StrEnum


class Provider(StrEnum):
    AWS = "aws"
    AZURE = "azure"
    GCP = "gcp"


class ResourceType(StrEnum):
    COMPUTE = "compute"
    STORAGE = "storage"
    DATABASE = "database"
    NETWORK = "network"
    CONTAINER = "container"
    SERVERLESS = "serverless"
    LOAD_BALANCER = "load_balancer"
    DNS = "dns"
    CDN = "cdn"
    QUEUE = "queue"
    CACHE = "cache"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class Strategy(StrEnum):
    ROLLING = "rolling"
    BLUE_GREEN = "blue_green"
    CANARY = "canary"
    RECREATE = "recreate"


# Public regions per provider. DNS and CDN are global services; they use the pseudo-region "global".
REGIONS: dict[Provider, frozenset[str]] = {
    Provider.AWS: frozenset({
        "global",
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
        "eu-south-2", "me-south-1", "me-central-1", "il-central-1", "af-south-1", "ap-east-1", "ap-south-1",
        "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
        "ap-southeast-3", "ap-southeast-4", "mx-central-1",
    }),
    Provider.AZURE: frozenset({
        "global",
        "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus", "westus",
        "westus2", "westus3", "canadacentral", "canadaeast", "brazilsouth", "northeurope", "westeurope",
        "uksouth", "ukwest", "francecentral", "germanywestcentral", "switzerlandnorth", "norwayeast",
        "swedencentral", "polandcentral", "italynorth", "spaincentral", "uaenorth", "qatarcentral",
        "southafricanorth", "centralindia", "southindia", "japaneast", "japanwest", "koreacentral",
        "eastasia", "southeastasia", "australiaeast", "australiasoutheast",
    }),
    Provider.GCP: frozenset({
        "global",
        "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3",
        "us-west4", "northamerica-northeast1", "northamerica-northeast2", "southamerica-east1",
        "southamerica-west1", "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
        "europe-west8", "europe-west9", "europe-west10", "europe-west12", "europe-north1", "europe-central2",
        "europe-southwest1", "me-west1", "me-central1", "africa-south1", "asia-east1", "asia-east2",
        "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1", "asia-south2",
        "asia-southeast1", "asia-southeast2", "australia-southeast1", "australia-southeast2",
    }),
}


def resource_identifier(provider: str, region: str, resource_type: str, name: str) -> str:
    """The stable address of a resource: `provider/region/type/name`."""
    return f"{provider}/{region}/{resource_type}/{name}"
