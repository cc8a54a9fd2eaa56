"""The extension marks keep the published contract visible inside our spec.

TuringCore's published contract is the reference; everything `openapi/turingcore.v1.yaml`
adds to it carries `x-turingcore-extension: true` (on a property schema, a parameter, a
header or an operation). These tests strip every marked part and check that what is left
still describes the published contract:

(a) every published request payload (`tests/data/published-examples.json`, a copy of
    `../shared/reference/published-examples.json`) validates against the stripped payload
    schema of its commandType, unknown fields still refused;
(b) every published reply field is still there, and required where the published
    contract gives it; a reply carrying only published fields validates;
(c) the gateway and the three published queries are still there (and nothing else);
(d) the checks can fail: marking a published field as an extension breaks them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.contract.published_only import ACCOUNT_FIELDS, CUSTOMER_FIELDS
from tests.test_spec import SPEC, ContractValidator

EXT = "x-turingcore-extension"
PUBLISHED_EXAMPLES_PATH = Path(__file__).resolve().parent / "data" / "published-examples.json"
PUBLISHED_EXAMPLES: list[dict[str, Any]] = json.loads(
    PUBLISHED_EXAMPLES_PATH.read_text(encoding="utf-8")
)
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
GATEWAY = ("/tenants/{tenantId}/commands", "post")
CUSTOMERS = ("/tenants/{tenantId}/customers", "get")
ACCOUNTS = ("/tenants/{tenantId}/accounts", "get")
ACCOUNT_EVENTS = ("/tenants/{tenantId}/accounts/{accountId}/events", "get")
# The published placeholders, and the spec example (202 reply, top-level field) whose id
# stands in for each of them.
PLACEHOLDERS = {
    "cust_123456": ("createCustomerAccepted", "customerId"),
    "ACC_123_TXN": ("openAccountAccepted", "accountId"),
    "ACC_123_SAVINGS": ("openSavingsAccountAccepted", "accountId"),
}

# What the published contract says of replies (../shared/CONTRACT.md, "The published
# contract"): per operation and status, the fields of the reply (all required unless
# listed under "optional"), and the fields of the items of its lists.
PUBLISHED_REPLIES: list[dict[str, Any]] = [
    {
        "operation": GATEWAY,
        "status": "202",
        "required": ["commandId", "status", "correlationId", "acceptedAt"],
        # The published client reads the new entity's id from the top of the reply.
        "optional": ["customerId", "accountId"],
    },
    {
        "operation": GATEWAY,
        "status": "422",
        "required": ["commandId", "error", "invariant", "details"],
    },
    {"operation": GATEWAY, "status": "400", "required": ["error", "message", "details"]},
    {"operation": GATEWAY, "status": "401", "required": ["error", "message", "details"]},
    {
        "operation": CUSTOMERS,
        "status": "200",
        "required": ["customers", "total", "limit", "offset"],
        "items": ("customers", list(CUSTOMER_FIELDS)),
    },
    {
        "operation": ACCOUNTS,
        "status": "200",
        "required": ["accounts", "total"],
        "items": ("accounts", list(ACCOUNT_FIELDS)),
    },
    {
        "operation": ACCOUNT_EVENTS,
        "status": "200",
        "required": ["events"],
        "items": (
            "events",
            [
                "eventId",
                "eventType",
                "tenantId",
                "entityId",
                "payload",
                "occurredAt",
                "causationId",
            ],
        ),
    },
]
PUBLISHED_EVENT_TYPES = [
    "TenantCreated",
    "ProductCreated",
    "ProductUpdated",
    "CustomerCreated",
    "AccountOpened",
    "FundsPosted",
    "LoanFacilityCreated",
    "EntryPosted",
    "AccountBalanceUpdated",
]
PUBLISHED_COMMAND_TYPES = [
    "CreateTenant",
    "UpsertProduct",
    "CreateCustomer",
    "OpenAccount",
    "PostEntry",
]
# Published query parameters, with their published defaults (None: no default given).
PUBLISHED_PARAMETERS: dict[tuple[str, str], dict[str, int | None]] = {
    CUSTOMERS: {"limit": 50, "offset": 0},
    ACCOUNTS: {"customerId": None, "limit": 50, "offset": None},
    ACCOUNT_EVENTS: {"limit": 100},
}

# Every extension the spec marks (docs/contract.md lists each with its reason).
EXPECTED_EXTENSIONS = {
    "operation GET /tenants/{tenantId}",
    "operation GET /tenants/{tenantId}/products",
    "operation GET /tenants/{tenantId}/customers/{customerId}",
    "operation GET /tenants/{tenantId}/accounts/{accountId}",
    "operation GET /tenants/{tenantId}/events",
    "operation GET /tenants/{tenantId}/accounts/{accountId}/balance",
    "operation GET /tenants/{tenantId}/trial-balance",
    "parameter asOfSequence",
    "parameter asOfDate",
    "parameter X-Correlation-Id",
    "parameter accountType",
    "parameter after",
    "parameter eventType",
    "parameter entityId",
    "header Idempotent-Replayed",
    "property UpsertProductPayload.description",
    "property UpsertProductPayload.active",
    "property ProductInterest.purchaseRate",
    "property ProductInterest.cashAdvanceRate",
    "property ProductConstraints.minAge",
    "property ProductConstraints.maxAge",
    "property OpenAccountPayload.facilityLimit",
    "property EntryLeg.currency",
    "property CommandAccepted.result",
    "property CommandAccepted.eventIds",
    "property InvariantViolation.message",
    "property CustomerSummary.tenantId",
    "property CustomerSummary.firstName",
    "property CustomerSummary.lastName",
    "property CustomerSummary.mobile",
    "property CustomerSummary.status",
    "property Customer.tenantId",
    "property Customer.firstName",
    "property Customer.lastName",
    "property Customer.mobile",
    "property Customer.status",
    "property AccountSummary.tenantId",
    "property AccountSummary.accountType",
    "property AccountSummary.productType",
    "property AccountSummary.facilityLimit",
    "property AccountSummary.accountPurpose",
    "property AccountSummary.lastSequence",
    "property AccountPage.limit",
    "property AccountPage.offset",
    "property EventEnvelope.sequence",
    "property EventEnvelope.correlationId",
    "property EventEnvelope.prevHash",
    "property EventEnvelope.hash",
    "property EventPage.nextCursor",
}


# --- stripping ---------------------------------------------------------------------------


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (a `$ref` with siblings is the siblings' node itself)."""
    seen = 0
    while isinstance(node, dict) and set(node) == {"$ref"} and seen < 50:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
        seen += 1
    return node


def _marked(spec: dict[str, Any], node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    return node.get(EXT) is True or _resolve(spec, node).get(EXT) is True


def strip_extensions(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with every part marked `x-turingcore-extension: true` removed.

    Any mapping entry or list item that carries the mark (directly, or through the `$ref`
    it consists of) is dropped: property schemas, parameters, headers, operations, path
    items and components. A dropped property also leaves its object's `required` list, and a
    path item left without operations is dropped.
    """
    original = spec

    def strip(node: Any) -> Any:
        if isinstance(node, list):
            return [strip(item) for item in node if not _marked(original, item)]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if _marked(original, value):
                continue
            out[key] = strip(value)
        properties = node.get("properties")
        if isinstance(properties, dict) and isinstance(node.get("required"), list):
            kept = out.get("properties", {})
            out["required"] = [name for name in node["required"] if name in kept]
        return out

    stripped: dict[str, Any] = strip(copy.deepcopy(spec))
    stripped["paths"] = {
        path: item
        for path, item in stripped["paths"].items()
        if any(method in HTTP_METHODS for method in item)
    }
    return stripped


def marked_parts(spec: dict[str, Any]) -> set[str]:
    """The inventory of marks: operations, parameters, headers and schema properties."""
    found: set[str] = set()
    for path, item in spec["paths"].items():
        operations = [(m, op) for m, op in item.items() if m in HTTP_METHODS]
        for parameter in item.get("parameters", []):
            if _marked(spec, parameter):
                found.add(f"parameter {_resolve(spec, parameter)['name']}")
        for method, operation in operations:
            if operation.get(EXT) is True:
                found.add(f"operation {method.upper()} {path}")
            for parameter in operation.get("parameters", []):
                if _marked(spec, parameter):
                    found.add(f"parameter {_resolve(spec, parameter)['name']}")
            for response in operation.get("responses", {}).values():
                for name, header in _resolve(spec, response).get("headers", {}).items():
                    if _marked(spec, header):
                        found.add(f"header {name}")

    def properties(owner: str, schema: Any) -> None:
        if isinstance(schema, dict):
            for prop, sub in schema.get("properties", {}).items():
                if isinstance(sub, dict) and sub.get(EXT) is True:
                    found.add(f"property {owner}.{prop}")
            for key, value in schema.items():
                if key != "properties" or not isinstance(value, dict):
                    properties(owner, value)
                else:
                    for sub in value.values():
                        properties(owner, sub)
        elif isinstance(schema, list):
            for item in schema:
                properties(owner, item)

    for name, schema in spec["components"]["schemas"].items():
        properties(name, schema)
    return found


def _walk(node: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# --- the checks, each a list of problems (empty when the published contract is intact) ---


def _validator(spec: dict[str, Any], ref: str) -> Any:
    uri = "urn:turingcore:stripped"
    registry: Registry = Registry().with_resource(
        uri, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return ContractValidator(
        {"$ref": uri + ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def published_request_problems(spec: dict[str, Any]) -> list[str]:
    """(a) Every published payload validates against the stripped payload schema."""
    stripped = strip_extensions(spec)
    problems = []
    for example in PUBLISHED_EXAMPLES:
        kind = example["commandType"]
        if f"{kind}Payload" not in stripped["components"]["schemas"]:
            problems.append(f"{kind}: no payload schema left")
            continue
        validator = _validator(stripped, f"#/components/schemas/{kind}Payload")
        for error in validator.iter_errors(example["payload"]):
            where = "/".join(str(part) for part in error.absolute_path)
            problems.append(f"{example['example']}: {error.message} at {where or '(payload)'}")
    return problems


def _operation(spec: dict[str, Any], operation: tuple[str, str]) -> dict[str, Any] | None:
    path, method = operation
    found: dict[str, Any] | None = spec["paths"].get(path, {}).get(method)
    return found


def _reply_schema(spec: dict[str, Any], operation: tuple[str, str], status: str) -> Any:
    found = _operation(spec, operation)
    if found is None or status not in found.get("responses", {}):
        return None
    response = _resolve(spec, found["responses"][status])
    return _resolve(spec, response["content"]["application/json"]["schema"])


def published_reply_problems(spec: dict[str, Any]) -> list[str]:
    """(b) Every published reply field is still there, required where published."""
    stripped = strip_extensions(spec)
    problems = []

    def check(where: str, schema: Any, required: list[str], optional: list[str]) -> None:
        if not isinstance(schema, dict):
            problems.append(f"{where}: no schema")
            return
        properties = schema.get("properties", {})
        for name in [*required, *optional]:
            if name not in properties:
                problems.append(f"{where}.{name}: missing")
        for name in required:
            if name not in schema.get("required", []):
                problems.append(f"{where}.{name}: not required")

    for reply in PUBLISHED_REPLIES:
        path, method = reply["operation"]
        where = f"{method.upper()} {path} {reply['status']}"
        schema = _reply_schema(stripped, reply["operation"], reply["status"])
        check(where, schema, reply["required"], reply.get("optional", []))
        if "items" in reply and isinstance(schema, dict):
            field, item_fields = reply["items"]
            items = _resolve(stripped, schema.get("properties", {}).get(field, {})).get("items")
            check(f"{where} {field}[]", _resolve(stripped, items), item_fields, [])
    event_types = _resolve(stripped, {"$ref": "#/components/schemas/EventType"})
    for event_type in PUBLISHED_EVENT_TYPES:
        if event_type not in event_types.get("enum", []):
            problems.append(f"event type {event_type}: missing")
    envelope = stripped["components"]["schemas"].get("CommandEnvelope", {})
    mapping = envelope.get("discriminator", {}).get("mapping", {})
    for command_type in PUBLISHED_COMMAND_TYPES:
        if command_type not in mapping:
            problems.append(f"command type {command_type}: missing")
    return problems


def published_query_problems(spec: dict[str, Any]) -> list[str]:
    """(c) The gateway and the three published queries, with their published parameters."""
    stripped = strip_extensions(spec)
    problems = []
    left = {
        (path, method)
        for path, item in stripped["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    expected = {GATEWAY, CUSTOMERS, ACCOUNTS, ACCOUNT_EVENTS}
    problems += [f"{m.upper()} {p}: missing" for p, m in sorted(expected - left)]
    problems += [f"{m.upper()} {p}: an extension left unmarked" for p, m in sorted(left - expected)]
    for operation, published in PUBLISHED_PARAMETERS.items():
        found = _operation(stripped, operation)
        if found is None:
            continue
        parameters = {
            p["name"]: p for p in (_resolve(stripped, ref) for ref in found.get("parameters", []))
        }
        for name, default in published.items():
            where = f"{operation[1].upper()} {operation[0]} ?{name}"
            if name not in parameters:
                problems.append(f"{where}: missing")
            elif default is not None and parameters[name]["schema"].get("default") != default:
                problems.append(f"{where}: default is not {default}")
    return problems


# --- the tests ---------------------------------------------------------------------------


def test_every_mark_is_the_boolean_true() -> None:
    values = [value for key, value in _walk(SPEC) if key == EXT]
    assert values
    assert all(value is True for value in values)


def test_the_marks_are_exactly_our_extensions() -> None:
    assert marked_parts(SPEC) == EXPECTED_EXTENSIONS
    # ... and no mark hides anywhere else (on a response, a whole schema, ...).
    marks = sum(1 for key, _ in _walk(SPEC) if key == EXT)
    assert marks == len(EXPECTED_EXTENSIONS)


def test_a_published_request_validates_against_the_stripped_spec() -> None:
    assert published_request_problems(SPEC) == []


def test_the_stripped_spec_still_refuses_unknown_fields() -> None:
    stripped = strip_extensions(SPEC)
    example = next(e for e in PUBLISHED_EXAMPLES if e["example"] == "Transaction Account")
    payload = copy.deepcopy(example["payload"])
    payload["constraints"]["minBalanse"] = 0.0
    validator = _validator(stripped, "#/components/schemas/UpsertProductPayload")
    assert not validator.is_valid(payload)
    # An extension is not part of the published contract: a published-only service may
    # refuse it, and the stripped spec says so.
    opening = next(e for e in PUBLISHED_EXAMPLES if e["commandType"] == "OpenAccount")
    with_limit = {**opening["payload"], "facilityLimit": 5000.0}
    assert not _validator(stripped, "#/components/schemas/OpenAccountPayload").is_valid(with_limit)


def test_published_reply_fields_survive_stripping() -> None:
    assert published_reply_problems(SPEC) == []


def test_the_published_queries_survive_stripping() -> None:
    assert published_query_problems(SPEC) == []


def test_the_stripped_spec_is_valid_openapi() -> None:
    """What is left is a document of its own: no reference points at a stripped part."""
    validate(strip_extensions(SPEC))


def _examples(operation: tuple[str, str], status: str) -> dict[str, Any]:
    found = _operation(SPEC, operation)
    assert found is not None
    response = _resolve(SPEC, found["responses"][status])
    examples: dict[str, Any] = response["content"]["application/json"]["examples"]
    return examples


def _published_only(reply: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {name: reply[name] for name in fields if name in reply}


def test_a_reply_with_only_published_fields_conforms_to_the_full_spec() -> None:
    """Reply schemas require only published fields, so a published-only service validates."""
    for reply in PUBLISHED_REPLIES:
        if reply["status"] not in ("200", "202"):
            continue
        fields = reply["required"] + reply.get("optional", [])
        for name, example in _examples(reply["operation"], reply["status"]).items():
            value = _published_only(example["value"], fields)
            if "items" in reply:
                field, item_fields = reply["items"]
                value[field] = [_published_only(item, item_fields) for item in value[field]]
            ref = _reply_ref(reply["operation"], reply["status"])
            for spec in (SPEC, strip_extensions(SPEC)):
                errors = list(_validator(spec, ref).iter_errors(value))
                assert not errors, f"{name}: {errors[0].message}"


def _reply_ref(operation: tuple[str, str], status: str) -> str:
    found = _operation(SPEC, operation)
    assert found is not None
    response = _resolve(SPEC, found["responses"][status])
    ref: str = response["content"]["application/json"]["schema"]["$ref"]
    return ref


def test_the_command_examples_are_the_published_payloads_verbatim() -> None:
    """The spec's runnable sequence sends every published payload, in the published order,
    with the ids the service made in place of the published placeholders."""
    gateway = _operation(SPEC, GATEWAY)
    assert gateway is not None
    requests = gateway["requestBody"]["content"]["application/json"]["examples"]
    accepted = _examples(GATEWAY, "202")
    ids = {accepted[reply]["value"][field]: name for name, (reply, field) in PLACEHOLDERS.items()}

    def placeholders(value: Any) -> Any:
        if isinstance(value, str):
            return ids.get(value, value)
        if isinstance(value, dict):
            return {key: placeholders(item) for key, item in value.items()}
        if isinstance(value, list):
            return [placeholders(item) for item in value]
        return value

    sent = [
        (example["value"]["commandType"], placeholders(example["value"]["payload"]))
        for example in requests.values()
    ]
    published = [(e["commandType"], e["payload"]) for e in PUBLISHED_EXAMPLES]
    positions = [sent.index(item) for item in published]  # ValueError: not sent verbatim
    assert positions == sorted(positions), "the published order is kept"


def test_the_published_examples_file_is_the_shared_reference() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "reference"
    reference = shared / "published-examples.json"
    if not reference.exists():
        pytest.skip("no ../shared/reference in this checkout")
    assert json.loads(reference.read_text(encoding="utf-8")) == PUBLISHED_EXAMPLES


# (d) The checks can fail: mark a published part as an extension and they say so.


def _mark(path: list[str]) -> Callable[[dict[str, Any]], None]:
    def mark(spec: dict[str, Any]) -> None:
        node: Any = spec
        for part in path:
            node = node[part]
        node[EXT] = True

    return mark


SCHEMAS = ["components", "schemas"]
BROKEN_REPLIES = [
    pytest.param(_mark([*SCHEMAS, "CustomerSummary", "properties", "fullName"]), id="fullName"),
    pytest.param(_mark([*SCHEMAS, "CommandAccepted", "properties", "customerId"]), id="top-id"),
    pytest.param(_mark([*SCHEMAS, "EventEnvelope", "properties", "causationId"]), id="causation"),
    pytest.param(_mark([*SCHEMAS, "AccountPage", "properties", "total"]), id="accounts-total"),
    pytest.param(_mark([*SCHEMAS, "InvariantViolation", "properties", "details"]), id="details"),
]


def test_an_unrequired_published_reply_field_fails_the_reply_check() -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["CustomerSummary"]["required"].remove("kycStatus")
    assert published_reply_problems(spec) == [
        "GET /tenants/{tenantId}/customers 200 customers[].kycStatus: not required"
    ]


BROKEN_REQUESTS = [
    pytest.param(
        _mark([*SCHEMAS, "ProductConstraints", "properties", "minBalance"]), id="minBalance"
    ),
    pytest.param(
        _mark([*SCHEMAS, "ProductInterest", "properties", "bonusConditions"]), id="bonusConditions"
    ),
    pytest.param(_mark([*SCHEMAS, "RiskProfile", "properties", "kycStatus"]), id="kycStatus"),
    pytest.param(_mark([*SCHEMAS, "PostEntryPayload", "properties", "tags"]), id="tags"),
    pytest.param(_mark([*SCHEMAS, "Address", "properties", "line2"]), id="line2"),
]


@pytest.mark.parametrize(
    ("check", "mark"),
    [
        *(
            pytest.param(published_reply_problems, *p.values, id=f"reply-{p.id}")
            for p in BROKEN_REPLIES
        ),
        *(
            pytest.param(published_request_problems, *p.values, id=f"request-{p.id}")
            for p in BROKEN_REQUESTS
        ),
    ],
)
def test_marking_a_published_field_fails_its_check(
    check: Callable[[dict[str, Any]], list[str]], mark: Callable[[dict[str, Any]], None]
) -> None:
    """A published reply field marked an extension fails the reply check; a published
    request field, the request check."""
    spec = copy.deepcopy(SPEC)
    mark(spec)
    assert check(spec)


def test_marking_a_published_query_fails_the_query_check() -> None:
    spec = copy.deepcopy(SPEC)
    _mark(["paths", "/tenants/{tenantId}/accounts", "get"])(spec)
    assert published_query_problems(spec) == ["GET /tenants/{tenantId}/accounts: missing"]
    spec = copy.deepcopy(SPEC)
    _mark(["components", "parameters", "Limit"])(spec)
    assert "GET /tenants/{tenantId}/customers ?limit: missing" in published_query_problems(spec)


def test_an_unmarked_extension_query_fails_the_query_check() -> None:
    spec = copy.deepcopy(SPEC)
    del spec["paths"]["/tenants/{tenantId}/events"]["get"][EXT]
    assert published_query_problems(spec) == [
        "GET /tenants/{tenantId}/events: an extension left unmarked"
    ]


def test_the_docs_list_every_extension() -> None:
    """docs/contract.md's departures section names every marked part."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "contract.md").read_text("utf-8")
    heading = "## Departures from and additions to the published contract"
    assert heading in docs
    section = docs.split(heading, 1)[1]
    short = {"{tenantId}": "{t}", "{customerId}": "{c}", "{accountId}": "{a}"}
    for part in sorted(EXPECTED_EXTENSIONS):
        name = part.split(" ", 1)[1].rsplit(".", 1)[-1]
        for long, brief in short.items():
            name = name.replace(long, brief)
        assert f"`{name}" in section, f"{part} is not in the docs' departures section"
