"""Checks on the contract file itself, `openapi/turingcore.v1.yaml`.

The spec is the source of truth for the mock, the twin and the contract suites,
so these tests keep it valid OpenAPI 3.1, keep its examples valid against its own
schemas, and keep the error model and the operations in a shape that clients can
be generated from.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "turingcore.v1.yaml"
SPEC_URI = "urn:turingcore:v1"
SCHEMAS = "#/components/schemas/"

COMMAND_TYPES = ["CreateTenant", "UpsertProduct", "CreateCustomer", "OpenAccount", "PostEntry"]
# The contract's example sequence, in the order it runs against an empty service: the
# published payloads in the published order, plus two account openings of ours.
COMMAND_EXAMPLES = [
    "createTenant",
    "upsertProductTxnBasic",
    "upsertProductSavings",
    "upsertProductPersonalLoan",
    "upsertProductTermDeposit",
    "createCustomer",
    "openAccount",
    "openSavingsAccount",
    "openLoanAccount",
    "salary",
    "cardSpend",
    "transfer",
]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
LETTERS_21 = "abcdefghijklmnopqrstu"
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
GENESIS_HASH = "0" * 64


def _load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = yaml.safe_load(fh)
    return spec


SPEC = _load_spec()


def _exact_multiple_of(
    validator: Any, divisor: float, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    # jsonschema divides binary floats, so it calls 19.99 "not a multiple of 0.01";
    # the contract says multipleOf is evaluated in decimal, as the service must.
    if not validator.is_type(instance, "number"):
        return
    if Decimal(str(instance)) % Decimal(str(divisor)) != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


ContractValidator = validators.extend(Draft202012Validator, {"multipleOf": _exact_multiple_of})
REGISTRY: Registry = Registry().with_resource(
    SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)


def validator_for(schema: dict[str, Any]) -> Any:
    """Return a Draft 2020-12 validator for a `{"$ref": "#/components/..."}` schema of the spec."""
    ref = schema["$ref"]
    assert ref.startswith("#/"), ref
    return ContractValidator(
        {"$ref": SPEC_URI + ref},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def component(name: str) -> Any:
    """Return a validator for `#/components/schemas/<name>`."""
    return validator_for({"$ref": SCHEMAS + name})


def deref(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (e.g. to `#/components/responses/...`) and return its target."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (path, method, operation) for every operation of the spec."""
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def media_examples() -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Yield (where, schema, value) for every named example of every body in the paths."""
    for path, method, operation in operations():
        bodies = []
        if "requestBody" in operation:
            bodies.append(("request", deref(operation["requestBody"])))
        for status, response in operation["responses"].items():
            bodies.append((status, deref(response)))
        for label, body in bodies:
            for media in body.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    where = f"{method.upper()} {path} {label} {name}"
                    yield where, media["schema"], deref(example)["value"]


def command_examples() -> dict[str, dict[str, Any]]:
    """Return the named request examples of the command gateway."""
    body = SPEC["paths"]["/tenants/{tenantId}/commands"]["post"]["requestBody"]
    examples: dict[str, dict[str, Any]] = body["content"]["application/json"]["examples"]
    return examples


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Yield (path, key, value) for every mapping entry in `node`, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def event_hash(event: dict[str, Any]) -> str:
    """Return the chain hash of `event`: SHA-256 hex of prevHash then JCS(event without hash)."""
    body = {key: value for key, value in event.items() if key != "hash"}
    return hashlib.sha256(event["prevHash"].encode("utf-8") + rfc8785.dumps(body)).hexdigest()


# (a) The file is valid OpenAPI 3.1.


def test_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    validate(SPEC)


def test_server_and_global_bearer_auth() -> None:
    assert [server["url"] for server in SPEC["servers"]] == ["http://127.0.0.1:8080/v1"]
    scheme = SPEC["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert SPEC["security"] == [{"bearer": []}]


# (b) Every command example is valid against its own envelope, and only that one.


def test_command_examples_are_the_contract_sequence() -> None:
    examples = command_examples()
    assert list(examples) == COMMAND_EXAMPLES
    seen = {example["value"]["commandType"] for example in examples.values()}
    assert seen == set(COMMAND_TYPES)


def test_envelope_is_a_discriminated_one_of_the_five_commands() -> None:
    envelope = SPEC["components"]["schemas"]["CommandEnvelope"]
    expected = {name: f"{SCHEMAS}{name}Command" for name in COMMAND_TYPES}
    assert envelope["discriminator"] == {"propertyName": "commandType", "mapping": expected}
    assert [branch["$ref"] for branch in envelope["oneOf"]] == list(expected.values())
    for command_type, ref in expected.items():
        schema = deref({"$ref": ref})
        assert schema["properties"]["commandType"]["const"] == command_type
        assert schema["additionalProperties"] is False
        payload = deref(schema["properties"]["payload"])
        assert payload["additionalProperties"] is False


@pytest.mark.parametrize("name", COMMAND_EXAMPLES)
def test_command_example_matches_exactly_its_own_envelope(name: str) -> None:
    example = command_examples()[name]
    value = example["value"]
    assert example.get("description"), f"{name} must say which ids the caller substitutes"
    own = f"{value['commandType']}Command"
    component(own).validate(value)
    component("CommandEnvelope").validate(value)
    matches = [
        branch["$ref"].removeprefix(SCHEMAS)
        for branch in SPEC["components"]["schemas"]["CommandEnvelope"]["oneOf"]
        if validator_for(branch).is_valid(value)
    ]
    assert matches == [own]


def case(case_id: str, example: str, mutate: Any) -> Any:
    """One mutation of a command example, named `case_id` in the test report."""
    return pytest.param(example, mutate, id=case_id)


def _legs(v: dict[str, Any]) -> list[dict[str, Any]]:
    legs: list[dict[str, Any]] = v["payload"]["legs"]
    return legs


OUT_OF_LIMITS = [
    case("unknown-envelope-field", "salary", lambda v: v.update(surprise=1)),
    case("unknown-leg-field", "salary", lambda v: _legs(v)[0].update(surprise=1)),
    case("amount-zero", "salary", lambda v: _legs(v)[0].update(amount=0)),
    case("amount-negative", "salary", lambda v: _legs(v)[0].update(amount=-1.0)),
    case("amount-three-decimals", "salary", lambda v: _legs(v)[0].update(amount=30.001)),
    case("amount-over-max", "salary", lambda v: _legs(v)[0].update(amount=100000000000.01)),
    case("one-leg", "salary", lambda v: v["payload"].update(legs=_legs(v)[:1])),
    case("102-legs", "salary", lambda v: v["payload"].update(legs=_legs(v) * 51)),
    case("narrative-501", "salary", lambda v: v["payload"].update(narrative="x" * 501)),
    case("21-tags", "salary", lambda v: v["payload"].update(tags=dict.fromkeys(LETTERS_21, "t"))),
    case("tags-a-list", "salary", lambda v: v["payload"].update(tags=["salary"])),
    case("tag-value-number", "salary", lambda v: v["payload"]["tags"].update(category=1)),
    case("tag-value-empty", "salary", lambda v: v["payload"]["tags"].update(category="")),
    case("tag-value-101", "salary", lambda v: v["payload"]["tags"].update(category="x" * 101)),
    case("tag-value-null", "salary", lambda v: v["payload"]["tags"].update(category=None)),
    case("tag-name-not-identifier", "salary", lambda v: v["payload"]["tags"].update({"a b": "x"})),
    case("tags-on-a-leg", "salary", lambda v: _legs(v)[0].update(tags={"category": "INCOME"})),
    case(
        "21-metadata",
        "salary",
        lambda v: v["payload"].update(metadata=dict.fromkeys(LETTERS_21, "v")),
    ),
    case("metadata-257", "salary", lambda v: v["payload"].update(metadata={"k": "v" * 257})),
    case("metadata-not-scalar", "salary", lambda v: v["payload"].update(metadata={"k": [1]})),
    case("metadata-object", "salary", lambda v: v["payload"].update(metadata={"k": {"a": 1}})),
    case("metadata-null-value", "salary", lambda v: v["payload"].update(metadata={"k": None})),
    case("narrative-null", "salary", lambda v: v["payload"].update(narrative=None)),
    case("leg-amount-null", "salary", lambda v: _legs(v)[0].update(amount=None)),
    case("date-not-iso", "salary", lambda v: v["payload"].update(bookingDate="14/01/2025")),
    case("idempotency-key-201", "salary", lambda v: v.update(idempotencyKey="k" * 201)),
    case("command-id-not-uuid", "salary", lambda v: v.update(commandId="not-a-uuid")),
    case("tenant-id-lower-case", "salary", lambda v: v.update(tenantId="cu_digital")),
    case("timestamp-no-offset", "salary", lambda v: v.update(timestamp="2025-01-14T09:30:00")),
    case("actor-type-unknown", "salary", lambda v: v["actor"].update(actorType="ROBOT")),
    case("command-type-unknown", "salary", lambda v: v.update(commandType="Reverse")),
    case("tenant-code-short", "createTenant", lambda v: v["payload"].update(tenantCode="X")),
    case("currency-lower-case", "createTenant", lambda v: v["payload"].update(baseCurrency="aud")),
    case("fee-negative", "upsertProductTxnBasic", lambda v: v["payload"]["fees"].update(x=-1.0)),
    case("fee-null", "upsertProductTxnBasic", lambda v: v["payload"]["fees"].update(x=None)),
    case(
        "constraint-typo",
        "upsertProductTxnBasic",
        lambda v: v["payload"]["constraints"].update(minBalanse=0),
    ),
    case(
        "legacy-min-opening-balance",
        "upsertProductTxnBasic",
        lambda v: v["payload"]["constraints"].update(minOpeningBalance=0),
    ),
    case(
        "legacy-max-facility-limit",
        "upsertProductPersonalLoan",
        lambda v: v["payload"]["constraints"].update(maxFacilityLimit=1000),
    ),
    case(
        "min-balance-negative",
        "upsertProductTxnBasic",
        lambda v: v["payload"]["constraints"].update(minBalance=-1.0),
    ),
    case(
        "allow-overdraft-string",
        "upsertProductTxnBasic",
        lambda v: v["payload"]["constraints"].update(allowOverdraft="yes"),
    ),
    case(
        "term-options-repeat",
        "upsertProductPersonalLoan",
        lambda v: v["payload"]["constraints"].update(termMonthsOptions=[12, 12]),
    ),
    case(
        "term-options-empty",
        "upsertProductPersonalLoan",
        lambda v: v["payload"]["constraints"].update(termMonthsOptions=[]),
    ),
    case(
        "term-months-601",
        "upsertProductTermDeposit",
        lambda v: v["payload"]["constraints"].update(termMonths=601),
    ),
    case(
        "bonus-condition-null",
        "upsertProductSavings",
        lambda v: v["payload"]["interest"]["bonusConditions"].update(minMonthlyDeposit=None),
    ),
    case(
        "bonus-condition-list",
        "upsertProductSavings",
        lambda v: v["payload"]["interest"]["bonusConditions"].update(minMonthlyDeposit=[1]),
    ),
    case(
        "21-bonus-conditions",
        "upsertProductSavings",
        lambda v: v["payload"]["interest"].update(bonusConditions=dict.fromkeys(LETTERS_21, 1)),
    ),
    case(
        "interest-unknown",
        "upsertProductTxnBasic",
        lambda v: v["payload"]["interest"].update(apr=1),
    ),
    case(
        "max-age-151",
        "upsertProductPersonalLoan",
        lambda v: v["payload"]["constraints"].update(maxAge=151),
    ),
    case(
        "51-features", "upsertProductTxnBasic", lambda v: v["payload"].update(features=["F"] * 51)
    ),
    case(
        "21-credit-criteria",
        "upsertProductPersonalLoan",
        lambda v: v["payload"].update(creditCriteria=dict.fromkeys(LETTERS_21, 1)),
    ),
    case(
        "mobile-not-e164", "createCustomer", lambda v: v["payload"]["person"].update(mobile="0412")
    ),
    case("email-invalid", "createCustomer", lambda v: v["payload"]["person"].update(email="nope")),
    case(
        "credit-score-1201",
        "createCustomer",
        lambda v: v["payload"]["riskProfile"].update(creditScore=1201),
    ),
    case(
        "legacy-risk-rating",
        "createCustomer",
        lambda v: v["payload"]["riskProfile"].update(rating="LOW"),
    ),
    case(
        "segment-lower-case",
        "createCustomer",
        lambda v: v["payload"]["riskProfile"].update(segment="retail"),
    ),
    case(
        "employment-status-unknown",
        "createCustomer",
        lambda v: v["payload"]["employment"].update(status="INTERN"),
    ),
    case("address-missing", "createCustomer", lambda v: v["payload"].pop("address")),
    case("address-null", "createCustomer", lambda v: v["payload"].update(address=None)),
    case(
        "person-email-null", "createCustomer", lambda v: v["payload"]["person"].update(email=None)
    ),
    case("facility-limit-zero", "openLoanAccount", lambda v: v["payload"].update(facilityLimit=0)),
    case("customer-id-65", "openAccount", lambda v: v["payload"].update(customerId="c" * 65)),
]

# Each of these breaks a 422 invariant, so the schema must let it through to the service.
INVARIANTS_ONLY = [
    case(
        "negative-rate",
        "upsertProductSavings",
        lambda v: v["payload"]["interest"].update(baseRate=-0.01),
    ),
    case(
        "min-above-max",
        "upsertProductPersonalLoan",
        lambda v: v["payload"]["constraints"].update(minAmount=60000),
    ),
    case(
        "min-balance-above-max-balance",
        "upsertProductSavings",
        lambda v: v["payload"]["constraints"].update(minBalance=300000),
    ),
    case(
        "overdraft-without-allow",
        "upsertProductTxnBasic",
        lambda v: v["payload"]["constraints"].update(overdraftLimit=500),
    ),
    case(
        "default-term-not-offered",
        "upsertProductPersonalLoan",
        lambda v: v["payload"]["constraints"].update(termMonthsDefault=18),
    ),
    case(
        "term-deposit-below-minimum",
        "openAccount",
        lambda v: v["payload"].update(productCode="TERM_6M", initialDeposit=999.99),
    ),
    case(
        "facility-limit-on-deposit",
        "openAccount",
        lambda v: v["payload"].update(facilityLimit=1000),
    ),
    case(
        "customer-under-18",
        "createCustomer",
        lambda v: v["payload"]["person"].update(dateOfBirth="2015-01-01"),
    ),
    case("value-before-booking", "salary", lambda v: v["payload"].update(valueDate="2025-01-13")),
    case("unbalanced", "salary", lambda v: _legs(v)[0].update(amount=2999.99)),
    case("leg-currency-differs", "salary", lambda v: _legs(v)[0].update(currency="NZD")),
    case("account-currency", "openAccount", lambda v: v["payload"].update(currency="NZD")),
]


# An explicit null in an optional field means the field is absent, at any depth.
NULL_IS_ABSENT = [
    case("idempotency-key-null", "salary", lambda v: v.update(idempotencyKey=None)),
    case("tags-null", "salary", lambda v: v["payload"].update(tags=None)),
    case("metadata-null", "salary", lambda v: v["payload"].update(metadata=None)),
    case("leg-currency-null", "salary", lambda v: _legs(v)[0].update(currency=None)),
    case("line2-null", "createCustomer", lambda v: v["payload"]["address"].update(line2=None)),
    case("employment-null", "createCustomer", lambda v: v["payload"].update(employment=None)),
    case("risk-profile-null", "createCustomer", lambda v: v["payload"].update(riskProfile=None)),
    case(
        "segment-null", "createCustomer", lambda v: v["payload"]["riskProfile"].update(segment=None)
    ),
    case(
        "annual-income-null",
        "createCustomer",
        lambda v: v["payload"]["employment"].update(annualIncome=None),
    ),
    case("external-ref-null", "createCustomer", lambda v: v["payload"].update(externalRef=None)),
    case("business-type-null", "createTenant", lambda v: v["payload"].update(businessType=None)),
    case(
        "min-balance-null",
        "upsertProductTxnBasic",
        lambda v: v["payload"]["constraints"].update(minBalance=None),
    ),
    case(
        "constraints-null", "upsertProductTxnBasic", lambda v: v["payload"].update(constraints=None)
    ),
    case("fees-null", "upsertProductTxnBasic", lambda v: v["payload"].update(fees=None)),
    case("features-null", "upsertProductTxnBasic", lambda v: v["payload"].update(features=None)),
    case(
        "rate-null", "upsertProductTxnBasic", lambda v: v["payload"]["interest"].update(rate=None)
    ),
    case(
        "bonus-conditions-null",
        "upsertProductSavings",
        lambda v: v["payload"]["interest"].update(bonusConditions=None),
    ),
    case(
        "term-options-null",
        "upsertProductPersonalLoan",
        lambda v: v["payload"]["constraints"].update(termMonthsOptions=None),
    ),
    case(
        "credit-criteria-null",
        "upsertProductPersonalLoan",
        lambda v: v["payload"].update(creditCriteria=None),
    ),
    case("initial-deposit-null", "openAccount", lambda v: v["payload"].update(initialDeposit=None)),
    case("alias-null", "openAccount", lambda v: v["payload"].update(accountAlias=None)),
    case(
        "facility-limit-null", "openLoanAccount", lambda v: v["payload"].update(facilityLimit=None)
    ),
]


@pytest.mark.parametrize(("example", "mutate"), NULL_IS_ABSENT)
def test_null_in_an_optional_field_is_valid(example: str, mutate: Any) -> None:
    value = copy.deepcopy(command_examples()[example]["value"])
    mutate(value)
    component("CommandEnvelope").validate(value)


def test_every_optional_request_field_accepts_null() -> None:
    """Walk the five payload schemas: every optional property's schema admits null."""
    schemas = SPEC["components"]["schemas"]

    def allows_null(schema: dict[str, Any]) -> bool:
        schema = deref(schema)
        kind = schema.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
        return any(allows_null(branch) for branch in schema.get("oneOf", []))

    def objects(schema: dict[str, Any], seen: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for branch in [schema, *schema.get("oneOf", [])]:
            ref = branch.get("$ref")
            if ref is not None:
                if ref in seen:
                    continue
                seen.add(ref)
            target = deref(branch)
            if "properties" in target:
                yield ref or "inline", target
                for sub in target["properties"].values():
                    yield from objects(sub, seen)
            if isinstance(target.get("items"), dict):
                yield from objects(target["items"], seen)

    missing = []
    seen: set[str] = set()
    for command_type in COMMAND_TYPES:
        envelope = schemas[f"{command_type}Command"]
        for where, schema in objects(envelope, seen):
            required = set(schema.get("required", ()))
            for name, sub in schema["properties"].items():
                if name not in required and not allows_null(sub):
                    missing.append(f"{where}.{name}")
    assert not missing, missing


@pytest.mark.parametrize(("example", "mutate"), OUT_OF_LIMITS)
def test_envelope_rejects_input_outside_the_limits(example: str, mutate: Any) -> None:
    value = copy.deepcopy(command_examples()[example]["value"])
    mutate(value)
    assert not component("CommandEnvelope").is_valid(value)


@pytest.mark.parametrize(("example", "mutate"), INVARIANTS_ONLY)
def test_invariants_are_left_to_the_service(example: str, mutate: Any) -> None:
    value = copy.deepcopy(command_examples()[example]["value"])
    mutate(value)
    component("CommandEnvelope").validate(value)


@pytest.mark.parametrize("amount", [0.01, 0.07, 19.99, 45.5, 1234567.89, 100000000000])
def test_money_accepts_any_two_decimal_amount(amount: float) -> None:
    component("Money").validate(amount)


def test_every_example_is_valid_against_its_schema() -> None:
    checked = 0
    for where, schema, value in media_examples():
        errors = sorted(validator_for(schema).iter_errors(value), key=str)
        assert not errors, f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}"
        checked += 1
    assert checked >= len(COMMAND_EXAMPLES) + 20


def test_event_examples_recompute_their_hash_chain() -> None:
    pages = {
        where: value
        for where, schema, value in media_examples()
        if schema == {"$ref": SCHEMAS + "EventPage"}
    }
    assert pages
    for where, page in pages.items():
        for event in page["events"]:
            assert event_hash(event) == event["hash"], f"{where} sequence {event['sequence']}"
    first = pages["GET /tenants/{tenantId}/events 200 firstPage"]["events"]
    assert first[0]["prevHash"] == GENESIS_HASH
    assert [event["sequence"] for event in first] == list(range(1, len(first) + 1))
    for before, after in itertools.pairwise(first):
        assert after["prevHash"] == before["hash"]


def test_no_legacy_example_keyword() -> None:
    found = [path for path, key, _ in walk(SPEC) if key == "example"]
    assert not found, found


def test_the_description_states_the_sign_convention() -> None:
    text = SPEC["info"]["description"]
    assert "`DEBIT` leg **adds**" in text
    assert "`CREDIT` leg **subtracts**" in text
    assert "balance = sum(debit amounts) - sum(credit amounts)" in text
    assert "GL_SALARY_CLEARING` CREDIT 3000.00, member account DEBIT 3000.00" in text


def test_every_constraint_has_its_rule_in_the_spec() -> None:
    constraints = SPEC["components"]["schemas"]["ProductConstraints"]
    table = constraints["description"]
    for name, schema in constraints["properties"].items():
        assert f"`{name}`" in table, f"the rule of {name} is not in the table"
        assert schema.get("description"), f"{name} has no description"
    for legacy in ("minOpeningBalance", "minFacilityLimit", "maxFacilityLimit"):
        assert legacy not in constraints["properties"]


def test_account_queries_take_the_published_parameters() -> None:
    def params(path: str) -> dict[str, dict[str, Any]]:
        operation = SPEC["paths"][path]["get"]
        return {deref(p)["name"]: deref(p) for p in operation.get("parameters", [])}

    accounts = params("/tenants/{tenantId}/accounts")
    assert set(accounts) == {"customerId", "accountType", "limit", "offset"}
    assert accounts["accountType"]["schema"]["enum"] == ["CUSTOMER", "GL", "ALL"]
    assert accounts["accountType"]["schema"]["default"] == "CUSTOMER"
    assert accounts["limit"]["schema"]["default"] == 50
    events = params("/tenants/{tenantId}/accounts/{accountId}/events")
    assert set(events) == {"limit", "offset", "after"}
    assert events["limit"]["schema"]["default"] == 100
    assert events["limit"]["schema"]["maximum"] == 1000
    customers = params("/tenants/{tenantId}/customers")
    assert set(customers) == {"limit", "offset"}
    assert customers["limit"]["schema"]["default"] == 50


def test_every_operation_documents_the_unknown_query_parameter_400() -> None:
    for path, method, operation in operations():
        response = deref(operation["responses"]["400"])
        examples = response["content"]["application/json"]["examples"]
        named = [
            example["value"]
            for example in examples.values()
            if "parameter" in example["value"]["details"]
        ]
        assert named, f"{method.upper()} {path}: no 400 example for an unknown query parameter"
        for value in named:
            assert value["error"] == "VALIDATION_ERROR"
            assert value["details"]["parameter"] in value["message"]


def test_the_invariant_table_lists_every_code_in_precedence_order() -> None:
    violation = SPEC["components"]["schemas"]["InvariantViolation"]
    codes = violation["properties"]["invariant"]["enum"]
    listed = re.findall(r"^\| `([A-Z_]+)` \|", violation["description"], flags=re.MULTILINE)
    assert listed == codes


# (c) The error model: the codes are well formed; the meta-test against
# mock_core/errors.py checks that they are exactly the service's codes.


@pytest.mark.parametrize(
    ("schema", "field"), [("Error", "error"), ("InvariantViolation", "invariant")]
)
def test_error_codes_are_unique_upper_snake_case(schema: str, field: str) -> None:
    codes = SPEC["components"]["schemas"][schema]["properties"][field]["enum"]
    assert codes
    assert len(codes) == len(set(codes))
    assert all(UPPER_SNAKE.match(code) for code in codes), codes


def test_error_shapes() -> None:
    schemas = SPEC["components"]["schemas"]
    assert set(schemas["Error"]["required"]) == {"error", "message", "details"}
    violation = schemas["InvariantViolation"]
    assert violation["properties"]["error"]["const"] == "INVARIANT_VIOLATION"
    # As published: commandId, error, invariant, details; our `message` is an optional extension.
    assert set(violation["required"]) == {"commandId", "error", "invariant", "details"}
    assert violation["properties"]["message"]["x-turingcore-extension"] is True
    assert "INVARIANT_VIOLATION" not in schemas["Error"]["properties"]["error"]["enum"]


# (d) Operations: named, summarised, and every 4xx reply uses the error model.


def test_every_operation_has_a_unique_operation_id_summary_and_tag() -> None:
    ids = []
    for path, method, operation in operations():
        where = f"{method.upper()} {path}"
        assert operation.get("operationId"), where
        assert operation.get("summary"), where
        assert operation.get("tags"), where
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids)) == 11


def test_documented_statuses_and_headers() -> None:
    gateway = SPEC["paths"]["/tenants/{tenantId}/commands"]["post"]
    assert list(gateway["responses"]) == [
        "202", "400", "401", "403", "404", "409", "413", "415", "422"
    ]  # fmt: skip
    assert "Idempotent-Replayed" in gateway["responses"]["202"]["headers"]
    header = deref(gateway["parameters"][0])
    assert (header["name"], header["in"], header["schema"]["maxLength"]) == (
        "X-Correlation-Id",
        "header",
        128,
    )
    for path, method, operation in operations():
        if method == "get":
            assert list(operation["responses"]) == ["200", "400", "401", "403", "404"], path


def test_every_4xx_response_uses_error_or_invariant_violation() -> None:
    allowed = {SCHEMAS + "Error", SCHEMAS + "InvariantViolation"}
    for path, method, operation in operations():
        statuses = [status for status in operation["responses"] if status.startswith("4")]
        assert statuses, f"{method.upper()} {path} documents no 4xx"
        for status in statuses:
            response = deref(operation["responses"][status])
            where = f"{method.upper()} {path} {status}"
            media = response["content"]["application/json"]
            assert media["schema"].get("$ref") in allowed, where
            assert media.get("examples"), where
            expected = SCHEMAS + ("InvariantViolation" if status == "422" else "Error")
            assert media["schema"]["$ref"] == expected, where


def test_every_success_response_has_an_example() -> None:
    for path, method, operation in operations():
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                media = deref(response)["content"]["application/json"]
                assert media.get("examples"), f"{method.upper()} {path} {status}"


def test_every_schema_has_a_description() -> None:
    missing = [
        name
        for name, schema in SPEC["components"]["schemas"].items()
        if not schema.get("description")
    ]
    assert not missing, missing
