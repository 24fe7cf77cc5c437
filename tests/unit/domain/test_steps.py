import itertools

import pytest

from orchestrator.domain.errors import InvalidTransition, RetryLimitExceeded
from orchestrator.domain.steps import MAX_ATTEMPTS, STEP_TRANSITIONS, StepRun, StepStatus, check_step_transition

T = StepStatus
LEGAL = [(a, b) for a in T for b in STEP_TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in itertools.product(T, T) if b not in STEP_TRANSITIONS[a]]


def make_step() -> StepRun:
    return StepRun(step_id="s1", deployment_id="d1", idempotency_key="k1")


def test_nine_step_states():
    assert len(T) == 9 and set(STEP_TRANSITIONS) == set(T)


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_legal_step_transition_is_accepted(current, target):
    check_step_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_illegal_step_transition_names_the_states(current, target):
    with pytest.raises(InvalidTransition) as caught:
        check_step_transition(current, target)
    assert f"'{current}'" in str(caught.value) and f"'{target}'" in str(caught.value)


def test_attempts_count_up_and_stop_at_three():
    step = make_step()
    for expected in range(1, MAX_ATTEMPTS + 1):
        assert step.begin_attempt() == expected
        assert step.status == T.RUNNING
        step.fail(f"boom {expected}")
        assert step.error_message == f"boom {expected}"
    assert not step.can_retry
    with pytest.raises(RetryLimitExceeded):
        step.begin_attempt()
    assert step.attempt == MAX_ATTEMPTS


def test_retry_after_failure_then_success_records_attempt_two():
    step = make_step()
    step.begin_attempt()
    step.fail("transient")
    assert step.can_retry
    assert step.begin_attempt() == 2
    assert step.error_message is None
    step.succeed("i-0abc")
    assert step.status == T.SUCCEEDED and step.provider_resource_id == "i-0abc"
    assert step.duration_seconds is not None and step.duration_seconds >= 0


def test_timed_out_step_can_be_retried():
    step = make_step()
    step.begin_attempt()
    step.time_out()
    assert step.status == T.TIMED_OUT and step.can_retry
    assert step.begin_attempt() == 2


def test_an_attempt_left_in_flight_by_a_dead_worker_counts_as_timed_out_and_the_next_one_begins():
    step = make_step()
    step.begin_attempt()  # recorded as running, then the worker died before recording an outcome
    assert step.begin_attempt() == 2
    assert step.status == T.RUNNING and step.error_message is None


def test_succeeded_step_cannot_run_again():
    step = make_step()
    step.begin_attempt()
    step.succeed()
    with pytest.raises(InvalidTransition):
        step.begin_attempt()


def test_idempotency_key_is_required():
    with pytest.raises(ValueError):
        StepRun(step_id="s1", deployment_id="d1")
