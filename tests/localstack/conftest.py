"""The stack deployed on LocalStack (`make test-localstack` starts it and sets ORCH_LOCALSTACK_ENDPOINT).

Without that variable nothing here is collected, so the default `make test` neither runs nor skips these tests;
with it, an unreachable LocalStack is an error. The deploy is the one `make run` does with AWS_ENDPOINT_URL set:
functions and the shared layer uploaded, run by LocalStack's Lambda service (on this host, see
infra/localstack/host_runtime), the state machine executed by LocalStack's Step Functions, the schedule fired by
its EventBridge. Functions reach the embedded PostgreSQL and Valkey on loopback.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from api_client import Api, Reply
from botocore.config import Config
from psycopg import sql

ENDPOINT = os.environ.get("ORCH_LOCALSTACK_ENDPOINT")
if not ENDPOINT:
    collect_ignore_glob = ["test_*.py"]

# EventBridge's shortest rate: the test of the recovery schedule waits for LocalStack to fire it.
RECONCILE_SCHEDULE = "rate(1 minute)"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def aws(service: str) -> Any:
    """A client for LocalStack (localstack-client builds the endpoint from LOCALSTACK_HOST-style host:port)."""
    from localstack_client.session import Session

    return Session(localstack_host=urlsplit(ENDPOINT).netloc).client(
        service, config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2}))


def history_counts(execution_arn: str) -> Counter:
    """How many events of each type LocalStack's Step Functions recorded for an execution."""
    pages = aws("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return Counter(event["type"] for page in pages for event in page["events"])


class HttpApi(Api):
    """`api_client.Api` over real HTTP to the local API server (which invokes the functions in LocalStack)."""

    def call(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.cloud.api_url + path, data=data, method=method, headers=sent)
        try:
            with _NO_PROXY.open(request, timeout=120) as response:
                status, got, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, payload = error.code, error.headers, error.read()
        text = payload.decode()
        return Reply(status, json.loads(text) if text and text[0] in "[{" else text, dict(got.items()))

    def as_user(self, token: str) -> HttpApi:
        return HttpApi(self.cloud, token)


def start_cloud(servers, database_url: str):
    """The local cloud on LocalStack, as `make run` starts it with AWS_ENDPOINT_URL set."""
    from localcloud.cloud import LocalCloud
    from localcloud.targets import RemoteAws

    cloud = LocalCloud(database_url=database_url, redis_url=servers.redis_url, api_port=0,
                       target=RemoteAws(ENDPOINT), parameters={"ReconcileScheduleRate": RECONCILE_SCHEDULE})
    return cloud.start()


@pytest.fixture(scope="session")
def cloud_database(servers) -> str:
    """The database of the stack on LocalStack (the deploy's bootstrap step migrates it)."""
    name = f"orch_ls_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(servers.database_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(urlsplit(servers.database_url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def localstack_cloud(servers, cloud_database):
    cloud = start_cloud(servers, cloud_database)
    yield cloud
    cloud.stop()


@pytest.fixture(scope="session")
def admin(localstack_cloud) -> HttpApi:
    creds = localstack_cloud.admin_credentials()
    return HttpApi(localstack_cloud).login(creds["username"], creds["password"])
