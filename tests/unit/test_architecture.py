"""The core stays free of AWS, database and Lambda libraries, so it runs anywhere and tests in milliseconds."""

import ast
import json
import pathlib
import subprocess
import sys

import orchestrator

BANNED = ("boto3", "botocore", "psycopg", "psycopg_pool", "redis", "aws_lambda_powertools")
CORE_PACKAGES = ("domain", "planning", "cloud", "drift")
PACKAGE_ROOT = pathlib.Path(orchestrator.__file__).parent


def core_modules() -> list[pathlib.Path]:
    return sorted(p for pkg in CORE_PACKAGES for p in (PACKAGE_ROOT / pkg).rglob("*.py"))


def test_core_source_names_no_banned_import_even_inside_functions():
    offenders = []
    for path in core_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(PACKAGE_ROOT)}: {n}" for n in names if n.split(".")[0] in BANNED]
    assert offenders == []


def test_importing_every_core_module_loads_no_banned_library():
    modules = [
        "orchestrator." + ".".join(p.relative_to(PACKAGE_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in core_modules()
    ]
    assert len(modules) >= 8
    script = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted({{n.split('.')[0] for n in sys.modules}} & set({list(BANNED)!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
