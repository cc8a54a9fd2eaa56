"""The twin and the contract suites talk to a service through its API only.

Nothing under `twin/`, `contract_tests/`, the client kit `turingcore_client/` or the
generated client `turingcore_sdk/` imports the mock, SQLAlchemy, Alembic
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
CHECKED = ("twin", "contract_tests", "turingcore_client", "turingcore_sdk")
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


# The mock's own layers, top to bottom: a module may import its own layer and those below.
MOCK_LAYERS: tuple[tuple[str, ...], ...] = (
    ("mock_core.__main__", "mock_core.cli", "mock_core.api"),
    ("mock_core.gateway",),
    ("mock_core.store", "mock_core.migrations"),
    ("mock_core.core",),
    (
        "mock_core.errors",
        "mock_core.money",
        "mock_core.limits",
        "mock_core.settings",
        "mock_core.contract",
    ),
)
# What the pure core may not reach, whatever the layer rule says.
CORE_FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "alembic", "httpx", "sqlite3", "psycopg")


def _layer(module: str) -> int | None:
    if module == "mock_core":  # the package itself: its version, `from mock_core import limits`
        return len(MOCK_LAYERS) - 1
    for rank, prefixes in enumerate(MOCK_LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_violations(module: str, imported: set[str]) -> list[str]:
    """The imports of `module` that point up the layers (or out of the pure core)."""
    own = _layer(module)
    assert own is not None, f"{module} is in no layer of MOCK_LAYERS"
    found = []
    for name in sorted(imported):
        rank = _layer(name)
        if rank is not None and rank < own:
            found.append(f"{module} imports {name}, a layer above it")
        if own == _layer("mock_core.core") and _top(name) in CORE_FORBIDDEN:
            found.append(f"{module} imports {name}; the core is pure")
        if _top(name) == "mock_core" and rank is None:
            found.append(f"{module} imports {name}, which is in no layer")
    return found


def test_the_layer_check_catches_an_upward_import() -> None:
    assert layer_violations("mock_core.core.decide", {"mock_core.store.eventstore"}) == [
        "mock_core.core.decide imports mock_core.store.eventstore, a layer above it"
    ]
    assert layer_violations("mock_core.store.sqlite", {"mock_core.gateway"})
    assert layer_violations("mock_core.gateway", {"mock_core.api.parse"})
    assert layer_violations("mock_core.core.state", {"sqlalchemy"})
    assert not layer_violations("mock_core.api.app", {"mock_core.gateway", "mock_core.core"})


def test_the_mock_imports_only_down_its_layers() -> None:
    """api -> gateway -> store -> core -> errors/money/limits/settings (docs/architecture.md)."""
    problems = []
    for path in sorted((ROOT / "mock_core").rglob("*.py")):
        if "versions" in path.parts:  # migration scripts: alembic and SQLAlchemy only
            continue
        imported = imported_modules(path.read_text(encoding="utf-8"), str(path))
        problems += layer_violations(_module_name(path), imported)
    assert problems == []


# The client kit sits below the twin and the suites and beside the mock: it imports none
# of them, and the mock does not import it (the mock is a service, the kit its client).
KIT_FORBIDDEN = ("mock_core", "twin", "contract_tests")


def kit_violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """The imports under `package` of a top-level package in `forbidden`."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in sorted(imported_modules(path.read_text(encoding="utf-8"), str(path))):
            if _top(name) in forbidden:
                found.append(f"{path.relative_to(ROOT).as_posix()} imports {name}")
    return found


def test_the_kit_imports_neither_the_mock_nor_its_users() -> None:
    assert (ROOT / "turingcore_client").is_dir(), "turingcore_client/ not found"
    assert kit_violations("turingcore_client", KIT_FORBIDDEN) == []


# The generated client (turingcore_sdk/, `make client`) stands on httpx and attrs alone: the
# console and the portal call the API through it, so it imports neither the mock, its
# users, nor the hand-written kit.
SDK_FORBIDDEN = (*KIT_FORBIDDEN, "turingcore_client")


def test_the_generated_client_imports_neither_the_mock_nor_the_kit() -> None:
    assert (ROOT / "turingcore_sdk").is_dir(), "turingcore_sdk/ not found"
    assert kit_violations("turingcore_sdk", SDK_FORBIDDEN) == []


def test_the_mock_does_not_import_the_kit() -> None:
    assert kit_violations("mock_core", ("turingcore_client",)) == []


def test_the_kit_check_catches_a_forbidden_import() -> None:
    source = "from twin.cli import main\nimport turingcore_client.money\n"
    assert {_top(n) for n in imported_modules(source)} & set(KIT_FORBIDDEN) == {"twin"}


# The console (console/) reaches TuringCore through the generated client only: of the
# client-side kit it may use the canonical JSON (to recompute hashes), never the mock,
# the suites, the twin (it runs `twin` as a separate process) or a database.
CONSOLE_FORBIDDEN = (*FORBIDDEN, "contract_tests", "twin")
CONSOLE_KIT_ALLOWED = frozenset({"turingcore_client.canonical"})


def console_violations(source: str, filename: str = "<string>") -> set[str]:
    """What a console module imports that bypasses the generated client."""
    return {
        name
        for name in imported_modules(source, filename)
        if _top(name) in CONSOLE_FORBIDDEN
        or (_top(name) == "turingcore_client" and name not in CONSOLE_KIT_ALLOWED)
    }


def test_the_console_checker_sees_each_bypass() -> None:
    source = (
        "from mock_core.store import queries\nimport contract_tests.proxy\n"
        "from twin.invariants import inspect_tenant\nfrom turingcore_client.client import X\n"
        "from turingcore_client.canonical import event_hash\nfrom turingcore_sdk import Client\n"
    )
    assert console_violations(source) == {
        "mock_core.store",
        "contract_tests.proxy",
        "twin.invariants",
        "turingcore_client.client",
    }


def test_the_console_uses_the_generated_client_only() -> None:
    files = sorted((ROOT / "console").rglob("*.py"))
    assert files, "console/ not found"
    violations = {
        path.relative_to(ROOT).as_posix(): bad
        for path in files
        if (bad := console_violations(path.read_text(encoding="utf-8"), str(path)))
    }
    assert violations == {}, f"console modules that bypass the generated client: {violations}"
