"""Static checks of the SAM template, the state machine definition and samconfig.toml (no AWS, no SAM CLI).

The template is read with a YAML loader that turns CloudFormation short-form tags (!Ref, !GetAtt, !Sub, ...) into
their long form, so references can be followed. `make sam-check` runs cfn-lint, `sam validate --lint` and
`sam build`; these tests pin the properties of this application that those tools cannot know.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.template import CloudFormationLoader, effective_function_properties, load_template

ROOT = Path(__file__).resolve().parents[2]
SAMCONFIG_PATH = ROOT / "samconfig.toml"

PUBLIC_ROUTES = {
    ("/health", "GET"),
    ("/health/{proxy+}", "GET"),
    ("/openapi.json", "GET"),
    ("/docs", "GET"),
    ("/api/v1/auth/login", "POST"),
}
TASK_FUNCTIONS = {
    "PlanFunction",
    "RequestApprovalFunction",
    "ApplyStepFunction",
    "DestroyStepFunction",
    "VerifyFunction",
    "FinalizeFunction",
}
REQUIRED_GLOBAL_ENV = {
    "STAGE",
    "DB_SECRET_ARN",
    "DATABASE_URL",
    "REDIS_URL",
    "EVENT_BUS_NAME",
    "APPROVAL_TIMEOUT_SECONDS",
    "MAX_CONCURRENCY",
    "JWT_SECRET_ARN",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "BOOTSTRAP_ADMIN_SECRET_ARN",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
}


# --------------------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


def resources_of_type(resources: dict[str, Any], type_name: str) -> dict[str, Any]:
    return {name: res for name, res in resources.items() if res["Type"] == type_name}


def refs_in(node: Any) -> set[str]:
    """Logical ids named by Ref, Fn::GetAtt or ${...} of Fn::Sub anywhere inside `node`."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                if isinstance(value, list):
                    found |= refs_in(value[1])
            else:
                found |= refs_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= refs_in(item)
    return found


def is_ref_to(value: Any, logical_id: str) -> bool:
    return value in ({"Ref": logical_id}, {"Fn::GetAtt": [logical_id, "GroupId"]})


# --------------------------------------------------------------------------------------------------------------------
# State machine definition checks (pure functions, tested on broken definitions below)
# --------------------------------------------------------------------------------------------------------------------
def asl_placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{([^}]+)\}", text))


def _transitions(state: dict[str, Any]) -> list[str]:
    targets = []
    if "Next" in state:
        targets.append(state["Next"])
    if "Default" in state:
        targets.append(state["Default"])
    targets += [choice["Next"] for choice in state.get("Choices", []) if "Next" in choice]
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


def _nested_machines(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    nested = []
    for key in ("ItemProcessor", "Iterator"):
        if key in state:
            nested.append((key, state[key]))
    for index, branch in enumerate(state.get("Branches", [])):
        nested.append((f"Branches[{index}]", branch))
    return nested


def asl_problems(machine: dict[str, Any], where: str = "$") -> list[str]:
    """Every broken transition, unreachable state or dead end in `machine` and in its nested state machines."""
    problems: list[str] = []
    states: dict[str, Any] = machine.get("States", {})
    start = machine.get("StartAt")
    if start not in states:
        problems.append(f"{where}: StartAt {start!r} is not a state")
    for name, state in states.items():
        for target in _transitions(state):
            if target not in states:
                problems.append(f"{where}.{name}: transition to {target!r}, which is not in this States block")
        kind = state.get("Type")
        if kind in ("Succeed", "Fail"):
            if "Next" in state or "End" in state:
                problems.append(f"{where}.{name}: a {kind} state has Next/End")
        elif kind == "Choice":
            if not state.get("Choices"):
                problems.append(f"{where}.{name}: Choice without Choices")
        elif ("Next" in state) == bool(state.get("End")):
            problems.append(f"{where}.{name}: needs exactly one of Next or End: true")
        for label, nested in _nested_machines(state):
            problems += asl_problems(nested, f"{where}.{name}.{label}")
    reachable: set[str] = set()
    queue = deque([start] if start in states else [])
    while queue:
        name = queue.popleft()
        if name in reachable:
            continue
        reachable.add(name)
        queue.extend(t for t in _transitions(states[name]) if t in states)
    problems += [f"{where}.{name}: unreachable from StartAt" for name in states if name not in reachable]
    return problems


def _good_machine() -> dict[str, Any]:
    return {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "B"}],
                "Default": "C",
            },
            "B": {
                "Type": "Task",
                "Resource": "r",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {"Inner": {"Type": "Task", "Resource": "r", "End": True}},
                },
                "End": True,
            },
            "C": {"Type": "Fail"},
        },
    }


def test_asl_checker_accepts_a_sound_machine():
    assert asl_problems(_good_machine()) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda m: m["States"]["A"].update(Default="Nope"), "transition to 'Nope'"),
        (lambda m: m["States"]["A"]["Choices"][0].update(Next="Nope"), "transition to 'Nope'"),
        (lambda m: m["States"]["B"]["Catch"][0].update(Next="Nope"), "transition to 'Nope'"),
        (lambda m: m["States"]["B"].update(Next="Inner"), "transition to 'Inner'"),  # only exists one level down
        (lambda m: m["States"].update(Orphan={"Type": "Succeed"}), "Orphan: unreachable"),
        (
            lambda m: m["States"]["M"]["ItemProcessor"]["States"].update(Stray={"Type": "Pass", "End": True}),
            "M.ItemProcessor.Stray: unreachable",
        ),
        (lambda m: m["States"]["M"]["ItemProcessor"].update(StartAt="Missing"), "StartAt 'Missing'"),
        (lambda m: m["States"]["B"].pop("Next"), "exactly one of Next or End"),
    ],
)
def test_asl_checker_finds_broken_machines(breakage, expected):
    machine = _good_machine()
    breakage(machine)
    problems = asl_problems(machine)
    assert any(expected in problem for problem in problems), problems


def test_short_form_tags_are_understood():
    text = (
        "A: !Ref X\nB: !GetAtt Y.Arn\nC: !Sub '${Z.Endpoint}:${P}'\nD: !If [IsProd, 1, 2]\nE: !Select [0, !GetAZs '']\n"
    )
    loaded = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506
    assert loaded == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["Y", "Arn"]},
        "C": {"Fn::Sub": "${Z.Endpoint}:${P}"},
        "D": {"Fn::If": ["IsProd", 1, 2]},
        "E": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    }
    assert refs_in(loaded) == {"X", "Y", "Z", "P"}


# --------------------------------------------------------------------------------------------------------------------
# The state machine
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def state_machine(resources) -> dict[str, Any]:
    machines = resources_of_type(resources, "AWS::Serverless::StateMachine")
    assert list(machines) == ["DeploymentStateMachine"]
    return machines["DeploymentStateMachine"]["Properties"]


@pytest.fixture(scope="module")
def asl_text(state_machine) -> str:
    return (ROOT / state_machine["DefinitionUri"]).read_text()


def test_state_machine_is_standard_traced_and_logged_without_execution_data(state_machine):
    assert state_machine["Type"] == "STANDARD"
    assert state_machine["Tracing"] == {"Enabled": True}
    logging = state_machine["Logging"]
    assert logging["Level"] in ("ALL", "ERROR")
    assert logging["IncludeExecutionData"] is False
    assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]


def test_every_asl_substitution_is_defined_and_every_definition_is_used(state_machine, asl_text):
    placeholders = asl_placeholders(asl_text)
    substitutions = set(state_machine["DefinitionSubstitutions"])
    assert placeholders, "the definition should reference the task functions through ${...}"
    assert placeholders - substitutions == set(), "used in the ASL but not defined"
    assert substitutions - placeholders == set(), "defined but never used in the ASL"


def test_substitutions_are_the_task_function_arns(state_machine, resources):
    for key, value in state_machine["DefinitionSubstitutions"].items():
        function = key.removesuffix("Arn")
        assert value == {"Fn::GetAtt": [function, "Arn"]}, key
        assert resources[function]["Type"] == "AWS::Serverless::Function"
    assert {k.removesuffix("Arn") for k in state_machine["DefinitionSubstitutions"]} == TASK_FUNCTIONS


def test_state_machine_may_invoke_exactly_its_task_functions(state_machine):
    invokable = set()
    for policy in state_machine["Policies"]:
        if isinstance(policy, dict) and "LambdaInvokePolicy" in policy:
            invokable.add(policy["LambdaInvokePolicy"]["FunctionName"]["Ref"])
        elif isinstance(policy, dict) and "Statement" in policy:
            actions = {
                a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            }
            assert not any(a.startswith("lambda:") for a in actions), "invoke rights only via LambdaInvokePolicy"
        else:
            pytest.fail(f"unexpected state machine policy {policy!r} (no managed/broad policies)")
    assert invokable == TASK_FUNCTIONS


def test_definition_transitions_all_resolve_and_every_state_is_reachable(asl_text):
    assert asl_problems(json.loads(asl_text)) == []


def test_state_machine_does_not_depend_on_the_functions_that_start_it(state_machine):
    # The API and the drift scanner reference the state machine; the reverse would be a circular dependency.
    assert refs_in(state_machine) & {"ApiFunction", "DriftScannerFunction", "AuthorizerFunction"} == set()


# --------------------------------------------------------------------------------------------------------------------
# Functions
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def functions(resources) -> dict[str, Any]:
    found = resources_of_type(resources, "AWS::Serverless::Function")
    assert TASK_FUNCTIONS | {"ApiFunction", "AuthorizerFunction", "DriftScannerFunction", "MigrateFunction"} <= set(
        found
    )
    return found


def test_every_function_runs_python312_on_arm64_with_the_shared_layer(template, functions):
    for name in functions:
        props = effective_function_properties(template, name)
        assert props["Runtime"] == "python3.12", name
        assert props["Architectures"] == ["arm64"], name
        assert props["Handler"] == "app.handler", name
        assert {"Ref": "SharedLayer"} in props.get("Layers", []), name
        assert props["Tracing"] == "Active", name
        assert props["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": ["LambdaSecurityGroup", "GroupId"]}], name


def test_shared_layer_is_built_for_python312_arm64(resources):
    layer = resources["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"].rstrip("/") == "layers/shared"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    # Binary wheels (pydantic-core, psycopg-binary, argon2) must match the functions' architecture.
    assert layer["Metadata"].get("BuildArchitecture") == "arm64"
    assert (ROOT / "layers/shared/requirements.txt").is_file()


def test_every_function_code_uri_directory_exists(functions):
    missing = []
    for name, function in functions.items():
        code_uri = function["Properties"]["CodeUri"]
        assert code_uri.startswith("functions/"), name
        if not (ROOT / code_uri).is_dir():
            missing.append(f"{name}: {code_uri}")
    assert missing == []


def test_timeouts_fit_their_callers(template, functions):
    timeouts = {name: effective_function_properties(template, name)["Timeout"] for name in functions}
    assert timeouts["ApiFunction"] <= 29  # API Gateway's integration limit
    for name in TASK_FUNCTIONS:
        assert 60 <= timeouts[name] <= 120, name
    assert timeouts["DriftScannerFunction"] == 300


def test_global_environment_is_complete(template):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert REQUIRED_GLOBAL_ENV <= set(variables)
    assert variables["APPROVAL_TIMEOUT_SECONDS"] == {"Ref": "ApprovalTimeoutSeconds"}
    assert variables["MAX_CONCURRENCY"] == {"Ref": "MaxConcurrency"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "orchestrator"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "MultiCloudOrchestrator"
    assert variables["REDIS_URL"]["Fn::Sub"].startswith("rediss://")
    assert "${DatabaseProxy.Endpoint}" in variables["DATABASE_URL"]["Fn::Sub"]
    # Nothing in Globals may point at the state machine: the six task functions would then depend on it, and it
    # depends on them.
    assert "DeploymentStateMachine" not in refs_in(template["Globals"])


def _policy_statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    policies = function["Properties"].get("Policies", [])
    return [s for p in policies if isinstance(p, dict) for s in p.get("Statement", [])]


def _secret_grants(function: dict[str, Any]) -> set[str]:
    return {
        p["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]["Ref"]
        for p in function["Properties"].get("Policies", [])
        if isinstance(p, dict) and "AWSSecretsManagerGetSecretValuePolicy" in p
    }


def test_secret_permissions(functions):
    for name, function in functions.items():
        assert "DatabaseSecret" in _secret_grants(function), name
    for name in ("ApiFunction", "AuthorizerFunction"):
        assert "JwtSigningSecret" in _secret_grants(functions[name]), name
    assert "BootstrapAdminSecret" in _secret_grants(functions["MigrateFunction"])


@pytest.mark.parametrize("name", ["ApiFunction", "DriftScannerFunction"])
def test_starters_of_deployments_get_the_state_machine_and_its_permissions(functions, name):
    function = functions[name]
    assert function["Properties"]["Environment"]["Variables"]["STATE_MACHINE_ARN"] == {"Ref": "DeploymentStateMachine"}
    granted = set()
    for statement in _policy_statements(function):
        if "DeploymentStateMachine" in refs_in(statement["Resource"]):
            granted |= set(statement["Action"])
    assert {
        "states:StartExecution",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:StopExecution",
        "states:DescribeExecution",
    } <= granted


@pytest.mark.parametrize("name", ["FinalizeFunction", "DriftScannerFunction", "PlanFunction", "RequestApprovalFunction",
                                  "ApiFunction"])
def test_event_publishers_may_put_events_on_the_domain_bus(functions, name):
    policies = functions[name]["Properties"]["Policies"]
    assert {"EventBridgePutEventsPolicy": {"EventBusName": {"Ref": "DomainEventBus"}}} in policies


def test_drift_scanner_runs_on_the_configured_schedule(template, functions):
    events = functions["DriftScannerFunction"]["Properties"]["Events"]
    schedules = [e for e in events.values() if e["Type"] in ("Schedule", "ScheduleV2")]
    assert len(schedules) == 1
    props = schedules[0]["Properties"]
    assert {"Ref": "DriftScheduleRate"} in (props.get("Schedule"), props.get("ScheduleExpression"))
    assert template["Parameters"]["DriftScheduleRate"]["Default"] == "rate(1 hour)"


# --------------------------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------------------------
def test_api_has_a_lambda_default_authorizer(resources):
    api = resources["RestApi"]["Properties"]
    auth = api["Auth"]
    default = auth["DefaultAuthorizer"]
    authorizer = auth["Authorizers"][default]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer.get("FunctionPayloadType", "TOKEN") in ("REQUEST", "TOKEN")
    identity = authorizer["Identity"]
    assert identity.get("Headers") == ["Authorization"] or identity.get("Header", "Authorization") == "Authorization"
    assert identity.get("ReauthorizeEvery", 300) <= 60
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False


def test_api_stage_is_throttled_traced_and_access_logged(resources):
    api = resources["RestApi"]["Properties"]
    assert api["StageName"] == {"Ref": "Stage"}
    assert api["TracingEnabled"] is True
    catch_all = [s for s in api["MethodSettings"] if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert len(catch_all) == 1
    assert catch_all[0]["ThrottlingRateLimit"] and catch_all[0]["ThrottlingBurstLimit"]
    log_format = api["AccessLogSetting"]["Format"]
    assert "$context.requestId" in log_format
    json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", log_format))  # the access log format is JSON
    assert api["Cors"]


@pytest.mark.parametrize(("response", "status"), [("UNAUTHORIZED", 401), ("ACCESS_DENIED", 403)])
def test_auth_failures_answer_json_with_message_and_code(resources, response, status):
    gateway_response = resources["RestApi"]["Properties"]["GatewayResponses"][response]
    assert gateway_response["StatusCode"] == status
    body = json.loads(gateway_response["ResponseTemplates"]["application/json"])
    assert set(body) == {"message", "code"}


def test_only_the_public_routes_skip_the_authorizer(functions):
    events = functions["ApiFunction"]["Properties"]["Events"]
    public, protected = set(), set()
    for event in events.values():
        assert event["Type"] == "Api"
        props = event["Properties"]
        assert props["RestApiId"] == {"Ref": "RestApi"}
        route = (props["Path"], props["Method"].upper())
        if props.get("Auth", {}).get("Authorizer") == "NONE":
            public.add(route)
        else:
            protected.add(route)
    assert public == PUBLIC_ROUTES
    assert ("/api/v1/{proxy+}", "ANY") in protected
    # Only the API function and the authorizer are wired to the API.
    for name, function in functions.items():
        if name != "ApiFunction":
            assert all(e["Type"] != "Api" for e in function["Properties"].get("Events", {}).values()), name


# --------------------------------------------------------------------------------------------------------------------
# Network and data
# --------------------------------------------------------------------------------------------------------------------
def ingress_rules(resources: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """Inline rules of `group` plus standalone AWS::EC2::SecurityGroupIngress resources attached to it."""
    rules = list(resources[group]["Properties"].get("SecurityGroupIngress", []))
    for res in resources_of_type(resources, "AWS::EC2::SecurityGroupIngress").values():
        if is_ref_to(res["Properties"].get("GroupId"), group):
            rules.append(res["Properties"])
    return rules


def admitted_groups(resources: dict[str, Any], group: str, port: int) -> set[str]:
    admitted = set()
    for rule in ingress_rules(resources, group):
        assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule), f"{group} admits an address range"
        assert rule["IpProtocol"] == "tcp" and rule["FromPort"] == rule["ToPort"] == port, f"{group}: {rule}"
        source = rule["SourceSecurityGroupId"]
        (admitted_id,) = refs_in(source)
        admitted.add(admitted_id)
    return admitted


def test_cache_admits_only_the_lambda_security_group(resources):
    assert admitted_groups(resources, "CacheSecurityGroup", 6379) == {"LambdaSecurityGroup"}
    cache = resources["CacheReplicationGroup"]["Properties"]
    assert [refs_in(g) for g in cache["SecurityGroupIds"]] == [{"CacheSecurityGroup"}]


def test_database_admits_only_the_lambda_security_group_and_the_proxy(resources):
    assert admitted_groups(resources, "DatabaseSecurityGroup", 5432) == {
        "LambdaSecurityGroup",
        "DatabaseProxySecurityGroup",
    }
    assert admitted_groups(resources, "DatabaseProxySecurityGroup", 5432) == {"LambdaSecurityGroup"}
    cluster = resources["DatabaseCluster"]["Properties"]
    assert [refs_in(g) for g in cluster["VpcSecurityGroupIds"]] == [{"DatabaseSecurityGroup"}]
    proxy = resources["DatabaseProxy"]["Properties"]
    assert [refs_in(g) for g in proxy["VpcSecurityGroupIds"]] == [{"DatabaseProxySecurityGroup"}]


def test_security_group_checker_rejects_an_open_rule(resources):
    broken = json.loads(json.dumps(resources))
    broken["Extra"] = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": {"Fn::GetAtt": ["CacheSecurityGroup", "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 6379,
            "ToPort": 6379,
            "CidrIp": "0.0.0.0/0",
        },
    }
    with pytest.raises(AssertionError, match="address range"):
        admitted_groups(broken, "CacheSecurityGroup", 6379)


def test_data_stores_are_encrypted_and_private(template, resources):
    cluster = resources["DatabaseCluster"]["Properties"]
    assert cluster["Engine"] == "aurora-postgresql"
    engine_version = template["Parameters"]["DatabaseEngineVersion"]["Default"]
    assert re.fullmatch(r"16\.\d+", engine_version)
    assert cluster["StorageEncrypted"] is True
    assert cluster["ServerlessV2ScalingConfiguration"]
    assert cluster["DeletionProtection"] == {"Fn::If": ["IsProd", True, False]}
    assert resources["DatabaseInstance"]["Properties"]["DBInstanceClass"] == "db.serverless"
    assert resources["DatabaseProxy"]["Properties"]["RequireTLS"] is True
    cache = resources["CacheReplicationGroup"]["Properties"]
    assert cache["TransitEncryptionEnabled"] is True and cache["AtRestEncryptionEnabled"] is True
    subnets = resources_of_type(resources, "AWS::EC2::Subnet")
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    # The data stores' subnets are private; the only way out is the optional webhook egress.
    for name in ("DatabaseSubnetGroup", "CacheSubnetGroup"):
        assert refs_in(resources[name]["Properties"]["SubnetIds"]) == {"PrivateSubnetA", "PrivateSubnetB"}
    for res in [*resources_of_type(resources, "AWS::EC2::InternetGateway").values(),
                *resources_of_type(resources, "AWS::EC2::NatGateway").values(), subnets["EgressSubnet"]]:
        assert res["Condition"] == "HasWebhookEgress"


def test_vpc_endpoints_cover_the_services_the_functions_call(resources):
    services = set()
    for endpoint in resources_of_type(resources, "AWS::EC2::VPCEndpoint").values():
        name = endpoint["Properties"]["ServiceName"]["Fn::Sub"]
        services.add((name.rsplit(".", 1)[1], endpoint["Properties"].get("VpcEndpointType", "Gateway")))
    assert {
        ("secretsmanager", "Interface"),
        ("states", "Interface"),
        ("events", "Interface"),
        ("logs", "Interface"),
        ("xray", "Interface"),
    } <= services
    # The custom resource's reply to CloudFormation is an S3 PUT: without NAT it needs the gateway endpoint.
    assert ("s3", "Gateway") in services


def test_migrations_run_after_the_database_and_rerun_when_the_migration_set_changes(resources, functions):
    custom = resources["DatabaseMigrations"]
    assert custom["Type"] == "Custom::DatabaseMigrations"
    assert custom["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    # After the database exists, and with the S3 gateway endpoint in place for the reply to CloudFormation.
    assert {"DatabaseInstance", "S3GatewayEndpoint", "SecretsManagerEndpoint"} <= set(custom["DependsOn"])
    # The layer's version ARN changes exactly when its content (the SQL files) changes.
    assert {"Ref": "MigrationsLayer"} in custom["Properties"].values()
    layer = resources["MigrationsLayer"]
    content = ROOT / layer["Properties"]["ContentUri"]
    assert (content / "migrations").is_dir()
    migrate = functions["MigrateFunction"]["Properties"]
    assert {"Ref": "MigrationsLayer"} in migrate["Layers"]
    # python3.12 layers are unpacked under /opt/python/.
    assert migrate["Environment"]["Variables"]["ORCH_MIGRATIONS_DIR"] == "/opt/python/migrations"
    assert layer["Metadata"]["BuildMethod"] == "python3.12"


def test_outputs(template):
    assert {"ApiUrl", "StateMachineArn", "EventBusName", "EventBusArn"} <= set(template["Outputs"])


# --------------------------------------------------------------------------------------------------------------------
# samconfig.toml
# --------------------------------------------------------------------------------------------------------------------
def _parameter_overrides(value: str | list[str]) -> dict[str, str]:
    items = value if isinstance(value, list) else [value]
    pairs = [pair for item in items for pair in shlex.split(item)]
    return dict(pair.split("=", 1) for pair in pairs)


def _check_parameter(spec: dict[str, Any], value: str) -> None:
    if "AllowedValues" in spec:
        assert value in {str(v) for v in spec["AllowedValues"]}
    if spec["Type"] == "Number":
        number = float(value)
        assert spec.get("MinValue", number) <= number <= spec.get("MaxValue", number)
    if "AllowedPattern" in spec:
        assert re.fullmatch(spec["AllowedPattern"], value)


@pytest.mark.parametrize("env", ["default", "staging", "prod"])
def test_samconfig_environment(template, env):
    config = tomllib.loads(SAMCONFIG_PATH.read_text())
    assert str(config["version"]) == "0.1"
    assert config[env]["global"]["parameters"]["stack_name"]
    deploy = config[env]["deploy"]["parameters"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is (env == "prod")
    overrides = _parameter_overrides(deploy["parameter_overrides"])
    expected_stage = "dev" if env == "default" else env
    assert overrides["Stage"] == expected_stage
    tags = _parameter_overrides(deploy["tags"])
    assert tags == {"Application": "multicloud-orchestrator", "Stage": expected_stage}
    for key, value in overrides.items():
        assert key in template["Parameters"], key
        _check_parameter(template["Parameters"][key], value)


def test_samconfig_states_each_environment_once():
    config = tomllib.loads(SAMCONFIG_PATH.read_text())
    assert set(config) - {"version"} == {"default", "staging", "prod"}  # default is dev: no copy of it


# --------------------------------------------------------------------------------------------------------------------
# Guardrails: alarms, failure destinations, concurrency, cache AUTH, HA, CORS
# --------------------------------------------------------------------------------------------------------------------
def _alarms(resources) -> dict[str, Any]:
    return {name: res["Properties"] for name, res in resources_of_type(resources, "AWS::CloudWatch::Alarm").items()}


def _watched(alarms: dict[str, Any], namespace: str, metric: str) -> set[str]:
    """Logical ids named in the dimensions of the alarms on namespace/metric."""
    return {ref for alarm in alarms.values() if alarm["Namespace"] == namespace and alarm["MetricName"] == metric
            for ref in refs_in(alarm["Dimensions"])}


def test_every_alarm_notifies_the_one_topic(resources):
    alarms = _alarms(resources)
    assert len(alarms) >= 30
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert resources["AlarmEmailSubscription"]["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_every_function_has_error_and_throttle_alarms(resources, functions):
    alarms = _alarms(resources)
    assert _watched(alarms, "AWS/Lambda", "Errors") == set(functions)
    assert _watched(alarms, "AWS/Lambda", "Throttles") == set(functions)


def test_state_machine_api_and_database_are_watched(resources):
    alarms = _alarms(resources)
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        assert _watched(alarms, "AWS/States", metric) == {"DeploymentStateMachine"}, metric
    api_dimensions = [a["Dimensions"] for a in alarms.values() if a["Namespace"] == "AWS/ApiGateway"]
    assert {a["MetricName"] for a in alarms.values() if a["Namespace"] == "AWS/ApiGateway"} == {"5XXError", "Latency"}
    for dimensions in api_dimensions:  # the names API Gateway publishes under
        assert {d["Name"]: d["Value"] for d in dimensions} == {
            "ApiName": resources["RestApi"]["Properties"]["Name"], "Stage": {"Ref": "Stage"}}
    assert {"DatabaseCluster", "DatabaseProxy"} <= {ref for a in alarms.values() if a["Namespace"] == "AWS/RDS"
                                                    for ref in refs_in(a["Dimensions"])}


def test_thresholds_are_set_per_stage(template, resources):
    thresholds = template["Mappings"]["AlarmThresholds"]
    assert set(thresholds) == set(template["Parameters"]["Stage"]["AllowedValues"])
    keys = {k for stage in thresholds.values() for k in stage}
    assert all(set(stage) == keys for stage in thresholds.values())
    used = {a["Threshold"]["Fn::FindInMap"][2] for a in _alarms(resources).values()
            if isinstance(a["Threshold"], dict)}
    assert used == keys
    assert thresholds["prod"]["FunctionErrors"] <= thresholds["dev"]["FunctionErrors"]


def test_asynchronously_invoked_functions_fail_into_a_watched_queue(resources, functions):
    asynchronous = {name for name, fn in functions.items()
                    if any(e["Type"] in ("Schedule", "EventBridgeRule") for e in fn["Properties"].get("Events",
                                                                                                     {}).values())}
    assert asynchronous == {"DriftScannerFunction", "ReconcileFunction", "NotifyFunction"}
    for name in asynchronous:
        config = functions[name]["Properties"]["EventInvokeConfig"]
        assert config["DestinationConfig"]["OnFailure"] == {
            "Type": "SQS", "Destination": {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}}, name
    assert _watched(_alarms(resources), "AWS/SQS", "ApproximateNumberOfMessagesVisible") == {"AsyncFailureQueue"}


def test_reserved_concurrency_fits_the_database_connection_budget(template, functions):
    reserved = {name: fn["Properties"]["ReservedConcurrentExecutions"] for name, fn in functions.items()}
    pool = int(template["Globals"]["Function"]["Environment"]["Variables"]["DB_POOL_MAX_SIZE"])
    connections = sum(reserved.values()) * pool
    # Aurora PostgreSQL: max_connections = LEAST(memory / 9531392, 5000); 2 GiB per ACU; the proxy may use 90 %.
    min_acus = template["Parameters"]["DatabaseMaxCapacity"]["MinValue"]
    budget = int(min(min_acus * 2 * 1024**3 / 9531392, 5000) * 0.9)
    assert connections <= budget, (connections, budget)
    assert reserved["ApplyStepFunction"] >= 40  # one deployment's widest wave (MaxConcurrency <= 40)


def test_cache_requires_auth_with_a_token_from_secrets_manager(template, resources, functions):
    cache = resources["CacheReplicationGroup"]["Properties"]
    assert cache["TransitEncryptionEnabled"] is True  # AUTH needs TLS
    assert "${CacheAuthSecret}" in cache["AuthToken"]["Fn::Sub"]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["REDIS_AUTH_SECRET_ARN"] == {
        "Ref": "CacheAuthSecret"}
    for name, function in functions.items():
        if name != "MigrateFunction":  # the only one that never touches Redis
            assert "CacheAuthSecret" in _secret_grants(function), name


def test_prod_runs_two_database_instances(resources):
    replica = resources["DatabaseReplicaInstance"]
    assert replica["Condition"] == "IsProd"
    assert replica["Properties"]["DBClusterIdentifier"] == {"Ref": "DatabaseCluster"}


def test_cors_parameter_reaches_the_api_function(resources, functions):
    variables = functions["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["CORS_ALLOW_ORIGIN"] == {"Ref": "CorsAllowOrigin"}


def test_authorizer_answers_are_cached_a_minute(resources):
    authorizer = resources["RestApi"]["Properties"]["Auth"]["Authorizers"]["JwtAuthorizer"]
    assert authorizer["Identity"]["ReauthorizeEvery"] == 60  # the revocation delay docs/adr/0014 states


def test_every_checkov_skip_is_justified(resources):
    for name, res in resources.items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
            assert len(skip.get("comment", "")) > 20, (name, skip["id"])


def test_notifications_follow_the_domain_events_they_name(resources, functions):
    from orchestrator.domain.notifications import EVENT_BY_DETAIL_TYPE

    rule = functions["NotifyFunction"]["Properties"]["Events"]["DomainEvents"]
    assert rule["Type"] == "EventBridgeRule"
    assert rule["Properties"]["EventBusName"] == {"Ref": "DomainEventBus"}
    assert set(rule["Properties"]["Pattern"]["detail-type"]) == set(EVENT_BY_DETAIL_TYPE)


def test_webhook_egress_is_optional_and_https_only(resources):
    for name in ("InternetGateway", "EgressSubnet", "NatGateway", "PrivateDefaultRoute"):
        assert resources[name]["Condition"] == "HasWebhookEgress", name
    egress = resources["LambdaSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert [(rule["FromPort"], rule["ToPort"]) for rule in egress if rule.get("CidrIp") == "0.0.0.0/0"] == [(443, 443)]
