"""boto3 clients with connect/read timeouts, one per (service, region, timeout) and process.

AWS_ENDPOINT_URL (the local cloud, LocalStack) is honoured by boto3 itself, so no adapter names an endpoint.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, float], Any] = {}


def client(service: str, *, region: str | None = None, timeout_seconds: float = 3.0) -> Any:
    key = (service, region, timeout_seconds)
    with _lock:
        found = _clients.get(key)
        if found is None:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=timeout_seconds,
                read_timeout=timeout_seconds,
                retries={"max_attempts": 2, "mode": "standard"},
            )
            found = _clients[key] = boto3.client(service, region_name=region, config=config)
        return found


def forget_clients() -> None:
    """Drop every client (a new AWS_ENDPOINT_URL, say: a client keeps the endpoint it was built with)."""
    with _lock:
        _clients.clear()
