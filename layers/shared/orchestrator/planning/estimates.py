"""Duration and cost estimates: lookup tables by provider x resource type, scaled by the resource's declared size.

The figures are list-price-like orders of magnitude, enough to rank plans and catch a runaway bill; they are not a
quote. Sizes come from `properties.size` (small, medium, large, xlarge; small when absent), quantities from
`properties.count` or `properties.instances` (an integer >= 1; 1 otherwise).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..domain.catalogue import Provider, ResourceType
from .plan import StepAction

SIZES = ("small", "medium", "large", "xlarge")
DEFAULT_SIZE = "small"

P, R = Provider, ResourceType

# Seconds to create one small resource. Managed databases, caches and CDNs take the longest to provision.
CREATE_SECONDS: dict[tuple[Provider, ResourceType], int] = {
    (P.AWS, R.COMPUTE): 90, (P.AZURE, R.COMPUTE): 120, (P.GCP, R.COMPUTE): 75,
    (P.AWS, R.STORAGE): 20, (P.AZURE, R.STORAGE): 30, (P.GCP, R.STORAGE): 15,
    (P.AWS, R.DATABASE): 600, (P.AZURE, R.DATABASE): 720, (P.GCP, R.DATABASE): 540,
    (P.AWS, R.NETWORK): 45, (P.AZURE, R.NETWORK): 60, (P.GCP, R.NETWORK): 40,
    (P.AWS, R.CONTAINER): 240, (P.AZURE, R.CONTAINER): 300, (P.GCP, R.CONTAINER): 210,
    (P.AWS, R.SERVERLESS): 30, (P.AZURE, R.SERVERLESS): 45, (P.GCP, R.SERVERLESS): 35,
    (P.AWS, R.LOAD_BALANCER): 180, (P.AZURE, R.LOAD_BALANCER): 150, (P.GCP, R.LOAD_BALANCER): 120,
    (P.AWS, R.DNS): 60, (P.AZURE, R.DNS): 90, (P.GCP, R.DNS): 60,
    (P.AWS, R.CDN): 900, (P.AZURE, R.CDN): 600, (P.GCP, R.CDN): 300,
    (P.AWS, R.QUEUE): 15, (P.AZURE, R.QUEUE): 30, (P.GCP, R.QUEUE): 20,
    (P.AWS, R.CACHE): 420, (P.AZURE, R.CACHE): 900, (P.GCP, R.CACHE): 360,
}

# An update reconfigures in place; a destroy skips provisioning and health checks; a no-op does not run.
ACTION_FACTOR: dict[StepAction, float] = {
    StepAction.CREATE: 1.0,
    StepAction.UPDATE: 0.5,
    StepAction.DESTROY: 0.4,
    StepAction.NO_OP: 0.0,
    # blue_green: the green copy provisions like a create; the switch repoints traffic; retiring blue destroys.
    StepAction.GREEN: 1.0,
    StepAction.SWITCH: 0.05,
    StepAction.RETIRE: 0.4,
}

# Bigger instances take longer to boot and to fill; they do not take proportionally longer.
SIZE_DURATION_FACTOR: dict[str, float] = {"small": 1.0, "medium": 1.25, "large": 1.5, "xlarge": 2.0}

# USD per month for one small resource (a t3.medium-class VM, a db.t3.medium-class database, 100 GB of objects...).
MONTHLY_PRICE_SMALL: dict[tuple[Provider, ResourceType], float] = {
    (P.AWS, R.COMPUTE): 30.37, (P.AZURE, R.COMPUTE): 30.37, (P.GCP, R.COMPUTE): 24.46,
    (P.AWS, R.STORAGE): 2.30, (P.AZURE, R.STORAGE): 2.08, (P.GCP, R.STORAGE): 2.00,
    (P.AWS, R.DATABASE): 49.64, (P.AZURE, R.DATABASE): 55.19, (P.GCP, R.DATABASE): 50.34,
    (P.AWS, R.NETWORK): 32.85, (P.AZURE, R.NETWORK): 32.85, (P.GCP, R.NETWORK): 32.12,
    (P.AWS, R.CONTAINER): 73.00, (P.AZURE, R.CONTAINER): 73.00, (P.GCP, R.CONTAINER): 73.00,
    (P.AWS, R.SERVERLESS): 8.35, (P.AZURE, R.SERVERLESS): 8.60, (P.GCP, R.SERVERLESS): 8.10,
    (P.AWS, R.LOAD_BALANCER): 16.43, (P.AZURE, R.LOAD_BALANCER): 18.25, (P.GCP, R.LOAD_BALANCER): 18.26,
    (P.AWS, R.DNS): 0.50, (P.AZURE, R.DNS): 0.50, (P.GCP, R.DNS): 0.20,
    (P.AWS, R.CDN): 8.50, (P.AZURE, R.CDN): 8.10, (P.GCP, R.CDN): 8.00,
    (P.AWS, R.QUEUE): 0.40, (P.AZURE, R.QUEUE): 9.81, (P.GCP, R.QUEUE): 2.00,
    (P.AWS, R.CACHE): 24.82, (P.AZURE, R.CACHE): 16.06, (P.GCP, R.CACHE): 35.77,
}

# Each size up doubles the instance, as the providers' instance families do.
SIZE_PRICE_FACTOR: dict[str, int] = {"small": 1, "medium": 2, "large": 4, "xlarge": 8}

# Flattened once so the planner pays one dict lookup per step: (seconds, monthly cents per unit once the step has
# run; a destroy leaves nothing to pay). StrEnum members hash and compare as their values: plain strings find these.
_ESTIMATES: dict[tuple[str, str, str, str], tuple[int, int]] = {
    (provider, rtype, action, size): (
        round(CREATE_SECONDS[provider, rtype] * ACTION_FACTOR[action] * SIZE_DURATION_FACTOR[size]),
        0 if action == StepAction.DESTROY else round(price * 100) * SIZE_PRICE_FACTOR[size],
    )
    for (provider, rtype), price in MONTHLY_PRICE_SMALL.items()
    for action in StepAction
    for size in SIZES
}
_KNOWN_SIZES = frozenset(SIZES)


def size_of(properties: Mapping[str, Any]) -> str:
    """The declared size, or the default when it is absent or not one of `SIZES` (policy warns about the latter)."""
    size = properties.get("size", DEFAULT_SIZE)
    return size if isinstance(size, str) and size in _KNOWN_SIZES else DEFAULT_SIZE


def quantity_of(properties: Mapping[str, Any]) -> int:
    """`count` or `instances` when it is an integer >= 1 (booleans excluded), otherwise 1."""
    for key in ("count", "instances"):
        value = properties.get(key)
        if type(value) is int and value >= 1:
            return value
    return 1


def estimate(provider: str, resource_type: str, action: StepAction, properties: Mapping[str, Any]) -> tuple[int, int]:
    """(seconds the step takes, monthly cents the resource costs once the step has run)."""
    size = properties.get("size", DEFAULT_SIZE)
    if not (isinstance(size, str) and size in _KNOWN_SIZES):
        size = DEFAULT_SIZE
    seconds, cents = _ESTIMATES[provider, resource_type, action, size]
    if cents and ("count" in properties or "instances" in properties):
        cents *= quantity_of(properties)
    return seconds, cents


def step_duration_seconds(provider: str, resource_type: str, action: StepAction, properties: Mapping[str, Any]) -> int:
    return estimate(provider, resource_type, action, properties)[0]


def monthly_cost_cents(provider: str, resource_type: str, properties: Mapping[str, Any]) -> int:
    """What the resource costs per month once created or updated, in cents (integers keep totals exact)."""
    return estimate(provider, resource_type, StepAction.CREATE, properties)[1]


def wave_makespan(durations: Sequence[int], slots: int) -> int:
    """How long one wave takes when at most `slots` steps run at once.

    Longest-processing-time first: each step, slowest first, goes to the slot that frees up earliest. Within 4/3 of
    the optimum, and exact whenever the wave fits the slots.
    """
    if not durations:
        return 0
    if len(durations) <= slots:
        return max(durations)
    ordered = sorted(durations, reverse=True)
    finish = ordered[:slots]
    heapq.heapify(finish)
    for duration in ordered[slots:]:
        heapq.heapreplace(finish, finish[0] + duration)
    return max(finish)


def total_duration_seconds(wave_durations: Iterable[Sequence[int]], max_concurrency: int) -> int:
    """Waves run one after another, so the plan takes the sum of the waves' makespans (not the sum of all steps)."""
    return sum(wave_makespan(durations, max_concurrency) for durations in wave_durations)
