"""The proxy's `key_scope` check (contract_tests/proxy_scope.py) on exchanges made by hand:
passing and failing, the CreateTenant exception, and silent where the traffic says nothing
of a key's scope."""

from __future__ import annotations

from typing import Any

import orjson

from contract_tests.proxy_checks import Exchange, Observer
from contract_tests.proxy_scope import fingerprint
from turingcore_client.contract import spec
from turingcore_client.envelope import build_envelope
from turingcore_client.payloads import entry_payload, leg, tenant_payload

JSON = [("content-type", "application/json")]
B_KEY = "Bearer key-of-b"
FORBIDDEN = {"error": "FORBIDDEN", "message": "not allowed on tenant A", "details": {}}


def _tenant(code: str) -> dict[str, Any]:
    return {
        "tenantId": code,
        "tenantCode": code,
        "displayName": code,
        "region": "AU",
        "baseCurrency": "AUD",
        "timeZone": "Australia/Sydney",
        "regulatoryJurisdiction": None,
        "businessType": None,
        "status": "ACTIVE",
        "createdAt": "2026-01-01T00:00:00Z",
        "lastSequence": 1,
        "lastHash": "0" * 64,
    }


def _command(
    observer: Observer, tenant: str, kind: str, payload: dict[str, Any], key: str, status: int
) -> list[str]:
    body = build_envelope(kind, payload, tenant_id=tenant)
    accepted = {
        "commandId": body["commandId"],
        "status": "ACCEPTED",
        "correlationId": body["commandId"],
        "acceptedAt": "2026-01-01T00:00:00Z",
    }
    reply = FORBIDDEN if status == 403 else accepted
    ex = Exchange(
        "POST",
        f"/v1/tenants/{tenant}/commands",
        "",
        [*JSON, ("authorization", key)],
        orjson.dumps(body),
        status,
        JSON,
        orjson.dumps(reply),
    )
    return [f.check for f in observer.observe(ex) if f.check == "key_scope"]


def _entry(observer: Observer, tenant: str, key: str = B_KEY, status: int = 403) -> list[str]:
    legs = [leg("NO_SUCH_1", "DEBIT", 0.01), leg("NO_SUCH_2", "CREDIT", 0.01)]
    payload = entry_payload("2025-01-01", legs, "isolation probe")
    return _command(observer, tenant, "PostEntry", payload, key, status)


def _read(observer: Observer, tenant: str, status: int, key: str = B_KEY) -> list[str]:
    reply = _tenant(tenant) if status == 200 else FORBIDDEN
    ex = Exchange(
        "GET",
        f"/v1/tenants/{tenant}",
        "",
        [("authorization", key)],
        b"",
        status,
        JSON,
        orjson.dumps(reply),
    )
    return [f.check for f in observer.observe(ex) if f.check == "key_scope"]


def _row(observer: Observer) -> tuple[int, int]:
    row = observer.result.row("key_scope")
    return row.runs, row.passed


def test_passes_when_the_refused_key_reads_nothing() -> None:
    """Reads refused, then the command refused (the twin's isolation check): a pass; a
    read refused after it: another."""
    observer = Observer(spec())
    assert _read(observer, "TEN_A", 403) == []
    assert _read(observer, "TEN_A", 403) == []
    assert _row(observer) == (0, 0)  # nothing is known of the key's scope yet
    assert _entry(observer, "TEN_A") == []
    assert _read(observer, "TEN_A", 403) == []
    assert _row(observer) == (2, 2)
    assert observer.findings == []


def test_fails_when_a_refused_key_was_served_a_read_before() -> None:
    """cross_tenant_read: B's key reads A (200), then its command on A is refused."""
    observer = Observer(spec())
    assert _read(observer, "TEN_A", 200) == []
    assert _read(observer, "TEN_A", 200) == []
    assert _entry(observer, "TEN_A") == ["key_scope"]
    message = observer.findings[-1].message
    assert "PostEntry: 403 FORBIDDEN" in message and "2 read(s) of TEN_A" in message
    assert "GET /v1/tenants/TEN_A 200" in message
    assert "key-of-b" not in message  # a fingerprint, never the key
    assert _entry(observer, "TEN_A") == []  # one finding for the pair, not one per refusal


def test_fails_when_a_refused_key_is_served_a_read_after() -> None:
    observer = Observer(spec())
    assert _entry(observer, "TEN_A") == []
    assert _read(observer, "TEN_A", 403) == []
    assert _read(observer, "TEN_A", 200) == ["key_scope"]
    assert _row(observer) == (2, 1)


def test_create_tenant_refused_says_nothing_of_the_scope() -> None:
    """A tenant key's CreateTenant is refused 403 on its own tenant (only the platform key
    may create tenants): its reads of that tenant stay unjudged."""
    observer = Observer(spec())
    assert _read(observer, "TEN_B", 200) == []
    refused = _command(observer, "TEN_B", "CreateTenant", tenant_payload("TEN_B", "B"), B_KEY, 403)
    assert refused == []
    assert _read(observer, "TEN_B", 200) == []
    assert _row(observer) == (0, 0)
    assert observer.findings == []


def test_other_keys_and_tenants_are_not_judged() -> None:
    """The refusal binds one key to one tenant: the platform key reading A, and B's key
    reading its own tenant, are not findings."""
    observer = Observer(spec())
    assert _entry(observer, "TEN_A") == []
    assert _read(observer, "TEN_A", 200, key="Bearer platform") == []
    assert _read(observer, "TEN_B", 200) == []
    assert _entry(observer, "TEN_B", status=202) == []  # an accepted command is no refusal
    assert _read(observer, "TEN_B", 200) == []
    assert _row(observer) == (0, 0)
    assert observer.findings == []


def test_a_403_that_is_not_forbidden_is_no_refusal() -> None:
    """Only the contract's 403 FORBIDDEN says the key is out of scope, on a command."""
    observer = Observer(spec())
    assert _read(observer, "TEN_A", 200) == []
    ex = Exchange(
        "POST",
        "/v1/tenants/A/commands",
        "",
        [("authorization", B_KEY)],
        b"not json",
        403,
        JSON,
        orjson.dumps(FORBIDDEN),
    )
    observer.observe(ex)  # no command type: it might have been a CreateTenant
    assert _read(observer, "TEN_A", 403) == []  # a read refused is no refusal of a command
    assert _read(observer, "TEN_A", 200) == []
    assert _row(observer) == (0, 0)


def test_the_fingerprint_hides_the_key_and_tells_keys_apart() -> None:
    one = fingerprint([("Authorization", "Bearer k1")])
    assert one is not None and "k1" not in one and len(one) == 16
    assert one == fingerprint([("authorization", "Bearer k1"), ("accept", "*/*")])
    assert one != fingerprint([("Authorization", "Bearer k2")])
    assert fingerprint([("X-Api-Key", "k1")]) not in (None, one)
    assert fingerprint([("accept", "*/*")]) is None
