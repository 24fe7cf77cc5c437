import copy

import pytest

from orchestrator.domain.errors import ValidationFailed
from orchestrator.domain.graph import CycleDetected, topological_waves
from orchestrator.domain.intent import MAX_RESOURCES, validate_intent


def resource(name, provider="aws", region="us-east-1", rtype="compute", **extra):
    return {"resource_type": rtype, "provider": provider, "region": region, "name": name, **extra}


def intent(**overrides):
    base = {
        "name": "checkout",
        "description": "Checkout service across two clouds",
        "target_providers": ["aws", "gcp"],
        "target_regions": ["us-east-1", "us-central1"],
        "resources": [
            resource("vpc", rtype="network"),
            resource("api", dependencies=["aws/us-east-1/network/vpc"], tags={"team": "payments"}),
            resource("db", provider="gcp", region="us-central1", rtype="database",
                     dependencies=["aws/us-east-1/network/vpc"], properties={"size": "large"}),
        ],
        "environment": "staging",
    }
    base.update(overrides)
    return base


def errors_of(payload) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_intent(payload)
    return {e.location: e.msg for e in caught.value.errors}


def test_valid_intent_parses_with_defaults():
    parsed = validate_intent(intent())
    assert [r.identifier for r in parsed.resources] == [
        "aws/us-east-1/network/vpc", "aws/us-east-1/compute/api", "gcp/us-central1/database/db",
    ]
    assert parsed.strategy == "rolling" and parsed.rollback_on_failure and not parsed.auto_approve
    assert parsed.max_concurrency == 10 and parsed.approval_timeout_seconds is None


@pytest.mark.parametrize(("field", "value", "location"), [
    ("description", "", "description"),
    ("description", "x" * 1001, "description"),
    ("target_providers", [], "target_providers"),
    ("target_providers", ["oracle"], "target_providers.0"),
    ("strategy", "big_bang", "strategy"),
    ("environment", "prod", "environment"),
    ("name", "", "name"),
    ("name", "-leading-dash", "name"),
    ("max_concurrency", 41, "max_concurrency"),
    ("max_concurrency", 0, "max_concurrency"),
    ("approval_timeout_seconds", 0, "approval_timeout_seconds"),
    ("resources", [], "resources"),
])
def test_structural_rules_name_the_field(field, value, location):
    assert location in errors_of(intent(**{field: value}))


def test_unknown_top_level_field_is_rejected():
    assert "auto_aprove" in errors_of(intent(auto_aprove=True))


def test_missing_required_fields_are_all_reported():
    assert {"name", "description", "target_providers", "resources"} <= set(errors_of({}))


@pytest.mark.parametrize(("bad", "location"), [
    ({"resource_type": "mainframe"}, "resources.0.resource_type"),
    ({"provider": "ibm"}, "resources.0.provider"),
    ({"name": "Upper"}, "resources.0.name"),
    ({"name": "ends-with-"}, "resources.0.name"),
    ({"name": "a" * 64}, "resources.0.name"),
    ({"region": "US_EAST"}, "resources.0.region"),
    ({"tags": {"bad\nkey": "v"}}, "resources.0.tags.bad\nkey.[key]"),
    ({"tags": {"k": "v" * 257}}, "resources.0.tags.k"),
    ({"dependencies": ["not-an-identifier"]}, "resources.0.dependencies.0"),
    ({"colour": "blue"}, "resources.0.colour"),
])
def test_resource_structure_rules(bad, location):
    payload = intent()
    payload["resources"][0].update(bad)
    assert location in errors_of(payload)


def test_name_pattern_errors_read_as_rules_not_regexes():
    payload = intent()
    payload["resources"][0]["name"] = "Upper"
    message = errors_of(payload)["resources.0.name"]
    assert "lowercase letters" in message and "^" not in message


def test_region_must_exist_for_its_provider():
    payload = intent(target_regions=[])
    payload["resources"][0]["region"] = "westeurope"  # an Azure region on an AWS resource
    assert errors_of(payload)["resources.0.region"] == "region 'westeurope' does not exist for provider 'aws'"


def test_target_region_must_exist_for_a_target_provider():
    assert "target_regions.0" in errors_of(intent(target_regions=["mars-north-1"]))


def test_resource_region_must_be_targeted_when_target_regions_are_given():
    payload = intent()
    payload["resources"][0]["region"] = "eu-west-1"
    payload["resources"][1]["dependencies"] = []
    payload["resources"][2]["dependencies"] = []
    assert "not among target_regions" in errors_of(payload)["resources.0.region"]


def test_global_region_is_always_allowed_for_dns_and_cdn():
    payload = intent()
    payload["resources"].append(resource("zone", region="global", rtype="dns"))
    assert validate_intent(payload).resources[-1].identifier == "aws/global/dns/zone"


def test_resource_provider_must_be_a_target_provider():
    payload = intent(target_providers=["aws"], target_regions=[])
    assert errors_of(payload)["resources.2.provider"] == "provider 'gcp' is not among target_providers"


def test_providers_must_not_repeat():
    assert "target_providers" in errors_of(intent(target_providers=["aws", "aws", "gcp"]))


def test_identifiers_must_be_unique():
    payload = intent()
    payload["resources"].append(resource("api"))
    assert "duplicate resource identifier 'aws/us-east-1/compute/api'" in errors_of(payload)["resources.3.name"]


def test_every_dependency_names_a_resource_of_the_intent():
    payload = intent()
    payload["resources"][1]["dependencies"] = ["aws/us-east-1/network/missing"]
    assert "names no resource" in errors_of(payload)["resources.1.dependencies.0"]


def test_self_and_repeated_dependencies_are_rejected():
    payload = intent()
    payload["resources"][1]["dependencies"] = ["aws/us-east-1/compute/api"]
    payload["resources"][2]["dependencies"] = ["aws/us-east-1/network/vpc"] * 2
    found = errors_of(payload)
    assert found["resources.1.dependencies.0"] == "a resource cannot depend on itself"
    assert "listed twice" in found["resources.2.dependencies.1"]


def test_dependency_cycle_error_spells_the_path():
    payload = intent()
    payload["resources"][0]["dependencies"] = ["gcp/us-central1/database/db"]
    message = errors_of(payload)["resources.0.dependencies"]
    assert message == ("dependency cycle: aws/us-east-1/network/vpc -> gcp/us-central1/database/db -> "
                       "aws/us-east-1/network/vpc")


def test_reserved_tag_prefixes_are_rejected():
    payload = intent()
    payload["resources"][0]["tags"] = {"aws:createdBy": "me"}
    assert "reserved" in errors_of(payload)["resources.0.tags.aws:createdBy"]


def test_property_size_is_bounded():
    payload = intent()
    payload["resources"][0]["properties"] = {"blob": "x" * 20_000}
    assert "exceed" in errors_of(payload)["resources.0.properties"]


def test_parameters_size_is_bounded():
    assert "parameters" in errors_of(intent(parameters={"blob": "x" * 70_000}))


def test_resource_count_is_bounded():
    payload = intent(target_regions=[])
    payload["resources"] = [resource(f"r{i}") for i in range(MAX_RESOURCES + 1)]
    assert "resources" in errors_of(payload)


@pytest.mark.parametrize(("simulate", "location"), [
    ({"fail_apply": -1}, "resources.0.properties.simulate.fail_apply"),
    ({"fail_apply": "sometimes"}, "resources.0.properties.simulate.fail_apply"),
    ({"fail_verify": "yes"}, "resources.0.properties.simulate.fail_verify"),
    ({"unhealthy": 1}, "resources.0.properties.simulate.unhealthy"),
    ({"latency_ms": 120_000}, "resources.0.properties.simulate.latency_ms"),
    ({"explode": True}, "resources.0.properties.simulate"),
    ("always", "resources.0.properties.simulate"),
])
def test_fault_injection_settings_are_checked(simulate, location):
    payload = intent()
    payload["resources"][0]["properties"] = {"simulate": simulate}
    assert location in errors_of(payload)


def test_every_fault_injection_setting_is_accepted():
    payload = intent()
    payload["resources"][0]["properties"] = {"simulate": {"fail_apply": 2, "fail_verify": False, "latency_ms": 10,
                                                          "unhealthy": True}}
    parsed = validate_intent(payload)
    assert parsed.resources[0].properties["simulate"]["unhealthy"] is True


def test_all_errors_come_back_together_structural_and_semantic():
    payload = intent()
    payload["description"] = ""                                          # structural, top level
    payload["resources"][0]["name"] = "BAD"                              # structural, in a resource
    payload["resources"][1]["region"] = "eu-west-9"                      # semantic, in a valid resource
    payload["resources"][2]["provider"] = "azure"                        # semantic: not targeted, wrong region
    found = errors_of(payload)
    assert {"description", "resources.0.name", "resources.1.region", "resources.2.provider",
            "resources.2.region"} <= set(found)


def test_validation_does_not_mutate_the_payload():
    payload = intent()
    before = copy.deepcopy(payload)
    validate_intent(payload)
    assert payload == before


def test_waves_put_dependencies_first_and_cycles_raise():
    assert topological_waves(["a", "b", "c", "d"], {"b": ["a"], "c": ["a", "b"]}) == [["a", "d"], ["b"], ["c"]]
    with pytest.raises(CycleDetected) as caught:
        topological_waves(["a", "b"], {"a": ["b"], "b": ["a"]})
    assert caught.value.path[0] == caught.value.path[-1]


def test_unknown_dependency_is_reported_beside_a_top_level_structural_error():
    payload = intent(description="")
    payload["resources"][1]["dependencies"] = ["aws/us-east-1/network/missing"]
    found = errors_of(payload)
    assert "description" in found and "names no resource" in found["resources.1.dependencies.0"]
