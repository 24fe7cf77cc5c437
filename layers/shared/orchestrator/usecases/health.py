"""Readiness: can this process reach everything a request may need?"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any


def readiness(probes: Mapping[str, Callable[[], None]]) -> tuple[bool, dict[str, Any]]:
    """Run every probe (each bounded by its adapter's timeouts); report each one's status and latency."""
    checks: dict[str, Any] = {}
    for name, probe in probes.items():
        started = time.perf_counter()
        try:
            probe()
            checks[name] = {"status": "ok"}
        except Exception as exc:  # a probe's failure is the answer, whatever its kind
            checks[name] = {"status": "unavailable", "error": type(exc).__name__}
        checks[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return all(check["status"] == "ok" for check in checks.values()), checks
