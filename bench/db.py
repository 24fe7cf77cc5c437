"""Database round trips and latency of the PostgreSQL repositories. Run: `python bench/db.py`.

Prints one `name: value` line per figure. `*_round_trips` counts client-server turns in libpq's protocol trace
(orchestrator.adapters.postgres.roundtrips), the most seen over several calls once each statement is warm (psycopg
prepares a statement on its fifth use on a connection, which costs one extra round trip that one time); the target
is at most 3 each. `*_ms` is the median wall-clock time of one call, untraced.

  create_deployment                 PgDeploymentRepository.add with an idempotency key: the row and its `created` event
  load_deployment[_500_steps]       get + get_plan + steps.list of a deployment whose plan has 50 (500) steps
  list_deployments[_page_10]        one page of 50 (10) deployment summaries with the total, out of 200
  record_step_result                PgStepRepository.save of a finished step under its resource lock's lease
  save_transition                   PgDeploymentRepository.save of one status change and its audit event
  save_plan_500_steps               PgDeploymentRepository.save with a plan of 500 steps and their step rows

Starts an embedded PostgreSQL and Valkey in a temporary directory (fsync off, as for the tests) unless DATABASE_URL /
REDIS_URL name servers to use; works in a database of its own, created, migrated and dropped, and under a Redis key
prefix of its own, deleted afterwards.
"""

from __future__ import annotations

import gc
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# Measure the working tree's packages even where they are not installed into the interpreter.
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT / "infra")]

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

from localcloud.servers import running_servers  # noqa: E402
from orchestrator.adapters.postgres.migrations import apply_migrations  # noqa: E402
from orchestrator.adapters.postgres.pool import Database  # noqa: E402
from orchestrator.adapters.postgres.repositories import PgDeploymentRepository, PgStepRepository  # noqa: E402
from orchestrator.adapters.postgres.roundtrips import count_round_trips  # noqa: E402
from orchestrator.adapters.redis.client import create_redis  # noqa: E402
from orchestrator.adapters.redis.locks import RedisLockManager  # noqa: E402
from orchestrator.domain.intent import DeploymentIntent, validate_intent  # noqa: E402
from orchestrator.domain.lifecycle import Deployment, DeploymentStatus  # noqa: E402
from orchestrator.domain.steps import StepRun  # noqa: E402
from orchestrator.planning import Plan, build_plan  # noqa: E402
from orchestrator.ports.locks import resource_lock  # noqa: E402

WARMUP = 10  # past psycopg's prepare threshold (5) for every statement
RUNS = 31
COUNTED = 5
TENANT = "bench"
ACTOR = "bench"
LIST_SIZE = 200
S = DeploymentStatus


def intent(resources: int) -> DeploymentIntent:
    """`resources` AWS resources in chains of four (four waves), with tags and a few properties each."""
    specs = []
    for i in range(resources):
        name = f"res-{i}"
        depends = [f"aws/us-east-1/compute/res-{i - 1}"] if i % 4 else []
        specs.append({"resource_type": "compute", "provider": "aws", "region": "us-east-1", "name": name,
                      "properties": {"size": "medium", "count": 1 + i % 3, "network": {"cidr": f"10.{i % 256}.0.0/16"}},
                      "tags": {"owner": "platform", "team": f"team-{i % 7}"}, "dependencies": depends})
    return validate_intent({"name": f"bench-{resources}", "description": f"{resources} chained resources",
                            "target_providers": ["aws"], "resources": specs, "environment": "staging",
                            "auto_approve": True})


def step_runs(deployment: Deployment, plan: Plan) -> list[StepRun]:
    """The step rows the planning task stores with a plan."""
    return [StepRun(step_id=s.step_id, deployment_id=deployment.id, tenant_id=deployment.tenant_id,
                    idempotency_key=s.idempotency_key, name=s.name, action=s.action.value, wave=s.wave,
                    resource_identifier=s.resource_identifier, resource=s.resource) for s in plan.steps]


def new_deployment(repo: PgDeploymentRepository, the_intent: DeploymentIntent, tenant: str = TENANT) -> Deployment:
    deployment = Deployment.create(the_intent, tenant_id=tenant, initiated_by=ACTOR, correlation_id="bench")
    return repo.add(deployment, idempotency_key=str(uuid.uuid4()))


def planned(repo: PgDeploymentRepository, the_intent: DeploymentIntent) -> tuple[Deployment, list[StepRun]]:
    """A deployment in `planned`, its plan and step rows stored, as the planning task leaves it."""
    deployment = new_deployment(repo, the_intent)
    deployment.transition(S.PLANNING, actor=ACTOR, correlation_id="bench")
    plan = build_plan(deployment.intent, deployment_id=deployment.id)
    steps = step_runs(deployment, plan)
    deployment.plan_id = plan.plan_id
    deployment.transition(S.PLANNED, actor=ACTOR, correlation_id="bench")
    repo.save(deployment, plan=plan, steps=steps)
    return deployment, steps


def measure(name: str, db: Database, operation: Callable[[Any], object],
            prepare: Callable[[], Any] = lambda: None) -> tuple[int, float]:
    """(most round trips of one call, median ms). `prepare` makes each call's argument, outside the measurement."""
    for _ in range(WARMUP):
        operation(prepare())
    timings = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(RUNS):
            argument = prepare()
            started = time.perf_counter()
            operation(argument)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        gc.enable()
    counts = []
    for _ in range(COUNTED):
        argument = prepare()
        with count_round_trips(db) as trips:
            operation(argument)
        counts.append(trips.count)
    most, median = max(counts), statistics.median(timings)
    print(f"{name}_round_trips: {most}", flush=True)
    print(f"{name}_ms: {median:.2f}", flush=True)
    return most, median


def database_url(server_url: str, name: str) -> str:
    if server_url.startswith(("postgresql://", "postgres://")):
        return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    return make_conninfo(server_url, dbname=name)


@contextmanager
def bench_database(server_url: str) -> Iterator[str]:
    """A migrated database of the benchmark's own on the server, dropped afterwards."""
    name = f"orch_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = database_url(server_url, name)
        apply_migrations(url)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run(db: Database, locks: RedisLockManager) -> list[str]:
    """Print every figure; returns the round-trip figures above the target or growing with the data's size."""
    deployments, steps_repo = PgDeploymentRepository(db), PgStepRepository(db)
    small, large = intent(50), intent(500)
    over: list[str] = []

    counts: dict[str, int] = {}

    def check(name: str, figures: tuple[int, float], same_as: str | None = None) -> None:
        counts[name] = figures[0]
        if figures[0] > 3:
            over.append(name)
        if same_as is not None and figures[0] > counts[same_as]:
            over.append(f"{name} (more than {same_as}: grows with size)")

    def create(_: None) -> None:
        new_deployment(deployments, small)

    check("create_deployment", measure("create_deployment", db, create))

    def load(deployment_id: str) -> None:
        assert deployments.get(deployment_id, tenant_id=TENANT) is not None
        assert deployments.get_plan(deployment_id) is not None
        assert steps_repo.list(deployment_id)

    for label, the_intent, base in (("load_deployment", small, None),
                                    ("load_deployment_500_steps", large, "load_deployment")):
        deployment, _ = planned(deployments, the_intent)
        check(label, measure(label, db, load, lambda d=deployment: d.id), base)

    listed = f"{TENANT}-list"
    for _ in range(LIST_SIZE):
        new_deployment(deployments, small, tenant=listed)
    for label, size, base in (("list_deployments_page_10", 10, None),
                              ("list_deployments", 50, "list_deployments_page_10")):
        def page(_: None, size: int = size) -> None:
            assert len(deployments.list(listed, limit=size).items) == size
        check(label, measure(label, db, page), base)

    # Each call records the result of the next step of a 500-step plan, as apply_step does once the provider answered.
    deployment, steps = planned(deployments, large)
    pending = iter(steps)

    def finished_step() -> tuple[StepRun, Any]:
        step = next(pending)
        lease = locks.acquire(resource_lock(step.tenant_id, step.resource_identifier), ttl_seconds=60)
        step.begin_attempt()
        step.result = {"operation": "apply", "identifier": step.resource_identifier, "action": "created"}
        step.succeed(f"i-{step.step_id}")
        return step, lease

    def record(argument: tuple[StepRun, Any]) -> None:
        step, lease = argument
        steps_repo.save(step, lease=lease)

    check("record_step_result", measure("record_step_result", db, record, finished_step))

    def pending_deployment(the_intent: DeploymentIntent = small) -> Deployment:
        deployment = new_deployment(deployments, the_intent)
        deployment.transition(S.PLANNING, actor=ACTOR, correlation_id="bench")
        return deployment

    check("save_transition", measure("save_transition", db, deployments.save, pending_deployment))

    def planning_deployment() -> tuple[Deployment, Plan, list[StepRun]]:
        deployment = deployments.save(pending_deployment(large))
        plan = build_plan(deployment.intent, deployment_id=deployment.id)
        deployment.plan_id = plan.plan_id
        deployment.transition(S.PLANNED, actor=ACTOR, correlation_id="bench")
        return deployment, plan, step_runs(deployment, plan)

    def save_plan(argument: tuple[Deployment, Plan, list[StepRun]]) -> None:
        deployment, plan, steps = argument
        deployments.save(deployment, plan=plan, steps=steps)

    check("save_plan_500_steps", measure("save_plan_500_steps", db, save_plan, planning_deployment))
    return over


def main() -> int:
    data_dir = tempfile.mkdtemp(prefix="orch-bench-db-")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        with running_servers(data_dir, durable=False) as servers, bench_database(servers.database_url) as url:
            redis_client = create_redis(servers.redis_url)
            try:
                with Database(url, min_size=1, max_size=2, name="bench") as db:
                    over = run(db, RedisLockManager(redis_client, key_prefix=prefix))
            finally:
                keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
                if keys:
                    redis_client.delete(*keys)
                redis_client.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    if over:
        print(f"round trips over the target of 3, or growing: {'; '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
