"""Step Functions' limits, enforced by the local engine as AWS enforces them, and a large plan staying inside them.

AWS fails a Standard execution at 25,000 history events and a state whose input or output passes 256 KB
(`States.DataLimitExceeded`), and no Catch applies. The local cloud does the same (infra/localcloud/sfn_limits.py),
so a deployment that would die on AWS dies here too. The lifecycle tests below shrink both the engine's cap and the
planner's event budget by the same factor, so the batched path a 10,000-resource plan takes runs on a few hundred
resources with the same code.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from localcloud import sfn_limits
from orchestrator.planning import schedule as schedule_module

TERMINAL = {"completed", "failed", "rolled_back", "cancelled"}


def _run(local_cloud, definition: dict[str, Any], execution_input: dict[str, Any], timeout: float = 120):
    sfn = local_cloud.emulator.client("stepfunctions")
    arn = local_cloud.emulator.put_state_machine(f"limits-{uuid.uuid4().hex[:8]}", json.dumps(definition))
    execution = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(execution_input))
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution still running"
        time.sleep(0.1)
    return described, history(local_cloud, execution["executionArn"])


def history(local_cloud, execution_arn: str) -> list[dict[str, Any]]:
    return local_cloud.emulator.execution_history(execution_arn)


COUNTER_LOOP = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Result": {"n": 0}, "Next": "Count"},
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "More"},
        "More": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 1000000, "Next": "Count"}],
                 "Default": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def test_an_execution_reaching_25000_history_events_fails_as_on_aws(local_cloud):
    described, events = _run(local_cloud, COUNTER_LOOP, {})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime" and "25000 events" in described["cause"]
    assert sfn_limits.HISTORY_EVENT_LIMIT == 25_000
    assert len(events) <= 25_001 and events[-1]["type"] == "ExecutionFailed"


DOUBLING = {
    "StartAt": "Guarded",
    "States": {
        "Guarded": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "Double", "States": {
                "Double": {"Type": "Pass", "Parameters": {"a.$": "$.big", "b.$": "$.big"}, "End": True}}}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "Next": "Done",
        },
        "Caught": {"Type": "Succeed"},
        "Done": {"Type": "Succeed"},
    },
}


def test_a_state_output_over_256_kb_fails_with_data_limit_exceeded_and_no_catch_applies(local_cloud):
    described, events = _run(local_cloud, DOUBLING, {"big": "x" * 150_000})
    assert described["status"] == "FAILED" and described["error"] == "States.DataLimitExceeded"
    assert "Double" in described["cause"]
    assert not any(e["type"] == "SucceedStateEntered" for e in events)


def test_a_state_output_just_under_256_kb_passes(local_cloud):
    described, _ = _run(local_cloud, DOUBLING, {"big": "x" * 120_000})
    assert described["status"] == "SUCCEEDED"


# --- A large plan, scaled down: the engine's cap and the planner's budget shrink together ---------------------

SCALE = 25  # 25,000 / 25 = a 1,000-event cap; 10,000 / 25 = a 400-event budget per phase


@pytest.fixture
def scaled_limits(monkeypatch):
    monkeypatch.setattr(sfn_limits, "HISTORY_EVENT_LIMIT", sfn_limits.HISTORY_EVENT_LIMIT // SCALE)
    monkeypatch.setattr(schedule_module, "PHASE_EVENT_BUDGET", schedule_module.PHASE_EVENT_BUDGET // SCALE)


def _intent(name: str, count: int, *, fail_last: bool = False) -> dict[str, Any]:
    """Three tiers (networks, then databases on them, then compute on those), like a large real intent."""
    resources = []
    for i in range(count):
        tier = ("network", "database", "compute")[i * 3 // count]
        resource: dict[str, Any] = {"resource_type": tier, "provider": "aws", "region": "us-east-1",
                                    "name": f"{name}-{tier}-{i}", "properties": {}}
        if tier != "network":
            parent = "network" if tier == "database" else "database"
            resource["dependencies"] = [f"aws/us-east-1/{parent}/{name}-{parent}-{i - count // 3}"]
        resources.append(resource)
    if fail_last:
        resources[-1]["properties"]["simulate"] = {"fail_apply": "always"}
    return {"name": name, "description": "a large plan, scaled down", "environment": "staging",
            "target_providers": ["aws"], "auto_approve": True, "max_concurrency": 40,
            "resources": resources}


@pytest.fixture
def operator(admin, tenant: str):
    return admin.create_user("operator", tenant)


def _finish(api, deployment_id: str) -> dict[str, Any]:
    return api.wait_for(deployment_id, TERMINAL, timeout=300)


def _batches(deployment_id: str) -> tuple[int, int]:
    """(steps, distinct apply batches) as stored."""
    from orchestrator.wiring import services

    steps = services().steps.list(deployment_id)
    return len(steps), len({step.batch for step in steps})


def test_a_plan_too_large_for_one_step_per_task_runs_in_batches_within_the_cap(local_cloud, operator,
                                                                            scaled_limits):
    count = 240  # one step per task would need 7 x 240 + 6 x 3 + 38 = 1,736 events: past the 1,000 cap
    created = operator.deploy(_intent(f"big-{uuid.uuid4().hex[:6]}", count))
    done = _finish(operator, created["id"])
    assert done["status"] == "completed", done.get("error_message")
    steps, batches = _batches(created["id"])
    assert steps == count and batches < count  # several steps per batch
    assert len(operator.resources(created["id"])) == count
    events = history(local_cloud, done["execution_arn"])
    assert len(events) <= sfn_limits.HISTORY_EVENT_LIMIT and events[-1]["type"] == "ExecutionSucceeded"


def test_a_large_failing_plan_rolls_back_every_applied_step_within_the_cap(local_cloud, operator, scaled_limits):
    count = 240
    created = operator.deploy(_intent(f"undo-{uuid.uuid4().hex[:6]}", count, fail_last=True))
    done = _finish(operator, created["id"])
    assert done["status"] == "rolled_back", done.get("error_message")
    assert operator.resources(created["id"]) == []  # every applied step undone
    events = history(local_cloud, done["execution_arn"])
    assert len(events) <= sfn_limits.HISTORY_EVENT_LIMIT and events[-1]["type"] == "ExecutionFailed"
    assert any(e["type"] == "MapStateEntered" and e["stateEnteredEventDetails"]["name"] == "RollBackAppliedSteps"
               for e in events)


def test_without_batching_the_same_plan_dies_on_the_cap_as_it_would_on_aws(local_cloud, operator, monkeypatch,
                                                                         scaled_limits):
    monkeypatch.setattr(schedule_module, "PHASE_EVENT_BUDGET", 10**9)  # one step per task, whatever the size
    created = operator.deploy(_intent(f"nobatch-{uuid.uuid4().hex[:6]}", 240))
    sfn = local_cloud.emulator.client("stepfunctions")
    deadline = time.monotonic() + 300
    while True:
        arn = operator.get(created["id"]).get("execution_arn")
        if arn and (described := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline
        time.sleep(0.25)
    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"


def test_a_retried_batch_reruns_only_its_failed_step_and_applies_nothing_twice(local_cloud, operator, scaled_limits):
    from orchestrator.wiring import services

    count = 240
    intent = _intent(f"retry-{uuid.uuid4().hex[:6]}", count)
    flaky = intent["resources"][count // 2]  # a database in the middle of a batch
    flaky["properties"]["simulate"] = {"fail_apply": 1}  # its first attempt fails, the second succeeds
    created = operator.deploy(intent)
    done = _finish(operator, created["id"])
    assert done["status"] == "completed", done.get("error_message")
    steps = services().steps.list(created["id"])
    retried = [s for s in steps if s.resource["name"] == flaky["name"]]
    assert [s.attempt for s in retried] == [2]
    batch_mates = [s for s in steps if s.batch == retried[0].batch and s.step_id != retried[0].step_id]
    assert batch_mates and all(s.attempt == 1 for s in batch_mates)  # the batch ran again; they did not
    assert all(s.status.value == "succeeded" for s in steps)
    assert len(operator.resources(created["id"])) == count
