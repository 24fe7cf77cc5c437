"""Import a package's submodules without its __init__ importing everything else the package offers.

Python runs a package's __init__ before any of its submodules, and some Powertools __init__ files import every
feature of the package: `event_handler` brings the AppSync, Bedrock and VPC Lattice resolvers to a function that
uses the REST one, and `utilities.idempotency` the DynamoDB persistence layer and boto3 to one that keeps its records
in Redis. For the packages named here, the import system gets an __init__ that only knows where the names it would
have re-exported come from, and imports each from its own submodule the first time it is asked for. Nothing else
changes: `from package import Name` still works, for every name the real __init__ exports.

Only an __init__ made of re-exports (`from .x import Name`, `__all__`, a docstring) is replaced this way; any other
__init__ runs as usual, so a release of the library that adds real work there keeps its behaviour (ADR 0025).
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

# name -> (module it comes from, attribute there, or None when the name is that module itself)
Exports = dict[str, tuple[str, str | None]]


def re_exports(package: str, init_file: str) -> tuple[Exports, list[str] | None, str | None] | None:
    """What the __init__ at `init_file` binds (its names, its __all__, its docstring), if all it does is re-export
    names; None if it does anything else."""
    exports: Exports = {}
    declared: list[str] | None = None
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom) and all(alias.name != "*" for alias in node.names):
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                # `from . import sub` names a submodule; `from .mod import Name` an attribute of a submodule.
                exports[alias.asname or alias.name] = ((source, alias.name) if node.module
                                                       else (f"{source}.{alias.name}", None))
            continue
        if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
                and isinstance(node.value, ast.List | ast.Tuple)):
            declared = list(ast.literal_eval(node.value))
            continue
        return None
    return exports, declared, ast.get_docstring(tree)


class _ReExportsOnFirstUse(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self) -> None:
        self.packages: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.packages:
            return None
        found = importlib.machinery.PathFinder.find_spec(fullname, path)
        if found is None or not found.submodule_search_locations or not found.origin:
            return None
        if re_exports(fullname, found.origin) is None:
            return found
        return importlib.util.spec_from_file_location(fullname, found.origin, loader=self,
                                                      submodule_search_locations=found.submodule_search_locations)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        parsed = re_exports(module.__name__, module.__spec__.origin)
        assert parsed is not None  # find_spec only hands us such packages
        exports, declared, module.__doc__ = parsed
        name = module.__name__
        if declared is not None:
            module.__all__ = declared

        def __getattr__(attr: str) -> Any:
            if attr in exports:
                source, original = exports[attr]
                value = importlib.import_module(source)
                if original is not None:
                    value = getattr(value, original)
            elif not attr.startswith("__") and importlib.util.find_spec(f"{name}.{attr}") is not None:
                value = importlib.import_module(f"{name}.{attr}")
            else:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}")
            setattr(module, attr, value)
            return value

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


def import_by_submodule(*packages: str) -> None:
    """From now on, importing one of `packages` (or anything inside it) runs none of its __init__'s imports until a
    name it re-exports is used. No effect on a package already imported."""
    finder = next((f for f in sys.meta_path if isinstance(f, _ReExportsOnFirstUse)), None)
    if finder is None:
        finder = _ReExportsOnFirstUse()
        sys.meta_path.insert(0, finder)
    finder.packages.update(packages)
