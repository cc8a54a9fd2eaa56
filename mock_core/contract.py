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
document to the app, which serves it, so a server parses it only once. `read(document)`
is the reader itself, for any document (a spec missing a part: `ContractError`).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

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


class Contract(NamedTuple):
    """What the mock reads from the spec."""

    gl_accounts: tuple[str, ...]
    initial_deposit_account: str
    request_errors: dict[str, int]
    invariant_violation: str
    invariants: tuple[str, ...]


def read(document: Mapping[str, Any]) -> Contract:
    """The contract's data in an OpenAPI `document`; `ContractError` where it is missing
    or contradicts itself."""
    schemas = document.get("components", {}).get("schemas", {})

    def at(*path: str) -> Any:
        node: Any = schemas
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                raise ContractError(f"{SPEC_RESOURCE}: no {'.'.join(path)} in components.schemas")
            node = node[key]
        return node

    def codes(*path: str) -> tuple[str, ...]:
        found = at(*path, "enum")
        if not isinstance(found, list) or not found or len(set(found)) != len(found):
            raise ContractError(f"{SPEC_RESOURCE}: {'.'.join(path)} must list distinct codes")
        return tuple(found)

    chart = codes("GLAccountCode")
    funded_from = at("GLAccountCode", "x-turingcore-initial-deposit-account")
    if funded_from not in chart:
        raise ContractError(f"{SPEC_RESOURCE}: the initial deposit account is not in the GL chart")
    errors = codes("Error", "properties", "error")
    statuses = at("Error", "properties", "error", "x-turingcore-status")
    if not isinstance(statuses, Mapping) or sorted(statuses) != sorted(errors):
        raise ContractError(f"{SPEC_RESOURCE}: x-turingcore-status must give each error code")
    return Contract(
        gl_accounts=chart,
        initial_deposit_account=funded_from,
        request_errors={code: int(statuses[code]) for code in errors},
        invariant_violation=at("InvariantViolation", "properties", "error", "const"),
        invariants=codes("InvariantViolation", "properties", "invariant"),
    )


_SHIPPED = read(spec())
GL_ACCOUNTS: Final = _SHIPPED.gl_accounts
INITIAL_DEPOSIT_ACCOUNT: Final = _SHIPPED.initial_deposit_account
REQUEST_ERRORS: Final = _SHIPPED.request_errors
INVARIANT_VIOLATION: Final = _SHIPPED.invariant_violation
INVARIANTS: Final = _SHIPPED.invariants
