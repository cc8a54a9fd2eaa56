"""/docs in a real browser, with no network: Swagger UI ships with the kit.

Headless Chromium (Debian's package) loads /docs from a served mock with every
host name but 127.0.0.1 unresolvable, so a page that needed a CDN would stay
blank. The rendered DOM must show the command gateway with the five commands'
examples and the published queries; a screenshot is kept in the test's folder
(and in output/docs-screenshot.png for a person to look at).

Chromium is installed by `.ci/run`; elsewhere the test skips with the reason,
unless REQUIRE_BROWSER=1 (CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.serving import served_mock

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "openapi" / "turingcore.v1.yaml"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
COMMANDS = ("CreateTenant", "UpsertProduct", "CreateCustomer", "OpenAccount", "PostEntry")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    reason = "no headless Chromium here (apt-get install chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with served_mock(["--no-access-log", "--database-url", f"sqlite:///{tmp_path}/docs.db"]) as url:
        yield url


def headless(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Chromium headless, offline but for 127.0.0.1, with JavaScript given time to run."""
    argv = [
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        # Every host but this machine is unreachable: a CDN script would not load.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=15000",
        "--window-size=1400,2400",
        *args,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def gateway_anchor() -> str:
    spec = yaml.safe_load(SPEC.read_text())
    operation = spec["paths"]["/tenants/{tenantId}/commands"]["post"]
    return f"#/{operation['tags'][0]}/{operation['operationId']}"


def test_swagger_ui_renders_the_contract_with_no_network(served: str, tmp_path: Path) -> None:
    chromium = browser()
    page = f"{served}/docs{gateway_anchor()}"  # deep link: the gateway comes up expanded
    dom = headless(chromium, "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'class="swagger-ui"' in html, "Swagger UI did not render"
    assert "TuringCore" in html
    for path in (
        "/tenants/{tenantId}/commands",
        "/tenants/{tenantId}/customers",
        "/tenants/{tenantId}/accounts",
        "/tenants/{tenantId}/accounts/{accountId}/events",
    ):
        assert path.replace("{", "").replace("}", "") in html.replace("{", "").replace("}", ""), (
            path
        )
    for command in COMMANDS:
        assert command in html, f"{command} is not on the rendered page"
    # "Try it out" goes to the address the page came from, not a fixed port.
    assert f"{served}/v1" in html

    shot = tmp_path / "docs.png"
    taken = headless(chromium, f"--screenshot={shot}", f"{served}/docs")
    assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-2000:]
    kept = REPO / "output" / "docs-screenshot.png"
    kept.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, kept)
