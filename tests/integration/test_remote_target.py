"""Deploying to an AWS-compatible endpoint (LocalStack's path) packages real code, names only what exists in the
endpoint's own account, and can run again over an earlier deploy. Checked against the local cloud's own endpoint
(moto), which speaks the same APIs; a role assumed in another account stands in for LocalStack's 000000000000
(one emulator per process: moto's state is global). tests/localstack/ runs the same deploy on LocalStack."""

import io
import json
import re
import uuid
import zipfile
from pathlib import Path

import pytest

from localcloud.deploy import deploy
from localcloud.lambdas import FunctionCode
from localcloud.targets import RemoteAws
from localcloud.template import Stack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
OTHER_ACCOUNT = "000000000000"


@pytest.fixture
def endpoint(local_cloud):
    return local_cloud.emulator.endpoint_url


@pytest.fixture
def other_account(local_cloud) -> dict[str, str]:
    """Credentials that moto maps to another account than its default one."""
    sts = local_cloud.emulator.client("sts")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer",
                                  RoleSessionName="deploy")["Credentials"]
    return {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


def test_remote_target_uploads_the_functions_code_and_its_layer(endpoint, tmp_path):
    layer = tmp_path / "layer"
    (layer / "pkg").mkdir(parents=True)
    (layer / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    remote = RemoteAws(endpoint).start()
    name = f"remote-plan-{uuid.uuid4().hex[:8]}"
    arn = remote.put_function(FunctionCode(name=name, code_dir=ROOT / "functions" / "plan"), {"A": "b"},
                              layers=[layer])
    lam = remote.client("lambda")
    function = lam.get_function(FunctionName=name)
    assert function["Configuration"]["FunctionArn"] == arn
    assert function["Configuration"]["Environment"]["Variables"] == {"A": "b"}
    layer_arn = function["Configuration"]["Layers"][0]["Arn"]
    assert ":layer:orchestrator-layer:" in layer_arn
    version = lam.get_layer_version(LayerName="orchestrator-layer", VersionNumber=int(layer_arn.rsplit(":", 1)[1]))
    assert version["CompatibleRuntimes"] == ["python3.12"]
    assert version["Content"]["CodeSize"] > 0


def test_code_zip_holds_the_handler_and_no_bytecode(tmp_path):
    from localcloud.targets import _zip_tree

    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (tmp_path / "app.py").write_text("def handler(e, c): return e\n")
    names = zipfile.ZipFile(io.BytesIO(_zip_tree(tmp_path, "python/"))).namelist()
    assert names == ["python/app.py"]


def _deploy(remote: RemoteAws, stack_name: str, **kwargs):
    return deploy(remote, Stack.load(), database_url="postgresql://db.invalid/orchestrator",
                  redis_url="redis://cache.invalid:6379/0", stack_name=stack_name, **kwargs)


def test_every_arn_the_deploy_writes_names_a_resource_in_the_endpoints_account(endpoint, other_account):
    remote = RemoteAws(endpoint, credentials=other_account).start()
    deployed = _deploy(remote, f"acct-{uuid.uuid4().hex[:6]}")
    assert deployed.identity.account == OTHER_ACCOUNT
    lam, sfn, events = remote.client("lambda"), remote.client("stepfunctions"), remote.client("events")

    machine_arn = deployed.state_machine_arns["DeploymentStateMachine"]
    assert f":{OTHER_ACCOUNT}:stateMachine:" in machine_arn
    definition = sfn.describe_state_machine(stateMachineArn=machine_arn)["definition"]
    named = set(re.findall(r"arn:aws:lambda:[^\"]+:function:[^\"]+", definition))
    assert len(named) == 6  # plan, approval, apply, destroy, verify, finalize
    for arn in named:  # the bug this guards against: ARNs in moto's account, so every task failed elsewhere
        assert lam.get_function(FunctionName=arn)["Configuration"]["FunctionArn"] == arn

    for schedule in deployed.schedules:
        (target,) = events.list_targets_by_rule(Rule=schedule.rule_name)["Targets"]
        assert lam.get_function(FunctionName=target["Arn"])["Configuration"]["FunctionName"] \
            == deployed.function_names[schedule.function_logical_id]

    sweep = lam.get_function_configuration(FunctionName=deployed.function_names["DriftScannerFunction"])
    variables = sweep["Environment"]["Variables"]
    assert variables["STATE_MACHINE_ARN"] == machine_arn
    assert events.describe_event_bus(Name=variables["EVENT_BUS_NAME"])["Arn"].split(":")[4] == OTHER_ACCOUNT
    for arn in deployed.secret_arns.values():
        assert arn.split(":")[4] == OTHER_ACCOUNT


def test_a_second_deploy_updates_what_the_first_made_and_leaves_the_rest(endpoint, other_account):
    remote = RemoteAws(endpoint, credentials=other_account).start()
    stack_name = f"again-{uuid.uuid4().hex[:6]}"
    first = _deploy(remote, stack_name)
    lam, sfn, events = remote.client("lambda"), remote.client("stepfunctions"), remote.client("events")
    machine = first.state_machine_arns["DeploymentStateMachine"]
    definition = sfn.describe_state_machine(stateMachineArn=machine)["definition"]
    plan = first.function_names["PlanFunction"]
    rule = first.schedules[0].rule_name
    # Drift since the first deploy, and things the deploy did not create.
    sfn.update_state_machine(stateMachineArn=machine, definition=json.dumps(
        {"StartAt": "Stale", "States": {"Stale": {"Type": "Pass", "End": True}}}))
    lam.update_function_configuration(FunctionName=plan, Timeout=3, Environment={"Variables": {}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=plan)
    foreign = lam.get_function_configuration(FunctionName=plan)["FunctionArn"].replace(plan, f"{stack_name}-mine")
    lam.create_function(FunctionName=f"{stack_name}-mine", Runtime="python3.12", Handler="app.handler",
                        Role=remote.identity.arn("iam", "role/orchestrator-local-lambda", regional=False),
                        Code={"ZipFile": _placeholder()})
    events.put_targets(Rule=rule, Targets=[{"Id": "audit", "Arn": foreign}])

    second = _deploy(remote, stack_name, parameters={"LogLevel": "DEBUG"})

    assert second.state_machine_arns == first.state_machine_arns
    assert sfn.describe_state_machine(stateMachineArn=machine)["definition"] == definition
    configuration = lam.get_function_configuration(FunctionName=plan)
    declared = next(fn for fn in Stack.load().functions() if fn.logical_id == "PlanFunction")
    assert configuration["Timeout"] == declared.timeout_seconds != 3
    assert configuration["Environment"]["Variables"]["LOG_LEVEL"] == "DEBUG"
    assert second.secret_values == first.secret_values  # tokens and the admin password stay valid
    assert {t["Id"]: t["Arn"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]} == {
        "function": first.function_arns[first.schedules[0].function_logical_id], "audit": foreign}
    assert lam.get_function(FunctionName=foreign)  # not ours: left alone
    layers = lam.list_layer_versions(LayerName="orchestrator-shared")["LayerVersions"]
    assert len(layers) == 1  # same content, so no new layer version
    assert configuration["Layers"][0]["Arn"] == layers[0]["LayerVersionArn"]


def test_a_deploy_keeps_a_given_secret_value_over_the_one_the_endpoint_holds(endpoint, other_account):
    remote = RemoteAws(endpoint, credentials=other_account).start()
    stack_name = f"secret-{uuid.uuid4().hex[:6]}"
    first = _deploy(remote, stack_name)
    kept = {**first.secret_values, "JwtSigningSecret": json.dumps({"algorithm": "HS256", "key": "k" * 64})}
    second = _deploy(remote, stack_name, secret_values=kept)
    held = remote.client("secretsmanager").get_secret_value(SecretId=second.secret_arns["JwtSigningSecret"])
    assert held["SecretString"] == kept["JwtSigningSecret"] == second.secret_values["JwtSigningSecret"]


def _placeholder() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()
