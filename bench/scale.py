"""Scale benchmarks: a 10,000-resource deployment inside Step Functions' limits, and costs that follow the deployment.
Run: `python bench/scale.py` (about 5 minutes on a 2-core machine). Prints `name: value` lines:

  lifecycle_10000_resources_s       a 10,000-resource three-cloud intent, auto-approved, on the local cloud:
                                    POST /deployments until GET shows `completed`
  rollback_10000_resources_s        the same intent whose last resource always fails: POST until `rolled_back`
                                    (every applied step undone)
  max_history_events                the largest execution history of those two runs (AWS's cap: 25,000)
  max_state_payload_bytes           the largest state input or output in those histories (AWS's cap: 262,144)
  get_deployment_bytes_10000, get_deployment_ms_10000, list_steps_page_ms_10000   from bench/read_size.py
  plan_10_resources_with_100k_inventory_ms, drift_scan_10_resources_with_100k_inventory_ms,
  concurrent_50x10_big_inventory_errors, ...   from bench/inventory_scale.py
  cold_import_ms_max, cold_import_ms_<function> from bench/cold_import.py

The local engine enforces both Step Functions limits (infra/localcloud/sfn_limits.py), so a run that would fail on
AWS fails here too. The intent's estimated cost is above every environment's default ceiling, so the benchmark
removes the cost-ceiling policies from its own tenant's set first.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "layers" / "shared"), str(ROOT / "infra")]

import cold_import  # noqa: E402
import inventory_scale  # noqa: E402
import read_size  # noqa: E402
from lifecycle import Http, local_cloud_as_admin, three_cloud_intent  # noqa: E402

RESOURCES = 10_000
TERMINAL = {"completed", "failed", "rolled_back", "cancelled"}


def _largest_payload(events: list[dict[str, Any]]) -> int:
    largest = 0
    for event in events:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output"):
                    if isinstance(details.get(field), str):
                        largest = max(largest, len(details[field].encode()))
    return largest


def _until_settled(http: Http, deployment_id: str, timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (deployment := http.call("GET", f"/api/v1/deployments/{deployment_id}"))["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"deployment {deployment_id} still {deployment['status']}")
        time.sleep(1)
    return deployment


def _without_cost_ceiling(http: Http) -> None:
    for policy in http.call("GET", "/api/v1/policies")["items"]:
        if "monthly_cost" in json.dumps(policy) or "cost-ceiling" in json.dumps(policy):
            request = urllib.request.Request(f"{http.base}/api/v1/policies/{policy['id']}", method="DELETE",
                                             headers={"Authorization": f"Bearer {http.token}"})
            with urllib.request.urlopen(request, timeout=30):
                pass


def _run(http: Http, intent: dict[str, Any], expected: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    created = http.call("POST", "/api/v1/deployments", intent)
    done = _until_settled(http, created["id"])
    elapsed = time.perf_counter() - started
    if done["status"] != expected:
        raise RuntimeError(f"deployment ended {done['status']}, expected {expected}: {done.get('error_message')}")
    return elapsed, done


def lifecycle_figures() -> dict[str, float]:
    with local_cloud_as_admin() as (cloud, _, http):
        _without_cost_ceiling(http)
        completed_s, completed = _run(http, three_cloud_intent(RESOURCES, "scale"), "completed")
        failing = three_cloud_intent(RESOURCES, "scale-undo")
        failing["resources"][-1]["properties"]["simulate"] = {"fail_apply": "always"}
        rollback_s, rolled_back = _run(http, failing, "rolled_back")
        histories = [cloud.emulator.execution_history(run["execution_arn"]) for run in (completed, rolled_back)]
    return {
        "lifecycle_10000_resources_s": round(completed_s, 1),
        "rollback_10000_resources_s": round(rollback_s, 1),
        "max_history_events": max(map(len, histories)),
        "max_state_payload_bytes": max(map(_largest_payload, histories)),
    }


def main() -> None:
    for measure in (lifecycle_figures, read_size.measure, inventory_scale.measure, cold_import.measure):
        for name, value in measure().items():
            print(f"{name}: {value}", flush=True)


if __name__ == "__main__":
    main()
