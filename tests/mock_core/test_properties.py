"""Property test: random PostEntry sequences through the API against a reference model.

The model below is written from docs/contract.md, not from mock_core's core, so
the two can disagree. After every step the service must agree with it on the
reply (status and invariant), every balance, the tenant's zero sum, the event
sequence and the hash chain (recomputed here with hashlib and rfc8785).
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import rfc8785
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mock_core.store import hashchain
from tests.mock_core.conftest import CARD, PLATFORM_KEY, SAVINGS, TXN_BASIC, Api

GLS = ["GL_SALARY_CLEARING", "GL_CARD_CLEARING", "GL_NPP_CLEARING"]
_tenants = itertools.count(1)


@dataclass
class ModelAccount:
    balance: int  # minor units
    low: int | None
    high: int | None


class Ledger:
    """What docs/contract.md says a tenant's ledger does with PostEntry."""

    def __init__(self) -> None:
        self.accounts: dict[str, ModelAccount] = {}
        self.events = 0

    def expect(
        self, legs: list[dict[str, Any]], currency: str, value_before_booking: bool
    ) -> str | None:
        """Return None if the entry is accepted, else the invariant it breaks."""
        if value_before_booking:
            return "VALUE_DATE_BEFORE_BOOKING_DATE"
        if any(leg.get("currency", currency) != currency for leg in legs):
            return "LEGS_MUST_SHARE_CURRENCY"
        if any(leg["accountId"] not in self.accounts for leg in legs):
            return "ACCOUNT_MUST_EXIST"
        if currency != "AUD":
            return "ENTRY_CURRENCY_MUST_MATCH_ACCOUNT"
        change = self.changes(legs)
        if sum(change.values()) != 0:
            return "LEGS_MUST_BALANCE"
        for account_id, delta in change.items():
            acc = self.accounts[account_id]
            if acc.low is not None and acc.balance + delta < acc.low and delta < 0:
                return "OVERDRAFT_LIMIT_EXCEEDED"
        for account_id, delta in change.items():
            acc = self.accounts[account_id]
            if acc.high is not None and acc.balance + delta > acc.high and delta > 0:
                return "MAX_BALANCE_EXCEEDED"
        return None

    @staticmethod
    def changes(legs: list[dict[str, Any]]) -> dict[str, int]:
        change: dict[str, int] = {}
        for leg in legs:
            minor = round(leg["amount"] * 100)
            change[leg["accountId"]] = change.get(leg["accountId"], 0) + (
                minor if leg["direction"] == "DEBIT" else -minor
            )
        return change

    def apply(self, legs: list[dict[str, Any]]) -> None:
        change = self.changes(legs)
        for account_id, delta in change.items():
            self.accounts[account_id].balance += delta
        self.events += 1 + len(change)


def recompute(prev_hash: str, envelope: dict[str, Any]) -> str:
    body = {k: v for k, v in envelope.items() if k != "hash"}
    return hashlib.sha256(prev_hash.encode() + rfc8785.dumps(body)).hexdigest()


amounts = st.sampled_from([0.01, 1, 45.5, 99.99, 250, 500, 1000.01, 3000])


def run_machine(client: TestClient, shrink: bool = True) -> None:
    api = Api(client, PLATFORM_KEY)

    class PostEntryMachine(RuleBasedStateMachine):
        @initialize()
        def open_ledger(self) -> None:
            self.tenant = f"PROP_{next(_tenants)}"
            self.model = Ledger()
            assert api.create_tenant(self.tenant).status_code == 202
            self.model.events = 12
            limited = {
                **SAVINGS,
                "productCode": "CAPPED",
                "constraints": {"allowOverdraft": True, "overdraftLimit": 100, "maxBalance": 1000},
            }
            for product in (TXN_BASIC, limited, CARD):
                assert api.send(self.tenant, "UpsertProduct", product).status_code == 202
            customer = api.create_customer(self.tenant).json()["result"]["customerId"]
            self.model.events += 4
            for gl in GLS:
                self.model.accounts[gl] = ModelAccount(0, None, None)
            for product, extra, low, high in (
                ("TXN_ACCOUNT_BASIC", {}, 0, None),
                ("CAPPED", {}, -10000, 100000),
                ("CC_LOW_RATE", {"facilityLimit": 1000}, -100000, 0),
            ):
                reply = api.open_account(customer, product, tenant=self.tenant, **extra)
                assert reply.status_code == 202, reply.text
                self.model.accounts[reply.json()["result"]["accountId"]] = ModelAccount(
                    0, low, high
                )
                self.model.events += 2 if extra else 1
            self.ids = list(self.model.accounts)
            self.accepted: list[tuple[dict[str, Any], bytes]] = []
            self.chain_checked = 0
            self.prev_hash = "0" * 64

        @rule(
            data=st.data(),
            n_legs=st.integers(2, 4),
            balanced=st.booleans(),
            bad=st.sampled_from(
                ["none"] * 6
                + ["unknown_account", "usd", "leg_currency", "value_date", "three_decimals"]
            ),
        )
        def post_entry(self, data: st.DataObject, n_legs: int, balanced: bool, bad: str) -> None:
            legs = []
            for _ in range(n_legs):
                legs.append(
                    {
                        "accountId": data.draw(st.sampled_from(self.ids)),
                        "direction": data.draw(st.sampled_from(["DEBIT", "CREDIT"])),
                        "amount": data.draw(amounts),
                    }
                )
            if balanced:
                net = sum(self.model.changes(legs[:-1]).values())
                if net == 0:
                    flip = "CREDIT" if legs[-1]["direction"] == "DEBIT" else "DEBIT"
                    last = {**legs[-1], "amount": 1}
                    legs = [*legs[:-1], last, {**last, "direction": flip}]
                else:
                    legs[-1] = {
                        **legs[-1],
                        "direction": "CREDIT" if net > 0 else "DEBIT",
                        "amount": abs(net) / 100,
                    }
            currency = "AUD"
            booking, value = "2025-01-15", "2025-01-15"
            if bad == "unknown_account":
                legs[0] = {**legs[0], "accountId": str(uuid.uuid4())}
            elif bad == "usd":
                currency = "USD"
            elif bad == "leg_currency":
                legs[1] = {**legs[1], "currency": "NZD"}
            elif bad == "value_date":
                value = "2025-01-14"
            payload = {
                "bookingDate": booking,
                "valueDate": value,
                "currency": currency,
                "legs": legs,
                "narrative": "property",
            }
            if bad == "three_decimals":
                payload["legs"][0] = {**legs[0], "amount": 1.005}
            if any(leg["amount"] > 10**11 for leg in legs):
                return
            key = str(uuid.uuid4())
            reply = api.send(self.tenant, "PostEntry", payload, idempotencyKey=key)
            if bad == "three_decimals":
                assert reply.status_code == 400, reply.text
                assert reply.json()["error"] == "VALIDATION_ERROR"
                return
            expected = self.model.expect(legs, currency, bad == "value_date")
            if expected is None:
                assert reply.status_code == 202, reply.text
                self.model.apply(legs)
                self.accepted.append(({"payload": payload, "key": key}, reply.content))
            else:
                assert reply.status_code == 422, reply.text
                assert reply.json()["invariant"] == expected, reply.text

        @rule(data=st.data())
        def replay(self, data: st.DataObject) -> None:
            if not self.accepted:
                return
            sent, first_reply = data.draw(st.sampled_from(self.accepted))
            reply = api.send(
                self.tenant,
                "PostEntry",
                sent["payload"],
                idempotencyKey=sent["key"],
                timestamp="2025-02-01T00:00:00Z",
            )
            assert reply.status_code == 202
            assert reply.headers.get("Idempotent-Replayed") == "true"
            assert reply.content == first_reply

        @rule(data=st.data())
        def reuse_key(self, data: st.DataObject) -> None:
            if not self.accepted:
                return
            sent, _ = data.draw(st.sampled_from(self.accepted))
            other = {**sent["payload"], "narrative": "a different payload"}
            reply = api.send(self.tenant, "PostEntry", other, idempotencyKey=sent["key"])
            assert reply.status_code == 422
            assert reply.json()["invariant"] == "IDEMPOTENCY_KEY_REUSED"

        @invariant()
        def service_agrees_with_model(self) -> None:
            if not hasattr(self, "model"):
                return
            page = api.get(f"/tenants/{self.tenant}/accounts", limit=1000, accountType="ALL").json()
            balances = {a["accountId"]: round(a["balance"] * 100) for a in page["accounts"]}
            assert sum(balances.values()) == 0, "the tenant's balances must sum to zero"
            for account_id, acc in self.model.accounts.items():
                assert balances[account_id] == acc.balance, account_id
            tenant = api.get(f"/tenants/{self.tenant}").json()
            assert tenant["lastSequence"] == self.model.events
            events = api.get(
                f"/tenants/{self.tenant}/events", after=self.chain_checked, limit=1000
            ).json()["events"]
            for envelope in events:
                assert envelope["sequence"] == self.chain_checked + 1, "no gaps"
                assert envelope["prevHash"] == self.prev_hash
                assert envelope["hash"] == recompute(self.prev_hash, envelope)
                self.prev_hash = envelope["hash"]
                self.chain_checked += 1
            assert self.chain_checked == self.model.events
            assert tenant["lastHash"] == self.prev_hash

    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        PostEntryMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=list(Phase) if shrink else [Phase.explicit, Phase.generate],
            database=settings.default.database if shrink else None,
        ),
    )


def test_post_entry_sequences_match_the_reference_model(client: TestClient) -> None:
    run_machine(client)


def _no_bounds(state: Any, changes: Any, accounts: Any) -> None:
    return None


def _hash_without_time(prev_hash: str, canonical: bytes) -> str:
    envelope = orjson.loads(canonical)
    return hashchain.event_hash(prev_hash, {k: v for k, v in envelope.items() if k != "occurredAt"})


@pytest.mark.parametrize(
    ("target", "replacement"),
    [
        ("mock_core.core.decide._check_bounds", _no_bounds),
        ("mock_core.store.eventstore.chain_hash", _hash_without_time),
    ],
    ids=["no-bounds-check", "hash-skips-a-field"],
)
def test_the_property_test_catches_a_broken_mock(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, target: str, replacement: Any
) -> None:
    monkeypatch.setattr(target, replacement)
    with pytest.raises(AssertionError):
        run_machine(client, shrink=False)
