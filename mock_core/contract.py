"""The contract's data, read once from the spec the mock ships (`turingcore_contract`).

The GL chart, the account initial deposits are funded from, the request error codes
with their statuses and the invariant codes in precedence order are written once, in
`openapi/turingcore.v1.yaml`; the mock serves by what it reads here, so a change to
the contract needs no copy in the code. (The client kit reads the same file in
`turingcore_client.contract`; the mock does not import the kit.)

- `GL_ACCOUNTS`: the `GLAccountCode` enum, the chart CreateTenant opens, in order;
- `INITIAL_DEPOSIT_ACCOUNT`: its `x-turingcore-initial-deposit-account`;
- `REQUEST_ERRORS`: the `Error.error` enum, each code with its status (the
  property's `x-turingcore-status` map), in the spec's order;
- `INVARIANTS`: the `InvariantViolation.invariant` enum, in precedence order.

The spec is parsed on import, once (~30 ms with libyaml); `spec()` hands the parsed
document to the app, which serves it, so a server parses it only once.
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Any, Final

import yaml

SPEC_PACKAGE: Final = "turingcore_contract"
SPEC_RESOURCE: Final = "turingcore.v1.yaml"


class ContractError(LookupError):
    """The shipped spec lacks, or contradicts, data the mock serves by."""


def shipped_path() -> Path:
    """Where the package carries the spec."""
    return Path(str(importlib.resources.files(SPEC_PACKAGE) / SPEC_RESOURCE))


@functools.cache
def spec() -> dict[str, Any]:
    """The shipped OpenAPI document, parsed once. Treat it as read-only."""
    text = shipped_path().read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    return document


def _read(*path: str) -> Any:
    node: Any = spec()["components"]["schemas"]
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise ContractError(f"{SPEC_RESOURCE}: no {'.'.join(path)} in components.schemas")
        node = node[key]
    return node


def _codes(*path: str) -> tuple[str, ...]:
    codes = tuple(_read(*path, "enum"))
    if not codes or len(set(codes)) != len(codes):
        raise ContractError(f"{SPEC_RESOURCE}: {'.'.join(path)} must list distinct codes")
    return codes


def _statuses(*path: str) -> dict[str, int]:
    codes = _codes(*path)
    statuses: dict[str, int] = _read(*path, "x-turingcore-status")
    if sorted(statuses) != sorted(codes):
        raise ContractError(f"{SPEC_RESOURCE}: {'.'.join(path)} gives a status to other codes")
    return {code: int(statuses[code]) for code in codes}


GL_ACCOUNTS: Final[tuple[str, ...]] = _codes("GLAccountCode")
INITIAL_DEPOSIT_ACCOUNT: Final[str] = _read("GLAccountCode", "x-turingcore-initial-deposit-account")
if INITIAL_DEPOSIT_ACCOUNT not in GL_ACCOUNTS:
    raise ContractError(f"{SPEC_RESOURCE}: the initial deposit account is not in the GL chart")
REQUEST_ERRORS: Final[dict[str, int]] = _statuses("Error", "properties", "error")
INVARIANT_VIOLATION: Final[str] = _read("InvariantViolation", "properties", "error", "const")
INVARIANTS: Final[tuple[str, ...]] = _codes("InvariantViolation", "properties", "invariant")
