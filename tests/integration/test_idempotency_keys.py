"""API idempotency keys on real Valkey: a request that dies mid-way (a Lambda timeout: no code runs to clean up)
holds its key only until that invocation would have ended, because the API handler registers its Lambda context."""

from __future__ import annotations

import time
import uuid

import pytest

from orchestrator.domain.errors import LockBusy

pytestmark = pytest.mark.integration


class Invocation:
    """What Powertools reads from a Lambda context: the time left."""

    def __init__(self, seconds: float):
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def test_a_key_whose_request_died_frees_when_the_invocation_would_have_timed_out(app_env):
    from orchestrator.idempotency import once_per_request_key

    request = {"scope": "user-1", "route": "POST /api/v1/deployments", "key": uuid.uuid4().hex, "body": "{}"}
    answer = {"status": 201, "headers": {}, "body": {"id": "d-1"}, "content_type": "application/json"}

    def killed() -> dict:
        raise SystemExit("the invocation timed out")  # not an Exception: Powertools cannot clean up

    once_per_request_key.config.register_lambda_context(Invocation(seconds=1.0))
    with pytest.raises(SystemExit):
        once_per_request_key(request=request, run=killed)
    with pytest.raises(LockBusy):  # a retry while the first invocation could still be running
        once_per_request_key(request=request, run=lambda: answer)
    time.sleep(1.2)
    once_per_request_key.config.register_lambda_context(Invocation(seconds=30))
    assert once_per_request_key(request=request, run=lambda: answer) == answer
    replay = once_per_request_key(request=request, run=lambda: pytest.fail("ran twice"))
    assert replay["body"] == answer["body"] and replay["headers"] == {"Idempotent-Replayed": "true"}
