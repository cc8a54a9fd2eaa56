"""The plain Schemathesis CLI passes against a served mock with the repo's config.

    st run <served mock>/v1/openapi.json --checks all --phases examples,coverage,fuzzing

with `schemathesis.toml` at the repo root (docs/contract-tests.md, "The plain
Schemathesis CLI"): every check, the three phases, no failure and no warning.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.serving import served_mock

ROOT = Path(__file__).resolve().parents[1]
ST = Path(sys.executable).parent / "st"


def test_st_run_with_the_repo_config_passes(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'mock.db'}"
    with served_mock(["--database-url", database, "--no-access-log"]) as base_url:
        run = subprocess.run(
            [
                str(ST),
                "run",
                f"{base_url}/v1/openapi.json",
                "--checks",
                "all",
                "-H",
                "Authorization: Bearer dev-platform-key",
                "--phases",
                "examples,coverage,fuzzing",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    said = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, said
    assert f"Configuration:    {ROOT / 'schemathesis.toml'}" in run.stdout, said
    assert "No issues found" in run.stdout, said
    assert "Missing test data" not in run.stdout, said
