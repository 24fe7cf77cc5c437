"""Chaos run: inject each fault issue 9 names at least three times against the local cloud and count what survived.
Run: `python bench/chaos.py` (`make bench` runs it).

Starts embedded PostgreSQL and Valkey in a temporary directory and the local cloud as a separate process (so it can
be killed), then, three times each:

  race       two stacks deploy the same resource at the same moment; the loser is then rolled back
  valkey     Valkey is stopped for 3 s while a deployment with a failing step applies
  crash      the local cloud is killed (SIGKILL) mid-apply, started again, and the recovery sweep fired
  malformed  bodies and headers that must get a 4xx (undecodable, too deep, huge numbers, wrong types)

Prints `name: value` lines:

  faults_injected            faults injected in all
  faults_survived            faults after which every guarantee held (equal to the above when all is well)
  orphaned_resources         inventory records left by deployments that did not complete
  cross_deployment_deletes   resources of one stack removed by another stack's run or rollback
  stuck_deployments          deployments not settled at the end (after a last recovery sweep)
  server_errors              5xx answers over the whole run
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT / "infra")]

from localcloud.process import LocalCloudProcess  # noqa: E402
from localcloud.servers import start_servers  # noqa: E402

ROUNDS = 3
SETTLED = {"completed", "failed", "rolled_back", "cancelled", "rejected"}


def queue(name: str, **properties: Any) -> dict:
    return {"resource_type": "queue", "provider": "aws", "region": "us-east-1", "name": name,
            "properties": {"size": "small", **properties}, "tags": {"owner": "chaos"}}


def intent(name: str, resources: list[dict]) -> dict:
    return {"name": name, "description": "chaos run", "target_providers": ["aws"], "environment": "staging",
            "auto_approve": True, "resources": resources}


def slow(name: str, *, failing: bool) -> dict:
    network = {"resource_type": "network", "provider": "aws", "region": "us-east-1", "name": f"{name}-net",
               "properties": {"cidr": "10.0.0.0/16"}, "tags": {"owner": "chaos"}}
    depends = [f"aws/us-east-1/network/{name}-net"]
    queues = [{**queue(f"{name}-q{n}", simulate={"latency_ms": 2500}), "dependencies": depends} for n in range(4)]
    if failing:
        queues.append({**queue(f"{name}-broken", simulate={"fail_apply": "always", "latency_ms": 300}),
                       "dependencies": depends})
    return intent(name, [network, *queues])


class Chaos:
    def __init__(self, cloud: LocalCloudProcess, servers):
        self.cloud, self.servers = cloud, servers
        self.token = ""
        self.injected = self.survived = self.server_errors = self.cross_deletes = 0
        self.deployments: list[str] = []

    # -- HTTP, counting every 5xx ---------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        status, answer = self.cloud.call(method, path, body, self.token, **kwargs)
        if status >= 500:
            self.server_errors += 1
        return status, answer

    def login(self) -> None:
        status, body = self.call("POST", "/api/v1/auth/login", {"username": "admin",
                                                                "password": self.cloud.admin_password()})
        assert status == 200, body
        self.token = body["access_token"]

    def deploy(self, body: dict) -> str:
        status, created = self.call("POST", "/api/v1/deployments", body)
        assert status == 201, created
        self.deployments.append(created["id"])
        return created["id"]

    def get(self, deployment_id: str) -> dict:
        status, body = self.call("GET", f"/api/v1/deployments/{deployment_id}")
        return body if status == 200 else {"status": "unknown", "steps": {"by_status": {}}}

    def wait(self, deployment_id: str, predicate, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            deployment = self.get(deployment_id)
            if predicate(deployment) or time.monotonic() > deadline:
                return deployment
            time.sleep(0.2)

    def settled(self, deployment_id: str, timeout: float = 180) -> dict:
        return self.wait(deployment_id, lambda d: d["status"] in SETTLED, timeout)

    def inventory(self) -> dict[str, dict]:
        """The tenant's whole inventory, page by page."""
        found: dict[str, dict] = {}
        after = None
        while True:
            status, body = self.call("GET", "/api/v1/cloud/resources?limit=500"
                                     + (f"&after={urllib.parse.quote(after)}" if after else ""))
            if status != 200:
                return found
            found.update({r["resource_identifier"]: r for r in body["items"]})
            if not (after := body.get("next_after")):
                return found

    def clean(self, deployment: dict) -> bool:
        """Rolled back, no step left in flight, nothing of it in the inventory."""
        steps = {status for status, count in deployment["steps"]["by_status"].items() if count}
        mine = [r for r in self.inventory().values() if r["deployment_id"] == deployment["id"]]
        return deployment["status"] == "rolled_back" and not steps & {"running", "acquired", "queued"} and not mine

    # -- the faults -------------------------------------------------------------------------------------------------

    def race(self, n: int) -> bool:
        name, ids = f"shared-{n}", {}
        start = threading.Barrier(2)

        def post(stack: str) -> None:
            start.wait()
            ids[stack] = self.deploy(intent(stack, [queue(name, stack=stack)]))

        threads = [threading.Thread(target=post, args=(f"race-{side}-{n}",)) for side in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done = {stack: self.settled(i) for stack, i in ids.items()}
        winners = [stack for stack, d in done.items() if d["status"] == "completed"]
        if len(winners) != 1:
            return False
        identifier = f"aws/us-east-1/queue/{name}"
        owned = self.inventory().get(identifier)
        [loser] = set(done) - set(winners)
        self.call("POST", f"/api/v1/deployments/{ids[loser]}/rollback")
        self.settled(ids[loser])
        after = self.inventory().get(identifier)
        if after is None:
            self.cross_deletes += 1
        return owned is not None and owned["stack"] == winners[0] and after == owned

    def valkey_outage(self, n: int) -> bool:
        deployment_id = self.deploy(slow(f"valkey-{n}", failing=True))
        self.wait(deployment_id, lambda d: d["steps"]["by_status"].get("succeeded", 0) > 0, 60)
        self.servers.stop_redis()
        time.sleep(3)
        self.servers.start_redis()
        return self.clean(self.settled(deployment_id, 300))

    def crash(self, n: int) -> bool:
        deployment_id = self.deploy(slow(f"crash-{n}", failing=False))
        self.wait(deployment_id, lambda d: d["steps"]["by_status"].get("running", 0) > 0, 60)
        self.cloud.kill()
        self.cloud.start()
        self.cloud.fire("ReconcileFunction")
        return self.clean(self.settled(deployment_id, 300))

    def malformed(self, n: int) -> bool:
        good = intent(f"bad-{n}", [queue(f"bad-{n}")])
        cases = [
            ("POST", "/api/v1/deployments", {"raw": b"[" * 100_000}),
            ("POST", "/api/v1/auth/login", {"raw": b"[" * 100_000}),
            ("POST", "/api/v1/deployments", {"body": {**good, "target_providers": [{}]}}),
            ("POST", "/api/v1/deployments", {"body": {**good, "target_providers": [[]]}}),
            ("POST", "/api/v1/deployments", {"raw": b'{"name": ' + b"9" * 5000 + b"}"}),
            ("POST", "/api/v1/deployments", {"raw": b'{"name": "\xff\xfe"}'}),
            ("POST", "/api/v1/deployments", {"body": good, "headers": {"Idempotency-Key": ""}}),
            ("POST", "/api/v1/deployments", {"body": good, "headers": {"Content-Type": "text/plain"}}),
        ]
        nested: Any = {}
        for _ in range(900):
            nested = {"a": nested}
        cases.append(("POST", "/api/v1/deployments", {"body": intent(f"deep-{n}", [queue(f"deep-{n}", x=nested)])}))
        statuses = [self.call(method, path, kwargs.get("body"), raw=kwargs.get("raw"),
                              headers=kwargs.get("headers"))[0] for method, path, kwargs in cases]
        return all(400 <= status < 500 for status in statuses)

    def run(self) -> None:
        self.login()
        for fault in (self.race, self.valkey_outage, self.crash, self.malformed):
            for n in range(ROUNDS):
                self.injected += 1
                try:
                    ok = fault(n)
                except Exception as exc:  # a fault that breaks the run is a fault not survived
                    print(f"# {fault.__name__} round {n}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    ok = False
                self.survived += ok
                if not ok:
                    print(f"# {fault.__name__} round {n}: a guarantee did not hold", file=sys.stderr)
                if self.token == "" or self.call("GET", "/api/v1/auth/me")[0] == 401:
                    self.login()

    def report(self) -> None:
        self.cloud.fire("ReconcileFunction")
        final = {i: self.settled(i, 120) for i in self.deployments}
        stuck = sum(d["status"] not in SETTLED for d in final.values())
        unfinished = {i for i, d in final.items() if d["status"] != "completed"}
        orphaned = sum(r["deployment_id"] in unfinished for r in self.inventory().values())
        for name, value in (("faults_injected", self.injected), ("faults_survived", self.survived),
                            ("orphaned_resources", orphaned), ("cross_deployment_deletes", self.cross_deletes),
                            ("stuck_deployments", stuck), ("server_errors", self.server_errors)):
            print(f"{name}: {value}", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="orch-chaos-") as directory:
        servers = start_servers(Path(directory) / "servers", durable=False, use_environment=False)
        cloud = LocalCloudProcess(Path(directory) / "cloud", {
            "DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis_url, "LOCK_TTL_SECONDS": "5"})
        try:
            chaos = Chaos(cloud.start(), servers)
            chaos.run()
            chaos.report()
        finally:
            cloud.stop()
            servers.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
