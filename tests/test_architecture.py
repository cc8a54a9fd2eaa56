"""The twin and the contract suites talk to a service through its API only.

Nothing under `twin/` or `contract_tests/` imports the mock, SQLAlchemy, Alembic
or a database driver, statically or through importlib. The one allowed bridge is
a single module of `contract_tests/` (the one that binds the suite to the
in-process mock); the tests under `tests/` may import the mock freely.
(That every write goes to the command gateway is checked at run time, from the
mock's access log, in tests/twin/test_runner_e2e.py.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("twin", "contract_tests")
FORBIDDEN = (
    "mock_core",
    "sqlalchemy",
    "alembic",
    "sqlite3",
    "psycopg",
    "psycopg2",
    "psycopg_pool",
    "asyncpg",
    "aiosqlite",
    "pymysql",
    "MySQLdb",
)
BRIDGE_MAY_IMPORT = frozenset({"mock_core"})
BRIDGES_MAX = 1


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def imported_modules(source: str, filename: str = "<string>") -> set[str]:
    """Every absolute module name a source imports, including importlib.import_module("x")
    and __import__("x") with a literal name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            first = node.args[0]
            if (
                called in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                names.add(first.value)
    return names


def forbidden_imports(source: str, filename: str = "<string>") -> set[str]:
    return {name for name in imported_modules(source, filename) if _top(name) in FORBIDDEN}


def _files() -> list[Path]:
    return sorted(
        path
        for package in CHECKED
        if (ROOT / package).is_dir()
        for path in (ROOT / package).rglob("*.py")
    )


def test_the_checker_sees_every_kind_of_import() -> None:
    source = (
        "import sqlalchemy.orm\n"
        "from mock_core.api.app import create_app\n"
        "import importlib\n"
        "importlib.import_module('psycopg')\n"
        "__import__('sqlite3')\n"
        "from . import sibling\n"
        "import httpx\n"
    )
    assert forbidden_imports(source) == {
        "sqlalchemy.orm",
        "mock_core.api.app",
        "psycopg",
        "sqlite3",
    }


def test_twin_and_contract_suites_use_the_api_only() -> None:
    files = _files()
    assert any(path.parent.name == "twin" for path in files), "twin/ not found"
    violations: dict[str, set[str]] = {}
    bridges: list[str] = []
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        bad = forbidden_imports(path.read_text(encoding="utf-8"), relative)
        if not bad:
            continue
        is_suite = relative.startswith("contract_tests/")
        if is_suite and {_top(name) for name in bad} <= BRIDGE_MAY_IMPORT:
            bridges.append(relative)
            continue
        violations[relative] = bad
    assert violations == {}, f"modules that bypass the API: {violations}"
    assert len(bridges) <= BRIDGES_MAX, f"more than one bridge to the mock: {bridges}"
