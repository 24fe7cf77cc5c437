"""`orchestrator plan FILE` against the real local cloud: what an intent would change, shown like `terraform plan`,
with its exit codes (0 no changes, 2 changes, 1 any error). Each test works in a fresh tenant."""

from __future__ import annotations

import copy

import pytest
import yaml
from cli_helpers import log_in, three_cloud_intent, write_intent

from orchestrator_cli import exitcodes

pytestmark = pytest.mark.integration

FAST = ["--interval", "0.1", "--timeout", "60"]


@pytest.fixture
def api(live_api):
    return live_api


def test_a_new_intent_shows_every_resource_to_add_exits_2_and_creates_nothing(api, tenant, tmp_path):
    log_in(api, tenant, "deployer")
    result = api("plan", write_intent(tmp_path, three_cloud_intent("fresh")))
    assert result.code == exitcodes.CHANGES, result.out + result.err
    for identifier in ("aws/us-east-1/network/vpc", "gcp/us-central1/database/db", "azure/westeurope/storage/assets",
                       "aws/us-east-1/compute/app"):
        assert f"  + {identifier}" in result.out, result.out
    assert "Plan: 4 to add, 0 to change, 0 to destroy, 0 to replace." in result.out
    assert "/month" in result.out and "Risk" in result.out
    assert api("--json", "list").json()["total"] == 0


def test_after_a_deployment_the_same_intent_exits_0_and_a_changed_one_shows_old_and_new(api, tenant, tmp_path):
    log_in(api, tenant, "operator")
    intent = three_cloud_intent("live")
    path = write_intent(tmp_path, intent)
    deployed = api("deploy", path, "--wait", *FAST)
    assert deployed.code == 0, deployed.out + deployed.err

    same = api("plan", path)
    assert same.code == exitcodes.OK, same.out + same.err
    assert "No changes" in same.out and "4 unchanged resources not shown." in same.out
    assert "Plan: 0 to add, 0 to change, 0 to destroy, 0 to replace." in same.out

    changed = copy.deepcopy(intent)
    changed["resources"][3]["properties"]["size"] = "large"
    changed["resources"][0]["tags"] = {"team": "platform"}
    del changed["resources"][2]  # the storage account goes
    result = api("plan", "-", stdin=yaml.safe_dump(changed))
    assert result.code == exitcodes.CHANGES, result.out + result.err
    assert "  ~ aws/us-east-1/compute/app" in result.out
    assert '      ~ properties.size: "small" -> "large"' in result.out
    assert '      ~ tags.team: "web" -> "platform"' in result.out
    assert "  - azure/westeurope/storage/assets" in result.out
    assert "Plan: 0 to add, 2 to change, 1 to destroy, 0 to replace." in result.out
    assert "1 unchanged resource not shown." in result.out

    raw = api("--json", "plan", write_intent(tmp_path, changed, ".json"))
    assert raw.code == exitcodes.CHANGES
    plan = raw.json()
    compute = next(s for s in plan["steps"] if s["resource_identifier"] == "aws/us-east-1/compute/app")
    assert compute["changes"] == [{"path": "properties.size", "old": "small", "new": "large"}]
    # Nothing was deployed by planning: still the one deployment.
    assert api("--json", "list").json()["total"] == 1


def test_plan_of_a_deployment_id_still_shows_its_stored_plan(api, tenant, tmp_path):
    log_in(api, tenant, "operator")
    created = api("--json", "deploy", write_intent(tmp_path, three_cloud_intent("stored")), "--wait", *FAST).json()
    shown = api("plan", created["id"][:8])
    assert shown.code == 0 and "Plan steps" in shown.out, shown.out + shown.err
    assert api("plan", "0000dead").code == exitcodes.NOT_FOUND  # neither a file nor a deployment: the usual codes


@pytest.mark.parametrize("case", ["viewer-forbidden", "invalid-intent", "paging-option", "bad-option-value",
                                  "not-logged-in", "missing-file"])
def test_every_error_of_plan_file_exits_1_not_the_usual_codes(api, tenant, tmp_path, case):
    path = write_intent(tmp_path, three_cloud_intent("errors"))
    if case != "not-logged-in":
        log_in(api, tenant, "viewer" if case == "viewer-forbidden" else "deployer")
    if case == "invalid-intent":
        bad = three_cloud_intent("errors")
        bad["resources"][0]["region"] = "mars-1"
        path = write_intent(tmp_path, bad, ".json")
    argv = {"viewer-forbidden": [path], "invalid-intent": [path], "paging-option": [path, "--status", "failed"],
            "bad-option-value": [path, "--wave", "zero"], "not-logged-in": [path],
            "missing-file": [str(tmp_path / "typo.yaml")]}[case]
    result = api("plan", *argv)
    assert result.code == exitcodes.PLAN_ERROR == 1, (case, result.out, result.err)
    expected = {"viewer-forbidden": "forbidden", "invalid-intent": "resources.0.region",
                "paging-option": "--status", "bad-option-value": "--wave", "not-logged-in": "login",
                "missing-file": "typo.yaml: no such file"}[case]
    assert expected in result.err, result.err
    as_json = api("--json", "plan", *argv)
    assert as_json.code == 1
    if case not in ("bad-option-value",):  # argparse's own message is text
        assert as_json.json()["exit_code"] == 1
