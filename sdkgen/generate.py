"""Generate `turingcore_sdk/`, the client package, from the contract.

The package is openapi-python-client's output for `openapi/turingcore.v1.yaml` with
the settings in `sdkgen/config.yaml`, and nothing else: no file of it is edited by
hand, and the spec is fed to the generator as it is (no pre-processing step is
needed; the one construct the generator reads clumsily is handled by a setting, see
the config). `make client` runs this module; tests/test_sdk.py calls `generate` into a
temporary folder and compares the result with the committed package, byte for byte.

    python -m sdkgen.generate            # rewrite turingcore_sdk/
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "turingcore.v1.yaml"
CONFIG = ROOT / "sdkgen" / "config.yaml"
PACKAGE_NAME = "turingcore_sdk"
PACKAGE = ROOT / PACKAGE_NAME
# The output depends on the generator's templates: the same version as pyproject.toml's
# dev extra (tests/test_sdk.py checks the two agree), or the committed package looks stale.
GENERATOR_VERSION = "0.29.1"
GENERATE_TIMEOUT_S = 120


class GenerationError(RuntimeError):
    """The generator failed, warned, or is not the pinned version."""


def generate(output: Path, spec: Path = SPEC) -> Path:
    """Generate the package into `output/turingcore_sdk` (which must not exist yet).

    Returns the package's folder. Raises GenerationError when the installed generator
    is not the pinned one, when it exits non-zero, or when it prints a warning (a
    warning means an endpoint or a model was skipped or came out partial).
    """
    installed = importlib.metadata.version("openapi-python-client")
    if installed != GENERATOR_VERSION:
        raise GenerationError(
            f"openapi-python-client {installed} is installed; the package is generated "
            f"with {GENERATOR_VERSION} (pyproject.toml's dev extra): run `make setup`"
        )
    package = output / PACKAGE_NAME
    argv = [
        sys.executable, "-m", "openapi_python_client", "generate",
        "--path", str(spec), "--config", str(CONFIG),
        "--meta", "none", "--output-path", str(package),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=GENERATE_TIMEOUT_S)
    said = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or "warning" in said.lower() or "error" in said.lower():
        raise GenerationError(f"openapi-python-client (exit {done.returncode}):\n{said}")
    return package


def package_files(package: Path) -> dict[str, bytes]:
    """Every file under `package` (bytecode caches aside), by its relative POSIX path."""
    return {
        path.relative_to(package).as_posix(): path.read_bytes()
        for path in sorted(package.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def differences(committed: Path, fresh: Path) -> list[str]:
    """The files that differ between two package folders: changed, missing or extra."""
    old, new = package_files(committed), package_files(fresh)
    found = [
        f"changed: {name}" for name in sorted(old.keys() & new.keys()) if old[name] != new[name]
    ]
    found += [f"not generated any more: {name}" for name in sorted(old.keys() - new.keys())]
    found += [
        f"missing from the committed package: {name}" for name in sorted(new.keys() - old.keys())
    ]
    return found


def main() -> int:
    """Regenerate `turingcore_sdk/` in place; print what changed."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        changed = differences(PACKAGE, fresh) if PACKAGE.is_dir() else ["(new package)"]
        # Replace the whole folder: the generator's --overwrite keeps top-level modules
        # that a new spec no longer produces.
        shutil.rmtree(PACKAGE, ignore_errors=True)
        shutil.copytree(fresh, PACKAGE)
    print(f"{PACKAGE_NAME}/: " + ("up to date" if not changed else f"{len(changed)} file(s)"))
    for line in changed:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
