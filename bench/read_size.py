"""What reading a big deployment costs over HTTP. Run: `python bench/read_size.py [steps]`.

Starts the local cloud in-process as `make run` does (embedded PostgreSQL and Valkey in a temporary directory, the AWS
emulator, the HTTP API on a free port), stores a planned deployment of `steps` steps (10,000 by default) through the
repositories, as the planning task leaves it, without running it, then reads it over HTTP. An intent holds at most
5,000 resources, so above that the plan replaces what its stack owns: half creates (chains of four, bench/db.py) and
half destroys of resources the stack owns and the intent no longer names. Prints `name: value`:

  get_deployment_bytes_<n>   bytes of the GET /deployments/{id} body (the target is at most 65,536)
  get_deployment_ms_<n>      median ms of GET /deployments/{id}, over HTTP
  list_steps_page_ms_<n>     median ms of GET /deployments/{id}/steps (the first page of 100), over HTTP
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT / "infra"), str(ROOT / "bench")]

from db import ACTOR, intent, new_deployment, step_runs  # noqa: E402

from localcloud.cloud import LocalCloud  # noqa: E402
from localcloud.servers import running_servers  # noqa: E402
from orchestrator.adapters.postgres.pool import Database  # noqa: E402
from orchestrator.adapters.postgres.repositories import PgDeploymentRepository  # noqa: E402
from orchestrator.domain.intent import MAX_RESOURCES  # noqa: E402
from orchestrator.domain.lifecycle import Deployment, DeploymentStatus  # noqa: E402
from orchestrator.domain.resources import CloudResource  # noqa: E402
from orchestrator.planning import build_plan  # noqa: E402

RUNS = 21
WARMUP = 3
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


def _get(url: str, token: str) -> tuple[bytes, float]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    started = time.perf_counter()
    with _NO_PROXY.open(request, timeout=60) as response:
        body = response.read()
    return body, (time.perf_counter() - started) * 1000


def _median_ms(url: str, token: str) -> tuple[bytes, float]:
    for _ in range(WARMUP):
        _get(url, token)
    timings = []
    body = b""
    for _ in range(RUNS):
        body, ms = _get(url, token)
        timings.append(ms)
    return body, statistics.median(timings)


def _login(base: str, username: str, password: str) -> str:
    request = urllib.request.Request(f"{base}/api/v1/auth/login", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with _NO_PROXY.open(request, timeout=60) as response:
        return json.loads(response.read())["access_token"]


def planned(db: Database, tenant: str, steps: int) -> Deployment:
    """A deployment in `planned` with a plan of `steps` steps and their rows stored, as the planning task leaves it."""
    repo = PgDeploymentRepository(db)
    destroys = steps // 2 if steps > MAX_RESOURCES else 0
    deployment = new_deployment(repo, intent(steps - destroys), tenant)
    owned = [CloudResource(tenant_id=tenant, provider="aws", region="us-east-1", resource_type="queue",
                           name=f"old-{i}", provider_resource_id=f"q-{i}", stack=deployment.intent.name)
             for i in range(destroys)]
    deployment.transition(DeploymentStatus.PLANNING, actor=ACTOR, correlation_id="bench")
    plan = build_plan(deployment.intent, deployment_id=deployment.id, live=owned)
    assert len(plan.steps) == steps
    deployment.plan_id = plan.plan_id
    deployment.transition(DeploymentStatus.PLANNED, actor=ACTOR, correlation_id="bench")
    return repo.save(deployment, plan=plan, steps=step_runs(deployment, plan))


def measure(steps: int = 10_000) -> dict[str, float]:
    """The figures for a planned deployment of `steps` steps, in the bootstrap admin's tenant."""
    with tempfile.TemporaryDirectory(prefix="orch-bench-read-") as data, \
            running_servers(data, durable=False) as servers:
        cloud = LocalCloud(database_url=servers.database_url, redis_url=servers.redis_url, aws_port=0, api_port=0)
        cloud.start()
        try:
            admin = cloud.admin_credentials()
            token = _login(cloud.api_url, admin["username"], admin["password"])
            tenant_id = json.loads(cloud.request("GET", "/api/v1/auth/me", token=token).body)["tenant_id"]
            with Database(servers.database_url, min_size=1, max_size=2, name="bench-read") as db:
                deployment = planned(db, tenant_id, steps)
            base = f"{cloud.api_url}/api/v1/deployments/{deployment.id}"
            body, get_ms = _median_ms(base, token)
            _, page_ms = _median_ms(f"{base}/steps?limit=100", token)
        finally:
            cloud.stop()
    return {f"get_deployment_bytes_{steps}": len(body), f"get_deployment_ms_{steps}": round(get_ms, 2),
            f"list_steps_page_ms_{steps}": round(page_ms, 2)}


if __name__ == "__main__":
    for name, value in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000).items():
        print(f"{name}: {value}", flush=True)
