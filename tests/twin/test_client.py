"""The client's retries, error mapping, paging and latency stats, on httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from turingcore_client.client import TuringCoreClient
from turingcore_client.errors import (
    ApiError,
    InvariantViolationError,
    NotFoundError,
    ServiceUnreachableError,
)
from turingcore_client.replies import LatencyStats

ACCEPTED = {
    "commandId": "c0",
    "status": "ACCEPTED",
    "correlationId": "c0",
    "acceptedAt": "2025-01-01T00:00:00Z",
    "tenantId": "T1",
    "customerId": "CUS-1",
    "result": {"tenantId": "T1", "customerId": "CUS-1"},
    "eventIds": ["e1"],
}


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], **kw: object
) -> TuringCoreClient:
    return TuringCoreClient(
        "http://svc.test",
        "key-123456",
        transport=httpx.MockTransport(handler),
        backoff=0.0,
        **kw,  # type: ignore[arg-type]
    )


def send(client: TuringCoreClient, **kw: object) -> object:
    return client.send_command(
        "CreateCustomer",
        {"person": {}, "address": {}},
        tenant_id="T1",
        command_id="11111111-1111-4111-8111-111111111111",
        idempotency_key="k-1",
        **kw,  # type: ignore[arg-type]
    )


def test_envelope_path_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=ACCEPTED, headers={"Idempotent-Replayed": "true"})

    client = client_for(handler)
    reply = client.send_command(
        "CreateCustomer",
        {"person": {"firstName": "A"}},
        tenant_id="T1",
        idempotency_key="k-1",
        timestamp="2025-01-01T09:00:00+11:00",
    )
    request = seen[0]
    assert request.url.path == "/v1/tenants/T1/commands"
    assert request.headers["Authorization"] == "Bearer key-123456"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert body["tenantId"] == "T1"
    assert body["commandType"] == "CreateCustomer"
    assert body["idempotencyKey"] == "k-1"
    assert body["timestamp"] == "2025-01-01T09:00:00+11:00"
    assert body["actor"] == {"actorType": "SYSTEM", "actorId": "twin"}
    assert reply.accepted and reply.replayed
    assert reply.result["customerId"] == "CUS-1"
    assert reply.new_id("customerId") == "CUS-1"
    assert reply.event_ids == ["e1"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # As published: the id at the top level (the published client's reply["customerId"]).
        ({"commandId": "c0", "status": "ACCEPTED", "customerId": "CUS-TOP"}, "CUS-TOP"),
        # The top level wins over our `result` extension.
        ({"customerId": "CUS-TOP", "result": {"customerId": "CUS-RES"}}, "CUS-TOP"),
        # Only `result`: read from there.
        ({"result": {"tenantId": "T1", "customerId": "CUS-RES"}}, "CUS-RES"),
        ({"commandId": "c0"}, None),
    ],
)
def test_the_new_id_is_read_at_the_top_level_first(
    body: dict[str, object], expected: str | None
) -> None:
    client = client_for(lambda request: httpx.Response(202, json=body))
    assert send(client).new_id("customerId") == expected  # type: ignore[attr-defined]


def test_post_entry_sends_tags_as_an_object() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json=ACCEPTED)

    tags = {"category": "INCOME", "source": "PAYROLL_SIM"}
    client_for(handler).post_entry(
        "T1",
        booking_date="2025-01-03",
        legs=[
            {"accountId": "GL_SALARY_CLEARING", "direction": "CREDIT", "amount": 3000.0},
            {"accountId": "ACC-1", "direction": "DEBIT", "amount": 3000.0},
        ],
        narrative="Salary",
        tags=tags,
        metadata={"scenarioId": "steady-state-001"},
    )
    payload = bodies[0]["payload"]
    assert payload["tags"] == tags  # type: ignore[index]
    assert payload["metadata"] == {"scenarioId": "steady-state-001"}  # type: ignore[index]


def _accounts_service(
    *, knows_account_type: bool
) -> tuple[Callable[[httpx.Request], httpx.Response], list[dict[str, str]]]:
    """Members' accounts by default, GL ones too with accountType=ALL; a service
    without the extension refuses the parameter with a 400 naming it."""
    members = [{"accountId": f"ACC-{i}", "customerId": "CUS-1"} for i in range(3)]
    gls = [{"accountId": f"GL_{i}", "customerId": None, "accountType": "GL"} for i in range(2)]
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(dict(params))
        kind = params.pop("accountType", None)
        if kind is not None and not knows_account_type:
            details = {"parameter": "accountType", "allowed": ["customerId", "limit", "offset"]}
            message = "unknown query parameter accountType"
            body = {"error": "VALIDATION_ERROR", "message": message, "details": details}
            return httpx.Response(400, json=body)
        rows = members + gls if kind == "ALL" else members
        offset, limit = int(params["offset"]), int(params["limit"])
        page = rows[offset : offset + limit]
        return httpx.Response(200, json={"accounts": page, "total": len(rows)})

    return handler, asked


def test_ledger_accounts_ask_for_all_of_them() -> None:
    handler, asked = _accounts_service(knows_account_type=True)
    client = client_for(handler)
    ids = [a["accountId"] for a in client.iter_ledger_accounts("T1", page_size=2)]
    assert ids == ["ACC-0", "ACC-1", "ACC-2", "GL_0", "GL_1"]
    assert {p["accountType"] for p in asked} == {"ALL"}
    assert [a["accountId"] for a in client.iter_accounts("T1", page_size=2)] == [
        "ACC-0",
        "ACC-1",
        "ACC-2",
    ]


def test_ledger_accounts_of_a_service_without_the_account_type_extension() -> None:
    handler, asked = _accounts_service(knows_account_type=False)
    client = client_for(handler)
    ids = [a["accountId"] for a in client.iter_ledger_accounts("T1", page_size=2)]
    assert ids == ["ACC-0", "ACC-1", "ACC-2"]
    assert asked[0]["accountType"] == "ALL"
    assert all("accountType" not in p for p in asked[1:])


def test_base_url_and_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURINGCORE_BASE_URL", "http://env.test:9000/v1/")
    monkeypatch.setenv("TURINGCORE_API_KEY", "env-key-1")
    client = TuringCoreClient()
    assert client.base_url == "http://env.test:9000"
    assert client.api_key == "env-key-1"


def test_503_then_202_is_retried_with_the_same_command_id_and_key() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            return httpx.Response(503, json={"error": "NOT_READY", "message": "", "details": {}})
        return httpx.Response(202, json=ACCEPTED)

    reply = send(client_for(handler))
    assert len(bodies) == 2
    assert bodies[0]["commandId"] == bodies[1]["commandId"]
    assert bodies[0]["idempotencyKey"] == bodies[1]["idempotencyKey"] == "k-1"
    assert bodies[0] == bodies[1]
    assert reply.status == 202 and reply.attempts == 2  # type: ignore[attr-defined]


def test_connection_error_is_retried_with_the_same_envelope() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(202, json=ACCEPTED)

    reply = send(client_for(handler))
    assert len(bodies) == 3 and len(set(bodies)) == 1
    assert reply.accepted  # type: ignore[attr-defined]


def test_read_timeout_is_retried_then_gives_up() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ServiceUnreachableError):
        send(client_for(handler, retries=2))
    assert calls == 3


def test_5xx_exhausted_raises_api_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": "INTERNAL_ERROR", "message": "boom"})

    with pytest.raises(ApiError) as info:
        send(client_for(handler, retries=1))
    assert info.value.status == 500 and info.value.error == "INTERNAL_ERROR"


def test_409_command_in_flight_is_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(409, json={"error": "COMMAND_IN_FLIGHT", "message": ""})
        return httpx.Response(202, json=ACCEPTED, headers={"Idempotent-Replayed": "true"})

    reply = send(client_for(handler))
    assert calls == 2 and reply.replayed  # type: ignore[attr-defined]


def test_422_raises_invariant_violation_with_the_code() -> None:
    body = {
        "commandId": "c0",
        "error": "INVARIANT_VIOLATION",
        "invariant": "LEGS_MUST_BALANCE",
        "message": "debits 10.00 != credits 9.00",
        "details": {"debits": 10.0},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json=body)

    client = client_for(handler)
    with pytest.raises(InvariantViolationError) as info:
        send(client)
    error = info.value
    assert error.code == "LEGS_MUST_BALANCE"
    assert error.status == 422 and error.details == {"debits": 10.0}
    assert error.reply is not None and error.reply.invariant == "LEGS_MUST_BALANCE"
    reply = send(client, raise_on_error=False)
    assert reply.status == 422 and reply.invariant == "LEGS_MUST_BALANCE"  # type: ignore[attr-defined]


def test_400_raises_api_error_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            400,
            json={"error": "VALIDATION_ERROR", "message": "bad", "details": {"errors": []}},
        )

    with pytest.raises(ApiError) as info:
        send(client_for(handler))
    assert not isinstance(info.value, InvariantViolationError)
    assert info.value.status == 400 and info.value.error == "VALIDATION_ERROR"
    assert info.value.details == {"errors": []}
    assert calls == 1


def test_queries_map_404_and_page_through_everything() -> None:
    customers = [{"customerId": f"CUS-{i}"} for i in range(7)]
    events = [{"sequence": i} for i in range(1, 6)]

    def handler(request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path == "/v1/tenants/T1/customers":
            offset, limit = int(params["offset"]), int(params["limit"])
            page = customers[offset : offset + limit]
            return httpx.Response(
                200, json={"customers": page, "total": 7, "limit": limit, "offset": offset}
            )
        if path == "/v1/tenants/T1/events":
            after, limit = int(params["after"]), int(params["limit"])
            page = [e for e in events if e["sequence"] > after][:limit]
            last = page[-1]["sequence"] if page else None
            cursor = last if last is not None and last < 5 else None
            return httpx.Response(200, json={"events": page, "nextCursor": cursor})
        return httpx.Response(404, json={"error": "NOT_FOUND", "message": "no", "details": {}})

    client = client_for(handler)
    assert [c["customerId"] for c in client.iter_customers("T1", page_size=3)] == [
        c["customerId"] for c in customers
    ]
    assert [e["sequence"] for e in client.iter_tenant_events("T1", page_size=2)] == [1, 2, 3, 4, 5]
    with pytest.raises(NotFoundError):
        client.get_account("T1", "ACC-404")


def test_latency_stats_percentiles() -> None:
    stats = LatencyStats()
    for ms in range(1, 101):
        stats.record("PostEntry", ms / 1000)
    row = stats.summary()["PostEntry"]
    assert row["count"] == 100
    assert row["p50_ms"] == 50.0 and row["p95_ms"] == 95.0 and row["p99_ms"] == 99.0
    assert row["max_ms"] == 100.0


def test_latency_is_recorded_per_command_type() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, json=ACCEPTED)

    client = client_for(handler)
    send(client)
    send(client)
    client.send_command("PostEntry", {}, tenant_id="T1")
    assert client.stats.count("CreateCustomer") == 2
    assert client.stats.count("PostEntry") == 1


def test_raw_transport_reconnects_when_the_server_drops_a_kept_alive_connection() -> None:
    """A server that closes every connection after one reply without saying so: the
    client's next request finds the connection dead and goes again on a new one."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    served: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                served.append(data.split(b"\r\n", 1)[0])
                body = b'{"tenantId": "T1", "lastSequence": 3}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        client = TuringCoreClient(f"http://127.0.0.1:{port}", "key-123456", retries=0)
        for _ in range(3):
            assert client.get_tenant("T1")["lastSequence"] == 3
        assert served == [b"GET /v1/tenants/T1 HTTP/1.1"] * 3
        client.close()
    finally:
        listener.close()
