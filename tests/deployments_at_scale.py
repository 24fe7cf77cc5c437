"""Deployments of thousands of steps, built cheaply through the repositories: an intent planned and stored as the
planning task stores it, without running it; then some of its steps recorded as run.

An intent holds at most 5,000 resources; a plan of more steps replaces what the stack owns: it creates half and
destroys the other half (resources the stack owns that the intent no longer names)."""

from __future__ import annotations

from typing import Any

from orchestrator.adapters.postgres.pool import Database
from orchestrator.adapters.postgres.repositories import PgDeploymentRepository, PgStepRepository
from orchestrator.domain.intent import MAX_RESOURCES, validate_intent
from orchestrator.domain.lifecycle import Deployment, DeploymentStatus
from orchestrator.domain.resources import CloudResource
from orchestrator.domain.steps import StepRun
from orchestrator.planning import build_plan

WAVES = 4  # resources chained four deep


def chained_intent(resources: int) -> dict[str, Any]:
    specs = [{"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": f"res-{i}",
              "properties": {"size": "medium"}, "tags": {"team": f"team-{i % 7}"},
              "dependencies": [f"aws/us-east-1/compute/res-{i - 1}"] if i % WAVES else []}
             for i in range(resources)]
    return {"name": "big", "description": "steps read a page at a time", "target_providers": ["aws"],
            "environment": "staging", "auto_approve": False, "resources": specs}


def owned(tenant: str, count: int) -> list[CloudResource]:
    """`count` live resources of the stack "big" that `chained_intent` does not name: its plan destroys them."""
    return [CloudResource(tenant_id=tenant, provider="aws", region="us-east-1", resource_type="queue",
                          name=f"old-{i}", provider_resource_id=f"q-{i}", stack="big") for i in range(count)]


def stored_deployment(db: Database, tenant: str, steps: int, *, succeeded: int = 0, failed: int = 0,
                      plan_changes: dict[str, Any] | None = None) -> tuple[str, list[StepRun]]:
    """A planned deployment of `steps` steps; its first `succeeded` steps ran, the next `failed` failed.
    `plan_changes` replaces fields of the plan before it is stored (findings the planner would report)."""
    repo, steps_repo = PgDeploymentRepository(db), PgStepRepository(db)
    destroys = steps // 2 if steps > MAX_RESOURCES else 0
    deployment = repo.add(Deployment.create(validate_intent(chained_intent(steps - destroys)), tenant_id=tenant,
                                            initiated_by="tester", correlation_id="test"))
    deployment.transition(DeploymentStatus.PLANNING, actor="tester", correlation_id="test")
    plan = build_plan(deployment.intent, deployment_id=deployment.id, live=owned(tenant, destroys))
    assert len(plan.steps) == steps
    plan = plan.model_copy(update=plan_changes or {})
    runs = [StepRun(step_id=s.step_id, deployment_id=deployment.id, tenant_id=tenant,
                    idempotency_key=s.idempotency_key, name=s.name, action=s.action.value, wave=s.wave,
                    resource_identifier=s.resource_identifier, resource=s.resource) for s in plan.steps]
    deployment.plan_id = plan.plan_id
    deployment.transition(DeploymentStatus.PLANNED, actor="tester", correlation_id="test")
    repo.save(deployment, plan=plan, steps=runs)
    for index, run in enumerate(runs[:succeeded + failed]):
        run.begin_attempt()
        run.succeed(f"i-{run.step_id}") if index < succeeded else run.fail("quota exceeded")
        steps_repo.save(run)
    return deployment.id, runs
