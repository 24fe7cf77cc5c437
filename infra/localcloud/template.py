"""Reading template.yaml the way SAM and CloudFormation do: short-form intrinsics, Globals, and what the local
cloud needs to deploy from it (functions, layers, state machines, event buses, schedules)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that maps `!Ref x` to {"Ref": x}, `!GetAtt a.b` to {"Fn::GetAtt": ["a", "b"]}, `!Sub s` to
    {"Fn::Sub": s} and so on for every other short-form intrinsic."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass


def _merge_maps(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge_maps(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def effective_function_properties(template: dict[str, Any], name: str) -> dict[str, Any]:
    """A function's properties with Globals.Function merged the way SAM does (maps merge, lists append)."""
    merged = dict(template.get("Globals", {}).get("Function", {}))
    for key, value in template["Resources"][name].get("Properties", {}).items():
        if key in merged and isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = _merge_maps(merged[key], value)
        elif key in merged and isinstance(merged[key], list) and isinstance(value, list):
            merged[key] = merged[key] + value
        else:
            merged[key] = value
    return merged


class Unresolvable(ValueError):
    """An intrinsic names something the local cloud does not provide."""


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Sub and Fn::Join against parameter defaults and local physical values."""

    parameters: dict[str, Any]
    # "LogicalId" for Ref, "LogicalId.Attribute" for GetAtt.
    values: dict[str, str] = field(default_factory=dict)
    # The deploy sets AWS::AccountId, AWS::Region and AWS::Partition from the target's identity.
    pseudo: dict[str, str] = field(default_factory=lambda: {
        "AWS::StackName": "orchestrator-local", "AWS::URLSuffix": "amazonaws.com"})

    def _lookup(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return str(self.parameters[name])
        if name in self.values:
            return self.values[name]
        raise Unresolvable(name)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                return self._lookup(value)
            if key == "Fn::GetAtt":
                return self._lookup(".".join(value) if isinstance(value, list) else value)
            if key == "Fn::Sub":
                text, extra = (value[0], self.resolve(value[1])) if isinstance(value, list) else (value, {})

                def substitute(match: re.Match) -> str:
                    name = match.group(1)
                    return str(extra[name]) if name in extra else self._lookup(name)

                return re.sub(r"\$\{([^!}][^}]*)\}", substitute, text)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(self.resolve(item)) for item in items)
        if isinstance(node, dict):
            return {k: self.resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        return node


@dataclass(frozen=True)
class FunctionDef:
    logical_id: str
    code_dir: Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    layers: list[Path]
    environment: dict[str, Any]
    events: dict[str, Any]


@dataclass(frozen=True)
class StateMachineDef:
    logical_id: str
    definition_path: Path
    substitutions: dict[str, Any]


@dataclass(frozen=True)
class Stack:
    """What the local cloud deploys, as template.yaml declares it."""

    template: dict[str, Any]
    root: Path

    @classmethod
    def load(cls, path: Path = TEMPLATE_PATH) -> Stack:
        return cls(load_template(path), path.parent)

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def of_type(self, type_name: str) -> dict[str, Any]:
        return {name: res for name, res in self.resources.items() if res["Type"] == type_name}

    def parameter_defaults(self) -> dict[str, Any]:
        return {name: spec.get("Default") for name, spec in self.template.get("Parameters", {}).items()}

    def functions(self) -> list[FunctionDef]:
        layer_dirs = {name: self.root / res["Properties"]["ContentUri"]
                      for name, res in self.of_type("AWS::Serverless::LayerVersion").items()}
        out = []
        for name in self.of_type("AWS::Serverless::Function"):
            props = effective_function_properties(self.template, name)
            layers = [layer_dirs[ref["Ref"]] for ref in props.get("Layers", [])
                      if isinstance(ref, dict) and ref.get("Ref") in layer_dirs]
            out.append(FunctionDef(
                logical_id=name, code_dir=self.root / props["CodeUri"], handler=props["Handler"],
                timeout_seconds=int(props.get("Timeout", 3)), memory_mb=int(props.get("MemorySize", 128)),
                layers=layers, environment=props.get("Environment", {}).get("Variables", {}),
                events=props.get("Events", {}),
            ))
        return out

    def state_machines(self) -> list[StateMachineDef]:
        return [StateMachineDef(logical_id=name, definition_path=self.root / res["Properties"]["DefinitionUri"],
                                substitutions=res["Properties"].get("DefinitionSubstitutions", {}))
                for name, res in self.of_type("AWS::Serverless::StateMachine").items()]

    def event_buses(self) -> list[str]:
        return list(self.of_type("AWS::Events::EventBus"))

    def schedules(self) -> list[tuple[str, str, Any]]:
        """(function logical id, event name, schedule expression node) for every Schedule/ScheduleV2 event."""
        return [(fn.logical_id, event_name, event["Properties"].get("Schedule")
                 or event["Properties"].get("ScheduleExpression"))
                for fn in self.functions() for event_name, event in fn.events.items()
                if event.get("Type") in ("Schedule", "ScheduleV2")]
