"""The examples a newcomer tries first must stay valid and behave as their comments say."""

from pathlib import Path

import pytest
import yaml

from orchestrator.domain.intent import validate_intent
from orchestrator.planning import StepAction, build_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    return validate_intent(yaml.safe_load((EXAMPLES / name).read_text()))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_is_a_valid_intent(path):
    assert validate_intent(yaml.safe_load(path.read_text())).resources


def test_three_cloud_example_spans_three_providers_with_cross_provider_dependencies():
    intent = load("three-cloud-webapp.yaml")
    plan = build_plan(intent, deployment_id="example")
    assert {s.provider for s in plan.steps} == {"aws", "azure", "gcp"}
    providers = {s.resource_identifier: s.provider for s in plan.steps}
    assert any(providers[dep] != r.provider.value for r in intent.resources for dep in r.dependencies)
    assert len(plan.waves) >= 5 and not plan.blocked and plan.requires_approval


def test_policy_violation_example_is_blocked_by_the_production_rules():
    plan = build_plan(load("policy-violation.yaml"), deployment_id="example")
    assert plan.blocked
    assert {v.rule_id for v in plan.policy.violations} >= {"production-storage-not-public", "database-encryption"}


def test_fails_on_purpose_example_injects_a_permanent_apply_failure():
    intent = load("fails-on-purpose.yaml")
    assert intent.rollback_on_failure
    assert any(r.properties.get("simulate") == {"fail_apply": "always"} for r in intent.resources)
    plan = build_plan(intent, deployment_id="example")
    assert all(s.action == StepAction.CREATE for s in plan.steps) and not plan.blocked


COMPUTE_LIKE = {"compute", "container", "serverless"}


def _dependents(intent, identifier: str) -> set[str]:
    """Every resource that depends on `identifier`, directly or through others."""
    found: set[str] = set()
    frontier = {identifier}
    while frontier:
        frontier = {r.identifier for r in intent.resources if set(r.dependencies) & frontier} - found
        found |= frontier
    return found


def test_canary_example_puts_a_quarter_of_several_compute_like_resources_first_behind_a_balancer_and_dns():
    intent = load("canary-webapp.yaml")
    assert intent.strategy == "canary"
    assert (intent.strategy_options.canary_percent, intent.strategy_options.bake_seconds) == (25, 30)
    compute_like = [r for r in intent.resources if r.resource_type.value in COMPUTE_LIKE]
    assert {r.resource_type.value for r in compute_like} == COMPUTE_LIKE and len(compute_like) >= 4
    types = {r.identifier: r.resource_type.value for r in intent.resources}
    # Most compute-like resources are served by the load balancer, and DNS points at it.
    served = [r for r in compute_like
              if {"load_balancer", "dns"} <= {types[d] for d in _dependents(intent, r.identifier)}]
    assert len(served) >= 4
    plan = build_plan(intent, deployment_id="example")
    assert not plan.blocked and len(plan.waves) >= 4


def test_blue_green_example_has_a_service_with_a_balancer_cdn_and_dns_depending_on_it():
    intent = load("blue-green-api.yaml")
    assert intent.strategy == "blue_green" and intent.strategy_options.bake_seconds == 20
    types = {r.identifier: r.resource_type.value for r in intent.resources}
    service = next(r for r in intent.resources if r.resource_type.value in {"compute", "container"})
    assert {types[d] for d in _dependents(intent, service.identifier)} == {"load_balancer", "cdn", "dns"}
    assert not build_plan(intent, deployment_id="example").blocked
