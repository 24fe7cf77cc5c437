import itertools

import pytest

from orchestrator.domain.errors import InvalidTransition
from orchestrator.domain.intent import validate_intent
from orchestrator.domain.lifecycle import (
    EVENT_ON_ENTER,
    SETTLED,
    TRANSITIONS,
    Deployment,
    DeploymentStatus,
    EventType,
)

S = DeploymentStatus
LEGAL = [(a, b) for a in S for b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in itertools.product(S, S) if b not in TRANSITIONS[a]]


def make_deployment(status: DeploymentStatus = S.PENDING) -> Deployment:
    intent = validate_intent({
        "name": "web", "description": "a web tier", "target_providers": ["aws"],
        "resources": [{"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": "vpc"}],
    })
    deployment = Deployment.create(intent, tenant_id="acme", initiated_by="alice", correlation_id="corr-1")
    deployment.status = status
    deployment.pull_events()
    return deployment


def test_there_are_thirteen_states_each_with_a_transition_entry():
    assert len(S) == 13
    assert set(TRANSITIONS) == set(S)
    assert set(EVENT_ON_ENTER) == set(S)


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_legal_transition_moves_and_records_its_event(current, target):
    deployment = make_deployment(current)
    event = deployment.transition(target, actor="bob", correlation_id="corr-9", detail={"why": "test"})
    assert deployment.status == target
    assert event.type == EVENT_ON_ENTER[target]
    assert (event.from_status, event.to_status) == (current, target)
    assert (event.actor, event.correlation_id, event.deployment_id) == ("bob", "corr-9", deployment.id)
    assert event.detail["why"] == "test"
    assert event.at.tzinfo is not None
    assert deployment.pull_events() == [event]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_illegal_transition_names_current_asked_and_legal_states(current, target):
    deployment = make_deployment(current)
    with pytest.raises(InvalidTransition) as caught:
        deployment.transition(target, actor="bob", correlation_id="c")
    message = str(caught.value)
    assert f"'{current}'" in message and f"'{target}'" in message
    for allowed in TRANSITIONS[current]:
        assert allowed.value in message
    assert caught.value.allowed == sorted(s.value for s in TRANSITIONS[current])
    assert deployment.status == current
    assert deployment.pull_events() == []


@pytest.mark.parametrize(("current", "target"), [
    (S.AWAITING_APPROVAL, S.REJECTED),   # added to the original design
    (S.EXECUTING, S.ROLLING_BACK),       # cancel while executing
    (S.COMPLETED, S.ROLLING_BACK),       # manual rollback
    (S.REJECTED, S.PENDING),             # re-plan
    (S.CANCELLED, S.PENDING),
])
def test_transitions_beyond_the_original_design(current, target):
    assert target in TRANSITIONS[current]


def test_create_records_created_event_with_actor_and_correlation():
    intent = make_deployment().intent
    deployment = Deployment.create(intent, tenant_id="acme", initiated_by="alice", correlation_id="req-1")
    [event] = deployment.pull_events()
    assert event.type == EventType.CREATED
    assert (event.actor, event.correlation_id) == ("alice", "req-1")
    assert event.detail == {"resources": 1, "environment": "development"}


def test_failure_keeps_error_message_and_replan_clears_it():
    deployment = make_deployment(S.EXECUTING)
    event = deployment.transition(S.FAILED, actor="workflow", correlation_id="c", error_message="apply failed")
    assert deployment.error_message == "apply failed" and event.detail["error"] == "apply failed"
    deployment.transition(S.PENDING, actor="alice", correlation_id="c")
    assert deployment.error_message is None


def test_non_transition_events_are_recorded_without_status_change():
    deployment = make_deployment(S.EXECUTING)
    event = deployment.record(EventType.STEP_SUCCEEDED, actor="workflow", correlation_id="c", detail={"step": "s1"})
    assert deployment.status == S.EXECUTING
    assert event.from_status is None and event.to_status is None


def test_full_happy_path_reaches_completed():
    deployment = make_deployment()
    for target in (S.PLANNING, S.PLANNED, S.AWAITING_APPROVAL, S.APPROVED, S.EXECUTING, S.VERIFYING, S.COMPLETED):
        deployment.transition(target, actor="a", correlation_id="c")
    assert deployment.is_settled
    assert [e.type for e in deployment.pull_events()] == [
        EventType.PLANNING_STARTED, EventType.PLAN_GENERATED, EventType.APPROVAL_REQUESTED, EventType.APPROVED,
        EventType.EXECUTION_STARTED, EventType.VERIFICATION_STARTED, EventType.COMPLETED,
    ]


def test_settled_states_are_where_no_workflow_runs():
    assert SETTLED == {S.COMPLETED, S.FAILED, S.ROLLED_BACK, S.CANCELLED, S.REJECTED}
