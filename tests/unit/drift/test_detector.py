import json
import random
import time

import pytest

from orchestrator.domain.resources import CloudResource
from orchestrator.drift.detector import (
    DriftScan,
    detect_drift,
    property_class,
    property_differences,
    property_severity,
)
from orchestrator.drift.report import DriftItem, DriftReport, DriftSeverity, DriftType

TENANT, DEPLOYMENT = "t1", "d1"


def res(name="web", provider="aws", region="us-east-1", rtype="compute", properties=None, tags=None,
        deployment_id=DEPLOYMENT, tenant=TENANT) -> CloudResource:
    return CloudResource(tenant_id=tenant, provider=provider, region=region, resource_type=rtype, name=name,
                         provider_resource_id=f"id-{name}", properties=properties or {}, tags=tags or {},
                         deployment_id=deployment_id)


def changed(resource: CloudResource, properties=None, tags=None) -> CloudResource:
    return resource.model_copy(update={k: v for k, v in (("properties", properties), ("tags", tags)) if v is not None})


def scan(expected, actual, **kwargs) -> DriftReport:
    return detect_drift(expected, actual, deployment_id=DEPLOYMENT, tenant_id=TENANT, **kwargs)


def test_no_drift_reports_nothing():
    expected = [res("a", properties={"size": "small", "net": {"cidr": "10.0.0.0/16"}}, tags={"t": "1"}), res("b")]
    report = scan(expected, [r.model_copy(deep=True) for r in expected])
    assert report.items == [] and report.has_drift is False and report.max_severity is None
    assert (report.critical_count, report.high_count, report.medium_count, report.low_count) == (0, 0, 0, 0)


def test_expected_resource_missing_from_the_cloud_is_critical_resource_removed():
    web = res(properties={"size": "small"}, tags={"team": "a"})
    [item] = scan([web], []).items
    assert item.drift_type == DriftType.RESOURCE_REMOVED and item.severity == DriftSeverity.CRITICAL
    assert item.resource_identifier == "aws/us-east-1/compute/web" and item.property_path is None
    assert item.expected_value == {"properties": {"size": "small"}, "tags": {"team": "a"}, "deployment_id": "d1"}
    assert item.actual_value is None


@pytest.mark.parametrize("owner", [None, DEPLOYMENT], ids=["unowned", "owned-by-this-deployment"])
def test_unexpected_resource_in_a_managed_scope_is_medium_resource_added(owner):
    extra = res("rogue", properties={"size": "xlarge"}, deployment_id=owner)
    [item] = scan([res("web")], [res("web"), extra]).items
    assert item.drift_type == DriftType.RESOURCE_ADDED and item.severity == DriftSeverity.MEDIUM
    assert item.resource_identifier == "aws/us-east-1/compute/rogue" and item.expected_value is None
    assert item.actual_value == {"properties": {"size": "xlarge"}, "tags": {}, "deployment_id": owner}


@pytest.mark.parametrize("extra", [
    res("other-region", region="eu-west-1", deployment_id=None),
    res("other-provider", provider="gcp", region="us-east1", deployment_id=None),
    res("other-deployment", deployment_id="d2"),
    res("other-tenant", tenant="t2", deployment_id=None),
], ids=["other-region", "other-provider", "owned-by-another-deployment", "other-tenant"])
def test_unexpected_resources_outside_the_managed_scope_are_not_drift(extra):
    assert scan([res("web")], [res("web"), extra]).items == []


@pytest.mark.parametrize("path_properties", [
    {"public_access": True}, {"acl": "public-read"}, {"encrypted": False}, {"encryption": {"kms_key_id": "k2"}},
    {"firewall": {"ingress": ["0.0.0.0/0"]}}, {"security_groups": ["sg-2"]}, {"tls_version": "1.0"},
    {"iam_policy": "admin"}, {"publicly_accessible": True}, {"ssl": {"enforce": False}},
])
def test_security_property_changes_are_high(path_properties):
    expected = res(properties={"public_access": False, "acl": "private", "encrypted": True,
                               "encryption": {"kms_key_id": "k1"}, "firewall": {"ingress": []},
                               "security_groups": ["sg-1"], "tls_version": "1.2", "iam_policy": "read",
                               "publicly_accessible": False, "ssl": {"enforce": True}})
    actual = changed(expected, properties={**expected.properties, **path_properties})
    items = scan([expected], [actual]).items
    assert items and all(i.severity == DriftSeverity.HIGH and i.drift_type == DriftType.PROPERTY_CHANGED
                         for i in items)


@pytest.mark.parametrize("key", ["size", "instance_type", "count", "instances", "capacity", "storage_gb", "memory",
                                 "cpu", "replicas", "min_size", "max_size", "node_count", "sku", "tier"])
def test_size_and_capacity_changes_are_medium(key):
    expected = res(properties={key: 1})
    [item] = scan([expected], [changed(expected, properties={key: 2})]).items
    assert item.severity == DriftSeverity.MEDIUM and property_class(f"properties.{key}") == "capacity"


def test_other_property_changes_are_medium():
    expected = res(properties={"runtime": "python3.11"})
    [item] = scan([expected], [changed(expected, properties={"runtime": "python3.12"})]).items
    assert item.severity == DriftSeverity.MEDIUM and property_class("properties.runtime") == "other"


def test_security_wins_anywhere_on_a_nested_path():
    assert property_severity("properties.network.firewall_rules.http") == DriftSeverity.HIGH
    assert property_class("properties.encryption.key_size") == "security"


def test_tag_changes_are_low_tag_changed_items_per_key():
    expected = res(tags={"team": "a", "env": "prod"})
    items = scan([expected], [changed(expected, tags={"team": "b", "owner": "me"})]).items
    assert [(i.drift_type, i.property_path, i.expected_value, i.actual_value, i.severity) for i in items] == [
        (DriftType.TAG_CHANGED, "tags.env", "prod", None, DriftSeverity.LOW),
        (DriftType.TAG_CHANGED, "tags.owner", None, "me", DriftSeverity.LOW),
        (DriftType.TAG_CHANGED, "tags.team", "a", "b", DriftSeverity.LOW),
    ]


def test_nested_changes_are_reported_at_their_dotted_path_and_lists_whole():
    expected = res(properties={"network": {"cidr": "10.0.0.0/16", "dns": {"zone": "a"}}, "ports": [80, 443]})
    actual = changed(expected, properties={"network": {"cidr": "10.1.0.0/16", "dns": {}, "mtu": 9000},
                                           "ports": [80]})
    items = scan([expected], [actual]).items
    assert [(i.property_path, i.expected_value, i.actual_value) for i in items] == [
        ("properties.network.cidr", "10.0.0.0/16", "10.1.0.0/16"),
        ("properties.network.dns.zone", "a", None),
        ("properties.network.mtu", None, 9000),
        ("properties.ports", [80, 443], [80]),
    ]


def test_a_bool_replacing_an_equal_number_is_drift():
    expected = res(properties={"replicas": 1, "nested": {"enabled": True}})
    actual = changed(expected, properties={"replicas": True, "nested": {"enabled": 1}})
    assert [i.property_path for i in scan([expected], [actual]).items] == ["properties.nested.enabled",
                                                                           "properties.replicas"]


def test_the_simulate_instruction_is_never_compared():
    expected = res(properties={"size": "small", "simulate": {"fail_apply": 2}})
    assert scan([expected], [changed(expected, properties={"size": "small"})]).items == []
    assert property_differences({"simulate": {}}, {}, {}, {}) == []


def test_items_are_sorted_by_severity_then_identifier_then_path_whatever_the_input_order():
    expected = [res("b", properties={"public_access": False, "size": "s"}, tags={"t": "1"}), res("a"), res("c")]
    actual = [changed(expected[0], properties={"public_access": True, "size": "m"}, tags={"t": "2"}),
              res("c", properties={"x": 1}), res("z", deployment_id=None)]
    report = scan(expected, actual)
    assert [(i.severity.value, i.resource_identifier.rsplit("/", 1)[1], i.property_path) for i in report.items] == [
        ("critical", "a", None),
        ("high", "b", "properties.public_access"),
        ("medium", "b", "properties.size"),
        ("medium", "c", "properties.x"),
        ("medium", "z", None),
        ("low", "b", "tags.t"),
    ]
    rng = random.Random(3)
    for _ in range(5):
        e, a = expected[:], actual[:]
        rng.shuffle(e)
        rng.shuffle(a)
        assert scan(e, a).items == report.items


def test_items_built_without_validation_equal_validated_items():
    expected = res(properties={"size": "s", "net": {"cidr": "a"}}, tags={"t": "1"})
    report = scan([expected, res("gone")], [changed(expected, properties={"size": "m"}, tags={}),
                                            res("new", deployment_id=None)])
    for item in report.items:
        assert DriftItem.model_validate(item.model_dump()) == item
    assert DriftReport.model_validate(json.loads(report.model_dump_json())).items == report.items


def test_scan_type_is_recorded():
    assert scan([], [], scan_type="manual").scan_type == "manual"


def test_ten_thousand_resources_are_compared_within_a_second():
    expected = [res(f"r{i}", properties={"size": "small", "count": 2, "network": {"cidr": "10.0.0.0/16"}},
                    tags={"team": "a"}) for i in range(10_000)]
    actual = [r.model_copy(deep=True) for r in expected]
    for i in range(0, 10_000, 10):  # 10% changed, 1% removed, 1% added
        actual[i] = changed(actual[i], properties={"size": "large", "count": 2, "network": {"cidr": "10.1.0.0/16"}})
    actual = [r for i, r in enumerate(actual) if i % 100 != 5] + [res(f"x{i}", deployment_id=None)
                                                                  for i in range(100)]
    started = time.perf_counter()
    report = scan(expected, actual)
    elapsed = time.perf_counter() - started
    assert report.critical_count == 100 and report.medium_count == 2_000 + 100
    assert elapsed < 1.0, f"{elapsed * 1000:.0f} ms"


def test_a_scan_in_pages_reports_exactly_what_one_pass_over_everything_does():
    """The paged scan hands the detector pages of expected resources with only the live records at their
    identifiers, then the candidates for `resource_added` in pages: the items must not depend on the cut."""
    rng = random.Random(7)
    expected = [res(f"r{n}", provider=rng.choice(["aws", "gcp"]), region=rng.choice(["us-east-1", "us-central1"]),
                    properties={"size": "small", "encrypted": True}, tags={"team": "a"}) for n in range(40)]
    actual = []
    for want in expected:
        roll = rng.random()
        if roll < 0.2:
            continue  # removed
        actual.append(changed(want, properties={"size": "large", "encrypted": roll < 0.5}) if roll < 0.6 else
                      changed(want, tags={"team": "b"}) if roll < 0.8 else want.model_copy(deep=True))
    actual += [res(f"extra{n}", provider=rng.choice(["aws", "gcp", "azure"]), region="us-east-1",
                   deployment_id=rng.choice([None, DEPLOYMENT, "someone-else"])) for n in range(15)]
    actual.append(res("r0", tenant="other-tenant"))
    whole = scan(expected, actual)
    assert {i.drift_type for i in whole.items} == set(DriftType)
    live = {r.identifier: r for r in actual if r.tenant_id == TENANT}
    for size in (1, 3, 7, 100):
        paged = DriftScan(deployment_id=DEPLOYMENT, tenant_id=TENANT)
        for start in range(0, len(expected), size):
            page = expected[start:start + size]
            paged.compare(page, [live[r.identifier] for r in page if r.identifier in live])
        candidates = sorted(live.values(), key=lambda r: r.identifier)
        for start in range(0, len(candidates), size):
            paged.consider_added(candidates[start:start + size])
        assert paged.report().items == whole.items, size
