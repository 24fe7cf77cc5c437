"""Desired versus live: create, update (with dotted changed paths), no-op, destroy; `simulate` is no change."""

from __future__ import annotations

import pytest

from orchestrator.planning import StepAction, build_plan
from orchestrator.planning.diff import changed_paths, diff_resources

from .factories import DEPLOYMENT, intent, live, res

SPEC = res("api", properties={"size": "medium", "network": {"cidr": "10.0.0.0/16", "subnets": ["a", "b"]},
                              "count": 2}, tags={"owner": "team-a", "team": "payments"})


def only_step(spec, *inventory):
    plan = build_plan(intent(spec), deployment_id=DEPLOYMENT, live=list(inventory))
    return plan.steps[0]


def test_resource_absent_from_inventory_is_created():
    step = only_step(SPEC)
    assert step.action == StepAction.CREATE and step.changed_paths == []


def test_identical_live_resource_is_a_no_op():
    step = only_step(SPEC, live(SPEC))
    assert step.action == StepAction.NO_OP and step.changed_paths == []


@pytest.mark.parametrize(("live_properties", "live_tags", "paths"), [
    ({**SPEC["properties"], "size": "small"}, None, ["properties.size"]),
    ({**SPEC["properties"], "network": {"cidr": "10.9.0.0/16", "subnets": ["a", "b"]}}, None,
     ["properties.network.cidr"]),
    ({**SPEC["properties"], "network": {"cidr": "10.0.0.0/16", "subnets": ["a"]}}, None,
     ["properties.network.subnets"]),
    ({**SPEC["properties"], "network": "vpc-1"}, None, ["properties.network"]),
    ({k: v for k, v in SPEC["properties"].items() if k != "count"}, None, ["properties.count"]),
    ({**SPEC["properties"], "extra": 1}, None, ["properties.extra"]),
    (None, {"owner": "team-a", "team": "search"}, ["tags.team"]),
    (None, {"owner": "team-a"}, ["tags.team"]),
    ({**SPEC["properties"], "size": "large", "network": {"cidr": "x", "subnets": ["a", "b"]}},
     {"owner": "b", "team": "payments"}, ["properties.network.cidr", "properties.size", "tags.owner"]),
], ids=["scalar", "nested-scalar", "list-whole", "dict-to-scalar", "removed-key", "added-key", "tag-changed",
        "tag-removed", "several-sorted"])
def test_changed_live_resource_is_updated_with_dotted_paths_of_what_differs(live_properties, live_tags, paths):
    step = only_step(SPEC, live(SPEC, properties=live_properties, tags=live_tags))
    assert step.action == StepAction.UPDATE
    assert step.changed_paths == paths


def test_simulate_settings_are_not_a_change_on_either_side():
    with_simulate = res("api", properties={"size": "small", "simulate": {"fail_apply": 2}})
    assert only_step(with_simulate, live(with_simulate, properties={"size": "small"})).action == StepAction.NO_OP
    plain = res("api", properties={"size": "small"})
    live_simulating = live(plain, properties={"size": "small", "simulate": {"fail_verify": True}})
    assert only_step(plain, live_simulating).action == StepAction.NO_OP
    changed = live(with_simulate, properties={"size": "large", "simulate": {"latency_ms": 5}})
    assert only_step(with_simulate, changed).changed_paths == ["properties.size"]


def test_a_boolean_replacing_a_number_is_a_change_although_python_says_1_equals_true():
    spec = res("api", properties={"flags": {"enabled": True}, "count": 1})
    step = only_step(spec, live(spec, properties={"flags": {"enabled": 1}, "count": 1}))
    assert step.action == StepAction.UPDATE and step.changed_paths == ["properties.flags.enabled"]


def test_an_integer_and_an_equal_float_are_the_same_value():
    spec = res("api", properties={"disk_gb": 100})
    assert only_step(spec, live(spec, properties={"disk_gb": 100.0})).action == StepAction.NO_OP


def test_live_resources_the_intent_no_longer_names_are_destroyed_in_identifier_order():
    keep = res("keep")
    gone_b, gone_a = res("b-gone", "queue", "gcp"), res("a-gone", "storage", "azure")
    plan = build_plan(intent(keep), deployment_id=DEPLOYMENT, live=[live(gone_b), live(keep), live(gone_a)])
    assert [(s.name, s.action) for s in plan.steps] == [
        ("keep", StepAction.NO_OP), ("a-gone", StepAction.DESTROY), ("b-gone", StepAction.DESTROY)]


def test_destroy_step_carries_the_inventory_records_spec():
    gone = res("old", "storage", properties={"size": "large"}, tags={"owner": "x"})
    plan = build_plan(intent(res("keep")), deployment_id=DEPLOYMENT, live=[live(gone)])
    destroy = plan.steps[-1]
    assert destroy.resource == {"resource_type": "storage", "provider": "aws", "region": "us-east-1", "name": "old",
                                "properties": {"size": "large"}, "tags": {"owner": "x"}, "dependencies": []}
    assert destroy.resource_identifier == "aws/us-east-1/storage/old"


def test_a_record_made_by_hand_at_an_intent_address_is_updated_in_place_and_taken_into_the_stack():
    spec = res("shared", properties={"size": "large"})
    plan = build_plan(intent(spec), deployment_id=DEPLOYMENT,
                      live=[live(spec, properties={"size": "small"}, deployment_id=None)])
    step = plan.steps[0]
    assert step.action == StepAction.UPDATE and step.changed_paths == ["properties.size"]
    assert step.owner_stack is None and not plan.blocked


def test_a_record_another_stack_owns_is_blocked_unless_the_intent_adopts_it():
    spec = res("shared", properties={"size": "large"})
    theirs = live(spec, properties={"size": "small"}, deployment_id="someone-else")
    plan = build_plan(intent(spec), deployment_id=DEPLOYMENT, live=[theirs])
    assert plan.steps[0].owner_stack == "stack-of-someone-else" and plan.blocked
    [finding] = plan.policy.violations
    assert finding.rule_id == "resource_owned_elsewhere"
    assert finding.resource_identifier == "aws/us-east-1/compute/shared" and "adopt" in finding.message

    adopted = build_plan(intent({**spec, "adopt": True}), deployment_id=DEPLOYMENT, live=[theirs])
    assert not adopted.blocked and adopted.steps[0].action == StepAction.UPDATE
    assert [w.rule_id for w in adopted.policy.warnings] == ["resource_adopted"]


def test_a_second_run_of_the_stack_destroys_what_its_first_run_made_and_the_intent_dropped():
    dropped = live(res("dropped", "queue"), deployment_id="run-1", stack="checkout")
    plan = build_plan(intent(res("keep")), deployment_id=DEPLOYMENT, live=[dropped])
    assert [(s.name, s.action) for s in plan.steps] == [("keep", StepAction.CREATE), ("dropped", StepAction.DESTROY)]


def test_records_this_stack_does_not_own_are_never_destroyed():
    theirs = live(res("theirs"), deployment_id="someone-else")
    by_hand = live(res("by-hand", "storage"), deployment_id=None)
    mine = live(res("mine-old", "queue"))
    plan = build_plan(intent(res("keep")), deployment_id=DEPLOYMENT, live=[theirs, by_hand, mine])
    assert [(s.name, s.action) for s in plan.steps] == [("keep", StepAction.CREATE), ("mine-old", StepAction.DESTROY)]


def test_diff_resources_lists_every_change_in_plan_order():
    a, b, c = res("a"), res("b", properties={"size": "large"}), res("c")
    gone = res("gone")
    parsed = intent(a, b, c)
    inventory = [live(b, properties={"size": "small"}), live(c), live(gone)]
    changes = diff_resources(parsed.resources, inventory, stack="checkout")
    assert [(ch.identifier.rsplit("/", 1)[1], ch.action, ch.changed_paths) for ch in changes] == [
        ("a", StepAction.CREATE, ()), ("b", StepAction.UPDATE, ("properties.size",)), ("c", StepAction.NO_OP, ()),
        ("gone", StepAction.DESTROY, ())]


def test_changed_paths_compares_lists_whole_and_dicts_key_by_key():
    assert changed_paths({"a": {"b": [1, 2], "c": {"d": 1}}}, {}, {"a": {"b": [2, 1], "c": {"d": 2}}}, {}) == [
        "properties.a.b", "properties.a.c.d"]


# -- old and new values of an update -----------------------------------------------------------------------------------


def _changes(step) -> list[tuple[str, object, object]]:
    return [(c.path, c.old, c.new) for c in step.changes]


@pytest.mark.parametrize(("live_properties", "live_tags"), [
    ({**SPEC["properties"], "size": "small"}, None),
    ({**SPEC["properties"], "network": {"cidr": "10.9.0.0/16", "subnets": ["a", "b"]}}, None),
    ({**SPEC["properties"], "network": "vpc-1"}, None),
    ({k: v for k, v in SPEC["properties"].items() if k != "count"}, {"owner": "team-a"}),
    ({**SPEC["properties"], "extra": {"x": 1}, "count": True}, {"owner": "b", "team": "payments", "new": "1"}),
], ids=["scalar", "nested", "dict-to-scalar", "removed", "several"])
def test_each_changed_path_has_its_old_and_new_value_at_the_same_paths(live_properties, live_tags):
    step = only_step(SPEC, live(SPEC, properties=live_properties, tags=live_tags))
    assert [c.path for c in step.changes] == step.changed_paths


def test_an_update_reports_the_live_value_as_old_and_the_intents_as_new_none_when_absent():
    spec = res("api", properties={"size": "large", "network": {"cidr": "10.0.0.0/16"}, "zones": ["a", "b"]},
               tags={"team": "web"})
    step = only_step(spec, live(spec, properties={"size": "small", "network": {"cidr": "10.9.0.0/16"},
                                                  "zones": ["a"], "legacy": 1},
                                tags={"team": "web", "owner": "ops"}))
    assert _changes(step) == [("properties.legacy", 1, None), ("properties.network.cidr", "10.9.0.0/16", "10.0.0.0/16"),
                              ("properties.size", "small", "large"), ("properties.zones", ["a"], ["a", "b"]),
                              ("tags.owner", "ops", None)]


def test_a_boolean_replacing_a_number_is_shown_with_both_kinds():
    spec = res("api", properties={"enabled": True})
    assert _changes(only_step(spec, live(spec, properties={"enabled": 1}))) == [("properties.enabled", 1, True)]


@pytest.mark.parametrize(("key", "old", "new"), [
    ("db_password", "hunter2", "correct-horse"), ("clientSecret", "a", "b"), ("auth-token", "t1", "t2"),
    ("API_KEY", "k1", None), ("connection_string", None, "postgres://u:p@h/db"),
])
def test_values_of_secret_looking_keys_are_masked_on_both_sides(key, old, new):
    spec = res("api", properties={key: new} if new is not None else {})
    step = only_step(spec, live(spec, properties={key: old} if old is not None else {}))
    [(path, shown_old, shown_new)] = _changes(step)
    assert path == f"properties.{key}"
    assert shown_old == ("(sensitive)" if old is not None else None)
    assert shown_new == ("(sensitive)" if new is not None else None)
    assert "hunter2" not in step.model_dump_json() and "postgres://" not in str(step.changes)


def test_secrets_below_a_secret_key_or_inside_a_changed_object_are_masked_and_the_rest_shown():
    spec = res("api", properties={"credentials": {"user": "app", "rotation_days": 30},
                                  "database": {"engine": "pg", "password": "new-pass"}})
    step = only_step(spec, live(spec, properties={"credentials": {"user": "root", "rotation_days": 30},
                                                  "database": "legacy"}))
    assert _changes(step) == [
        ("properties.credentials.user", "(sensitive)", "(sensitive)"),
        ("properties.database", "legacy", {"engine": "pg", "password": "(sensitive)"})]


def test_only_updates_carry_changes():
    gone = res("gone", "queue")
    plan = build_plan(intent(SPEC, res("new")), deployment_id=DEPLOYMENT, live=[live(SPEC), live(gone)])
    assert [(s.action, s.changes) for s in plan.steps] == [
        (StepAction.NO_OP, []), (StepAction.CREATE, []), (StepAction.DESTROY, [])]
