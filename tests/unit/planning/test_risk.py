"""Risk: each factor adds a reason and a floor; four factors together are critical; no-ops count for nothing."""

from __future__ import annotations

from orchestrator.planning import build_plan
from orchestrator.planning.plan import RiskLevel
from orchestrator.planning.risk import CRITICAL_FACTORS, MANY_DESTROYS

from .factories import DEPLOYMENT, intent, live, res


def risk_of(*resources, inventory=(), environment="development"):
    plan = build_plan(intent(*resources, environment=environment), deployment_id=DEPLOYMENT, live=inventory)
    return plan.risk_assessment, plan.risk_reasons


def test_a_small_development_plan_on_one_provider_is_low_risk_without_reasons():
    assert risk_of(res("a"), res("b", "storage")) == (RiskLevel.LOW, [])


def test_production_raises_risk_to_medium():
    level, reasons = risk_of(res("a"), environment="production")
    assert level == RiskLevel.MEDIUM and reasons == ["targets the production environment"]


def test_any_destroy_is_at_least_medium_and_names_the_resource():
    level, reasons = risk_of(res("a"), inventory=[live(res("old", "queue"))])
    assert level == RiskLevel.MEDIUM
    assert reasons == ["destroys 1 resource: aws/us-east-1/queue/old"]


def test_many_destroys_are_high_risk():
    olds = [live(res(f"old-{i}", "queue")) for i in range(MANY_DESTROYS)]
    level, reasons = risk_of(res("a"), inventory=olds)
    assert level == RiskLevel.HIGH
    assert reasons[0].startswith(f"destroys {MANY_DESTROYS} resources: ") and reasons[0].endswith("and 7 more")


def test_updating_or_destroying_a_database_is_high_risk_but_creating_one_is_not():
    db = res("db", "database", properties={"size": "small"})
    level, reasons = risk_of(db, inventory=[live(db, properties={"size": "large"})])
    assert level == RiskLevel.HIGH and reasons == [
        "updates or destroys 1 database, risking data or downtime: aws/us-east-1/database/db"]
    level, reasons = risk_of(res("a"), inventory=[live(res("old-db", "database"))])
    assert level == RiskLevel.HIGH and any("database" in r for r in reasons)
    assert risk_of(db) == (RiskLevel.LOW, [])


def test_changing_two_providers_at_once_is_medium_risk():
    level, reasons = risk_of(res("a"), res("b", provider="gcp"))
    assert level == RiskLevel.MEDIUM and reasons == ["changes resources on 2 providers at once (aws, gcp)"]


def test_unchanged_resources_do_not_count_towards_providers_or_plan_size():
    stable = res("b", provider="gcp")
    assert risk_of(res("a"), stable, inventory=[live(stable)]) == (RiskLevel.LOW, [])


def test_more_than_100_changes_is_medium_and_more_than_1000_is_high():
    level, reasons = risk_of(*(res(f"r{i}") for i in range(101)))
    assert level == RiskLevel.MEDIUM and reasons == ["changes 101 resources (more than 100)"]
    level, reasons = risk_of(*(res(f"r{i}") for i in range(1001)))
    assert level == RiskLevel.HIGH and reasons == ["changes 1,001 resources (more than 1,000)"]


def test_four_factors_together_are_critical_even_when_each_is_only_medium():
    assert CRITICAL_FACTORS == 4
    resources = [res(f"r{i}") for i in range(100)] + [res("g", provider="gcp")]
    level, reasons = risk_of(*resources, inventory=[live(res("old", "queue"))], environment="production")
    assert level == RiskLevel.CRITICAL and len(reasons) == 4


def test_risk_is_deterministic():
    args = (res("a"), res("b", provider="azure"))
    assert risk_of(*args, environment="production") == risk_of(*args, environment="production")
