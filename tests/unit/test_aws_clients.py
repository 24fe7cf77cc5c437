"""boto3 clients are kept per process, and forgotten when the wiring is reset (a new endpoint, say)."""

import pytest

from orchestrator.adapters.aws.clients import client, forget_clients


@pytest.fixture
def fresh_clients():
    forget_clients()  # none built for another endpoint by an earlier test
    yield
    forget_clients()  # and none left behind pointing at this test's made-up endpoints


def test_a_reset_wiring_builds_clients_for_the_endpoint_in_force_now(monkeypatch, fresh_clients):
    from orchestrator import wiring

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    first = client("stepfunctions", region="us-east-1")
    assert client("stepfunctions", region="us-east-1") is first  # one per process
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    wiring.reset()
    again = client("stepfunctions", region="us-east-1")
    assert again is not first and again.meta.endpoint_url == "http://127.0.0.1:4599"
    assert first.meta.endpoint_url == "http://127.0.0.1:4566"
