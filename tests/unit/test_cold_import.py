"""A Lambda function's cold import loads what the function uses, nothing it does not (ADR 0025).

Each handler is imported in a fresh interpreter the way Lambda does it - the layer and the function's directory on
sys.path, the template's Powertools variables set - and the modules it must not have loaded are looked up in
sys.modules. Deterministic: it counts modules, not milliseconds (bench/cold_import.py measures the time).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "shared"
HANDLERS = sorted(p.name for p in FUNCTIONS.iterdir() if (p / "app.py").is_file())

# Not loaded by any handler's import. With tracing off, Powertools switches the X-Ray SDK off through its one-module
# config (aws_xray_sdk.sdk_config); the recorder (aws_xray_sdk.core: botocore sessions, sampling, wrapt) never loads.
NEVER = (
    "aws_xray_sdk.core", "aws_xray_sdk.ext",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb", "boto3",
    "aws_lambda_powertools.event_handler.appsync", "aws_lambda_powertools.event_handler.events_appsync",
    "aws_lambda_powertools.event_handler.graphql_appsync", "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.event_handler.vpc_lattice",
    # Clients and libraries a function needs only once it runs: wiring.py and the use cases import them then.
    "orchestrator.adapters", "redis", "psycopg", "psycopg_pool", "argon2", "croniter", "urllib3",
    "orchestrator.planning.planner",
    # The OpenAPI document's own models: built when /openapi.json or /docs is asked for, not for every request.
    "aws_lambda_powertools.event_handler.openapi.models",
)
# Only the authorizer verifies tokens; the API signs them at login, when it happens.
TOKEN_VERIFIERS = {"authorizer"}
IDEMPOTENT = {"api", "apply_step", "destroy_step"}
REST_API = {"api"}


def must_not_load(handler: str) -> tuple[str, ...]:
    banned = list(NEVER)
    if handler not in TOKEN_VERIFIERS:
        banned += ["jwt", "cryptography"]
    if handler not in IDEMPOTENT:
        banned.append("aws_lambda_powertools.utilities.idempotency")
    if handler not in REST_API:
        banned += ["aws_lambda_powertools.event_handler", "orchestrator.api.app"]
    return tuple(banned)


def lambda_environment(handler: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_"))}
    env.pop("PYTHONPATH", None)
    return {**env, "POWERTOOLS_SERVICE_NAME": "orchestrator", "POWERTOOLS_METRICS_NAMESPACE": "MultiCloudOrchestrator",
            "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": handler, **extra}


def import_cold(handler: str, env: dict[str, str], then: str = "") -> dict:
    """Import functions/<handler>/app.py in a fresh interpreter; the modules loaded, and what `then` printed."""
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(LAYER)!r}, {str(FUNCTIONS / handler)!r}]\n"
        "import app\n"
        f"extra = None\n{then}\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'extra': extra}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=FUNCTIONS / handler, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded(modules: list[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_import_loads_nothing_the_function_does_not_use(handler):
    env = lambda_environment(handler, LAMBDA_TASK_ROOT=str(FUNCTIONS / handler), POWERTOOLS_TRACE_DISABLED="true")
    result = import_cold(handler, env)
    assert loaded(result["modules"], must_not_load(handler)) == []
    assert "app" in result["modules"]


def test_every_function_directory_is_checked():
    assert len(HANDLERS) >= 12 and {"api", "authorizer", "apply_step", "migrate"} <= set(HANDLERS)


def test_in_lambda_with_tracing_on_the_handler_traces_through_the_xray_recorder():
    env = lambda_environment("plan", LAMBDA_TASK_ROOT=str(FUNCTIONS / "plan"))
    result = import_cold("plan", env, then=(
        "from orchestrator.observability import tracer\n"
        "extra = [type(tracer.provider).__module__, tracer.disabled]"))
    provider_module, disabled = result["extra"]
    assert provider_module.startswith("aws_xray_sdk.core") and disabled is False
    assert "aws_xray_sdk.core" in result["modules"]


def test_with_tracing_off_the_handler_still_runs_its_tracer_decorator():
    env = lambda_environment("finalize", POWERTOOLS_TRACE_DISABLED="true")
    result = import_cold("finalize", env, then=(
        "from orchestrator.observability import tracer\n"
        "@tracer.capture_lambda_handler\n"
        "def handler(event, context):\n"
        "    tracer.put_annotation('deployment', 'd-1')\n"
        "    return {'ok': event['n'] + 1}\n"
        "extra = [handler({'n': 1}, None), tracer.disabled]"))
    assert result["extra"] == [{"ok": 2}, True]
    assert loaded(result["modules"], ("aws_xray_sdk.core",)) == []


@pytest.mark.parametrize("env", [
    {}, {"LAMBDA_TASK_ROOT": "/var/task"}, {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},
    {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"},
    {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"},
    {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, {"LAMBDA_TASK_ROOT": "/var/task",
                                                                  "AWS_CHALICE_CLI_MODE": "true"},
    {"POWERTOOLS_TRACE_DISABLED": "false"},
])
def test_tracing_is_on_exactly_where_powertools_would_trace(monkeypatch, env):
    from aws_lambda_powertools.tracing.tracer import Tracer

    from orchestrator.observability import tracing_enabled

    for name in ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE", "POWERTOOLS_TRACE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing_enabled() is (not Tracer._is_tracer_disabled())
