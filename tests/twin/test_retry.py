"""The client's one retry policy (turingcore_client/retry.py): Retry-After on 429 and
503, its cap, and the retries counted by reason."""

from __future__ import annotations

import httpx

from turingcore_client.client import TuringCoreClient
from turingcore_client.retry import RetryPolicy
from turingcore_client.wire import WireReply


def reply(status: int, retry_after: str | None = None) -> WireReply:
    headers = httpx.Headers({"Retry-After": retry_after} if retry_after is not None else {})
    return WireReply(status, headers, b"{}")


def test_retry_after_is_honoured_on_429_and_503_under_its_own_cap() -> None:
    policy = RetryPolicy(backoff=0.05, backoff_max=2.0, retry_after_max=10.0)
    assert policy.delay(0, reply(503, "3")) == 3.0  # over backoff_max: an outage is believed
    assert policy.delay(0, reply(429, "1")) == 1.0
    assert policy.delay(0, reply(503, "0")) == 0.0
    assert policy.delay(0, reply(503, "3600")) == 10.0  # an hour does not stall a run
    assert policy.delay(2, reply(503)) == 0.2  # no header: the backoff
    assert policy.delay(2, reply(502, "3")) == 0.2  # only 429 and 503 say when to return
    assert policy.delay(1, reply(503, "soon")) == 0.1


def test_the_client_counts_its_retries_by_reason() -> None:
    statuses = iter([503, 429, 202, 500, 202])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json={}, headers={"Retry-After": "0"})

    client = TuringCoreClient(
        "http://svc.test", "key-123456", transport=httpx.MockTransport(handler), backoff=0.0
    )
    with client:
        assert client.raw("GET", "/v1/tenants/T1").status == 202
        assert client.raw("GET", "/v1/tenants/T1").status == 202
        assert client.policy.counts.snapshot() == {"429": 1, "500": 1, "503": 1}
        assert client.policy.counts.total == 3
        # A client for another key is a new policy: its own counts.
        assert client.with_api_key("key-654321").policy.counts.total == 0
