"""Overload answers tell a client when to come back: every 503 carries Retry-After."""

import pytest

from orchestrator.api.errors import to_http
from orchestrator.domain.errors import DatabaseUnavailable, DependencyUnavailable, LockBusy


@pytest.mark.parametrize("exc", [DatabaseUnavailable("no connection available within the pool timeout"),
                                 DependencyUnavailable("stepfunctions", "read timeout"),
                                 LockBusy("the same request is already in progress")],
                         ids=["pool-timeout", "aws-timeout", "busy-lock"])
def test_an_overloaded_dependency_answers_503_with_retry_after(exc):
    status, body, headers = to_http(exc)
    assert status == 503 and int(headers["Retry-After"]) >= 1
    assert body["code"] in ("dependency_unavailable", "lock_busy")
