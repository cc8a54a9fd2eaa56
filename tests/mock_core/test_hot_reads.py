"""The reads served ahead of the framework (mock_core/api/hot_reads.py) answer exactly as
the framework's routes do: status, headers, body and the access log line, on each
backend; and what they do not take as it is reaches the framework."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.types import Scope, Send

from mock_core.api.app import MockCoreApp, create_app
from mock_core.api.hot_reads import HotReads
from mock_core.settings import Settings
from mock_core.store import queries
from tests.mock_core.conftest import CU_KEY, OTHER_KEY, PLATFORM_KEY, TENANT, Api


class _Recorder:
    """The app's HotReads, noting whether it answered each request."""

    def __init__(self, inner: HotReads) -> None:
        self.inner = inner
        self.served: list[bool] = []

    async def __call__(self, scope: Scope, send: Send) -> bool:
        served = await self.inner(scope, send)
        self.served.append(served)
        return served


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = orjson.loads(record.getMessage())
        del line["ts"], line["latencyMs"]
        self.lines.append(line)


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[MockCoreApp, TestClient, _Recorder, _Lines]]:
    app = create_app(settings.model_copy(update={"access_log": True}))
    assert app.hot_reads is not None
    recorder = _Recorder(app.hot_reads)
    lines = _Lines()
    access = logging.getLogger("mock_core.access")
    with TestClient(app, raise_server_exceptions=False) as client:
        access.addHandler(lines)
        try:
            yield app, client, recorder, lines
        finally:
            access.removeHandler(lines)


def _both(
    served: tuple[MockCoreApp, TestClient, _Recorder, _Lines], url: str, key: str | None
) -> tuple[bool, Any, Any]:
    """The request through HotReads and through the framework alone: (HotReads
    answered, reply and log line there, the same from the framework)."""
    app, client, recorder, lines = served
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    replies = []
    for hot in (recorder, None):
        app.hot_reads = hot  # type: ignore[assignment]
        del lines.lines[:]
        reply = client.get(url, headers=headers, follow_redirects=False)
        assert len(lines.lines) == 1, lines.lines
        replies.append(
            (reply.status_code, sorted(reply.headers.items()), reply.content, lines.lines[0])
        )
    return recorder.served[-1], replies[0], replies[1]


@pytest.fixture
def seeded(served: tuple[MockCoreApp, TestClient, _Recorder, _Lines]) -> dict[str, str]:
    api = Api(served[1])
    ids = api.open_ledger()
    for n in range(5):
        legs = [(ids["txn"], "DEBIT", 1.5 + n), (ids["card"], "CREDIT", 1.5 + n)]
        assert api.post_entry(legs).status_code == 202
    return ids


# (path under /v1/tenants/, key, what HotReads should do: answer it or leave it)
T = TENANT
CASES: list[tuple[str, str | None, bool]] = [
    (f"{T}/accounts/{{txn}}", PLATFORM_KEY, True),
    (f"{T}/accounts/{{card}}", CU_KEY, True),
    (f"{T}/accounts/{{txn}}/events", PLATFORM_KEY, True),
    (f"{T}/accounts/{{txn}}/events?limit=2", CU_KEY, True),
    (f"{T}/accounts/{{txn}}/events?after=3&limit=1000", CU_KEY, True),
    (f"{T}/accounts/{{txn}}/events?offset=2&limit=1&after=0", CU_KEY, True),
    (f"{T}/accounts/{{txn}}/events?after=999999", CU_KEY, True),
    (f"{T}/customers/{{customer}}", PLATFORM_KEY, True),
    # 404s: an unknown id, an id of another kind, an unknown tenant, a U+0000
    (f"{T}/accounts/NO_SUCH_ACCOUNT", CU_KEY, True),
    (f"{T}/accounts/{{customer}}/events", CU_KEY, True),
    (f"{T}/customers/{{txn}}", CU_KEY, True),
    ("NO_SUCH_TENANT/accounts/{txn}", PLATFORM_KEY, True),
    ("NO_SUCH_TENANT/accounts/{txn}/events", PLATFORM_KEY, True),
    (f"{T}/accounts/A%00B/events", CU_KEY, True),
    # the key: none, an unknown one, another tenant's (the isolation probes)
    (f"{T}/accounts/{{txn}}", None, True),
    (f"{T}/customers/{{customer}}", "not-a-known-key", True),
    (f"{T}/accounts/{{txn}}/events", OTHER_KEY, True),
    ("OTHER_CU/accounts/{txn}/events", OTHER_KEY, True),
    ("OTHER_CU/customers/{customer}", OTHER_KEY, True),
    # what the framework validates: left to it
    (f"{T}/accounts/{{txn}}/events?limit=0", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?limit=1001", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?limit=05", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?limit=%2B5", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?limit=", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?limit=two", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?after=4611686018427387905", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?limit=2&limit=3", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/events?cursor=2", CU_KEY, False),
    (f"{T}/accounts/{{txn}}?limit=2", CU_KEY, False),
    (f"{T}/customers/{{customer}}?expand=accounts", None, False),
    (f"{T}/accounts/{'A' * 65}", CU_KEY, False),
    (f"{'T' * 201}/accounts/{{txn}}", PLATFORM_KEY, False),
    (f"{T}/accounts/{{txn}}/events/", CU_KEY, False),
    (f"{T}/accounts/{{txn}}/balance?asOfSequence=3", CU_KEY, False),
]


@pytest.mark.parametrize(("path", "key", "hot"), CASES)
def test_a_hot_read_answers_as_the_framework(
    served: tuple[MockCoreApp, TestClient, _Recorder, _Lines],
    seeded: dict[str, str],
    path: str,
    key: str | None,
    hot: bool,
) -> None:
    answered, fast, framework = _both(served, "/v1/tenants/" + path.format(**seeded), key)
    assert answered is hot
    assert fast == framework


def test_the_access_log_and_reply_of_a_hot_read_are_the_framework_s(
    served: tuple[MockCoreApp, TestClient, _Recorder, _Lines], seeded: dict[str, str]
) -> None:
    # What the comparisons above compare, spelt out once.
    answered, fast, _ = _both(served, f"/v1/tenants/{T}/accounts/{seeded['txn']}", CU_KEY)
    status, headers, body, line = fast
    assert answered and status == 200 and orjson.loads(body)["accountId"] == seeded["txn"]
    assert dict(headers)["content-type"] == "application/json"
    assert line == {
        "method": "GET",
        "path": f"/v1/tenants/{T}/accounts/{seeded['txn']}",
        "status": 200,
        "tenant": T,
        "commandType": None,
        "outcome": None,
    }
    answered, fast, _ = _both(served, f"/v1/tenants/{T}/accounts/{seeded['txn']}", None)
    assert answered and fast[0] == 401 and dict(fast[1])["www-authenticate"] == "Bearer"
    assert fast[3]["outcome"] == "UNAUTHENTICATED"


def test_an_unexpected_error_in_a_hot_read_is_the_framework_s_500(
    served: tuple[MockCoreApp, TestClient, _Recorder, _Lines],
    seeded: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "get_account", broken)
    answered, fast, framework = _both(served, f"/v1/tenants/{T}/accounts/{seeded['txn']}", CU_KEY)
    assert answered and fast[0] == 500
    assert fast[:3] == framework[:3]
