import pytest

from orchestrator.adapters.memory.inventory import InMemoryInventory, InMemoryResultStore
from orchestrator.cloud.simulator import SimulatedProvider, expected_resource
from orchestrator.domain.intent import DeploymentIntent, validate_intent
from orchestrator.drift.detector import detect_drift
from orchestrator.drift.remediation import NothingToRemediate, remediation_intent

TENANT, DEPLOYMENT = "t1", "d1"


def original_intent(**overrides) -> DeploymentIntent:
    payload = {
        "name": "checkout",
        "description": "Checkout service",
        "target_providers": ["aws", "gcp"],
        "target_regions": ["us-east-1", "us-central1"],
        "environment": "staging",
        "strategy": "blue_green",
        "auto_approve": True,
        "max_concurrency": 4,
        "parameters": {"owner": "payments"},
        "resources": [
            {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "vpc",
             "properties": {"cidr": "10.0.0.0/16"}},
            {"resource_type": "database", "provider": "aws", "region": "us-east-1", "name": "db",
             "properties": {"size": "medium", "encrypted": True, "simulate": {"fail_apply": 1}},
             "tags": {"team": "payments"}, "dependencies": ["aws/us-east-1/network/vpc"]},
            {"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": "api",
             "properties": {"size": "small"}, "tags": {"team": "payments"},
             "dependencies": ["aws/us-east-1/network/vpc", "aws/us-east-1/database/db"]},
            {"resource_type": "queue", "provider": "gcp", "region": "us-central1", "name": "jobs",
             "tags": {"team": "payments"}},
        ],
    }
    payload.update(overrides)
    return validate_intent(payload)


@pytest.fixture
def deployed():
    """The original intent applied by the simulated provider; returns (cloud, inventory, intent, expected)."""
    inventory, intent = InMemoryInventory(), original_intent()
    cloud = SimulatedProvider(inventory, InMemoryResultStore(), sleep=lambda _: None)
    for spec in intent.resources:
        cloud.apply(tenant_id=TENANT, deployment_id=DEPLOYMENT, spec=spec, idempotency_key=f"a-{spec.identifier}",
                    attempt=2)
    expected = [expected_resource(s, tenant_id=TENANT, deployment_id=DEPLOYMENT) for s in intent.resources]
    return cloud, inventory, intent, expected


def scan(inventory, expected):
    return detect_drift(expected, inventory.list(TENANT), deployment_id=DEPLOYMENT, tenant_id=TENANT)


def test_remediation_restores_removed_and_changed_resources_and_keeps_the_rest_of_the_stack(deployed):
    _, inventory, intent, expected = deployed
    inventory.delete(TENANT, "aws/us-east-1/database/db")
    api = inventory.get(TENANT, "aws/us-east-1/compute/api")
    inventory.patch(TENANT, api.id, properties={"size": "xlarge", "public_access": True}, tags={"team": "other"})

    remedy = remediation_intent(scan(inventory, expected), expected, original=intent)

    # A run of the same stack: every resource of the original, the drifted ones restored, the rest unchanged.
    assert remedy.name == intent.name
    assert [r.identifier for r in remedy.resources] == [r.identifier for r in intent.resources]
    _, db, api_spec, jobs = remedy.resources
    assert db.properties == {"size": "medium", "encrypted": True}  # the expected state, without fault injection
    assert db.tags == {"team": "payments"}
    assert api_spec.properties == {"size": "small"} and api_spec.tags == {"team": "payments"}
    assert jobs == intent.resources[3]
    assert db.dependencies == intent.resources[1].dependencies
    assert api_spec.dependencies == intent.resources[2].dependencies
    assert validate_intent(remedy.model_dump(mode="json")) == remedy


def test_remediation_keeps_the_original_settings_but_always_needs_approval(deployed):
    _, inventory, intent, expected = deployed
    inventory.delete(TENANT, "gcp/us-central1/queue/jobs")
    report = scan(inventory, expected)
    remedy = remediation_intent(report, expected, original=intent)
    assert remedy.auto_approve is False
    assert (remedy.target_providers, remedy.target_regions) == (intent.target_providers, intent.target_regions)
    assert (remedy.environment, remedy.strategy, remedy.max_concurrency) == ("staging", "blue_green", 4)
    assert remedy.name == "checkout"  # the same stack
    assert report.id in remedy.description and report.summary in remedy.description
    assert remedy.parameters["owner"] == "payments"
    assert remedy.parameters["remediation"]["drift_report_id"] == report.id


def test_out_of_band_resources_are_listed_for_the_plan_not_recreated(deployed):
    cloud, inventory, intent, expected = deployed
    inventory.delete(TENANT, "aws/us-east-1/network/vpc")
    # A leftover this deployment owns, and a resource someone created by hand in the console.
    leftover = expected_resource(intent.resources[2].model_copy(update={"name": "old-api"}), tenant_id=TENANT,
                                 deployment_id=DEPLOYMENT)
    by_hand = expected_resource(intent.resources[2].model_copy(update={"name": "manual"}), tenant_id=TENANT,
                                deployment_id=None)
    inventory.upsert(leftover)
    inventory.upsert(by_hand)

    remedy = remediation_intent(scan(inventory, expected), expected, original=intent)

    assert "aws/us-east-1/compute/old-api" not in [r.identifier for r in remedy.resources]
    assert "aws/us-east-1/compute/manual" not in [r.identifier for r in remedy.resources]
    listed = remedy.parameters["remediation"]
    assert listed["destroy"] == ["aws/us-east-1/compute/old-api"] and listed["destroy_count"] == 1
    assert listed["review"] == ["aws/us-east-1/compute/manual"] and listed["review_count"] == 1
    assert "parameters.remediation.destroy" in remedy.description


def test_a_report_with_only_added_resources_or_no_drift_has_nothing_to_remediate(deployed):
    _, inventory, intent, expected = deployed
    with pytest.raises(NothingToRemediate, match="no drift"):
        remediation_intent(scan(inventory, expected), expected, original=intent)
    inventory.upsert(expected_resource(intent.resources[0].model_copy(update={"name": "extra"}), tenant_id=TENANT,
                                       deployment_id=None))
    with pytest.raises(NothingToRemediate, match="out-of-band"):
        remediation_intent(scan(inventory, expected), expected, original=intent)


def test_a_report_naming_resources_missing_from_the_expected_state_is_rejected(deployed):
    _, inventory, intent, expected = deployed
    inventory.delete(TENANT, "aws/us-east-1/network/vpc")
    report = scan(inventory, expected)
    with pytest.raises(ValueError, match="aws/us-east-1/network/vpc"):
        remediation_intent(report, expected[1:], original=intent)


def test_applying_the_remediation_intent_removes_the_drift(deployed):
    cloud, inventory, intent, expected = deployed
    inventory.delete(TENANT, "aws/us-east-1/database/db")
    api = inventory.get(TENANT, "aws/us-east-1/compute/api")
    inventory.patch(TENANT, api.id, properties={"encrypted": False}, tags={})
    remedy = remediation_intent(scan(inventory, expected), expected, original=intent)

    for spec in remedy.resources:
        cloud.apply(tenant_id=TENANT, deployment_id=DEPLOYMENT, spec=spec, idempotency_key=f"r-{spec.identifier}",
                    attempt=1)
        cloud.verify(tenant_id=TENANT, spec=spec)
    assert scan(inventory, expected).has_drift is False
