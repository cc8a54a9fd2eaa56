"""The contract's constants, read from the spec the kit ships (`turingcore_contract`).

The GL chart, the request error codes and the invariant codes are written once, in
`openapi/turingcore.v1.yaml`; every client-side package reads them from here, so a
change to the contract reaches the twin and the suites without a copy to update.

- `gl_accounts()`: the chart CreateTenant opens, in the contract's order (the
  `GLAccountCode` schema's enum);
- `initial_deposit_account()`: the GL account initial deposits are funded from (that
  schema's `x-turingcore-initial-deposit-account`);
- `error_codes()`: the `Error.error` enum (400, 401, 403, 404, 405, 409, 413, 415,
  500, 503 replies);
- `invariant_codes()`: the `InvariantViolation.invariant` enum, in precedence order.

The spec is parsed once, on first use (~50 ms with libyaml).
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Any

import yaml

SPEC_PACKAGE = "turingcore_contract"
SPEC_RESOURCE = "turingcore.v1.yaml"

GL_CHART_SCHEMA = "GLAccountCode"
INITIAL_DEPOSIT_KEY = "x-turingcore-initial-deposit-account"


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document, parsed once. Treat it as read-only."""
    text = (importlib.resources.files(SPEC_PACKAGE) / SPEC_RESOURCE).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    return document


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec()["components"]["schemas"][name]
    return schema


def _chart() -> dict[str, Any]:
    chart: dict[str, Any] = spec()["components"]["schemas"].get(GL_CHART_SCHEMA, {})
    return chart


@functools.cache
def gl_accounts() -> tuple[str, ...]:
    """The GL chart CreateTenant opens, in the contract's order; the ids are the codes."""
    codes = tuple(_chart().get("enum", ()))
    if not codes:
        raise LookupError(f"{SPEC_RESOURCE}: no GL chart (components.schemas.{GL_CHART_SCHEMA})")
    return codes


@functools.cache
def initial_deposit_account() -> str:
    """The GL account an OpenAccount's initial deposit is funded from."""
    code = _chart().get(INITIAL_DEPOSIT_KEY)
    if not isinstance(code, str):
        raise LookupError(f"{SPEC_RESOURCE}: no initial deposit account ({INITIAL_DEPOSIT_KEY})")
    return code


@functools.cache
def error_codes() -> tuple[str, ...]:
    """The request error codes (`Error.error`), in the spec's order."""
    return tuple(_schema("Error")["properties"]["error"]["enum"])


@functools.cache
def invariant_codes() -> tuple[str, ...]:
    """The 422 invariant codes, in the order the service checks them."""
    return tuple(_schema("InvariantViolation")["properties"]["invariant"]["enum"])


@functools.cache
def page_size_max() -> int:
    """The largest `limit` a list read takes (the `Limit` parameter's maximum)."""
    return int(spec()["components"]["parameters"]["Limit"]["schema"]["maximum"])
