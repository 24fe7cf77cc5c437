"""Deploying to an AWS-compatible endpoint (LocalStack's path) packages real code: checked against the local
cloud's own endpoint, which speaks the same Lambda API (one emulator per process: moto's state is global)."""

import io
import uuid
import zipfile
from pathlib import Path

import pytest

from localcloud.lambdas import FunctionCode
from localcloud.targets import RemoteAws

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def endpoint(local_cloud):
    iam = local_cloud.emulator.client("iam")
    try:
        iam.create_role(RoleName="orchestrator-local-lambda", AssumeRolePolicyDocument="{}")
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    return local_cloud.emulator.endpoint_url


def test_remote_target_uploads_the_functions_code_and_its_layer(endpoint, tmp_path):
    layer = tmp_path / "layer"
    (layer / "pkg").mkdir(parents=True)
    (layer / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    remote = RemoteAws(endpoint).start()
    name = f"remote-plan-{uuid.uuid4().hex[:8]}"
    arn = remote.create_function(FunctionCode(name=name, code_dir=ROOT / "functions" / "plan"), {"A": "b"},
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
