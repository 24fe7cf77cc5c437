"""Policy rules: each one's block and warn paths; a violation blocks the plan; production overrides auto_approve."""

from __future__ import annotations

import pytest

from orchestrator.planning import build_plan
from orchestrator.planning.policy import MONTHLY_COST_CEILING, RULES

from .factories import DEPLOYMENT, intent, live, res

REQUIRED_RULES = {"production-manual-approval", "production-storage-not-public", "database-encryption",
                  "monthly-cost-ceiling", "production-destroys", "production-owner-tag"}


def plan_of(*resources, inventory=(), environment="development", auto_approve=False):
    return build_plan(intent(*resources, environment=environment, auto_approve=auto_approve),
                      deployment_id=DEPLOYMENT, live=inventory)


def findings(findings_list):
    return [(f.rule_id, f.resource_identifier, f.severity) for f in findings_list]


def test_rules_are_a_declarative_list_with_unique_ids_descriptions_and_outcomes():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids)) and REQUIRED_RULES <= set(ids)
    assert all(rule.description and rule.outcome in ("block", "warn") for rule in RULES)


def test_clean_plan_has_no_findings_and_is_not_blocked():
    plan = plan_of(res("a"), res("b", "storage"))
    assert plan.policy.violations == [] and plan.policy.warnings == []
    assert not plan.blocked and "Policy allows the plan with no findings." in plan.reasoning


def test_production_overrides_auto_approve_and_records_a_warning():
    plan = plan_of(res("a"), environment="production", auto_approve=True)
    assert findings(plan.policy.warnings) == [("production-manual-approval", None, "warn")]
    assert plan.auto_approve_overridden and plan.requires_approval and not plan.blocked
    assert "auto_approve is overridden" in plan.reasoning


def test_production_without_auto_approve_needs_approval_without_an_override():
    plan = plan_of(res("a"), environment="production")
    assert plan.policy.warnings == [] and plan.requires_approval and not plan.auto_approve_overridden


def test_auto_approve_outside_production_skips_approval():
    plan = plan_of(res("a"), environment="staging", auto_approve=True)
    assert not plan.requires_approval and not plan.auto_approve_overridden
    assert plan_of(res("a"), environment="staging").requires_approval


@pytest.mark.parametrize("properties", [{"public_access": True}, {"acl": "public-read"},
                                        {"acl": "public-read-write"}])
def test_public_storage_blocks_production(properties):
    bucket = res("site", "storage", properties=properties)
    plan = plan_of(bucket, environment="production")
    assert findings(plan.policy.violations) == [("production-storage-not-public", "aws/us-east-1/storage/site",
                                                  "block")]
    assert plan.blocked and "Policy blocks the plan" in plan.reasoning


def test_public_storage_only_warns_outside_production():
    plan = plan_of(res("site", "storage", properties={"acl": "public-read"}), environment="staging")
    assert findings(plan.policy.warnings) == [("production-storage-not-public", "aws/us-east-1/storage/site",
                                               "warn")]
    assert not plan.blocked


@pytest.mark.parametrize("properties", [{"acl": "private"}, {"public_access": False}, {"public_access": "yes"}, {}])
def test_private_storage_raises_nothing(properties):
    assert plan_of(res("site", "storage", properties=properties), environment="production").blocked is False


def test_public_access_on_something_other_than_storage_is_not_this_rules_business():
    assert not plan_of(res("vm", properties={"public_access": True}), environment="production").blocked


@pytest.mark.parametrize("environment", ["development", "staging", "production"])
def test_database_with_encryption_turned_off_is_blocked_everywhere(environment):
    plan = plan_of(res("db", "database", properties={"encrypted": False}), environment=environment)
    assert ("database-encryption", "aws/us-east-1/database/db", "block") in findings(plan.policy.violations)
    assert plan.blocked


@pytest.mark.parametrize("properties", [{}, {"encrypted": True}, {"encrypted": 0}])
def test_database_encryption_left_on_or_unset_passes(properties):
    assert plan_of(res("db", "database", properties=properties)).policy.violations == []


def test_monthly_cost_above_the_environments_ceiling_blocks():
    # aws compute small: 30.37 a month; 200 of them is 6,074.00 > 5,000 in development.
    plan = plan_of(res("fleet", properties={"count": 200}))
    assert findings(plan.policy.violations) == [("monthly-cost-ceiling", None, "block")]
    assert "$6,074.00 exceeds the development ceiling of $5,000.00" in plan.policy.violations[0].message
    assert plan.blocked


def test_monthly_cost_above_80_percent_of_the_ceiling_warns():
    plan = plan_of(res("fleet", properties={"count": 140}))  # 4,251.80: between 4,000 and 5,000
    assert findings(plan.policy.warnings) == [("monthly-cost-ceiling", None, "warn")]
    assert not plan.blocked


def test_cost_ceilings_rise_with_the_environment():
    assert MONTHLY_COST_CEILING == {"development": 5_000, "staging": 25_000, "production": 250_000}
    assert plan_of(res("fleet", properties={"count": 200}), environment="staging").policy.violations == []


def test_destroys_in_production_warn_per_resource():
    plan = plan_of(res("keep"), inventory=[live(res("old", "queue"))], environment="production")
    assert findings(plan.policy.warnings) == [("production-destroys", "aws/us-east-1/queue/old", "warn")]
    assert plan_of(res("keep"), inventory=[live(res("old", "queue"))]).policy.warnings == []


@pytest.mark.parametrize(("tags", "warned"), [
    ({}, True), ({"owner": ""}, True), ({"owner": "  "}, True), ({"team": "x"}, True),
    ({"owner": "alice"}, False), ({"Owner": "alice"}, False),
])
def test_production_resources_need_an_owner_tag(tags, warned):
    plan = plan_of(res("vm", tags=tags), environment="production")
    expected = [("production-owner-tag", "aws/us-east-1/compute/vm", "warn")] if warned else []
    assert findings(plan.policy.warnings) == expected


def test_owner_tag_is_not_required_outside_production():
    assert plan_of(res("vm", tags={}), environment="staging").policy.warnings == []


def test_an_unknown_size_warns_that_it_was_estimated_as_small():
    plan = plan_of(res("vm", properties={"size": "huge"}))
    assert findings(plan.policy.warnings) == [("resource-size-known", "aws/us-east-1/compute/vm", "warn")]
    assert "'huge'" in plan.policy.warnings[0].message


def test_findings_follow_plan_order_within_a_rule():
    plan = plan_of(res("b", tags={}), res("a", "storage", tags={}), res("c", tags={}), environment="production")
    assert [f.resource_identifier.rsplit("/", 1)[1] for f in plan.policy.warnings] == ["b", "a", "c"]
