"""docker-compose.yml and the Dockerfile, checked against the CLIs, settings and package.

No container engine runs on the project's machines, so the loop cannot be run
here. What can go wrong without one is checked instead: every service's command
parses with its tool's own parser, every environment variable is one the tool
reads, the keys the twin and contract-test use exist in the mock's key list with
the scope they need, reports land in a mounted folder, `--exit-code-from
contract-test` gets contract-test's verdict, and the image installs the package
with everything contract-test needs.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract_tests.cli import build_parser as contract_parser
from mock_core.cli import build_parser as mock_parser
from mock_core.settings import Settings, parse_api_keys
from twin.cli import build_parser as twin_parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]  # type: ignore[no-any-return]


def mounts(service: dict[str, Any]) -> list[str]:
    return [volume.split(":")[1] for volume in service.get("volumes", [])]


def under_a_mount(path: str, service: dict[str, Any]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts(service))


def test_the_four_services_and_their_order(services: dict[str, Any]) -> None:
    assert {"postgres", "mock-core", "twin", "contract-test"} <= set(services)
    assert services["mock-core"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["twin"]["depends_on"]["mock-core"]["condition"] == "service_healthy"
    after = services["contract-test"]["depends_on"]
    assert after["twin"]["condition"] == "service_completed_successfully"
    assert after["mock-core"]["condition"] == "service_healthy"
    header = (ROOT / "docker-compose.yml").read_text().split("services:")[0]
    assert "--exit-code-from contract-test" in header


def test_the_mock_service_matches_its_cli_and_settings(services: dict[str, Any]) -> None:
    mock = services["mock-core"]
    assert mock["command"][:2] == ["mock-core", "serve"]
    args = mock_parser().parse_args(mock["command"][1:])  # every flag one the CLI knows
    assert args.workers > 1 and args.host == "0.0.0.0"
    known = {f"MOCK_CORE_{name.upper()}" for name in Settings.model_fields}
    assert set(mock["environment"]) <= known, "a variable the mock does not read"
    assert mock["environment"]["MOCK_CORE_DATABASE_URL"].startswith("postgresql+psycopg://")
    Settings(api_keys=mock["environment"]["MOCK_CORE_API_KEYS"])  # the key list parses


def keys(services: dict[str, Any]) -> dict[str, frozenset[str]]:
    return parse_api_keys(services["mock-core"]["environment"]["MOCK_CORE_API_KEYS"])


def test_the_twin_runs_with_its_isolation_probe_and_keeps_its_reports(
    services: dict[str, Any],
) -> None:
    twin = services["twin"]
    assert twin["command"][:2] == ["twin", "run"]
    args = twin_parser().parse_args(twin["command"][1:])
    env = twin["environment"]
    assert env["TURINGCORE_BASE_URL"] == "http://mock-core:8080"
    assert "*" in keys(services)[env["TURINGCORE_API_KEY"]]
    # The isolation check runs: its key exists and reaches only the probe tenant.
    probe = env["TURINGCORE_ISOLATION_TENANT"]
    assert keys(services)[env["TURINGCORE_ISOLATION_API_KEY"]] == frozenset({probe})
    assert under_a_mount(args.output, twin), "the twin's outputs would stay in the container"


def test_contract_test_gives_the_verdict_and_keeps_its_reports(services: dict[str, Any]) -> None:
    service = services["contract-test"]
    command = service["command"]
    assert command[0] == "contract-test"
    args = contract_parser().parse_args(command[1:])
    assert args.base_url == "http://mock-core:8080"
    assert "*" in keys(services)[args.api_key]
    for item in args.scoped_key:
        tenant, _, key = item.partition("=")
        assert keys(services)[key] == frozenset({tenant}), item
    assert len(args.scoped_key) >= 2, "the isolation rows need two tenant-scoped keys"
    assert under_a_mount(args.report_dir, service)
    assert under_a_mount(args.junit, service)
    assert service.get("restart") == "no"


def test_the_image_installs_the_package_with_contract_tests_dependencies() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # A plain install: contract-test's suites are regular dependencies, not an extra.
    assert "pip install --no-cache-dir ." in dockerfile
    requirements = " ".join(project["project"]["dependencies"])
    for needed in ("schemathesis", "hypothesis"):
        assert needed in requirements, needed
    # Everything the wheel is built from is copied into the image.
    setuptools = project["tool"]["setuptools"]
    folders = {name.split(".")[0] for name in setuptools["packages"]}
    folders = {setuptools["package-dir"].get(name, name) for name in folders}
    for folder in [*sorted(folders), "pyproject.toml", "README.md", "LICENSE"]:
        assert f"COPY {folder}" in dockerfile or f" {folder} " in dockerfile, folder
