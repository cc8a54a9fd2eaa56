"""A catalogue of bad input: every case is a 4xx in the documented shape and writes nothing.

Each case starts from a valid command of its type (checked to be valid by
`test_the_base_commands_are_valid`), breaks one thing, and sends it. The reply
must be the documented status and code, in the `Error` (or `InvariantViolation`)
shape, and the store must be unchanged: the same rows in every table (counted
through the app's own engine) and the same chain head for every tenant. Zero 5xx.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mock_core.store.schema import TENANT_TABLES, tenants
from tests.commands import (
    CREDIT_UNION,
    account_details,
    customer_details,
    entry_details,
    entry_payload,
    envelope,
    full_product,
    transfer_legs,
)
from tests.mock_core.conftest import (
    CU_KEY,
    OTHER_KEY,
    PLATFORM_KEY,
    TENANT,
    Api,
    customer_payload,
    tenant_payload,
)
from tests.mock_core.test_api import (
    all_events,
    module_client,
    owner_connection,
    recompute_chain,
)

OTHER = "OTHER_CU"
NEW = "NEW_TENANT"  # CreateTenant cases aim here; it must never come to exist
MIB = 1024 * 1024
DROP = object()  # a change that removes the field


@dataclass(frozen=True)
class Ref:
    """A value filled in at run time from the ledger's ids."""

    name: str


def base_payloads() -> dict[str, dict[str, Any]]:
    """A valid payload per command type, exercising every optional block."""
    product = full_product("NEW_PRODUCT", "A new product", "For the bad-input catalogue")
    product["interest"]["bonusConditions"]["noWithdrawals"] = True
    product["fees"]["atmFeeOther"] = 2.5
    product["constraints"]["termMonths"] = 12
    product["creditCriteria"]["needsPayslip"] = True
    salary = entry_payload(
        transfer_legs("GL_SALARY_CLEARING", Ref("txn"), 10),
        "bad input catalogue",
        **entry_details(),
    )
    salary["legs"][1]["currency"] = "AUD"
    salary["tags"] = {"category": "INCOME", "source": "PAYROLL_SIM"}
    return {
        "CreateTenant": {**tenant_payload(NEW), **CREDIT_UNION},
        "UpsertProduct": product,
        "CreateCustomer": {**customer_payload(99), **customer_details()},
        "OpenAccount": {
            "customerId": Ref("customer"),
            "productCode": "TXN_ACCOUNT_BASIC",
            "currency": "AUD",
            **account_details(),
        },
        "PostEntry": salary,
    }


def base_envelope(command_type: str) -> dict[str, Any]:
    tenant = NEW if command_type == "CreateTenant" else TENANT
    payload = base_payloads()[command_type]
    return envelope(tenant, command_type, payload, key=f"bad-input:{uuid.uuid4()}")


def resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, Ref):
        return ids[value.name]
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    return value


def apply(body: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, with DROP, remove) the field at dotted `path`; list indexes are numbers."""
    parts = path.split(".")
    target: Any = body
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if isinstance(target, list):
        if value is DROP:
            del target[int(last)]
        else:
            target[int(last)] = value
    elif value is DROP:
        del target[last]
    else:
        target[last] = value


@dataclass
class Case:
    command_type: str
    changes: dict[str, Any] = field(default_factory=dict)
    status: int = 400
    codes: tuple[str, ...] = ("VALIDATION_ERROR",)
    invariant: str | None = None
    raw: Callable[[str], bytes] | None = None  # the JSON text of the envelope -> the body
    content_type: str | None = "application/json"
    key: str | None = PLATFORM_KEY
    authorization: str | None = None  # overrides `key`
    path_tenant: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    loc: str | None = None  # a field name some error's loc must mention; default: derived
    missing: bool = False  # the error at `loc` must say the field is missing


def case(case_id: str, command_type: str, changes: dict[str, Any] | None = None, **kw: Any) -> Any:
    return pytest.param(Case(command_type, changes or {}, **kw), id=case_id)


def with_raw(marker: str, literal: str) -> Callable[[str], bytes]:
    """Replace the JSON string `"marker"` in the body with a raw JSON literal."""
    return lambda text: text.replace(json.dumps(marker), literal).encode()


def legs(n: int) -> list[dict[str, Any]]:
    half = [{"accountId": "GL_SALARY_CLEARING", "direction": "CREDIT", "amount": 1}] * (n // 2)
    other = [{"accountId": Ref("txn"), "direction": "DEBIT", "amount": 1}] * (n - n // 2)
    return half + other


AMOUNT = "payload.legs.0.amount"
PE, CC, OA, UP, CT = "PostEntry", "CreateCustomer", "OpenAccount", "UpsertProduct", "CreateTenant"

CASES = [
    # ---- envelope: missing, extra, wrong types
    *[case(f"missing-{f}", PE, {f: DROP}) for f in ("commandId", "tenantId", "commandType")],
    *[case(f"missing-{f}", PE, {f: DROP}) for f in ("actor", "timestamp", "payload")],
    case("missing-actor.actorType", PE, {"actor.actorType": DROP}),
    case("missing-actor.actorId", PE, {"actor.actorId": DROP}),
    case("extra-envelope-field", PE, {"priority": "high"}),
    case("extra-actor-field", PE, {"actor.role": "admin"}),
    case("unknown-commandType", PE, {"commandType": "DeleteEverything"}),
    case("commandType-wrong-case", PE, {"commandType": "postEntry"}),
    case("commandType-null", PE, {"commandType": None}),
    case("actorType-unknown", PE, {"actor.actorType": "ROBOT"}),
    case("actor-is-string", PE, {"actor": "tests"}),
    case("actorId-empty", PE, {"actor.actorId": ""}),
    case("actorId-129", PE, {"actor.actorId": "a" * 129}),
    case("idempotencyKey-empty", PE, {"idempotencyKey": ""}),
    case("idempotencyKey-201", PE, {"idempotencyKey": "k" * 201}),
    case("idempotencyKey-int", PE, {"idempotencyKey": 42}),
    case("tenantId-int", PE, {"tenantId": 7}),
    case("tenantId-lowercase", PE, {"tenantId": "cu_digital"}),
    # ---- commandId: not a UUID
    case("commandId-not-uuid", PE, {"commandId": "not-a-uuid"}),
    case("commandId-empty", PE, {"commandId": ""}),
    case("commandId-int", PE, {"commandId": 12345}),
    case("commandId-no-hyphens", PE, {"commandId": uuid.uuid4().hex}),
    case("commandId-not-hex", PE, {"commandId": "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"}),
    case("commandId-hyphens-misplaced", PE, {"commandId": "12345678123412341234123456789012----"}),
    case("commandId-braces", PE, {"commandId": "{12345678-1234-1234-1234-1234567890}"}),
    # ---- timestamp
    case("timestamp-no-offset", PE, {"timestamp": "2025-01-15T09:00:00"}),
    case("timestamp-date-only", PE, {"timestamp": "2025-01-15"}),
    case("timestamp-offset-no-colon", PE, {"timestamp": "2025-01-15T09:00:00+1100"}),
    case("timestamp-feb-30", PE, {"timestamp": "2025-02-30T09:00:00Z"}),
    case("timestamp-hour-25", PE, {"timestamp": "2025-01-15T25:00:00Z"}),
    case("timestamp-epoch-int", PE, {"timestamp": 1736895600}),
    case("timestamp-words", PE, {"timestamp": "yesterday"}),
    # ---- tenant mismatch and the path
    case("tenant-mismatch", PE, {"tenantId": OTHER}, codes=("TENANT_MISMATCH",)),
    case(
        "create-tenant-code-mismatch",
        CT,
        {"payload.tenantCode": "SOMEONE_ELSE"},
        codes=("TENANT_MISMATCH",),
    ),
    case(
        "create-tenant-envelope-mismatch",
        CT,
        {"tenantId": "SOMEONE_ELSE"},
        codes=("TENANT_MISMATCH",),
    ),
    case("path-tenant-lowercase", PE, {"tenantId": "cu_digital"}, path_tenant="cu_digital"),
    case(
        "path-tenant-lowercase-envelope-upper",
        PE,
        path_tenant="cu_digital",
        codes=("TENANT_MISMATCH",),
    ),
    case(
        "path-tenant-lowercase-tenant-key",
        PE,
        path_tenant="cu_digital",
        key=CU_KEY,
        status=403,
        codes=("FORBIDDEN",),
    ),
    # ---- payload: wrong shape
    case("payload-null", PE, {"payload": None}),
    case("payload-list", PE, {"payload": []}),
    case("payload-string", PE, {"payload": "{}"}),
    case("payload-empty-object", PE, {"payload": {}}),
    case("payload-of-another-type", PE, {"payload": base_payloads()[CC]}),
    # ---- amounts
    case("amount-3-decimals", PE, {AMOUNT: 10.001, "payload.legs.1.amount": 10.001}),
    case("amount-float-noise", PE, {AMOUNT: 0.1 + 0.2, "payload.legs.1.amount": 0.1 + 0.2}),
    case("amount-zero", PE, {AMOUNT: 0, "payload.legs.1.amount": 0}),
    case("amount-zero-float", PE, {AMOUNT: 0.0, "payload.legs.1.amount": 0.0}),
    case("amount-negative", PE, {AMOUNT: -10, "payload.legs.1.amount": -10}),
    case("amount-minus-zero", PE, {AMOUNT: "@RAW@"}, raw=with_raw("@RAW@", "-0")),
    case(
        "amount-1e400",
        PE,
        {AMOUNT: "@RAW@"},
        raw=with_raw("@RAW@", "1e400"),
        codes=("MALFORMED_JSON", "VALIDATION_ERROR"),
    ),
    case(
        "amount-nan", PE, {AMOUNT: "@RAW@"}, raw=with_raw("@RAW@", "NaN"), codes=("MALFORMED_JSON",)
    ),
    case(
        "amount-infinity",
        PE,
        {AMOUNT: "@RAW@"},
        raw=with_raw("@RAW@", "Infinity"),
        codes=("MALFORMED_JSON",),
    ),
    case("amount-10e30", PE, {AMOUNT: 10**30, "payload.legs.1.amount": 10**30}),
    case("amount-2e64", PE, {AMOUNT: 2**64, "payload.legs.1.amount": 2**64}),
    case(
        "amount-over-max",
        PE,
        {AMOUNT: 100_000_000_000.01, "payload.legs.1.amount": 100_000_000_000.01},
    ),
    case("amount-tiny", PE, {AMOUNT: 1e-7}),
    case("amount-true", PE, {AMOUNT: True}),
    case("amount-false", PE, {AMOUNT: False}),
    case("amount-string", PE, {AMOUNT: "10.00"}),
    case("amount-null", PE, {AMOUNT: None}),
    case("amount-object", PE, {AMOUNT: {"value": 10}}),
    case("initialDeposit-negative", OA, {"payload.initialDeposit": -1}),
    case("initialDeposit-3-decimals", OA, {"payload.initialDeposit": 1.005}),
    case("initialDeposit-string", OA, {"payload.initialDeposit": "10"}),
    case(
        "facilityLimit-zero",
        OA,
        {"payload.productCode": "CC_LOW_RATE", "payload.facilityLimit": 0},
        loc="facilityLimit",
    ),
    case("fee-negative", UP, {"payload.fees.monthlyFee": -1}),
    case("fee-bad-name", UP, {"payload.fees": {"1st fee": 1}}),
    case("fees-21", UP, {"payload.fees": {f"fee{i}": 1 for i in range(21)}}),
    case("constraint-negative", UP, {"payload.constraints.maxBalance": -5}),
    case("annualIncome-bool", CC, {"payload.employment.annualIncome": True}),
    # ---- other numbers and enums
    case("rate-bool", UP, {"payload.interest.rate": True}, loc="interest"),
    case("rate-string", UP, {"payload.interest.rate": "5%"}),
    case("rate-huge", UP, {"payload.interest.rate": 10**30}, loc="interest"),
    case("minAge-151", UP, {"payload.constraints.minAge": 151}),
    case("minAge-float", UP, {"payload.constraints.minAge": 18.5}),
    case("termMonths-0", UP, {"payload.constraints.termMonths": 0}),
    case("termMonths-601", UP, {"payload.constraints.termMonths": 601}),
    case("termMonthsDefault-0", UP, {"payload.constraints.termMonthsDefault": 0}),
    case("termMonthsDefault-string", UP, {"payload.constraints.termMonthsDefault": "12"}),
    case("termMonthsOptions-empty", UP, {"payload.constraints.termMonthsOptions": []}),
    case("termMonthsOptions-repeated", UP, {"payload.constraints.termMonthsOptions": [12, 12]}),
    case("termMonthsOption-601", UP, {"payload.constraints.termMonthsOptions": [12, 601]}),
    case(
        "termMonthsOptions-21",
        UP,
        {"payload.constraints.termMonthsOptions": list(range(1, 22))},
    ),
    case("termMonthsOptions-int", UP, {"payload.constraints.termMonthsOptions": 12}),
    case("allowOverdraft-string", UP, {"payload.constraints.allowOverdraft": "true"}),
    case("allowOverdraft-int", UP, {"payload.constraints.allowOverdraft": 1}),
    case("overdraftLimit-negative", UP, {"payload.constraints.overdraftLimit": -1}),
    case("minBalance-3-decimals", UP, {"payload.constraints.minBalance": 0.001}),
    case("minAmount-string", UP, {"payload.constraints.minAmount": "100"}),
    case("maxAmount-negative", UP, {"payload.constraints.maxAmount": -100}),
    case("bonusConditions-list", UP, {"payload.interest.bonusConditions": ["x"]}),
    case("bonusConditions-nested", UP, {"payload.interest.bonusConditions": {"a": {"b": 1}}}),
    case("bonusConditions-list-value", UP, {"payload.interest.bonusConditions": {"a": [1]}}),
    case("bonusConditions-null-value", UP, {"payload.interest.bonusConditions": {"a": None}}),
    case("bonusConditions-bad-name", UP, {"payload.interest.bonusConditions": {"1st": 1}}),
    case("bonusConditions-name-51", UP, {"payload.interest.bonusConditions": {"b" * 51: 1}}),
    case("bonusConditions-value-201", UP, {"payload.interest.bonusConditions": {"a": "v" * 201}}),
    case(
        "bonusConditions-21",
        UP,
        {"payload.interest.bonusConditions": {f"c{i}": 1 for i in range(21)}},
    ),
    case("creditScore-1201", CC, {"payload.riskProfile.creditScore": 1201}),
    case("creditScore-string", CC, {"payload.riskProfile.creditScore": "700"}),
    # riskProfile.rating is gone: the published riskProfile is segment, kycStatus, creditScore.
    case("rating-removed", CC, {"payload.riskProfile.rating": "LOW"}),
    case("segment-lowercase", CC, {"payload.riskProfile.segment": "retail"}),
    case("segment-empty", CC, {"payload.riskProfile.segment": ""}),
    case("segment-51", CC, {"payload.riskProfile.segment": "S" * 51}),
    case("kycStatus-int", CC, {"payload.riskProfile.kycStatus": 1}),
    case("kycStatus-dash", CC, {"payload.riskProfile.kycStatus": "SIMULATED-PASSED"}),
    case("employment-status-unknown", CC, {"payload.employment.status": "ASTRONAUT"}),
    case("productType-unknown", UP, {"payload.productType": "CRYPTO"}),
    case("active-string", UP, {"payload.active": "true"}),
    case("direction-unknown", PE, {"payload.legs.0.direction": "SIDEWAYS"}),
    case("direction-lowercase", PE, {"payload.legs.0.direction": "credit"}),
    case("creditCriteria-nested", UP, {"payload.creditCriteria": {"minIncome": {"gt": 1}}}),
    case("creditCriteria-21", UP, {"payload.creditCriteria": {f"c{i}": 1 for i in range(21)}}),
    case("creditCriteria-huge-int", UP, {"payload.creditCriteria": {"minIncome": 10**30}}),
    # ---- missing required payload fields
    *[
        case(f"missing-tenant-{f}", CT, {f"payload.{f}": DROP})
        for f in ("tenantCode", "displayName", "region", "baseCurrency", "timeZone")
    ],
    *[
        case(f"missing-product-{f}", UP, {f"payload.{f}": DROP})
        for f in ("productCode", "name", "productType", "interest")
    ],
    *[case(f"missing-customer-{f}", CC, {f"payload.{f}": DROP}) for f in ("person", "address")],
    *[
        case(f"missing-person-{f}", CC, {f"payload.person.{f}": DROP})
        for f in ("firstName", "lastName", "dateOfBirth", "email", "mobile")
    ],
    *[
        case(f"missing-address-{f}", CC, {f"payload.address.{f}": DROP})
        for f in ("line1", "suburb", "state", "postcode", "country")
    ],
    case("missing-employment-status", CC, {"payload.employment.status": DROP}),
    *[
        case(f"missing-account-{f}", OA, {f"payload.{f}": DROP})
        for f in ("customerId", "productCode", "currency")
    ],
    *[
        case(f"missing-entry-{f}", PE, {f"payload.{f}": DROP})
        for f in ("bookingDate", "valueDate", "currency", "legs", "narrative")
    ],
    *[
        case(f"missing-leg-{f}", PE, {f"payload.legs.1.{f}": DROP})
        for f in ("accountId", "direction", "amount")
    ],
    # ---- null: in an optional field it is the field left out (accepted: see test_api's
    # test_null_in_an_optional_field_is_the_field_left_out); in a required field it is
    # the field missing, named in the 400
    *[
        case(f"null-envelope-{f}", PE, {f: None}, missing=True)
        for f in ("commandId", "tenantId", "actor", "timestamp")
    ],
    case("null-actor-actorId", PE, {"actor.actorId": None}, missing=True),
    *[
        case(f"null-tenant-{f}", CT, {f"payload.{f}": None}, missing=True)
        for f in ("tenantCode", "displayName", "region", "baseCurrency", "timeZone")
    ],
    *[
        case(f"null-product-{f}", UP, {f"payload.{f}": None}, missing=True)
        for f in ("productCode", "name", "productType", "interest")
    ],
    *[
        case(f"null-customer-{f}", CC, {f"payload.{f}": None}, missing=True)
        for f in ("person", "address")
    ],
    *[
        case(f"null-person-{f}", CC, {f"payload.person.{f}": None}, missing=True)
        for f in ("firstName", "lastName", "dateOfBirth", "email", "mobile")
    ],
    case("null-address-line1", CC, {"payload.address.line1": None}, missing=True),
    case("null-employment-status", CC, {"payload.employment.status": None}, missing=True),
    *[
        case(f"null-account-{f}", OA, {f"payload.{f}": None}, missing=True)
        for f in ("customerId", "productCode", "currency")
    ],
    *[
        case(f"null-entry-{f}", PE, {f"payload.{f}": None}, missing=True)
        for f in ("bookingDate", "valueDate", "currency", "legs", "narrative")
    ],
    case("null-leg-direction", PE, {"payload.legs.0.direction": None}, missing=True),
    # A null is the field left out only for a field there is: an unknown name is a 400
    # whatever its value (a typo must not pass for an absent field).
    case("null-extra-envelope-field", PE, {"priority": None}),
    case("null-extra-leg-field", PE, {"payload.legs.0.memo": None}),
    case("null-constraint-typo", UP, {"payload.constraints.minBalanse": None}),
    case("null-constraint-removed", UP, {"payload.constraints.minOpeningBalance": None}),
    case("null-rating-removed", CC, {"payload.riskProfile.rating": None}),
    case("null-leg", PE, {"payload.legs.0": None}),
    case("null-feature", UP, {"payload.features": [None]}),
    # ---- extra fields inside payloads
    case("extra-payload-field", PE, {"payload.priority": 1}),
    case("extra-leg-field", PE, {"payload.legs.0.memo": "x"}),
    case("extra-person-field", CC, {"payload.person.middleName": "J"}),
    case("extra-address-field", CC, {"payload.address.unit": "5"}),
    case("extra-interest-field", UP, {"payload.interest.apr": 0.1}),
    case("extra-constraints-field", UP, {"payload.constraints.maxAccounts": 3}),
    # Our old constraint names are gone, and a typo of a published one is no constraint.
    *[
        case(f"constraint-{name}", UP, {f"payload.constraints.{name}": 100})
        for name in (
            "minOpeningBalance",
            "minFacilityLimit",
            "maxFacilityLimit",
            "minBalanse",
            "MinBalance",
            "allow_overdraft",
        )
    ],
    case("extra-tenant-field", CT, {"payload.color": "blue"}),
    case("account-type-in-open-account", OA, {"payload.accountType": "GL"}),
    # ---- wrong types
    case("displayName-int", CT, {"payload.displayName": 123}),
    case("narrative-list", PE, {"payload.narrative": ["a"]}),
    case("legs-object", PE, {"payload.legs": {"0": {}}}),
    case("leg-is-string", PE, {"payload.legs.0": "GL_SALARY_CLEARING"}),
    case("person-list", CC, {"payload.person": []}),
    case("tags-string", PE, {"payload.tags": "salary"}),
    case("tags-list", PE, {"payload.tags": ["salary"]}),  # the old shape
    case("tags-int-value", PE, {"payload.tags": {"n": 1}}),
    case("tags-bool-value", PE, {"payload.tags": {"n": True}}),
    case("tags-null-value", PE, {"payload.tags": {"n": None}}),
    case("tags-nested-value", PE, {"payload.tags": {"n": {"x": "y"}}}),
    case("tag-name-digit-first", PE, {"payload.tags": {"1st": "x"}}),
    case("tag-name-dash", PE, {"payload.tags": {"pay-roll": "x"}}),
    case("tag-name-51", PE, {"payload.tags": {"t" * 51: "x"}}),
    case("metadata-list", PE, {"payload.metadata": ["a"]}),
    case("metadata-null-value", PE, {"payload.metadata": {"n": None}}),
    case("metadata-list-value", PE, {"payload.metadata": {"n": ["a"]}}),
    case("metadata-nested-value", PE, {"payload.metadata": {"n": {"x": "y"}}}),
    case("metadata-huge-int", PE, {"payload.metadata": {"n": 10**30}}),
    case("fees-null-value", UP, {"payload.fees": {"monthlyFee": None}}),
    case("creditCriteria-null-value", UP, {"payload.creditCriteria": {"minIncome": None}}),
    case("features-object", UP, {"payload.features": {"a": 1}}),
    case("customerId-int", OA, {"payload.customerId": 42}),
    case("accountId-null", PE, {"payload.legs.1.accountId": None}),
    # ---- strings out of their limits and patterns
    case("narrative-empty", PE, {"payload.narrative": ""}),
    case("narrative-501", PE, {"payload.narrative": "n" * 501}),
    case("accountId-65", PE, {"payload.legs.1.accountId": "a" * 65}),
    case("accountId-empty", PE, {"payload.legs.1.accountId": ""}),
    case("tag-101", PE, {"payload.tags": {"t": "t" * 101}}),
    case("tag-empty", PE, {"payload.tags": {"t": ""}}),
    case("metadata-value-257", PE, {"payload.metadata": {"k": "v" * 257}}),
    case("metadata-key-65", PE, {"payload.metadata": {"k" * 65: "v"}}),
    case("metadata-21", PE, {"payload.metadata": {f"k{i}": "v" for i in range(21)}}),
    case("tags-21", PE, {"payload.tags": {f"t{i}": "x" for i in range(21)}}),
    case("displayName-201", CT, {"payload.displayName": "d" * 201}),
    case("displayName-empty", CT, {"payload.displayName": ""}),
    case(
        "tenantCode-lowercase",
        CT,
        {"payload.tenantCode": "new_tenant", "tenantId": "new_tenant"},
        path_tenant="new_tenant",
        loc="tenantId",
    ),
    case(
        "tenantCode-33",
        CT,
        {"payload.tenantCode": "T" * 33, "tenantId": "T" * 33},
        path_tenant="T" * 33,
        loc="tenantId",
    ),
    case(
        "tenantCode-1",
        CT,
        {"payload.tenantCode": "T", "tenantId": "T"},
        path_tenant="T",
        loc="tenantId",
    ),
    case("tenantCode-payload-lowercase", CT, {"payload.tenantCode": "new_tenant"}),
    case("tenantCode-dash", CT, {"payload.tenantCode": "NEW-TENANT"}),
    case("region-3-letters", CT, {"payload.region": "AUS"}),
    case("baseCurrency-lowercase", CT, {"payload.baseCurrency": "aud"}),
    case("timeZone-65", CT, {"payload.timeZone": "Z" * 65}),
    case("productCode-lowercase", UP, {"payload.productCode": "txn_basic"}),
    case("productCode-51", UP, {"payload.productCode": "P" * 51}),
    case("product-name-201", UP, {"payload.name": "n" * 201}),
    case("description-501", UP, {"payload.description": "d" * 501}),
    case("feature-51", UP, {"payload.features": ["f" * 51]}),
    case("features-51", UP, {"payload.features": [f"F{i}" for i in range(51)]}),
    case("firstName-101", CC, {"payload.person.firstName": "f" * 101}),
    case("lastName-empty", CC, {"payload.person.lastName": ""}),
    case("externalRef-65", CC, {"payload.externalRef": "r" * 65}),
    case("postcode-17", CC, {"payload.address.postcode": "1" * 17}),
    case("country-lowercase", CC, {"payload.address.country": "au"}),
    case("accountAlias-101", OA, {"payload.accountAlias": "a" * 101}),
    case("currency-lowercase", OA, {"payload.currency": "aud"}),
    case("entry-currency-2-letters", PE, {"payload.currency": "AU"}),
    case("leg-currency-lowercase", PE, {"payload.legs.1.currency": "aud"}),
    # ---- legs: how many
    case("legs-101", PE, {"payload.legs": legs(101)}),
    case("legs-1", PE, {"payload.legs": legs(1)}),
    case("legs-0", PE, {"payload.legs": []}),
    # ---- dates
    case("bookingDate-feb-30", PE, {"payload.bookingDate": "2025-02-30"}),
    case("valueDate-month-13", PE, {"payload.valueDate": "2025-13-01"}),
    case("bookingDate-slashes", PE, {"payload.bookingDate": "2025/01/15"}),
    case("bookingDate-dmy", PE, {"payload.bookingDate": "15-01-2025"}),
    case("bookingDate-short", PE, {"payload.bookingDate": "2025-1-5"}),
    case("bookingDate-datetime", PE, {"payload.bookingDate": "2025-01-15T00:00:00Z"}),
    case("bookingDate-year-0", PE, {"payload.bookingDate": "0000-01-01"}),
    case("bookingDate-int", PE, {"payload.bookingDate": 20250115}),
    case("dateOfBirth-feb-29-2001", CC, {"payload.person.dateOfBirth": "2001-02-29"}),
    case("dateOfBirth-empty", CC, {"payload.person.dateOfBirth": ""}),
    # ---- emails and mobiles
    *[
        case(f"email-{name}", CC, {"payload.person.email": value})
        for name, value in (
            ("no-at", "olivia.example.com"),
            ("no-domain-dot", "olivia@example"),
            ("space", "olivia nguyen@example.com"),
            ("no-local", "@example.com"),
            ("two-ats", "a@b@example.com"),
            ("255-chars", "o" * 243 + "@example.com"),
            ("int", 42),
        )
    ],
    *[
        case(f"mobile-{name}", CC, {"payload.person.mobile": value})
        for name, value in (
            ("no-plus", "0412345678"),
            ("leading-zero", "+0412345678"),
            ("spaces", "+61 412 345 678"),
            ("too-long", "+6141234567890123"),
            ("too-short", "+61412"),
            ("letters", "+61412abc678"),
            ("int", 61412345678),
        )
    ],
    # ---- the body itself
    case("body-empty", PE, raw=lambda text: b"", codes=("MALFORMED_JSON",)),
    case("body-truncated", PE, raw=lambda text: text[:-5].encode(), codes=("MALFORMED_JSON",)),
    case(
        "body-trailing-garbage",
        PE,
        raw=lambda text: (text + " x").encode(),
        codes=("MALFORMED_JSON",),
    ),
    case(
        "body-single-quotes",
        PE,
        raw=lambda text: text.replace('"', "'").encode(),
        codes=("MALFORMED_JSON",),
    ),
    case(
        "body-not-utf8",
        PE,
        raw=lambda text: text.replace("bad input catalogue", "caf\xe9").encode("latin-1"),
        codes=("MALFORMED_JSON",),
    ),
    case(
        "body-lone-surrogate",
        PE,
        raw=lambda text: text.replace("bad input catalogue", "\\ud800").encode(),
        codes=("MALFORMED_JSON", "VALIDATION_ERROR"),
    ),
    case(
        "body-deeply-nested",
        PE,
        raw=lambda text: b"[" * 100_000 + b"]" * 100_000,
        codes=("MALFORMED_JSON", "VALIDATION_ERROR"),
    ),
    case("body-json-array", PE, raw=lambda text: f"[{text}]".encode()),
    case("body-json-null", PE, raw=lambda text: b"null"),
    case("body-json-string", PE, raw=lambda text: json.dumps(text).encode()),
    case("body-json-number", PE, raw=lambda text: b"42"),
    case(
        "body-over-1mib",
        PE,
        {"payload.narrative": "n" * MIB},
        status=413,
        codes=("PAYLOAD_TOO_LARGE",),
    ),
    case(
        "body-over-1mib-lying-length",
        PE,
        {"payload.narrative": "n" * MIB},
        status=413,
        codes=("PAYLOAD_TOO_LARGE",),
        extra_headers={"Content-Length": "100"},
    ),
    # ---- content types
    case(
        "content-type-missing", PE, content_type=None, status=415, codes=("UNSUPPORTED_MEDIA_TYPE",)
    ),
    case(
        "content-type-text",
        PE,
        content_type="text/plain",
        status=415,
        codes=("UNSUPPORTED_MEDIA_TYPE",),
    ),
    case(
        "content-type-form",
        PE,
        content_type="application/x-www-form-urlencoded",
        status=415,
        codes=("UNSUPPORTED_MEDIA_TYPE",),
    ),
    case(
        "content-type-multipart",
        PE,
        content_type="multipart/form-data; boundary=x",
        status=415,
        codes=("UNSUPPORTED_MEDIA_TYPE",),
    ),
    # ---- keys
    case("no-key", PE, key=None, status=401, codes=("UNAUTHENTICATED",)),
    case("unknown-key", PE, key="not-a-real-key", status=401, codes=("UNAUTHENTICATED",)),
    case(
        "basic-auth",
        PE,
        authorization="Basic ZGV2LXBsYXRmb3JtLWtleTo=",
        status=401,
        codes=("UNAUTHENTICATED",),
    ),
    case("bearer-empty", PE, authorization="Bearer ", status=401, codes=("UNAUTHENTICATED",)),
    case("other-tenants-key", PE, key=OTHER_KEY, status=403, codes=("FORBIDDEN",)),
    case("tenant-key-create-tenant", CT, key=CU_KEY, status=403, codes=("FORBIDDEN",)),
    case("correlation-id-129", PE, extra_headers={"X-Correlation-Id": "c" * 129}),
    case("correlation-id-empty", PE, extra_headers={"X-Correlation-Id": ""}),
    # ---- well-formed, but another tenant's ids: a 422, and still nothing written
    case(
        "legs-other-tenants-account",
        PE,
        {"payload.legs.1.accountId": Ref("other_txn")},
        status=422,
        invariant="ACCOUNT_MUST_EXIST",
    ),
    case(
        "open-account-other-tenants-customer",
        OA,
        {"payload.customerId": Ref("other_customer")},
        status=422,
        invariant="CUSTOMER_MUST_EXIST",
    ),
    case(
        "command-on-unknown-tenant",
        PE,
        {"tenantId": "NO_SUCH_TENANT"},
        path_tenant="NO_SUCH_TENANT",
        status=404,
        codes=("NOT_FOUND",),
    ),
]


# Cases the store sees (they pass validation and auth): run on every backend.
STORE_CASES = [c for c in CASES if c.values[0].status in (404, 422)]

# Odd but well-formed strings: accepted or refused, never a 5xx. `n` keeps each
# customer unique, so a case is refused for its own string, not a duplicate email.
ODD_VALUES = {
    "nul": "a\u0000b",
    "emoji": "\U0001f4b8\U0001f3e6",
    "rtl-override": "\u202eevil",
    "combining": "e\u0301",
    "line-separators": "a\u2028b\u2029c",
    "controls": "\u0001\u001f\u007f",
    "quotes-backslash": "\\\"'`",
    "sql": "'; DROP TABLE events; --",
}
ODD_FIELDS = {
    "narrative": (PE, "payload.narrative"),
    "leg-accountId": (PE, "payload.legs.1.accountId"),
    "tag": (PE, "payload.tags.category"),
    "metadata-value": (PE, "payload.metadata.employer"),
    "metadata-key": (PE, "payload.metadata"),
    "email": (CC, "payload.person.email"),
    "externalRef": (CC, "payload.externalRef"),
    "firstName": (CC, "payload.person.firstName"),
    "customerId": (OA, "payload.customerId"),
    "accountAlias": (OA, "payload.accountAlias"),
    "accountPurpose": (OA, "payload.accountPurpose"),
    "product-name": (UP, "payload.name"),
    "feature": (UP, "payload.features.0"),
    "idempotencyKey": (PE, "idempotencyKey"),
    "actorId": (PE, "actor.actorId"),
    "displayName": (CT, "payload.displayName"),
}


def odd_cases() -> list[Any]:
    out = []
    pairs = [(f, "nul") for f in ODD_FIELDS]
    pairs += [(f, v) for f in ("narrative", "externalRef", "idempotencyKey") for v in ODD_VALUES]
    pairs += [(f, "emoji") for f in ("email", "accountAlias", "leg-accountId", "metadata-key")]
    for n, (field_name, value_name) in enumerate(dict.fromkeys(pairs), start=200):
        command_type, path = ODD_FIELDS[field_name]
        value: Any = ODD_VALUES[value_name]
        if field_name == "email":
            value = f"x{value}{n}@example.com"
        if field_name == "metadata-key":
            value = {value: "v"}
        changes: dict[str, Any] = {path: value}
        if command_type == CC:
            changes.setdefault("payload.person.email", f"odd{n}@example.com")
            changes.setdefault("payload.person.mobile", f"+6149{n:07d}")
            changes.setdefault("payload.externalRef", f"ODD-{n}")
        if command_type == CT:
            changes.update({"tenantId": f"ODD_{n}", "payload.tenantCode": f"ODD_{n}"})
        out.append(pytest.param(n, command_type, changes, id=f"{field_name}-{value_name}"))
    return out


# ------------------------------------------------------------------------- fixtures
mod_client = module_client("bad-input")


@pytest.fixture(scope="module")
def ids(mod_client: TestClient) -> dict[str, str]:
    api = Api(mod_client)
    ours = api.open_ledger(TENANT, all_accounts=False)
    theirs = api.open_ledger(OTHER, all_accounts=False)
    return {**ours, "other_txn": theirs["txn"], "other_customer": theirs["customer"]}


def snapshot(client: TestClient) -> tuple[dict[str, int], list[Any], Any]:
    """Rows per table and every tenant's chain head, from the store; the tenant, over HTTP."""
    with owner_connection(client) as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in TENANT_TABLES
        }
        heads = conn.execute(
            select(tenants.c.tenant_id, tenants.c.last_sequence, tenants.c.last_hash).order_by(
                tenants.c.tenant_id
            )
        ).all()
    auth = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    return (
        counts,
        [tuple(h) for h in heads],
        client.get(f"/v1/tenants/{TENANT}", headers=auth).json(),
    )


def build_request(spec: Case, ids: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    body = base_envelope(spec.command_type)
    for path, value in spec.changes.items():
        apply(body, path, value if value is DROP else copy.deepcopy(value))
    body = resolve(body, ids)
    text = json.dumps(body)
    content = spec.raw(text) if spec.raw is not None else text.encode()
    hdrs: dict[str, str] = {}
    if spec.authorization is not None:
        hdrs["Authorization"] = spec.authorization
    elif spec.key is not None:
        hdrs["Authorization"] = f"Bearer {spec.key}"
    if spec.content_type is not None:
        hdrs["Content-Type"] = spec.content_type
    hdrs.update(spec.extra_headers)
    if spec.path_tenant is not None:
        tenant = spec.path_tenant
    elif spec.command_type == "CreateTenant":
        tenant = body["tenantId"] if isinstance(body, dict) and "tenantId" in body else NEW
    else:
        tenant = TENANT
    return f"/v1/tenants/{tenant}/commands", content, hdrs


def expected_loc(spec: Case) -> str | None:
    """A name the 400's error locations must mention, so a case fails for its own reason."""
    if spec.loc is not None:
        return spec.loc
    if spec.raw is not None or spec.status != 400 or spec.codes != ("VALIDATION_ERROR",):
        return None
    if not spec.changes:
        return None
    path = next(iter(spec.changes))
    names = [p for p in path.split(".") if not p.isdigit()]
    return names[-1]


def check_refusal(client: TestClient, spec: Case, content: bytes, resp: Any) -> None:
    assert resp.status_code < 500, f"a 5xx for bad input: {resp.status_code} {resp.text[:500]}"
    assert resp.status_code == spec.status, resp.text[:500]
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    if spec.invariant is not None:
        assert set(body) == {"commandId", "error", "invariant", "message", "details"}, body
        assert body["error"] == "INVARIANT_VIOLATION"
        assert body["invariant"] == spec.invariant
        assert body["commandId"] == json.loads(content)["commandId"]
    else:
        assert set(body) == {"error", "message", "details"}, body
        assert body["error"] in spec.codes, body
        assert isinstance(body["message"], str) and body["message"]
        assert isinstance(body["details"], dict)
        if body["error"] == "VALIDATION_ERROR" and "errors" in body["details"]:
            errors = body["details"]["errors"]
            assert all(set(e) == {"loc", "msg", "type"} for e in errors)
            loc = expected_loc(spec)
            if loc is not None:
                mentioned = {str(part) for e in errors for part in e["loc"]}
                assert loc in mentioned, f"expected an error at {loc}: {errors}"
                assert loc in body["message"], body["message"]
            if spec.missing:
                assert any(e["type"] == "missing" and str(e["loc"][-1]) == loc for e in errors), (
                    f"expected {loc} missing: {errors}"
                )
    if spec.status == 401:
        assert resp.headers["www-authenticate"].lower().startswith("bearer")


def strings_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value).union(*(strings_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(strings_in(v) for v in value))
    return set()


# --------------------------------------------------------------------------- tests


# Validation, auth and media-type refusals happen before the store is touched, so the
# whole catalogue runs on SQLite; the cases the store sees run on every backend below.
@pytest.mark.parametrize("mod_client", ["sqlite"], indirect=True)
@pytest.mark.parametrize("spec", CASES)
def test_bad_input_is_a_documented_4xx_and_writes_nothing(
    mod_client: TestClient, ids: dict[str, str], spec: Case
) -> None:
    url, content, hdrs = build_request(spec, ids)
    before = snapshot(mod_client)
    resp = mod_client.post(url, content=content, headers=hdrs)
    check_refusal(mod_client, spec, content, resp)
    after = snapshot(mod_client)
    assert after == before
    assert NEW not in {tenant for tenant, _, _ in after[1]}


@pytest.mark.parametrize("spec", STORE_CASES)
def test_refusals_by_the_store_on_each_backend(
    mod_client: TestClient, ids: dict[str, str], spec: Case
) -> None:
    url, content, hdrs = build_request(spec, ids)
    before = snapshot(mod_client)
    resp = mod_client.post(url, content=content, headers=hdrs)
    check_refusal(mod_client, spec, content, resp)
    assert snapshot(mod_client) == before


@pytest.mark.parametrize("n,command_type,changes", odd_cases())
def test_odd_strings_are_never_a_5xx(
    mod_client: TestClient, ids: dict[str, str], n: int, command_type: str, changes: Any
) -> None:
    """Accepted (and then read back intact, chain still sound) or refused in the
    documented shape with nothing written; on SQLite and PostgreSQL alike."""
    spec = Case(command_type, changes)
    url, content, hdrs = build_request(spec, ids)
    command = json.loads(content)
    before = snapshot(mod_client)
    resp = mod_client.post(url, content=content, headers=hdrs)
    assert resp.status_code < 500, f"{resp.status_code} {resp.text[:300]}"
    body = resp.json()
    tenant = command["tenantId"]
    auth = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    if resp.status_code == 202:
        events = all_events(mod_client, tenant)
        recompute_chain(events)
        caused = [e for e in events if e["causationId"] == command["commandId"]]
        assert [e["eventId"] for e in caused] == body["eventIds"]
        sent = strings_in(command["payload"]) - strings_in(base_payloads()[command_type])
        stored = strings_in([e["payload"] for e in caused])
        for value in sent:
            assert value in stored or value.lower() in stored, f"{value!r} did not round-trip"
        if command_type == "CreateCustomer":
            customer_id = body["result"]["customerId"]
            detail = mod_client.get(f"/v1/tenants/{tenant}/customers/{customer_id}", headers=auth)
            assert detail.json()["person"] == command["payload"]["person"]
        if command_type == "OpenAccount":
            account_id = body["result"]["accountId"]
            account = mod_client.get(f"/v1/tenants/{tenant}/accounts/{account_id}", headers=auth)
            assert account.json()["accountAlias"] == command["payload"]["accountAlias"]
            assert account.json()["accountPurpose"] == command["payload"]["accountPurpose"]
    else:
        assert resp.status_code in (400, 422), resp.text[:300]
        keys = {"error", "message", "details"} | (
            {"commandId", "invariant"} if resp.status_code == 422 else set()
        )
        assert set(body) == keys, body
        assert snapshot(mod_client) == before


def test_the_base_commands_are_valid(api: Api) -> None:
    """Every case above breaks one thing in a command that is otherwise accepted."""
    theirs = api.open_ledger(OTHER, all_accounts=False)
    ours = api.open_ledger(TENANT, all_accounts=False)
    ids = {**ours, "other_txn": theirs["txn"], "other_customer": theirs["customer"]}
    for command_type in (
        "CreateTenant",
        "UpsertProduct",
        "CreateCustomer",
        "OpenAccount",
        "PostEntry",
    ):
        url, content, hdrs = build_request(Case(command_type), ids)
        resp = api.client.post(url, content=content, headers=hdrs)
        assert resp.status_code == 202, f"{command_type}: {resp.text}"


def test_odd_ids_in_queries_are_never_a_5xx(mod_client: TestClient, ids: dict[str, str]) -> None:
    """Queries and the admin endpoints: odd ids are a 404 (or 400), odd filters an empty
    page (or 400), never a 5xx; on each backend."""
    auth = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    odd = ["a%00b", "x" * 5000, "..%2F..%2Fetc", "%F0%9F%92%B8", "'%3B DROP TABLE events%3B--"]
    problems = []
    for ident in odd:
        for path in (
            f"/v1/tenants/{TENANT}/customers/{ident}",
            f"/v1/tenants/{TENANT}/accounts/{ident}",
            f"/v1/tenants/{TENANT}/accounts/{ident}/events",
            f"/v1/tenants/{ident}",
            f"/v1/tenants/{ident}/events",
            f"/_mock/tenants/{ident}/verify",
        ):
            resp = mod_client.get(path, headers=auth)
            if resp.status_code not in (400, 404):
                problems.append((path[:80], resp.status_code))
        resp = mod_client.post(f"/_mock/tenants/{ident}/reset", headers=auth)
        if resp.status_code >= 500:
            problems.append((f"reset {ident[:60]}", resp.status_code))
    for what, params in (
        ("accounts", {"customerId": "a\u0000b"}),
        ("events", {"entityId": "a\u0000b"}),
        ("accounts", {"customerId": "\U0001f4b8"}),
        ("events", {"entityId": "'; DROP TABLE events; --"}),
    ):
        resp = mod_client.get(f"/v1/tenants/{TENANT}/{what}", params=params, headers=auth)
        if resp.status_code not in (200, 400):
            problems.append((f"{what} {params}", resp.status_code))
        elif resp.status_code == 200:
            page = resp.json()
            assert page.get("accounts", page.get("events")) == []
    assert problems == [], problems
    assert mod_client.get(f"/v1/tenants/{TENANT}", headers=auth).status_code == 200


def test_bad_query_parameters_are_400(mod_client: TestClient, ids: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {PLATFORM_KEY}"}
    for what, params in (
        ("events", {"after": 2**63}),
        ("events", {"after": "1e3"}),
        ("events", {"limit": 10**30}),
        ("customers", {"offset": 2**70}),
        ("accounts", {"limit": 2**64}),
    ):
        resp = mod_client.get(f"/v1/tenants/{TENANT}/{what}", params=params, headers=auth)
        assert resp.status_code == 400, (params, resp.text[:200])
        assert resp.json()["error"] == "VALIDATION_ERROR"
