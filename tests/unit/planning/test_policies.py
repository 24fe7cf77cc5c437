"""Tenant policies, freeze windows and blast radius as the planner sees them (no servers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.domain.errors import ValidationFailed
from orchestrator.planning import build_plan
from orchestrator.planning.blast import Dependent, blast_radius
from orchestrator.planning.freeze import FreezeWindow, freeze_finding
from orchestrator.planning.policies import TenantPolicy, compile_policies, compile_rule

from .factories import DEPLOYMENT, ident, intent, live, res


def policy(rule: dict, enforcement: str = "mandatory", environments=()) -> TenantPolicy:
    return TenantPolicy(id=f"id-{len(str(rule))}", name=f"p-{sorted(rule)[0]}", enforcement=enforcement, rule=rule,
                        environments=list(environments))


def results(*policies: TenantPolicy, resources=None, inventory=()):
    resources = resources or [res("net", "network", properties={"size": "small", "network": {"cidr": "10.0.0.0/8"}},
                                  tags={"owner": "a"}),
                              res("db", "database", "gcp", properties={"size": "large"}, tags={})]
    plan = build_plan(intent(*resources), deployment_id=DEPLOYMENT, live=list(inventory),
                      policies=compile_policies(list(policies)))
    return plan, {r["policy"]: (r["result"], r["resources"]) for r in plan.policy_results}


@pytest.mark.parametrize(("rule", "hit"), [
    ({"allowed_providers": ["aws"]}, ["gcp/us-central1/database/db"]),
    ({"allowed_regions": ["us-east-1"]}, ["gcp/us-central1/database/db"]),
    ({"allowed_resource_types": ["network"]}, ["gcp/us-central1/database/db"]),
    ({"property": "network.cidr", "equals": "10.0.0.0/8", "resource_types": ["network"]}, []),
    ({"property": "network.cidr", "in": ["10.0.0.0/8"]}, ["gcp/us-central1/database/db"]),  # absent fails `in`
    ({"property": "size", "not_in": ["large"]}, ["gcp/us-central1/database/db"]),
    ({"tag_required": "owner"}, ["gcp/us-central1/database/db"]),
    ({"tag_required": "owner", "values": ["b"]}, ["aws/us-east-1/network/net", "gcp/us-central1/database/db"]),
    ({"max_steps": 1}, []),  # plan-wide: a hit without a resource
])
def test_each_rule_kind_hits_the_resources_that_fail_it(rule, hit):
    plan, found = results(policy(rule))
    [(result, resources)] = found.values()
    if rule == {"max_steps": 1}:
        assert result == "blocked" and resources == [] and plan.blocked
    else:
        assert resources == hit and result == ("blocked" if hit else "passed")


def test_enforcement_levels_decide_warn_override_or_block_and_environments_scope_policies():
    plan, found = results(policy({"allowed_providers": ["aws"]}, "advisory"))
    assert found["p-allowed_providers"][0] == "advisory" and not plan.blocked and not plan.soft_blocked
    plan, found = results(policy({"allowed_providers": ["aws"]}, "soft_mandatory"))
    assert found["p-allowed_providers"][0] == "soft_blocked" and plan.soft_blocked and plan.requires_approval
    assert [f.rule_id for f in plan.policy.overridable] == ["p-allowed_providers"]
    plan, found = results(policy({"allowed_providers": ["aws"]}, "mandatory", ["production"]))
    assert found == {} and not plan.blocked  # the intent is for development


@pytest.mark.parametrize(("rule", "where"), [
    ({"allowed_regions": []}, ("rule", "allowed_regions")),
    ({"allowed_resource_types": ["network", "teleporter"]}, ("rule", "allowed_resource_types", 1)),
    ({"property": "size"}, ("rule", "property")),
    ({"property": "size", "equals": 1, "in": [1]}, ("rule", "property")),
    ({"tag_required": ""}, ("rule", "tag_required")),
    ({"max_monthly_cost": True}, ("rule", "max_monthly_cost")),
    ({"max_steps": 1.5}, ("rule", "max_steps")),
    ({"max_steps": 1, "max_blast_radius": 2}, ("rule", "max_steps")),
    ([], ("rule",)),
])
def test_bad_rules_are_refused_naming_the_part(rule, where):
    with pytest.raises(ValidationFailed) as refused:
        compile_rule(rule)
    assert refused.value.errors[0].loc == where


def window(**fields) -> FreezeWindow:
    return FreezeWindow(id="w", name="w", reason="r", **fields)


def test_recurring_windows_follow_their_time_zone_across_daylight_saving():
    friday_evening = window(cron="0 18 * * 5", duration_minutes=120, timezone="Europe/Berlin")
    # 18:30 Berlin is 17:30 UTC in winter (CET) and 16:30 UTC in summer (CEST).
    assert friday_evening.active_until(datetime(2026, 1, 9, 17, 30, tzinfo=UTC)) == datetime(2026, 1, 9, 19,
                                                                                               tzinfo=UTC)
    assert friday_evening.active_until(datetime(2026, 7, 10, 16, 30, tzinfo=UTC)) == datetime(2026, 7, 10, 18,
                                                                                                tzinfo=UTC)
    assert friday_evening.active_until(datetime(2026, 7, 10, 18, 30, tzinfo=UTC)) is None
    assert friday_evening.active_until(datetime(2026, 7, 10, 15, 59, tzinfo=UTC)) is None


def test_the_freeze_finding_names_the_window_ending_last_for_the_environment():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    short = window(starts_at=datetime(2026, 3, 1, tzinfo=UTC), ends_at=datetime(2026, 3, 1, 13, tzinfo=UTC))
    long = FreezeWindow(id="l", name="long", reason="r", environments=["production"],
                        starts_at=datetime(2026, 3, 1, tzinfo=UTC), ends_at=datetime(2026, 3, 2, tzinfo=UTC))
    assert freeze_finding([short, long], "production", now)[0].name == "long"
    assert freeze_finding([short, long], "staging", now)[0].name == "w"
    assert freeze_finding([long], "staging", now) is None


def test_blast_radius_is_transitive_across_the_intent_and_other_stacks():
    net = res("net", "network", properties={"cidr": "10.0.0.0/16"})
    app = res("app", deps=[ident(net)])
    web = res("web", "load_balancer", deps=[ident(app)])
    plan = build_plan(intent(net, app, web), deployment_id=DEPLOYMENT, live=[
        live(net, properties={"cidr": "10.9.0.0/16"}), live(app), live(web), live(res("old", "queue"))])
    others = [Dependent("aws/us-east-1/queue/jobs", [ident(web)], "aws", "production", "other"),
              Dependent("gcp/us-central1/queue/old-reader", ["aws/us-east-1/queue/old"], "gcp", "staging", "other")]
    entries, elsewhere = blast_radius(plan.steps, "staging", others, "checkout")
    by_resource = {e["resource"]: e for e in entries}
    assert by_resource[ident(net)]["dependents"] == ["aws/us-east-1/compute/app", "aws/us-east-1/load_balancer/web",
                                                     "aws/us-east-1/queue/jobs"]
    assert by_resource[ident(net)]["counts"] == {"total": 3, "by_provider": {"aws": 3},
                                                 "by_environment": {"production": 1, "staging": 2}}
    assert by_resource["aws/us-east-1/queue/old"]["action"] == "destroy"
    assert elsewhere == {"aws/us-east-1/queue/old": ["gcp/us-central1/queue/old-reader"]}


def test_a_destroy_other_stacks_depend_on_waits_for_an_override_and_max_blast_radius_blocks():
    keep = res("keep", "queue")
    others = [Dependent("aws/us-east-1/queue/reader", ["aws/us-east-1/queue/old"], "aws", "staging", "other")]
    plan = build_plan(intent(keep), deployment_id=DEPLOYMENT, live=[live(keep), live(res("old", "queue"))],
                      dependents=others)
    assert plan.soft_blocked and [f.rule_id for f in plan.policy.overridable] == ["dependents_exist"]
    plan = build_plan(intent(keep), deployment_id=DEPLOYMENT, live=[live(keep), live(res("old", "queue"))],
                      dependents=others,
                      policies=compile_policies([policy({"max_blast_radius": 0})]))
    assert plan.blocked and plan.policy_results[0]["resources"] == ["aws/us-east-1/queue/old"]


def test_the_default_set_runs_the_built_in_rules_re_graded_by_enforcement():
    from orchestrator.planning.policies import default_policies

    unencrypted = res("db", "database", properties={"size": "small", "encrypted": False})
    defaults = [TenantPolicy(id=f"d{n}", **p.model_dump()) for n, p in enumerate(default_policies())]
    plan = build_plan(intent(unencrypted), deployment_id=DEPLOYMENT, policies=compile_policies(defaults))
    outcome = {r["policy"]: r["result"] for r in plan.policy_results}
    assert plan.blocked and outcome["database-encryption"] == "blocked" and outcome["resource-size-known"] == "passed"
    assert outcome["production-owner-tag"] == "passed"  # the rule itself looks at production only

    graded = [p.model_copy(update={"enforcement": "soft_mandatory"}) if p.name == "database-encryption" else p
              for p in defaults]
    plan = build_plan(intent(unencrypted), deployment_id=DEPLOYMENT, policies=compile_policies(graded))
    assert not plan.blocked and plan.soft_blocked
    assert [f.rule_id for f in plan.policy.overridable] == ["database-encryption"]
    plan = build_plan(intent(unencrypted), deployment_id=DEPLOYMENT, policies=compile_policies(
        [p for p in defaults if p.name != "database-encryption"]))
    assert not plan.blocked and not plan.soft_blocked and "database-encryption" not in str(plan.policy)
