"""The simulated clouds: Terraform configuration for a resource and a provider that applies it to the inventory."""

from .simulator import ApplyOutcome, DestroyOutcome, SimulatedProvider
from .terraform import TERRAFORM_TYPES, terraform_by_provider, terraform_document, terraform_resource

__all__ = [
    "TERRAFORM_TYPES",
    "ApplyOutcome",
    "DestroyOutcome",
    "SimulatedProvider",
    "terraform_by_provider",
    "terraform_document",
    "terraform_resource",
]
