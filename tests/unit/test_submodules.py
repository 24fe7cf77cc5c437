"""Packages imported by submodule (orchestrator/submodules.py): a name their __init__ re-exports is imported from its
own submodule when first used, and every name the real __init__ offers is still there."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from orchestrator.submodules import import_by_submodule, re_exports


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package `<name>` with a cheap and a costly submodule, re-exported by its __init__."""
    name = f"pkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    (root / "inner").mkdir(parents=True)
    (root / "__init__.py").write_text(textwrap.dedent('''\
        """A package that re-exports everything."""
        from __future__ import annotations
        from .light import Light
        from .heavy import Heavy as Costly
        from . import inner
        __all__ = ["Light", "Costly", "inner"]
    '''))
    (root / "light.py").write_text("class Light:\n    pass\n")
    (root / "heavy.py").write_text("class Heavy:\n    pass\n")
    (root / "inner" / "__init__.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_an_init_of_re_exports_is_read_as_a_table_of_names(package, tmp_path):
    exports, declared, doc = re_exports(package, str(tmp_path / package / "__init__.py"))
    assert exports == {"Light": (f"{package}.light", "Light"), "Costly": (f"{package}.heavy", "Heavy"),
                       "inner": (f"{package}.inner", None)}
    assert declared == ["Light", "Costly", "inner"]
    assert doc == "A package that re-exports everything."


def test_an_init_that_does_more_than_re_export_is_not_a_table(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text("from .a import A\nregister(A)\n")
    assert re_exports("anything", str(init)) is None


def test_a_submodule_imports_without_the_rest_of_the_package(package):
    import_by_submodule(package)
    light = __import__(f"{package}.light", fromlist=["Light"])
    assert f"{package}.heavy" not in sys.modules
    top = sys.modules[package]
    assert top.Light is light.Light  # a re-exported name, from the submodule already loaded
    assert f"{package}.heavy" not in sys.modules
    assert top.Costly.__name__ == "Heavy" and f"{package}.heavy" in sys.modules  # loaded when first asked for
    assert top.inner.VALUE == 42
    assert top.__all__ == ["Light", "Costly", "inner"] and top.__doc__ == "A package that re-exports everything."
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        top.missing  # noqa: B018


def test_star_import_still_gets_every_exported_name(package):
    import_by_submodule(package)
    namespace: dict = {}
    exec(f"from {package} import *", namespace)  # noqa: S102
    assert {"Light", "Costly", "inner"} <= set(namespace)


def test_an_init_with_real_work_runs_as_usual(tmp_path, monkeypatch):
    name = f"pkg_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("from .part import Part\nSTARTED = True\n")
    (tmp_path / name / "part.py").write_text("class Part:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import_by_submodule(name)
    try:
        module = __import__(name)
        assert module.STARTED is True and f"{name}.part" in sys.modules
    finally:
        for m in [m for m in sys.modules if m.startswith(name)]:
            del sys.modules[m]


def test_powertools_packages_give_one_resolver_without_the_others_and_all_names_on_request():
    """Fails when a Powertools release makes these __init__ files do more than re-export (they then run in full
    again, and a function's import grows by the AppSync resolvers and the DynamoDB layer with boto3)."""
    script = textwrap.dedent("""
        import json, sys
        import orchestrator
        from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
        from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig
        from aws_lambda_powertools.utilities.idempotency.persistence.redis import RedisCachePersistenceLayer
        before = sorted(m for m in sys.modules if "appsync" in m or "dynamodb" in m or m.startswith("boto3"))
        from aws_lambda_powertools.event_handler import AppSyncResolver
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent
        from aws_lambda_powertools.utilities.data_classes import SQSEvent
        print(json.dumps({"before": before, "after": [AppSyncResolver.__module__, DynamoDBPersistenceLayer.__module__,
                                                      idempotent.__module__, SQSEvent.__module__]}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["before"] == []
    assert result["after"] == ["aws_lambda_powertools.event_handler.appsync",
                               "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb",
                               "aws_lambda_powertools.utilities.idempotency.idempotency",
                               "aws_lambda_powertools.utilities.data_classes.sqs_event"]
