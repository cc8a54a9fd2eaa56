"""Bad input at volume: >= 10,000 negative requests, zero 5xx, zero writes.

A seeded random mutator (not a catalogue: tests/mock_core/test_bad_input.py is
the catalogue) starts from five valid commands, one per command type, and
breaks each request in one to three ways, every one of which makes it invalid
on its own: a required field dropped, a value of the wrong JSON type, a string
past its limit or outside its pattern, an unknown enum value or field, a bad
UUID, date or timestamp, an amount with three decimals, zero, negative, huge or
not a number, too few or too many legs, unbalanced legs, another tenant's ids,
an underage customer, a reused email or idempotency key, a wrong content type,
malformed or non-object JSON, a body over 1 MiB, no key, an unknown key, a key
of another tenant, an unknown tenant, a wrong method. At most one mutation per
request touches the routing (path tenant, envelope tenant, key), so two of them
can never combine into a valid request for another tenant. Reads get bad query
parameters on every GET endpoint, other tenants' ids, unknown ids and bad keys.

The requests go to the mock in-process (httpx.AsyncClient over ASGITransport,
several in flight at once so the group commit is exercised). Then:

- zero 5xx, zero 2xx: every reply is a 4xx with the documented body, `Error`
  {error, message, details} with the code that belongs to the status, or
  `InvariantViolation` {commandId, error: INVARIANT_VIOLATION, invariant,
  message, details} with a documented invariant;
- zero writes: the tenants (lastSequence, lastHash), their products,
  customers, accounts and event streams read through the API are unchanged,
  the tenant aimed at by CreateTenant does not exist, and every table of the
  store (command_log included) has the same number of rows;
- the five base commands, sent unbroken afterwards, are accepted (so it was
  the mutations that made the requests invalid, and the mock still works).
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests import commands
from tests.commands import transfer_legs
from tests.faults.conftest import (
    API_KEYS,
    PLATFORM_KEY,
    REPO,
    SCOPED_KEY,
    SCOPED_TENANT,
    customer_payload,
    tenant_payload,
)
from tests.test_spec import SPEC

TENANT = "FAULT_FUZZ"
OTHER = SCOPED_TENANT  # the scoped key's tenant: reachable only with that key
NEW = "FAULT_NEW_TENANT"  # CreateTenant aims here; it must never come to exist
MIB = 1024 * 1024

# The documented replies (docs/contract.md), written out here rather than read from the mock.
ERROR_CODES_BY_STATUS = {
    400: {"MALFORMED_JSON", "VALIDATION_ERROR", "TENANT_MISMATCH"},
    401: {"UNAUTHENTICATED"},
    403: {"FORBIDDEN"},
    404: {"NOT_FOUND"},
    405: {"METHOD_NOT_ALLOWED"},
    409: {"COMMAND_IN_FLIGHT"},
    413: {"PAYLOAD_TOO_LARGE"},
    415: {"UNSUPPORTED_MEDIA_TYPE"},
}
# The 422 codes are the spec's own enum: documented means listed in the contract file.
INVARIANTS = frozenset(
    SPEC["components"]["schemas"]["InvariantViolation"]["properties"]["invariant"]["enum"]
)

TXN = {
    "productCode": "FUZZ_TXN",
    "name": "Fuzz transaction account",
    "productType": "DEPOSIT",
    "interest": {"rate": 0.0},
    "constraints": {"minBalance": 0, "overdraftLimit": 0},
}
CARD = {
    "productCode": "FUZZ_CARD",
    "name": "Fuzz card",
    "productType": "CREDIT_CARD",
    "interest": {"purchaseRate": 0.1299},
    "constraints": {"minAmount": 1000, "maxAmount": 25000},
}
# A card with no maxAmount: opened without a facilityLimit, it has no limit to take.
CARD_NO_MAX = {**CARD, "productCode": "FUZZ_CARD_NO_MAX", "constraints": {"minAmount": 1000}}
TERM = {
    "productCode": "FUZZ_TERM",
    "name": "Fuzz term deposit",
    "productType": "TERM_DEPOSIT",
    "interest": {"rate": 0.04},
    "constraints": {"minAmount": 500, "maxAmount": 5000, "termMonths": 12},
}


# ------------------------------------------------------------------ the ledger


@dataclass
class Ledger:
    """The ids the fuzz aims at: the target tenant's and another tenant's."""

    customers: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    other_customers: list[str] = field(default_factory=list)
    other_accounts: list[str] = field(default_factory=list)
    used_key: str = "fuzz:setup:entry"


def envelope(
    tenant: str, command_type: str, payload: Any, key: str | None = None
) -> dict[str, Any]:
    return commands.envelope(
        tenant, command_type, payload, actor_id="fuzz", actor_type="USER", key=key
    )


async def _ok(client: httpx.AsyncClient, tenant: str, kind: str, payload: Any, **kw: Any) -> Any:
    reply = await client.post(
        f"/v1/tenants/{tenant}/commands",
        content=json.dumps(envelope(tenant, kind, payload, **kw)),
        headers={"Authorization": f"Bearer {PLATFORM_KEY}", "Content-Type": "application/json"},
    )
    assert reply.status_code == 202, reply.text
    return reply.json()["result"]


async def set_up(client: httpx.AsyncClient) -> Ledger:
    ledger = Ledger()
    for tenant, customers, out_c, out_a in (
        (TENANT, 3, ledger.customers, ledger.accounts),
        (OTHER, 1, ledger.other_customers, ledger.other_accounts),
    ):
        await _ok(client, tenant, "CreateTenant", tenant_payload(tenant))
        for product in (TXN, CARD, CARD_NO_MAX, TERM):
            await _ok(client, tenant, "UpsertProduct", product)
        for n in range(customers):
            made = await _ok(client, tenant, "CreateCustomer", customer_payload(n, tenant[-4:]))
            out_c.append(made["customerId"])
            opened = await _ok(
                client,
                tenant,
                "OpenAccount",
                {
                    "customerId": made["customerId"],
                    "productCode": "FUZZ_TXN",
                    "currency": "AUD",
                    "initialDeposit": 100,
                },
            )
            out_a.append(opened["accountId"])
    await _ok(
        client,
        TENANT,
        "PostEntry",
        commands.entry_payload(transfer_legs(ledger.accounts[0], "GL_FEES", 1.5), "setup fee"),
        key=ledger.used_key,
    )
    return ledger


def base_payloads(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """A valid payload per command type (checked by sending them unbroken at the end)."""
    product = commands.full_product(
        "FUZZ_NEW_PRODUCT", "A product that must not come to exist", "bad input at volume"
    )
    product["fees"]["atmFee"] = 2.5
    salary = commands.entry_payload(
        transfer_legs("GL_SALARY_CLEARING", ledger.accounts[1], 10),
        "bad input at volume",
        **commands.entry_details(),
    )
    return {
        "CreateTenant": {**tenant_payload(NEW), **commands.CREDIT_UNION},
        "UpsertProduct": product,
        "CreateCustomer": {**customer_payload(777, "new"), **commands.customer_details()},
        "OpenAccount": {
            "customerId": ledger.customers[0],
            "productCode": "FUZZ_TXN",
            "currency": "AUD",
            **commands.account_details(),
        },
        "PostEntry": {**salary, "valueDate": "2025-01-16"},
    }


# ------------------------------------------------------------------ the mutator

# (path in the payload, kind, required, max length). Kinds: str, code (patterned),
# money (> 0), money0 (>= 0), rate, int, bool, obj, list, date, enum.
FIELDS: dict[str, list[tuple[tuple[Any, ...], str, bool, int]]] = {
    "CreateTenant": [
        (("tenantCode",), "code", True, 32),
        (("displayName",), "str", True, 200),
        (("region",), "code", True, 2),
        (("baseCurrency",), "code", True, 3),
        (("timeZone",), "str", True, 64),
        (("regulatoryJurisdiction",), "str", False, 100),
        (("businessType",), "str", False, 100),
    ],
    "UpsertProduct": [
        (("productCode",), "code", True, 50),
        (("name",), "str", True, 200),
        (("productType",), "enum", True, 0),
        (("category",), "str", False, 50),
        (("description",), "str", False, 500),
        (("active",), "bool", False, 0),
        (("interest",), "obj", True, 0),
        (("interest", "rate"), "rate", False, 0),
        (("interest", "calculationMethod"), "str", False, 50),
        (("interest", "bonusConditions"), "obj", False, 0),
        (("fees",), "obj", False, 0),
        (("fees", "atmFee"), "money0", False, 0),
        (("constraints",), "obj", False, 0),
        (("constraints", "minBalance"), "money0", False, 0),
        (("constraints", "maxBalance"), "money0", False, 0),
        (("constraints", "allowOverdraft"), "bool", False, 0),
        (("constraints", "overdraftLimit"), "money0", False, 0),
        (("constraints", "minAmount"), "money0", False, 0),
        (("constraints", "maxAmount"), "money0", False, 0),
        (("constraints", "termMonthsDefault"), "int", False, 0),
        (("constraints", "termMonthsOptions"), "list", False, 0),
        (("constraints", "minAge"), "int", False, 0),
        (("features",), "list", False, 0),
        (("creditCriteria",), "obj", False, 0),
    ],
    "CreateCustomer": [
        (("externalRef",), "str", False, 64),
        (("person",), "obj", True, 0),
        (("person", "firstName"), "str", True, 100),
        (("person", "lastName"), "str", True, 100),
        (("person", "dateOfBirth"), "date", True, 0),
        (("person", "email"), "code", True, 254),
        (("person", "mobile"), "code", True, 16),
        (("address",), "obj", True, 0),
        (("address", "line1"), "str", True, 200),
        (("address", "suburb"), "str", True, 100),
        (("address", "state"), "str", True, 50),
        (("address", "postcode"), "str", True, 16),
        (("address", "country"), "code", True, 2),
        (("employment",), "obj", False, 0),
        (("employment", "status"), "enum", True, 0),
        (("employment", "annualIncome"), "money0", False, 0),
        (("riskProfile",), "obj", False, 0),
        (("riskProfile", "segment"), "code", False, 50),
        (("riskProfile", "kycStatus"), "code", False, 50),
        (("riskProfile", "creditScore"), "int", False, 0),
    ],
    "OpenAccount": [
        (("customerId",), "str", True, 64),
        (("productCode",), "code", True, 50),
        (("currency",), "code", True, 3),
        (("accountAlias",), "str", False, 100),
        (("initialDeposit",), "money0", False, 0),
        (("accountPurpose",), "str", False, 100),
    ],
    "PostEntry": [
        (("bookingDate",), "date", True, 0),
        (("valueDate",), "date", True, 0),
        (("currency",), "code", True, 3),
        (("legs",), "list", True, 0),
        (("legs", 0, "accountId"), "str", True, 64),
        (("legs", 0, "direction"), "enum", True, 0),
        (("legs", 1, "amount"), "money", True, 0),
        (("narrative",), "str", True, 500),
        (("tags",), "obj", False, 0),
        (("metadata",), "obj", False, 0),
    ],
}
# Objects that refuse unknown properties (metadata, fees and creditCriteria take any).
STRICT_OBJECTS: dict[str, list[tuple[Any, ...]]] = {
    "CreateTenant": [()],
    "UpsertProduct": [(), ("interest",), ("constraints",)],
    "CreateCustomer": [(), ("person",), ("address",), ("employment",), ("riskProfile",)],
    "OpenAccount": [()],
    "PostEntry": [(), ("legs", 0)],
}
WRONG_TYPE: dict[str, list[Any]] = {
    "str": [123, 1.5, True, [], {}, ["x"], {"a": 1}],
    "code": [7, 2.0, False, ["AUD"], {"code": "AUD"}],
    "money": ["10.00", True, [], {}, "ten", [10]],
    "money0": ["0", True, [], {}, "1e3"],
    "rate": ["0.05", [], {}, "five"],
    "int": ["18", 18.5, [], {}, "eighteen"],
    "bool": ["true", "yes", 2, 1.5, [], {}],
    "obj": ["x", 5, [], True, [{"a": 1}]],
    "list": ["x", 5, {}, True, {"0": "x"}],
    "date": ["2025-02-30", "15/01/2025", "", "2025-1-5", 20250115, True, [], "2025-01-15T09:00:00"],
    "enum": ["debit", "UNKNOWN", "", 1, ["DEBIT"], "DEPOSIT "],
}
BAD_CODES = ["aud", "A U", "Ä", "", "1", "-", "AUD\n", "A" * 300, "a@b", "+0"]
BAD_MONEY = [0.001, 10.005, -5, -0.01, 1e12, 1.5e300, 100000000000.01, 10**30, -(10**20), 1e-7]
BAD_JSON_BODIES = [
    b"{",
    b'{"commandId": }',
    b"{'commandId': 'x'}",
    b'{"a": 1,}',
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b"\xff\xfe{}",
    b"\xef\xbb\xbf{}",
    b'{"a": "\xc3\x28"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a": 1} trailing',
    b"",
    b"   ",
    b"nul",
    b'{"a": "\\ud800"}',
]
NON_OBJECT_BODIES = [b"[]", b"[{}]", b'"PostEntry"', b"42", b"null", b"true", b"1e400"]


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None  # a JSON value, serialised on send
    raw: bytes | None = None  # bytes sent as they are (instead of `body`)
    labels: list[str] = field(default_factory=list)


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        in_dict = isinstance(obj, dict) and part in obj
        in_list = isinstance(obj, list) and isinstance(part, int) and part < len(obj)
        if not (in_dict or in_list):
            return None
        obj = obj[part]
    return obj


def _set(obj: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> bool:
    parent = _get(obj, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        if delete:
            if last not in parent:
                return False
            del parent[last]
        else:
            parent[last] = value
        return True
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        if delete:
            del parent[last]
        else:
            parent[last] = value
        return True
    return False


class Mutator:
    """Breaks valid commands, and makes bad reads; seeded, so a run can be repeated."""

    def __init__(self, rng: random.Random, ledger: Ledger) -> None:
        self.rng = rng
        self.ledger = ledger
        self.bases = base_payloads(ledger)
        self.gets = [
            f"/v1/tenants/{TENANT}",
            f"/v1/tenants/{TENANT}/products",
            f"/v1/tenants/{TENANT}/customers",
            f"/v1/tenants/{TENANT}/customers/{ledger.customers[0]}",
            f"/v1/tenants/{TENANT}/accounts",
            f"/v1/tenants/{TENANT}/accounts/{ledger.accounts[0]}",
            f"/v1/tenants/{TENANT}/accounts/{ledger.accounts[0]}/events",
            f"/v1/tenants/{TENANT}/events",
        ]

    # -------------------------------------------------------------- commands

    def command(self) -> Req:
        rng = self.rng
        kind = rng.choice(list(self.bases))
        tenant = NEW if kind == "CreateTenant" else TENANT
        env = envelope(tenant, kind, copy.deepcopy(self.bases[kind]), f"fuzz:{uuid.uuid4()}")
        req = Req(
            "POST",
            f"/v1/tenants/{tenant}/commands",
            {"Authorization": f"Bearer {PLATFORM_KEY}", "Content-Type": "application/json"},
            env,
            labels=[kind],
        )
        # One routing / transport mutation at most, then 0-2 content mutations (at least one
        # mutation in all). Each one alone makes the request invalid.
        routing = rng.random() < 0.3
        if routing:
            self._routing(req, kind)
        for _ in range(rng.randint(0 if routing else 1, 2)):
            self._content(req, kind)
        return req

    def _routing(self, req: Req, kind: str) -> None:
        rng = self.rng
        env = req.body
        choice = rng.randrange(13)
        if choice == 0:
            req.headers.pop("Authorization")
            req.labels.append("no-key")
        elif choice == 1:
            req.headers["Authorization"] = rng.choice(
                ["Bearer nope-nope-nope", "Basic Zm9vOmJhcg==", "Bearer ", "bearer", "Token x"]
            )
            req.labels.append("bad-key")
        elif choice == 2:
            req.headers["Authorization"] = f"Bearer {SCOPED_KEY}"  # scope: OTHER only
            req.labels.append("key-of-another-tenant")
        elif choice == 3:
            req.headers["Content-Type"] = rng.choice(
                [
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x",
                    "application/xml",
                    "",
                    "json",
                ]
            )
            req.labels.append("content-type")
        elif choice == 4:
            req.raw = rng.choice(BAD_JSON_BODIES)
            req.labels.append("bad-json")
        elif choice == 5:
            req.raw = rng.choice(NON_OBJECT_BODIES)
            req.labels.append("not-an-object")
        elif choice == 6 and rng.random() < 0.05:
            req.raw = b'{"pad": "' + b"x" * (MIB + rng.randint(1, 4096)) + b'"}'
            req.labels.append("over-1MiB")
        elif choice == 7 and kind != "CreateTenant":
            ghost = rng.choice(["FAULT_NOPE", "ZZ", "NO_SUCH_TENANT_AT_ALL"])
            env["tenantId"] = ghost
            req.path = f"/v1/tenants/{ghost}/commands"
            req.labels.append("unknown-tenant")
        elif choice == 8:
            req.path = f"/v1/tenants/{OTHER}/commands"  # envelope says another tenant
            req.labels.append("path-of-another-tenant")
        elif choice == 9:
            env["tenantId"] = rng.choice([OTHER, TENANT.lower(), "", 5, None, TENANT + "_"])
            if kind == "CreateTenant" and env["tenantId"] == OTHER:
                env["tenantId"] = "X" + OTHER
            req.labels.append("envelope-tenant-mismatch")
        elif choice == 10:
            req.method = rng.choice(["PUT", "PATCH", "DELETE", "GET"])
            req.labels.append("wrong-method")
        elif choice == 11:
            req.headers["X-Correlation-Id"] = "c" * rng.randint(129, 400)
            req.labels.append("correlation-id-too-long")
        else:
            weird = rng.choice(["%00", "a" * 201, "..", "%2F", "T%00X"])
            req.path = f"/v1/tenants/{weird}/commands"
            req.labels.append("bad-path-tenant")

    def _content(self, req: Req, kind: str) -> None:
        rng = self.rng
        env = req.body
        payload = env.get("payload") if isinstance(env, dict) else None
        choice = rng.randrange(14)
        if choice >= 12:
            choice = 7  # rule-level changes (422s) three times as often as the others
        if choice == 0:
            env.pop(
                rng.choice(
                    ["commandId", "tenantId", "commandType", "actor", "timestamp", "payload"]
                ),
                None,
            )
            req.labels.append("envelope-missing")
        elif choice == 1:
            name = rng.choice(["extra", "commandID", "tenant", "Payload", "metadata", "hash"])
            env[name] = rng.choice([1, "x", None, {}, []])
            req.labels.append("envelope-extra")
        elif choice == 2:
            envelope_bad: list[tuple[str, list[Any]]] = [
                ("commandId", ["not-a-uuid", "", 42, None, str(uuid.uuid4()) + "0", "{}"]),
                ("commandType", ["postentry", "DeleteAccount", "", 5, None, ["PostEntry"]]),
                ("actor", ["SYSTEM", None, [], {"actorType": "ROBOT", "actorId": "x"}]),
                ("actor", [{"actorType": "SYSTEM", "actorId": ""}, {"actorType": "SYSTEM"}]),
                ("actor", [{"actorType": "SYSTEM", "actorId": "a" * 129}]),
                ("actor", [{"actorType": "SYSTEM", "actorId": "x", "role": "admin"}]),
                ("timestamp", ["2025-01-15T09:00:00", "yesterday", "2025-13-01T00:00:00Z"]),
                ("timestamp", [1736900000, "", None, "2025-01-15 09:00", "2025-01-15"]),
                ("idempotencyKey", ["", "k" * 201, 5, ["k"], {}]),
                ("payload", [[], "x", None, 7, True]),
            ]
            field_, values = rng.choice(envelope_bad)
            env[field_] = rng.choice(values)
            req.labels.append(f"envelope-{field_}")
        elif choice == 3 and isinstance(payload, dict):
            path, *_ = rng.choice([f for f in FIELDS[kind] if f[2]])
            if _get(payload, path[:-1]) is not None:
                _set(payload, path, None, delete=True)
                if isinstance(path[-1], int):  # a leg removed: the entry has one leg left
                    req.labels.append("leg-removed")
                else:
                    req.labels.append("payload-missing")
            else:
                env["payload"] = None
                req.labels.append("payload-null")
        elif choice == 4 and isinstance(payload, dict):
            path, ftype, required, _ = rng.choice(FIELDS[kind])
            values = WRONG_TYPE[ftype] + ([None] if required else [])
            _set(payload, path, rng.choice(values)) or env.update(payload=[])
            req.labels.append(f"wrong-type-{ftype}")
        elif choice == 5 and isinstance(payload, dict):
            strs = [f for f in FIELDS[kind] if f[1] in ("str", "code")]
            path, ftype, _, limit = rng.choice(strs)
            value = rng.choice(["", "x" * (limit + rng.randint(1, 300))])
            if ftype == "code" and rng.random() < 0.5:
                value = rng.choice(BAD_CODES)
            _set(payload, path, value) or env.update(payload=[])
            req.labels.append(f"string-{ftype}")
        elif choice == 6 and isinstance(payload, dict):
            spot = rng.choice(STRICT_OBJECTS[kind])
            target = _get(payload, spot)
            if isinstance(target, dict):
                target[rng.choice(["unknown", "Extra", "_id", "hash", "balance"])] = 1
            else:
                env["payload"] = "x"
            req.labels.append("payload-extra-field")
        elif choice == 7 and isinstance(payload, dict) and "semantic" not in req.labels:
            # One rule-level change per request: two of them could cancel out (a card
            # with a facility out of range, then given one in range).
            req.labels.append("semantic")
            try:
                self._semantic(req, kind, payload)
            except (KeyError, TypeError, IndexError, AttributeError, ValueError):
                # An earlier mutation took away what this one changes: break it plainly.
                env["payload"] = []
                req.labels.append("payload-list")
        elif choice == 8 and isinstance(payload, dict):
            moneys = [f for f in FIELDS[kind] if f[1] in ("money", "money0")]
            if moneys:
                path, ftype, *_ = rng.choice(moneys)
                bad = [m for m in BAD_MONEY if ftype == "money" or m != 0]
                _set(payload, path, rng.choice(bad)) or env.update(payload=[])
                req.labels.append("bad-amount")
            else:
                env["payload"] = 3.14
                req.labels.append("payload-number")
        elif choice == 9 and isinstance(payload, dict):
            enums = [f for f in FIELDS[kind] if f[1] == "enum"]
            if enums:
                path, *_ = rng.choice(enums)
                _set(payload, path, rng.choice(["debit", "SAVINGS", "EMPLOYED", "", "NONE"]))
                req.labels.append("bad-enum")
            else:
                env["commandType"] = "Nope"
                req.labels.append("bad-command-type")
        elif choice == 10:
            # The payload of another command type under this type's name.
            other = rng.choice([k for k in self.bases if k != kind])
            env["payload"] = copy.deepcopy(self.bases[other])
            req.labels.append("payload-of-another-type")
        else:
            # The key of the setup's fee entry in TENANT, for another command. Keys are
            # per tenant, so a CreateTenant (of another tenant) moves to TENANT's path.
            env["idempotencyKey"] = self.ledger.used_key
            if kind == "PostEntry" and isinstance(payload, dict):
                payload["narrative"] = "not the setup fee"
            if kind == "CreateTenant":
                req.path = f"/v1/tenants/{TENANT}/commands"
                env["tenantId"] = TENANT
                if isinstance(payload, dict):
                    payload["tenantCode"] = TENANT
            req.labels.append("idempotency-key-reused")

    def _semantic(self, req: Req, kind: str, payload: dict[str, Any]) -> None:
        """Well-formed but refused by a rule (422) or by a limit of a list (400)."""
        rng = self.rng
        led = self.ledger
        if kind == "PostEntry":
            legs = payload["legs"]
            choice = rng.randrange(10)
            if choice == 0:
                legs[1]["amount"] = 10.01
                label = "unbalanced"
            elif choice == 1:
                legs[1]["accountId"] = rng.choice(led.other_accounts)
                label = "account-of-another-tenant"
            elif choice == 2:
                legs[1]["accountId"] = rng.choice(["ACC-NOPE", str(uuid.uuid4()), "GL_NOPE"])
                label = "unknown-account"
            elif choice == 3:
                payload["valueDate"] = "2025-01-14"
                label = "value-before-booking"
            elif choice == 4:
                legs[0]["currency"] = "NZD"
                label = "leg-currency"
            elif choice == 5:
                payload["currency"] = rng.choice(["NZD", "XXX", "JPY"])
                label = "entry-currency"
            elif choice == 6:
                payload["legs"] = [
                    {"accountId": rng.choice(led.accounts), "direction": "CREDIT", "amount": 1e6},
                    {"accountId": "GL_SUSPENSE", "direction": "DEBIT", "amount": 1e6},
                ]
                label = "overdraft"
            elif choice == 7:
                payload["legs"] = [dict(legs[0]) for _ in range(rng.choice([0, 1, 101, 150]))]
                label = "leg-count"
            elif choice == 8:
                payload["tags"] = rng.choice(
                    [
                        {f"t{n}": "x" for n in range(21)},
                        ["salary"],  # the old shape
                        {"category": 5},
                        {"category": None},
                        {"1st": "x"},
                        {"category": ""},
                    ]
                )
                label = "bad-tags"
            else:
                payload["metadata"] = rng.choice(
                    [
                        {f"k{n}": "v" for n in range(21)},
                        {"k": "v" * 257},
                        {"k": None},
                        {"k": [1]},
                        {"k": {"a": 1}},
                        {"k": 10**30},
                        {"": "v"},
                    ]
                )
                label = "bad-metadata"
        elif kind == "OpenAccount":
            choice = rng.randrange(9)
            label = [
                "customer-of-another-tenant",
                "unknown-customer",
                "unknown-product",
                "foreign-currency",
                "facility-on-deposit",
                "card-without-facility-or-max-amount",
                "card-facility-out-of-range",
                "term-deposit-below-min-amount",
                "term-deposit-above-max-amount",
            ][choice]
            if choice == 0:
                payload["customerId"] = rng.choice(led.other_customers)
            elif choice == 1:
                payload["customerId"] = "CUS-NOPE"
            elif choice == 2:
                payload["productCode"] = "NO_SUCH_PRODUCT"
            elif choice == 3:
                payload["currency"] = "NZD"
            elif choice == 4:
                payload["facilityLimit"] = 5000
            elif choice == 5:
                payload.update(productCode="FUZZ_CARD_NO_MAX")
                payload.pop("initialDeposit")
            elif choice == 6:
                payload.update(productCode="FUZZ_CARD", facilityLimit=rng.choice([999, 25000.01]))
                payload.pop("initialDeposit")
            elif choice == 7:
                payload.update(productCode="FUZZ_TERM", initialDeposit=rng.choice([10, 499.99]))
            else:
                payload.update(productCode="FUZZ_TERM", initialDeposit=rng.choice([5000.01, 9999]))
        elif kind == "CreateCustomer":
            choice = rng.randrange(6)
            person = payload["person"]
            label = ["underage", "email-taken", "mobile-taken", "ref-taken", "bad-email", "dob"][
                choice
            ]
            taken = customer_payload(rng.randrange(3), TENANT[-4:])
            if choice == 0:
                person["dateOfBirth"] = rng.choice(["2007-01-16", "2024-06-01", "2030-01-01"])
            elif choice == 1:
                person["email"] = rng.choice(
                    [taken["person"]["email"], taken["person"]["email"].upper()]
                )
            elif choice == 2:
                person["mobile"] = taken["person"]["mobile"]
            elif choice == 3:
                payload["externalRef"] = taken["externalRef"]
            elif choice == 4:
                person["email"] = rng.choice(
                    ["no-at-sign", "a@b", "@x.com", "a b@c.de", "a@b@c.de"]
                )
            else:
                person["dateOfBirth"] = rng.choice(["1990-02-30", "1990-13-01", "0000-01-01"])
        elif kind == "UpsertProduct":
            choice = rng.randrange(10)
            label = [
                "negative-rate",
                "min-over-max",
                "fees-21",
                "features-51",
                "age",
                "term",
                "overdraft-limit-without-allow-overdraft",
                "term-default-not-offered",
                "bad-term-options",
                "removed-constraint",
            ][choice]
            constraints = payload["constraints"]
            if choice == 0:
                payload["interest"]["rate"] = rng.choice([-0.01, -1])
            elif choice == 1:
                low, high = rng.choice([("minBalance", "maxBalance"), ("minAmount", "maxAmount")])
                constraints.update({low: 2000, high: rng.choice([1000, 2000])})
            elif choice == 2:
                payload["fees"] = {f"fee{n}": 1 for n in range(21)}
            elif choice == 3:
                payload["features"] = [f"F{n}" for n in range(51)]
            elif choice == 4:
                payload["constraints"]["minAge"] = rng.choice([-1, 151, 1000])
            elif choice == 5:
                constraints["termMonths"] = rng.choice([0, 601])
            elif choice == 6:
                constraints.update(overdraftLimit=rng.choice([0.01, 500]))
                if rng.random() < 0.5:
                    constraints.pop("allowOverdraft")
            elif choice == 7:
                constraints["termMonthsDefault"] = rng.choice([1, 24, 600])
            elif choice == 8:
                constraints["termMonthsOptions"] = rng.choice([[], [12, 12], [0, 12], [601]])
            else:
                constraints[rng.choice(["minOpeningBalance", "minFacilityLimit", "minBalanse"])] = (
                    100
                )
        else:  # CreateTenant
            choice = rng.randrange(5)
            label = ["scoped-key", "code-differs", "exists", "time-zone", "currency"][choice]
            if choice == 0:
                req.headers["Authorization"] = f"Bearer {SCOPED_KEY}"
            elif choice == 1:
                payload["tenantCode"] = "FAULT_OTHER_CODE"
            elif choice == 2:  # a valid CreateTenant for a tenant that exists
                req.path = f"/v1/tenants/{TENANT}/commands"
                req.body["tenantId"] = TENANT
                payload["tenantCode"] = TENANT
            elif choice == 3:
                payload["timeZone"] = rng.choice(["Mars/Olympus", "UTC+25", "Australia/Nowhere"])
            else:
                payload["baseCurrency"] = rng.choice(["XXX", "ABC", "BTC"])
        req.labels.append(label)

    # ----------------------------------------------------------------- reads

    def read(self) -> Req:
        rng = self.rng
        led = self.ledger
        path = rng.choice(self.gets)
        req = Req("GET", path, {"Authorization": f"Bearer {PLATFORM_KEY}"}, labels=["GET"])
        choice = rng.randrange(8)
        if choice <= 2:
            path, params = self._bad_params()
            req.path = path + "?" + "&".join(f"{k}={v}" for k, v in params)
            req.labels.append("bad-query")
        elif choice == 3:
            other = rng.choice(
                [
                    f"/v1/tenants/{TENANT}/customers/{rng.choice(led.other_customers)}",
                    f"/v1/tenants/{TENANT}/accounts/{rng.choice(led.other_accounts)}",
                    f"/v1/tenants/{TENANT}/accounts/{rng.choice(led.other_accounts)}/events",
                    f"/v1/tenants/{TENANT}/customers/CUS-NOPE",
                    f"/v1/tenants/{TENANT}/accounts/{uuid.uuid4()}",
                    f"/v1/tenants/{TENANT}/accounts/ACC-NOPE/events",
                    f"/v1/tenants/{TENANT}/accounts/{'a' * 201}",
                    f"/v1/tenants/{TENANT}/customers/%00",
                ]
            )
            req.path = other
            req.labels.append("other-or-unknown-id")
        elif choice == 4:
            req.path = path.replace(TENANT, rng.choice(["NO_SUCH", "fault_fuzz", "X" * 40]), 1)
            req.labels.append("unknown-tenant")
        elif choice == 5:
            auth = rng.choice([None, "Bearer wrong-key-123", f"Bearer {SCOPED_KEY}", "Basic x"])
            if auth is None:
                req.headers.pop("Authorization")
            else:
                req.headers["Authorization"] = auth
            req.labels.append("bad-key")
        elif choice == 6:
            req.method = rng.choice(["POST", "PUT", "DELETE", "PATCH"])
            req.headers["Content-Type"] = "application/json"
            req.body = {}
            req.labels.append("wrong-method")
        else:
            req.path = rng.choice(
                [
                    f"/v1/tenants/{TENANT}/ledger",
                    "/v1/tenant",
                    f"/v2/tenants/{TENANT}",
                    f"/v1/tenants/{TENANT}/accounts/{led.accounts[0]}/balance",
                    "/v1/",
                ]
            )
            req.labels.append("unknown-path")
        return req

    def _bad_params(self) -> tuple[str, list[tuple[str, str]]]:
        """An endpoint that takes query parameters, and one bad value for one of them."""
        rng = self.rng
        account = self.ledger.accounts[0]
        limit = ["0", "1001", "-1", "abc", "1.5", "", "1e3", "99999999999999999999", "%00"]
        offset = ["-1", "x", str(10**9 + 1), "1.5", "%00", ""]
        after = ["-1", "x", str(2**62 + 1), str(2**64), "1.5", ""]
        path, options = rng.choice(
            [
                (f"/v1/tenants/{TENANT}/customers", {"limit": limit, "offset": offset}),
                (
                    f"/v1/tenants/{TENANT}/accounts",
                    {
                        "limit": limit,
                        "offset": offset,
                        "accountType": ["SAVINGS", "gl", "", "CUSTOMER,GL", "all", "Both"],
                        "customerId": ["", "c" * 65],
                    },
                ),
                (
                    f"/v1/tenants/{TENANT}/accounts/{account}/events",
                    {"limit": limit, "offset": offset, "after": after},
                ),
                (
                    f"/v1/tenants/{TENANT}/events",
                    {
                        "limit": limit,
                        "after": after,
                        "eventType": ["Nope", "entryposted", "", "EntryPosted,FundsPosted"],
                        "entityId": ["", "e" * 65],
                    },
                ),
            ]
        )
        name = rng.choice(list(options))
        good = {"limit": "10", "offset": "0", "after": "0"}
        params = [(k, v) for k, v in good.items() if k in options and k != name]
        if rng.random() < 0.2:
            # A parameter the query does not define (a typo, another query's, made up).
            unknown = ["limt", "Limit", "sort", "page", "accountTyp", "eventType", "offset"]
            params.append((rng.choice([u for u in unknown if u not in options]), "1"))
        else:
            params.append((name, rng.choice(options[name])))
        rng.shuffle(params)
        return path, params

    def requests(self, count: int, reads_share: float = 0.15) -> Iterator[Req]:
        for _ in range(count):
            yield self.read() if self.rng.random() < reads_share else self.command()


# ------------------------------------------------------------------ the checks


def shape_problem(status: int, content_type: str, content: bytes) -> str | None:
    """None when the reply is a documented 4xx; else what is wrong with it."""
    if not 400 <= status < 500:
        return f"status {status}"
    if not content_type.startswith("application/json"):
        return f"content type {content_type!r}"
    try:
        body = json.loads(content)
    except ValueError:
        return "body is not JSON"
    if not isinstance(body, dict):
        return "body is not an object"
    if status == 422:
        if set(body) != {"commandId", "error", "invariant", "message", "details"}:
            return f"422 keys {sorted(body)}"
        if body["error"] != "INVARIANT_VIOLATION" or body["invariant"] not in INVARIANTS:
            return f"422 {body['error']} {body['invariant']}"
        if not isinstance(body["details"], dict) or not isinstance(body["message"], str):
            return "422 details/message"
        return None
    if set(body) != {"error", "message", "details"}:
        return f"{status} keys {sorted(body)}"
    if body["error"] not in ERROR_CODES_BY_STATUS.get(status, set()):
        return f"{status} with error {body['error']}"
    if not isinstance(body["message"], str) or not isinstance(body["details"], dict):
        return f"{status} message/details"
    if body["error"] == "VALIDATION_ERROR" and "errors" in body["details"]:
        errors = body["details"]["errors"]
        if not isinstance(errors, list) or not all(
            isinstance(e, dict) and {"loc", "msg", "type"} <= set(e) for e in errors
        ):
            return "VALIDATION_ERROR details.errors"
    return None


async def api_snapshot(client: httpx.AsyncClient) -> dict[str, Any]:
    """Everything a platform key can read about the tenants involved."""
    hdrs = {"Authorization": f"Bearer {PLATFORM_KEY}"}

    async def get(path: str, **params: Any) -> Any:
        reply = await client.get(path, params=params, headers=hdrs)
        assert reply.status_code == 200, f"{path}: {reply.status_code} {reply.text[:200]}"
        return reply.json()

    snap: dict[str, Any] = {}
    for tenant in (TENANT, OTHER):
        base = f"/v1/tenants/{tenant}"
        events: list[Any] = []
        after = 0
        while True:
            page = await get(f"{base}/events", after=after, limit=1000)
            events.extend(page["events"])
            if page["nextCursor"] is None:
                break
            after = page["nextCursor"]
        snap[tenant] = {
            "tenant": await get(base),
            "products": await get(f"{base}/products"),
            "customers": await get(f"{base}/customers", limit=1000),
            "accounts": await get(f"{base}/accounts", limit=1000, accountType="ALL"),
            "events": events,
        }
    missing = await client.get(f"/v1/tenants/{NEW}", headers=hdrs)
    snap["new_tenant_status"] = missing.status_code
    return snap


def row_counts(db: Path) -> dict[str, int]:
    """Rows per table, read straight from the SQLite file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


def run_fuzz(
    workdir: Path,
    *,
    requests: int,
    seed: int,
    concurrency: int = 8,
    app_factory: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Send `requests` bad requests to an in-process mock; check; report."""
    from mock_core.api.app import create_app
    from mock_core.settings import Settings

    db = workdir / "fuzz.db"
    url = f"sqlite:///{db}"
    app = (
        app_factory(url)
        if app_factory
        else create_app(Settings(database_url=url, api_keys=API_KEYS, access_log=False))
    )
    return asyncio.run(_fuzz(app, db, requests, seed, concurrency))


async def _fuzz(app: Any, db: Path, count: int, seed: int, concurrency: int) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock", timeout=60) as client:
        ledger = await set_up(client)
        before = await api_snapshot(client)
        rows_before = row_counts(db)
        mutator = Mutator(random.Random(seed), ledger)
        source = mutator.requests(count)
        statuses: Counter[int] = Counter()
        codes: Counter[str] = Counter()
        labels: Counter[str] = Counter()
        problems: list[str] = []
        accepted: list[str] = []  # the 2xx replies: each is a bad request let through
        sent = 0

        async def worker() -> None:
            nonlocal sent
            for req in source:  # a shared iterator: each request is taken once
                content = (
                    req.raw
                    if req.raw is not None
                    else (json.dumps(req.body).encode() if req.body is not None else None)
                )
                try:
                    reply = await client.request(
                        req.method, req.path, content=content, headers=req.headers
                    )
                    status, ctype, data = (
                        reply.status_code,
                        reply.headers.get("content-type", ""),
                        reply.content,
                    )
                except Exception as exc:  # an exception out of the app is a 500 on a server
                    status, ctype, data = 599, "", repr(exc).encode()
                sent += 1
                statuses[status] += 1
                labels.update(req.labels)
                problem = shape_problem(status, ctype, data)
                if 200 <= status < 300:
                    sample = req.raw[:80] if req.raw is not None else json.dumps(req.body)[:900]
                    accepted.append(f"{req.method} {req.path[:120]} {req.labels} {sample!r}")
                if problem is None:
                    body = json.loads(data)
                    codes[body.get("invariant") or body["error"]] += 1
                elif len(problems) < 30:
                    sample = req.raw[:80] if req.raw is not None else json.dumps(req.body)[:600]
                    problems.append(
                        f"{problem}: {req.method} {req.path[:120]} {req.labels} "
                        f"{sample!r} -> {data[:300]!r}"
                    )
                else:
                    problems.append("...")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        after = await api_snapshot(client)
        rows_after = row_counts(db)
        failures = [p for p in problems if p != "..."]
        bad_total = sum(1 for p in problems) if problems else 0
        if bad_total:
            failures.insert(0, f"{bad_total} replies outside the documented 4xx shapes")
        failures[1:1] = [f"accepted: {a}" for a in accepted[:10]]
        for tenant in (TENANT, OTHER):
            for part in ("tenant", "products", "customers", "accounts", "events"):
                if before[tenant][part] != after[tenant][part]:
                    failures.append(f"{tenant} {part} changed")
        if after["new_tenant_status"] != 404:
            failures.append(f"{NEW} answered {after['new_tenant_status']}: it was created")
        if rows_before != rows_after:
            changed = {
                t: (rows_before.get(t), rows_after.get(t))
                for t in set(rows_before) | set(rows_after)
                if rows_before.get(t) != rows_after.get(t)
            }
            failures.append(f"rows changed: {changed}")
        # The bases, unbroken, are accepted: the mutations were what made them invalid.
        for kind, payload in base_payloads(ledger).items():
            tenant = NEW if kind == "CreateTenant" else TENANT
            reply = await client.post(
                f"/v1/tenants/{tenant}/commands",
                content=json.dumps(envelope(tenant, kind, payload)),
                headers={
                    "Authorization": f"Bearer {PLATFORM_KEY}",
                    "Content-Type": "application/json",
                },
            )
            if reply.status_code != 202:
                failures.append(f"base {kind}: {reply.status_code} {reply.text[:200]}")
    return {
        "requests": sent,
        "wall_s": round(wall, 2),
        "requests_per_s": round(sent / wall, 1),
        "concurrency": concurrency,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "codes": dict(codes.most_common()),
        "mutations": dict(labels.most_common()),
        "events_before": len(before[TENANT]["events"]),
        "rows": rows_after,
        "failures": failures[:40],
    }


def test_ten_thousand_bad_requests_no_5xx_no_writes(tmp_path: Path) -> None:
    report = run_fuzz(tmp_path, requests=10_000, seed=6)
    print({k: v for k, v in report.items() if k not in ("mutations", "codes")})
    print("codes:", report["codes"])
    assert report["requests"] == 10_000
    assert len(report["codes"]) >= 25  # the mutations reach deep: many distinct refusals
    assert report["failures"] == [], "\n".join(report["failures"])


# ------------------------------------------------- null: the field left out


def _spec_schemas() -> dict[str, Any]:
    import yaml

    spec = yaml.safe_load((REPO / "openapi" / "turingcore.v1.yaml").read_text())
    return dict(spec["components"]["schemas"])


def _resolve(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _object_schema(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema of `schema`, through $ref and a nullable oneOf/anyOf."""
    schema = _resolve(schemas, schema)
    for key in ("oneOf", "anyOf"):
        for option in schema.get(key, ()):
            option = _resolve(schemas, option)
            if "properties" in option or "items" in option:
                return option
    return schema


def field_paths(
    schemas: dict[str, Any], schema: dict[str, Any], value: Any
) -> list[tuple[tuple[Any, ...], bool]]:
    """(path, required) of every property the spec names, within `value` (the objects
    `value` holds are walked into; a list through its first item)."""
    schema = _object_schema(schemas, schema)
    out: list[tuple[tuple[Any, ...], bool]] = []
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        out.append(((name,), name in required))
        child = value.get(name) if isinstance(value, dict) else None
        resolved = _object_schema(schemas, sub)
        if isinstance(child, dict) and "properties" in resolved:
            out += [((name, *p), r) for p, r in field_paths(schemas, resolved, child)]
        elif isinstance(child, list) and child and "items" in resolved:
            item = _object_schema(schemas, resolved["items"])
            out += [((name, 0, *p), r) for p, r in field_paths(schemas, item, child[0])]
    return out


# Free-form maps: their values are not fields, and a null there is refused.
MAP_NULLS: dict[str, list[tuple[Any, ...]]] = {
    "UpsertProduct": [
        ("fees", "atmFee"),
        ("creditCriteria", "minIncome"),
        ("interest", "bonusConditions", "minMonthlyDeposit"),
    ],
    "PostEntry": [("tags", "category"), ("metadata", "employer"), ("legs", 0)],
}


def _unique(kind: str, payload: dict[str, Any], n: int) -> tuple[str, dict[str, Any]]:
    """A copy of a base payload that can be written once more: (its tenant, the payload)."""
    payload = copy.deepcopy(payload)
    tenant = TENANT
    if kind == "CreateTenant":
        tenant = payload["tenantCode"] = f"NULLS_{n:03d}"
    elif kind == "CreateCustomer":
        fresh = customer_payload(500 + n, "nulls")
        payload["externalRef"] = fresh["externalRef"]
        payload["person"].update(email=fresh["person"]["email"], mobile=fresh["person"]["mobile"])
    return tenant, payload


def test_null_is_the_field_left_out_and_a_required_null_is_refused(tmp_path: Path) -> None:
    """docs/design: an explicit null in any optional field (envelope or payload, at any
    depth) is the field absent: the command is accepted and is the very command without
    the field, so under one idempotency key one is a replay of the other, byte for byte.
    A null in a required field is that field missing (a 400 naming it), and a null value
    in a free-form map (fees, tags, metadata, ...) is refused; neither writes anything.
    The fields, and which are required, are read from openapi/."""
    from mock_core.api.app import create_app
    from mock_core.settings import Settings

    db = tmp_path / "nulls.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", api_keys=API_KEYS, access_log=False))
    schemas = _spec_schemas()
    hdrs = {"Authorization": f"Bearer {PLATFORM_KEY}", "Content-Type": "application/json"}

    async def go() -> tuple[list[str], Counter[str]]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            ledger = await set_up(client)
            wrong: list[str] = []
            seen: Counter[str] = Counter()
            n = 0

            async def send(tenant: str, body: Any) -> httpx.Response:
                return await client.post(
                    f"/v1/tenants/{tenant}/commands", content=json.dumps(body), headers=hdrs
                )

            for kind, base in base_payloads(ledger).items():
                env = envelope(TENANT, kind, base, key="k")
                command_schema = {"$ref": f"#/components/schemas/{kind}Command"}
                paths = field_paths(schemas, command_schema, env)
                for path, required in paths:
                    name = f"{kind} {'.'.join(map(str, path))}=null"
                    n += 1
                    tenant, payload = _unique(kind, base, n)
                    with_null = envelope(tenant, kind, payload, key=f"nulls:{n}")
                    _set(with_null, path, None)
                    if required:
                        rows = row_counts(db)
                        reply = await send(tenant, with_null)
                        errors = reply.json().get("details", {}).get("errors", [])
                        if reply.status_code != 400 or not any(
                            e["type"] == "missing" and tuple(e["loc"]) == path for e in errors
                        ):
                            wrong.append(f"{name}: {reply.status_code} {reply.text[:200]}")
                        if row_counts(db) != rows:
                            wrong.append(f"{name}: written")
                        seen["required"] += 1
                        continue
                    without = copy.deepcopy(with_null)
                    without["commandId"] = str(uuid.uuid4())
                    _set(without, path, None, delete=True)
                    if path == ("idempotencyKey",):
                        without = with_null  # no key: the commandId is the key
                    first = await send(tenant, with_null)
                    if first.status_code != 202:
                        wrong.append(f"{name}: {first.status_code} {first.text[:200]}")
                        continue
                    rows = row_counts(db)
                    again = await send(tenant, without)
                    if not (
                        again.status_code == 202
                        and again.headers.get("Idempotent-Replayed") == "true"
                        and again.content == first.content
                    ):
                        wrong.append(
                            f"{name}: the command without it was not a replay: "
                            f"{again.status_code} {again.text[:200]}"
                        )
                    if row_counts(db) != rows:
                        wrong.append(f"{name}: the replay wrote")
                    seen["optional"] += 1
                for path in MAP_NULLS.get(kind, []):
                    name = f"{kind} {'.'.join(map(str, path))}=null (a map value)"
                    n += 1
                    tenant, payload = _unique(kind, base, n)
                    body = envelope(tenant, kind, payload, key=f"nulls:{n}")
                    assert _set(body["payload"], path, None), name
                    rows = row_counts(db)
                    reply = await send(tenant, body)
                    if reply.status_code != 400:
                        wrong.append(f"{name}: {reply.status_code} {reply.text[:200]}")
                    if row_counts(db) != rows:
                        wrong.append(f"{name}: written")
                    seen["map"] += 1
            return wrong, seen

    wrong, seen = asyncio.run(go())
    assert wrong == [], f"{len(wrong)} cases:\n" + "\n".join(wrong)
    # The spec names many optional fields (every block of the bases) and the required ones.
    assert seen["optional"] >= 40 and seen["required"] >= 30 and seen["map"] == 6, seen
