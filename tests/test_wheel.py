"""The package is the product: a wheel built from the repo, installed into a fresh venv.

What a platform team does: `python -m build`, `pip install dist/*.whl` into a new
venv, then the three tools from that venv, with no repository around them (each
runs in an empty folder): `mock-core serve` serves the real contract,
`twin run steady-state` passes its checks against it, and `contract-test` judges
it CONFORMS with exit 0. Installing resolves every dependency from the wheel's
metadata, so a dependency missing from pyproject.toml fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import served_mock

REPO = Path(__file__).resolve().parents[1]
KEY = "wheel-platform-key"
INSTALL_TIMEOUT_S = 600

pytestmark = pytest.mark.slow


def run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCK_CORE_", "TURINGCORE_"))}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    # Build from a clean copy of the tracked files: what a fresh clone holds.
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        path = REPO / name.decode()
        if path.is_file():
            target = source / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    built = run([sys.executable, "-m", "build", "--wheel", "-o", str(tmp / "dist")], source)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list((tmp / "dist").glob("turingcore_kit-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], tmp)
    assert made.returncode == 0, made.stderr
    pip = run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheels[0])],
        tmp,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return venv / "bin"


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mock-core serve` from the installed wheel, in an empty folder."""
    work = tmp_path_factory.mktemp("serve")
    args = ["--api-keys", f"{KEY}=*;wheel-isolation-key=ISOLATION_PROBE_WHEEL",
            "--no-access-log", "--database-url", f"sqlite:///{work}/wheel.db"]  # fmt: skip
    with served_mock(args, executable=installed / "mock-core", cwd=work) as url:
        yield url


def test_the_installed_mock_serves_the_real_contract(served: str) -> None:
    spec = httpx.get(f"{served}/v1/openapi.json").json()
    assert spec["info"]["title"].startswith("TuringCore")
    assert "/tenants/{tenantId}/commands" in spec["paths"]
    assert spec["servers"][0]["url"] == f"{served}/v1"


def test_the_installed_tools_say_their_version(installed: Path, tmp_path: Path) -> None:
    for tool in ("mock-core", "twin", "contract-test"):
        said = run([str(installed / tool), "--version"], tmp_path)
        assert said.returncode == 0 and said.stdout.startswith(tool), (tool, said)


# The generated client (turingcore_sdk/) ships in the same wheel: imported from the
# installed venv in an empty folder, it reads the served mock (its runtime dependencies,
# httpx and attrs, come from the wheel's metadata).
SDK_PROBE = """
import sys
from turingcore_sdk import AuthenticatedClient
from turingcore_sdk.api.tenants import get_tenant
from turingcore_sdk.models import Error, ErrorError
with AuthenticatedClient(base_url=sys.argv[1] + "/v1", token=sys.argv[2]) as client:
    reply = get_tenant.sync("NO_SUCH_TENANT", client=client)
assert isinstance(reply, Error) and reply.error == ErrorError.NOT_FOUND, reply
print("turingcore_sdk OK")
"""


def test_the_installed_generated_client_works(installed: Path, served: str, tmp_path: Path) -> None:
    result = run([str(installed / "python"), "-c", SDK_PROBE, served, KEY], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "turingcore_sdk OK" in result.stdout


def test_the_installed_twin_runs_and_passes(installed: Path, served: str, tmp_path: Path) -> None:
    result = run(
        [str(installed / "twin"), "run", "steady-state", "--customers", "50", "--days", "3",
         "--base-url", served, "--api-key", KEY, "--isolation-key", "wheel-isolation-key",
         "--isolation-tenant", "ISOLATION_PROBE_WHEEL", "--quiet", "--output", str(tmp_path)],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "OK" in result.stdout


def test_the_installed_contract_test_conforms(installed: Path, served: str, tmp_path: Path) -> None:
    result = run(
        [str(installed / "contract-test"), "--base-url", served, "--api-key", KEY,
         "--report-dir", str(tmp_path / "report")],
        tmp_path,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "CONFORMS" in result.stdout + result.stderr
