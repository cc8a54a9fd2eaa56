"""Which of our extensions a target offers, and the contract as that target must meet it.

`contract-test` judges the published TuringCore contract by default. Everything this kit
adds beyond it is marked `x-turingcore-extension: true` in the spec (a field, parameter,
header or operation). A check of an extension runs only where the target offers it, and
is reported as an extension row; a service that simply lacks an extension is never
non-conformant for that, but an extension it offers must be right.

What a target offers is decided once per target (`detect_extensions`):

- from the spec it serves (`/v1/openapi.json`, else `/v1/openapi.yaml`): an extension is
  offered when the served document has its part (the tenant stream's path, the
  `prevHash`/`hash` properties of EventEnvelope, the `Idempotent-Replayed` header, ...);
- else by probing, on a tenant of its own (`CT_PROBE_<hex>`): a CreateTenant reply with
  `result`/`eventIds`, a replay with the header, 200 or not on the extension reads,
  events with `sequence`/`prevHash`/`hash`, 400 or not on an extension parameter or
  request field (probes that would be refused anyway, so they write nothing else).

`published_view(spec, extensions)` is the contract with every marked part the target
does not offer removed: the schema suite tests that. Reply fields that are extensions
stay (they are optional, and validated when a service serves them).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from contract_tests.target import Target
from turingcore_client.envelope import build_envelope
from turingcore_client.payloads import entry_payload, leg, tenant_payload

MARK = "x-turingcore-extension"
PROBE_ACTOR = {"actorType": "SYSTEM", "actorId": "contract-test-probe"}

# Every extension a check depends on, and what it is, for the report.
EXTENSIONS: dict[str, str] = {
    "command_result": "`result` in a 202 (the ids again)",
    "event_ids": "`eventIds` in a 202",
    "replay_header": "`Idempotent-Replayed: true` on a replay",
    "tenant_read": "GET /tenants/{t} (lastSequence, lastHash)",
    "product_read": "GET /tenants/{t}/products",
    "customer_read": "GET /tenants/{t}/customers/{c}",
    "account_read": "GET /tenants/{t}/accounts/{a}",
    "tenant_stream": "GET /tenants/{t}/events (the tenant stream)",
    "sequence": "event `sequence` numbers (no gaps)",
    "hash_chain": "the event hash chain (`prevHash`, `hash`)",
    "account_type": "accountType=GL|ALL on GET /tenants/{t}/accounts (GL balances)",
    "event_cursor": "`after` and `nextCursor` on event lists",
    "facility_limit": "OpenAccount `facilityLimit`",
    "leg_currency": "a leg's own `currency`",
    "product_active": "UpsertProduct `active` (inactive products)",
    "product_fields": "UpsertProduct `description`, `purchaseRate`, `cashAdvanceRate`, "
    "`minAge`, `maxAge`",
    "correlation_header": "`X-Correlation-Id` on a command, echoed as its `correlationId`",
}

# The marked operations, by operationId.
OPERATION_EXTENSIONS: dict[str, str] = {
    "getTenant": "tenant_read",
    "listProducts": "product_read",
    "getCustomer": "customer_read",
    "getAccount": "account_read",
    "listEvents": "tenant_stream",
}
# Marked request fields: (schema, property) -> extension.
REQUEST_FIELD_EXTENSIONS: dict[tuple[str, str], str] = {
    ("OpenAccountPayload", "facilityLimit"): "facility_limit",
    ("EntryLeg", "currency"): "leg_currency",
    ("UpsertProductPayload", "active"): "product_active",
    ("UpsertProductPayload", "description"): "product_fields",
    ("ProductInterest", "purchaseRate"): "product_fields",
    ("ProductInterest", "cashAdvanceRate"): "product_fields",
    ("ProductConstraints", "minAge"): "product_fields",
    ("ProductConstraints", "maxAge"): "product_fields",
}
# Where a request schema sits inside a command: (commandType, path; "*" is every item).
REQUEST_SCHEMA_LOCATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CreateTenantPayload": ("CreateTenant", ("payload",)),
    "UpsertProductPayload": ("UpsertProduct", ("payload",)),
    "ProductInterest": ("UpsertProduct", ("payload", "interest")),
    "ProductConstraints": ("UpsertProduct", ("payload", "constraints")),
    "CreateCustomerPayload": ("CreateCustomer", ("payload",)),
    "Person": ("CreateCustomer", ("payload", "person")),
    "Address": ("CreateCustomer", ("payload", "address")),
    "Employment": ("CreateCustomer", ("payload", "employment")),
    "RiskProfile": ("CreateCustomer", ("payload", "riskProfile")),
    "OpenAccountPayload": ("OpenAccount", ("payload",)),
    "PostEntryPayload": ("PostEntry", ("payload",)),
    "EntryLeg": ("PostEntry", ("payload", "legs", "*")),
}
PARAMETER_EXTENSIONS: dict[str, str] = {
    "accountType": "account_type",
    "after": "event_cursor",
    "eventType": "tenant_stream",
    "entityId": "tenant_stream",
    "X-Correlation-Id": "correlation_header",
}
HEADER_EXTENSIONS: dict[str, str] = {"idempotent-replayed": "replay_header"}

_PARAM = re.compile(r"\{[^}]*\}")


@dataclass
class Extensions:
    """What one target offers: {extension: offered}, how that was found out, and the
    spec it serves (None when it serves none)."""

    offered: dict[str, bool] = field(default_factory=dict)
    source: str = "assumed"  # "served spec", "probing" or "assumed"
    served: dict[str, Any] | None = None

    def __getitem__(self, name: str) -> bool:
        return self.offered.get(name, False)

    def has(self, *names: str) -> bool:
        return all(self[name] for name in names)

    @classmethod
    def everything(cls) -> Extensions:
        return cls({name: True for name in EXTENSIONS}, "assumed")

    @classmethod
    def nothing(cls) -> Extensions:
        return cls({name: False for name in EXTENSIONS}, "assumed")

    def describe(self) -> str:
        on = [name for name in EXTENSIONS if self[name]]
        off = [name for name in EXTENSIONS if not self[name]]
        return (
            f"offered ({self.source}): {', '.join(on) or 'none'}; "
            f"not offered: {', '.join(off) or 'none'}"
        )


# ---------------------------------------------------------------------------
# Reading a spec.


def resolve_ref(spec: Mapping[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        ref = str(node["$ref"])
        if not ref.startswith("#/"):
            return node
        target: Any = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node = target
        seen += 1
    return node


def _path_key(path: str) -> str:
    return _PARAM.sub("{}", path.rstrip("/"))


def iter_operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete") and isinstance(operation, dict):
                yield path, method, operation


def find_operation(spec: Mapping[str, Any], method: str, path: str) -> dict[str, Any] | None:
    key = _path_key(path)
    for candidate, verb, operation in iter_operations(spec):
        if verb == method and _path_key(candidate) == key:
            return operation
    return None


def parameter_names(spec: Mapping[str, Any], method: str, path: str) -> set[str]:
    names: set[str] = set()
    key = _path_key(path)
    for candidate, item in (spec.get("paths") or {}).items():
        if _path_key(candidate) != key or not isinstance(item, dict):
            continue
        operation = item.get(method)
        if not isinstance(operation, dict):
            continue
        for param in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
            resolved = resolve_ref(spec, param)
            if isinstance(resolved, dict) and "name" in resolved:
                names.add(str(resolved["name"]))
    return names


def properties_of(spec: Mapping[str, Any], schema: str) -> set[str]:
    node = resolve_ref(spec, (spec.get("components") or {}).get("schemas", {}).get(schema))
    if not isinstance(node, dict):
        return set()
    props = set((node.get("properties") or {}).keys())
    for part in node.get("allOf") or []:
        resolved = resolve_ref(spec, part)
        if isinstance(resolved, dict):
            props |= set((resolved.get("properties") or {}).keys())
    return props


def response_headers(spec: Mapping[str, Any], method: str, path: str, status: str) -> set[str]:
    operation = find_operation(spec, method, path)
    if operation is None:
        return set()
    response = resolve_ref(spec, (operation.get("responses") or {}).get(status))
    if not isinstance(response, dict):
        return set()
    return {str(name).lower() for name in (response.get("headers") or {})}


def offered_by_spec(spec: Mapping[str, Any]) -> dict[str, bool]:
    """Which extensions a served spec describes."""
    accepted = properties_of(spec, "CommandAccepted")
    envelope = properties_of(spec, "EventEnvelope")
    open_account = properties_of(spec, "OpenAccountPayload")
    leg = properties_of(spec, "EntryLeg")
    product = properties_of(spec, "UpsertProductPayload")
    interest = properties_of(spec, "ProductInterest")
    constraints = properties_of(spec, "ProductConstraints")
    commands = "/tenants/{t}/commands"
    return {
        "command_result": "result" in accepted,
        "event_ids": "eventIds" in accepted,
        "replay_header": "idempotent-replayed" in response_headers(spec, "post", commands, "202"),
        "tenant_read": find_operation(spec, "get", "/tenants/{t}") is not None,
        "product_read": find_operation(spec, "get", "/tenants/{t}/products") is not None,
        "customer_read": find_operation(spec, "get", "/tenants/{t}/customers/{c}") is not None,
        "account_read": find_operation(spec, "get", "/tenants/{t}/accounts/{a}") is not None,
        "tenant_stream": find_operation(spec, "get", "/tenants/{t}/events") is not None,
        "sequence": "sequence" in envelope,
        "hash_chain": {"prevHash", "hash"} <= envelope,
        "account_type": "accountType" in parameter_names(spec, "get", "/tenants/{t}/accounts"),
        "event_cursor": "after" in parameter_names(spec, "get", "/tenants/{t}/accounts/{a}/events"),
        "facility_limit": "facilityLimit" in open_account,
        "leg_currency": "currency" in leg,
        "product_active": "active" in product,
        "product_fields": "description" in product
        and {"purchaseRate", "cashAdvanceRate"} <= interest
        and {"minAge", "maxAge"} <= constraints,
        "correlation_header": "X-Correlation-Id" in parameter_names(spec, "post", commands),
    }


# ---------------------------------------------------------------------------
# Detecting.


def served_spec(client: httpx.Client) -> dict[str, Any] | None:
    """The OpenAPI document the target serves, or None."""
    for path, parse in (("/v1/openapi.json", "json"), ("/v1/openapi.yaml", "yaml")):
        try:
            reply = client.get(path)
        except httpx.HTTPError:
            continue
        if reply.status_code != 200:
            continue
        try:
            loaded = reply.json() if parse == "json" else yaml.safe_load(reply.text)
        except (ValueError, yaml.YAMLError):
            continue
        if isinstance(loaded, dict) and "paths" in loaded and loaded.get("openapi"):
            return loaded
    return None


def detect_extensions(target: Target, *, refresh: bool = False) -> Extensions:
    """What `target` offers, from the spec it serves or else by probing (once per target)."""
    cached = getattr(target, "extensions", None)
    if isinstance(cached, Extensions) and not refresh:
        return cached
    with target.client() as client:
        spec = served_spec(client)
        if spec is not None:
            found = Extensions(offered_by_spec(spec), "served spec", spec)
        else:
            found = Extensions(probe_extensions(client), "probing")
    target.extensions = found
    return found


def _command(tenant: str, command_type: str, payload: dict[str, Any], key: str) -> dict[str, Any]:
    return build_envelope(
        command_type,
        payload,
        tenant_id=tenant,
        idempotency_key=key,
        timestamp="2025-01-15T12:00:00Z",
        actor=PROBE_ACTOR,
    )


def _json(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None


def probe_extensions(client: httpx.Client) -> dict[str, bool]:
    """Find out what a target that serves no spec offers, on a tenant of our own."""
    offered = {name: False for name in EXTENSIONS}
    tenant = f"CT_PROBE_{secrets.token_hex(4).upper()}"
    base = f"/v1/tenants/{tenant}"

    def send(command_type: str, payload: dict[str, Any], key: str | None = None) -> httpx.Response:
        body = _command(tenant, command_type, payload, key or f"probe-{uuid.uuid4().hex}")
        return client.post(f"{base}/commands", json=body)

    create = tenant_payload(tenant, "contract-test probe")
    key = f"probe-{uuid.uuid4().hex}"
    first = send("CreateTenant", create, key)
    if first.status_code != 202:
        return offered  # nothing more can be found out; the suites will say why
    body = _json(first) or {}
    offered["command_result"] = isinstance(body.get("result"), dict)
    offered["event_ids"] = isinstance(body.get("eventIds"), list)
    again = send("CreateTenant", create, key)
    offered["replay_header"] = again.headers.get("Idempotent-Replayed") == "true"
    # Without a spec, the header is offered when a command's reply echoes it (a service
    # that ignores it cannot be told from one that does not offer it).
    marker = f"probe-correlation-{uuid.uuid4().hex}"
    marked = {
        "productCode": "PROBE_CORRELATION",
        "name": "Probe",
        "productType": "DEPOSIT",
        "interest": {"rate": 0.01},
    }
    echoed = client.post(
        f"{base}/commands",
        json=_command(tenant, "UpsertProduct", marked, f"probe-{uuid.uuid4().hex}"),
        headers={"X-Correlation-Id": marker},
    )
    offered["correlation_header"] = (_json(echoed) or {}).get("correlationId") == marker

    def ok(path: str, **params: Any) -> httpx.Response | None:
        reply = client.get(base + path, params=params or None)
        return reply if reply.status_code == 200 else None

    offered["tenant_read"] = ok("") is not None
    offered["product_read"] = ok("/products") is not None
    offered["account_read"] = ok("/accounts/GL_SUSPENSE") is not None
    offered["account_type"] = ok("/accounts", accountType="ALL") is not None
    offered["event_cursor"] = ok("/accounts/GL_SUSPENSE/events", after=0) is not None
    stream = ok("/events")
    offered["tenant_stream"] = stream is not None
    page = (
        _json(stream)
        if stream is not None
        else _json(client.get(f"{base}/accounts/GL_SUSPENSE/events"))
    )
    events = page.get("events") if isinstance(page, dict) else None
    event = events[0] if isinstance(events, list) and events else {}
    offered["sequence"] = isinstance(event, dict) and "sequence" in event
    offered["hash_chain"] = isinstance(event, dict) and {"prevHash", "hash"} <= set(event)

    customer = send(
        "CreateCustomer",
        {
            "person": {
                "firstName": "Probe",
                "lastName": "Person",
                "dateOfBirth": "1990-01-01",
                "email": f"probe.{tenant.lower()}@example.com",
                "mobile": "+61400000000",
            },
            "address": {
                "line1": "1 Probe St",
                "suburb": "Sydney",
                "state": "NSW",
                "postcode": "2000",
                "country": "AU",
            },
        },
    )
    made = _json(customer) or {}
    customer_id = made.get("customerId") or (made.get("result") or {}).get("customerId")
    if isinstance(customer_id, str):
        offered["customer_read"] = ok(f"/customers/{customer_id}") is not None

    product = {
        "productCode": "PROBE_ACTIVE",
        "name": "Probe",
        "productType": "DEPOSIT",
        "interest": {"rate": 0.01},
    }
    offered["product_active"] = send("UpsertProduct", {**product, "active": True}).is_success
    fields = {
        **product,
        "productCode": "PROBE_FIELDS",
        "description": "probe",
        "interest": {"rate": 0.01, "purchaseRate": 0.1, "cashAdvanceRate": 0.2},
        "constraints": {"minAge": 18, "maxAge": 99},
    }
    offered["product_fields"] = send("UpsertProduct", fields).is_success
    # Refused either way (an unknown customer, an unknown account): 400 only when the
    # field itself is not known.
    account = {
        "customerId": str(uuid.uuid4()),
        "productCode": "PROBE_ACTIVE",
        "currency": "AUD",
        "facilityLimit": 1000,
    }
    offered["facility_limit"] = send("OpenAccount", account).status_code not in (400, 202)
    legs = [
        {**leg("CT_PROBE_NO_SUCH_ACCOUNT", "DEBIT", 1), "currency": "AUD"},
        leg("GL_SUSPENSE", "CREDIT", 1),
    ]
    entry = entry_payload("2025-01-15", legs, "probe")
    offered["leg_currency"] = send("PostEntry", entry).status_code not in (400, 202)
    return offered
