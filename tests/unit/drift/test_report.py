import json

from orchestrator.drift.report import DriftItem, DriftReport, DriftSeverity, DriftType


def item(identifier, severity, drift_type=DriftType.PROPERTY_CHANGED, path="properties.size"):
    return DriftItem(drift_type=drift_type, resource_identifier=identifier, severity=severity,
                     property_path=None if drift_type in (DriftType.RESOURCE_ADDED, DriftType.RESOURCE_REMOVED)
                     else path, expected_value="a", actual_value="b")


def test_empty_report_has_no_drift_no_max_severity_and_says_so():
    report = DriftReport(tenant_id="t", deployment_id="dep-1")
    assert not report.has_drift and report.max_severity is None
    assert report.summary == "No drift on deployment dep-1."


def test_counts_max_severity_and_summary_describe_the_items():
    report = DriftReport(tenant_id="t", deployment_id="dep-1", items=[
        item("aws/us-east-1/compute/db", DriftSeverity.CRITICAL, DriftType.RESOURCE_REMOVED),
        item("aws/us-east-1/compute/web", DriftSeverity.HIGH, path="properties.public_access"),
        item("aws/us-east-1/compute/web", DriftSeverity.HIGH, path="properties.encrypted"),
        item("aws/us-east-1/compute/rogue", DriftSeverity.MEDIUM, DriftType.RESOURCE_ADDED),
        item("aws/us-east-1/compute/web", DriftSeverity.LOW, DriftType.TAG_CHANGED, "tags.team"),
    ])
    assert (report.critical_count, report.high_count, report.medium_count, report.low_count) == (1, 2, 1, 1)
    assert report.has_drift and report.max_severity == DriftSeverity.CRITICAL
    assert report.summary == (
        "5 drift items on deployment dep-1: 1 critical, 2 high, 1 medium, 1 low. "
        "Removed: aws/us-east-1/compute/db; Added: aws/us-east-1/compute/rogue; "
        "Changed: aws/us-east-1/compute/web (3 changes).")


def test_summary_names_a_few_resources_and_counts_the_rest():
    report = DriftReport(tenant_id="t", deployment_id="d", items=[
        item(f"aws/us-east-1/queue/q{i}", DriftSeverity.CRITICAL, DriftType.RESOURCE_REMOVED) for i in range(8)])
    assert report.summary.endswith("Removed: aws/us-east-1/queue/q0, aws/us-east-1/queue/q1, aws/us-east-1/queue/q2,"
                                   " aws/us-east-1/queue/q3, aws/us-east-1/queue/q4 and 3 more.")
    assert report.summary.startswith("8 drift items on deployment d: 8 critical.")


def test_max_severity_orders_by_rank_not_by_name():
    report = DriftReport(tenant_id="t", deployment_id="d", items=[item("a/b/c/d", DriftSeverity.LOW),
                                                                   item("a/b/c/e", DriftSeverity.MEDIUM)])
    assert report.max_severity == DriftSeverity.MEDIUM


def test_report_serialises_with_its_computed_fields_and_parses_back():
    report = DriftReport(tenant_id="t", deployment_id="d", scan_type="manual",
                         items=[item("a/b/c/d", DriftSeverity.HIGH)])
    data = json.loads(report.model_dump_json())
    assert data["has_drift"] is True and data["high_count"] == 1 and data["max_severity"] == "high"
    assert data["summary"] == report.summary
    again = DriftReport.model_validate(data)
    assert again.items == report.items and again.id == report.id and again.created_at == report.created_at
