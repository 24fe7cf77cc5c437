"""Deploy template.yaml into the local AWS emulator: the same functions, layer, state machines, event buses,
schedules and secrets the template declares, nothing listed by hand.

The target is the built-in emulator (handlers in this process, so their environment is one: the union of every
function's resolved variables) or LocalStack (`targets.RemoteAws`: code and layer zipped and uploaded). Only the
data plane differs from AWS: DATABASE_URL and REDIS_URL point at the local servers (the URL carries the
credentials, so no database secret is read), and the migrations come from the work tree.

Every ARN is built from the account and partition the target reports (STS) and the target's region. Deploying
again over an earlier deploy updates what is there (functions, layer versions, state machine definitions, rules,
targets, secrets) and deletes nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from .lambdas import FunctionCode
from .targets import Identity, Target
from .template import Resolver, Stack

# Variables whose AWS value makes no sense on one machine: replaced by the deploy's own (see `local_overrides`);
# the local Valkey runs without AUTH.
DROPPED = ("DB_SECRET_ARN", "REDIS_AUTH_SECRET_ARN", "ORCH_MIGRATIONS_DIR")


@dataclass(frozen=True)
class EventRule:
    """An EventBridgeRule event of a function: a rule on its bus. Where the target does not invoke Lambda targets
    itself (moto), matching events land in `queue_url` and the local scheduler hands them to the function."""
    rule_name: str
    function_logical_id: str
    queue_url: str | None


@dataclass(frozen=True)
class Schedule:
    rule_name: str
    function_logical_id: str
    expression: str


@dataclass
class Deployed:
    stack_name: str
    identity: Identity
    function_names: dict[str, str]
    function_arns: dict[str, str]
    state_machine_arns: dict[str, str]
    event_buses: dict[str, str]
    secret_arns: dict[str, str]
    secret_values: dict[str, str] = field(repr=False)
    schedules: list[Schedule]
    environment: dict[str, str]
    event_rules: list[EventRule] = field(default_factory=list)
    public_routes: set[tuple[str, str]] = field(default_factory=set)

    def function_for(self, logical_id: str) -> str:
        return self.function_names[logical_id]


def _generate(spec: dict[str, Any]) -> str:
    """A value for GenerateSecretString, as Secrets Manager would make it."""
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        excluded = set(spec.get("ExcludeCharacters", ""))
        alphabet += "".join(c for c in "!#$%&()*+,-.:;<=>?[]^_{|}~" if c not in excluded)
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = value
        return json.dumps(document)
    return value


def _put_secret(sm: Any, name: str, value: str | None, generate: dict[str, Any]) -> tuple[str, str]:
    """(ARN, value) of the secret `name`: `value` when given, else the one it already holds, else a new one."""
    try:
        existing = sm.get_secret_value(SecretId=name)
    except sm.exceptions.ResourceNotFoundException:
        value = value or _generate(generate)
        return sm.create_secret(Name=name, SecretString=value)["ARN"], value
    if value and value != existing["SecretString"]:
        sm.put_secret_value(SecretId=name, SecretString=value)
    return existing["ARN"], value or existing["SecretString"]


def deploy(emulator: Target, stack: Stack, *, database_url: str, redis_url: str,
           stack_name: str = "orchestrator-local", extra_environment: dict[str, str] | None = None,
           secret_values: dict[str, str] | None = None, parameters: dict[str, str] | None = None) -> Deployed:
    """`secret_values` gives secrets a value kept from an earlier run (by logical id); the others keep the value
    the target already holds or are generated as their GenerateSecretString says, and every value is returned in
    `Deployed.secret_values`. `parameters` overrides template parameter defaults (as `--parameter-overrides`)."""
    identity = emulator.identity  # asked of the endpoint when the target started
    functions = stack.functions()
    names = {fn.logical_id: f"{stack_name}-{fn.logical_id}" for fn in functions}
    # Known before anything exists: the state machine names the functions and the functions name it.
    arns = {lid: identity.arn("lambda", f"function:{name}") for lid, name in names.items()}
    values: dict[str, str] = {}
    for lid in names:
        values[lid] = names[lid]
        values[f"{lid}.Arn"] = arns[lid]

    resolver = Resolver(parameters={**stack.parameter_defaults(), **(parameters or {})}, values=values)
    resolver.pseudo.update({"AWS::StackName": stack_name, "AWS::Region": identity.region,
                            "AWS::AccountId": identity.account, "AWS::Partition": identity.partition})

    events = emulator.client("events")
    buses = {}
    for lid in stack.event_buses():
        name_node = stack.resources[lid]["Properties"].get("Name")
        bus = str(resolver.resolve(name_node)) if name_node else f"{stack_name}-{lid}"
        try:
            events.create_event_bus(Name=bus)
        except events.exceptions.ResourceAlreadyExistsException:
            pass  # an event bus has nothing else to update
        buses[lid] = values[lid] = values[f"{lid}.Name"] = bus
        values[f"{lid}.Arn"] = identity.arn("events", f"event-bus/{bus}")

    sm = emulator.client("secretsmanager")
    secret_arns, kept = {}, dict(secret_values or {})
    for lid, res in stack.of_type("AWS::SecretsManager::Secret").items():
        props = res.get("Properties", {})
        secret_arns[lid], kept[lid] = _put_secret(sm, f"{stack_name}/{lid}",
                                                  kept.get(lid) or props.get("SecretString"),
                                                  props.get("GenerateSecretString", {}))
        values[lid] = secret_arns[lid]

    machines = {}
    for machine in stack.state_machines():
        substitutions = {key: str(resolver.resolve(node)) for key, node in machine.substitutions.items()}
        definition = machine.definition_path.read_text()
        for key, value in substitutions.items():
            definition = definition.replace("${" + key + "}", value)
        arn = emulator.put_state_machine(f"{stack_name}-{machine.logical_id}", definition)
        machines[machine.logical_id] = values[machine.logical_id] = arn
        values[f"{machine.logical_id}.Name"] = f"{stack_name}-{machine.logical_id}"

    overrides = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, **(extra_environment or {})}
    environment: dict[str, str] = {}
    for fn in functions:
        env = {}
        for key, node in fn.environment.items():
            if key in DROPPED:
                continue
            env[key] = overrides[key] if key in overrides else str(resolver.resolve(node))
        for key, value in env.items():
            if environment.get(key, value) != value:
                raise ValueError(f"{key} differs between functions; in-process handlers share one environment")
        environment.update(env)
        emulator.put_function(
            FunctionCode(name=names[fn.logical_id], code_dir=fn.code_dir, handler=fn.handler,
                         timeout_seconds=fn.timeout_seconds, memory_mb=fn.memory_mb), env, layers=fn.layers)
    environment.update({k: v for k, v in overrides.items() if k not in environment})

    schedules = []
    for lid, event_name, expression_node in stack.schedules():
        expression = str(resolver.resolve(expression_node))
        rule = f"{stack_name}-{lid}-{event_name}"[:64]
        # Both calls replace what a rule of that name holds; another target on the rule is left alone.
        events.put_rule(Name=rule, ScheduleExpression=expression, State="ENABLED")
        events.put_targets(Rule=rule, Targets=[{"Id": "function", "Arn": arns[lid]}])
        schedules.append(Schedule(rule_name=rule, function_logical_id=lid, expression=expression))

    event_rules = []
    for fn in functions:
        for event_name, event in fn.events.items():
            if event.get("Type") != "EventBridgeRule":
                continue
            props = event.get("Properties", {})
            bus = str(resolver.resolve(props["EventBusName"])) if "EventBusName" in props else "default"
            rule = f"{stack_name}-{fn.logical_id}-{event_name}"[:64]
            events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(props["Pattern"]), State="ENABLED")
            queue_url = None
            if emulator.runs_schedules:  # the target delivers to Lambda targets itself
                target = arns[fn.logical_id]
            else:
                sqs = emulator.client("sqs")
                queue_url = sqs.create_queue(QueueName=rule)["QueueUrl"]
                target = sqs.get_queue_attributes(QueueUrl=queue_url,
                                                  AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "function", "Arn": target}])
            event_rules.append(EventRule(rule_name=rule, function_logical_id=fn.logical_id, queue_url=queue_url))

    public = set()
    for fn in functions:
        for event in fn.events.values():
            props = event.get("Properties", {})
            if event.get("Type") == "Api" and props.get("Auth", {}).get("Authorizer") == "NONE":
                public.add((props["Method"].upper(), props["Path"]))

    return Deployed(stack_name=stack_name, identity=identity, function_names=names, function_arns=arns,
                    state_machine_arns=machines,
                    event_buses=buses, secret_arns=secret_arns, secret_values=kept, schedules=schedules,
                    environment=environment, public_routes=public, event_rules=event_rules)


def local_process_environment(emulator: Target, deployed: Deployed) -> dict[str, str]:
    """What os.environ must hold for the in-process handlers: their variables, and the emulator as AWS."""
    return {
        **deployed.environment,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_REGION": emulator.region,
        "AWS_DEFAULT_REGION": emulator.region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        # No X-Ray daemon and no CloudWatch agent here: traces off, metrics not printed.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # In AWS each invocation has its own process and pool; here every function shares this process's one.
        "DB_POOL_MAX_SIZE": os.environ.get("DB_POOL_MAX_SIZE", "24"),
    }


def apply_environment(env: dict[str, str]) -> None:
    os.environ.update(env)
