"""Hooks for the plain Schemathesis CLI, loaded by the repo's `schemathesis.toml`.

    st run http://127.0.0.1:8080/v1/openapi.json --checks all

Three things a schema cannot say, told to Schemathesis here (docs/contract-tests.md,
"The plain Schemathesis CLI"):

- a path id must name something that exists for a read to get past its 404. The config
  fixes `tenantId` to `CU_DIGITAL` (the tenant the spec's first request example
  creates, in the examples phase) and `accountId` to its `GL_SUSPENSE`; a customerId is
  made by the service, so `getCustomer`'s positive cases are given the first customer
  of `CU_DIGITAL`, read once from `listCustomers`;
- a command's envelope `tenantId` (and CreateTenant's `payload.tenantCode`) must equal
  the path's `tenantId` (else 400 TENANT_MISMATCH): a positive command is made to agree,
  so most generated commands reach the ledger's rules instead of the 400;
- a positive query gives exactly one of an operation's `x-turingcore-exactly-one-of`
  parameters (the as-of reads' `asOfSequence` and `asOfDate`).

Only positive components are changed: a negative case keeps its violation.
"""

from __future__ import annotations

import os
from random import Random
from typing import Any

import httpx
import schemathesis
from schemathesis.core.parameters import ParameterLocation

from contract_tests.schema_fixtures import exactly_one

TENANT = "CU_DIGITAL"
_RNG = Random(1)  # which of an exactly-one pair a case keeps: the same on every run
DEFAULT_KEY = "dev-platform-key"
_customers: dict[str, str | None] = {}


def _negative(case: Any, location: ParameterLocation) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and bool(meta.is_negative_at(location))


def _authorization(case: Any, kwargs: dict[str, Any]) -> str:
    for headers in (kwargs.get("headers"), case.headers):
        for name, value in dict(headers or {}).items():
            if name.lower() == "authorization":
                return str(value)
    return f"Bearer {os.environ.get('TURINGCORE_API_KEY', DEFAULT_KEY)}"


def _first_customer(case: Any, kwargs: dict[str, Any], tenant: str) -> str | None:
    base = str(case.operation.base_url or "").rstrip("/")
    if base not in _customers or _customers[base] is None:
        try:
            reply = httpx.get(
                f"{base}/tenants/{tenant}/customers",
                params={"limit": 1},
                headers={"Authorization": _authorization(case, kwargs)},
                timeout=10,
            )
            found = (reply.json().get("customers") or [{}])[0].get("customerId")
        except (httpx.HTTPError, ValueError, AttributeError, IndexError):
            found = None
        _customers[base] = found if isinstance(found, str) else None
    return _customers[base]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if not _negative(case, ParameterLocation.QUERY):
        shaped = exactly_one(case.operation.definition.raw, case.query, _RNG)
        if shaped is not case.query:
            case.query = shaped
            if "params" in kwargs:
                kwargs["params"] = shaped
    path = dict(case.path_parameters or {})
    if _negative(case, ParameterLocation.PATH):
        return
    if "customerId" in path and path.get("tenantId") == TENANT:
        found = _first_customer(case, kwargs, TENANT)
        if found is not None:
            path["customerId"] = found
            case.path_parameters = path
    body = case.body
    tenant = path.get("tenantId")
    if (
        case.operation.method.upper() == "POST"
        and isinstance(body, dict)
        and isinstance(tenant, str)
        and not _negative(case, ParameterLocation.BODY)
    ):
        body["tenantId"] = tenant
        payload = body.get("payload")
        if body.get("commandType") == "CreateTenant" and isinstance(payload, dict):
            payload["tenantCode"] = tenant
